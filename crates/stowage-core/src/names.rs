//! Validation of bucket names, file names, file info and key names, shared by both APIs.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

pub const MAX_FILE_NAME_BYTES: usize = 1024;
pub const MAX_SEGMENT_BYTES: usize = 250;
pub const MAX_INFO_ENTRIES: usize = 10;
pub const MAX_INFO_BYTES: usize = 7000;

/// B2 bucket names: 6-63 characters of letters, digits and `-`, not starting with `b2-`.
/// Own paths (`/_console`, `/_health`, ...) contain `_`, so they never collide with a bucket.
pub fn check_bucket_name(name: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::InvalidBucketName(format!("Invalid bucket name {name:?}: {why}")));
    if name.len() < 6 || name.len() > 63 {
        return bad("must be 6 to 63 characters long");
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return bad("may contain only letters, digits and '-'");
    }
    if name.to_ascii_lowercase().starts_with("b2-") {
        return bad("must not start with 'b2-'");
    }
    // B2 takes names that begin or end with '-' (randomly named test buckets do, about one in 37).
    Ok(())
}

/// A bucket name as S3 CreateBucket takes it: 3 to 63 lowercase letters, digits, '.' and '-', starting and
/// ending with a letter or digit, no "..", not an IPv4 address; and not B2's reserved "b2-" prefix.
pub fn check_s3_bucket_name(name: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::InvalidBucketName(format!("Invalid bucket name {name:?}: {why}")));
    if name.len() < 3 || name.len() > 63 {
        return bad("must be 3 to 63 characters long");
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.') {
        return bad("may contain only lowercase letters, digits, '.' and '-'");
    }
    let edge_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    if !edge_ok(name.bytes().next()) || !edge_ok(name.bytes().last()) {
        return bad("must start and end with a letter or digit");
    }
    if name.contains("..") || name.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("must not contain '..' or be an IP address");
    }
    if name.starts_with("b2-") {
        return bad("must not start with 'b2-'");
    }
    Ok(())
}

pub fn check_file_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid("File names must contain at least one character"));
    }
    if name.len() > MAX_FILE_NAME_BYTES {
        return Err(Error::invalid(format!("File names in UTF8 must be no more than {MAX_FILE_NAME_BYTES} bytes")));
    }
    if name.chars().any(|c| (c as u32) < 32 || c as u32 == 127) {
        return Err(Error::invalid("File names must not contain control characters"));
    }
    if name.split('/').any(|segment| segment.len() > MAX_SEGMENT_BYTES) {
        return Err(Error::invalid(format!("File name segments between '/' must be no more than {MAX_SEGMENT_BYTES} bytes")));
    }
    Ok(())
}

/// Checks one file-info key (already lower-cased) and value.
fn check_info_entry(key: &str, value: &str) -> Result<()> {
    if key.is_empty() || key.len() > 50 {
        return Err(Error::invalid(format!("Invalid file info name {key:?}: must be 1 to 50 bytes")));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.`~!#$%^&*'|+".contains(c);
    if !key.chars().all(allowed) {
        return Err(Error::invalid(format!("Invalid character in file info name {key:?}")));
    }
    if key.starts_with("b2-") {
        const RESERVED: &[&str] =
            &["b2-content-disposition", "b2-content-language", "b2-expires", "b2-cache-control", "b2-content-encoding"];
        if !RESERVED.contains(&key) {
            return Err(Error::invalid(format!("Unknown reserved file info name {key:?}")));
        }
        if key == "b2-expires" && httpdate_like(value).is_none() {
            return Err(Error::invalid("b2-expires must be an HTTP date"));
        }
        // These become response headers as they are; any other value is sent percent-encoded (B2) or
        // RFC 2047-encoded (S3), so B2 stores any UTF-8 there (a b2 CLI `sse_c_key_id` may hold a newline).
        if value.chars().any(|c| (c as u32) < 32 && c != '\t') {
            return Err(Error::invalid(format!("Invalid character in file info value for {key:?}")));
        }
    }
    Ok(())
}

/// Loose RFC 7231 date check ("Sun, 06 Nov 1994 08:49:37 GMT").
fn httpdate_like(value: &str) -> Option<()> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    (parts.len() == 6 && parts[5] == "GMT" && parts[0].ends_with(',')).then_some(())
}

/// Validates file info and the combined size limit B2 applies to the name plus info.
pub fn check_file_info(name: &str, info: &BTreeMap<String, String>) -> Result<()> {
    if info.len() > MAX_INFO_ENTRIES {
        return Err(Error::invalid(format!("Too many file info entries: at most {MAX_INFO_ENTRIES}")));
    }
    let mut total = name.len();
    for (key, value) in info {
        check_info_entry(key, value)?;
        total += key.len() + value.len();
    }
    if total > MAX_INFO_BYTES {
        return Err(Error::invalid(format!("File name and file info together must be at most {MAX_INFO_BYTES} bytes")));
    }
    Ok(())
}

/// Application key names: 1-100 of letters, digits and `-`.
pub fn check_key_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 100 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(Error::invalid(format!("Invalid key name {name:?}: 1 to 100 letters, digits and '-'")));
    }
    Ok(())
}

/// Smallest string greater than every string starting with `prefix`, or None when there is none.
pub fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = char::from_u32(last as u32 + 1).or_else(|| char::from_u32(last as u32 + 0x801)) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        assert!(check_bucket_name("my-bucket").is_ok());
        assert!(check_bucket_name("MyBucket1").is_ok());
        assert!(check_bucket_name("short").is_err());
        assert!(check_bucket_name("has_underscore").is_err());
        assert!(check_bucket_name("b2-reserved").is_err());
        assert!(check_bucket_name(&"a".repeat(64)).is_err());
        assert!(check_bucket_name("with.period").is_err());
        assert!(check_bucket_name("-leading").is_ok() && check_bucket_name("trailing-").is_ok());
        assert!(check_s3_bucket_name("with.period").is_ok());
        assert!(check_s3_bucket_name("abc").is_ok());
        for bad in ["ab", "Upper", "a..b", ".start", "end-", "192.168.1.1", "b2-x", "under_score"] {
            assert!(check_s3_bucket_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn file_names() {
        assert!(check_file_name("photos/cat.jpg").is_ok());
        assert!(check_file_name("ünïcødé/文件.txt").is_ok());
        assert!(check_file_name("").is_err());
        assert!(check_file_name("a\nb").is_err());
        assert!(check_file_name("a\u{7f}").is_err());
        assert!(check_file_name(&"x".repeat(1025)).is_err());
        assert!(check_file_name(&format!("{}/b", "x".repeat(251))).is_err());
    }

    #[test]
    fn upper_bounds_order_after_every_extension() {
        assert_eq!(prefix_upper_bound("photos/").as_deref(), Some("photos0"));
        assert_eq!(prefix_upper_bound(""), None);
        let bound = prefix_upper_bound("ab").expect("bound");
        assert!("ab\u{10FFFF}zzz" < bound.as_str());
        assert!("ac" >= bound.as_str());
    }

    #[test]
    fn info_limits() {
        let mut info = BTreeMap::new();
        info.insert("src_last_modified_millis".to_string(), "123".to_string());
        assert!(check_file_info("a", &info).is_ok());
        info.insert("b2-bogus".into(), "x".into());
        assert!(check_file_info("a", &info).is_err());
        let many: BTreeMap<_, _> = (0..11).map(|i| (format!("k{i}"), "v".to_string())).collect();
        assert!(check_file_info("a", &many).is_err());
    }
}
