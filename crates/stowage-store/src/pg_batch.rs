//! Group commit for PostgreSQL: the inserts every upload makes (its small body, its version) that arrive
//! together are written by one transaction of multi-row statements, so a burst of small uploads costs a few
//! round trips and commits instead of two each. A few batches run at once; while they are all busy the next
//! one grows. A batch that fails is replayed insert by insert, so each caller gets its own outcome (a version
//! whose bucket was just deleted fails alone). Each insert is durable when its caller hears back.

use std::sync::Arc;

use bytes::Bytes;
use deadpool_postgres::{GenericClient, Pool};
use stowage_core::model::FileVersion;
use stowage_core::{Error, Result};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{Json, ToSql};

use crate::postgres::{now_millis, pg_err, pooled};

/// Most inserts one transaction carries.
const MAX_BATCH: usize = 256;
/// Batches written at once (each holds one pooled connection).
const IN_FLIGHT: usize = 4;

pub(crate) enum Insert {
    SmallBlob { blob_id: String, data: Bytes },
    Version(Box<FileVersion>),
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
    if batch.len() > 1 {
        match write_together(pool, &batch).await {
            Ok(()) => {
                for job in batch {
                    let _ = job.done.send(Ok(()));
                }
                return;
            }
            Err(e) => tracing::debug!(inserts = batch.len(), "a batch of inserts failed ({e}); writing them one by one"),
        }
    }
    for job in batch {
        let outcome = write_one(pool, &job.insert).await;
        let _ = job.done.send(outcome);
    }
}

fn version_failure(e: tokio_postgres::Error, version: &FileVersion) -> Error {
    if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) { Error::BucketNotFound(version.bucket_id.clone()) } else { pg_err(e) }
}

async fn write_one(pool: &Pool, insert: &Insert) -> Result<()> {
    let client = pooled(pool).await?;
    match insert {
        Insert::SmallBlob { blob_id, data } => {
            let stmt =
                client.prepare_cached("INSERT INTO small_blobs (blob_id, written, data) VALUES ($1, $2, $3)").await.map_err(pg_err)?;
            client.execute(&stmt, &[blob_id, &now_millis(), &data.as_ref()]).await.map_err(pg_err)?;
        }
        Insert::Version(version) => {
            // One statement, so a lone upload costs one round trip and one commit.
            let stmt = client
                .prepare_cached(
                    "WITH v AS (INSERT INTO versions (file_id, bucket_id, name, action, size, upload_ts, body) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)) \
                     INSERT INTO version_blobs (blob_id, file_id) SELECT unnest($8::text[]), $1 \
                     ON CONFLICT (blob_id) DO UPDATE SET file_id = excluded.file_id",
                )
                .await
                .map_err(pg_err)?;
            let params: &[&(dyn ToSql + Sync)] = &[
                &version.file_id,
                &version.bucket_id,
                &version.name,
                &version.action.as_str(),
                &(version.size as i64),
                &version.upload_timestamp,
                &Json(version.as_ref()),
                &version.content.blob_ids(),
            ];
            client.execute(&stmt, params).await.map_err(|e| version_failure(e, version))?;
        }
    }
    Ok(())
}

async fn write_together(pool: &Pool, batch: &[Job]) -> Result<()> {
    let (mut blob_ids, mut written, mut data) = (Vec::new(), Vec::new(), Vec::new());
    let (mut file_ids, mut buckets, mut names, mut actions, mut sizes, mut times, mut bodies) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut linked_blobs, mut linked_files) = (Vec::new(), Vec::new());
    let now = now_millis();
    for job in batch {
        match &job.insert {
            Insert::SmallBlob { blob_id, data: bytes } => {
                blob_ids.push(blob_id.as_str());
                written.push(now);
                data.push(bytes.as_ref());
            }
            Insert::Version(v) => {
                file_ids.push(v.file_id.as_str());
                buckets.push(v.bucket_id.as_str());
                names.push(v.name.as_str());
                actions.push(v.action.as_str());
                sizes.push(v.size as i64);
                times.push(v.upload_timestamp);
                bodies.push(serde_json::to_string(v.as_ref()).map_err(Error::internal)?);
                for blob in v.content.blob_ids() {
                    linked_blobs.push(blob);
                    linked_files.push(v.file_id.as_str());
                }
            }
        }
    }
    // One statement (one round trip, one commit); a part with no rows inserts nothing.
    let client = pooled(pool).await?;
    let stmt = client
        .prepare_cached(
            "WITH small AS (INSERT INTO small_blobs (blob_id, written, data) \
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[])), \
             versions AS (INSERT INTO versions (file_id, bucket_id, name, action, size, upload_ts, body) \
                 SELECT f, b, n, a, s, t, j::json FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], \
                 $9::bigint[], $10::text[]) AS u(f, b, n, a, s, t, j)) \
             INSERT INTO version_blobs (blob_id, file_id) SELECT * FROM unnest($11::text[], $12::text[]) \
             ON CONFLICT (blob_id) DO UPDATE SET file_id = excluded.file_id",
        )
        .await
        .map_err(pg_err)?;
    let params: &[&(dyn ToSql + Sync)] =
        &[&blob_ids, &written, &data, &file_ids, &buckets, &names, &actions, &sizes, &times, &bodies, &linked_blobs, &linked_files];
    client.execute(&stmt, params).await.map_err(pg_err)?;
    Ok(())
}
