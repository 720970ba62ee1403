//! The ledger of a channel: every HTLC and fee change either side has sent, in the order each
//! side sent them, and the view of the channel (balances, feerate, HTLCs) at any position.
//!
//! BOLT 2 "Normal Operation": each update goes first into the receiver's commitment, then,
//! once the receiver has revoked its previous one, into the sender's. Each side's updates
//! enter both commitments in the order they were sent, so a commitment is fully described by
//! two counts, a [`Position`]: how many of our updates and how many of the peer's it
//! includes. A view at a position is the folded `base` plus every live HTLC and fee update
//! whose sequence number is below that position.
//!
//! Folding: once every commitment that can still be built (our current one, the peer's
//! current and pending ones) includes an HTLC's removal, the HTLC is folded into the base
//! balances and forgotten here (the store keeps it for the revocation log); the same for fee
//! updates. Memory and the hot write path therefore stay proportional to what is in flight,
//! not to history.

use std::collections::BTreeMap;
use std::ops::Range;

use bitcoin::secp256k1::PublicKey;
use bitcoin::Amount;
use serde::{Deserialize, Serialize};

use crate::tx::weight::commitment_weight;
use crate::tx::{Htlc, HtlcDirection, PaymentHash, PaymentPreimage};
use crate::units::{FeeratePerKw, Msat};

/// Length of an `onion_routing_packet` (BOLT 2 `update_add_htlc`, BOLT 4).
pub const ONION_LEN: usize = 1366;

/// One of the two parties of a channel, from our node's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// Our node.
    Local,
    /// The peer.
    Remote,
}

impl Party {
    /// The other party.
    #[must_use]
    pub fn other(self) -> Party {
        match self {
            Party::Local => Party::Remote,
            Party::Remote => Party::Local,
        }
    }
}

/// How far into each party's sequence of updates a commitment goes (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Position {
    /// Number of our updates included.
    pub local: u64,
    /// Number of the peer's updates included.
    pub remote: u64,
}

impl Position {
    /// The count for `party`.
    pub fn of(self, party: Party) -> u64 {
        match party {
            Party::Local => self.local,
            Party::Remote => self.remote,
        }
    }

    /// The smaller count of each party.
    #[must_use]
    pub fn min(self, other: Position) -> Position {
        Position {
            local: self.local.min(other.local),
            remote: self.remote.min(other.remote),
        }
    }

    fn of_mut(&mut self, party: Party) -> &mut u64 {
        match party {
            Party::Local => &mut self.local,
            Party::Remote => &mut self.remote,
        }
    }
}

/// An HTLC's identity: who offered it, and its BOLT 2 `id` in the offerer's sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HtlcKey {
    /// Who offered it (`update_add_htlc` sender).
    pub offerer: Party,
    /// Its `id`.
    pub id: u64,
}

/// How an HTLC is removed (BOLT 2 "Removing an HTLC").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// `update_fulfill_htlc`: the payment went through; the receiver takes the amount.
    Fulfilled {
        /// The preimage, checked against the payment hash.
        preimage: PaymentPreimage,
    },
    /// `update_fail_htlc`: the amount goes back to the offerer.
    Failed {
        /// The encrypted failure for the payer (BOLT 4).
        reason: Vec<u8>,
    },
    /// `update_fail_malformed_htlc`: the amount goes back; the onion was unreadable.
    Malformed {
        /// `sha256_of_onion`.
        sha256_of_onion: [u8; 32],
        /// `failure_code` (with the BADONION bit).
        failure_code: u16,
    },
}

/// The update that removes an HTLC: sent by the party that did not offer it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removal {
    /// Its sequence number among the remover's updates.
    pub seq: u64,
    /// Fulfilled or failed.
    pub resolution: Resolution,
}

/// One HTLC, from its `update_add_htlc` until every live commitment has its removal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HtlcRecord {
    /// Who offered it and its id.
    pub key: HtlcKey,
    /// `amount_msat`.
    pub amount: Msat,
    /// `payment_hash`.
    pub payment_hash: PaymentHash,
    /// `cltv_expiry`.
    pub cltv_expiry: u32,
    /// `onion_routing_packet`, kept to retransmit (ours) or to process (theirs).
    pub onion: Box<[u8; ONION_LEN]>,
    /// `update_add_htlc_tlvs.blinded_path.path_key`, if any.
    pub path_key: Option<PublicKey>,
    /// Its sequence number among the offerer's updates.
    pub add_seq: u64,
    /// The update removing it, once sent or received.
    pub removal: Option<Removal>,
    /// The first of the peer's commitments that holds it, once we signed one.
    pub remote_first: Option<u64>,
    /// The last of the peer's commitments that holds it, once we signed one without it.
    pub remote_last: Option<u64>,
}

impl HtlcRecord {
    /// Whether the commitment at `pos` holds it (added, not yet removed).
    pub fn is_in(&self, pos: Position) -> bool {
        self.add_seq < pos.of(self.key.offerer) && !self.is_removed_at(pos)
    }

    /// Whether the commitment at `pos` includes its removal.
    pub fn is_removed_at(&self, pos: Position) -> bool {
        self.removal
            .as_ref()
            .is_some_and(|r| r.seq < pos.of(self.key.offerer.other()))
    }

    /// The HTLC as it enters a commitment, seen from us (`Offered` = offered by us).
    pub fn as_htlc(&self) -> Htlc {
        Htlc {
            direction: match self.key.offerer {
                Party::Local => HtlcDirection::Offered,
                Party::Remote => HtlcDirection::Received,
            },
            amount: self.amount,
            payment_hash: self.payment_hash,
            cltv_expiry: self.cltv_expiry,
        }
    }
}

/// A fee change (BOLT 2 `update_fee`), always sent by the funder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeUpdate {
    /// Its sequence number among the funder's updates.
    pub seq: u64,
    /// The new `feerate_per_kw`.
    pub feerate: FeeratePerKw,
}

/// What every live commitment agrees on: the balances and feerate once every folded update
/// is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Base {
    /// Our balance.
    pub ours: Msat,
    /// The peer's balance.
    pub theirs: Msat,
    /// The feerate.
    pub feerate: FeeratePerKw,
}

/// One state of the channel: what a commitment at some position holds, from our side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    /// Our balance (HTLCs and fee excluded).
    pub ours: Msat,
    /// The peer's balance.
    pub theirs: Msat,
    /// `feerate_per_kw`.
    pub feerate: FeeratePerKw,
    /// The HTLCs it holds, in key order (directions as we see them).
    pub htlcs: Vec<(HtlcKey, Htlc)>,
}

impl View {
    /// The balances the transaction builders take.
    pub fn balances(&self) -> super::Balances {
        super::Balances {
            ours: self.ours,
            theirs: self.theirs,
            feerate: self.feerate,
            htlcs: self.htlcs.iter().map(|(_, h)| *h).collect(),
        }
    }

    /// The balance of `party`.
    pub fn balance(&self, party: Party) -> Msat {
        match party {
            Party::Local => self.ours,
            Party::Remote => self.theirs,
        }
    }

    /// The HTLCs of this view that are not trimmed from `owner`'s commitment built with
    /// `dust_limit` (the owner's), and the commitment's base fee (BOLT 3 "Fee Calculation").
    pub fn untrimmed_and_fee(&self, owner: Party, dust_limit: Amount) -> (usize, Amount) {
        let untrimmed = self
            .htlcs
            .iter()
            .filter(|(_, h)| {
                let seen = Htlc {
                    direction: match owner {
                        Party::Local => h.direction,
                        Party::Remote => h.direction.flipped(),
                    },
                    ..*h
                };
                !seen.is_trimmed(self.feerate, dust_limit)
            })
            .count();
        (
            untrimmed,
            self.feerate.fee_for_weight(commitment_weight(untrimmed)),
        )
    }

    /// Total of the HTLCs `party` offered in this view.
    pub fn offered_by(&self, party: Party) -> (usize, Msat) {
        let mut count = 0;
        let mut total = Msat::ZERO;
        for (key, h) in &self.htlcs {
            if key.offerer == party {
                count += 1;
                total = Msat(total.0.saturating_add(h.amount.0));
            }
        }
        (count, total)
    }
}

/// A view that cannot exist: a party would pay out more than it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the {0:?} balance would go below zero")]
pub struct Overdrawn(pub Party);

/// The channel's updates, folded and live (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ledger {
    /// Who pays the commitment fee and alone sends `update_fee`.
    pub funder: Party,
    /// Everything folded.
    pub base: Base,
    /// Live HTLCs, by key.
    pub htlcs: BTreeMap<HtlcKey, HtlcRecord>,
    /// Live fee updates, oldest first.
    pub fees: Vec<FeeUpdate>,
    /// How many updates each party has sent: the next update's sequence number.
    pub next_seq: Position,
    /// The next HTLC `id` each party will use.
    pub next_id: Position,
}

impl Ledger {
    /// A ledger with nothing in flight: the state right after funding.
    pub fn new(funder: Party, base: Base) -> Ledger {
        Ledger {
            funder,
            base,
            htlcs: BTreeMap::new(),
            fees: Vec::new(),
            next_seq: Position::default(),
            next_id: Position::default(),
        }
    }

    /// The state a commitment at `pos` holds.
    pub fn view(&self, pos: Position) -> Result<View, Overdrawn> {
        let mut ours = self.base.ours;
        let mut theirs = self.base.theirs;
        let mut htlcs = Vec::new();
        for record in self.htlcs.values() {
            if record.add_seq >= pos.of(record.key.offerer) {
                continue;
            }
            let (offerer, receiver) = match record.key.offerer {
                Party::Local => (&mut ours, &mut theirs),
                Party::Remote => (&mut theirs, &mut ours),
            };
            *offerer = offerer
                .checked_sub(record.amount)
                .ok_or(Overdrawn(record.key.offerer))?;
            match &record.removal {
                Some(r) if r.seq < pos.of(record.key.offerer.other()) => {
                    if let Resolution::Fulfilled { .. } = r.resolution {
                        *receiver = receiver
                            .checked_add(record.amount)
                            .ok_or(Overdrawn(record.key.offerer.other()))?;
                    } else {
                        *offerer = offerer
                            .checked_add(record.amount)
                            .ok_or(Overdrawn(record.key.offerer))?;
                    }
                }
                _ => htlcs.push((record.key, record.as_htlc())),
            }
        }
        Ok(View {
            ours,
            theirs,
            feerate: self.feerate_at(pos),
            htlcs,
        })
    }

    /// The feerate of a commitment at `pos`: the funder's last fee update it includes.
    pub fn feerate_at(&self, pos: Position) -> FeeratePerKw {
        let limit = pos.of(self.funder);
        self.fees
            .iter()
            .rev()
            .find(|f| f.seq < limit)
            .map_or(self.base.feerate, |f| f.feerate)
    }

    /// The view with every update sent by either side: what the commitments will hold once
    /// everything in flight is committed.
    pub fn latest(&self) -> Result<View, Overdrawn> {
        self.view(self.next_seq)
    }

    /// Takes the next sequence number of `party`'s updates.
    pub fn take_seq(&mut self, party: Party) -> u64 {
        let seq = self.next_seq.of_mut(party);
        let taken = *seq;
        *seq += 1;
        taken
    }

    /// The HTLC `id` offered by `offerer`, if live.
    pub fn htlc(&self, offerer: Party, id: u64) -> Option<&HtlcRecord> {
        self.htlcs.get(&HtlcKey { offerer, id })
    }

    /// Records an HTLC offered by `offerer` (its id and sequence number are taken here).
    pub fn add_htlc(&mut self, offerer: Party, htlc: NewHtlc) -> HtlcKey {
        let id_slot = self.next_id.of_mut(offerer);
        let id = *id_slot;
        *id_slot += 1;
        let key = HtlcKey { offerer, id };
        let add_seq = self.take_seq(offerer);
        self.htlcs.insert(
            key,
            HtlcRecord {
                key,
                amount: htlc.amount,
                payment_hash: htlc.payment_hash,
                cltv_expiry: htlc.cltv_expiry,
                onion: htlc.onion,
                path_key: htlc.path_key,
                add_seq,
                removal: None,
                remote_first: None,
                remote_last: None,
            },
        );
        key
    }

    /// Records the removal of `key` by the party that did not offer it. The caller checked
    /// that the HTLC is live and not already being removed.
    pub fn remove_htlc(&mut self, key: HtlcKey, resolution: Resolution) {
        let seq = self.take_seq(key.offerer.other());
        if let Some(record) = self.htlcs.get_mut(&key) {
            record.removal = Some(Removal { seq, resolution });
        }
    }

    /// Records a fee update by the funder.
    pub fn update_fee(&mut self, feerate: FeeratePerKw) {
        let seq = self.take_seq(self.funder);
        self.fees.push(FeeUpdate { seq, feerate });
    }

    /// Forgets the peer's updates that no commitment includes (BOLT 2: "upon disconnection:
    /// MUST reverse any uncommitted updates sent by the other side"): those at or beyond
    /// `committed` in the peer's sequence. `next_remote_id` is the peer's next HTLC id as of
    /// the last commitment it signed.
    pub fn reverse_remote_uncommitted(&mut self, committed: u64, next_remote_id: u64) {
        self.htlcs
            .retain(|key, record| !(key.offerer == Party::Remote && record.add_seq >= committed));
        for record in self.htlcs.values_mut() {
            if record.key.offerer == Party::Local
                && record.removal.as_ref().is_some_and(|r| r.seq >= committed)
            {
                record.removal = None;
            }
        }
        if self.funder == Party::Remote {
            self.fees.retain(|f| f.seq < committed);
        }
        self.next_seq.remote = committed;
        self.next_id.remote = next_remote_id;
    }

    /// The updates `sender` sent with sequence numbers in `range`, in the order sent: its
    /// adds, its removals of the other party's HTLCs, and (as funder) its fee updates.
    pub fn updates_of(&self, sender: Party, range: Range<u64>) -> Vec<(u64, Update<'_>)> {
        let mut out = Vec::new();
        for h in self.htlcs.values() {
            if h.key.offerer == sender {
                if range.contains(&h.add_seq) {
                    out.push((h.add_seq, Update::Add(h)));
                }
            } else if let Some(r) = h.removal.as_ref().filter(|r| range.contains(&r.seq)) {
                out.push((r.seq, Update::Removal(h)));
            }
        }
        if self.funder == sender {
            for f in self.fees.iter().filter(|f| range.contains(&f.seq)) {
                out.push((f.seq, Update::Fee(f)));
            }
        }
        out.sort_by_key(|(seq, _)| *seq);
        out
    }

    /// Folds every HTLC and fee update that all commitments at or after `floor` agree on into
    /// the base (see the module docs). Returns what was folded, for the store.
    pub fn fold(&mut self, floor: Position) -> Folded {
        let done: Vec<HtlcKey> = self
            .htlcs
            .values()
            .filter(|r| r.is_removed_at(floor))
            .map(|r| r.key)
            .collect();
        let mut folded = Vec::with_capacity(done.len());
        for key in done {
            let Some(record) = self.htlcs.remove(&key) else {
                continue;
            };
            if let Some(Removal {
                resolution: Resolution::Fulfilled { .. },
                ..
            }) = record.removal
            {
                let (from, to) = match key.offerer {
                    Party::Local => (&mut self.base.ours, &mut self.base.theirs),
                    Party::Remote => (&mut self.base.theirs, &mut self.base.ours),
                };
                // Both views already held these amounts: the subtraction cannot underflow
                // for a ledger whose views were checked, but never panic on a corrupt one.
                *from = from.checked_sub(record.amount).unwrap_or(Msat::ZERO);
                *to = Msat(to.0.saturating_add(record.amount.0));
            }
            folded.push(record);
        }
        let limit = floor.of(self.funder);
        let kept = self.fees.partition_point(|f| f.seq < limit);
        let fees: Vec<FeeUpdate> = self.fees.drain(..kept).collect();
        if let Some(last) = fees.last() {
            self.base.feerate = last.feerate;
        }
        Folded {
            htlcs: folded,
            fees,
        }
    }

    /// Whether nothing is in flight: no HTLC, no fee update, and both commitments at
    /// `positions` include every update sent.
    pub fn is_quiet(&self, positions: &[Position]) -> bool {
        self.htlcs.is_empty()
            && self.fees.is_empty()
            && positions.iter().all(|p| *p == self.next_seq)
    }
}

/// One update of a party's sequence (see [`Ledger::updates_of`]).
#[derive(Clone, Copy, Debug)]
pub enum Update<'a> {
    /// An `update_add_htlc` of this HTLC.
    Add(&'a HtlcRecord),
    /// The removal of this HTLC (the other party's).
    Removal(&'a HtlcRecord),
    /// An `update_fee`.
    Fee(&'a FeeUpdate),
}

/// What [`Ledger::fold`] took out of the live ledger.
#[derive(Clone, Debug, Default)]
pub struct Folded {
    /// The HTLCs whose removal every live commitment holds.
    pub htlcs: Vec<HtlcRecord>,
    /// The fee updates every live commitment holds, oldest first.
    pub fees: Vec<FeeUpdate>,
}

impl NewHtlc {
    /// The HTLC as it enters a commitment once we offer it (`Offered`, seen from us).
    pub fn as_offered(&self) -> Htlc {
        Htlc {
            direction: HtlcDirection::Offered,
            amount: self.amount,
            payment_hash: self.payment_hash,
            cltv_expiry: self.cltv_expiry,
        }
    }
}

/// What a new HTLC carries (the fields of `update_add_htlc` but its id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewHtlc {
    /// `amount_msat`.
    pub amount: Msat,
    /// `payment_hash`.
    pub payment_hash: PaymentHash,
    /// `cltv_expiry`.
    pub cltv_expiry: u32,
    /// `onion_routing_packet`.
    pub onion: Box<[u8; ONION_LEN]>,
    /// `blinded_path.path_key`.
    pub path_key: Option<PublicKey>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> Ledger {
        Ledger::new(
            Party::Local,
            Base {
                ours: Msat(700_000_000),
                theirs: Msat(300_000_000),
                feerate: FeeratePerKw(253),
            },
        )
    }

    fn new_htlc(amount: u64) -> NewHtlc {
        NewHtlc {
            amount: Msat(amount),
            payment_hash: PaymentPreimage([7; 32]).payment_hash(),
            cltv_expiry: 500,
            onion: Box::new([0; ONION_LEN]),
            path_key: None,
        }
    }

    #[test]
    fn a_view_holds_what_its_position_includes() {
        let mut l = ledger();
        let a = l.add_htlc(Party::Local, new_htlc(10_000_000));
        let b = l.add_htlc(Party::Remote, new_htlc(5_000_000));
        assert_eq!((a.id, b.id), (0, 0));
        // Only our add included.
        let v = l
            .view(Position {
                local: 1,
                remote: 0,
            })
            .unwrap();
        assert_eq!((v.ours, v.theirs), (Msat(690_000_000), Msat(300_000_000)));
        assert_eq!(v.htlcs.len(), 1);
        // Both adds.
        let v = l.latest().unwrap();
        assert_eq!((v.ours, v.theirs), (Msat(690_000_000), Msat(295_000_000)));
        // The peer fulfils ours, we fail theirs.
        l.remove_htlc(
            a,
            Resolution::Fulfilled {
                preimage: PaymentPreimage([7; 32]),
            },
        );
        l.remove_htlc(b, Resolution::Failed { reason: vec![1, 2] });
        let v = l.latest().unwrap();
        assert_eq!((v.ours, v.theirs), (Msat(690_000_000), Msat(310_000_000)));
        assert!(v.htlcs.is_empty());
        // Folding at the latest position empties the ledger into the base.
        let folded = l.fold(l.next_seq);
        assert_eq!(folded.htlcs.len(), 2);
        assert!(l.htlcs.is_empty());
        assert_eq!(l.latest().unwrap().ours, Msat(690_000_000));
        assert_eq!(l.latest().unwrap().theirs, Msat(310_000_000));
    }

    #[test]
    fn fee_updates_apply_from_their_position_and_fold() {
        let mut l = ledger();
        l.update_fee(FeeratePerKw(1000));
        l.update_fee(FeeratePerKw(2000));
        assert_eq!(
            l.feerate_at(Position::default()),
            FeeratePerKw(253),
            "nothing included yet"
        );
        assert_eq!(
            l.feerate_at(Position {
                local: 1,
                remote: 0
            }),
            FeeratePerKw(1000)
        );
        assert_eq!(l.feerate_at(l.next_seq), FeeratePerKw(2000));
        l.fold(Position {
            local: 1,
            remote: 0,
        });
        assert_eq!(l.base.feerate, FeeratePerKw(1000));
        assert_eq!(l.fees.len(), 1);
        assert_eq!(l.feerate_at(l.next_seq), FeeratePerKw(2000));
    }

    #[test]
    fn an_overdrawn_view_is_an_error() {
        let mut l = ledger();
        l.add_htlc(Party::Remote, new_htlc(300_000_001));
        assert_eq!(l.latest(), Err(Overdrawn(Party::Remote)));
    }

    #[test]
    fn reversing_drops_only_the_peers_uncommitted_updates() {
        let mut l = Ledger::new(
            Party::Remote,
            Base {
                ours: Msat(1_000_000),
                theirs: Msat(9_000_000),
                feerate: FeeratePerKw(253),
            },
        );
        let committed = l.add_htlc(Party::Remote, new_htlc(1_000_000));
        l.update_fee(FeeratePerKw(300)); // remote seq 1
        l.add_htlc(Party::Remote, new_htlc(1_000_000)); // remote seq 2
        let ours = l.add_htlc(Party::Local, new_htlc(100_000));
        l.reverse_remote_uncommitted(1, 1);
        assert!(l.htlc(Party::Remote, committed.id).is_some());
        assert!(l.htlc(Party::Remote, 1).is_none());
        assert!(l.htlc(Party::Local, ours.id).is_some());
        assert!(l.fees.is_empty());
        assert_eq!(
            l.next_seq,
            Position {
                local: 1,
                remote: 1
            }
        );
        assert_eq!(l.next_id.remote, 1);
    }
}
