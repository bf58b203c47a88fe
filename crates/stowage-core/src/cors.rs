//! Bucket CORS: one rule set (B2 `corsRules`, whose operations name both B2 and S3 calls) evaluated for
//! preflight and actual requests of either API.

use crate::model::CorsRule;

/// A B2 CORS operation: what a rule's `allowedOperations` names, for both APIs. Rules keep the names as
/// clients sent them; requests are classified into these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorsOperation {
    B2DownloadFileByName,
    B2DownloadFileById,
    B2UploadFile,
    B2UploadPart,
    S3Delete,
    S3Get,
    S3Head,
    S3Post,
    S3Put,
}

impl CorsOperation {
    pub const ALL: [CorsOperation; 9] = [
        Self::B2DownloadFileByName,
        Self::B2DownloadFileById,
        Self::B2UploadFile,
        Self::B2UploadPart,
        Self::S3Delete,
        Self::S3Get,
        Self::S3Head,
        Self::S3Post,
        Self::S3Put,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::B2DownloadFileByName => "b2_download_file_by_name",
            Self::B2DownloadFileById => "b2_download_file_by_id",
            Self::B2UploadFile => "b2_upload_file",
            Self::B2UploadPart => "b2_upload_part",
            Self::S3Delete => "s3_delete",
            Self::S3Get => "s3_get",
            Self::S3Head => "s3_head",
            Self::S3Post => "s3_post",
            Self::S3Put => "s3_put",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == name)
    }

    /// The S3 operation for an HTTP method.
    pub fn of_s3_method(method: &str) -> Option<Self> {
        match method {
            "GET" => Some(Self::S3Get),
            "HEAD" => Some(Self::S3Head),
            "PUT" => Some(Self::S3Put),
            "POST" => Some(Self::S3Post),
            "DELETE" => Some(Self::S3Delete),
            _ => None,
        }
    }

    /// The HTTP method of an S3 operation (`None` for B2's), as S3's CORS configuration names it.
    pub fn s3_method(self) -> Option<&'static str> {
        match self {
            Self::S3Get | Self::S3Head | Self::S3Put | Self::S3Post | Self::S3Delete => self.methods().first().copied(),
            _ => None,
        }
    }

    /// The HTTP methods a rule allowing this operation allows.
    fn methods(self) -> &'static [&'static str] {
        match self {
            Self::S3Get => &["GET"],
            Self::S3Head => &["HEAD"],
            Self::S3Put => &["PUT"],
            Self::S3Post => &["POST"],
            Self::S3Delete => &["DELETE"],
            Self::B2DownloadFileByName | Self::B2DownloadFileById => &["GET", "HEAD"],
            Self::B2UploadFile | Self::B2UploadPart => &["POST"],
        }
    }
}

/// What a browser asks: from which origin, for which operation, with which method and headers.
#[derive(Debug, Clone)]
pub struct CorsRequest<'a> {
    pub origin: &'a str,
    pub operation: CorsOperation,
    /// Header names the request will carry (preflight: Access-Control-Request-Headers), lower-case.
    pub headers: Vec<String>,
}

/// The response headers a matching rule grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsGrant {
    pub allow_origin: String,
    pub allow_methods: Vec<&'static str>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_seconds: i64,
}

/// `*`, an exact origin (case-insensitive), or one `*` wildcard such as `https://*.example.com`.
fn origin_matches(pattern: &str, origin: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let (pattern, origin) = (pattern.to_ascii_lowercase(), origin.to_ascii_lowercase());
    match pattern.split_once('*') {
        None => pattern == origin,
        Some((head, tail)) => origin.len() >= head.len() + tail.len() && origin.starts_with(head) && origin.ends_with(tail),
    }
}

/// Whether a header name is allowed by a rule's `allowedHeaders` (`*`, exact, or a `prefix*`).
fn header_allowed(patterns: &[String], header: &str) -> bool {
    patterns.iter().any(|p| {
        let p = p.to_ascii_lowercase();
        p == "*" || p == header || p.strip_suffix('*').is_some_and(|prefix| header.starts_with(prefix))
    })
}

/// The first rule that allows the origin, the operation and every requested header, as response headers.
pub fn evaluate(rules: &[CorsRule], req: &CorsRequest<'_>) -> Option<CorsGrant> {
    let rule = rules.iter().find(|rule| {
        rule.allowed_operations.iter().any(|op| op == req.operation.as_str())
            && rule.allowed_origins.iter().any(|o| origin_matches(o, req.origin))
            && req.headers.iter().all(|h| header_allowed(rule.allowed_headers.as_deref().unwrap_or(&[]), h))
    })?;
    let wildcard = rule.allowed_origins.iter().any(|o| o == "*");
    let mut methods: Vec<&'static str> =
        rule.allowed_operations.iter().filter_map(|op| CorsOperation::parse(op)).flat_map(|op| op.methods().iter().copied()).collect();
    methods.sort_unstable();
    methods.dedup();
    Some(CorsGrant {
        allow_origin: if wildcard { "*".to_string() } else { req.origin.to_string() },
        allow_methods: methods,
        allow_headers: req.headers.clone(),
        expose_headers: rule.expose_headers.clone().unwrap_or_default(),
        max_age_seconds: rule.max_age_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(origins: &[&str], ops: &[&str], headers: Option<&[&str]>) -> CorsRule {
        CorsRule {
            cors_rule_name: "test-rule".into(),
            allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
            allowed_operations: ops.iter().map(|s| s.to_string()).collect(),
            allowed_headers: headers.map(|h| h.iter().map(|s| s.to_string()).collect()),
            expose_headers: Some(vec!["ETag".into()]),
            max_age_seconds: 600,
        }
    }

    fn ask<'a>(origin: &'a str, operation: &str, headers: &[&str]) -> CorsRequest<'a> {
        let operation = CorsOperation::parse(operation).expect("a CORS operation");
        CorsRequest { origin, operation, headers: headers.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn origins_operations_and_headers() {
        let rules = [rule(&["https://*.example.com"], &["s3_put", "s3_get"], Some(&["content-type", "x-amz-*"]))];
        let grant = evaluate(&rules, &ask("https://app.example.com", "s3_put", &["content-type", "x-amz-meta-a"])).expect("allowed");
        assert_eq!(grant.allow_origin, "https://app.example.com");
        assert_eq!(grant.allow_methods, vec!["GET", "PUT"]);
        assert_eq!(grant.max_age_seconds, 600);
        assert!(evaluate(&rules, &ask("https://example.org", "s3_put", &[])).is_none());
        assert!(evaluate(&rules, &ask("https://app.example.com", "s3_delete", &[])).is_none());
        assert!(evaluate(&rules, &ask("https://app.example.com", "s3_put", &["authorization"])).is_none());
        let open = [rule(&["*"], &["b2_download_file_by_name"], None)];
        assert_eq!(evaluate(&open, &ask("http://x", "b2_download_file_by_name", &[])).map(|g| g.allow_origin), Some("*".into()));
        assert!(evaluate(&[], &ask("http://x", "s3_get", &[])).is_none());
    }
}
