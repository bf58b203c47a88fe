//! The one error type: B2's `{status, code, message}` when the server answered, or what went wrong on the way.

use std::time::Duration;

/// What a call failed with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error body (`status`, `code`, `message`, as B2 sends them).
    #[error("{code} ({status}): {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// B2's error code (`bad_request`, `expired_auth_token`, ...).
        code: String,
        /// B2's human-readable message.
        message: String,
        /// The `Retry-After` the server sent (429, 503), if any.
        retry_after: Option<Duration>,
    },
    /// The request did not complete: connection refused or reset, a timeout, a body cut short.
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// Reading or writing a local file or stream.
    #[error("local I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Downloaded bytes whose SHA-1 is not the one the server recorded.
    #[error("SHA-1 mismatch: expected {expected}, got {actual}")]
    Sha1Mismatch {
        /// The SHA-1 the server recorded.
        expected: String,
        /// The SHA-1 of the bytes that arrived.
        actual: String,
    },
    /// An answer that does not have the shape of the call's response.
    #[error("unexpected answer: {0}")]
    Decode(String),
    /// A request this client will not send (a bad argument, a source that cannot be read twice).
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// B2's status, for errors the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::Transport(e) => e.status().map(|s| s.as_u16()),
            _ => None,
        }
    }

    /// B2's error code (`expired_auth_token`, `no_such_file`, ...), for errors the server answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether trying again may succeed, following B2's model: 408, 429 and 5xx answers and broken
    /// connections are; everything else (bad requests, missing capabilities, not found) is not.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            Error::Transport(e) => e.is_timeout() || e.is_connect() || e.is_request() || e.is_body() || e.status().is_none(),
            _ => false,
        }
    }

    /// Whether the account authorization expired (re-authorize and try again, once).
    pub fn is_expired_auth(&self) -> bool {
        matches!(self, Error::Api { status: 401, code, .. } if code == "expired_auth_token" || code == "bad_auth_token")
    }

    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Reads a non-2xx answer into `Error::Api` (a body that is not B2's JSON still keeps the status).
    pub(crate) async fn from_response(response: reqwest::Response) -> Error {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.unwrap_or_default();
        #[derive(serde::Deserialize)]
        struct Body {
            code: Option<String>,
            message: Option<String>,
        }
        let body: Option<Body> = serde_json::from_str(&text).ok();
        let code = body.as_ref().and_then(|b| b.code.clone()).unwrap_or_else(|| format!("http_{status}"));
        let message = body.and_then(|b| b.message).unwrap_or(text);
        Error::Api { status, code, message, retry_after }
    }
}

/// A result whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str) -> Error {
        Error::Api { status, code: code.into(), message: String::new(), retry_after: None }
    }

    #[test]
    fn retryable_follows_b2s_model() {
        for status in [408, 429, 500, 503] {
            assert!(api(status, "x").is_retryable(), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 416] {
            assert!(!api(status, "x").is_retryable(), "{status}");
        }
        assert!(api(401, "expired_auth_token").is_expired_auth());
        assert!(!api(401, "unauthorized").is_expired_auth());
    }
}
