//! What the server knows of the room left for new data. The binary's disk monitor keeps it current; the
//! core refuses new data while it says full, and reports a write that ran out of room so the monitor acts
//! at once instead of at its next look.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::Notify;

use crate::error::{Error, Result};

/// Reads the free bytes of the storage new data goes to, right now.
pub type SpaceProbe = Box<dyn Fn() -> Option<u64> + Send + Sync>;

#[derive(Default)]
pub struct Capacity {
    /// Free space new data must leave, and how to read free space at admission time.
    admission: OnceLock<(u64, SpaceProbe)>,
    /// Bytes of uploads admitted and still being written.
    in_flight: AtomicU64,
    full: AtomicBool,
    free_bytes: AtomicU64,
    total_bytes: AtomicU64,
    /// Set when a write ran out of room, until the monitor has seen it.
    ran_out_flag: AtomicBool,
    /// Wakes the monitor when a write ran out of room.
    ran_out: Notify,
}

impl Capacity {
    /// Admission control: from now on each upload is checked against the free space read as it starts,
    /// less the uploads still being written, so uploads stop at `min_free` however fast they come.
    pub fn set_probe(&self, min_free: u64, probe: SpaceProbe) {
        let _ = self.admission.set((min_free, probe));
    }

    /// Admits an upload of `len` bytes (0 when unknown), or refuses it when storage is full or the upload
    /// would take free space below the floor. The admission lasts until the returned guard is dropped.
    pub fn admit(&self, len: Option<u64>) -> Result<Admission<'_>> {
        self.check_writable()?;
        let len = len.unwrap_or(0);
        let pending = self.in_flight.fetch_add(len, Ordering::SeqCst);
        let admission = Admission { capacity: self, len };
        if let Some((min_free, probe)) = self.admission.get()
            && let Some(free) = probe()
            && free < min_free.saturating_add(pending).saturating_add(len)
        {
            return Err(Error::StorageFull(format!(
                "storage is full: {free} bytes are free and {} must stay free; this upload does not fit",
                min_free
            )));
        }
        Ok(admission)
    }

    /// Records the monitor's latest look at the disk.
    pub fn update(&self, free_bytes: u64, total_bytes: u64, full: bool) {
        self.free_bytes.store(free_bytes, Ordering::Relaxed);
        self.total_bytes.store(total_bytes, Ordering::Relaxed);
        self.full.store(full, Ordering::SeqCst);
    }

    pub fn is_full(&self) -> bool {
        self.full.load(Ordering::SeqCst)
    }

    /// (free, total) bytes at the monitor's latest look.
    pub fn space(&self) -> (u64, u64) {
        (self.free_bytes.load(Ordering::Relaxed), self.total_bytes.load(Ordering::Relaxed))
    }

    /// Refuses new data while storage is full; reads, listings and deletes never ask.
    pub fn check_writable(&self) -> Result<()> {
        if self.is_full() {
            return Err(Error::StorageFull("storage is full: new uploads are refused until space is freed (deletes still work)".into()));
        }
        Ok(())
    }

    /// A write failed for lack of room: refuse new data from now on and wake the monitor.
    pub fn report_full(&self) {
        self.full.store(true, Ordering::SeqCst);
        self.ran_out_flag.store(true, Ordering::SeqCst);
        self.ran_out.notify_one();
    }

    /// Whether a write ran out of room since the last call.
    pub fn take_ran_out(&self) -> bool {
        self.ran_out_flag.swap(false, Ordering::SeqCst)
    }

    /// Resolves when a write has reported running out of room.
    pub async fn ran_out(&self) {
        self.ran_out.notified().await;
    }
}

/// An admitted upload; its bytes stop counting as in flight when this is dropped.
pub struct Admission<'a> {
    capacity: &'a Capacity,
    len: u64,
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.capacity.in_flight.fetch_sub(self.len, Ordering::SeqCst);
    }
}
