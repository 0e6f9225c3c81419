//! The fuzzers' committed corpus and crash inputs (`fuzz/corpus/TARGET`, `fuzz/artifacts/TARGET`), replayed through
//! the same harness functions as `cargo fuzz` uses, on stable Rust: every input that ever crashed stays fixed.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut inputs = 0;
    for folder in ["corpus", "artifacts"] {
        let dir = root.join(folder).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("corpus entry").path();
            if path.is_file() {
                let data = std::fs::read(&path).expect("corpus file");
                let outcome = std::panic::catch_unwind(|| run(&data));
                assert!(outcome.is_ok(), "{target}: {} fails", path.display());
                inputs += 1;
            }
        }
    }
    assert!(inputs > 0, "{target}: no committed inputs under fuzz/");
}

#[test]
fn inbox_body() {
    replay("inbox_body", steppe::fuzzing::inbox_body);
}

#[test]
fn cavage_signature() {
    replay("cavage_signature", steppe::fuzzing::cavage_signature);
}

#[test]
fn rfc9421_signature() {
    replay("rfc9421_signature", steppe::fuzzing::rfc9421_signature);
}

#[test]
fn sanitizer() {
    replay("sanitizer", steppe::fuzzing::sanitizer);
}

#[test]
fn markdown() {
    replay("markdown", steppe::fuzzing::markdown);
}

#[test]
fn image_upload() {
    replay("image_upload", steppe::fuzzing::image_upload);
}

#[test]
fn wxr() {
    replay("wxr", steppe::fuzzing::wxr);
}

#[test]
fn archive() {
    replay("archive", steppe::fuzzing::archive);
}
