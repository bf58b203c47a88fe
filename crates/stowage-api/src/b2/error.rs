//! The one place core errors become B2 wire errors: `{status, code, message}` JSON.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use stowage_core::Error;

#[derive(Debug, Clone)]
pub struct B2Error {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// HEAD responses carry no body.
    pub head: bool,
}

impl B2Error {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        B2Error { status, code, message: message.into(), head: false }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn for_head(mut self, head: bool) -> Self {
        self.head = head;
        self
    }
}

impl From<Error> for B2Error {
    fn from(err: Error) -> Self {
        use StatusCode as S;
        let message = err.to_string();
        let (status, code) = match err {
            Error::InvalidArgument(_) | Error::InvalidBucketName(_) | Error::ChecksumMismatch | Error::EntityTooSmall(_) => {
                (S::BAD_REQUEST, "bad_request")
            }
            Error::MalformedBody(_) => (S::BAD_REQUEST, "bad_json"),
            Error::BadDigest(_) => (S::BAD_REQUEST, "bad_request"),
            Error::DuplicateBucketName(_) => (S::BAD_REQUEST, "duplicate_bucket_name"),
            Error::TooManyBuckets(_) => (S::BAD_REQUEST, "too_many_buckets"),
            Error::BucketNotFound(_) => (S::BAD_REQUEST, "bad_bucket_id"),
            Error::BucketNotEmpty => (S::BAD_REQUEST, "cannot_delete_non_empty_bucket"),
            Error::FileNotFound(_) => (S::NOT_FOUND, "not_found"),
            Error::FileNotPresent(_) => (S::BAD_REQUEST, "file_not_present"),
            Error::NoSuchFile(_) => (S::BAD_REQUEST, "no_such_file"),
            Error::AlreadyHidden(_) => (S::BAD_REQUEST, "already_hidden"),
            Error::OutOfRange(_) => (S::BAD_REQUEST, "out_of_range"),
            Error::InvalidFileId(_) => (S::BAD_REQUEST, "invalid_file_id"),
            Error::MissingPart(_) => (S::BAD_REQUEST, "missing_part"),
            Error::NoSuchUpload(_) => (S::BAD_REQUEST, "bad_request"),
            Error::InvalidPart(_) | Error::InvalidPartOrder(_) => (S::BAD_REQUEST, "bad_request"),
            Error::SourceTooLarge(_) => (S::BAD_REQUEST, "source_too_large"),
            Error::RangeNotSatisfiable => (S::RANGE_NOT_SATISFIABLE, "range_not_satisfiable"),
            Error::Conflict(_) => (S::CONFLICT, "conflict"),
            Error::FileLockConflict(_) => (S::BAD_REQUEST, "file_lock_conflict"),
            Error::BucketMissingFileLock(_) => (S::BAD_REQUEST, "bucket_missing_file_lock"),
            Error::RetainUntilInPast(_) => (S::BAD_REQUEST, "retain_until_timestamp_must_be_in_future"),
            Error::InvalidBucketState(_)
            | Error::InvalidTag(_)
            | Error::MalformedPolicy(_)
            | Error::AclNotSupported
            | Error::AclConflictsWithOwnership(_)
            | Error::PreconditionFailed(_)
            | Error::KmsKeyNotFound(_) => (S::BAD_REQUEST, "bad_request"),
            Error::InvalidNotificationRules(code, _) => (S::BAD_REQUEST, code),
            Error::Unauthorized(_) | Error::BadCredentials(_) => (S::UNAUTHORIZED, "unauthorized"),
            Error::BadAuthToken(_) => (S::UNAUTHORIZED, "bad_auth_token"),
            Error::ExpiredAuthToken => (S::UNAUTHORIZED, "expired_auth_token"),
            Error::AccessDenied(_) => (S::UNAUTHORIZED, "access_denied"),
            // B2 answers a download of an SSE-C file without its key as a refusal.
            Error::Forbidden(_) | Error::SseCKey(_) => (S::FORBIDDEN, "access_denied"),
            Error::CapExceeded => (S::FORBIDDEN, "cap_exceeded"),
            Error::ServiceUnavailable(_) => (S::SERVICE_UNAVAILABLE, "service_unavailable"),
            Error::StorageFull(_) => (S::INSUFFICIENT_STORAGE, "storage_full"),
            Error::Internal(_) => return B2Error::new(S::INTERNAL_SERVER_ERROR, "internal_error", crate::observe::internal_message()),
        };
        B2Error::new(status, code, message)
    }
}

impl IntoResponse for B2Error {
    fn into_response(self) -> Response {
        let mut response = if self.head {
            self.status.into_response()
        } else {
            let body = serde_json::json!({"status": self.status.as_u16(), "code": self.code, "message": self.message});
            (self.status, axum::Json(body)).into_response()
        };
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=0, no-cache, no-store"));
        if self.status == StatusCode::TOO_MANY_REQUESTS || self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

pub type B2Result<T> = Result<T, B2Error>;
