//! B2 string encoding: percent-encoded UTF-8 in headers, paths and queries; `+` decodes to a space.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Everything outside what rclone leaves unencoded, so clients that do not decode still read names right.
const B2_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'.')
    .remove(b'_')
    .remove(b'-')
    .remove(b'/')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, B2_ENCODE).to_string()
}

/// Lossy on invalid UTF-8 so callers can reject the result by validation rather than by panic.
pub fn decode_plus(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// Strict form: invalid UTF-8 is an error.
pub fn decode_plus_strict(s: &str) -> Option<String> {
    let spaced = s.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8().ok().map(|c| c.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_and_space() {
        assert_eq!(encode("a b+c/ü.txt"), "a%20b%2Bc/%C3%BC.txt");
        assert_eq!(decode_plus("a+b%2Bc"), "a b+c");
        assert_eq!(decode_plus_strict("%C3%BC").as_deref(), Some("ü"));
        assert_eq!(decode_plus_strict("%FF"), None);
    }
}
