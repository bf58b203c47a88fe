//! Uploads of whole files (`b2_upload_file`, S3 PutObject and form uploads): the body streamed into a
//! durable blob while it is hashed (and sealed when encrypted), checked against what the client claimed,
//! then committed as a new version.

use super::files::EncryptionRequest;
use super::files::{NewBody, NewFile};
use super::{MAX_SIMPLE_FILE, Stowage, random_hex};
use crate::auth::{Capability, NameScope, Principal, TokenScope};
use crate::error::{Error, Result};
use crate::events::EventType;
use crate::hashing::{Digests, hashing, hold_back_tail};
use crate::model::{Action, Checksums, Content, Encryption, FileVersion, Millis};
use crate::sealing::BlobKey;
use crate::store::ByteStream;

/// How the client vouches for an upload's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sha1Check {
    /// The SHA-1 (40 hex digits) the body must have.
    Hex(String),
    /// The body ends with the 40 hex digits of the SHA-1 of what precedes them.
    AtEnd,
    /// No check; the stored SHA-1 is marked `unverified:`.
    DoNotVerify,
    /// No claim to check (S3 uploads): the computed SHA-1 is stored as it is.
    Compute,
}

impl Sha1Check {
    pub fn parse(header: &str) -> Result<Self> {
        match header {
            "hex_digits_at_end" => Ok(Sha1Check::AtEnd),
            "do_not_verify" => Ok(Sha1Check::DoNotVerify),
            hex if hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(Sha1Check::Hex(hex.to_ascii_lowercase())),
            other => Err(Error::invalid(format!("Invalid X-Bz-Content-Sha1: {other:?}"))),
        }
    }
}

/// A front-end's own check of a body, run after the body is stored and before the version is committed
/// (S3 checksums, whose trailing values are only known once the body has been read).
pub type BodyCheck = Box<dyn FnOnce() -> Result<Checksums> + Send>;

/// Most of a refused upload's body read and dropped before answering, and for how long: most HTTP clients
/// cannot read an answer while they are still sending, so a small body is taken in full first.
const DRAIN_REFUSED_BYTES: u64 = 8 << 20;

const DRAIN_REFUSED_FOR: std::time::Duration = std::time::Duration::from_secs(5);

async fn drain_refused(mut body: ByteStream) {
    use futures::StreamExt;
    let _ = tokio::time::timeout(DRAIN_REFUSED_FOR, async {
        let mut read = 0u64;
        while read < DRAIN_REFUSED_BYTES {
            match body.next().await {
                Some(Ok(chunk)) => read += chunk.len() as u64,
                _ => break,
            }
        }
    })
    .await;
}

pub const UPLOAD_TOKEN_TTL: Millis = 24 * 3600 * 1000;

/// Body bytes expected from a Content-Length (less the 40 trailing digits of `hex_digits_at_end`).
pub(crate) fn expected_body_len(content_length: Option<u64>, at_end: bool) -> Result<Option<u64>> {
    let len = match (content_length, at_end) {
        (Some(n), true) => Some(n.checked_sub(40).ok_or_else(|| Error::invalid("Content-Length is too small for hex_digits_at_end"))?),
        (None, true) => return Err(Error::invalid("hex_digits_at_end needs a Content-Length")),
        (n, false) => n,
    };
    if len.is_some_and(|n| n > MAX_SIMPLE_FILE) {
        return Err(Error::invalid(format!("A file or part may be at most {MAX_SIMPLE_FILE} bytes; upload larger files in parts")));
    }
    Ok(len)
}

/// A body just made durable in the blob store.
pub(crate) struct StoredBlob {
    pub id: String,
    pub digests: Digests,
    /// The SHA-1 a `hex_digits_at_end` body ended with.
    pub claimed_sha1: Option<String>,
    /// Set when the blob is sealed.
    pub salt: Option<String>,
}

impl Stowage {
    /// The key of one blob of a version encrypted this way (`salt` is the blob's, hex).
    pub(crate) async fn blob_key(&self, encryption: &Encryption, salt: &str, customer_key: Option<&[u8]>) -> Result<BlobKey> {
        let salt = hex::decode(salt).map_err(|_| Error::internal("stored salt is not hex"))?;
        match encryption {
            Encryption::SseB2 | Encryption::None => Ok(BlobKey::derive(&self.config.master_key.0, "sse-b2", &salt)),
            Encryption::SseKms { key_id } => Ok(BlobKey::derive(&self.kms_material(key_id).await?, "sse-kms", &salt)),
            Encryption::SseC { .. } => {
                let key = customer_key
                    .ok_or_else(|| Error::Forbidden("this file is encrypted with SSE-C: the customer key is required".into()))?;
                Ok(BlobKey::derive(key, "sse-c", &salt))
            }
        }
    }

    /// Streams a body into a new durable blob, hashing the plaintext on the way and sealing it when the
    /// version is encrypted (SSE-C needs the customer's key in `sse`); with `sha1_at_end` the last 40 bytes
    /// are held back and returned as the claimed SHA-1.
    pub(crate) async fn store_blob(
        &self,
        body: ByteStream,
        sha1_at_end: bool,
        encryption: &Encryption,
        sse: Option<&EncryptionRequest>,
        expected_len: Option<u64>,
    ) -> Result<StoredBlob> {
        // Held until the blob is on disk, where free space readings see it.
        let _admission = match self.capacity.admit(expected_len) {
            Ok(admission) => admission,
            Err(refusal) => {
                drain_refused(body).await;
                return Err(refusal);
            }
        };
        let body = crate::hashing::stall_limited(body, self.config.body_idle_timeout);
        let sealing = if *encryption == Encryption::None {
            None
        } else {
            let salt = random_hex(16);
            let customer_key = sse.and_then(EncryptionRequest::customer_key);
            Some((self.blob_key(encryption, &salt, customer_key.as_deref()).await?, salt))
        };
        let (body, trailer) = if sha1_at_end {
            let (stream, handle) = hold_back_tail(body, 40);
            (stream, Some(handle))
        } else {
            (body, None)
        };
        let (body, digests) = hashing(body);
        let (body, salt) = match sealing {
            Some((key, salt)) => (crate::sealing::seal(body, key), Some(salt)),
            None => (body, None),
        };
        let (id, _len) = self.note_full(self.blobs.put(body).await)?;
        let digests = digests.finish().ok_or_else(|| Error::internal("digest state lost"))?;
        let claimed_sha1 = trailer.map(|t| String::from_utf8_lossy(&t.take()).to_ascii_lowercase());
        Ok(StoredBlob { id, digests, claimed_sha1, salt })
    }

    /// Checks a stored body against the length and MD5 the client announced; deletes the blob if it fails.
    pub(crate) async fn check_body(
        &self,
        blob_id: &str,
        digests: &Digests,
        body_len: Option<u64>,
        expected_md5: Option<&str>,
        body_check: Option<BodyCheck>,
    ) -> Result<Checksums> {
        let outcome = if body_len.is_some_and(|n| n != digests.len) || digests.len > MAX_SIMPLE_FILE {
            Err(Error::invalid(format!("the body received ({} bytes) does not match Content-Length or exceeds 5 GB", digests.len)))
        } else if expected_md5.is_some_and(|md5| !md5.eq_ignore_ascii_case(&digests.md5_hex)) {
            Err(Error::BadDigest("Content-MD5 did not match the data received".into()))
        } else {
            body_check.map_or_else(|| Ok(Checksums::new()), |check| check())
        };
        if outcome.is_err() {
            self.blobs.delete(blob_id).await?;
        }
        outcome
    }

    /// Checks the SHA-1 a client claimed; returns what to store as `contentSha1`.
    pub(crate) async fn verify_sha1(
        &self,
        blob_id: &str,
        digests: &Digests,
        check: &Sha1Check,
        claimed_at_end: Option<String>,
    ) -> Result<String> {
        let expected = match check {
            Sha1Check::DoNotVerify => return Ok(format!("unverified:{}", digests.sha1_hex)),
            Sha1Check::Compute => return Ok(digests.sha1_hex.clone()),
            Sha1Check::Hex(hex) => hex.clone(),
            Sha1Check::AtEnd => claimed_at_end.unwrap_or_default(),
        };
        if expected != digests.sha1_hex {
            self.blobs.delete(blob_id).await?;
            return Err(Error::ChecksumMismatch);
        }
        Ok(digests.sha1_hex.clone())
    }

    pub async fn get_upload_url(&self, principal: &Principal, bucket_id: &str) -> Result<String> {
        principal.authorize(Capability::WriteFiles, Some(bucket_id), NameScope::None)?;
        self.bucket(bucket_id).await?;
        Ok(self.mint(principal, TokenScope::Upload { b: bucket_id.to_string() }, UPLOAD_TOKEN_TTL))
    }

    /// `b2_upload_file` and S3 PutObject: stores a new version. `content_length` includes the 40 digits of
    /// `hex_digits_at_end`; it may be unknown only for S3 streaming uploads.
    pub async fn upload_file(
        &self,
        principal: &Principal,
        mut req: NewFile,
        sha1: Sha1Check,
        content_length: Option<u64>,
        body: ByteStream,
        body_check: Option<BodyCheck>,
    ) -> Result<FileVersion> {
        principal.authorize_upload(&req.bucket_id, &req.name)?;
        let bucket = self.bucket(&req.bucket_id).await?;
        let prepared = self.prepare_new_file(&bucket, &req, self.now())?;
        let at_end = sha1 == Sha1Check::AtEnd;
        let body_len = expected_body_len(content_length, at_end)?;
        let StoredBlob { id: blob_id, digests, claimed_sha1: claimed, salt } =
            self.store_blob(body, at_end, &prepared.encryption, req.encryption.as_ref(), content_length).await?;
        let checksums = self.check_body(&blob_id, &digests, body_len, req.expected_md5.as_deref(), body_check).await?;
        let sha1 = self.verify_sha1(&blob_id, &digests, &sha1, claimed).await?;
        let condition = req.condition.take();
        let body = NewBody {
            size: digests.len,
            sha1: Some(sha1),
            md5: Some(digests.md5_hex),
            content: Content::Blob { id: blob_id, salt },
            checksums,
        };
        let version = self.new_version(req, prepared, Action::Upload, body);
        self.commit_new_version(&version, condition).await?;
        self.emit(EventType::Upload, &version).await;
        Ok(version)
    }
}
