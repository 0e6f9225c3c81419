//! Fuzz target: `steppe::fuzzing::sanitizer` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| steppe::fuzzing::sanitizer(data));
