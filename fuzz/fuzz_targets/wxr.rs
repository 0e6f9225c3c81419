//! Fuzz target: `steppe::fuzzing::wxr` (the WordPress export reader and content conversion) on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| steppe::fuzzing::wxr(data));
