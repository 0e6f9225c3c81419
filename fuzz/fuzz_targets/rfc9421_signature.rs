//! Fuzz target: `steppe::fuzzing::rfc9421_signature` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| steppe::fuzzing::rfc9421_signature(data));
