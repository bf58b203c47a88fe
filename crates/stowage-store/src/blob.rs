//! Blobs as files on local disk: `blobs/<xx>/<id>`, written as tmp file → fsync → rename → fsync dir,
//! so a crash never leaves a partial blob under a final name.

use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use stowage_core::model::Millis;
use stowage_core::store::{BlobStore, ByteStream};
use stowage_core::{Error, Result};

/// Buffered bytes between the request stream and the disk writer thread.
const WRITE_QUEUE_CHUNKS: usize = 16;
const WRITE_BUFFER: usize = 1 << 20;
const READ_CHUNK: usize = 512 * 1024;
const READ_QUEUE_CHUNKS: usize = 4;

pub struct LocalBlobStore {
    blobs: PathBuf,
    tmp: PathBuf,
}

fn valid_id(id: &str) -> Result<()> {
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Error::internal(format!("invalid blob id {id:?}")))
    }
}

fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Staged files other nodes left more than `age` ago: those nodes died and never restarted (a live upload
/// touches its file at least every body-timeout).
fn remove_stale_staging(staging_root: &Path, age: std::time::Duration) {
    let Ok(nodes) = std::fs::read_dir(staging_root) else { return };
    for node in nodes.flatten() {
        let Ok(files) = std::fs::read_dir(node.path()) else { continue };
        for file in files.flatten() {
            let stale = file.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok()).is_some_and(|e| e > age);
            if stale && std::fs::remove_file(file.path()).is_ok() {
                tracing::info!(file = %file.path().display(), "removed a staged blob a stopped node left behind");
            }
        }
    }
}

impl LocalBlobStore {
    /// Opens (creating if needed) the store of the embedded layout: `<root>/blobs`, writes staged in
    /// `<root>/tmp`.
    pub fn open(root: &Path) -> Result<Self> {
        Self::open_at(&root.join("blobs"), &root.join("tmp"))
    }

    /// Opens (creating if needed) blobs under `blobs`, staging writes in `tmp`, which must be on the same
    /// filesystem (a staged file is renamed into place) and belong to this process alone: whatever it
    /// holds at open is a write a crash interrupted, and is discarded. Several nodes may share `blobs`
    /// (each blob is written once under a new id), each with its own `tmp`.
    pub fn open_at(blobs: &Path, tmp: &Path) -> Result<Self> {
        if tmp.exists() {
            std::fs::remove_dir_all(tmp)?;
        }
        std::fs::create_dir_all(tmp)?;
        if let Some(staging_root) = tmp.parent().filter(|p| p.file_name().is_some_and(|n| n == ".tmp")) {
            remove_stale_staging(staging_root, std::time::Duration::from_secs(24 * 3600));
        }
        for i in 0..=255u8 {
            std::fs::create_dir_all(blobs.join(format!("{i:02x}")))?;
        }
        fsync_dir(blobs)?;
        if let Some(parent) = blobs.parent() {
            fsync_dir(parent)?;
        }
        Ok(LocalBlobStore { blobs: blobs.to_path_buf(), tmp: tmp.to_path_buf() })
    }

    fn path(&self, id: &str) -> PathBuf {
        // The id's tail is random (its head is a timestamp), so it spreads files evenly.
        self.blobs.join(&id[30..32]).join(id)
    }
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn put(&self, mut body: ByteStream) -> Result<(String, u64)> {
        let id = uuid::Uuid::now_v7().simple().to_string();
        let tmp_path = self.tmp.join(&id);
        let final_path = self.path(&id);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(WRITE_QUEUE_CHUNKS);
        // One blocking thread per upload writes and syncs, so the runtime threads only move bytes.
        let writer = tokio::task::spawn_blocking({
            let tmp_path = tmp_path.clone();
            move || -> std::io::Result<u64> {
                let file = std::fs::File::create(&tmp_path)?;
                let mut out = std::io::BufWriter::with_capacity(WRITE_BUFFER, file);
                let mut len = 0u64;
                while let Some(chunk) = rx.blocking_recv() {
                    out.write_all(&chunk)?;
                    len += chunk.len() as u64;
                }
                let file = out.into_inner().map_err(|e| e.into_error())?;
                file.sync_data()?;
                Ok(len)
            }
        });
        let mut read_error = None;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(chunk) => {
                    if tx.send(chunk).await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    read_error = Some(e);
                    break;
                }
            }
        }
        drop(tx);
        let written = writer.await.map_err(Error::internal);
        let outcome = match (read_error, written) {
            (Some(e), _) => Err(Error::invalid(format!("request body ended early: {e}"))),
            (None, Err(e)) => Err(e),
            (None, Ok(Err(e))) => Err(Error::from(e)),
            (None, Ok(Ok(len))) => Ok(len),
        };
        let len = match outcome {
            Ok(len) => len,
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp_path).await;
                return Err(e);
            }
        };
        let publish = {
            let final_path = final_path.clone();
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                std::fs::rename(&tmp_path, &final_path)?;
                fsync_dir(final_path.parent().unwrap_or(Path::new(".")))
            })
        };
        publish.await.map_err(Error::internal)?.map_err(Error::from)?;
        Ok((id, len))
    }

    async fn get(&self, blob_id: &str, offset: u64, len: u64) -> Result<ByteStream> {
        valid_id(blob_id)?;
        let path = self.path(blob_id);
        let file = tokio::task::spawn_blocking(move || std::fs::File::open(path)).await.map_err(Error::internal)?;
        let file = file.map_err(|e| Error::internal(format!("blob {blob_id}: {e}")))?;
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(READ_QUEUE_CHUNKS);
        // One blocking reader per download fills a short queue with large positioned reads, so the
        // runtime only hands buffers to the socket.
        tokio::task::spawn_blocking(move || {
            use std::os::unix::fs::FileExt;
            let (mut position, end) = (offset, offset + len);
            while position < end {
                let want = READ_CHUNK.min((end - position) as usize);
                let mut buf = vec![0u8; want];
                let item = match file.read_at(&mut buf, position) {
                    Ok(0) => Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "blob is shorter than its metadata")),
                    Ok(n) => {
                        buf.truncate(n);
                        position += n as u64;
                        Ok(Bytes::from(buf))
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => Err(e),
                };
                let failed = item.is_err();
                if tx.blocking_send(item).is_err() || failed {
                    return;
                }
            }
        });
        Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) })))
    }

    async fn delete(&self, blob_id: &str) -> Result<()> {
        valid_id(blob_id)?;
        match tokio::fs::remove_file(self.path(blob_id)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::internal(e)),
        }
    }

    async fn ready(&self) -> Result<()> {
        for dir in [&self.blobs, &self.tmp] {
            let meta = tokio::fs::metadata(dir).await?;
            if !meta.is_dir() {
                return Err(Error::internal(format!("{} is not a directory", dir.display())));
            }
        }
        Ok(())
    }

    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Millis)>> {
        let blobs = self.blobs.clone();
        let after = after.map(str::to_string);
        tokio::task::spawn_blocking(move || -> std::io::Result<Vec<(String, Millis)>> {
            let mut all = Vec::new();
            // Only the shard directories, and only names that are blob ids: a shared directory also holds
            // the nodes' staging directories (`.tmp/`) and copies in progress.
            for shard in 0..=255u8 {
                let Ok(entries) = std::fs::read_dir(blobs.join(format!("{shard:02x}"))) else { continue };
                for entry in entries {
                    let entry = entry?;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if valid_id(&name).is_err() || after.as_ref().is_some_and(|a| name <= *a) {
                        continue;
                    }
                    let modified = entry.metadata()?.modified()?;
                    let millis = modified.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
                    all.push((name, millis));
                }
            }
            all.sort();
            all.truncate(limit);
            Ok(all)
        })
        .await
        .map_err(Error::internal)?
        .map_err(Error::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    #[tokio::test]
    async fn put_get_range_delete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalBlobStore::open(dir.path()).expect("open");
        let body: ByteStream = Box::pin(futures::stream::iter(vec![Ok(Bytes::from_static(b"hello ")), Ok(Bytes::from_static(b"world"))]));
        let (id, len) = store.put(body).await.expect("put");
        assert_eq!(len, 11);
        let read: Vec<Bytes> = store.get(&id, 6, 5).await.expect("get").try_collect().await.expect("read");
        assert_eq!(read.concat(), b"world");
        assert_eq!(store.list(None, 10).await.expect("list").len(), 1);
        store.delete(&id).await.expect("delete");
        assert!(store.get(&id, 0, 1).await.is_err());
        assert!(store.get("../../etc/passwd", 0, 1).await.is_err());
    }

    #[tokio::test]
    async fn failed_body_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalBlobStore::open(dir.path()).expect("open");
        let body: ByteStream = Box::pin(futures::stream::iter(vec![Ok(Bytes::from_static(b"part")), Err(std::io::Error::other("reset"))]));
        assert!(store.put(body).await.is_err());
        assert!(store.list(None, 10).await.expect("list").is_empty());
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).expect("tmp").count(), 0);
    }
}
