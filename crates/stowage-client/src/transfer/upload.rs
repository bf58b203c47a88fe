//! Uploads and server-side copies. A file goes up read by offset and hashed as it is sent; above the
//! large-file threshold it goes up in parallel parts, resumes from the parts already on the server, and
//! records `large_file_sha1` as the b2 CLI does. A reader goes up a part at a time.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::{Digest, Sha1};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt};

use super::{Counter, Progress, sha1_of_file};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::types::{Authorization, FileMetadata, FileVersion, Part, UploadTarget};

/// How a file goes up besides its bytes.
#[derive(Clone, Default)]
pub struct UploadOptions {
    /// Content type and file info.
    pub metadata: FileMetadata,
    /// Called as bytes go out (a failed attempt's bytes are taken back before it is tried again).
    pub progress: Option<Progress>,
    /// Leave a large file that failed unfinished (for a later resume) instead of canceling it.
    pub keep_unfinished_on_error: bool,
}

/// What B2 leaves unescaped in `X-Bz-File-Name` and `X-Bz-Info-*`: `/` and the unreserved characters.
pub(crate) const NAME_SAFE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

/// `len` bytes of a file from `offset`, hashed as they are read, followed by their 40 hex digits (which
/// also go to `digest`). `sent` counts what went out this attempt (so a retry can take it back from the
/// progress).
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

/// Where one upload's bytes come from, for each attempt.
enum Source<'a> {
    /// Bytes in memory, with their SHA-1.
    Memory { data: Bytes, sha1: String },
    /// A range of a file, hashed as it is read.
    File { path: &'a Path, offset: u64, len: u64 },
}

impl Source<'_> {
    fn memory(data: Bytes) -> Self {
        let sha1 = hex::encode(Sha1::digest(&data));
        Source::Memory { data, sha1 }
    }

    fn len(&self) -> u64 {
        match self {
            Source::Memory { data, .. } => data.len() as u64,
            Source::File { len, .. } => *len,
        }
    }
}

/// The upload URL pool's key for the parts of a large file.
fn part_pool(large_file_id: &str) -> String {
    format!("large:{large_file_id}")
}

impl Client {
    /// The part size and the large-file threshold: the client's, else the account's recommended part size
    /// (never below its absolute minimum).
    pub(crate) fn part_sizes(&self, auth: &Authorization) -> (u64, u64) {
        let storage = &auth.api_info.storage_api;
        let part = self.inner.config.part_size.unwrap_or(storage.recommended_part_size).max(storage.absolute_minimum_part_size);
        let threshold = self.inner.config.large_file_threshold.unwrap_or(storage.recommended_part_size);
        (part, threshold)
    }

    /// Sends one upload (a whole file or a part) under B2's model: each attempt takes an upload URL (a
    /// pooled one, or a new one from `fresh`), a retryable failure drops that URL and tries again on a new
    /// one after a back-off, and a URL that worked goes back to the pool.
    async fn send_with_upload_urls<T, Fresh, FreshFut, Send_, SendFut>(&self, pool_key: &str, fresh: Fresh, send: Send_) -> Result<T>
    where
        Fresh: Fn() -> FreshFut,
        FreshFut: std::future::Future<Output = Result<UploadTarget>>,
        Send_: Fn(UploadTarget) -> SendFut,
        SendFut: std::future::Future<Output = Result<T>>,
    {
        let retry = self.retry_policy();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let pooled = self.inner.upload_urls.lock().ok().and_then(|mut p| p.get_mut(pool_key).and_then(Vec::pop));
            let target = match pooled {
                Some(t) => t,
                None => fresh().await?,
            };
            match send(target.clone()).await {
                Ok(value) => {
                    if let Ok(mut pool) = self.inner.upload_urls.lock() {
                        pool.entry(pool_key.to_string()).or_default().push(target);
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

    /// Forgets the upload URLs of a large file that is finished or canceled.
    pub(crate) fn drop_part_urls(&self, large_file_id: &str) {
        if let Ok(mut pool) = self.inner.upload_urls.lock() {
            pool.remove(&part_pool(large_file_id));
        }
    }

    /// One request with `source`'s bytes (SHA-1 in the header, or `hex_digits_at_end` for a file range),
    /// its progress taken back if it fails; answers the part's or file's JSON.
    async fn send_source<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        source: &Source<'_>,
        counter: &Arc<Counter>,
        digest: &Arc<Mutex<Option<String>>>,
    ) -> Result<T> {
        let sent = Arc::new(AtomicU64::new(0));
        let request = match source {
            Source::Memory { data, sha1 } => {
                sent.store(data.len() as u64, Ordering::Relaxed);
                counter.add(data.len() as i64);
                if let Ok(mut d) = digest.lock() {
                    *d = Some(sha1.clone());
                }
                request.header("Content-Length", data.len()).header("X-Bz-Content-Sha1", sha1).body(data.clone())
            }
            Source::File { path, offset, len } => request
                .header("Content-Length", len + 40)
                .header("X-Bz-Content-Sha1", "hex_digits_at_end")
                .body(file_body(path, *offset, *len, counter.clone(), digest.clone(), sent.clone())),
        };
        let outcome = async { Self::answer(self.dress(request).send().await?).await }.await;
        if outcome.is_err() {
            counter.add(-(sent.load(Ordering::Relaxed) as i64));
        }
        outcome
    }

    /// Uploads bytes already in memory as one file (up to 5 GB; B2's limit for one upload).
    pub async fn upload_bytes(&self, bucket_id: &str, name: &str, data: Bytes, metadata: &FileMetadata) -> Result<FileVersion> {
        let source = Source::memory(data);
        let counter = Counter::new(None, source.len());
        self.upload_one(bucket_id, name, &source, metadata, &counter).await
    }

    /// One `b2_upload_file` of `source`, on a pooled upload URL of the bucket.
    async fn upload_one(
        &self,
        bucket_id: &str,
        name: &str,
        source: &Source<'_>,
        metadata: &FileMetadata,
        counter: &Arc<Counter>,
    ) -> Result<FileVersion> {
        let digest = Arc::new(Mutex::new(None));
        self.send_with_upload_urls(
            bucket_id,
            || self.get_upload_url(bucket_id),
            |target| {
                let request = self.upload_request(&target, name, metadata);
                let digest = digest.clone();
                async move { self.send_source(request, source, counter, &digest).await }
            },
        )
        .await
    }

    /// `b2_upload_part`: `data` as part `number` (from 1) of the unfinished large file `large_file_id`, on a
    /// pooled upload URL of that file, retried under B2's model. Parts may go up in parallel; finish with
    /// [`Client::finish_large_file`] and the parts' SHA-1s in order.
    pub async fn upload_part(&self, large_file_id: &str, number: u32, data: Bytes) -> Result<Part> {
        let source = Source::memory(data);
        let counter = Counter::new(None, source.len());
        self.upload_part_from(large_file_id, number, &source, &counter).await.map(|(part, _)| part)
    }

    /// One part from `source`; answers the part and its SHA-1 as sent.
    async fn upload_part_from(
        &self,
        large_file_id: &str,
        number: u32,
        source: &Source<'_>,
        counter: &Arc<Counter>,
    ) -> Result<(Part, String)> {
        let digest = Arc::new(Mutex::new(None));
        let part: Part = self
            .send_with_upload_urls(
                &part_pool(large_file_id),
                || self.get_upload_part_url(large_file_id),
                |target| {
                    let request = self
                        .inner
                        .http
                        .post(&target.upload_url)
                        .header("Authorization", &target.authorization_token)
                        .header("X-Bz-Part-Number", number);
                    let digest = digest.clone();
                    async move { self.send_source(request, source, counter, &digest).await }
                },
            )
            .await?;
        let sha1 = digest.lock().ok().and_then(|d| d.clone()).ok_or_else(|| Error::Invalid("the part hashed nothing".into()))?;
        Ok((part, sha1))
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
        let counter = Counter::new(options.progress.clone(), len);
        if len > threshold {
            return self.upload_large_file(bucket_id, name, path, len, part_size, &options, &counter).await;
        }
        self.upload_one(bucket_id, name, &Source::File { path, offset: 0, len }, &options.metadata, &counter).await
    }

    /// A large file: the whole file's SHA-1 first (it goes in the file info, as the b2 CLI records it), then
    /// the parts, `part_concurrency` at a time. An unfinished large file of the same name and SHA-1 is
    /// resumed: its parts whose size and SHA-1 match are not sent again.
    #[allow(clippy::too_many_arguments)]
    async fn upload_large_file(
        &self,
        bucket_id: &str,
        name: &str,
        path: &Path,
        len: u64,
        part_size: u64,
        options: &UploadOptions,
        counter: &Arc<Counter>,
    ) -> Result<FileVersion> {
        let whole = sha1_of_file(path, 0, len).await?;
        let mut metadata = options.metadata.clone();
        metadata.info.insert("large_file_sha1".into(), whole.clone());
        let count = len.div_ceil(part_size) as u32;

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

        let outcome = futures::stream::iter(1..=count)
            .map(|number| {
                let (existing, large_id) = (&existing, &large_id);
                async move {
                    let offset = u64::from(number - 1) * part_size;
                    let len = part_size.min(len - offset);
                    if let Some(kept) = existing.iter().find(|p| p.part_number == number && p.content_length == len) {
                        let local = sha1_of_file(path, offset, len).await?;
                        if local == kept.content_sha1 {
                            counter.add(len as i64);
                            return Ok(local);
                        }
                    }
                    let source = Source::File { path, offset, len };
                    Ok::<_, Error>(self.upload_part_from(large_id, number, &source, counter).await?.1)
                }
            })
            .buffered(self.inner.config.part_concurrency.max(1))
            .try_collect::<Vec<String>>()
            .await;
        self.finish_or_cancel(&large_id, outcome, options.keep_unfinished_on_error).await
    }

    /// Finishes a large file whose parts all went up, or cancels it (unless asked to keep it) when one failed.
    async fn finish_or_cancel(&self, large_id: &str, parts: Result<Vec<String>>, keep_on_error: bool) -> Result<FileVersion> {
        match parts {
            Ok(sha1s) => self.finish_large_file(large_id, &sha1s).await,
            Err(e) => {
                if !keep_on_error {
                    let _ = self.cancel_large_file(large_id).await;
                }
                self.drop_part_urls(large_id);
                Err(e)
            }
        }
    }

    /// Uploads what `reader` yields, of any length, never holding more than a part per parallel upload:
    /// what fits under the large-file threshold goes up as one file, anything longer as a large file whose
    /// parts go up as they are read, `part_concurrency` at a time. Each part is kept in memory until it is
    /// stored, so a failed attempt is sent again from there. A large file from a reader has no
    /// `large_file_sha1` (its hash is only known at the end, after the file info is fixed); each part's
    /// SHA-1 is still checked by the server. Progress totals are 0: the length is not known ahead.
    pub async fn upload_reader<R>(&self, bucket_id: &str, name: &str, mut reader: R, options: &UploadOptions) -> Result<FileVersion>
    where
        R: AsyncRead + Unpin + Send,
    {
        let auth = self.authorization().await?;
        let (part_size, threshold) = self.part_sizes(&auth);
        let counter = Counter::new(options.progress.clone(), 0);
        // Up to the threshold plus one byte tells whether this is a large file.
        let first = read_up_to(&mut reader, &[], threshold.saturating_add(1)).await?;
        if first.len() as u64 <= threshold {
            return self.upload_one(bucket_id, name, &Source::memory(first), &options.metadata, &counter).await;
        }
        let large_id = self.start_large_file(bucket_id, name, &options.metadata).await?.file_id;
        // The bytes read so far, then the rest of the reader, cut into parts.
        let parts = futures::stream::try_unfold((first, reader, 0u32), move |(mut pending, mut reader, number)| async move {
            if (pending.len() as u64) < part_size {
                // Only the short leftover of the last read is copied; the rest is read in place.
                pending = read_up_to(&mut reader, &pending, part_size).await?;
            }
            if pending.is_empty() {
                return Ok::<_, Error>(None);
            }
            let cut = pending.len().min(part_size as usize);
            let part = pending.split_to(cut);
            Ok(Some(((number + 1, part), (pending, reader, number + 1))))
        });
        let outcome = parts
            .map_ok(|(number, data)| {
                let (large_id, counter) = (&large_id, &counter);
                async move { Ok::<_, Error>(self.upload_part_from(large_id, number, &Source::memory(data), counter).await?.1) }
            })
            .try_buffered(self.inner.config.part_concurrency.max(1))
            .try_collect::<Vec<String>>()
            .await;
        self.finish_or_cancel(&large_id, outcome, options.keep_unfinished_on_error).await
    }

    /// A copy inside the server of a file of any size: `b2_copy_file` up to 5 GB (or up to the large-file
    /// threshold, when the configuration sets one), else a large file of `b2_copy_part` ranges (at most
    /// 10 000 parts, `part_concurrency` at a time), keeping the whole file's SHA-1 in its file info.
    pub async fn copy(&self, source: &FileVersion, destination_bucket_id: &str, name: &str) -> Result<FileVersion> {
        self.copy_with_progress(source, destination_bucket_id, name, None).await
    }

    /// [`Client::copy`], reporting bytes copied: the whole file when `b2_copy_file` answers, or each part
    /// as it is stored.
    pub async fn copy_with_progress(
        &self,
        source: &FileVersion,
        destination_bucket_id: &str,
        name: &str,
        progress: Option<Progress>,
    ) -> Result<FileVersion> {
        const MAX_WHOLE: u64 = 5_000_000_000;
        let counter = Counter::new(progress, source.content_length);
        // A large-file threshold the caller set also applies to copies (parts copy in parallel).
        let whole_limit = self.inner.config.large_file_threshold.map_or(MAX_WHOLE, |t| t.min(MAX_WHOLE));
        if source.content_length <= whole_limit {
            let copied = self.copy_file(&source.file_id, name, Some(destination_bucket_id), None).await?;
            counter.add(copied.content_length as i64);
            return Ok(copied);
        }
        let auth = self.authorization().await?;
        let part_size = self.part_sizes(&auth).0.max(source.content_length.div_ceil(10_000));
        let mut metadata = FileMetadata { content_type: source.content_type.clone().unwrap_or_default(), info: source.file_info.clone() };
        if let Some(sha1) = source.sha1() {
            metadata.info.entry("large_file_sha1".into()).or_insert_with(|| sha1.to_string());
        }
        let large = self.start_large_file(destination_bucket_id, name, &metadata).await?;
        let ranges: Vec<(u64, u64)> = (0..source.content_length)
            .step_by(part_size as usize)
            .map(|at| (at, (at + part_size).min(source.content_length) - 1))
            .collect();
        let outcome = futures::stream::iter(ranges.into_iter().enumerate())
            .map(|(index, range)| {
                let (large_id, counter) = (&large.file_id, &counter);
                async move {
                    let part = self.copy_part(&source.file_id, large_id, index as u32 + 1, range).await?;
                    counter.add(part.content_length as i64);
                    Ok::<_, Error>(part.content_sha1)
                }
            })
            .buffered(self.inner.config.part_concurrency.max(1))
            .try_collect::<Vec<String>>()
            .await;
        self.finish_or_cancel(&large.file_id, outcome, false).await
    }
}

/// `start` followed by what `reader` yields, until `limit` bytes in all or the end of `reader`.
async fn read_up_to<R: AsyncRead + Unpin>(reader: &mut R, start: &[u8], limit: u64) -> Result<Bytes> {
    let mut buf = Vec::with_capacity(limit.min(8 << 20) as usize);
    buf.extend_from_slice(start);
    (&mut *reader).take(limit.saturating_sub(start.len() as u64)).read_to_end(&mut buf).await?;
    Ok(Bytes::from(buf))
}
