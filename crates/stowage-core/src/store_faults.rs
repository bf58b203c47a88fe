//! Store failures on demand, for tests: chosen calls of the metadata or blob store fail as a lost
//! database or blob service does (`ServiceUnavailable`). The store decorators of `store_timing.rs` consult
//! this registry before and after each call when the server runs with `--test-hooks`; tests arm it through
//! `/_test/faults` and show that a failure in the middle of an upload, a finish, a copy or a delete is a
//! clean error in each API's shape and leaves nothing half-written.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

/// When an armed call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultPoint {
    /// Instead of running: nothing reaches the store.
    Before,
    /// After the store did its work: the caller sees a failure of a step that happened (a commit whose
    /// acknowledgement was lost).
    After,
}

/// One armed fault: the next `times` calls of `store`'s `op` fail at `point`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Fault {
    /// `metadata` or `blobs`.
    pub store: String,
    /// The trait method's name (`insert_version`, `finish_large_file`, `put`, ...).
    pub op: String,
    pub point: FaultPoint,
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

/// The armed faults. Unarmed, a call costs one atomic load.
#[derive(Debug, Default)]
pub struct StoreFaults {
    armed: AtomicBool,
    faults: Mutex<Vec<Fault>>,
    injected: Mutex<Vec<(String, String)>>,
}

impl StoreFaults {
    pub fn arm(&self, fault: Fault) {
        if let Ok(mut faults) = self.faults.lock() {
            faults.push(fault);
            self.armed.store(true, Ordering::Release);
        }
    }

    /// Disarms everything and returns the faults injected so far, as (store, op).
    pub fn clear(&self) -> Vec<(String, String)> {
        if let Ok(mut faults) = self.faults.lock() {
            faults.clear();
            self.armed.store(false, Ordering::Release);
        }
        self.injected.lock().map(|mut done| std::mem::take(&mut *done)).unwrap_or_default()
    }

    /// Whether this call of `store`'s `op` fails at `point`; uses up one of the fault's times.
    pub fn take(&self, store: &str, op: &str, point: FaultPoint) -> Option<Error> {
        if !self.armed.load(Ordering::Acquire) {
            return None;
        }
        let mut faults = self.faults.lock().ok()?;
        let at = faults.iter().position(|f| f.store == store && f.op == op && f.point == point && f.times > 0)?;
        faults[at].times -= 1;
        if faults[at].times == 0 {
            faults.remove(at);
        }
        self.armed.store(!faults.is_empty(), Ordering::Release);
        if let Ok(mut done) = self.injected.lock() {
            done.push((store.to_string(), op.to_string()));
        }
        Some(Error::ServiceUnavailable(format!("the {store} store failed ({op}, injected by a test); retry shortly")))
    }

    /// Runs `call` unless a fault is armed before it, and turns its success into a failure when one is
    /// armed after it.
    pub async fn around<T>(&self, store: &'static str, op: &'static str, call: impl Future<Output = Result<T>>) -> Result<T> {
        if let Some(err) = self.take(store, op, FaultPoint::Before) {
            return Err(err);
        }
        let out = call.await?;
        match self.take(store, op, FaultPoint::After) {
            Some(err) => Err(err),
            None => Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(op: &str, point: FaultPoint, times: u32) -> Fault {
        Fault { store: "metadata".into(), op: op.into(), point, times }
    }

    #[tokio::test]
    async fn an_armed_fault_fails_exactly_its_calls_at_its_point() {
        let faults = StoreFaults::default();
        faults.arm(fault("insert_version", FaultPoint::Before, 2));
        faults.arm(fault("delete_version", FaultPoint::After, 1));
        let mut ran = 0;
        for _ in 0..3 {
            let _ = faults
                .around("metadata", "insert_version", async {
                    ran += 1;
                    Ok::<(), Error>(())
                })
                .await;
        }
        assert_eq!(ran, 1, "the first two calls never reached the store");
        assert!(faults.around("metadata", "get_version", async { Ok::<(), Error>(()) }).await.is_ok());
        let mut deleted = false;
        let after = faults
            .around("metadata", "delete_version", async {
                deleted = true;
                Ok::<(), Error>(())
            })
            .await;
        assert!(deleted && matches!(after, Err(Error::ServiceUnavailable(_))), "ran, then failed");
        assert_eq!(faults.clear().len(), 3);
        assert!(!faults.armed.load(Ordering::Acquire));
    }
}
