//! Fuzz target: `steppe::fuzzing::inbox_body` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| steppe::fuzzing::inbox_body(data));
