//! Compact storage of the counterparty's revealed per-commitment secrets (BOLT 3 "Efficient
//! Per-commitment Secret Storage", known as shachain).
//!
//! Secrets arrive one per `revoke_and_ack`, in descending index order from 2^48 - 1. A secret
//! whose index ends in `b` zero bits derives every secret whose index shares its upper
//! `48 - b` bits, so one secret per count of trailing zeros (49 buckets) is enough to recover
//! every secret ever received, and to check each new secret against the old ones.

use super::per_commitment::derive_secret;
use super::{KeysError, PerCommitmentSecret, SecretIndex};

/// Number of buckets: one per possible count of trailing zero bits in a 48-bit index (0..=48).
const BUCKETS: usize = 49;
/// Encoded marker for an empty bucket or an exhausted store (no valid index is this large).
const NONE: u64 = u64::MAX;
/// Length of [`SecretStore::encode`]'s output: the next index, then 49 × (index, secret).
const ENCODED_LEN: usize = 8 + BUCKETS * 40;

/// The counterparty's per-commitment secrets, stored in O(log n) space (BOLT 3 "Efficient
/// Per-commitment Secret Storage").
///
/// Calling contract: [`SecretStore::insert`] each `per_commitment_secret` received in
/// `revoke_and_ack`, in the order received; the store accepts exactly the next index
/// ([`SecretStore::next_index`]) and rejects a secret that does not derive the earlier ones,
/// which means the peer is misbehaving (BOLT 2: fail the channel). [`SecretStore::get`] then
/// returns any received secret, e.g. the one that revokes a commitment seen on chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretStore {
    /// `known[b]`: the last received secret whose index has exactly `b` trailing zero bits
    /// (`b = 48` only for index 0).
    known: [Option<(u64, [u8; 32])>; BUCKETS],
    /// The index the next secret must have; `None` once index 0 has been received.
    next: Option<u64>,
}

impl Default for SecretStore {
    fn default() -> Self {
        SecretStore::new()
    }
}

/// BOLT 3 `where_to_put_secret(I)`: the number of trailing zero bits of a 48-bit index, 48 for 0.
fn bucket(index: u64) -> usize {
    if index == 0 {
        48
    } else {
        index.trailing_zeros() as usize
    }
}

/// The mask keeping the bits an index must share with the index of bucket `b`.
fn prefix_mask(b: usize) -> u64 {
    !((1u64 << b) - 1)
}

impl SecretStore {
    /// An empty store, expecting index 2^48 - 1 first (BOLT 3 "Efficient Per-commitment
    /// Secret Storage").
    pub fn new() -> SecretStore {
        SecretStore {
            known: [None; BUCKETS],
            next: Some(SecretIndex::FIRST.value()),
        }
    }

    /// The index the next received secret must have, or `None` if all 2^48 were received
    /// (BOLT 3: secrets arrive in descending order starting at `0xFFFFFFFFFFFF`).
    pub fn next_index(&self) -> Option<SecretIndex> {
        self.next.and_then(|i| SecretIndex::new(i).ok())
    }

    /// BOLT 3 `insert_secret(secret, I)`: stores the secret at `index` after checking that it
    /// derives every earlier secret it should.
    ///
    /// Fails with [`KeysError::UnexpectedIndex`] unless `index` is [`SecretStore::next_index`],
    /// [`KeysError::StoreExhausted`] after index 0, and [`KeysError::SecretMismatch`] if the
    /// secret was not generated from the same seed as the earlier ones. On error the store is
    /// unchanged.
    pub fn insert(
        &mut self,
        index: SecretIndex,
        secret: PerCommitmentSecret,
    ) -> Result<(), KeysError> {
        let index = index.value();
        let expected = self.next.ok_or(KeysError::StoreExhausted)?;
        if index != expected {
            return Err(KeysError::UnexpectedIndex {
                expected,
                got: index,
            });
        }
        let secret = secret.to_bytes();
        let at = bucket(index);
        // `at` is a count of bits, at most 48: the cast is lossless.
        #[allow(clippy::cast_possible_truncation)]
        let bits = at as u32;
        for (earlier, known) in self.known[..at].iter().flatten() {
            if derive_secret(secret, bits, *earlier) != *known {
                return Err(KeysError::SecretMismatch {
                    index,
                    earlier: *earlier,
                });
            }
        }
        self.known[at] = Some((index, secret));
        self.next = index.checked_sub(1);
        Ok(())
    }

    /// BOLT 3 `derive_old_secret(I)`: the secret received for `index`, or `None` if that
    /// index has not been received yet.
    pub fn get(&self, index: SecretIndex) -> Option<PerCommitmentSecret> {
        let index = index.value();
        self.known.iter().enumerate().find_map(|(b, known)| {
            let (base_index, base) = known.as_ref()?;
            #[allow(clippy::cast_possible_truncation)]
            let bits = b as u32;
            (index & prefix_mask(b) == *base_index)
                .then(|| PerCommitmentSecret::from_bytes(derive_secret(*base, bits, index)))
        })
    }

    /// The bucket a secret with `index` is stored in (BOLT 3 `where_to_put_secret`): the
    /// one row that changes when it is inserted, for stores that persist bucket by bucket.
    pub fn bucket_of(index: SecretIndex) -> usize {
        bucket(index.value())
    }

    /// The content of bucket `b`: the index and secret it holds, if any.
    pub fn entry(&self, b: usize) -> Option<(u64, [u8; 32])> {
        self.known.get(b).copied().flatten()
    }

    /// Rebuilds a store from its non-empty buckets (as [`SecretStore::entry`] gave them),
    /// with the same checks as [`SecretStore::decode`]. The next index is the one after the
    /// lowest index held, since secrets arrive in descending order.
    pub fn from_entries(entries: &[(usize, u64, [u8; 32])]) -> Result<SecretStore, KeysError> {
        let mut bytes = vec![0u8; ENCODED_LEN];
        for b in 0..BUCKETS {
            bytes[8 + b * 40..16 + b * 40].copy_from_slice(&NONE.to_be_bytes());
        }
        let lowest = entries.iter().map(|(_, index, _)| *index).min();
        let next = match lowest {
            None => SecretIndex::FIRST.value(),
            Some(0) => NONE,
            Some(i) => i - 1,
        };
        bytes[..8].copy_from_slice(&next.to_be_bytes());
        for (b, index, secret) in entries {
            if *b >= BUCKETS {
                return Err(KeysError::MalformedStore);
            }
            let at = 8 + b * 40;
            bytes[at..at + 8].copy_from_slice(&index.to_be_bytes());
            bytes[at + 8..at + 40].copy_from_slice(secret);
        }
        SecretStore::decode(&bytes)
    }

    /// A fixed-size encoding of the BOLT 3 "Efficient Per-commitment Secret Storage" array,
    /// for persistence: the next index, then each bucket's index and
    /// secret, big-endian, with `u64::MAX` marking "none".
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ENCODED_LEN);
        out.extend_from_slice(&self.next.unwrap_or(NONE).to_be_bytes());
        for known in &self.known {
            let (index, secret) = known.unwrap_or((NONE, [0; 32]));
            out.extend_from_slice(&index.to_be_bytes());
            out.extend_from_slice(&secret);
        }
        out
    }

    /// Decodes [`SecretStore::encode`]'s output (BOLT 3 "Efficient Per-commitment Secret
    /// Storage"), checking that every bucket holds an index
    /// that belongs in it, that was received before the next index, and that every stored
    /// secret derivable from another stored secret matches it.
    pub fn decode(bytes: &[u8]) -> Result<SecretStore, KeysError> {
        if bytes.len() != ENCODED_LEN {
            return Err(KeysError::MalformedStore);
        }
        let word = |at: usize| -> u64 {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_be_bytes(b)
        };
        let next = match word(0) {
            NONE => None,
            n if n <= SecretIndex::FIRST.value() => Some(n),
            _ => return Err(KeysError::MalformedStore),
        };
        let mut known = [None; BUCKETS];
        for (b, slot) in known.iter_mut().enumerate() {
            let at = 8 + b * 40;
            let index = word(at);
            if index == NONE {
                continue;
            }
            let received = next.is_none_or(|n| index > n);
            if index > SecretIndex::FIRST.value() || bucket(index) != b || !received {
                return Err(KeysError::MalformedStore);
            }
            let mut secret = [0u8; 32];
            secret.copy_from_slice(&bytes[at + 8..at + 40]);
            *slot = Some((index, secret));
        }
        // Every stored secret that a higher bucket's secret can derive must equal what it
        // derives, as `insert` checked when it arrived.
        for (b, (index, secret)) in known
            .iter()
            .enumerate()
            .filter_map(|(b, k)| Some((b, k.as_ref()?)))
        {
            for (high, (high_index, high_secret)) in known
                .iter()
                .enumerate()
                .skip(b + 1)
                .filter_map(|(h, k)| Some((h, k.as_ref()?)))
            {
                #[allow(clippy::cast_possible_truncation)]
                let bits = high as u32;
                if index & prefix_mask(high) == *high_index
                    && derive_secret(*high_secret, bits, *index) != *secret
                {
                    return Err(KeysError::MalformedStore);
                }
            }
        }
        Ok(SecretStore { known, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::vectors::{hex32, Vectors};
    use crate::keys::CommitmentSeed;

    const APPENDIX_D: &str = include_str!("../../wire-spec/vectors/bolt03-appendix-d-secrets.txt");

    /// Replays one Appendix D "Storage Tests" case: each `I`, `secret`, `output` triple is an
    /// insert that must succeed (`OK`) or fail (`ERROR`). Returns the store after the case.
    fn storage_case(name: &str) -> SecretStore {
        let vectors = Vectors::parse(APPENDIX_D);
        let case = vectors.case(name);
        let mut store = SecretStore::new();
        let mut index = None;
        let mut secret = None;
        let mut steps = 0;
        for (key, value) in case.pairs() {
            match key {
                "I" => index = Some(SecretIndex::new(value.parse().unwrap()).unwrap()),
                "secret" => secret = Some(PerCommitmentSecret::from_bytes(hex32(value))),
                "output" => {
                    let (i, s) = (index.take().unwrap(), secret.take().unwrap());
                    let before = store.clone();
                    let result = store.insert(i, s);
                    match value {
                        "OK" => {
                            assert_eq!(result, Ok(()), "{name}: insert {i}");
                            assert_eq!(store.get(i), Some(s), "{name}: get {i}");
                        }
                        "ERROR" => {
                            assert!(
                                matches!(result, Err(KeysError::SecretMismatch { index, .. }) if index == i.value()),
                                "{name}: insert {i} gave {result:?}"
                            );
                            assert_eq!(store, before, "{name}: a failed insert changed the store");
                        }
                        other => panic!("unknown output {other}"),
                    }
                    steps += 1;
                }
                _ => {}
            }
        }
        assert!(steps >= 2, "{name}: case has no inserts");
        store
    }

    #[test]
    fn bolt3_d_insert_secret_correct_sequence() {
        let store = storage_case("insert_secret correct sequence");
        // Every received secret is recoverable and equals the generator's output.
        let seed = CommitmentSeed::from_bytes([0xff; 32]);
        for i in 281_474_976_710_648..=281_474_976_710_655 {
            let i = SecretIndex::new(i).unwrap();
            assert_eq!(store.get(i), Some(seed.secret(i)));
        }
        assert_eq!(
            store.get(SecretIndex::new(281_474_976_710_647).unwrap()),
            None
        );
    }

    #[test]
    fn bolt3_d_insert_secret_1_incorrect() {
        storage_case("insert_secret #1 incorrect");
    }

    #[test]
    fn bolt3_d_insert_secret_2_incorrect_1_derived_from_incorrect() {
        storage_case("insert_secret #2 incorrect (#1 derived from incorrect)");
    }

    #[test]
    fn bolt3_d_insert_secret_3_incorrect() {
        storage_case("insert_secret #3 incorrect");
    }

    #[test]
    fn bolt3_d_insert_secret_4_incorrect_1_2_3_derived_from_incorrect() {
        storage_case("insert_secret #4 incorrect (1,2,3 derived from incorrect)");
    }

    #[test]
    fn bolt3_d_insert_secret_5_incorrect() {
        storage_case("insert_secret #5 incorrect");
    }

    #[test]
    fn bolt3_d_insert_secret_6_incorrect_5_derived_from_incorrect() {
        storage_case("insert_secret #6 incorrect (5 derived from incorrect)");
    }

    #[test]
    fn bolt3_d_insert_secret_7_incorrect() {
        storage_case("insert_secret #7 incorrect");
    }

    #[test]
    fn bolt3_d_insert_secret_8_incorrect() {
        storage_case("insert_secret #8 incorrect");
    }

    #[test]
    fn every_appendix_d_case_has_a_test() {
        let names: Vec<_> = Vectors::parse(APPENDIX_D)
            .names()
            .map(str::to_owned)
            .collect();
        assert_eq!(
            names.len(),
            5 + 9,
            "Appendix D has 5 generation and 9 storage cases"
        );
    }

    #[test]
    fn out_of_order_and_exhausted_inserts_are_rejected() {
        let seed = CommitmentSeed::from_bytes([3; 32]);
        let mut store = SecretStore::new();
        let second = SecretIndex::new(SecretIndex::FIRST.value() - 1).unwrap();
        assert_eq!(
            store.insert(second, seed.secret(second)),
            Err(KeysError::UnexpectedIndex {
                expected: SecretIndex::FIRST.value(),
                got: second.value()
            })
        );
        store.next = Some(0);
        let zero = SecretIndex::new(0).unwrap();
        store.insert(zero, seed.secret(zero)).unwrap();
        assert_eq!(store.next_index(), None);
        assert_eq!(store.get(zero), Some(seed.secret(zero)));
        assert_eq!(
            store.insert(zero, seed.secret(zero)),
            Err(KeysError::StoreExhausted)
        );
    }

    #[test]
    fn long_chain_recovers_every_secret_and_round_trips() {
        let seed = CommitmentSeed::from_bytes([0x5a; 32]);
        let mut store = SecretStore::new();
        let first = SecretIndex::FIRST.value();
        for i in (first - 1000..=first).rev() {
            let i = SecretIndex::new(i).unwrap();
            store.insert(i, seed.secret(i)).unwrap();
            // O(log n) space: indices in this range have at most 9 trailing zero bits, so at
            // most buckets 0..=9 are ever used.
            assert!(store.known.iter().flatten().count() <= 10);
        }
        for i in first - 1000..=first {
            let i = SecretIndex::new(i).unwrap();
            assert_eq!(store.get(i), Some(seed.secret(i)));
        }
        let decoded = SecretStore::decode(&store.encode()).unwrap();
        assert_eq!(decoded, store);
        assert_eq!(
            SecretStore::decode(&SecretStore::new().encode()).unwrap(),
            SecretStore::new()
        );
    }

    #[test]
    fn decode_rejects_tampered_stores() {
        let seed = CommitmentSeed::from_bytes([9; 32]);
        let mut store = SecretStore::new();
        let first = SecretIndex::FIRST.value();
        for i in (first - 9..=first).rev() {
            let i = SecretIndex::new(i).unwrap();
            store.insert(i, seed.secret(i)).unwrap();
        }
        let good = store.encode();
        assert!(SecretStore::decode(&good[..good.len() - 1]).is_err());
        // A flipped secret byte in bucket 0 no longer matches what bucket 1 derives.
        let mut bad = good.clone();
        bad[8 + 8] ^= 1;
        assert_eq!(SecretStore::decode(&bad), Err(KeysError::MalformedStore));
        // An index in the wrong bucket.
        let mut bad = good.clone();
        bad[8 + 7] ^= 1;
        assert_eq!(SecretStore::decode(&bad), Err(KeysError::MalformedStore));
        // A next index that claims fewer secrets were received than are stored.
        let mut bad = good;
        bad[..8].copy_from_slice(&first.to_be_bytes());
        assert_eq!(SecretStore::decode(&bad), Err(KeysError::MalformedStore));
    }
}
