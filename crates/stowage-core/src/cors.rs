//! Bucket CORS: one rule set (B2 `corsRules`, whose operations name both B2 and S3 calls) evaluated for
//! preflight and actual requests of either API.

use crate::model::CorsRule;

/// What a browser asks: from which origin, for which operation, with which method and headers.
#[derive(Debug, Clone)]
pub struct CorsRequest<'a> {
    pub origin: &'a str,
    /// A B2 CORS operation name: `b2_download_file_by_name`, `s3_put`, ...
    pub operation: &'a str,
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

/// The S3 operation name for an HTTP method.
pub fn s3_operation(method: &str) -> Option<&'static str> {
    match method {
        "GET" => Some("s3_get"),
        "HEAD" => Some("s3_head"),
        "PUT" => Some("s3_put"),
        "POST" => Some("s3_post"),
        "DELETE" => Some("s3_delete"),
        _ => None,
    }
}

fn methods_of(operation: &str) -> &'static [&'static str] {
    match operation {
        "s3_get" => &["GET"],
        "s3_head" => &["HEAD"],
        "s3_put" => &["PUT"],
        "s3_post" => &["POST"],
        "s3_delete" => &["DELETE"],
        "b2_download_file_by_name" | "b2_download_file_by_id" => &["GET", "HEAD"],
        "b2_upload_file" | "b2_upload_part" => &["POST"],
        _ => &[],
    }
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
        rule.allowed_operations.iter().any(|op| op == req.operation)
            && rule.allowed_origins.iter().any(|o| origin_matches(o, req.origin))
            && req.headers.iter().all(|h| header_allowed(rule.allowed_headers.as_deref().unwrap_or(&[]), h))
    })?;
    let wildcard = rule.allowed_origins.iter().any(|o| o == "*");
    let mut methods: Vec<&'static str> = rule.allowed_operations.iter().flat_map(|op| methods_of(op).iter().copied()).collect();
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

    fn ask<'a>(origin: &'a str, operation: &'a str, headers: &[&str]) -> CorsRequest<'a> {
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
