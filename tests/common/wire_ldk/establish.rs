//! BOLT 2 channel establishment, v1 and v2: `open_channel`, `accept_channel`,
//! `funding_created`, `funding_signed`, `channel_ready`, `open_channel2`, `accept_channel2`.

use lightning::ln::msgs as ldk;
use petrel::wire::{self, Sampler};

use super::{
    be_features, channel_id, channel_type, check, int, int16, int32, script, signature, txid, Pair,
    Tlvs,
};

/// The optional `upfront_shutdown_script` and `channel_type` records, as LDK holds them.
fn opening_tlvs(
    p_script: Option<&Vec<u8>>,
    p_type: Option<&Vec<u8>>,
    l_script: Option<&bitcoin::ScriptBuf>,
    l_type: Option<&lightning::types::features::ChannelTypeFeatures>,
    message: &str,
) {
    check(
        message,
        "tlvs.upfront_shutdown_script",
        p_script.map(Vec::as_slice),
        l_script.map(|s| s.as_bytes()),
    );
    check(
        message,
        "tlvs.channel_type",
        p_type.cloned(),
        l_type.map(be_features),
    );
}

/// LDK's common `open_channel`/`open_channel2` fields, sampled.
fn common_open(s: &mut Sampler, tlvs: Tlvs) -> ldk::CommonOpenChannelFields {
    ldk::CommonOpenChannelFields {
        chain_hash: bitcoin::constants::ChainHash::from(s.array::<32>()),
        temporary_channel_id: channel_id(s),
        funding_satoshis: int(s),
        dust_limit_satoshis: int(s),
        max_htlc_value_in_flight_msat: int(s),
        htlc_minimum_msat: int(s),
        commitment_feerate_sat_per_1000_weight: int32(s),
        to_self_delay: int16(s),
        max_accepted_htlcs: int16(s),
        funding_pubkey: s.point(),
        revocation_basepoint: s.point(),
        payment_basepoint: s.point(),
        delayed_payment_basepoint: s.point(),
        htlc_basepoint: s.point(),
        first_per_commitment_point: s.point(),
        channel_flags: s.array::<1>()[0],
        shutdown_scriptpubkey: tlvs.maybe(s, script),
        channel_type: tlvs.maybe(s, channel_type),
    }
}

/// LDK's common `accept_channel`/`accept_channel2` fields, sampled.
fn common_accept(s: &mut Sampler, tlvs: Tlvs) -> ldk::CommonAcceptChannelFields {
    ldk::CommonAcceptChannelFields {
        temporary_channel_id: channel_id(s),
        dust_limit_satoshis: int(s),
        max_htlc_value_in_flight_msat: int(s),
        htlc_minimum_msat: int(s),
        minimum_depth: int32(s),
        to_self_delay: int16(s),
        max_accepted_htlcs: int16(s),
        funding_pubkey: s.point(),
        revocation_basepoint: s.point(),
        payment_basepoint: s.point(),
        delayed_payment_basepoint: s.point(),
        htlc_basepoint: s.point(),
        first_per_commitment_point: s.point(),
        shutdown_scriptpubkey: tlvs.maybe(s, script),
        channel_type: tlvs.maybe(s, channel_type),
    }
}

pub fn same_open_channel(p: &wire::OpenChannel, l: &ldk::OpenChannel) {
    let m = "open_channel";
    let c = &l.common_fields;
    check(m, "chain_hash", p.chain_hash, c.chain_hash);
    check(
        m,
        "temporary_channel_id",
        p.temporary_channel_id.0,
        c.temporary_channel_id.0,
    );
    check(
        m,
        "funding_satoshis",
        p.funding_satoshis.to_sat(),
        c.funding_satoshis,
    );
    check(m, "push_msat", p.push_msat.0, l.push_msat);
    check(
        m,
        "dust_limit_satoshis",
        p.dust_limit_satoshis.to_sat(),
        c.dust_limit_satoshis,
    );
    check(
        m,
        "max_htlc_value_in_flight_msat",
        p.max_htlc_value_in_flight_msat.0,
        c.max_htlc_value_in_flight_msat,
    );
    check(
        m,
        "channel_reserve_satoshis",
        p.channel_reserve_satoshis.to_sat(),
        l.channel_reserve_satoshis,
    );
    check(
        m,
        "htlc_minimum_msat",
        p.htlc_minimum_msat.0,
        c.htlc_minimum_msat,
    );
    check(
        m,
        "feerate_per_kw",
        p.feerate_per_kw.0,
        c.commitment_feerate_sat_per_1000_weight,
    );
    check(m, "to_self_delay", p.to_self_delay, c.to_self_delay);
    check(
        m,
        "max_accepted_htlcs",
        p.max_accepted_htlcs,
        c.max_accepted_htlcs,
    );
    check(m, "funding_pubkey", p.funding_pubkey, c.funding_pubkey);
    check(
        m,
        "revocation_basepoint",
        p.revocation_basepoint,
        c.revocation_basepoint,
    );
    check(
        m,
        "payment_basepoint",
        p.payment_basepoint,
        c.payment_basepoint,
    );
    check(
        m,
        "delayed_payment_basepoint",
        p.delayed_payment_basepoint,
        c.delayed_payment_basepoint,
    );
    check(m, "htlc_basepoint", p.htlc_basepoint, c.htlc_basepoint);
    check(
        m,
        "first_per_commitment_point",
        p.first_per_commitment_point,
        c.first_per_commitment_point,
    );
    check(m, "channel_flags", p.channel_flags, c.channel_flags);
    opening_tlvs(
        p.tlvs.upfront_shutdown_script.as_ref(),
        p.tlvs.channel_type.as_ref(),
        c.shutdown_scriptpubkey.as_ref(),
        c.channel_type.as_ref(),
        m,
    );
}

impl Pair for wire::OpenChannel {
    type Ldk = ldk::OpenChannel;
    fn same(p: &Self, l: &ldk::OpenChannel) {
        same_open_channel(p, l);
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::OpenChannel {
        ldk::OpenChannel {
            common_fields: common_open(s, tlvs),
            push_msat: int(s),
            channel_reserve_satoshis: int(s),
        }
    }
}

pub fn same_accept_channel(p: &wire::AcceptChannel, l: &ldk::AcceptChannel) {
    let m = "accept_channel";
    let c = &l.common_fields;
    check(
        m,
        "temporary_channel_id",
        p.temporary_channel_id.0,
        c.temporary_channel_id.0,
    );
    check(
        m,
        "dust_limit_satoshis",
        p.dust_limit_satoshis.to_sat(),
        c.dust_limit_satoshis,
    );
    check(
        m,
        "max_htlc_value_in_flight_msat",
        p.max_htlc_value_in_flight_msat.0,
        c.max_htlc_value_in_flight_msat,
    );
    check(
        m,
        "channel_reserve_satoshis",
        p.channel_reserve_satoshis.to_sat(),
        l.channel_reserve_satoshis,
    );
    check(
        m,
        "htlc_minimum_msat",
        p.htlc_minimum_msat.0,
        c.htlc_minimum_msat,
    );
    check(m, "minimum_depth", p.minimum_depth, c.minimum_depth);
    check(m, "to_self_delay", p.to_self_delay, c.to_self_delay);
    check(
        m,
        "max_accepted_htlcs",
        p.max_accepted_htlcs,
        c.max_accepted_htlcs,
    );
    check(m, "funding_pubkey", p.funding_pubkey, c.funding_pubkey);
    check(
        m,
        "revocation_basepoint",
        p.revocation_basepoint,
        c.revocation_basepoint,
    );
    check(
        m,
        "payment_basepoint",
        p.payment_basepoint,
        c.payment_basepoint,
    );
    check(
        m,
        "delayed_payment_basepoint",
        p.delayed_payment_basepoint,
        c.delayed_payment_basepoint,
    );
    check(m, "htlc_basepoint", p.htlc_basepoint, c.htlc_basepoint);
    check(
        m,
        "first_per_commitment_point",
        p.first_per_commitment_point,
        c.first_per_commitment_point,
    );
    opening_tlvs(
        p.tlvs.upfront_shutdown_script.as_ref(),
        p.tlvs.channel_type.as_ref(),
        c.shutdown_scriptpubkey.as_ref(),
        c.channel_type.as_ref(),
        m,
    );
}

impl Pair for wire::AcceptChannel {
    type Ldk = ldk::AcceptChannel;
    fn same(p: &Self, l: &ldk::AcceptChannel) {
        same_accept_channel(p, l);
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::AcceptChannel {
        ldk::AcceptChannel {
            common_fields: common_accept(s, tlvs),
            channel_reserve_satoshis: int(s),
        }
    }
}

pub fn same_funding_created(p: &wire::FundingCreated, l: &ldk::FundingCreated) {
    let m = "funding_created";
    check(
        m,
        "temporary_channel_id",
        p.temporary_channel_id.0,
        l.temporary_channel_id.0,
    );
    check(m, "funding_txid", p.funding_txid, l.funding_txid);
    check(
        m,
        "funding_output_index",
        p.funding_output_index,
        l.funding_output_index,
    );
    check(m, "signature", p.signature, l.signature);
}

impl Pair for wire::FundingCreated {
    type Ldk = ldk::FundingCreated;
    fn same(p: &Self, l: &ldk::FundingCreated) {
        same_funding_created(p, l);
    }
    fn ldk_build(s: &mut Sampler, _: Tlvs) -> ldk::FundingCreated {
        ldk::FundingCreated {
            temporary_channel_id: channel_id(s),
            funding_txid: txid(s),
            funding_output_index: int16(s),
            signature: signature(s),
        }
    }
}

pub fn same_funding_signed(p: &wire::FundingSigned, l: &ldk::FundingSigned) {
    check(
        "funding_signed",
        "channel_id",
        p.channel_id.0,
        l.channel_id.0,
    );
    check("funding_signed", "signature", p.signature, l.signature);
}

impl Pair for wire::FundingSigned {
    type Ldk = ldk::FundingSigned;
    fn same(p: &Self, l: &ldk::FundingSigned) {
        same_funding_signed(p, l);
    }
    fn ldk_build(s: &mut Sampler, _: Tlvs) -> ldk::FundingSigned {
        ldk::FundingSigned {
            channel_id: channel_id(s),
            signature: signature(s),
        }
    }
}

pub fn same_channel_ready(p: &wire::ChannelReady, l: &ldk::ChannelReady) {
    check(
        "channel_ready",
        "channel_id",
        p.channel_id.0,
        l.channel_id.0,
    );
    check(
        "channel_ready",
        "second_per_commitment_point",
        p.second_per_commitment_point,
        l.next_per_commitment_point,
    );
    check(
        "channel_ready",
        "tlvs.short_channel_id",
        p.tlvs.short_channel_id.map(|scid| scid.0),
        l.short_channel_id_alias,
    );
}

impl Pair for wire::ChannelReady {
    type Ldk = ldk::ChannelReady;
    fn same(p: &Self, l: &ldk::ChannelReady) {
        same_channel_ready(p, l);
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::ChannelReady {
        ldk::ChannelReady {
            channel_id: channel_id(s),
            next_per_commitment_point: s.point(),
            short_channel_id_alias: tlvs.maybe(s, int),
        }
    }
}

pub fn same_open_channel2(p: &wire::OpenChannel2, l: &ldk::OpenChannelV2) {
    let m = "open_channel2";
    let c = &l.common_fields;
    check(m, "chain_hash", p.chain_hash, c.chain_hash);
    check(
        m,
        "temporary_channel_id",
        p.temporary_channel_id.0,
        c.temporary_channel_id.0,
    );
    check(
        m,
        "funding_feerate_perkw",
        p.funding_feerate_perkw.0,
        l.funding_feerate_sat_per_1000_weight,
    );
    check(
        m,
        "commitment_feerate_perkw",
        p.commitment_feerate_perkw.0,
        c.commitment_feerate_sat_per_1000_weight,
    );
    check(
        m,
        "funding_satoshis",
        p.funding_satoshis.to_sat(),
        c.funding_satoshis,
    );
    check(
        m,
        "dust_limit_satoshis",
        p.dust_limit_satoshis.to_sat(),
        c.dust_limit_satoshis,
    );
    check(
        m,
        "max_htlc_value_in_flight_msat",
        p.max_htlc_value_in_flight_msat.0,
        c.max_htlc_value_in_flight_msat,
    );
    check(
        m,
        "htlc_minimum_msat",
        p.htlc_minimum_msat.0,
        c.htlc_minimum_msat,
    );
    check(m, "to_self_delay", p.to_self_delay, c.to_self_delay);
    check(
        m,
        "max_accepted_htlcs",
        p.max_accepted_htlcs,
        c.max_accepted_htlcs,
    );
    check(m, "locktime", p.locktime, l.locktime);
    check(m, "funding_pubkey", p.funding_pubkey, c.funding_pubkey);
    check(
        m,
        "revocation_basepoint",
        p.revocation_basepoint,
        c.revocation_basepoint,
    );
    check(
        m,
        "payment_basepoint",
        p.payment_basepoint,
        c.payment_basepoint,
    );
    check(
        m,
        "delayed_payment_basepoint",
        p.delayed_payment_basepoint,
        c.delayed_payment_basepoint,
    );
    check(m, "htlc_basepoint", p.htlc_basepoint, c.htlc_basepoint);
    check(
        m,
        "first_per_commitment_point",
        p.first_per_commitment_point,
        c.first_per_commitment_point,
    );
    check(
        m,
        "second_per_commitment_point",
        p.second_per_commitment_point,
        l.second_per_commitment_point,
    );
    check(m, "channel_flags", p.channel_flags, c.channel_flags);
    opening_tlvs(
        p.tlvs.upfront_shutdown_script.as_ref(),
        p.tlvs.channel_type.as_ref(),
        c.shutdown_scriptpubkey.as_ref(),
        c.channel_type.as_ref(),
        m,
    );
    check(
        m,
        "tlvs.require_confirmed_inputs",
        p.tlvs.require_confirmed_inputs,
        l.require_confirmed_inputs.is_some(),
    );
}

impl Pair for wire::OpenChannel2 {
    type Ldk = ldk::OpenChannelV2;
    fn same(p: &Self, l: &ldk::OpenChannelV2) {
        same_open_channel2(p, l);
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::OpenChannelV2 {
        ldk::OpenChannelV2 {
            common_fields: common_open(s, tlvs),
            funding_feerate_sat_per_1000_weight: int32(s),
            locktime: int32(s),
            second_per_commitment_point: s.point(),
            require_confirmed_inputs: tlvs.maybe(s, |_| ()),
        }
    }
}

pub fn same_accept_channel2(p: &wire::AcceptChannel2, l: &ldk::AcceptChannelV2) {
    let m = "accept_channel2";
    let c = &l.common_fields;
    check(
        m,
        "temporary_channel_id",
        p.temporary_channel_id.0,
        c.temporary_channel_id.0,
    );
    check(
        m,
        "funding_satoshis",
        p.funding_satoshis.to_sat(),
        l.funding_satoshis,
    );
    check(
        m,
        "dust_limit_satoshis",
        p.dust_limit_satoshis.to_sat(),
        c.dust_limit_satoshis,
    );
    check(
        m,
        "max_htlc_value_in_flight_msat",
        p.max_htlc_value_in_flight_msat.0,
        c.max_htlc_value_in_flight_msat,
    );
    check(
        m,
        "htlc_minimum_msat",
        p.htlc_minimum_msat.0,
        c.htlc_minimum_msat,
    );
    check(m, "minimum_depth", p.minimum_depth, c.minimum_depth);
    check(m, "to_self_delay", p.to_self_delay, c.to_self_delay);
    check(
        m,
        "max_accepted_htlcs",
        p.max_accepted_htlcs,
        c.max_accepted_htlcs,
    );
    check(m, "funding_pubkey", p.funding_pubkey, c.funding_pubkey);
    check(
        m,
        "revocation_basepoint",
        p.revocation_basepoint,
        c.revocation_basepoint,
    );
    check(
        m,
        "payment_basepoint",
        p.payment_basepoint,
        c.payment_basepoint,
    );
    check(
        m,
        "delayed_payment_basepoint",
        p.delayed_payment_basepoint,
        c.delayed_payment_basepoint,
    );
    check(m, "htlc_basepoint", p.htlc_basepoint, c.htlc_basepoint);
    check(
        m,
        "first_per_commitment_point",
        p.first_per_commitment_point,
        c.first_per_commitment_point,
    );
    check(
        m,
        "second_per_commitment_point",
        p.second_per_commitment_point,
        l.second_per_commitment_point,
    );
    opening_tlvs(
        p.tlvs.upfront_shutdown_script.as_ref(),
        p.tlvs.channel_type.as_ref(),
        c.shutdown_scriptpubkey.as_ref(),
        c.channel_type.as_ref(),
        m,
    );
    check(
        m,
        "tlvs.require_confirmed_inputs",
        p.tlvs.require_confirmed_inputs,
        l.require_confirmed_inputs.is_some(),
    );
}

impl Pair for wire::AcceptChannel2 {
    type Ldk = ldk::AcceptChannelV2;
    fn same(p: &Self, l: &ldk::AcceptChannelV2) {
        same_accept_channel2(p, l);
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::AcceptChannelV2 {
        ldk::AcceptChannelV2 {
            common_fields: common_accept(s, tlvs),
            funding_satoshis: int(s),
            second_per_commitment_point: s.point(),
            require_confirmed_inputs: tlvs.maybe(s, |_| ()),
        }
    }
}
