//! The funding output: a 2-of-2 P2WSH between the two `funding_pubkey`s (BOLT 3 "Funding
//! Transaction Output"), and the signatures and witness that spend it (commitment and
//! closing transactions, whose only input it is).

use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey, Signing, Verification};
use bitcoin::{Amount, OutPoint, ScriptBuf, Transaction, TxOut, Witness};

use super::script::funding_script;
use super::signature::{push_signature, sign_p2wsh, verify_p2wsh};
use super::TxError;

/// The channel's funding output: where it is, what it holds, and the two keys that lock it.
/// The same from both sides (the keys are kept in script order, lesser first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FundingOutput {
    /// `funding_txid` and `funding_output_index` of `funding_created`.
    pub outpoint: OutPoint,
    /// `funding_satoshis`.
    pub amount: Amount,
    /// The two `funding_pubkey`s, lexicographically lesser first (`pubkey1`, `pubkey2`).
    pubkeys: [PublicKey; 2],
}

impl FundingOutput {
    /// The funding output locked to the two `funding_pubkey`s, in any order (BOLT 3 "Funding
    /// Transaction Output").
    pub fn new(outpoint: OutPoint, amount: Amount, a: PublicKey, b: PublicKey) -> FundingOutput {
        let pubkeys = if a.serialize() <= b.serialize() {
            [a, b]
        } else {
            [b, a]
        };
        FundingOutput {
            outpoint,
            amount,
            pubkeys,
        }
    }

    /// The funding keys in script order (`pubkey1`, `pubkey2`) (BOLT 3 "Funding Transaction
    /// Output").
    pub fn pubkeys(&self) -> [PublicKey; 2] {
        self.pubkeys
    }

    /// `2 <pubkey1> <pubkey2> 2 OP_CHECKMULTISIG` (BOLT 3 "Funding Transaction Output").
    pub fn witness_script(&self) -> ScriptBuf {
        funding_script(&self.pubkeys[0], &self.pubkeys[1])
    }

    /// The output as it appears in the funding transaction: P2WSH of [`Self::witness_script`]
    /// (BOLT 3 "Funding Transaction Output").
    pub fn tx_out(&self) -> TxOut {
        TxOut {
            value: self.amount,
            script_pubkey: self.witness_script().to_p2wsh(),
        }
    }

    /// Signs input 0 of `tx` (a commitment or closing transaction spending this output) with a
    /// funding key (`SIGHASH_ALL`, BOLT 3 Appendix B/C).
    pub fn sign<C: Signing>(
        &self,
        secp: &Secp256k1<C>,
        tx: &Transaction,
        funding_key: &SecretKey,
    ) -> Result<Signature, TxError> {
        sign_p2wsh(
            secp,
            tx,
            0,
            &self.witness_script(),
            self.amount,
            funding_key,
        )
    }

    /// Checks a funding-key signature over input 0 of `tx` (BOLT 2 `funding_created`,
    /// `funding_signed`, `commitment_signed`, `closing_signed`; BOLT 3 `SIGHASH_ALL`, low-S).
    pub fn verify<C: Verification>(
        &self,
        secp: &Secp256k1<C>,
        tx: &Transaction,
        signature: &Signature,
        pubkey: &PublicKey,
    ) -> Result<(), TxError> {
        if !self.pubkeys.contains(pubkey) {
            return Err(TxError::NotAFundingKey);
        }
        verify_p2wsh(
            secp,
            tx,
            0,
            &self.witness_script(),
            self.amount,
            signature,
            pubkey,
        )
    }

    /// The witness `0 <signature_for_pubkey1> <signature_for_pubkey2> <script>` (BOLT 3
    /// "Commitment Transaction", "Legacy Closing Transaction"), given each
    /// signature with the funding key that made it, in any order. The signatures themselves
    /// are not checked here (use [`Self::verify`]).
    pub fn witness(
        &self,
        a: (&PublicKey, &Signature),
        b: (&PublicKey, &Signature),
    ) -> Result<Witness, TxError> {
        let (first, second) = if *a.0 == self.pubkeys[0] && *b.0 == self.pubkeys[1] {
            (a.1, b.1)
        } else if *b.0 == self.pubkeys[0] && *a.0 == self.pubkeys[1] {
            (b.1, a.1)
        } else {
            return Err(TxError::NotAFundingKey);
        };
        let mut witness = Witness::new();
        witness.push([]);
        push_signature(&mut witness, first);
        push_signature(&mut witness, second);
        witness.push(self.witness_script().as_bytes());
        Ok(witness)
    }

    /// `tx` (a commitment or closing transaction) with the funding witness on input 0 (BOLT 3
    /// "Commitment Transaction", "Legacy Closing Transaction").
    pub fn into_signed(
        &self,
        mut tx: Transaction,
        a: (&PublicKey, &Signature),
        b: (&PublicKey, &Signature),
    ) -> Result<Transaction, TxError> {
        let witness = self.witness(a, b)?;
        tx.input.first_mut().ok_or(TxError::NoSuchInput(0))?.witness = witness;
        Ok(tx)
    }
}

#[cfg(test)]
mod tests {
    use bitcoin::absolute::LockTime;
    use bitcoin::consensus::encode::serialize_hex;
    use bitcoin::hashes::Hash;
    use bitcoin::script::{Builder, PushBytesBuf};
    use bitcoin::sighash::{EcdsaSighashType, SighashCache};
    use bitcoin::transaction::Version;
    use bitcoin::{PubkeyHash, Sequence, TxIn, Txid, WPubkeyHash};

    use super::*;
    use crate::keys::vectors::{hex, parse_pubkey, parse_secret, Vectors};

    const APPENDIX_B: &str = include_str!("../../wire-spec/vectors/bolt03-appendix-b-funding.txt");

    /// BOLT 3 Appendix B: rebuilds the whole funding transaction, signs its P2PKH coinbase
    /// input deterministically, and compares bytes and txid.
    #[test]
    fn bolt3_b_funding_transaction() {
        let secp = Secp256k1::new();
        let v = Vectors::parse(APPENDIX_B);
        let h = v.header();
        let local = parse_pubkey(h.get("local_funding_pubkey"));
        let remote = parse_pubkey(h.get("remote_funding_pubkey"));
        let input_txid: Txid = h.get("input txid").parse().unwrap();
        let funding_sat: u64 = h.get("funding satoshis").parse().unwrap();
        let funding = FundingOutput::new(
            OutPoint::null(), // the funding tx's own outpoint is unknown until it is built
            Amount::from_sat(funding_sat),
            local,
            remote,
        );
        // The witness script, either argument order.
        let expected_script = hex(h.get("funding witness script"));
        assert_eq!(funding.witness_script().as_bytes(), &expected_script[..]);
        assert_eq!(funding_script(&remote, &local), funding.witness_script());

        // The change goes to P2WPKH of the coinbase key; outputs in BIP 69 order (the funding
        // output is the smaller).
        let coinbase_key = parse_secret(h.get("Block 1 coinbase privkey"));
        let coinbase_pub =
            bitcoin::PublicKey::new(PublicKey::from_secret_key(&secp, &coinbase_key));
        let change = TxOut {
            value: Amount::from_sat(h.get("change satoshis").parse().unwrap()),
            script_pubkey: ScriptBuf::new_p2wpkh(&WPubkeyHash::hash(&coinbase_pub.to_bytes())),
        };
        let funding_index: usize = h.get("funding output").parse().unwrap();
        assert_eq!(funding_index, 0);
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::new(input_txid, h.get("input index").parse().unwrap()),
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![funding.tx_out(), change],
        };
        // Fee check: 5000000000 - 10000000 - 4989986080 = 13920 = 15000 sat/kw on 928 weight.
        let input_sat: u64 = h.get("input satoshis").parse().unwrap();
        let outputs: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
        assert_eq!(input_sat - outputs, 15000 * 928 / 1000);

        // Sign the P2PKH coinbase output (legacy sighash).
        let spent = ScriptBuf::new_p2pkh(&PubkeyHash::hash(&coinbase_pub.to_bytes()));
        let sighash = SighashCache::new(&tx)
            .legacy_signature_hash(0, &spent, EcdsaSighashType::All.to_u32())
            .unwrap();
        let sig = secp.sign_ecdsa(
            &bitcoin::secp256k1::Message::from_digest(sighash.to_byte_array()),
            &coinbase_key,
        );
        let sig = bitcoin::ecdsa::Signature::sighash_all(sig);
        tx.input[0].script_sig = Builder::new()
            .push_slice(PushBytesBuf::try_from(sig.to_vec()).unwrap())
            .push_key(&coinbase_pub)
            .into_script();

        assert_eq!(serialize_hex(&tx), h.get("funding tx"));
        assert_eq!(tx.compute_txid().to_string(), h.get("txid"));
    }

    #[test]
    fn witness_orders_signatures_by_key_and_rejects_strangers() {
        let secp = Secp256k1::new();
        let ka = SecretKey::from_slice(&[1; 32]).unwrap();
        let kb = SecretKey::from_slice(&[2; 32]).unwrap();
        let (pa, pb) = (ka.public_key(&secp), kb.public_key(&secp));
        let funding = FundingOutput::new(OutPoint::null(), Amount::from_sat(1000), pa, pb);
        assert_eq!(
            funding,
            FundingOutput::new(OutPoint::null(), Amount::from_sat(1000), pb, pa)
        );
        let sig = secp.sign_ecdsa(&bitcoin::secp256k1::Message::from_digest([7; 32]), &ka);
        let w1 = funding.witness((&pa, &sig), (&pb, &sig)).unwrap();
        let w2 = funding.witness((&pb, &sig), (&pa, &sig)).unwrap();
        assert_eq!(w1, w2);
        let stranger = SecretKey::from_slice(&[3; 32]).unwrap().public_key(&secp);
        assert_eq!(
            funding.witness((&pa, &sig), (&stranger, &sig)),
            Err(TxError::NotAFundingKey)
        );
        assert_eq!(
            funding.witness((&pa, &sig), (&pa, &sig)),
            Err(TxError::NotAFundingKey)
        );
    }
}
