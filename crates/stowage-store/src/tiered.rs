//! Small blobs in the metadata database, the rest as files.
//!
//! A file blob costs a file creation, its fsync, a rename and the directory's fsync; a body of a few KiB
//! spends nearly all its upload time there. Kept as a row instead, it becomes one insert that shares the
//! writer's group commit (one fsync for every upload that arrives together). A file blob is durable before
//! `put` returns; a small one too on SQLite, while PostgreSQL writes it in the statement that commits the
//! version or part naming it (`pg_batch`). Either way the core's invariant holds: no committed version
//! names a body that is not durable.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use stowage_core::model::Millis;
use stowage_core::store::{BlobStore, ByteStream};
use stowage_core::{Error, Result};

/// Where a metadata store keeps small blobs: rows written in the same kind of transaction as versions.
#[async_trait]
pub trait SmallBlobRows: Send + Sync {
    /// Durable once this returns, or (a store that defers it) in the commit of the first version or part
    /// that names it, and within seconds when none does.
    async fn put_small_blob(&self, blob_id: String, data: Bytes) -> Result<()>;
    async fn get_small_blob(&self, blob_id: &str) -> Result<Option<Vec<u8>>>;
    async fn delete_small_blob(&self, blob_id: &str) -> Result<()>;
    /// Ids in id order after `after`, each with its write time.
    async fn list_small_blobs(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Millis)>>;
}

/// Bodies up to this size (after sealing) are kept in the database.
pub const SMALL_BLOB_MAX: usize = 16 * 1024;

/// Small-blob ids start with a letter file-blob ids (hex) never use, so each id says where its bytes are.
const SMALL_PREFIX: char = 's';

pub struct TieredBlobStore {
    small: Arc<dyn SmallBlobRows>,
    files: Arc<dyn BlobStore>,
}

impl TieredBlobStore {
    pub fn new(small: Arc<dyn SmallBlobRows>, files: Arc<dyn BlobStore>) -> Self {
        Self { small, files }
    }

    fn is_small(blob_id: &str) -> bool {
        blob_id.starts_with(SMALL_PREFIX)
    }
}

#[async_trait]
impl BlobStore for TieredBlobStore {
    async fn ready(&self) -> Result<()> {
        self.small.get_small_blob("readiness-probe").await?;
        self.files.ready().await
    }

    async fn put(&self, mut body: ByteStream) -> Result<(String, u64)> {
        let mut head = BytesMut::new();
        let mut spilled: Option<Bytes> = None;
        while let Some(chunk) = body.next().await {
            // As for file blobs: a body that breaks off is the client's fault, not the server's.
            let chunk = chunk.map_err(|e| Error::invalid(format!("request body ended early: {e}")))?;
            if head.len() + chunk.len() > SMALL_BLOB_MAX {
                spilled = Some(chunk);
                break;
            }
            head.extend_from_slice(&chunk);
        }
        match spilled {
            None => {
                let id = format!("{SMALL_PREFIX}{}", uuid::Uuid::now_v7().simple());
                let len = head.len() as u64;
                self.small.put_small_blob(id.clone(), head.freeze()).await?;
                Ok((id, len))
            }
            Some(next) => {
                // Too big: what was read so far, then the rest, into a file.
                let read: ByteStream = Box::pin(futures::stream::iter([Ok(head.freeze()), Ok(next)]));
                self.files.put(Box::pin(read.chain(body))).await
            }
        }
    }

    async fn get(&self, blob_id: &str, offset: u64, len: u64) -> Result<ByteStream> {
        if !Self::is_small(blob_id) {
            return self.files.get(blob_id, offset, len).await;
        }
        let data = self.small.get_small_blob(blob_id).await?.ok_or_else(|| Error::internal(format!("blob {blob_id} is missing")))?;
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(data.len());
        let end = usize::try_from(offset.saturating_add(len)).unwrap_or(usize::MAX).min(data.len());
        let piece = Bytes::from(data).slice(start..end);
        Ok(Box::pin(futures::stream::once(async move { Ok(piece) })))
    }

    async fn delete(&self, blob_id: &str) -> Result<()> {
        if Self::is_small(blob_id) { self.small.delete_small_blob(blob_id).await } else { self.files.delete(blob_id).await }
    }

    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Millis)>> {
        let mut all = self.files.list(after, limit).await?;
        all.extend(self.small.list_small_blobs(after, limit).await?);
        all.sort();
        all.truncate(limit);
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;
    use crate::blob::LocalBlobStore;
    use crate::sqlite::SqliteStore;

    fn body(len: usize, chunk: usize) -> (Vec<u8>, ByteStream) {
        let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        let chunks: Vec<std::io::Result<Bytes>> = data.chunks(chunk).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        (data, Box::pin(futures::stream::iter(chunks)))
    }

    #[tokio::test]
    async fn small_bodies_go_to_the_database_and_large_ones_to_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let meta = Arc::new(SqliteStore::open(&dir.path().join("meta.sqlite3")).expect("sqlite"));
        let store = TieredBlobStore::new(meta, Arc::new(LocalBlobStore::open(dir.path()).expect("files")));
        for (len, chunk, small) in [(0, 1, true), (4096, 1000, true), (SMALL_BLOB_MAX, 4096, true), (SMALL_BLOB_MAX + 1, 4096, false)] {
            let (data, stream) = body(len, chunk);
            let (id, stored) = store.put(stream).await.expect("put");
            assert_eq!((stored as usize, TieredBlobStore::is_small(&id)), (len, small), "{len} bytes");
            let whole: Vec<Bytes> = store.get(&id, 0, len as u64).await.expect("get").try_collect().await.expect("read");
            assert_eq!(whole.concat(), data);
            if len > 10 {
                let part: Vec<Bytes> = store.get(&id, 3, 7).await.expect("get").try_collect().await.expect("read");
                assert_eq!(part.concat(), data[3..10]);
            }
            assert!(store.list(None, 100).await.expect("list").iter().any(|(listed, _)| *listed == id));
            store.delete(&id).await.expect("delete");
            assert!(store.list(None, 100).await.expect("list").iter().all(|(listed, _)| *listed != id));
        }
    }
}
