//! Group commit for PostgreSQL: the inserts uploads make (versions, with the small bodies they name) that
//! arrive together are written by one statement of multi-row inserts, so a burst of small uploads costs a
//! few round trips and commits instead of two each. A few batches run at once; while they are all busy the
//! next one grows. A batch that fails is replayed insert by insert, so each caller gets its own outcome (a
//! version whose bucket was just deleted fails alone). Each insert is durable when its caller hears back.
//!
//! A small body (see `tiered`) waits in `PendingBodies` for the version or part that names it and is written
//! in the same statement: one commit per small upload, and never a version naming a body that is not
//! durable. A body nothing claims within a few seconds (an upload refused after its body was read) is
//! written alone, as an orphan for collection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use deadpool_postgres::{GenericClient, Pool};
use stowage_core::model::FileVersion;
use stowage_core::{Error, Result};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use crate::postgres::{pg_err, pooled};
use crate::records::{self, VERSIONS, Value};
use stowage_core::service::wall_clock;

/// Most inserts one transaction carries.
const MAX_BATCH: usize = 256;
/// Batches written at once (each holds one pooled connection).
const IN_FLIGHT: usize = 4;

pub(crate) enum Insert {
    SmallBlob {
        blob_id: String,
        data: Bytes,
    },
    /// A version and the pending small bodies it names.
    Version {
        version: Box<FileVersion>,
        bodies: Vec<(String, Bytes)>,
    },
}

/// Small bodies read but not yet written, by blob id.
#[derive(Default)]
pub(crate) struct PendingBodies(Mutex<HashMap<String, (Bytes, Instant)>>);

impl PendingBodies {
    pub(crate) fn add(&self, blob_id: String, data: Bytes) {
        if let Ok(mut pending) = self.0.lock() {
            pending.insert(blob_id, (data, Instant::now()));
        }
    }

    pub(crate) fn get(&self, blob_id: &str) -> Option<Bytes> {
        self.0.lock().ok()?.get(blob_id).map(|(data, _)| data.clone())
    }

    pub(crate) fn remove(&self, blob_id: &str) {
        if let Ok(mut pending) = self.0.lock() {
            pending.remove(blob_id);
        }
    }

    /// Removes and returns the pending bodies among `ids`, for the statement that writes what names them.
    pub(crate) fn claim(&self, ids: &[String]) -> Vec<(String, Bytes)> {
        let Ok(mut pending) = self.0.lock() else { return Vec::new() };
        ids.iter().filter_map(|id| pending.remove(id).map(|(data, _)| (id.clone(), data))).collect()
    }

    /// Copies of the bodies pending longer than `age`; they leave only once written (`remove`), so a claim
    /// racing the write either takes the body along or finds it already durable.
    fn stale(&self, age: Duration) -> Vec<(String, Bytes)> {
        let Ok(pending) = self.0.lock() else { return Vec::new() };
        pending.iter().filter(|(_, (_, at))| at.elapsed() > age).map(|(id, (data, _))| (id.clone(), data.clone())).collect()
    }
}

/// Writes bodies nothing claimed: they become orphans that collection removes.
pub(crate) async fn flush_unclaimed(pending: Arc<PendingBodies>, inserts: Arc<InsertBatcher>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        for (blob_id, data) in pending.stale(Duration::from_secs(3)) {
            match inserts.insert(Insert::SmallBlob { blob_id: blob_id.clone(), data }).await {
                Ok(()) => pending.remove(&blob_id),
                Err(e) => tracing::debug!(%blob_id, "an unclaimed small body stays pending: {e}"),
            }
        }
    }
}

struct Job {
    insert: Insert,
    done: oneshot::Sender<Result<()>>,
}

pub(crate) struct InsertBatcher {
    jobs: mpsc::UnboundedSender<Job>,
}

impl InsertBatcher {
    pub(crate) fn start(pool: Pool) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, queue));
        InsertBatcher { jobs }
    }

    pub(crate) async fn insert(&self, insert: Insert) -> Result<()> {
        let (done, outcome) = oneshot::channel();
        self.jobs.send(Job { insert, done }).map_err(|_| Error::internal("the insert batcher has stopped"))?;
        outcome.await.map_err(|_| Error::internal("the insert batcher dropped an insert"))?
    }
}

async fn run(pool: Pool, mut queue: mpsc::UnboundedReceiver<Job>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = queue.recv().await {
        // Wait for a free slot before collecting: inserts that arrive meanwhile join this batch.
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH
            && let Ok(next) = queue.try_recv()
        {
            batch.push(next);
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            commit(&pool, batch).await;
            drop(slot);
        });
    }
}

async fn commit(pool: &Pool, batch: Vec<Job>) {
    match write_together(pool, &batch).await {
        Ok(()) => {
            for job in batch {
                let _ = job.done.send(Ok(()));
            }
        }
        Err(e) if batch.len() == 1 => {
            if let Some(job) = batch.into_iter().next() {
                let _ = job.done.send(Err(failure(e, &job.insert)));
            }
        }
        Err(e) => {
            tracing::debug!(inserts = batch.len(), "a batch of inserts failed ({e}); writing them one by one");
            for job in batch {
                let outcome = write_together(pool, std::slice::from_ref(&job)).await.map_err(|e| failure(e, &job.insert));
                let _ = job.done.send(outcome);
            }
        }
    }
}

/// Why an insert failed, as the store's callers expect it.
fn failure(e: Failure, insert: &Insert) -> Error {
    match (e, insert) {
        (Failure::Db(e), Insert::Version { version, .. }) if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => {
            Error::BucketNotFound(version.bucket_id.clone())
        }
        (Failure::Db(e), _) => pg_err(e),
        (Failure::Other(e), _) => e,
    }
}

enum Failure {
    Db(tokio_postgres::Error),
    Other(Error),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Db(e) => write!(f, "{e}"),
            Failure::Other(e) => write!(f, "{e}"),
        }
    }
}

async fn write_together(pool: &Pool, batch: &[Job]) -> std::result::Result<(), Failure> {
    let client = pooled(pool).await.map_err(Failure::Other)?;
    let inserts: Vec<&Insert> = batch.iter().map(|job| &job.insert).collect();
    write_rows(&client, &inserts).await
}

/// Writes one insert inside a transaction the caller holds (a conditional insert, which must check and
/// write in one transaction), with the errors a batched insert would give.
pub(crate) async fn write_in(client: &impl GenericClient, insert: &Insert) -> Result<()> {
    write_rows(client, &[insert]).await.map_err(|e| failure(e, insert))
}

async fn write_rows(client: &impl GenericClient, batch: &[&Insert]) -> std::result::Result<(), Failure> {
    let (mut blob_ids, mut written, mut data) = (Vec::new(), Vec::new(), Vec::new());
    // The versions' values column by column: each column is bound as one array.
    let mut columns: Vec<Vec<Value<'_>>> = vec![Vec::new(); VERSIONS.columns.len()];
    let (mut linked_blobs, mut linked_files) = (Vec::new(), Vec::new());
    let now = wall_clock();
    for insert in batch {
        match insert {
            Insert::SmallBlob { blob_id, data: bytes } => {
                blob_ids.push(blob_id.as_str());
                written.push(now);
                data.push(bytes.as_ref());
            }
            Insert::Version { version: v, bodies: claimed } => {
                for (blob_id, bytes) in claimed {
                    blob_ids.push(blob_id.as_str());
                    written.push(now);
                    data.push(bytes.as_ref());
                }
                for (column, value) in columns.iter_mut().zip(records::version_values(v).map_err(Failure::Other)?) {
                    column.push(value);
                }
                for blob in v.content.blob_ids() {
                    linked_blobs.push(blob);
                    linked_files.push(v.file_id.as_str());
                }
            }
        }
    }
    // One statement (one round trip, one commit); a part with no rows inserts nothing.
    // A body written alone by the flusher may be claimed by a version meanwhile: written once either way.
    let links = 4 + columns.len();
    let sql = format!(
        "WITH small AS (INSERT INTO small_blobs (blob_id, written, data) \
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[]) ON CONFLICT (blob_id) DO NOTHING), \
         versions AS ({}) \
         INSERT INTO version_blobs (blob_id, file_id) SELECT * FROM unnest(${links}::text[], ${}::text[]) \
         ON CONFLICT (blob_id) DO UPDATE SET file_id = excluded.file_id",
        VERSIONS.insert_unnest(4),
        links + 1
    );
    let stmt = client.prepare_cached(&sql).await.map_err(Failure::Db)?;
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&blob_ids, &written, &data];
    params.extend(columns.iter().map(|c| c as &(dyn ToSql + Sync)));
    params.extend([&linked_blobs as &(dyn ToSql + Sync), &linked_files]);
    client.execute(&stmt, &params).await.map_err(Failure::Db)?;
    Ok(())
}
