use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};

use super::Stowage;
use super::files::EncryptionRequest;
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::model::{Action, Bucket, BucketType, Content, FileVersion};
use crate::sealing::{self, BlobKey};
use crate::store::{BlobStore, ByteStream};

/// A stretch of one blob to read: `offset` and `len` are in plaintext bytes; `key` is set for sealed blobs.
struct BlobPiece {
    blob_id: String,
    blob_size: u64,
    offset: u64,
    len: u64,
    key: Option<BlobKey>,
}

/// A single `Range: bytes=` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `a-b`, inclusive.
    Bounded(u64, u64),
    /// `a-`.
    From(u64),
    /// `-n`: the last n bytes.
    Suffix(u64),
}

impl ByteRange {
    /// Parses `bytes=a-b`; `None` for anything malformed or multi-range (which is then ignored, as B2 does).
    pub fn parse(header: &str) -> Option<Self> {
        let spec = header.trim().strip_prefix("bytes=")?.trim();
        if spec.contains(',') {
            return None;
        }
        let (start, end) = spec.split_once('-')?;
        let (start, end) = (start.trim(), end.trim());
        match (start.is_empty(), end.is_empty()) {
            (true, false) => end.parse().ok().map(ByteRange::Suffix),
            (false, true) => start.parse().ok().map(ByteRange::From),
            (false, false) => {
                let (a, b) = (start.parse().ok()?, end.parse().ok()?);
                (a <= b).then_some(ByteRange::Bounded(a, b))
            }
            (true, true) => None,
        }
    }

    /// (offset, length) within a body of `size` bytes.
    pub fn resolve(self, size: u64) -> Result<(u64, u64)> {
        let (start, end) = match self {
            ByteRange::Bounded(a, b) => (a, b.min(size.saturating_sub(1))),
            ByteRange::From(a) => (a, size.saturating_sub(1)),
            ByteRange::Suffix(0) => return Err(Error::RangeNotSatisfiable),
            ByteRange::Suffix(n) => (size.saturating_sub(n), size.saturating_sub(1)),
        };
        if size == 0 || start >= size {
            return Err(Error::RangeNotSatisfiable);
        }
        Ok((start, end - start + 1))
    }
}

/// A version about to be streamed to a client.
pub struct Download {
    pub version: FileVersion,
    pub bucket: Bucket,
    /// (offset, length) when a satisfiable range was asked for.
    pub range: Option<(u64, u64)>,
    pub body: ByteStream,
}

fn empty() -> ByteStream {
    Box::pin(futures::stream::empty())
}

impl Stowage {
    /// Streams `len` plaintext bytes of one blob from `offset`, opening it if it is sealed.
    async fn read_blob(blobs: Arc<dyn BlobStore>, piece: BlobPiece) -> Result<ByteStream> {
        match piece.key {
            None => blobs.get(&piece.blob_id, piece.offset, piece.len).await,
            Some(key) => {
                let (at, n, first, skip) = sealing::sealed_range(piece.offset, piece.len, piece.blob_size);
                let sealed = blobs.get(&piece.blob_id, at, n).await?;
                Ok(sealing::open(sealed, key, first, skip, piece.len))
            }
        }
    }

    /// Streams `len` bytes of a version from `offset`, across its parts if it has several. SSE-C versions
    /// need the customer's key.
    pub(crate) async fn read_content(
        &self,
        version: &FileVersion,
        offset: u64,
        len: u64,
        customer_key: Option<&[u8]>,
    ) -> Result<ByteStream> {
        if len == 0 {
            return Ok(empty());
        }
        let blobs: Vec<(String, u64, Option<String>)> = match &version.content {
            Content::Empty => return Ok(empty()),
            Content::Blob { id, salt } => vec![(id.clone(), version.size, salt.clone())],
            Content::Parts(parts) => parts.iter().map(|p| (p.blob_id.clone(), p.size, p.salt.clone())).collect(),
        };
        let mut pieces = Vec::new();
        let (mut blob_start, end) = (0u64, offset + len);
        for (blob_id, blob_size, salt) in blobs {
            let blob_end = blob_start + blob_size;
            if blob_end > offset && blob_start < end {
                let from = offset.max(blob_start);
                let to = end.min(blob_end);
                let key = match salt {
                    Some(s) => Some(self.blob_key(&version.encryption, &s, customer_key).await?),
                    None => None,
                };
                pieces.push(BlobPiece { blob_id, blob_size, offset: from - blob_start, len: to - from, key });
            }
            blob_start = blob_end;
        }
        if pieces.len() == 1
            && let Some(piece) = pieces.pop()
        {
            return Self::read_blob(self.blobs.clone(), piece).await;
        }
        let blobs = self.blobs.clone();
        let stream = futures::stream::iter(pieces)
            .then(move |piece| {
                let blobs = blobs.clone();
                async move { Self::read_blob(blobs, piece).await.map_err(|e| std::io::Error::other(e.to_string())) }
            })
            .try_flatten();
        Ok(Box::pin(stream))
    }

    /// The B2 download paths: an SSE-C version's key is checked whenever bytes are read or a key was sent.
    /// A `HEAD` without one answers the file's headers, as B2 does (b2sdk's `get_file_info_by_name` and `b2
    /// file info` send none); S3's HeadObject checks the key like a GET (`open_object`).
    async fn open_b2(
        &self,
        version: FileVersion,
        bucket: Bucket,
        range: Option<ByteRange>,
        sse: Option<&EncryptionRequest>,
        with_body: bool,
    ) -> Result<Download> {
        if with_body || sse.is_some() {
            self.check_sse_c(&version, sse)?;
        }
        self.open(version, bucket, range, sse, with_body).await
    }

    /// Opens a version for reading, its SSE-C key already checked by the caller.
    pub(crate) async fn open(
        &self,
        version: FileVersion,
        bucket: Bucket,
        range: Option<ByteRange>,
        sse: Option<&EncryptionRequest>,
        with_body: bool,
    ) -> Result<Download> {
        let range = range.map(|r| r.resolve(version.size)).transpose()?;
        let (offset, len) = range.unwrap_or((0, version.size));
        let customer_key = sse.and_then(EncryptionRequest::customer_key);
        let body = if with_body { self.read_content(&version, offset, len, customer_key.as_deref()).await? } else { empty() };
        Ok(Download { version, bucket, range, body })
    }

    /// Download by file id; `principal` is None for an anonymous request (public buckets only).
    pub async fn download_by_id(
        &self,
        principal: Option<&Principal>,
        file_id: &str,
        range: Option<ByteRange>,
        sse: Option<&EncryptionRequest>,
        with_body: bool,
    ) -> Result<Download> {
        let not_found = || Error::FileNotFound(format!("File with such id does not exist: {file_id}"));
        let version = self.meta.get_version(file_id).await?.filter(|v| v.action == Action::Upload).ok_or_else(not_found)?;
        let bucket = self.bucket(&version.bucket_id).await?;
        if bucket.bucket_type != BucketType::AllPublic {
            let principal = principal.ok_or_else(|| Error::unauthorized("this bucket is private: an authorization token is required"))?;
            principal.authorize(crate::auth::Capability::ReadFiles, Some(&bucket.id), crate::auth::NameScope::File(&version.name))?;
        }
        self.open_b2(version, bucket, range, sse, with_body).await
    }

    /// Download of the newest visible version of a name.
    pub async fn download_by_name(
        &self,
        principal: Option<&Principal>,
        bucket_name: &str,
        name: &str,
        range: Option<ByteRange>,
        sse: Option<&EncryptionRequest>,
        with_body: bool,
    ) -> Result<Download> {
        let bucket = self
            .meta
            .get_bucket_by_name(bucket_name)
            .await?
            .ok_or_else(|| Error::FileNotFound(format!("Bucket does not exist: {bucket_name}")))?;
        if bucket.bucket_type != BucketType::AllPublic {
            let principal = principal.ok_or_else(|| Error::unauthorized("this bucket is private: an authorization token is required"))?;
            principal.authorize_download(&bucket.id, name)?;
        }
        let version = self
            .meta
            .latest_version(&bucket.id, name)
            .await?
            .filter(|v| v.action == Action::Upload)
            .ok_or_else(|| Error::FileNotFound(format!("File not present: {name}")))?;
        self.open_b2(version, bucket, range, sse, with_body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(ByteRange::parse("bytes=0-9"), Some(ByteRange::Bounded(0, 9)));
        assert_eq!(ByteRange::parse("bytes=5-"), Some(ByteRange::From(5)));
        assert_eq!(ByteRange::parse("bytes=-3"), Some(ByteRange::Suffix(3)));
        assert_eq!(ByteRange::parse("bytes=9-0"), None);
        assert_eq!(ByteRange::parse("bytes=0-1,3-4"), None);
        assert_eq!(ByteRange::parse("items=0-1"), None);
        assert_eq!(ByteRange::Bounded(0, 99).resolve(10), Ok((0, 10)));
        assert_eq!(ByteRange::Suffix(3).resolve(10), Ok((7, 3)));
        assert_eq!(ByteRange::Suffix(30).resolve(10), Ok((0, 10)));
        assert_eq!(ByteRange::From(10).resolve(10), Err(Error::RangeNotSatisfiable));
        assert_eq!(ByteRange::From(0).resolve(0), Err(Error::RangeNotSatisfiable));
    }
}
