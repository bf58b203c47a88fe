//! Bucket policies in the AWS policy language: parsed and checked once when stored, evaluated against a
//! request described by its action, resource, caller and condition keys.
//!
//! A policy never lets an application key do more than its capabilities allow: for a signed request it can
//! only deny. For an unsigned request it can also allow (a policy granting `"Principal": "*"` reads of a
//! prefix makes that prefix public). How a caller appears as a principal:
//! - `"*"` or `{"AWS": "*"}`: anyone, signed or not;
//! - `{"AWS": "<accountId>"}` or `"arn:aws:iam::<accountId>:root"`: any application key of the account;
//! - `{"AWS": "<applicationKeyId>"}` or `"arn:aws:iam::<accountId>:user/<applicationKeyId>"`: that key.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::Value;

use crate::error::{Error, Result};

/// A stored bucket policy, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    statements: Vec<Statement>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// A list of values, or its complement (`NotAction`, `NotResource`, `NotPrincipal`).
#[derive(Debug, Clone, PartialEq)]
struct Matcher {
    values: Vec<String>,
    negated: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct Statement {
    effect: Effect,
    principals: Matcher,
    actions: Matcher,
    resources: Matcher,
    conditions: Vec<Condition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Numeric(std::cmp::Ordering, bool),
    Date(std::cmp::Ordering, bool),
    Bool,
    IpAddress,
    Null,
}

#[derive(Debug, Clone, PartialEq)]
struct Condition {
    operator: Operator,
    /// `StringNotEquals`, `NotIpAddress`, …: true when no value matches.
    negated: bool,
    if_exists: bool,
    /// `ForAllValues:` (every request value must match); otherwise any.
    for_all_values: bool,
    /// Lowercase: condition keys are case-insensitive.
    key: String,
    values: Vec<String>,
}

/// What a policy says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A statement denies it: refused, whatever else allows it.
    Deny,
    /// A statement allows it and none denies it.
    Allow,
    /// No statement speaks of it.
    Silent,
}

/// Who asks, as policies name callers.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    Anonymous,
    Key { account_id: &'a str, key_id: &'a str },
}

/// A request as a policy sees it.
#[derive(Debug, Clone)]
pub struct PolicyRequest<'a> {
    pub caller: Caller<'a>,
    /// `s3:GetObject`, `s3:ListBucket`, …
    pub action: &'a str,
    /// `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`.
    pub resource: String,
    /// Condition keys present in the request (lowercase names), each with its values.
    pub keys: BTreeMap<String, Vec<String>>,
}

impl<'a> PolicyRequest<'a> {
    pub fn new(caller: Caller<'a>, action: &'a str, bucket: &str, key: Option<&str>) -> Self {
        let resource = match key {
            Some(key) => format!("arn:aws:s3:::{bucket}/{key}"),
            None => format!("arn:aws:s3:::{bucket}"),
        };
        PolicyRequest { caller, action, resource, keys: BTreeMap::new() }
    }

    /// Adds a condition key's value (names are case-insensitive).
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.keys.entry(key.to_ascii_lowercase()).or_default().push(value.into());
        self
    }
}

fn malformed(message: impl Into<String>) -> Error {
    Error::MalformedPolicy(message.into())
}

/// A string or a list of strings, as the policy language allows for most fields.
fn strings(value: &Value, field: &str) -> Result<Vec<String>> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Bool(b) => Ok(b.to_string()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(malformed(format!("{field} must be a string or a list of strings"))),
            })
            .collect(),
        Value::Bool(b) => Ok(vec![b.to_string()]),
        Value::Number(n) => Ok(vec![n.to_string()]),
        _ => Err(malformed(format!("{field} must be a string or a non-empty list of strings"))),
    }
}

/// `"*"`, `{"AWS": …}` (or `CanonicalUser`): the principal values, `*` standing for everyone.
fn principals(value: &Value) -> Result<Vec<String>> {
    match value {
        Value::String(s) if s == "*" => Ok(vec!["*".into()]),
        Value::Object(map) if !map.is_empty() => {
            let mut out = Vec::new();
            for (kind, v) in map {
                if !matches!(kind.as_str(), "AWS" | "CanonicalUser") {
                    return Err(malformed(format!("Invalid principal in policy: {kind} principals do not apply to buckets")));
                }
                out.extend(strings(v, "Principal")?);
            }
            Ok(out)
        }
        _ => Err(malformed("Invalid principal in policy")),
    }
}

/// Both fields of a pair like `Action`/`NotAction`: exactly one must be there.
fn one_of(statement: &serde_json::Map<String, Value>, field: &str, not_field: &str) -> Result<Option<(Value, bool)>> {
    match (statement.get(field), statement.get(not_field)) {
        (Some(v), None) => Ok(Some((v.clone(), false))),
        (None, Some(v)) => Ok(Some((v.clone(), true))),
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(malformed(format!("a statement has either {field} or {not_field}, not both"))),
    }
}

fn operator(name: &str) -> Result<(Operator, bool)> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    Ok(match name {
        "StringEquals" => (Operator::StringEquals, false),
        "StringNotEquals" => (Operator::StringEquals, true),
        "StringEqualsIgnoreCase" => (Operator::StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (Operator::StringEqualsIgnoreCase, true),
        "StringLike" | "ArnLike" | "ArnEquals" => (Operator::StringLike, false),
        "StringNotLike" | "ArnNotLike" | "ArnNotEquals" => (Operator::StringLike, true),
        "NumericEquals" => (Operator::Numeric(Equal, false), false),
        "NumericNotEquals" => (Operator::Numeric(Equal, false), true),
        "NumericLessThan" => (Operator::Numeric(Less, false), false),
        "NumericLessThanEquals" => (Operator::Numeric(Less, true), false),
        "NumericGreaterThan" => (Operator::Numeric(Greater, false), false),
        "NumericGreaterThanEquals" => (Operator::Numeric(Greater, true), false),
        "DateEquals" => (Operator::Date(Equal, false), false),
        "DateNotEquals" => (Operator::Date(Equal, false), true),
        "DateLessThan" => (Operator::Date(Less, false), false),
        "DateLessThanEquals" => (Operator::Date(Less, true), false),
        "DateGreaterThan" => (Operator::Date(Greater, false), false),
        "DateGreaterThanEquals" => (Operator::Date(Greater, true), false),
        "Bool" => (Operator::Bool, false),
        "IpAddress" => (Operator::IpAddress, false),
        "NotIpAddress" => (Operator::IpAddress, true),
        "Null" => (Operator::Null, false),
        other => return Err(malformed(format!("Invalid Condition type: {other}"))),
    })
}

fn conditions(value: &Value) -> Result<Vec<Condition>> {
    let Value::Object(blocks) = value else { return Err(malformed("Condition must be an object")) };
    let mut out = Vec::new();
    for (name, keys) in blocks {
        let (set, bare) = match name.split_once(':') {
            Some((set @ ("ForAnyValue" | "ForAllValues"), rest)) => (Some(set), rest),
            Some(_) => return Err(malformed(format!("Invalid Condition type: {name}"))),
            None => (None, name.as_str()),
        };
        let (bare, if_exists) = match bare.strip_suffix("IfExists") {
            Some(stem) if stem != "Null" => (stem, true),
            _ => (bare, false),
        };
        let (operator, negated) = operator(bare)?;
        let Value::Object(keys) = keys else { return Err(malformed(format!("{name} must map condition keys to values"))) };
        for (key, values) in keys {
            let values = strings(values, key)?;
            let condition = Condition {
                operator,
                negated,
                if_exists,
                for_all_values: set == Some("ForAllValues"),
                key: key.to_ascii_lowercase(),
                values,
            };
            condition.check_values()?;
            out.push(condition);
        }
    }
    Ok(out)
}

impl Policy {
    /// Parses and checks a policy document for the bucket named `bucket`, as PutBucketPolicy does.
    pub fn parse(document: &str, bucket: &str) -> Result<Policy> {
        let value: Value = serde_json::from_str(document).map_err(|e| malformed(format!("the policy is not valid JSON: {e}")))?;
        let Value::Object(doc) = value else { return Err(malformed("a policy is a JSON object")) };
        if let Some(version) = doc.get("Version")
            && !matches!(version.as_str(), Some("2012-10-17" | "2008-10-17"))
        {
            return Err(malformed("the policy Version must be 2012-10-17 or 2008-10-17"));
        }
        let listed = match doc.get("Statement") {
            Some(Value::Array(items)) if !items.is_empty() => items.clone(),
            Some(item @ Value::Object(_)) => vec![item.clone()],
            _ => return Err(malformed("Missing required field Statement")),
        };
        let mut statements = Vec::with_capacity(listed.len());
        for item in listed {
            let Value::Object(s) = item else { return Err(malformed("each statement is a JSON object")) };
            let effect = match s.get("Effect").and_then(Value::as_str) {
                Some("Allow") => Effect::Allow,
                Some("Deny") => Effect::Deny,
                _ => return Err(malformed("a statement's Effect is Allow or Deny")),
            };
            let (principal, not_principal) =
                one_of(&s, "Principal", "NotPrincipal")?.ok_or_else(|| malformed("Missing required field Principal"))?;
            if not_principal && effect == Effect::Allow {
                return Err(malformed("NotPrincipal is only allowed with Effect Deny"));
            }
            let (action, not_action) = one_of(&s, "Action", "NotAction")?.ok_or_else(|| malformed("Missing required field Action"))?;
            let actions = strings(&action, "Action")?;
            if let Some(bad) = actions.iter().find(|a| *a != "*" && !a.to_ascii_lowercase().starts_with("s3:")) {
                return Err(malformed(format!("Policy has invalid action: {bad}")));
            }
            let (resource, not_resource) =
                one_of(&s, "Resource", "NotResource")?.ok_or_else(|| malformed("Missing required field Resource"))?;
            let resources = strings(&resource, "Resource")?;
            for r in &resources {
                let within = r == "*"
                    || r.strip_prefix("arn:aws:s3:::").is_some_and(|rest| glob_match(rest.split('/').next().unwrap_or(""), bucket));
                if !within {
                    return Err(malformed(format!("Policy has invalid resource: {r}")));
                }
            }
            let conditions = match s.get("Condition") {
                Some(c) => conditions(c)?,
                None => Vec::new(),
            };
            statements.push(Statement {
                effect,
                principals: Matcher { values: principals(&principal)?, negated: not_principal },
                actions: Matcher { values: actions, negated: not_action },
                resources: Matcher { values: resources, negated: not_resource },
                conditions,
            });
        }
        Ok(Policy { statements })
    }

    /// Deny wins over Allow; a policy that says nothing of a request is `Silent`.
    pub fn evaluate(&self, request: &PolicyRequest<'_>) -> Decision {
        let mut allowed = false;
        for s in &self.statements {
            if !s.applies(request) {
                continue;
            }
            match s.effect {
                Effect::Deny => return Decision::Deny,
                Effect::Allow => allowed = true,
            }
        }
        if allowed { Decision::Allow } else { Decision::Silent }
    }

    /// Whether a condition compares an object's stored tags (`s3:ExistingObjectTag/<tag>`), which must then
    /// be read before the policy decides.
    pub fn reads_existing_object_tags(&self) -> bool {
        self.statements.iter().flat_map(|s| &s.conditions).any(|c| c.key.starts_with("s3:existingobjecttag/"))
    }

    /// Whether the policy grants anyone at all something without a condition narrowing who (S3's
    /// `PolicyStatus.IsPublic`): an Allow to `*` whose conditions name no source address or account.
    pub fn is_public(&self) -> bool {
        const NARROWING: &[&str] = &[
            "aws:sourceip",
            "aws:sourcevpc",
            "aws:sourcevpce",
            "aws:sourceaccount",
            "aws:sourcearn",
            "aws:principalaccount",
            "aws:principalarn",
            "aws:userid",
            "aws:username",
            "aws:principalorgid",
        ];
        self.statements.iter().any(|s| {
            s.effect == Effect::Allow
                && !s.principals.negated
                && s.principals.values.iter().any(|p| p == "*")
                && !s.conditions.iter().any(|c| NARROWING.contains(&c.key.as_str()))
        })
    }
}

impl Matcher {
    fn matches(&self, test: impl Fn(&str) -> bool) -> bool {
        self.values.iter().any(|v| test(v)) != self.negated
    }
}

impl Statement {
    fn applies(&self, request: &PolicyRequest<'_>) -> bool {
        self.principals.matches(|p| principal_matches(p, request.caller))
            && self.actions.matches(|a| glob_match(&a.to_ascii_lowercase(), &request.action.to_ascii_lowercase()))
            && self.resources.matches(|r| r == "*" || glob_match(r, &request.resource))
            && self.conditions.iter().all(|c| c.holds(&request.keys))
    }
}

fn principal_matches(pattern: &str, caller: Caller<'_>) -> bool {
    if pattern == "*" {
        return true;
    }
    let Caller::Key { account_id, key_id } = caller else { return false };
    let arn = pattern.strip_prefix("arn:aws:iam::");
    let (account, rest) = match arn.and_then(|a| a.split_once(':')) {
        Some((account, rest)) => (account, Some(rest)),
        None => (pattern, None),
    };
    match rest {
        None => pattern == account_id || pattern == key_id,
        Some("root") => account == account_id,
        Some(rest) => account == account_id && rest.strip_prefix("user/").is_some_and(|user| user == key_id),
    }
}

impl Condition {
    /// Values a policy writes for this operator must parse as the operator needs.
    fn check_values(&self) -> Result<()> {
        let bad = |v: &str| malformed(format!("the value {v:?} does not suit the condition on {}", self.key));
        for v in &self.values {
            let ok = match self.operator {
                Operator::Numeric(..) => v.parse::<f64>().is_ok(),
                Operator::Date(..) => parse_date(v).is_some(),
                Operator::Bool | Operator::Null => matches!(v.to_ascii_lowercase().as_str(), "true" | "false"),
                Operator::IpAddress => parse_network(v).is_some(),
                _ => true,
            };
            if !ok {
                return Err(bad(v));
            }
        }
        Ok(())
    }

    fn holds(&self, keys: &BTreeMap<String, Vec<String>>) -> bool {
        let present = keys.get(&self.key).filter(|v| !v.is_empty());
        if self.operator == Operator::Null {
            let wants_absent = self.values.iter().any(|v| v.eq_ignore_ascii_case("true"));
            return present.is_none() == wants_absent;
        }
        let Some(request_values) = present else {
            // A missing key matches nothing: a negated operator holds, `…IfExists` holds.
            return self.if_exists || self.negated;
        };
        let one = |value: &str| self.values.iter().any(|wanted| self.value_matches(wanted, value));
        let matched = if self.for_all_values { request_values.iter().all(|v| one(v)) } else { request_values.iter().any(|v| one(v)) };
        matched != self.negated
    }

    fn value_matches(&self, wanted: &str, value: &str) -> bool {
        match self.operator {
            Operator::StringEquals => wanted == value,
            Operator::StringEqualsIgnoreCase => wanted.eq_ignore_ascii_case(value),
            Operator::StringLike => glob_match(wanted, value),
            Operator::Numeric(order, or_equal) => match (value.parse::<f64>(), wanted.parse::<f64>()) {
                (Ok(v), Ok(w)) => v.partial_cmp(&w).is_some_and(|o| o == order || (or_equal && o.is_eq())),
                _ => false,
            },
            Operator::Date(order, or_equal) => match (parse_date(value), parse_date(wanted)) {
                (Some(v), Some(w)) => {
                    let o = v.cmp(&w);
                    o == order || (or_equal && o.is_eq())
                }
                _ => false,
            },
            Operator::Bool => wanted.eq_ignore_ascii_case(value),
            Operator::IpAddress => match (value.parse::<IpAddr>(), parse_network(wanted)) {
                (Ok(ip), Some(net)) => net.contains(&ip),
                _ => false,
            },
            Operator::Null => false,
        }
    }
}

fn parse_network(text: &str) -> Option<ipnet::IpNet> {
    text.parse::<ipnet::IpNet>().ok().or_else(|| text.parse::<IpAddr>().ok().map(ipnet::IpNet::from))
}

/// Seconds since the epoch, from an ISO 8601 (RFC 3339) date or a number of seconds.
fn parse_date(text: &str) -> Option<i64> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Some(seconds);
    }
    let parsed = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .or_else(|_| time::OffsetDateTime::parse(&format!("{text}T00:00:00Z"), &time::format_description::well_known::Rfc3339))
        .ok()?;
    Some(parsed.unix_timestamp())
}

/// `*` matches any run of characters, `?` any one character; everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if let Some((star, matched)) = backtrack {
            pi = star + 1;
            ti = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: Caller<'static> = Caller::Key { account_id: "acct1", key_id: "key1" };

    fn policy(statements: &str) -> Policy {
        Policy::parse(&format!(r#"{{"Version":"2012-10-17","Statement":{statements}}}"#), "bkt").expect("valid policy")
    }

    #[test]
    fn globs() {
        assert!(glob_match("public/*", "public/a/b"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("*", ""));
        assert!(glob_match("arn:aws:s3:::bkt/*.jpg", "arn:aws:s3:::bkt/x/y.jpg"));
        assert!(!glob_match("arn:aws:s3:::bkt/*.jpg", "arn:aws:s3:::bkt/x/y.png"));
    }

    #[test]
    fn anonymous_reads_of_a_prefix() {
        let p = policy(r#"[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/public/*"}]"#);
        let get = |key: &str| PolicyRequest::new(Caller::Anonymous, "s3:GetObject", "bkt", Some(key));
        assert_eq!(p.evaluate(&get("public/a.txt")), Decision::Allow);
        assert_eq!(p.evaluate(&get("private/a.txt")), Decision::Silent);
        assert_eq!(p.evaluate(&PolicyRequest::new(Caller::Anonymous, "s3:PutObject", "bkt", Some("public/a"))), Decision::Silent);
        assert!(p.is_public());
    }

    #[test]
    fn deny_wins_and_principals_name_keys() {
        let p = policy(
            r#"[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:*","Resource":"arn:aws:s3:::bkt/*"},
                {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::acct1:user/key1"},"Action":"s3:DeleteObject","Resource":"arn:aws:s3:::bkt/*"}]"#,
        );
        let delete = |caller| PolicyRequest::new(caller, "s3:DeleteObject", "bkt", Some("k"));
        assert_eq!(p.evaluate(&delete(KEY)), Decision::Deny);
        assert_eq!(p.evaluate(&delete(Caller::Key { account_id: "acct1", key_id: "key2" })), Decision::Allow);
        let root = policy(r#"[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::acct1:root"},"Action":"s3:GetObject","Resource":"*"}]"#);
        assert_eq!(root.evaluate(&PolicyRequest::new(KEY, "s3:GetObject", "bkt", Some("k"))), Decision::Deny);
        assert_eq!(root.evaluate(&PolicyRequest::new(Caller::Anonymous, "s3:GetObject", "bkt", Some("k"))), Decision::Silent);
    }

    #[test]
    fn conditions() {
        let p = policy(
            r#"[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::bkt/*",
                 "Condition":{"Bool":{"aws:SecureTransport":"false"}}},
                {"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::bkt",
                 "Condition":{"StringLike":{"s3:prefix":["home/*","pub/*"]},"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]"#,
        );
        let plain = PolicyRequest::new(Caller::Anonymous, "s3:GetObject", "bkt", Some("k")).with("aws:SecureTransport", "false");
        assert_eq!(p.evaluate(&plain), Decision::Deny);
        let list = |prefix: &str, ip: &str| {
            PolicyRequest::new(Caller::Anonymous, "s3:ListBucket", "bkt", None).with("s3:prefix", prefix).with("aws:SourceIp", ip)
        };
        assert_eq!(p.evaluate(&list("pub/x", "192.168.1.1")), Decision::Allow);
        assert_eq!(p.evaluate(&list("pub/x", "10.1.2.3")), Decision::Silent);
        assert_eq!(p.evaluate(&list("secret/", "192.168.1.1")), Decision::Silent);
        // A missing key: positive operators fail, negated ones and IfExists hold.
        let no_prefix = PolicyRequest::new(Caller::Anonymous, "s3:ListBucket", "bkt", None).with("aws:SourceIp", "1.2.3.4");
        assert_eq!(p.evaluate(&no_prefix), Decision::Silent);
        let exists = policy(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/*",
                "Condition":{"StringLikeIfExists":{"aws:Referer":"http://www.example.com/*"}}}"#,
        );
        assert_eq!(exists.evaluate(&PolicyRequest::new(Caller::Anonymous, "s3:GetObject", "bkt", Some("k"))), Decision::Allow);
        let referer = PolicyRequest::new(Caller::Anonymous, "s3:GetObject", "bkt", Some("k")).with("aws:Referer", "http://example.com");
        assert_eq!(exists.evaluate(&referer), Decision::Silent);
    }

    #[test]
    fn knows_when_it_reads_stored_tags() {
        let tagged = policy(
            r#"[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/*",
                 "Condition":{"StringEquals":{"s3:ExistingObjectTag/security":"public"}}}]"#,
        );
        assert!(tagged.reads_existing_object_tags());
        let plain = policy(r#"[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/*"}]"#);
        assert!(!plain.reads_existing_object_tags());
    }

    #[test]
    fn malformed_policies_are_refused() {
        let refused = |doc: &str| matches!(Policy::parse(doc, "bkt"), Err(Error::MalformedPolicy(_)));
        assert!(refused("not json"));
        assert!(refused(r#"{"Statement":[]}"#));
        assert!(refused(r#"{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#));
        assert!(refused(r#"{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"x"},"Action":"s3:ListBucket","Resource":"*"}]}"#));
        assert!(refused(r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ec2:RunInstances","Resource":"*"}]}"#));
        assert!(refused(r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}"#));
        assert!(refused(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringSorta":{"a":"b"}}}]}"#
        ));
        assert!(refused(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"nope"}}}]}"#
        ));
        assert!(refused(
            r#"{"Version":"2020-01-01","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#
        ));
    }
}
