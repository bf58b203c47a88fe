//! Keeps the server useful on a full disk. A reserve file holds back room that is released the moment
//! storage is full, so SQLite can still commit deletes; below the free-space floor new data is refused
//! (the core's `Capacity`), reads, listings and deletes go on, collection runs at once so deletes give
//! space back promptly, and once there is room for the floor plus the reserve again, uploads resume.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use stowage_core::Stowage;
use stowage_core::capacity::Capacity;

/// How often the disk is looked at when nothing reports running out.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// A byte count given on the command line: `1048576`, `64MiB`, `1GiB`, `500MB`.
#[derive(Debug, Clone, Copy)]
pub struct ByteSize(pub u64);

impl std::str::FromStr for ByteSize {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        let n: u64 = digits.parse().map_err(|_| format!("{text:?} is not a size (e.g. 512MiB)"))?;
        let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kib" => 1 << 10,
            "m" | "mib" => 1 << 20,
            "g" | "gib" => 1 << 30,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            other => return Err(format!("unknown size unit {other:?} (use B, KiB, MiB, GiB, KB, MB or GB)")),
        };
        n.checked_mul(scale).map(ByteSize).ok_or_else(|| format!("{text:?} is too large"))
    }
}

/// (free to unprivileged writers, total) bytes of the filesystem holding `path`.
pub fn free_space(path: &Path) -> std::io::Result<(u64, u64)> {
    let stat = rustix::fs::statvfs(path)?;
    Ok((stat.f_bavail.saturating_mul(stat.f_frsize), stat.f_blocks.saturating_mul(stat.f_frsize)))
}

pub struct DiskGuard {
    data: PathBuf,
    reserve: PathBuf,
    reserve_size: u64,
    min_free: u64,
    warned_low: bool,
}

impl DiskGuard {
    /// Runs before the metadata store opens: on a disk already below the floor the reserve is released
    /// first, so opening (and then deleting) has room to write.
    pub fn prepare(data: &Path, reserve_size: u64, min_free: u64) -> std::io::Result<DiskGuard> {
        let guard = DiskGuard { data: data.to_path_buf(), reserve: data.join("space-reserve"), reserve_size, min_free, warned_low: false };
        let (free, _) = free_space(data)?;
        if free < min_free && guard.release_reserve() {
            tracing::error!(free_bytes = free, "starting on a full disk: released the space reserve; serving reads and deletes only");
        }
        Ok(guard)
    }

    /// Where a spent reserve is remembered (emptied and renamed, which needs no room), so a restart knows
    /// uploads wait until the reserve can be made again.
    fn spent_marker(&self) -> PathBuf {
        self.data.join("space-reserve.spent")
    }

    fn release_reserve(&self) -> bool {
        let emptied = std::fs::OpenOptions::new().write(true).open(&self.reserve).and_then(|f| f.set_len(0));
        emptied.is_ok() && std::fs::rename(&self.reserve, self.spent_marker()).is_ok()
    }

    fn make_reserve(&self) -> std::io::Result<()> {
        let tmp = self.data.join("space-reserve.tmp");
        let file = std::fs::File::create(&tmp)?;
        // Real blocks, not a sparse file: the point is that the room is taken now and handed back later.
        if rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, self.reserve_size).is_err() {
            let mut out = std::io::BufWriter::new(&file);
            let zeros = vec![0u8; 1 << 20];
            let mut left = self.reserve_size;
            while left > 0 {
                let n = left.min(zeros.len() as u64) as usize;
                out.write_all(&zeros[..n])?;
                left -= n as u64;
            }
            out.flush()?;
        }
        file.sync_all()?;
        std::fs::rename(&tmp, &self.reserve)?;
        let _ = std::fs::remove_file(self.spent_marker());
        Ok(())
    }

    /// One look at the disk: decides full or not, releases or re-makes the reserve, warns when low.
    fn look(&mut self, capacity: &Capacity) {
        let (free, total) = match free_space(&self.data) {
            Ok(space) => space,
            Err(err) => {
                tracing::warn!(%err, "cannot read free disk space");
                return;
            }
        };
        let was_full = capacity.is_full();
        let ran_out = capacity.take_ran_out();
        let reserve_held = self.reserve.exists();
        // After the reserve was spent (even before a restart), uploads wait for room for the floor and for
        // making the reserve again; a server that never had room for a reserve only keeps to the floor.
        let with_reserve = self.min_free + self.reserve_size;
        let needed = if self.spent_marker().exists() { with_reserve } else { self.min_free };
        let full = free < needed || (ran_out && free < with_reserve);
        let mut free_now = free;
        // The reserve goes only when the disk is really out of room (less is left than half the reserve,
        // or a write ran out with less than the reserve left): until then uploads stop at the floor and
        // SQLite has room anyway; released early, the room could go to some other writer.
        let out_of_room = free < self.reserve_size / 2 || (ran_out && free < self.reserve_size);
        if out_of_room && reserve_held && self.release_reserve() {
            free_now = free_space(&self.data).map_or(free, |(f, _)| f);
            tracing::error!(free_bytes = free_now, "the disk is out of room: released the space reserve so deletes can commit");
        }
        if !full && !reserve_held && self.reserve_size > 0 && free >= with_reserve {
            match self.make_reserve() {
                Ok(()) => free_now = free_space(&self.data).map_or(free, |(f, _)| f),
                Err(err) => {
                    let _ = std::fs::remove_file(self.data.join("space-reserve.tmp"));
                    tracing::warn!(%err, "could not make the space reserve");
                }
            }
        }
        match (was_full, full) {
            (false, true) => tracing::error!(
                free_bytes = free_now,
                min_free_bytes = self.min_free,
                "storage full: refusing new uploads until space is freed; reads, listings and deletes go on"
            ),
            (true, false) => tracing::warn!(free_bytes = free_now, "storage has room again: accepting uploads"),
            _ => {}
        }
        let low = free_now < self.min_free.saturating_mul(2).max(self.min_free + self.reserve_size);
        if low && !self.warned_low && !full {
            tracing::warn!(
                free_bytes = free_now,
                total_bytes = total,
                "free disk space is running low; uploads stop below {} bytes",
                self.min_free
            );
        }
        self.warned_low = low;
        capacity.update(free_now, total, full);
    }

    /// Looks at the disk every second, and at once when a write reports running out; while full, runs
    /// blob collection each time so deleted files give their space back promptly.
    pub async fn run(mut self, core: Arc<Stowage>) {
        let capacity = core.capacity().clone();
        loop {
            let cap = capacity.clone();
            // statvfs, unlink and fallocate block: keep them off the runtime's threads.
            self = match tokio::task::spawn_blocking(move || {
                self.look(&cap);
                self
            })
            .await
            {
                Ok(guard) => guard,
                Err(err) => {
                    tracing::error!(%err, "disk monitor stopped");
                    return;
                }
            };
            if capacity.is_full()
                && let Err(err) = core.collect_garbage().await
            {
                tracing::warn!(%err, "blob collection on a full disk failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(LOOK_EVERY) => {}
                _ = capacity.ran_out() => {}
            }
        }
    }
}
