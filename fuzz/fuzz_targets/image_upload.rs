//! Fuzz target: `steppe::fuzzing::image_upload` (decoding, bounds and variants) on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| steppe::fuzzing::image_upload(data));
