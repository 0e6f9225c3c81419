//! Fuzz target: `steppe::fuzzing::markdown` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| steppe::fuzzing::markdown(data));
