//! A read-through cache for the rows every request reads and almost nothing writes: application keys and
//! buckets. Every write to those rows must reach `invalidate`: SQLite's store is the database's one writer
//! and calls it itself; PostgreSQL's calls it for its own writes and for every other node's (`NOTIFY`), and
//! reads around the cache while it cannot hear them.

use std::collections::HashMap;
use std::sync::Mutex;

/// Entries beyond this are dropped wholesale rather than tracked for eviction: real deployments have a
/// few hundred keys and buckets at most.
const MAX_ENTRIES: usize = 10_000;

pub struct RowCache<T> {
    /// (generation, entries). The generation moves on every invalidation, so a read that started before a
    /// write cannot put the row it read (possibly the old one) back after the write cleared it.
    state: Mutex<(u64, HashMap<String, T>)>,
}

impl<T: Clone> Default for RowCache<T> {
    fn default() -> Self {
        Self { state: Mutex::new((0, HashMap::new())) }
    }
}

impl<T: Clone> RowCache<T> {
    /// The cached row, or the generation to hand to `fill` after reading it from the database.
    pub fn get(&self, key: &str) -> Result<T, u64> {
        match self.state.lock() {
            Ok(state) => state.1.get(key).cloned().ok_or(state.0),
            Err(_) => Err(u64::MAX),
        }
    }

    /// Remembers a row read from the database, unless a write happened since `generation` was taken.
    pub fn fill(&self, generation: u64, key: &str, row: &T) {
        if let Ok(mut state) = self.state.lock()
            && state.0 == generation
        {
            if state.1.len() >= MAX_ENTRIES {
                state.1.clear();
            }
            state.1.insert(key.to_string(), row.clone());
        }
    }

    /// The row from the cache, or from `load`, remembered unless a write raced the read.
    pub async fn read_through<E, F, Fut>(&self, key: &str, load: F) -> Result<Option<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, E>>,
    {
        let generation = match self.get(key) {
            Ok(row) => return Ok(Some(row)),
            Err(generation) => generation,
        };
        let row = load().await?;
        if let Some(row) = &row {
            self.fill(generation, key, row);
        }
        Ok(row)
    }

    pub fn invalidate(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.0 = state.0.wrapping_add(1);
            state.1.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_raced_a_write_is_not_cached() {
        let cache = RowCache::<u32>::default();
        let Err(generation) = cache.get("k") else { panic!("empty cache hit") };
        cache.invalidate(); // a write lands while the read is in flight
        cache.fill(generation, "k", &1);
        assert!(cache.get("k").is_err());
        let Err(generation) = cache.get("k") else { panic!("empty cache hit") };
        cache.fill(generation, "k", &2);
        assert_eq!(cache.get("k"), Ok(2));
        cache.invalidate();
        assert!(cache.get("k").is_err());
    }
}
