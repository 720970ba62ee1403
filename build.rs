//! Generates the wire codec (`src/wire/message.rs` includes it) from `wire-spec/*.csv`.

#[path = "wire-spec/codegen.rs"]
mod codegen;

use std::path::Path;

fn main() {
    let dir = Path::new("wire-spec");
    for file in [
        "bolt01.csv",
        "bolt02.csv",
        "bolt01-appendix-b.csv",
        "codegen.rs",
    ] {
        println!("cargo:rerun-if-changed=wire-spec/{file}");
    }
    let mut spec = codegen::load(dir).unwrap_or_else(|e| panic!("wire-spec: {e}"));
    // BOLT 1 Appendix B's test namespaces n1 and n2: generated for unit tests only.
    let appendix_b = std::fs::read_to_string(dir.join("bolt01-appendix-b.csv"))
        .unwrap_or_else(|e| panic!("wire-spec/bolt01-appendix-b.csv: {e}"));
    spec.parse("bolt01-appendix-b.csv", &appendix_b)
        .unwrap_or_else(|e| panic!("wire-spec: {e}"));
    let code = codegen::generate(&spec, &["n1".to_string(), "n2".to_string()])
        .unwrap_or_else(|e| panic!("wire-spec: {e}"));
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("wire_messages.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
