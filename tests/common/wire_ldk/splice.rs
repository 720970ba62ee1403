//! BOLT 2 quiescence and splicing: `stfu`, `splice_init`, `splice_ack`, `splice_locked`.

use lightning::ln::msgs as ldk;
use petrel::wire::{self, Sampler};

use super::{channel_id, check, int, int32, txid, Pair, Tlvs};

pub fn same_stfu(p: &wire::Stfu, l: &ldk::Stfu) {
    check("stfu", "channel_id", p.channel_id.0, l.channel_id.0);
    check("stfu", "initiator", p.initiator, u8::from(l.initiator));
}

impl Pair for wire::Stfu {
    type Ldk = ldk::Stfu;
    fn same(p: &Self, l: &ldk::Stfu) {
        same_stfu(p, l);
    }
    /// BOLT 2 has senders set `initiator` to 0 or 1; LDK reads it as a bool and rejects any
    /// other value (see the `stfu_initiator_above_one` test).
    fn restrict(p: &mut Self, _: &mut Sampler) {
        p.initiator %= 2;
    }
    fn ldk_build(s: &mut Sampler, _: Tlvs) -> ldk::Stfu {
        ldk::Stfu {
            channel_id: channel_id(s),
            initiator: s.coin(),
        }
    }
}

pub fn same_splice_init(p: &wire::SpliceInit, l: &ldk::SpliceInit) {
    let m = "splice_init";
    check(m, "channel_id", p.channel_id.0, l.channel_id.0);
    check(
        m,
        "funding_contribution_satoshis",
        p.funding_contribution_satoshis.to_sat(),
        l.funding_contribution_satoshis,
    );
    check(
        m,
        "funding_feerate_perkw",
        p.funding_feerate_perkw.0,
        l.funding_feerate_per_kw,
    );
    check(m, "locktime", p.locktime, l.locktime);
    check(m, "funding_pubkey", p.funding_pubkey, l.funding_pubkey);
    check(
        m,
        "tlvs.require_confirmed_inputs",
        p.tlvs.require_confirmed_inputs,
        l.require_confirmed_inputs.is_some(),
    );
}

impl Pair for wire::SpliceInit {
    type Ldk = ldk::SpliceInit;
    fn same(p: &Self, l: &ldk::SpliceInit) {
        same_splice_init(p, l);
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::SpliceInit {
        ldk::SpliceInit {
            channel_id: channel_id(s),
            #[allow(clippy::cast_possible_wrap)]
            funding_contribution_satoshis: int(s) as i64,
            funding_feerate_per_kw: int32(s),
            locktime: int32(s),
            funding_pubkey: s.point(),
            require_confirmed_inputs: tlvs.maybe(s, |_| ()),
        }
    }
}

pub fn same_splice_ack(p: &wire::SpliceAck, l: &ldk::SpliceAck) {
    let m = "splice_ack";
    check(m, "channel_id", p.channel_id.0, l.channel_id.0);
    check(
        m,
        "funding_contribution_satoshis",
        p.funding_contribution_satoshis.to_sat(),
        l.funding_contribution_satoshis,
    );
    check(m, "funding_pubkey", p.funding_pubkey, l.funding_pubkey);
    check(
        m,
        "tlvs.require_confirmed_inputs",
        p.tlvs.require_confirmed_inputs,
        l.require_confirmed_inputs.is_some(),
    );
}

impl Pair for wire::SpliceAck {
    type Ldk = ldk::SpliceAck;
    fn same(p: &Self, l: &ldk::SpliceAck) {
        same_splice_ack(p, l);
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::SpliceAck {
        ldk::SpliceAck {
            channel_id: channel_id(s),
            #[allow(clippy::cast_possible_wrap)]
            funding_contribution_satoshis: int(s) as i64,
            funding_pubkey: s.point(),
            require_confirmed_inputs: tlvs.maybe(s, |_| ()),
        }
    }
}

pub fn same_splice_locked(p: &wire::SpliceLocked, l: &ldk::SpliceLocked) {
    check(
        "splice_locked",
        "channel_id",
        p.channel_id.0,
        l.channel_id.0,
    );
    check("splice_locked", "splice_txid", p.splice_txid, l.splice_txid);
}

impl Pair for wire::SpliceLocked {
    type Ldk = ldk::SpliceLocked;
    fn same(p: &Self, l: &ldk::SpliceLocked) {
        same_splice_locked(p, l);
    }
    fn ldk_build(s: &mut Sampler, _: Tlvs) -> ldk::SpliceLocked {
        ldk::SpliceLocked {
            channel_id: channel_id(s),
            splice_txid: txid(s),
        }
    }
}
