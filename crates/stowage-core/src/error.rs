//! The core's one error type. Each protocol front-end maps it to its wire shape in one place.

use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// A request field or header is malformed or out of its allowed set.
    #[error("{0}")]
    InvalidArgument(String),
    /// A request body could not be parsed at all.
    #[error("{0}")]
    MalformedBody(String),
    #[error("{0}")]
    InvalidBucketName(String),
    #[error("Bucket name is already in use: {0}")]
    DuplicateBucketName(String),
    #[error("Too many buckets: at most {0} per account")]
    TooManyBuckets(usize),
    #[error("Invalid bucketId: {0}")]
    BucketNotFound(String),
    #[error("Cannot delete non-empty bucket")]
    BucketNotEmpty,
    /// A file (version) that a read addressed does not exist.
    #[error("{0}")]
    FileNotFound(String),
    /// The id/name pair of a delete does not name an existing version.
    #[error("File not present: {0}")]
    FileNotPresent(String),
    #[error("File not present: {0}")]
    NoSuchFile(String),
    #[error("File already hidden: {0}")]
    AlreadyHidden(String),
    #[error("{0}")]
    OutOfRange(String),
    #[error("Invalid fileId: {0}")]
    InvalidFileId(String),
    #[error("{0}")]
    MissingPart(String),
    /// No unfinished large file (multipart upload) with that id.
    #[error("{0}")]
    NoSuchUpload(String),
    /// A completed multipart upload names a part that was not uploaded, or with another ETag.
    #[error("{0}")]
    InvalidPart(String),
    #[error("{0}")]
    InvalidPartOrder(String),
    #[error("Sha1 did not match data received")]
    ChecksumMismatch,
    /// A Content-MD5 or checksum the client sent does not match the body.
    #[error("{0}")]
    BadDigest(String),
    #[error("{0}")]
    EntityTooSmall(String),
    #[error("Copy source too big: {0}")]
    SourceTooLarge(u64),
    #[error("The requested range is not satisfiable")]
    RangeNotSatisfiable,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    FileLockConflict(String),
    /// An SSE-C object read without its key, with another key, or SSE-C headers on an object stored
    /// without them.
    #[error("{0}")]
    SseCKey(String),
    /// Retention, legal hold or a default retention asked of a bucket without file lock.
    #[error("{0}")]
    BucketMissingFileLock(String),
    /// A retention whose retain-until time is not in the future.
    #[error("{0}")]
    RetainUntilInPast(String),
    /// An SSE-KMS request names a key that does not exist.
    #[error("KMS key not found: {0}")]
    KmsKeyNotFound(String),
    /// A conditional write's condition does not hold (S3 `PreconditionFailed`, 412).
    #[error("{0}")]
    PreconditionFailed(String),
    /// Bucket ownership cannot be enforced while the bucket's ACL grants access to others.
    #[error("{0}")]
    AclConflictsWithOwnership(String),
    /// ACLs are off in this bucket (object ownership `BucketOwnerEnforced`).
    #[error("This bucket does not allow ACLs")]
    AclNotSupported,
    /// A bucket policy that is not valid JSON or not a valid policy (S3 `MalformedPolicy`).
    #[error("{0}")]
    MalformedPolicy(String),
    /// Tags over S3's limits (S3 `InvalidTag`).
    #[error("{0}")]
    InvalidTag(String),
    /// The bucket's state does not allow the change (S3 `InvalidBucketState`).
    #[error("{0}")]
    InvalidBucketState(String),
    /// Notification rules refused; the first field is B2's error code for the reason.
    #[error("{1}")]
    InvalidNotificationRules(&'static str, String),
    /// The caller is known but may not do this (capability, bucket or prefix restriction).
    #[error("{0}")]
    Unauthorized(String),
    /// Bad credentials at authorization time.
    #[error("{0}")]
    BadCredentials(String),
    #[error("{0}")]
    BadAuthToken(String),
    #[error("Authorization token has expired")]
    ExpiredAuthToken,
    /// Refused by object lock (retention or legal hold).
    #[error("{0}")]
    AccessDenied(String),
    /// Refused outright (wrong SSE-C key, retention change not allowed): 403.
    #[error("{0}")]
    Forbidden(String),
    /// Test mode asked for a cap refusal.
    #[error("Cap exceeded (test mode)")]
    CapExceeded,
    #[error("{0}")]
    ServiceUnavailable(String),
    /// No room for new data (the disk is full or below its free-space floor): reads and deletes still work.
    #[error("{0}")]
    StorageFull(String),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }

    pub fn unauthorized(msg: impl Into<String>) -> Self {
        Error::Unauthorized(msg.into())
    }

    /// Wraps a storage-layer failure; logged where it is made, under the request's id, so the client sees
    /// only a generic message naming that id.
    #[track_caller]
    pub fn internal(err: impl std::fmt::Display) -> Self {
        let location = std::panic::Location::caller();
        let request_id = crate::request::current_id().unwrap_or_default();
        tracing::error!(%location, %request_id, "internal error: {err}");
        Error::Internal(format!("internal error: {err}"))
    }
}

impl From<std::io::Error> for Error {
    #[track_caller]
    fn from(err: std::io::Error) -> Self {
        match err.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
                tracing::warn!(location = %std::panic::Location::caller(), "out of disk space: {err}");
                Error::StorageFull("storage is full: the write ran out of disk space".into())
            }
            _ => Error::internal(err),
        }
    }
}
