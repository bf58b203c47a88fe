//! Uploads, copies and downloads. Bodies stream: a file is read by offset a part at a time and never held
//! whole; SHA-1 is computed while bytes go out (B2's `hex_digits_at_end`) or come in, and checked.

mod download;
mod upload;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::error::Result;

pub use download::Download;
pub use upload::UploadOptions;

/// Called with (bytes done, bytes in all) as a transfer goes; the total is 0 when it is not known (an
/// upload from a reader of unknown length).
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// Bytes done of one transfer, shared by its parts, reported to the caller's [`Progress`].
pub(crate) struct Counter {
    progress: Option<Progress>,
    done: AtomicU64,
    total: u64,
}

impl Counter {
    pub(crate) fn new(progress: Option<Progress>, total: u64) -> Arc<Self> {
        Arc::new(Counter { progress, done: AtomicU64::new(0), total })
    }

    /// Adds `n` bytes (negative: a failed attempt's bytes taken back before it is tried again).
    pub(crate) fn add(&self, n: i64) {
        let done = if n >= 0 {
            self.done.fetch_add(n as u64, Ordering::Relaxed) + n as u64
        } else {
            self.done.fetch_sub(n.unsigned_abs(), Ordering::Relaxed) - n.unsigned_abs()
        };
        if let Some(report) = &self.progress {
            report(done, self.total);
        }
    }
}

/// Feeds `len` bytes of a file from `offset` to `hasher`, a buffer at a time.
pub(crate) async fn hash_file_range(path: &Path, offset: u64, len: u64, hasher: &mut Sha1) -> Result<()> {
    let mut file = tokio::fs::File::open(path).await?;
    file.seek(std::io::SeekFrom::Start(offset)).await?;
    let mut reader = file.take(len);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        hasher.update(&buf[..n]);
    }
}

/// The SHA-1 (hex) of `len` bytes of a file from `offset`.
pub(crate) async fn sha1_of_file(path: &Path, offset: u64, len: u64) -> Result<String> {
    let mut hasher = Sha1::new();
    hash_file_range(path, offset, len, &mut hasher).await?;
    Ok(hex::encode(hasher.finalize()))
}
