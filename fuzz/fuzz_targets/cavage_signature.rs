//! Fuzz target: `steppe::fuzzing::cavage_signature` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| steppe::fuzzing::cavage_signature(data));
