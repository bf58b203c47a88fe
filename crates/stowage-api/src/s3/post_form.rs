//! Browser form (POST) uploads: `${filename}` in the `key` field stands for the name of the uploaded file.
//!
//! s3s parses the form but drops the file part's name, and it reads the key before the adapter sees the
//! request (for the policy check, the 201 XML and the redirect). So the substitution happens on the body
//! itself, before s3s: the fields before the file part are held back (they are small; S3 puts the file
//! last), and once the file part's headers arrive the `key` field's value is rewritten and everything is
//! passed on unchanged otherwise.
//!
//! The same look at the fields refuses a form without a `policy` before its file is read: s3s holds a form's
//! file in memory before access is decided, and B2 buckets are never publicly writable, so an unsigned form
//! could only cost memory.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, header};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

/// Fields before the file part larger than this are not a browser form S3 would accept; pass them on as is.
const MAX_HELD_BACK: usize = 1 << 20;
const PLACEHOLDER: &[u8] = b"${filename}";

/// Wraps a POST form upload's body so `${filename}` in its key is replaced; other requests pass untouched.
pub fn substitute_filename(request: Request) -> Request {
    if request.method() != Method::POST {
        return request;
    }
    let Some(boundary) = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(form_boundary) else {
        return request;
    };
    let (parts, body) = request.into_parts();
    let rewriter =
        Arc::new(Mutex::new(Rewriter { delimiter: format!("--{boundary}").into_bytes(), held: BytesMut::new(), passing: false }));
    let at_end = rewriter.clone();
    let stream = body
        .into_data_stream()
        .map(move |chunk| match (chunk, rewriter.lock()) {
            (Ok(bytes), Ok(mut r)) => r.feed(bytes).map_err(axum::Error::new),
            (Ok(_), Err(_)) => Err(axum::Error::new(std::io::Error::other("form rewriter unavailable"))),
            (Err(e), _) => Err(e),
        })
        // A form that never reached a file part: hand on what was held back, for s3s to refuse.
        .chain(futures::stream::once(async move { Ok(at_end.lock().map(|mut r| r.held.split().freeze()).unwrap_or_default()) }));
    Request::from_parts(parts, Body::from_stream(stream))
}

/// Feeds `body` through a rewriter in `chunk`-byte pieces, as a fuzz target.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_feed(body: &[u8], chunk: usize) {
    let mut rewriter = Rewriter { delimiter: b"--XyZ".to_vec(), held: BytesMut::new(), passing: false };
    for piece in body.chunks(chunk) {
        if rewriter.feed(Bytes::copy_from_slice(piece)).is_err() {
            return;
        }
    }
}

fn form_boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    if !params.next()?.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (name, value) = p.trim().split_once('=')?;
        name.trim().eq_ignore_ascii_case("boundary").then(|| value.trim().trim_matches('"').to_string())
    })
}

struct Rewriter {
    delimiter: Vec<u8>,
    held: BytesMut,
    /// Set once the file part's headers were seen (or holding back was given up): bytes flow through.
    passing: bool,
}

impl Rewriter {
    fn feed(&mut self, bytes: Bytes) -> std::io::Result<Bytes> {
        if self.passing {
            return Ok(bytes);
        }
        self.held.extend_from_slice(&bytes);
        if let Some(end) = self.file_part_headers_end() {
            if !field_names(&self.held[..end], &self.delimiter).iter().any(|n| n.eq_ignore_ascii_case("policy")) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    "a form upload needs a policy signed with an application key",
                ));
            }
            self.passing = true;
            let held = self.held.split().freeze();
            return Ok(rewrite_key(&held, end, &self.delimiter).unwrap_or(held));
        }
        if self.held.len() > MAX_HELD_BACK {
            self.passing = true;
            return Ok(self.held.split().freeze());
        }
        Ok(Bytes::new())
    }

    /// Where the file part's headers end (the offset of its content), once they have all arrived.
    fn file_part_headers_end(&self) -> Option<usize> {
        let mut at = 0;
        while let Some(found) = find(&self.held[at..], &self.delimiter) {
            let start = at + found + self.delimiter.len();
            let headers_end = find(&self.held[start..], b"\r\n\r\n")? + start + 4;
            if let Some((name, _)) = disposition(&self.held[start..headers_end])
                && name.eq_ignore_ascii_case("file")
            {
                return Some(headers_end);
            }
            at = headers_end;
        }
        None
    }
}

/// Rewrites the `key` field in `held[..file_content]`, using the file part's `filename`.
fn rewrite_key(held: &[u8], file_content: usize, delimiter: &[u8]) -> Option<Bytes> {
    let file_headers_start = rfind(&held[..file_content], delimiter)? + delimiter.len();
    let file_name = disposition(&held[file_headers_start..file_content])?.1?;
    let mut out = BytesMut::with_capacity(held.len() + file_name.len());
    let mut at = 0;
    while let Some(found) = find(&held[at..file_content], delimiter) {
        let headers_start = at + found + delimiter.len();
        let headers_end = find(&held[headers_start..], b"\r\n\r\n")? + headers_start + 4;
        let value_end = find(&held[headers_end..], delimiter).map_or(held.len(), |i| i + headers_end);
        out.extend_from_slice(&held[at..headers_end]);
        match disposition(&held[headers_start..headers_end]) {
            Some((name, _)) if name.eq_ignore_ascii_case("key") => {
                out.extend_from_slice(&replace(&held[headers_end..value_end], &file_name))
            }
            _ => out.extend_from_slice(&held[headers_end..value_end]),
        }
        at = value_end;
        if at >= file_content {
            break;
        }
    }
    out.extend_from_slice(&held[at..]);
    Some(out.freeze())
}

/// The names of the form fields in `held`.
fn field_names(held: &[u8], delimiter: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    let mut at = 0;
    while let Some(found) = find(&held[at..], delimiter) {
        let start = at + found + delimiter.len();
        let Some(headers_end) = find(&held[start..], b"\r\n\r\n").map(|i| i + start + 4) else { break };
        if let Some((name, _)) = disposition(&held[start..headers_end]) {
            names.push(name);
        }
        at = headers_end;
    }
    names
}

fn replace(value: &[u8], file_name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + file_name.len());
    let mut rest = value;
    while let Some(i) = find(rest, PLACEHOLDER) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(file_name.as_bytes());
        rest = &rest[i + PLACEHOLDER.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// The `name` and `filename` of a part's Content-Disposition header.
fn disposition(headers: &[u8]) -> Option<(String, Option<String>)> {
    let text = String::from_utf8_lossy(headers);
    // `get` rather than slicing: a multi-byte character may straddle byte 20 of a hostile header line.
    let line = text.lines().find(|l| l.get(..20).is_some_and(|h| h.eq_ignore_ascii_case("content-disposition:")))?;
    let param = |key: &str| {
        line.split(';').skip(1).find_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            k.trim().eq_ignore_ascii_case(key).then(|| v.trim().trim_matches('"').to_string())
        })
    };
    Some((param("name")?, param("filename")))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(key: &str, file_name: &str, content: &str) -> String {
        format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n{key}\r\n\
             --XyZ\r\nContent-Disposition: form-data; name=\"policy\"\r\n\r\neyJ9\r\n\
             --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: text/plain\r\n\r\n{content}\r\n--XyZ--\r\n"
        )
    }

    fn run(body: &str, chunk: usize) -> String {
        let mut rewriter = Rewriter { delimiter: b"--XyZ".to_vec(), held: BytesMut::new(), passing: false };
        let mut out = Vec::new();
        for piece in body.as_bytes().chunks(chunk) {
            out.extend_from_slice(&rewriter.feed(Bytes::copy_from_slice(piece)).unwrap_or_default());
        }
        if !rewriter.passing {
            out.extend_from_slice(&rewriter.held);
        }
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn the_key_gets_the_file_name_whatever_the_chunking() {
        let body = form("uploads/${filename}", "photo one.jpg", "${filename} stays in content");
        for chunk in [1, 7, 64, 4096] {
            assert_eq!(run(&body, chunk), form("uploads/photo one.jpg", "photo one.jpg", "${filename} stays in content"), "chunk {chunk}");
        }
    }

    #[test]
    fn forms_without_the_placeholder_pass_unchanged() {
        let body = form("fixed/name.txt", "a.txt", "data");
        assert_eq!(run(&body, 5), body);
    }

    #[test]
    fn a_form_without_a_policy_is_refused_at_its_file() {
        let body = form("k", "a.txt", "data").replace("name=\"policy\"", "name=\"other\"");
        let mut rewriter = Rewriter { delimiter: b"--XyZ".to_vec(), held: BytesMut::new(), passing: false };
        let outcome: std::io::Result<Vec<Bytes>> =
            body.as_bytes().chunks(16).map(|piece| rewriter.feed(Bytes::copy_from_slice(piece))).collect();
        assert_eq!(outcome.err().map(|e| e.kind()), Some(std::io::ErrorKind::PermissionDenied));
    }

    #[test]
    fn multi_byte_characters_in_part_headers_are_not_a_panic() {
        // "é" straddles byte 20 of the header line; before, slicing there panicked the connection task.
        for header in ["Content-Dispositioné: x", "Content-Dispositio\u{e9}n: form-data; name=\"key\"", "ééééééééééééééééééééé"]
        {
            let body = format!(
                "--XyZ\r\n{header}\r\n\r\nvalue\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ü.txt\"\r\n\r\ndata\r\n--XyZ--\r\n"
            );
            let mut rewriter = Rewriter { delimiter: b"--XyZ".to_vec(), held: BytesMut::new(), passing: false };
            for piece in body.as_bytes().chunks(3) {
                let _ = rewriter.feed(Bytes::copy_from_slice(piece));
            }
        }
    }

    #[test]
    fn boundary_comes_from_the_content_type() {
        assert_eq!(form_boundary("multipart/form-data; boundary=\"abc\""), Some("abc".into()));
        assert_eq!(form_boundary("application/xml"), None);
    }
}
