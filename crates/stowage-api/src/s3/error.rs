//! The one place core errors become S3 errors (`<Error><Code>…`).

use s3s::{S3Error, S3ErrorCode};
use stowage_core::Error;

pub fn to_s3(err: Error) -> S3Error {
    let mut s3_error = to_s3_error(err);
    // The body names the request as the x-amz-request-id header does.
    if let Some(id) = crate::observe::request_id() {
        s3_error.set_request_id(id);
    }
    s3_error
}

fn to_s3_error(err: Error) -> S3Error {
    use S3ErrorCode as C;
    let message = err.to_string();
    let code = match err {
        Error::InvalidArgument(_) | Error::OutOfRange(_) | Error::InvalidFileId(_) | Error::InvalidNotificationRules(..) => {
            C::InvalidArgument
        }
        Error::MalformedBody(_) => C::MalformedXML,
        Error::InvalidBucketName(_) => C::InvalidBucketName,
        Error::DuplicateBucketName(_) => C::BucketAlreadyOwnedByYou,
        Error::TooManyBuckets(_) => C::TooManyBuckets,
        Error::BucketNotFound(_) => C::NoSuchBucket,
        Error::BucketNotEmpty => C::BucketNotEmpty,
        Error::FileNotFound(_) | Error::NoSuchFile(_) => C::NoSuchKey,
        Error::FileNotPresent(_) => C::NoSuchVersion,
        Error::AlreadyHidden(_) | Error::SourceTooLarge(_) | Error::FileLockConflict(_) => C::InvalidRequest,
        Error::InvalidBucketState(_) => C::InvalidBucketState,
        Error::InvalidTag(_) => C::InvalidTag,
        Error::MalformedPolicy(_) => C::MalformedPolicy,
        Error::AclNotSupported => C::AccessControlListNotSupported,
        Error::PreconditionFailed(_) => C::PreconditionFailed,
        Error::SseCKey(_) | Error::BucketMissingFileLock(_) => C::InvalidRequest,
        Error::RetainUntilInPast(_) => C::InvalidArgument,
        Error::AclConflictsWithOwnership(_) => C::InvalidBucketAclWithObjectOwnership,
        Error::MissingPart(_) | Error::InvalidPart(_) => C::InvalidPart,
        Error::InvalidPartOrder(_) => C::InvalidPartOrder,
        Error::NoSuchUpload(_) => C::NoSuchUpload,
        Error::ChecksumMismatch | Error::BadDigest(_) => C::BadDigest,
        Error::EntityTooSmall(_) => C::EntityTooSmall,
        Error::RangeNotSatisfiable => C::InvalidRange,
        Error::Conflict(_) => C::OperationAborted,
        Error::Unauthorized(_) | Error::AccessDenied(_) | Error::Forbidden(_) | Error::BadAuthToken(_) | Error::CapExceeded => {
            C::AccessDenied
        }
        Error::BadCredentials(_) => C::InvalidAccessKeyId,
        Error::ExpiredAuthToken => C::ExpiredToken,
        Error::ServiceUnavailable(_) => C::ServiceUnavailable,
        Error::KmsKeyNotFound(_) => return custom_error("KMS.NotFoundException", axum::http::StatusCode::BAD_REQUEST, &message),
        Error::Internal(_) => return S3Error::with_message(C::InternalError, crate::observe::internal_message()),
        // No AWS code says this; 507 is not retried by SDKs, which is right for a full disk.
        Error::StorageFull(_) => return custom_error("StorageFull", axum::http::StatusCode::INSUFFICIENT_STORAGE, &message),
    };
    S3Error::with_message(code, message)
}

/// An error whose code s3s does not name.
pub fn custom_error(code: &str, status: axum::http::StatusCode, message: &str) -> S3Error {
    let mut err = S3Error::with_message(S3ErrorCode::Custom(code.to_string().into()), message.to_string());
    err.set_status_code(status);
    err
}
