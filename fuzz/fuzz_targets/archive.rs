//! Fuzz target: `steppe::fuzzing::archive` (the check `steppe import archive` makes before writing) on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| steppe::fuzzing::archive(data));
