#![no_main]
//! Browser POST forms: the part-header reading in front of s3s (it once panicked on a multi-byte character).

libfuzzer_sys::fuzz_target!(|data: &[u8]| stowage_api::fuzzing::form_rewrite(data));
