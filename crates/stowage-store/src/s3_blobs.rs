//! Blobs in an S3-compatible bucket (Backblaze B2, Ceph RGW, MinIO, AWS S3, another Stowage, …) through
//! Apache OpenDAL, with its retry and timeout layers. Each blob is one object, `<prefix>/<id>`, written once
//! under a generated id, so any number of nodes share the bucket without coordination. An upload is streamed
//! (multipart above one chunk) and acknowledged by the service before `put` returns; a failed one is aborted,
//! so no partial object is ever readable. Credentials and region come from the usual `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION` (us-east-1 when unset).

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use opendal::layers::{RetryLayer, TimeoutLayer};
use opendal::{ErrorKind, Operator};
use stowage_core::model::Millis;
use stowage_core::store::{BlobStore, ByteStream};
use stowage_core::{Error, Result};

/// Bytes sent per request of a multipart upload (S3 wants at least 5 MiB), and requests in flight.
const CHUNK: usize = 8 * 1024 * 1024;
const CONCURRENT_PARTS: usize = 4;
const READ_CHUNK: usize = 4 * 1024 * 1024;
/// An object that answers `stat` only to say the bucket is reachable.
const READINESS_PROBE: &str = "stowage-readiness-probe";

pub struct S3BlobStore {
    op: Operator,
    /// The same service without retries, for readiness: a probe must answer quickly either way.
    probe: Operator,
}

#[track_caller]
fn blob_err(e: opendal::Error) -> Error {
    if e.is_temporary() || matches!(e.kind(), ErrorKind::RateLimited) {
        tracing::warn!(location = %std::panic::Location::caller(), "blob service unavailable: {e}");
        return Error::ServiceUnavailable("the blob store is unavailable; retry shortly".into());
    }
    Error::internal(format!("blob store: {e}"))
}

fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `s3://BUCKET[/PREFIX]` split into the bucket and the prefix (without slashes at its ends).
pub fn parse_location(url: &str) -> Result<(String, String)> {
    let rest = url.strip_prefix("s3://").ok_or_else(|| Error::invalid(format!("{url:?} is not an s3://BUCKET[/PREFIX] URL")))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(Error::invalid(format!("{url:?} names no bucket")));
    }
    Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
}

impl S3BlobStore {
    /// Blobs under `s3://BUCKET[/PREFIX]` at `endpoint` (default AWS), path-style addressed.
    pub fn open(url: &str, endpoint: Option<&str>) -> Result<Self> {
        opendal::install_default();
        let (bucket, prefix) = parse_location(url)?;
        let region = std::env::var("AWS_REGION").or_else(|_| std::env::var("AWS_DEFAULT_REGION")).unwrap_or_else(|_| "us-east-1".into());
        let mut builder =
            opendal::services::S3::default().bucket(&bucket).root(&format!("/{prefix}")).region(&region).disable_ec2_metadata();
        if let Some(endpoint) = endpoint {
            builder = builder.endpoint(endpoint);
        }
        let service = Operator::new(builder).map_err(|e| Error::invalid(format!("blob store {url}: {e}")))?;
        let probe = service.clone().layer(TimeoutLayer::new().with_timeout(Duration::from_secs(5)));
        let op = service
            .layer(TimeoutLayer::new().with_timeout(Duration::from_secs(60)).with_io_timeout(Duration::from_secs(30)))
            .layer(RetryLayer::new().with_jitter().with_max_times(4));
        Ok(S3BlobStore { op, probe })
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, mut body: ByteStream) -> Result<(String, u64)> {
        let id = uuid::Uuid::now_v7().simple().to_string();
        let mut writer = self.op.writer_with(&id).chunk(CHUNK).concurrent(CONCURRENT_PARTS).await.map_err(blob_err)?;
        let mut len = 0u64;
        while let Some(chunk) = body.next().await {
            let written = match chunk {
                Ok(chunk) => {
                    len += chunk.len() as u64;
                    writer.write(chunk).await.map_err(blob_err)
                }
                // As for file blobs: a body that breaks off is the client's fault, not the server's.
                Err(e) => Err(Error::invalid(format!("request body ended early: {e}"))),
            };
            if let Err(e) = written {
                let _ = writer.abort().await;
                return Err(e);
            }
        }
        writer.close().await.map_err(blob_err)?;
        Ok((id, len))
    }

    async fn get(&self, blob_id: &str, offset: u64, len: u64) -> Result<ByteStream> {
        if len == 0 {
            return Ok(Box::pin(futures::stream::empty()));
        }
        let reader = self.op.reader_with(blob_id).chunk(READ_CHUNK).await.map_err(blob_err)?;
        let stream = reader.into_bytes_stream(offset..offset.saturating_add(len)).await.map_err(blob_err)?;
        Ok(Box::pin(stream.map_ok(Bytes::from)))
    }

    async fn delete(&self, blob_id: &str) -> Result<()> {
        self.op.delete(blob_id).await.map_err(blob_err)
    }

    async fn ready(&self) -> Result<()> {
        match self.probe.stat(READINESS_PROBE).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::ServiceUnavailable(format!("the blob store does not answer: {e}"))),
        }
    }

    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Millis)>> {
        let mut lister = self.op.lister_with("");
        if let Some(after) = after {
            lister = lister.start_after(after);
        }
        let mut lister = lister.await.map_err(blob_err)?;
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(entry) = lister.try_next().await.map_err(blob_err)? else { break };
            let name = entry.name().trim_end_matches('/');
            if !valid_id(name) || after.is_some_and(|a| name <= a) {
                continue;
            }
            let written = match entry.metadata().last_modified() {
                Some(t) => t.into_inner().as_millisecond(),
                None => self.op.stat(name).await.map_err(blob_err)?.last_modified().map_or(0, |t| t.into_inner().as_millisecond()),
            };
            out.push((name.to_string(), written));
        }
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_split_into_bucket_and_prefix() {
        assert_eq!(parse_location("s3://blobs").ok(), Some(("blobs".into(), String::new())));
        assert_eq!(parse_location("s3://blobs/a/b/").ok(), Some(("blobs".into(), "a/b".into())));
        assert!(parse_location("s3:///x").is_err());
        assert!(parse_location("/srv/blobs").is_err());
    }
}
