//! BOLT 2 normal operation and reestablishment: `update_add_htlc`, `update_fulfill_htlc`,
//! `update_fail_htlc`, `update_fail_malformed_htlc`, `start_batch`, `commitment_signed`,
//! `revoke_and_ack`, `update_fee`, `channel_reestablish`.

use bitcoin::secp256k1::PublicKey;
use lightning::ln::msgs as ldk;
use lightning::ln::onion_utils::AttributionData;
use lightning::types::payment::{PaymentHash, PaymentPreimage};
use lightning::util::ser::Writeable;
use petrel::wire::{self, Sampler, UnknownRecord};

use super::{channel_id, check, int, int16, int32, ldk_decode, signature, txid, Pair, Tlvs};

/// Offsets in the 1366-byte onion (BOLT 4): version, public key, hop payloads, HMAC.
const ONION_KEY: core::ops::Range<usize> = 1..34;
const ONION_HOPS: core::ops::Range<usize> = 34..1334;
const ONION_HMAC: core::ops::Range<usize> = 1334..1366;

/// BOLT 4 attribution data as laid out on the wire: 20 hold times, then 210 truncated HMACs.
fn attribution_bytes(a: &wire::AttributionData) -> Vec<u8> {
    let mut out = Vec::with_capacity(920);
    for t in &a.htlc_hold_times {
        out.extend_from_slice(&t.to_be_bytes());
    }
    for h in a.truncated_hmacs.iter() {
        out.extend_from_slice(&h.0);
    }
    out
}

/// LDK's `AttributionData` has private fields; its public decoder is the only constructor.
fn ldk_attribution(s: &mut Sampler) -> AttributionData {
    ldk_decode(&s.bytes(920)).expect("any 920 bytes are attribution data")
}

/// The experimental odd records LDK writes in `update_add_htlc` (not in the BOLTs), as the
/// unknown records Petrel must keep for them.
fn ldk_update_add_htlc_extras(l: &ldk::UpdateAddHTLC) -> Vec<UnknownRecord> {
    let mut out = Vec::new();
    if let Some(fee) = l.skimmed_fee_msat {
        out.push(UnknownRecord {
            type_num: 65537,
            value: fee.to_be_bytes().to_vec(),
        });
    }
    if l.hold_htlc.is_some() {
        out.push(UnknownRecord {
            type_num: 75537,
            value: Vec::new(),
        });
    }
    out
}

pub fn same_update_add_htlc(p: &wire::UpdateAddHtlc, l: &ldk::UpdateAddHTLC) {
    let m = "update_add_htlc";
    check(m, "channel_id", p.channel_id.0, l.channel_id.0);
    check(m, "id", p.id, l.htlc_id);
    check(m, "amount_msat", p.amount_msat.0, l.amount_msat);
    check(m, "payment_hash", p.payment_hash.0, l.payment_hash.0);
    check(m, "cltv_expiry", p.cltv_expiry, l.cltv_expiry);
    let onion = &p.onion_routing_packet[..];
    let lo = &l.onion_routing_packet;
    check(m, "onion_routing_packet.version", onion[0], lo.version);
    match lo.public_key {
        Ok(key) => check(
            m,
            "onion_routing_packet.public_key",
            &onion[ONION_KEY],
            &key.serialize()[..],
        ),
        // LDK keeps an invalid key only as "invalid"; Petrel must agree that it is.
        Err(_) => check(
            m,
            "onion_routing_packet.public_key is a point",
            PublicKey::from_slice(&onion[ONION_KEY]).is_ok(),
            false,
        ),
    }
    check(
        m,
        "onion_routing_packet.hop_payloads",
        &onion[ONION_HOPS],
        &lo.hop_data[..],
    );
    check(
        m,
        "onion_routing_packet.hmac",
        &onion[ONION_HMAC],
        &lo.hmac[..],
    );
    check(
        m,
        "tlvs.blinded_path",
        p.tlvs.blinded_path,
        l.blinding_point,
    );
    check(
        m,
        "tlvs (unknown odd records)",
        p.tlvs.unknown.clone(),
        ldk_update_add_htlc_extras(l),
    );
}

impl Pair for wire::UpdateAddHtlc {
    type Ldk = ldk::UpdateAddHTLC;
    fn same(p: &Self, l: &ldk::UpdateAddHTLC) {
        same_update_add_htlc(p, l);
    }
    /// Half the samples get a valid onion key, so LDK's lossless path is crossed too.
    fn restrict(p: &mut Self, s: &mut Sampler) {
        if s.coin() {
            p.onion_routing_packet[ONION_KEY].copy_from_slice(&s.point().serialize());
        }
    }
    /// LDK writes an onion public key it could not parse as 33 zero bytes.
    fn ldk_rewrites(p: &Self) -> bool {
        PublicKey::from_slice(&p.onion_routing_packet[ONION_KEY]).is_err()
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::UpdateAddHTLC {
        ldk::UpdateAddHTLC {
            channel_id: channel_id(s),
            htlc_id: int(s),
            amount_msat: int(s),
            payment_hash: PaymentHash(s.array()),
            cltv_expiry: int32(s),
            skimmed_fee_msat: tlvs.maybe(s, int),
            onion_routing_packet: ldk::OnionPacket {
                version: s.array::<1>()[0],
                public_key: Ok(s.point()),
                hop_data: s.array(),
                hmac: s.array(),
            },
            blinding_point: tlvs.maybe(s, |s| s.point()),
            hold_htlc: tlvs.maybe(s, |_| ()),
        }
    }
}

pub fn same_update_fulfill_htlc(p: &wire::UpdateFulfillHtlc, l: &ldk::UpdateFulfillHTLC) {
    let m = "update_fulfill_htlc";
    check(m, "channel_id", p.channel_id.0, l.channel_id.0);
    check(m, "id", p.id, l.htlc_id);
    check(
        m,
        "payment_preimage",
        p.payment_preimage,
        l.payment_preimage.0,
    );
    check(
        m,
        "tlvs.attribution_data",
        p.tlvs.attribution_data.as_ref().map(attribution_bytes),
        l.attribution_data.as_ref().map(Writeable::encode),
    );
}

impl Pair for wire::UpdateFulfillHtlc {
    type Ldk = ldk::UpdateFulfillHTLC;
    fn same(p: &Self, l: &ldk::UpdateFulfillHTLC) {
        same_update_fulfill_htlc(p, l);
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::UpdateFulfillHTLC {
        ldk::UpdateFulfillHTLC {
            channel_id: channel_id(s),
            htlc_id: int(s),
            payment_preimage: PaymentPreimage(s.array()),
            attribution_data: tlvs.maybe(s, ldk_attribution),
        }
    }
}

/// LDK keeps `reason` crate-private; its own encoding of the message is the only way to read
/// it: `channel_id` (32), `id` (8), `len` (2), then `reason`.
fn ldk_fail_reason(l: &ldk::UpdateFailHTLC) -> Vec<u8> {
    let bytes = l.encode();
    let len = usize::from(u16::from_be_bytes([bytes[40], bytes[41]]));
    bytes[42..42 + len].to_vec()
}

pub fn same_update_fail_htlc(p: &wire::UpdateFailHtlc, l: &ldk::UpdateFailHTLC) {
    let m = "update_fail_htlc";
    check(m, "channel_id", p.channel_id.0, l.channel_id.0);
    check(m, "id", p.id, l.htlc_id);
    check(m, "reason", p.reason.clone(), ldk_fail_reason(l));
    check(
        m,
        "tlvs.attribution_data",
        p.tlvs.attribution_data.as_ref().map(attribution_bytes),
        l.attribution_data.as_ref().map(Writeable::encode),
    );
}

/// Builds a Petrel message from sampled values and lets LDK decode it: for messages whose LDK
/// fields are crate-private, LDK's decoder is the only way to obtain an LDK value.
fn ldk_via_decoder<T: Pair>(s: &mut Sampler) -> T::Ldk {
    let mut petrel = T::sample(s);
    T::restrict(&mut petrel, s);
    ldk_decode::<T::Ldk>(&super::petrel_payload(&petrel))
        .unwrap_or_else(|e| panic!("{}: LDK rejects a valid sample: {e}", T::NAME))
}

impl Pair for wire::UpdateFailHtlc {
    type Ldk = ldk::UpdateFailHTLC;
    fn same(p: &Self, l: &ldk::UpdateFailHTLC) {
        same_update_fail_htlc(p, l);
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::UpdateFailHTLC {
        let mut ldk = ldk_via_decoder::<Self>(s);
        // The one public field is set by LDK's own type.
        ldk.attribution_data = tlvs.maybe(s, ldk_attribution);
        ldk
    }
}

/// LDK keeps `sha256_of_onion` crate-private: bytes 40..72 of its encoding.
fn ldk_sha256_of_onion(l: &ldk::UpdateFailMalformedHTLC) -> [u8; 32] {
    let bytes = l.encode();
    let mut out = [0u8; 32];
    out.copy_from_slice(&bytes[40..72]);
    out
}

pub fn same_update_fail_malformed_htlc(
    p: &wire::UpdateFailMalformedHtlc,
    l: &ldk::UpdateFailMalformedHTLC,
) {
    let m = "update_fail_malformed_htlc";
    check(m, "channel_id", p.channel_id.0, l.channel_id.0);
    check(m, "id", p.id, l.htlc_id);
    check(
        m,
        "sha256_of_onion",
        p.sha256_of_onion.0,
        ldk_sha256_of_onion(l),
    );
    check(m, "failure_code", p.failure_code, l.failure_code);
}

impl Pair for wire::UpdateFailMalformedHtlc {
    type Ldk = ldk::UpdateFailMalformedHTLC;
    fn same(p: &Self, l: &ldk::UpdateFailMalformedHTLC) {
        same_update_fail_malformed_htlc(p, l);
    }
    fn ldk_build(s: &mut Sampler, _: Tlvs) -> ldk::UpdateFailMalformedHTLC {
        ldk_via_decoder::<Self>(s)
    }
}

pub fn same_start_batch(p: &wire::StartBatch, l: &ldk::StartBatch) {
    check("start_batch", "channel_id", p.channel_id.0, l.channel_id.0);
    check("start_batch", "batch_size", p.batch_size, l.batch_size);
    check(
        "start_batch",
        "tlvs.message_type",
        p.tlvs.message_type,
        l.message_type,
    );
}

impl Pair for wire::StartBatch {
    type Ldk = ldk::StartBatch;
    fn same(p: &Self, l: &ldk::StartBatch) {
        same_start_batch(p, l);
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::StartBatch {
        ldk::StartBatch {
            channel_id: channel_id(s),
            batch_size: int16(s),
            message_type: tlvs.maybe(s, int16),
        }
    }
}

pub fn same_commitment_signed(p: &wire::CommitmentSigned, l: &ldk::CommitmentSigned) {
    let m = "commitment_signed";
    check(m, "channel_id", p.channel_id.0, l.channel_id.0);
    check(m, "signature", p.signature, l.signature);
    check(m, "htlc_signature", &p.htlc_signature, &l.htlc_signatures);
    check(m, "tlvs.funding_txid", p.tlvs.funding_txid, l.funding_txid);
}

impl Pair for wire::CommitmentSigned {
    type Ldk = ldk::CommitmentSigned;
    fn same(p: &Self, l: &ldk::CommitmentSigned) {
        same_commitment_signed(p, l);
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::CommitmentSigned {
        ldk::CommitmentSigned {
            channel_id: channel_id(s),
            signature: signature(s),
            htlc_signatures: (0..s.below(20)).map(|_| signature(s)).collect(),
            funding_txid: tlvs.maybe(s, txid),
        }
    }
}

pub fn same_revoke_and_ack(p: &wire::RevokeAndAck, l: &ldk::RevokeAndACK) {
    let m = "revoke_and_ack";
    check(m, "channel_id", p.channel_id.0, l.channel_id.0);
    check(
        m,
        "per_commitment_secret",
        p.per_commitment_secret,
        l.per_commitment_secret,
    );
    check(
        m,
        "next_per_commitment_point",
        p.next_per_commitment_point,
        l.next_per_commitment_point,
    );
    // LDK's experimental record 75537 (`release_htlc_message_paths`, not in the BOLTs) is not
    // exercised: building a blinded path needs LDK's node machinery.
    check(
        m,
        "release_htlc_message_paths (LDK only)",
        l.release_htlc_message_paths.len(),
        0,
    );
    check(m, "tlvs (unknown odd records)", p.tlvs.unknown.len(), 0);
}

impl Pair for wire::RevokeAndAck {
    type Ldk = ldk::RevokeAndACK;
    fn same(p: &Self, l: &ldk::RevokeAndACK) {
        same_revoke_and_ack(p, l);
    }
    fn ldk_build(s: &mut Sampler, _: Tlvs) -> ldk::RevokeAndACK {
        ldk::RevokeAndACK {
            channel_id: channel_id(s),
            per_commitment_secret: s.array(),
            next_per_commitment_point: s.point(),
            release_htlc_message_paths: Vec::new(),
        }
    }
}

pub fn same_update_fee(p: &wire::UpdateFee, l: &ldk::UpdateFee) {
    check("update_fee", "channel_id", p.channel_id.0, l.channel_id.0);
    check(
        "update_fee",
        "feerate_per_kw",
        p.feerate_per_kw.0,
        l.feerate_per_kw,
    );
}

impl Pair for wire::UpdateFee {
    type Ldk = ldk::UpdateFee;
    fn same(p: &Self, l: &ldk::UpdateFee) {
        same_update_fee(p, l);
    }
    fn ldk_build(s: &mut Sampler, _: Tlvs) -> ldk::UpdateFee {
        ldk::UpdateFee {
            channel_id: channel_id(s),
            feerate_per_kw: int32(s),
        }
    }
}

pub fn same_channel_reestablish(p: &wire::ChannelReestablish, l: &ldk::ChannelReestablish) {
    let m = "channel_reestablish";
    check(m, "channel_id", p.channel_id.0, l.channel_id.0);
    check(
        m,
        "next_commitment_number",
        p.next_commitment_number,
        l.next_local_commitment_number,
    );
    check(
        m,
        "next_revocation_number",
        p.next_revocation_number,
        l.next_remote_commitment_number,
    );
    check(
        m,
        "your_last_per_commitment_secret",
        p.your_last_per_commitment_secret,
        l.your_last_per_commitment_secret,
    );
    check(
        m,
        "my_current_per_commitment_point",
        p.my_current_per_commitment_point,
        l.my_current_per_commitment_point,
    );
    check(
        m,
        "tlvs.next_funding",
        p.tlvs
            .next_funding
            .as_ref()
            .map(|n| (n.next_funding_txid, n.retransmit_flags)),
        l.next_funding
            .as_ref()
            .map(|n| (n.txid, n.retransmit_flags)),
    );
    check(
        m,
        "tlvs.my_current_funding_locked",
        p.tlvs
            .my_current_funding_locked
            .as_ref()
            .map(|f| (f.my_current_funding_locked_txid, f.retransmit_flags)),
        l.my_current_funding_locked
            .as_ref()
            .map(|f| (f.txid, f.retransmit_flags)),
    );
}

impl Pair for wire::ChannelReestablish {
    type Ldk = ldk::ChannelReestablish;
    fn same(p: &Self, l: &ldk::ChannelReestablish) {
        same_channel_reestablish(p, l);
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::ChannelReestablish {
        ldk::ChannelReestablish {
            channel_id: channel_id(s),
            next_local_commitment_number: int(s),
            next_remote_commitment_number: int(s),
            your_last_per_commitment_secret: s.array(),
            my_current_per_commitment_point: s.point(),
            next_funding: tlvs.maybe(s, |s| ldk::NextFunding {
                txid: txid(s),
                retransmit_flags: s.array::<1>()[0],
            }),
            my_current_funding_locked: tlvs.maybe(s, |s| ldk::FundingLocked {
                txid: txid(s),
                retransmit_flags: s.array::<1>()[0],
            }),
        }
    }
}
