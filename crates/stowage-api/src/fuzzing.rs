//! Entry points for `fuzz/`: the parsers that read network input before authentication, each fed raw
//! bytes. Built only with the `fuzzing` feature.

/// A browser form's policy document (base64 JSON) and its conditions checked against form fields; the
/// input is the policy, a NUL, then `name=value` lines.
pub fn form_policy(data: &[u8]) {
    crate::s3::fuzz_form_policy(data);
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
