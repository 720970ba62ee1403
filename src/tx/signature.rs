//! `SIGHASH_ALL` segwit v0 signatures (BOLT 3 Appendix B/C: "A valid signature MUST sign all
//! inputs and outputs [...] `SIGHASH_ALL`"; deterministic RFC 6979 nonces; BOLT 2: signatures
//! must be LOW-S).
//!
//! libsecp256k1 always produces low-S signatures and its verification rejects high-S ones,
//! so both BOLT rules hold by construction. No low-R grinding: the BOLT 3 vectors are plain
//! RFC 6979 (some have 33-byte R values), and reproducing them byte for byte is the test.

use bitcoin::hashes::Hash;
use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::secp256k1::{Message, PublicKey, Secp256k1, SecretKey, Signing, Verification};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{Amount, Script, Transaction, Witness};

use super::script::to_remote_script_pubkey;
use super::TxError;

/// The BIP 143 `SIGHASH_ALL` digest for spending input `input` of `tx`, a P2WSH output of
/// value `amount` with `witness_script`.
fn p2wsh_message(
    tx: &Transaction,
    input: usize,
    witness_script: &Script,
    amount: Amount,
) -> Result<Message, TxError> {
    let sighash = SighashCache::new(tx)
        .p2wsh_signature_hash(input, witness_script, amount, EcdsaSighashType::All)
        .map_err(|_| TxError::NoSuchInput(input))?;
    Ok(Message::from_digest(sighash.to_byte_array()))
}

/// Signs input `input` of `tx`, spending a P2WSH output of value `amount` with
/// `witness_script`, with `SIGHASH_ALL` (BOLT 3: every signature in commitment, HTLC, closing
/// and sweep transactions). Deterministic (RFC 6979) and low-S.
pub fn sign_p2wsh<C: Signing>(
    secp: &Secp256k1<C>,
    tx: &Transaction,
    input: usize,
    witness_script: &Script,
    amount: Amount,
    key: &SecretKey,
) -> Result<Signature, TxError> {
    let message = p2wsh_message(tx, input, witness_script, amount)?;
    Ok(secp.sign_ecdsa(&message, key))
}

/// Checks that `signature` by `pubkey` signs input `input` of `tx` as [`sign_p2wsh`] would
/// (`SIGHASH_ALL`). High-S signatures fail, as BOLT 2 requires of `commitment_signed`,
/// `funding_created`, `funding_signed` and `closing_signed` signatures.
pub fn verify_p2wsh<C: Verification>(
    secp: &Secp256k1<C>,
    tx: &Transaction,
    input: usize,
    witness_script: &Script,
    amount: Amount,
    signature: &Signature,
    pubkey: &PublicKey,
) -> Result<(), TxError> {
    let message = p2wsh_message(tx, input, witness_script, amount)?;
    secp.verify_ecdsa(&message, signature, pubkey)
        .map_err(|_| TxError::InvalidSignature)
}

/// Signs input `input` of `tx`, spending a P2WPKH output of value `amount` locked to `key`'s
/// public key, with `SIGHASH_ALL` (the `to_remote` output of BOLT 3 "`to_remote` Output").
pub fn sign_p2wpkh<C: Signing>(
    secp: &Secp256k1<C>,
    tx: &Transaction,
    input: usize,
    amount: Amount,
    key: &SecretKey,
) -> Result<Signature, TxError> {
    let script_pubkey = to_remote_script_pubkey(&PublicKey::from_secret_key(secp, key));
    let sighash = SighashCache::new(tx)
        .p2wpkh_signature_hash(input, &script_pubkey, amount, EcdsaSighashType::All)
        .map_err(|_| TxError::NoSuchInput(input))?;
    Ok(secp.sign_ecdsa(&Message::from_digest(sighash.to_byte_array()), key))
}

/// Pushes `signature` as a witness item: DER encoding plus the `SIGHASH_ALL` byte.
pub(crate) fn push_signature(witness: &mut Witness, signature: &Signature) {
    witness.push_ecdsa_signature(&bitcoin::ecdsa::Signature::sighash_all(*signature));
}

#[cfg(test)]
mod tests {
    use bitcoin::absolute::LockTime;
    use bitcoin::transaction::Version;
    use bitcoin::{OutPoint, ScriptBuf, Sequence, TxIn, TxOut};

    use super::*;

    /// secp256k1's group order `n`, big-endian.
    const ORDER: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36,
        0x41, 0x41,
    ];

    /// The same signature with `s` replaced by `n - s`: equally valid for plain ECDSA, but
    /// high-S, which BOLT 2 forbids (and Core's policy rejects).
    fn high_s(sig: &Signature) -> Signature {
        let compact = sig.serialize_compact();
        let mut out = compact;
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let d = i16::from(ORDER[i]) - i16::from(compact[32 + i]) - borrow;
            borrow = i16::from(d < 0);
            out[32 + i] = u8::try_from(d.rem_euclid(256)).unwrap();
        }
        Signature::from_compact(&out).unwrap()
    }

    fn tx() -> Transaction {
        Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::null(),
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ZERO,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value: Amount::from_sat(1000),
                script_pubkey: ScriptBuf::new(),
            }],
        }
    }

    #[test]
    fn signatures_are_deterministic_low_s_and_high_s_is_rejected() {
        let secp = Secp256k1::new();
        let key = SecretKey::from_slice(&[0x3c; 32]).unwrap();
        let pubkey = key.public_key(&secp);
        let script = ScriptBuf::from_bytes(vec![0x51]);
        let amount = Amount::from_sat(5000);
        let sig = sign_p2wsh(&secp, &tx(), 0, &script, amount, &key).unwrap();
        assert_eq!(
            sig,
            sign_p2wsh(&secp, &tx(), 0, &script, amount, &key).unwrap()
        );
        verify_p2wsh(&secp, &tx(), 0, &script, amount, &sig, &pubkey).unwrap();

        let high = high_s(&sig);
        assert_ne!(high, sig);
        let mut normalized = high;
        normalized.normalize_s();
        assert_eq!(normalized, sig, "n - s normalizes back to s");
        assert_eq!(
            verify_p2wsh(&secp, &tx(), 0, &script, amount, &high, &pubkey),
            Err(TxError::InvalidSignature)
        );
        // Another amount is another sighash (BIP 143 commits to the spent value).
        assert_eq!(
            verify_p2wsh(
                &secp,
                &tx(),
                0,
                &script,
                Amount::from_sat(5001),
                &sig,
                &pubkey
            ),
            Err(TxError::InvalidSignature)
        );
        assert_eq!(
            sign_p2wsh(&secp, &tx(), 1, &script, amount, &key),
            Err(TxError::NoSuchInput(1))
        );
    }
}
