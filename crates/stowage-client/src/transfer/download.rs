//! Downloads: a stream of bytes with the file's description, or straight into a local file in parallel
//! ranges with the SHA-1 checked.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use percent_encoding::utf8_percent_encode;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::upload::NAME_SAFE;
use super::{Counter, Progress, hash_file_range};
use crate::client::Client;
use crate::error::{Error, Result};

/// A download on its way: what the headers say of the file, and its bytes.
pub struct Download {
    /// The version's file id (`X-Bz-File-Id`).
    pub file_id: Option<String>,
    /// Its content type.
    pub content_type: Option<String>,
    /// The bytes this answer holds (the range's, for a ranged read).
    pub length: u64,
    /// The whole file's size, for a ranged read the server answered as one (`Content-Range`).
    pub total: Option<u64>,
    /// The whole file's SHA-1 when known (`X-Bz-Content-Sha1`, or `large_file_sha1` for a large file).
    pub sha1: Option<String>,
    /// The bytes, as they arrive.
    pub body: Body,
}

impl Download {
    fn from_response(response: reqwest::Response) -> Self {
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let content_sha1 = header("x-bz-content-sha1").filter(|s| s != "none").map(|s| s.trim_start_matches("unverified:").to_string());
        let sha1 = content_sha1.or_else(|| header("x-bz-info-large_file_sha1"));
        let total = header("content-range").and_then(|r| r.rsplit('/').next().and_then(|t| t.parse().ok()));
        Download {
            file_id: header("x-bz-file-id"),
            content_type: header("content-type"),
            length: response.content_length().unwrap_or(0),
            total,
            sha1,
            body: Box::pin(response.bytes_stream().map_err(Error::from)),
        }
    }
}

/// A spawned task that is stopped when its handle is dropped (a download that failed stops its other ranges).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> std::future::Future for AbortOnDrop<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|joined| joined.map_err(|e| Error::Invalid(format!("a download task stopped: {e}"))))
    }
}

impl Client {
    /// A download by name as a stream of bytes, with the file's description from its headers; `range`
    /// is inclusive (`(first, last)`).
    pub async fn download_by_name(&self, bucket: &str, name: &str, range: Option<(u64, u64)>) -> Result<Download> {
        let encoded = utf8_percent_encode(name, NAME_SAFE).to_string();
        self.download(|base| format!("{base}/file/{bucket}/{encoded}"), range).await
    }

    /// A download of one version by its file id (as [`Client::download_by_name`]).
    pub async fn download_by_id(&self, file_id: &str, range: Option<(u64, u64)>) -> Result<Download> {
        let id = utf8_percent_encode(file_id, NAME_SAFE).to_string();
        self.download(|base| format!("{base}/b2api/v4/b2_download_file_by_id?fileId={id}"), range).await
    }

    async fn download(&self, url: impl Fn(&str) -> String, range: Option<(u64, u64)>) -> Result<Download> {
        let response = self
            .with_retries(&self.retry_policy(), |auth| {
                let url = url(auth.api_info.storage_api.download_url.trim_end_matches('/'));
                let mut request = self.inner.http.get(url).header("Authorization", &auth.authorization_token);
                if let Some((first, last)) = range {
                    request = request.header("Range", format!("bytes={first}-{last}"));
                }
                let request = self.dress(request);
                async move {
                    let response = request.send().await?;
                    if response.status().is_success() { Ok(response) } else { Err(Error::from_response(response).await) }
                }
            })
            .await?;
        Ok(Download::from_response(response))
    }

    /// Downloads a file into `path` and checks its SHA-1 (`contentSha1`, or `large_file_sha1` for a large
    /// file): a mismatch is an error and the file is removed. A file larger than one part comes down in
    /// parallel ranges of that version (by its file id, so a newer upload meanwhile cannot mix in), each
    /// written at its offset; the SHA-1 follows the ranges in order while later ones still arrive, so the
    /// check costs no pass of its own at the end. The file is left to the system to write back, as `cp`,
    /// the b2 CLI and rclone leave theirs (call `sync_all` on it for durability).
    pub async fn download_to_file(&self, bucket: &str, name: &str, path: &Path, progress: Option<Progress>) -> Result<u64> {
        let auth = self.authorization().await?;
        let part = self.part_sizes(&auth).0.max(1);
        let first = match self.download_by_name(bucket, name, Some((0, part - 1))).await {
            // An empty file has no byte 0 to start a range at.
            Err(Error::Api { status: 416, .. }) => self.download_by_name(bucket, name, None).await?,
            other => other?,
        };
        let total = first.total.unwrap_or(first.length);
        let expected = first.sha1.clone();
        let file_id = first.file_id.clone();
        let counter = Counter::new(progress, total);
        let file = tokio::fs::File::create(path).await?;
        file.set_len(total).await?;
        drop(file);
        let outcome = async {
            let first_range = (0, first.length.max(1) - 1);
            let mut hasher = match (first.total, &file_id) {
                // A range of a known version: its body may be fetched again if it breaks off.
                (Some(_), Some(id)) => self.range_into_file(id, first_range, path, &counter, true, Some(first.body)).await?,
                _ => write_at(path, 0, first.body, &counter, true).await?,
            }
            .unwrap_or_default();
            if first.total.is_some() && total > part {
                let Some(file_id) = file_id else { return Err(Error::Decode("a ranged download named no file id".into())) };
                let ranges: Vec<(u64, u64)> = (part..total).step_by(part as usize).map(|at| (at, (at + part).min(total) - 1)).collect();
                // Ranges run as tasks of their own, so the hashing below (in order, each range once it is
                // written) does not hold up the ones still downloading.
                let mut written = futures::stream::iter(ranges)
                    .map(|range| {
                        let (client, file_id, counter, path) = (self.clone(), file_id.clone(), counter.clone(), PathBuf::from(path));
                        AbortOnDrop(tokio::spawn(async move {
                            client.range_into_file(&file_id, range, &path, &counter, false, None).await?;
                            Ok::<_, Error>(range)
                        }))
                    })
                    .buffered(self.inner.config.part_concurrency.max(1));
                while let Some(range) = written.next().await {
                    let (first, last) = range??;
                    hash_file_range(path, first, last - first + 1, &mut hasher).await?;
                }
            }
            let actual = hex::encode(hasher.finalize());
            match expected {
                Some(expected) if expected != actual => Err(Error::Sha1Mismatch { expected, actual }),
                _ => Ok(total),
            }
        }
        .await;
        if outcome.is_err() {
            let _ = tokio::fs::remove_file(path).await;
        }
        outcome
    }
}

impl Client {
    /// Writes bytes `range` of version `file_id` into `path` at their offset, starting the range again
    /// (under the retry policy) when its body breaks off; `body` is a first answer already on its way.
    /// Answers the range's SHA-1 state when asked to `hash`.
    async fn range_into_file(
        &self,
        file_id: &str,
        range: (u64, u64),
        path: &Path,
        counter: &Arc<Counter>,
        hash: bool,
        mut body: Option<Body>,
    ) -> Result<Option<Sha1>> {
        let retry = self.retry_policy();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = match body.take() {
                Some(body) => Ok(body),
                None => self.download_by_id(file_id, Some(range)).await.map(|d| d.body),
            };
            let outcome = match outcome {
                Ok(body) => write_at(path, range.0, body, counter, hash).await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(hasher) => return Ok(hasher),
                Err(e) if e.is_retryable() && attempt < retry.attempts => {
                    tokio::time::sleep(retry.delay(attempt, e.retry_after())).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// A download's bytes as they arrive.
type Body = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;

/// Writes a body into `path` from `offset` (the file exists and has its final length), hashing it on the
/// way when asked to (answering the hash state); a body that breaks off takes its bytes back from the progress.
async fn write_at(path: &Path, offset: u64, mut body: Body, counter: &Arc<Counter>, hash: bool) -> Result<Option<Sha1>> {
    let mut hasher = hash.then(Sha1::new);
    let mut written = 0u64;
    let outcome = async {
        let mut file = tokio::fs::OpenOptions::new().write(true).open(path).await?;
        file.seek(std::io::SeekFrom::Start(offset)).await?;
        // Network chunks are small; each file write is a trip to the blocking pool, so they go in 1 MiB.
        let mut out = tokio::io::BufWriter::with_capacity(1 << 20, file);
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            if let Some(hasher) = hasher.as_mut() {
                hasher.update(&chunk);
            }
            out.write_all(&chunk).await?;
            written += chunk.len() as u64;
            counter.add(chunk.len() as i64);
        }
        out.flush().await?;
        Ok::<_, Error>(())
    }
    .await;
    if outcome.is_err() {
        // The bytes of a broken attempt are counted again when it is tried again.
        counter.add(-(written as i64));
    }
    outcome.map(|()| hasher)
}
