//! How a client connects and retries: the realm, the key, timeouts, extra headers and the retry policy.

use std::time::Duration;

/// Backblaze's own B2 (the default realm).
pub const B2_REALM: &str = "https://api.backblazeb2.com";

/// When and how often a failed request is tried again.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: no retries).
    pub attempts: u32,
    /// The first back-off; each next one doubles, up to `max_delay`, with full jitter.
    pub base_delay: Duration,
    /// The longest back-off (and the longest `Retry-After` honoured).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { attempts: 5, base_delay: Duration::from_millis(250), max_delay: Duration::from_secs(30) }
    }
}

impl RetryPolicy {
    /// No retries: every error is returned at once.
    pub fn none() -> Self {
        RetryPolicy { attempts: 1, ..Self::default() }
    }

    /// The wait before attempt `attempt + 1` (`attempt` counts from 1): the server's `Retry-After` when it
    /// sent one, else exponential back-off with full jitter.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_delay);
        }
        let ceiling = self.base_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(16)).min(self.max_delay);
        ceiling.mul_f64(rand::random::<f64>())
    }
}

/// Per-call options, beside the client's own: a timeout, extra headers, another retry policy. Pass them
/// to [`Client::call`](crate::Client::call), or make a handle whose every call takes them with
/// [`Client::with_options`](crate::Client::with_options).
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// A timeout for each request (each JSON call, each upload, each part or range of a transfer), in
    /// place of the client's `call_timeout` (JSON calls) or none (transfers).
    pub timeout: Option<Duration>,
    /// Headers sent after the client's own.
    pub headers: Vec<(String, String)>,
    /// A retry policy in place of the client's.
    pub retry: Option<RetryPolicy>,
}

impl CallOptions {
    /// These options with `more` on top: its timeout and retry policy win, its headers come after.
    pub fn merged(&self, more: &CallOptions) -> CallOptions {
        CallOptions {
            timeout: more.timeout.or(self.timeout),
            headers: self.headers.iter().chain(&more.headers).cloned().collect(),
            retry: more.retry.clone().or_else(|| self.retry.clone()),
        }
    }
}

/// Everything a [`Client`](crate::Client) needs. Build with [`ClientConfig::new`] and the `with_*` methods.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The API's base URL: B2's ([`B2_REALM`]) or a Stowage server's.
    pub realm: String,
    /// The application key's id.
    pub key_id: String,
    /// The application key (its secret).
    pub key: String,
    /// How failed requests are tried again.
    pub retry: RetryPolicy,
    /// A timeout for each JSON call (uploads and downloads have none by default: they take what they take).
    pub call_timeout: Duration,
    /// How long a connection may take to open.
    pub connect_timeout: Duration,
    /// Headers sent with every request (a `User-Agent` suffix, a test mode, ...).
    pub headers: Vec<(String, String)>,
    /// Parallel parts of one large file.
    pub part_concurrency: usize,
    /// Files larger than this upload as large files (default: the account's `recommendedPartSize`).
    pub large_file_threshold: Option<u64>,
    /// Part size of large uploads (default: the account's `recommendedPartSize`).
    pub part_size: Option<u64>,
}

impl ClientConfig {
    /// A client of `realm` (`https://api.backblazeb2.com` for B2, or a Stowage server's URL) with a key.
    pub fn new(realm: impl Into<String>, key_id: impl Into<String>, key: impl Into<String>) -> Self {
        ClientConfig {
            realm: realm.into().trim_end_matches('/').to_string(),
            key_id: key_id.into(),
            key: key.into(),
            retry: RetryPolicy::default(),
            call_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(20),
            headers: Vec::new(),
            part_concurrency: 4,
            large_file_threshold: None,
            part_size: None,
        }
    }

    /// B2 itself.
    pub fn b2(key_id: impl Into<String>, key: impl Into<String>) -> Self {
        Self::new(B2_REALM, key_id, key)
    }

    /// This configuration with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// This configuration with one more header on every request.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// This configuration with `parts` parts (or ranges) of one file moving at once.
    pub fn with_part_concurrency(mut self, parts: usize) -> Self {
        self.part_concurrency = parts.max(1);
        self
    }

    /// This configuration with large files cut into parts of `bytes`.
    pub fn with_part_size(mut self, bytes: u64) -> Self {
        self.part_size = Some(bytes);
        self
    }

    /// This configuration with files above `bytes` uploaded as large files.
    pub fn with_large_file_threshold(mut self, bytes: u64) -> Self {
        self.large_file_threshold = Some(bytes);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_within_its_ceiling_and_honours_retry_after() {
        let policy = RetryPolicy { attempts: 5, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1) };
        for attempt in 1..=8 {
            let ceiling = Duration::from_millis(100 * (1 << (attempt - 1))).min(Duration::from_secs(1));
            assert!(policy.delay(attempt, None) <= ceiling);
        }
        assert_eq!(policy.delay(1, Some(Duration::from_millis(700))), Duration::from_millis(700));
        assert_eq!(policy.delay(1, Some(Duration::from_secs(90))), Duration::from_secs(1));
    }
}
