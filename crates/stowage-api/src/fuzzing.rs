//! Entry points for `fuzz/`: the parsers that read network input before authentication, each fed raw
//! bytes. Built only with the `fuzzing` feature.

/// The browser-form rewriter (`${filename}` substitution and the policy check), fed in chunks whose size
/// the first byte chooses.
pub fn form_rewrite(data: &[u8]) {
    let Some((&chunk, body)) = data.split_first() else { return };
    crate::s3::post_form::fuzz_feed(body, usize::from(chunk).max(1));
}

/// B2 call parameters: a JSON body, or a query string when the body is blank (split at the first NUL),
/// and the B2 percent-decoding of names.
pub fn b2_params(data: &[u8]) {
    let (body, query) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], std::str::from_utf8(&data[i + 1..]).ok()),
        None => (data, None),
    };
    if let Ok(params) = crate::b2::params::Params::parse(body, query) {
        for name in ["bucketId", "fileName", "startFileName", "maxFileCount", "prefix", "delimiter", "fileId"] {
            let _ = params.has(name);
        }
    }
    if let Some(q) = query {
        let _ = crate::b2::query_pairs(Some(q));
        let _ = crate::b2::encoding::decode_plus_strict(q);
    }
}
