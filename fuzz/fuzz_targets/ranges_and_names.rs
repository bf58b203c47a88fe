#![no_main]
//! Range headers (both APIs parse them with `ByteRange`) resolved against sizes, and file-name checks.

use stowage_core::service::ByteRange;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some(range) = ByteRange::parse(text) {
        for size in [0u64, 1, 10, 1 << 20, u64::MAX] {
            if let Ok((offset, len)) = range.resolve(size) {
                assert!(len >= 1 && offset.checked_add(len).is_some_and(|end| end <= size), "{text:?} on {size}: {offset}+{len}");
            }
        }
    }
    let _ = stowage_core::names::check_file_name(text);
});
