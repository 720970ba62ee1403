//! The witness scripts of BOLT 3 "Funding Transaction Output" and "Commitment Transaction
//! Outputs" (non-anchor variants).

use bitcoin::hashes::{hash160, ripemd160, Hash};
use bitcoin::opcodes::all::{
    OP_CHECKMULTISIG, OP_CHECKSIG, OP_CLTV, OP_CSV, OP_DROP, OP_DUP, OP_ELSE, OP_ENDIF, OP_EQUAL,
    OP_EQUALVERIFY, OP_HASH160, OP_IF, OP_NOTIF, OP_SIZE, OP_SWAP,
};
use bitcoin::script::Builder;
use bitcoin::secp256k1::PublicKey;
use bitcoin::{ScriptBuf, WPubkeyHash};

use super::PaymentHash;
use crate::keys::CommitmentKeys;

/// The funding witness script `2 <pubkey1> <pubkey2> 2 OP_CHECKMULTISIG`, where `pubkey1` is
/// the lexicographically lesser of the two compressed `funding_pubkey`s (BOLT 3 "Funding
/// Transaction Output"). The argument order does not matter.
pub fn funding_script(a: &PublicKey, b: &PublicKey) -> ScriptBuf {
    let (a, b) = (a.serialize(), b.serialize());
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    Builder::new()
        .push_int(2)
        .push_slice(first)
        .push_slice(second)
        .push_int(2)
        .push_opcode(OP_CHECKMULTISIG)
        .into_script()
}

/// The `to_local` witness script (BOLT 3 "`to_local` Output"), also the output script of
/// HTLC-timeout and HTLC-success transactions (BOLT 3 "HTLC-Timeout and HTLC-Success
/// Transactions"):
///
/// ```text
/// OP_IF <revocationpubkey> OP_ELSE `to_self_delay` OP_CHECKSEQUENCEVERIFY OP_DROP
/// <local_delayedpubkey> OP_ENDIF OP_CHECKSIG
/// ```
pub fn to_local_script(
    revocation_pubkey: &PublicKey,
    to_self_delay: u16,
    local_delayedpubkey: &PublicKey,
) -> ScriptBuf {
    Builder::new()
        .push_opcode(OP_IF)
        .push_slice(revocation_pubkey.serialize())
        .push_opcode(OP_ELSE)
        .push_int(i64::from(to_self_delay))
        .push_opcode(OP_CSV)
        .push_opcode(OP_DROP)
        .push_slice(local_delayedpubkey.serialize())
        .push_opcode(OP_ENDIF)
        .push_opcode(OP_CHECKSIG)
        .into_script()
}

/// The `to_remote` output script: P2WPKH to `remotepubkey` (BOLT 3 "`to_remote` Output",
/// without `option_anchors`).
pub fn to_remote_script_pubkey(remotepubkey: &PublicKey) -> ScriptBuf {
    ScriptBuf::new_p2wpkh(&WPubkeyHash::hash(&remotepubkey.serialize()))
}

/// `OP_DUP OP_HASH160 <RIPEMD160(SHA256(revocationpubkey))> OP_EQUAL OP_IF OP_CHECKSIG OP_ELSE
/// <remote_htlcpubkey> OP_SWAP OP_SIZE 32 OP_EQUAL`: the common head of both HTLC scripts.
fn htlc_script_head(keys: &CommitmentKeys) -> Builder {
    Builder::new()
        .push_opcode(OP_DUP)
        .push_opcode(OP_HASH160)
        .push_slice(hash160::Hash::hash(&keys.revocation_pubkey.serialize()).to_byte_array())
        .push_opcode(OP_EQUAL)
        .push_opcode(OP_IF)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ELSE)
        .push_slice(keys.remote_htlcpubkey.serialize())
        .push_opcode(OP_SWAP)
        .push_opcode(OP_SIZE)
        .push_int(32)
        .push_opcode(OP_EQUAL)
}

/// `RIPEMD160(payment_hash)`, the hash lock of both HTLC scripts.
fn payment_hash160(payment_hash: &PaymentHash) -> [u8; 20] {
    ripemd160::Hash::hash(&payment_hash.0).to_byte_array()
}

/// The witness script of an HTLC offered by the commitment's owner (BOLT 3 "Offered HTLC
/// Outputs", no `option_anchors`): the remote node takes it with the preimage or the
/// revocation key, the owner through an HTLC-timeout transaction signed by both.
pub fn offered_htlc_script(keys: &CommitmentKeys, payment_hash: &PaymentHash) -> ScriptBuf {
    htlc_script_head(keys)
        .push_opcode(OP_NOTIF)
        .push_opcode(OP_DROP)
        .push_int(2)
        .push_opcode(OP_SWAP)
        .push_slice(keys.local_htlcpubkey.serialize())
        .push_int(2)
        .push_opcode(OP_CHECKMULTISIG)
        .push_opcode(OP_ELSE)
        .push_opcode(OP_HASH160)
        .push_slice(payment_hash160(payment_hash))
        .push_opcode(OP_EQUALVERIFY)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ENDIF)
        .push_opcode(OP_ENDIF)
        .into_script()
}

/// The witness script of an HTLC received by the commitment's owner (BOLT 3 "Received HTLC
/// Outputs", no `option_anchors`): the owner takes it through an HTLC-success transaction with
/// the preimage, the remote node after `cltv_expiry` or with the revocation key.
pub fn received_htlc_script(
    keys: &CommitmentKeys,
    payment_hash: &PaymentHash,
    cltv_expiry: u32,
) -> ScriptBuf {
    htlc_script_head(keys)
        .push_opcode(OP_IF)
        .push_opcode(OP_HASH160)
        .push_slice(payment_hash160(payment_hash))
        .push_opcode(OP_EQUALVERIFY)
        .push_int(2)
        .push_opcode(OP_SWAP)
        .push_slice(keys.local_htlcpubkey.serialize())
        .push_int(2)
        .push_opcode(OP_CHECKMULTISIG)
        .push_opcode(OP_ELSE)
        .push_opcode(OP_DROP)
        .push_int(i64::from(cltv_expiry))
        .push_opcode(OP_CLTV)
        .push_opcode(OP_DROP)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ENDIF)
        .push_opcode(OP_ENDIF)
        .into_script()
}
