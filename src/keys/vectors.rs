//! Reader for the BOLT 3 appendix vector files under `wire-spec/vectors/` (tests only).
//!
//! The files are the appendices copied as text: `key: value` or `key = value` lines, some
//! behind a `# ` (the spec's comment lines carry data too, e.g. `# local_signature = ...`) or
//! an `INTERNAL: ` prefix. A line `name: ...` starts a named case; lines before the first case
//! form the header. Lines starting with `;;` are file comments (provenance). Lines without a
//! separator are kept verbatim in [`Case::lines`] for the callers that parse them.

use bitcoin::hex::FromHex;
use bitcoin::secp256k1::{PublicKey, SecretKey};

/// Ordered `key, value` pairs of one header or case.
#[derive(Debug, Default, Clone)]
pub(crate) struct Fields {
    pairs: Vec<(String, String)>,
    /// Every data line of the block (comment marker stripped), separator or not.
    pub(crate) lines: Vec<String>,
}

impl Fields {
    /// The value of the first `key`; panics (a broken vector file) if absent.
    pub(crate) fn get(&self, key: &str) -> &str {
        self.find(key)
            .unwrap_or_else(|| panic!("vector field `{key}` missing"))
    }

    /// The value of the first `key`, if present.
    pub(crate) fn find(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every `key, value` pair in file order.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// One named case of an appendix.
pub(crate) type Case = Fields;

/// A parsed vector file.
#[derive(Debug, Default)]
pub(crate) struct Vectors {
    header: Fields,
    cases: Vec<(String, Case)>,
}

impl Vectors {
    /// Parses a vector file (see the module doc for the format).
    pub(crate) fn parse(text: &str) -> Vectors {
        let mut vectors = Vectors::default();
        for raw in text.lines() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with(";;") || line == "<!--" || line == "-->" {
                continue;
            }
            let line = line.strip_prefix("<!-- ").unwrap_or(line);
            let line = line.strip_prefix("# ").unwrap_or(line);
            let line = line.strip_prefix("INTERNAL: ").unwrap_or(line);
            let colon = line.find(": ");
            let equals = line.find(" = ");
            let split = match (colon, equals) {
                (Some(c), Some(e)) if e < c => Some((e, 3)),
                (Some(c), _) => Some((c, 2)),
                (None, Some(e)) => Some((e, 3)),
                (None, None) => None,
            };
            if let Some((at, sep)) = split {
                let key = line[..at].trim().to_owned();
                let value = line[at + sep..].trim().to_owned();
                if key == "name" {
                    vectors.cases.push((value, Fields::default()));
                    continue;
                }
                let block = vectors.current();
                block.pairs.push((key, value));
            }
            vectors.current().lines.push(line.to_owned());
        }
        vectors
    }

    fn current(&mut self) -> &mut Fields {
        match self.cases.last_mut() {
            Some((_, case)) => case,
            None => &mut self.header,
        }
    }

    /// The fields before the first named case.
    pub(crate) fn header(&self) -> &Fields {
        &self.header
    }

    /// The case called `name`; panics (a test naming a case the spec lacks) if absent.
    pub(crate) fn case(&self, name: &str) -> &Case {
        self.cases
            .iter()
            .find(|(n, _)| n == name)
            .map_or_else(|| panic!("vector case `{name}` missing"), |(_, c)| c)
    }

    /// Every case name, in file order.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.cases.iter().map(|(n, _)| n.as_str())
    }
}

/// Hex bytes, with or without a `0x` prefix.
pub(crate) fn hex(s: &str) -> Vec<u8> {
    Vec::<u8>::from_hex(s.trim_start_matches("0x")).unwrap_or_else(|e| panic!("bad hex {s}: {e}"))
}

/// Exactly 32 hex bytes.
pub(crate) fn hex32(s: &str) -> [u8; 32] {
    hex(s)
        .try_into()
        .unwrap_or_else(|_| panic!("not 32 bytes: {s}"))
}

/// A compressed public key in hex.
pub(crate) fn parse_pubkey(s: &str) -> PublicKey {
    PublicKey::from_slice(&hex(s)).unwrap_or_else(|e| panic!("bad pubkey {s}: {e}"))
}

/// A private key in hex: 32 bytes, or 33 with Bitcoin's trailing `01` "compressed" marker
/// (BOLT 3 Appendix C displays them that way).
pub(crate) fn parse_secret(s: &str) -> SecretKey {
    let bytes = hex(s);
    let bytes = match bytes.len() {
        33 if bytes[32] == 1 => &bytes[..32],
        _ => &bytes[..],
    };
    SecretKey::from_slice(bytes).unwrap_or_else(|e| panic!("bad secret {s}: {e}"))
}
