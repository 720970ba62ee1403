//! The BOLT 8 Appendix A vectors, read from `wire-spec/vectors/bolt08-appendix-a.txt` (test
//! builds only). The file is the BOLT's text; this parser only splits it into named cases.

use bitcoin::hex::FromHex as _;

/// The vector file, verbatim.
const APPENDIX_A: &str = include_str!("../../wire-spec/vectors/bolt08-appendix-a.txt");

/// One named case: its `key: value` (or `key=value`) lines, in order.
pub(crate) struct Case {
    /// The case's `name`.
    name: String,
    /// Every other line, in file order (`input` and `output` repeat once per act).
    fields: Vec<(String, String)>,
}

impl Case {
    /// The first value of `key`; panics (failing the test) if the case has none.
    pub(crate) fn get(&self, key: &str) -> &str {
        self.fields
            .iter()
            .find_map(|(k, v)| (k == key).then_some(v.as_str()))
            .unwrap_or_else(|| panic!("vector {:?} has no {key:?}", self.name))
    }

    /// Every value of `key`, in order.
    pub(crate) fn all(&self, key: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Every case of the file.
pub(crate) fn cases() -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    for line in APPENDIX_A.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let split = line
            .find([':', '='])
            .unwrap_or_else(|| panic!("unparsable line {line:?}"));
        let key = line[..split].trim().to_owned();
        let value = line[split + 1..].trim().to_owned();
        if key == "name" {
            cases.push(Case {
                name: value,
                fields: Vec::new(),
            });
        } else {
            cases
                .last_mut()
                .expect("a field before the first name")
                .fields
                .push((key, value));
        }
    }
    cases
}

/// The case called `name`; panics (failing the test) if the file has none.
pub(crate) fn vector(name: &str) -> Case {
    cases()
        .into_iter()
        .find(|case| case.name == name)
        .unwrap_or_else(|| panic!("no vector named {name:?}"))
}

/// Bytes of a hex value, with or without `0x`.
pub(crate) fn hex_bytes(value: &str) -> Vec<u8> {
    let hex = value.trim().trim_start_matches("0x");
    Vec::<u8>::from_hex(hex).unwrap_or_else(|e| panic!("bad hex {value:?}: {e}"))
}

/// A 32-byte hex value.
pub(crate) fn hex32(value: &str) -> [u8; 32] {
    hex_bytes(value).try_into().expect("32 bytes")
}

#[test]
fn appendix_a_has_every_named_case() {
    let names: Vec<String> = cases().into_iter().map(|case| case.name).collect();
    assert_eq!(names.len(), 16, "{names:?}");
}
