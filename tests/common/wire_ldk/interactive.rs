//! BOLT 2 interactive transaction construction: `tx_add_input`, `tx_add_output`,
//! `tx_remove_input`, `tx_remove_output`, `tx_complete`, `tx_signatures`, `tx_init_rbf`,
//! `tx_ack_rbf`, `tx_abort`.

use bitcoin::consensus::serialize;
use bitcoin::{absolute, transaction, Amount, OutPoint, Sequence, Transaction, TxIn, TxOut};
use lightning::ln::msgs as ldk;
use petrel::wire::{self, Sampler};

use super::{channel_id, check, int, int32, script, signature, some_bytes, txid, Pair, Tlvs};

/// A witness stack of a few random elements.
fn witness(s: &mut Sampler) -> bitcoin::Witness {
    let elements: Vec<Vec<u8>> = (0..1 + s.below(4))
        .map(|_| {
            let n = usize::try_from(s.below(80)).unwrap_or(0);
            s.bytes(n)
        })
        .collect();
    bitcoin::Witness::from_slice(&elements)
}

/// A random (not necessarily meaningful) transaction with at least one input and output, so its
/// consensus serialization is unambiguous.
pub fn transaction(s: &mut Sampler) -> Transaction {
    let segwit = s.coin();
    let input = (0..1 + s.below(3))
        .map(|_| TxIn {
            previous_output: OutPoint {
                txid: txid(s),
                vout: int32(s),
            },
            script_sig: script(s),
            sequence: Sequence(int32(s)),
            witness: if segwit {
                witness(s)
            } else {
                bitcoin::Witness::new()
            },
        })
        .collect();
    let output = (0..1 + s.below(3))
        .map(|_| TxOut {
            value: Amount::from_sat(s.below(21_000_000 * 100_000_000)),
            script_pubkey: script(s),
        })
        .collect();
    Transaction {
        version: transaction::Version(2),
        lock_time: absolute::LockTime::from_consensus(int32(s)),
        input,
        output,
    }
}

pub fn same_tx_add_input(p: &wire::TxAddInput, l: &ldk::TxAddInput) {
    check("tx_add_input", "channel_id", p.channel_id.0, l.channel_id.0);
    check("tx_add_input", "serial_id", p.serial_id, l.serial_id);
    // LDK holds `prevtx` parsed, `None` for `prevtx_len` 0 (a shared input).
    let ldk_prevtx = l.prevtx.as_ref().map(serialize).unwrap_or_default();
    check("tx_add_input", "prevtx", &p.prevtx, &ldk_prevtx);
    check("tx_add_input", "prevtx_vout", p.prevtx_vout, l.prevtx_out);
    check("tx_add_input", "sequence", p.sequence, l.sequence);
    check(
        "tx_add_input",
        "tlvs.shared_input_txid",
        p.tlvs.shared_input_txid,
        l.shared_input_txid,
    );
}

impl Pair for wire::TxAddInput {
    type Ldk = ldk::TxAddInput;
    fn same(p: &Self, l: &ldk::TxAddInput) {
        same_tx_add_input(p, l);
    }
    /// BOLT 2: `prevtx` is a serialized transaction (the receiver fails the negotiation
    /// otherwise); LDK parses it while decoding, so it must be one.
    fn restrict(p: &mut Self, s: &mut Sampler) {
        if !p.prevtx.is_empty() {
            p.prevtx = serialize(&transaction(s));
        }
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::TxAddInput {
        let shared = tlvs.pick(s);
        ldk::TxAddInput {
            channel_id: channel_id(s),
            serial_id: int(s),
            // BOLT 2: a shared input is added without `prevtx`.
            prevtx: if shared { None } else { Some(transaction(s)) },
            prevtx_out: int32(s),
            sequence: int32(s),
            shared_input_txid: if shared { Some(txid(s)) } else { None },
        }
    }
}

pub fn same_tx_add_output(p: &wire::TxAddOutput, l: &ldk::TxAddOutput) {
    check(
        "tx_add_output",
        "channel_id",
        p.channel_id.0,
        l.channel_id.0,
    );
    check("tx_add_output", "serial_id", p.serial_id, l.serial_id);
    check("tx_add_output", "sats", p.sats.to_sat(), l.sats);
    check(
        "tx_add_output",
        "script",
        p.script.as_slice(),
        l.script.as_bytes(),
    );
}

impl Pair for wire::TxAddOutput {
    type Ldk = ldk::TxAddOutput;
    fn same(p: &Self, l: &ldk::TxAddOutput) {
        same_tx_add_output(p, l);
    }
    fn ldk_build(s: &mut Sampler, _: Tlvs) -> ldk::TxAddOutput {
        ldk::TxAddOutput {
            channel_id: channel_id(s),
            serial_id: int(s),
            sats: int(s),
            script: script(s),
        }
    }
}

pub fn same_tx_remove_input(p: &wire::TxRemoveInput, l: &ldk::TxRemoveInput) {
    check(
        "tx_remove_input",
        "channel_id",
        p.channel_id.0,
        l.channel_id.0,
    );
    check("tx_remove_input", "serial_id", p.serial_id, l.serial_id);
}

impl Pair for wire::TxRemoveInput {
    type Ldk = ldk::TxRemoveInput;
    fn same(p: &Self, l: &ldk::TxRemoveInput) {
        same_tx_remove_input(p, l);
    }
    fn ldk_build(s: &mut Sampler, _: Tlvs) -> ldk::TxRemoveInput {
        ldk::TxRemoveInput {
            channel_id: channel_id(s),
            serial_id: int(s),
        }
    }
}

pub fn same_tx_remove_output(p: &wire::TxRemoveOutput, l: &ldk::TxRemoveOutput) {
    check(
        "tx_remove_output",
        "channel_id",
        p.channel_id.0,
        l.channel_id.0,
    );
    check("tx_remove_output", "serial_id", p.serial_id, l.serial_id);
}

impl Pair for wire::TxRemoveOutput {
    type Ldk = ldk::TxRemoveOutput;
    fn same(p: &Self, l: &ldk::TxRemoveOutput) {
        same_tx_remove_output(p, l);
    }
    fn ldk_build(s: &mut Sampler, _: Tlvs) -> ldk::TxRemoveOutput {
        ldk::TxRemoveOutput {
            channel_id: channel_id(s),
            serial_id: int(s),
        }
    }
}

pub fn same_tx_complete(p: &wire::TxComplete, l: &ldk::TxComplete) {
    check("tx_complete", "channel_id", p.channel_id.0, l.channel_id.0);
}

impl Pair for wire::TxComplete {
    type Ldk = ldk::TxComplete;
    fn same(p: &Self, l: &ldk::TxComplete) {
        same_tx_complete(p, l);
    }
    fn ldk_build(s: &mut Sampler, _: Tlvs) -> ldk::TxComplete {
        ldk::TxComplete {
            channel_id: channel_id(s),
        }
    }
}

pub fn same_tx_signatures(p: &wire::TxSignatures, l: &ldk::TxSignatures) {
    check(
        "tx_signatures",
        "channel_id",
        p.channel_id.0,
        l.channel_id.0,
    );
    check("tx_signatures", "txid", p.txid, l.tx_hash);
    let petrel: Vec<&[u8]> = p
        .witnesses
        .iter()
        .map(|w| w.witness_data.as_slice())
        .collect();
    let ldk: Vec<Vec<u8>> = l.witnesses.iter().map(serialize).collect();
    let ldk: Vec<&[u8]> = ldk.iter().map(Vec::as_slice).collect();
    check("tx_signatures", "witnesses.witness_data", petrel, ldk);
    check(
        "tx_signatures",
        "tlvs.shared_input_signature",
        p.tlvs.shared_input_signature,
        l.shared_input_signature,
    );
}

impl Pair for wire::TxSignatures {
    type Ldk = ldk::TxSignatures;
    fn same(p: &Self, l: &ldk::TxSignatures) {
        same_tx_signatures(p, l);
    }
    /// BOLT 2: `witness_data` is a consensus-serialized witness; LDK parses it while decoding.
    fn restrict(p: &mut Self, s: &mut Sampler) {
        for w in &mut p.witnesses {
            w.witness_data = serialize(&witness(s));
        }
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::TxSignatures {
        ldk::TxSignatures {
            channel_id: channel_id(s),
            tx_hash: txid(s),
            witnesses: (0..s.below(4)).map(|_| witness(s)).collect(),
            shared_input_signature: tlvs.maybe(s, signature),
        }
    }
}

pub fn same_tx_init_rbf(p: &wire::TxInitRbf, l: &ldk::TxInitRbf) {
    check("tx_init_rbf", "channel_id", p.channel_id.0, l.channel_id.0);
    check("tx_init_rbf", "locktime", p.locktime, l.locktime);
    check(
        "tx_init_rbf",
        "feerate",
        p.feerate,
        l.feerate_sat_per_1000_weight,
    );
    check(
        "tx_init_rbf",
        "tlvs.funding_output_contribution",
        p.tlvs.funding_output_contribution.map(|a| a.to_sat()),
        l.funding_output_contribution,
    );
    // LDK 0.2.7 has no `require_confirmed_inputs` in `tx_init_rbf`.
    check(
        "tx_init_rbf",
        "tlvs.require_confirmed_inputs",
        p.tlvs.require_confirmed_inputs,
        false,
    );
}

impl Pair for wire::TxInitRbf {
    type Ldk = ldk::TxInitRbf;
    fn same(p: &Self, l: &ldk::TxInitRbf) {
        same_tx_init_rbf(p, l);
    }
    /// LDK 0.2.7 lacks `require_confirmed_inputs` (type 2, even) and so rejects the message
    /// (see the `tx_init_rbf_require_confirmed_inputs` test).
    fn restrict(p: &mut Self, _: &mut Sampler) {
        p.tlvs.require_confirmed_inputs = false;
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::TxInitRbf {
        ldk::TxInitRbf {
            channel_id: channel_id(s),
            locktime: int32(s),
            feerate_sat_per_1000_weight: int32(s),
            #[allow(clippy::cast_possible_wrap)]
            funding_output_contribution: tlvs.maybe(s, |s| int(s) as i64),
        }
    }
}

pub fn same_tx_ack_rbf(p: &wire::TxAckRbf, l: &ldk::TxAckRbf) {
    check("tx_ack_rbf", "channel_id", p.channel_id.0, l.channel_id.0);
    check(
        "tx_ack_rbf",
        "tlvs.funding_output_contribution",
        p.tlvs.funding_output_contribution.map(|a| a.to_sat()),
        l.funding_output_contribution,
    );
    check(
        "tx_ack_rbf",
        "tlvs.require_confirmed_inputs",
        p.tlvs.require_confirmed_inputs,
        false,
    );
}

impl Pair for wire::TxAckRbf {
    type Ldk = ldk::TxAckRbf;
    fn same(p: &Self, l: &ldk::TxAckRbf) {
        same_tx_ack_rbf(p, l);
    }
    /// As for `tx_init_rbf`: LDK 0.2.7 lacks `require_confirmed_inputs`.
    fn restrict(p: &mut Self, _: &mut Sampler) {
        p.tlvs.require_confirmed_inputs = false;
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::TxAckRbf {
        ldk::TxAckRbf {
            channel_id: channel_id(s),
            #[allow(clippy::cast_possible_wrap)]
            funding_output_contribution: tlvs.maybe(s, |s| int(s) as i64),
        }
    }
}

pub fn same_tx_abort(p: &wire::TxAbort, l: &ldk::TxAbort) {
    check("tx_abort", "channel_id", p.channel_id.0, l.channel_id.0);
    check("tx_abort", "data", &p.data, &l.data);
}

impl Pair for wire::TxAbort {
    type Ldk = ldk::TxAbort;
    fn same(p: &Self, l: &ldk::TxAbort) {
        same_tx_abort(p, l);
    }
    fn ldk_build(s: &mut Sampler, _: Tlvs) -> ldk::TxAbort {
        ldk::TxAbort {
            channel_id: channel_id(s),
            data: some_bytes(s),
        }
    }
}
