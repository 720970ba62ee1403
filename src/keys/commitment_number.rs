//! The 48-bit commitment number, the per-commitment secret index that counts down beside it,
//! and the obscured encoding of the number in a commitment transaction (BOLT 3 "Commitment
//! Transaction").

use core::fmt;

use bitcoin::absolute::LockTime;
use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::secp256k1::PublicKey;
use bitcoin::{Sequence, Transaction};

use super::KeysError;

/// 2^48 - 1, the largest commitment number and the first secret index.
const MAX_48: u64 = (1 << 48) - 1;

/// Upper byte of a commitment transaction's locktime (BOLT 3 "Commitment Transaction").
const LOCKTIME_TAG: u32 = 0x20;
/// Upper byte of a commitment transaction's input sequence (BOLT 3 "Commitment Transaction").
const SEQUENCE_TAG: u32 = 0x80;

/// The number of a commitment transaction: 0 for the first one both sides sign, then one more
/// for each new commitment (BOLT 2 `next_commitment_number` minus one; BOLT 3 "Commitment
/// Transaction": a 48-bit number). Always below 2^48.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CommitmentNumber(u64);

impl CommitmentNumber {
    /// The first commitment of a channel.
    pub const ZERO: CommitmentNumber = CommitmentNumber(0);
    /// The first commitment after the initial one: `channel_ready` carries its point.
    pub const ONE: CommitmentNumber = CommitmentNumber(1);
    /// The last commitment a channel can ever have (2^48 - 1).
    pub const MAX: CommitmentNumber = CommitmentNumber(MAX_48);

    /// A commitment number; fails if `n` does not fit in 48 bits (BOLT 3 "Commitment
    /// Transaction").
    pub fn new(n: u64) -> Result<CommitmentNumber, KeysError> {
        if n > MAX_48 {
            return Err(KeysError::Above48Bits(n));
        }
        Ok(CommitmentNumber(n))
    }

    /// The number as an integer (BOLT 3 "Commitment Transaction").
    pub fn value(self) -> u64 {
        self.0
    }

    /// The next commitment number (BOLT 3 "Commitment Transaction"), or `None` once 2^48 - 1 is reached.
    pub fn next(self) -> Option<CommitmentNumber> {
        (self.0 < MAX_48).then(|| CommitmentNumber(self.0 + 1))
    }

    /// The index of the per-commitment secret for this commitment: BOLT 3 "Per-commitment
    /// Secret Requirements" uses index 2^48 - 1 first and counts down, so commitment `n` uses
    /// secret index 2^48 - 1 - n.
    pub fn secret_index(self) -> SecretIndex {
        SecretIndex(MAX_48 - self.0)
    }
}

impl fmt::Display for CommitmentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The index `I` of a per-commitment secret (BOLT 3 "Per-commitment Secret Requirements"):
/// 2^48 - 1 for the first commitment, decremented for each next one. Always below 2^48.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecretIndex(u64);

impl SecretIndex {
    /// The index of the first secret used, 2^48 - 1 (commitment number 0).
    pub const FIRST: SecretIndex = SecretIndex(MAX_48);

    /// A secret index; fails if `index` does not fit in 48 bits (BOLT 3 "Per-commitment
    /// Secret Requirements").
    pub fn new(index: u64) -> Result<SecretIndex, KeysError> {
        if index > MAX_48 {
            return Err(KeysError::Above48Bits(index));
        }
        Ok(SecretIndex(index))
    }

    /// The index as an integer (BOLT 3 "Per-commitment Secret Requirements").
    pub fn value(self) -> u64 {
        self.0
    }

    /// The commitment number whose per-commitment secret has this index (BOLT 3
    /// "Per-commitment Secret Requirements").
    pub fn commitment_number(self) -> CommitmentNumber {
        CommitmentNumber(MAX_48 - self.0)
    }
}

impl fmt::Display for SecretIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The factor that obscures commitment numbers on chain: the lower 48 bits of
/// `SHA256(payment_basepoint from open_channel || payment_basepoint from accept_channel)`
/// (BOLT 3 "Commitment Transaction"). The same for both sides' commitments of a channel.
///
/// The chain watcher uses [`ObscuringFactor::commitment_number_of`] to read the commitment
/// number off any transaction spending the funding output, to tell a current commitment from a
/// revoked one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ObscuringFactor(u64);

impl ObscuringFactor {
    /// The factor for a channel; `initiator` sent `open_channel`, `responder` sent
    /// `accept_channel` (the order matters: it is the hash input order) (BOLT 3 "Commitment
    /// Transaction").
    pub fn new(
        initiator_payment_basepoint: &PublicKey,
        responder_payment_basepoint: &PublicKey,
    ) -> ObscuringFactor {
        let mut engine = sha256::Hash::engine();
        engine.input(&initiator_payment_basepoint.serialize());
        engine.input(&responder_payment_basepoint.serialize());
        let hash = sha256::Hash::from_engine(engine).to_byte_array();
        let mut low = [0u8; 8];
        low[2..].copy_from_slice(&hash[26..]);
        ObscuringFactor(u64::from_be_bytes(low))
    }

    /// The 48-bit factor as an integer (BOLT 3 "Commitment Transaction").
    pub fn value(self) -> u64 {
        self.0
    }

    /// The obscured commitment number: `commitment_number XOR factor`, 48 bits (BOLT 3
    /// "Commitment Transaction").
    pub fn obscure(self, number: CommitmentNumber) -> u64 {
        number.0 ^ self.0
    }

    /// The commitment transaction's locktime and its input's sequence for `number` (BOLT 3
    /// "Commitment Transaction"): locktime
    /// is `0x20` followed by the lower 24 bits of the obscured number, sequence is `0x80`
    /// followed by its upper 24 bits.
    pub fn lock_time_and_sequence(self, number: CommitmentNumber) -> (LockTime, Sequence) {
        let obscured = self.obscure(number);
        // Both halves are masked to 24 bits, so the casts cannot truncate.
        #[allow(clippy::cast_possible_truncation)]
        let (low, high) = ((obscured & 0xff_ffff) as u32, (obscured >> 24) as u32);
        (
            LockTime::from_consensus(LOCKTIME_TAG << 24 | low),
            Sequence(SEQUENCE_TAG << 24 | high),
        )
    }

    /// Decodes a commitment number from a locktime and sequence, or `None` if their upper
    /// bytes are not the `0x20` / `0x80` tags of a commitment transaction (BOLT 3
    /// "Commitment Transaction").
    pub fn commitment_number(
        self,
        lock_time: LockTime,
        sequence: Sequence,
    ) -> Option<CommitmentNumber> {
        let lock_time = lock_time.to_consensus_u32();
        if lock_time >> 24 != LOCKTIME_TAG || sequence.0 >> 24 != SEQUENCE_TAG {
            return None;
        }
        let obscured = u64::from(sequence.0 & 0xff_ffff) << 24 | u64::from(lock_time & 0xff_ffff);
        Some(CommitmentNumber(obscured ^ self.0))
    }

    /// Decodes the commitment number of a transaction that spends the funding output (BOLT 3
    /// "Commitment Transaction"; BOLT 5 uses it to spot revoked commitments), or `None`
    /// if it does not have the shape of a commitment transaction (exactly one input, tagged
    /// locktime and sequence).
    pub fn commitment_number_of(self, tx: &Transaction) -> Option<CommitmentNumber> {
        match tx.input.as_slice() {
            [input] => self.commitment_number(tx.lock_time, input.sequence),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::vectors::{parse_pubkey, Vectors};

    const APPENDIX_C: &str =
        include_str!("../../wire-spec/vectors/bolt03-appendix-c-commitments.txt");

    #[test]
    fn bolt3_c_obscured_commitment_number() {
        // Appendix C: "obscured commitment number = 0x2bb038521914 ^ 42", where the factor
        // comes from local (the opener) then remote payment basepoints.
        let v = Vectors::parse(APPENDIX_C);
        let header = v.header();
        let local = parse_pubkey(header.get("local_payment_basepoint"));
        let remote = parse_pubkey(header.get("remote_payment_basepoint"));
        let factor = ObscuringFactor::new(&local, &remote);
        let expected = header.get("obscured commitment number");
        let (hex_factor, number) = expected.split_once(" ^ ").expect("factor ^ number");
        let hex_factor = u64::from_str_radix(hex_factor.trim_start_matches("0x"), 16).unwrap();
        assert_eq!(factor.value(), hex_factor);
        let number = CommitmentNumber::new(number.parse().unwrap()).unwrap();
        assert_eq!(number.value(), 42);
        assert_eq!(factor.obscure(number), hex_factor ^ number.value());
        // The locktime and sequence bytes of every Appendix C commitment transaction:
        // locktime 3e195220 and sequence 38b02b80 (little-endian on the wire).
        let (lock_time, sequence) = factor.lock_time_and_sequence(number);
        assert_eq!(lock_time.to_consensus_u32(), 0x2052_193e);
        assert_eq!(sequence.0, 0x802b_b038);
    }

    #[test]
    fn obscured_number_round_trips_and_rejects_untagged() {
        let factor = ObscuringFactor(0x2bb0_3852_1914);
        for n in [0, 1, 42, 0xff_ffff, 0x100_0000, MAX_48] {
            let number = CommitmentNumber::new(n).unwrap();
            let (lock_time, sequence) = factor.lock_time_and_sequence(number);
            assert_eq!(factor.commitment_number(lock_time, sequence), Some(number));
        }
        let (lock_time, sequence) = factor.lock_time_and_sequence(CommitmentNumber(7));
        assert_eq!(factor.commitment_number(LockTime::ZERO, sequence), None);
        assert_eq!(factor.commitment_number(lock_time, Sequence::MAX), None);
    }

    #[test]
    fn numbers_and_indices_are_48_bits() {
        assert_eq!(
            CommitmentNumber::new(1 << 48),
            Err(KeysError::Above48Bits(1 << 48))
        );
        assert_eq!(
            SecretIndex::new(1 << 48),
            Err(KeysError::Above48Bits(1 << 48))
        );
        assert_eq!(CommitmentNumber::ZERO.secret_index(), SecretIndex::FIRST);
        assert_eq!(CommitmentNumber::MAX.secret_index().value(), 0);
        assert_eq!(CommitmentNumber::MAX.next(), None);
        let n = CommitmentNumber::new(42).unwrap();
        assert_eq!(n.secret_index().commitment_number(), n);
        assert_eq!(n.next().map(CommitmentNumber::value), Some(43));
    }
}
