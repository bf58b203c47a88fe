#![no_main]
//! B2 call parameters (JSON bodies and query strings) and B2 percent-decoding.

libfuzzer_sys::fuzz_target!(|data: &[u8]| stowage_api::fuzzing::b2_params(data));
