//! Uploads and downloads. Bodies stream: a file is read by offset, a part at a time, never held whole;
//! SHA-1 is computed while the bytes go out and sent at the end (B2's `hex_digits_at_end`). Above the
//! large-file threshold a file goes up in parallel parts, resumes from the parts already on the server,
//! and records `large_file_sha1` as the b2 CLI does. Downloads check the SHA-1 when they end.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::types::{FileMetadata, FileVersion, Part, UploadTarget};

/// Called with (bytes done, bytes in all) as a transfer goes.
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// How a file goes up besides its bytes.
#[derive(Clone, Default)]
pub struct UploadOptions {
    pub metadata: FileMetadata,
    pub progress: Option<Progress>,
    /// Leave a large file that failed unfinished (for a later resume) instead of canceling it.
    pub keep_unfinished_on_error: bool,
}

/// What B2 leaves unescaped in `X-Bz-File-Name` and `X-Bz-Info-*`: `/` and the unreserved characters.
const NAME_SAFE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

struct Counter {
    progress: Option<Progress>,
    done: AtomicU64,
    total: u64,
}

impl Counter {
    fn new(progress: Option<Progress>, total: u64) -> Arc<Self> {
        Arc::new(Counter { progress, done: AtomicU64::new(0), total })
    }

    fn add(&self, n: i64) {
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

/// `len` bytes of a file from `offset`, hashed as they are read, followed by their 40 hex digits. `sent`
/// counts what went out this attempt (so a retry can take it back from the progress).
fn file_body(
    path: &Path,
    offset: u64,
    len: u64,
    counter: Arc<Counter>,
    digest: Arc<Mutex<Option<String>>>,
    sent: Arc<AtomicU64>,
) -> reqwest::Body {
    let path = path.to_path_buf();
    let hasher = Arc::new(Mutex::new(Sha1::new()));
    let reading = hasher.clone();
    let chunks = futures::stream::once(async move {
        let mut file = tokio::fs::File::open(&path).await?;
        file.seek(std::io::SeekFrom::Start(offset)).await?;
        Ok::<_, std::io::Error>(tokio_util::io::ReaderStream::with_capacity(file.take(len), 256 * 1024))
    })
    .try_flatten()
    .map_ok(move |chunk: Bytes| {
        if let Ok(mut h) = reading.lock() {
            h.update(&chunk);
        }
        sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        counter.add(chunk.len() as i64);
        chunk
    });
    let trailer = futures::stream::once(async move {
        let hex = hasher.lock().map(|h| hex::encode(h.clone().finalize())).unwrap_or_default();
        if let Ok(mut d) = digest.lock() {
            *d = Some(hex.clone());
        }
        Ok::<_, std::io::Error>(Bytes::from(hex))
    });
    reqwest::Body::wrap_stream(chunks.chain(trailer))
}

/// The SHA-1 of `len` bytes of a file from `offset`, read a buffer at a time.
async fn sha1_of_file(path: &Path, offset: u64, len: u64) -> Result<String> {
    let mut file = tokio::fs::File::open(path).await?;
    file.seek(std::io::SeekFrom::Start(offset)).await?;
    let mut reader = file.take(len);
    let mut hasher = Sha1::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

impl Client {
    fn part_sizes(&self, auth: &crate::types::Authorization) -> (u64, u64) {
        let storage = &auth.api_info.storage_api;
        let part = self.inner.config.part_size.unwrap_or(storage.recommended_part_size).max(storage.absolute_minimum_part_size);
        let threshold = self.inner.config.large_file_threshold.unwrap_or(storage.recommended_part_size);
        (part, threshold)
    }

    /// Sends one upload (a whole file or a part) under B2's model: each attempt takes an upload URL (a
    /// pooled one, or a new one from `fresh`), a retryable failure drops that URL and tries again on a new
    /// one after a back-off, and a URL that worked goes back to the pool.
    async fn send_with_upload_urls<T, Fresh, FreshFut, Send_, SendFut>(
        &self,
        pool_key: Option<&str>,
        fresh: Fresh,
        send: Send_,
    ) -> Result<T>
    where
        Fresh: Fn() -> FreshFut,
        FreshFut: std::future::Future<Output = Result<UploadTarget>>,
        Send_: Fn(UploadTarget) -> SendFut,
        SendFut: std::future::Future<Output = Result<T>>,
    {
        let retry = self.inner.config.retry.clone();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let pooled = pool_key.and_then(|k| self.inner.upload_urls.lock().ok().and_then(|mut p| p.get_mut(k).and_then(Vec::pop)));
            let target = match pooled {
                Some(t) => t,
                None => fresh().await?,
            };
            match send(target.clone()).await {
                Ok(value) => {
                    if let (Some(k), Ok(mut pool)) = (pool_key, self.inner.upload_urls.lock()) {
                        pool.entry(k.to_string()).or_default().push(target);
                    }
                    return Ok(value);
                }
                // An upload URL's own token expired: a new URL, at once.
                Err(e) if e.is_expired_auth() && attempt < retry.attempts => {}
                Err(e) if e.is_retryable() && attempt < retry.attempts => {
                    tokio::time::sleep(retry.delay(attempt, e.retry_after())).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Uploads bytes already in memory as one file.
    pub async fn upload_bytes(&self, bucket_id: &str, name: &str, data: Bytes, metadata: &FileMetadata) -> Result<FileVersion> {
        let sha1 = hex::encode(Sha1::digest(&data));
        self.send_with_upload_urls(
            Some(bucket_id),
            || self.get_upload_url(bucket_id),
            |target| {
                let request =
                    self.upload_request(&target, name, metadata).header("Content-Length", data.len()).header("X-Bz-Content-Sha1", &sha1);
                let data = data.clone();
                async move { Self::answer(request.body(data).send().await?).await }
            },
        )
        .await
    }

    fn upload_request(&self, target: &UploadTarget, name: &str, metadata: &FileMetadata) -> reqwest::RequestBuilder {
        let content_type = if metadata.content_type.is_empty() { "b2/x-auto" } else { &metadata.content_type };
        let mut request = self
            .inner
            .http
            .post(&target.upload_url)
            .header("Authorization", &target.authorization_token)
            .header("X-Bz-File-Name", utf8_percent_encode(name, NAME_SAFE).to_string())
            .header("Content-Type", content_type);
        for (key, value) in &metadata.info {
            request = request.header(format!("X-Bz-Info-{key}"), utf8_percent_encode(value, NAME_SAFE).to_string());
        }
        for (name, value) in &self.inner.config.headers {
            request = request.header(name, value);
        }
        request
    }

    async fn answer<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T> {
        if !response.status().is_success() {
            return Err(Error::from_response(response).await);
        }
        let bytes = response.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode(e.to_string()))
    }

    /// Uploads a local file: one upload up to the large-file threshold, else a large file in parallel parts.
    /// `src_last_modified_millis` is recorded from the file's modification time unless the caller set it.
    pub async fn upload_file(&self, bucket_id: &str, name: &str, path: &Path, options: &UploadOptions) -> Result<FileVersion> {
        let meta = tokio::fs::metadata(path).await?;
        let len = meta.len();
        let mut options = options.clone();
        if !options.metadata.info.contains_key("src_last_modified_millis")
            && let Ok(modified) = meta.modified()
            && let Ok(since) = modified.duration_since(std::time::UNIX_EPOCH)
        {
            options.metadata.info.insert("src_last_modified_millis".into(), since.as_millis().to_string());
        }
        let auth = self.authorization().await?;
        let (part_size, threshold) = self.part_sizes(&auth);
        if len > threshold {
            return self.upload_large(bucket_id, name, path, len, part_size, &options).await;
        }
        let counter = Counter::new(options.progress.clone(), len);
        self.send_with_upload_urls(
            Some(bucket_id),
            || self.get_upload_url(bucket_id),
            |target| {
                let sent = Arc::new(AtomicU64::new(0));
                let body = file_body(path, 0, len, counter.clone(), Arc::new(Mutex::new(None)), sent.clone());
                let request = self
                    .upload_request(&target, name, &options.metadata)
                    .header("Content-Length", len + 40)
                    .header("X-Bz-Content-Sha1", "hex_digits_at_end");
                let counter = counter.clone();
                async move {
                    let outcome = async { Self::answer(request.body(body).send().await?).await }.await;
                    if outcome.is_err() {
                        counter.add(-(sent.load(Ordering::Relaxed) as i64));
                    }
                    outcome
                }
            },
        )
        .await
    }

    /// A large file: the whole file's SHA-1 first (it goes in the file info, as the b2 CLI records it), then
    /// the parts, `part_concurrency` at a time. An unfinished large file of the same name and SHA-1 is
    /// resumed: its parts whose size and SHA-1 match are not sent again.
    async fn upload_large(
        &self,
        bucket_id: &str,
        name: &str,
        path: &Path,
        len: u64,
        part_size: u64,
        options: &UploadOptions,
    ) -> Result<FileVersion> {
        let whole = sha1_of_file(path, 0, len).await?;
        let mut metadata = options.metadata.clone();
        metadata.info.insert("large_file_sha1".into(), whole.clone());
        let count = len.div_ceil(part_size) as u32;
        let counter = Counter::new(options.progress.clone(), len);

        // Resume: an unfinished upload of this very file.
        let mut existing: Vec<Part> = Vec::new();
        let mut large_id = None;
        let unfinished: Vec<FileVersion> = self.list_unfinished_large_files(bucket_id, name).try_collect().await?;
        if let Some(open) = unfinished.into_iter().find(|f| f.file_name == name && f.file_info.get("large_file_sha1") == Some(&whole)) {
            existing = self.list_parts(&open.file_id).try_collect().await?;
            large_id = Some(open.file_id);
        }
        let large_id = match large_id {
            Some(id) => id,
            None => self.start_large_file(bucket_id, name, &metadata).await?.file_id,
        };

        let sha1s: Vec<Mutex<Option<String>>> = (0..count).map(|_| Mutex::new(None)).collect();
        let outcome = futures::stream::iter(1..=count)
            .map(|number| {
                let (existing, sha1s, counter, large_id) = (&existing, &sha1s, counter.clone(), large_id.clone());
                async move {
                    let offset = u64::from(number - 1) * part_size;
                    let part_len = part_size.min(len - offset);
                    if let Some(kept) = existing.iter().find(|p| p.part_number == number && p.content_length == part_len) {
                        let local = sha1_of_file(path, offset, part_len).await?;
                        if local == kept.content_sha1 {
                            counter.add(part_len as i64);
                            *sha1s[number as usize - 1].lock().map_err(|_| Error::Invalid("poisoned".into()))? = Some(local);
                            return Ok(());
                        }
                    }
                    let digest = Arc::new(Mutex::new(None));
                    self.send_with_upload_urls(
                        None,
                        || self.get_upload_part_url(&large_id),
                        |target| {
                            let sent = Arc::new(AtomicU64::new(0));
                            let body = file_body(path, offset, part_len, counter.clone(), digest.clone(), sent.clone());
                            let mut request = self
                                .inner
                                .http
                                .post(&target.upload_url)
                                .header("Authorization", &target.authorization_token)
                                .header("X-Bz-Part-Number", number)
                                .header("Content-Length", part_len + 40)
                                .header("X-Bz-Content-Sha1", "hex_digits_at_end");
                            for (name, value) in &self.inner.config.headers {
                                request = request.header(name, value);
                            }
                            let counter = counter.clone();
                            async move {
                                let outcome: Result<Part> = async { Self::answer(request.body(body).send().await?).await }.await;
                                if outcome.is_err() {
                                    counter.add(-(sent.load(Ordering::Relaxed) as i64));
                                }
                                outcome
                            }
                        },
                    )
                    .await?;
                    let hex = digest.lock().ok().and_then(|d| d.clone()).ok_or_else(|| Error::Invalid("part hashed nothing".into()))?;
                    *sha1s[number as usize - 1].lock().map_err(|_| Error::Invalid("poisoned".into()))? = Some(hex);
                    Ok::<(), Error>(())
                }
            })
            .buffer_unordered(self.inner.config.part_concurrency.max(1))
            .try_collect::<Vec<()>>()
            .await;
        if let Err(e) = outcome {
            if !options.keep_unfinished_on_error {
                let _ = self.cancel_large_file(&large_id).await;
            }
            return Err(e);
        }
        let sha1s: Vec<String> = sha1s.into_iter().map(|m| m.into_inner().ok().flatten().unwrap_or_default()).collect();
        self.finish_large_file(&large_id, &sha1s).await
    }

    /// A copy inside the server of a file of any size: `b2_copy_file` up to 5 GB, else a large file of
    /// `b2_copy_part` ranges (at most 10 000 parts), keeping the whole file's SHA-1 in its file info.
    pub async fn copy(&self, source: &FileVersion, destination_bucket_id: &str, name: &str) -> Result<FileVersion> {
        const MAX_WHOLE: u64 = 5_000_000_000;
        if source.content_length <= MAX_WHOLE {
            return self.copy_file(&source.file_id, name, Some(destination_bucket_id), None).await;
        }
        let auth = self.authorization().await?;
        let part_size = self.part_sizes(&auth).0.max(source.content_length.div_ceil(10_000));
        let mut metadata = FileMetadata { content_type: source.content_type.clone().unwrap_or_default(), info: source.file_info.clone() };
        if let Some(sha1) = source.sha1() {
            metadata.info.entry("large_file_sha1".into()).or_insert_with(|| sha1.to_string());
        }
        let large = self.start_large_file(destination_bucket_id, name, &metadata).await?;
        let mut sha1s = Vec::new();
        for (index, offset) in (0..source.content_length).step_by(part_size as usize).enumerate() {
            let last = (offset + part_size).min(source.content_length) - 1;
            match self.copy_part(&source.file_id, &large.file_id, index as u32 + 1, (offset, last)).await {
                Ok(part) => sha1s.push(part.content_sha1),
                Err(e) => {
                    let _ = self.cancel_large_file(&large.file_id).await;
                    return Err(e);
                }
            }
        }
        self.finish_large_file(&large.file_id, &sha1s).await
    }

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
        let retry = self.inner.config.retry.clone();
        let response = self
            .with_retries(&retry, |auth| {
                let url = url(auth.api_info.storage_api.download_url.trim_end_matches('/'));
                let mut request = self.inner.http.get(url).header("Authorization", &auth.authorization_token);
                if let Some((first, last)) = range {
                    request = request.header("Range", format!("bytes={first}-{last}"));
                }
                for (name, value) in &self.inner.config.headers {
                    request = request.header(name, value);
                }
                async move {
                    let response = request.send().await?;
                    if response.status().is_success() { Ok(response) } else { Err(Error::from_response(response).await) }
                }
            })
            .await?;
        Ok(Download::from_response(response))
    }

    /// Downloads a file into `path` and checks its SHA-1 (`contentSha1`, or `large_file_sha1` for a large
    /// file) at the end: a mismatch is an error and the file is removed. A file larger than one part comes
    /// down in parallel ranges of that version (by its file id, so a newer upload meanwhile cannot mix in),
    /// each written at its offset.
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
            write_at(path, 0, first.body, &counter).await?;
            if first.total.is_some() && total > part {
                let Some(file_id) = file_id else { return Err(Error::Decode("a ranged download named no file id".into())) };
                let ranges: Vec<(u64, u64)> = (part..total).step_by(part as usize).map(|at| (at, (at + part).min(total) - 1)).collect();
                futures::stream::iter(ranges)
                    .map(|range| {
                        let (file_id, counter) = (file_id.clone(), counter.clone());
                        async move {
                            let piece = self.download_by_id(&file_id, Some(range)).await?;
                            write_at(path, range.0, piece.body, &counter).await
                        }
                    })
                    .buffer_unordered(self.inner.config.part_concurrency.max(1))
                    .try_collect::<Vec<()>>()
                    .await?;
            }
            // Durable once, when every range is in (not once per range).
            tokio::fs::OpenOptions::new().write(true).open(path).await?.sync_all().await?;
            let actual = sha1_of_file(path, 0, total).await?;
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

/// Writes a body into `path` from `offset` (the file exists and has its final length).
async fn write_at(
    path: &Path,
    offset: u64,
    mut body: std::pin::Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>,
    counter: &Counter,
) -> Result<()> {
    let mut out = tokio::fs::OpenOptions::new().write(true).open(path).await?;
    out.seek(std::io::SeekFrom::Start(offset)).await?;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        out.write_all(&chunk).await?;
        counter.add(chunk.len() as i64);
    }
    out.flush().await?;
    Ok(())
}

/// A download on its way: what the headers say of the file, and its bytes.
pub struct Download {
    pub file_id: Option<String>,
    pub content_type: Option<String>,
    /// The bytes this answer holds (the range's, for a ranged read).
    pub length: u64,
    /// The whole file's size, for a ranged read the server answered as one (`Content-Range`).
    pub total: Option<u64>,
    /// The whole file's SHA-1 when known (`X-Bz-Content-Sha1`, or `large_file_sha1` for a large file).
    pub sha1: Option<String>,
    pub body: std::pin::Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>,
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
