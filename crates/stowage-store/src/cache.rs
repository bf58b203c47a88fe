//! A read-through cache for the rows every request reads and almost nothing writes: application keys and
//! buckets. It lives in the process that owns the database, so every write to those rows passes through
//! `invalidate`; a store shared by several nodes must not use it.

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
