//! Reading the HTLC transactions of BOLT 3 Appendix C cases, shared by the vector tests of
//! `tx::commitment` and of the channel core (`channel/tests/vectors.rs`).

use bitcoin::hex::DisplayHex;
use bitcoin::secp256k1::ecdsa::Signature;

use crate::keys::vectors::Case;
use crate::tx::HtlcTxKind;

/// A signature as the appendix prints it: DER, lower-case hex, no sighash byte.
pub(crate) fn der(sig: &Signature) -> String {
    sig.serialize_der().to_lower_hex_string()
}

/// One expected HTLC transaction of a case, in signature order.
pub(crate) struct HtlcExpectation {
    /// The commitment output it spends.
    pub(crate) vout: u32,
    /// The appendix's HTLC number.
    pub(crate) id: usize,
    /// Timeout or success.
    pub(crate) kind: HtlcTxKind,
    /// `remote_htlc_signature`.
    pub(crate) remote_sig: String,
    /// `local_htlc_signature`.
    pub(crate) local_sig: String,
    /// The signed transaction, hex.
    pub(crate) tx: String,
}

/// The case's blocks `signature for output #v (htlc-<kind> for htlc #n)`, then the two HTLC
/// signatures and `htlc_<kind>_tx (htlc #n): <hex>`.
pub(crate) fn htlc_expectations(case: &Case) -> Vec<HtlcExpectation> {
    let mut out: Vec<HtlcExpectation> = Vec::new();
    for line in &case.lines {
        if let Some(rest) = line.strip_prefix("signature for output #") {
            let (vout, rest) = rest.split_once(" (htlc-").unwrap();
            let (kind, id) = rest
                .trim_end_matches(')')
                .split_once(" for htlc #")
                .unwrap();
            out.push(HtlcExpectation {
                vout: vout.parse().unwrap(),
                id: id.parse().unwrap(),
                kind: match kind {
                    "success" => HtlcTxKind::Success,
                    "timeout" => HtlcTxKind::Timeout,
                    other => panic!("HTLC transaction kind {other}"),
                },
                remote_sig: String::new(),
                local_sig: String::new(),
                tx: String::new(),
            });
        } else if let Some(last) = out.last_mut() {
            if let Some(sig) = line.strip_prefix("remote_htlc_signature = ") {
                sig.clone_into(&mut last.remote_sig);
            } else if let Some(sig) = line.strip_prefix("local_htlc_signature = ") {
                sig.clone_into(&mut last.local_sig);
            } else if let Some((label, tx)) = line.split_once("): ") {
                let kind = match last.kind {
                    HtlcTxKind::Success => "success",
                    HtlcTxKind::Timeout => "timeout",
                };
                assert_eq!(label, format!("htlc_{kind}_tx (htlc #{}", last.id));
                tx.clone_into(&mut last.tx);
            }
        }
    }
    for e in &out {
        assert!(!e.remote_sig.is_empty() && !e.local_sig.is_empty() && !e.tx.is_empty());
    }
    out
}
