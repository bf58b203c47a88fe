#![no_main]
//! Browser form policies: the policy document and its conditions checked against form fields.

libfuzzer_sys::fuzz_target!(|data: &[u8]| stowage_api::fuzzing::form_policy(data));
