//! Wire codec throughput: Petrel's BOLT 1/2 decoders and encoders against LDK's (`lightning`
//! 0.2.7) on the same bytes, in the same run.
//!
//! Messages: `open_channel` (six points to validate, a `channel_type` record),
//! `commitment_signed` with 10 HTLC signatures, `update_add_htlc` with its 1366-byte onion.
//! Both sides decode the payload (the bytes after the 2-byte type) from a slice and encode into
//! a reused buffer, so neither pays for allocation the other avoids. The `secp256k1` group
//! prices the point validation both decoders must do (`PublicKey::from_slice`), to show how
//! much of `open_channel` decoding it is.
//!
//! Run: `cargo bench --bench wire` (a short measurement time keeps it to about a minute).

use std::hint::black_box;
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lightning::ln::msgs as ldk;
use lightning::util::ser::{LengthReadable, Writeable};
use petrel::wire::{self, Sampler, WireMessage};

/// The payload of a typical `open_channel`: what LDK sends, with `channel_type` set and no
/// upfront shutdown script.
fn open_channel() -> wire::OpenChannel {
    let mut s = Sampler::new(1);
    s.unknown_tlvs = false;
    let mut m = wire::OpenChannel::sample(&mut s);
    m.tlvs.upfront_shutdown_script = None;
    // option_static_remotekey | option_anchors (bits 12 and 22).
    m.tlvs.channel_type = Some(vec![0x40, 0x10, 0x00]);
    m
}

/// `commitment_signed` carrying 10 HTLC signatures and no TLV record.
fn commitment_signed() -> wire::CommitmentSigned {
    let mut s = Sampler::new(2);
    s.unknown_tlvs = false;
    let mut m = wire::CommitmentSigned::sample(&mut s);
    let signature = m.signature;
    m.htlc_signature = vec![signature; 10];
    m.tlvs.funding_txid = None;
    m
}

/// `update_add_htlc` with a full onion whose ephemeral key is a valid point (so LDK keeps it).
fn update_add_htlc() -> wire::UpdateAddHtlc {
    let mut s = Sampler::new(3);
    s.unknown_tlvs = false;
    let mut m = wire::UpdateAddHtlc::sample(&mut s);
    m.onion_routing_packet[0] = 0;
    m.onion_routing_packet[1..34].copy_from_slice(&s.point().serialize());
    m.tlvs.blinded_path = None;
    m
}

/// Decode and encode of one message type by both codecs.
fn bench_message<P: WireMessage, L: LengthReadable + Writeable>(c: &mut Criterion, message: P) {
    let mut payload = Vec::new();
    message
        .encode_payload(&mut payload)
        .expect("sample encodes");
    let ldk_value = L::read_from_fixed_length_buffer(&mut &payload[..]).expect("LDK decodes");
    let petrel_value = P::decode_payload(&payload).expect("Petrel decodes");
    assert_eq!(
        ldk_value.encode(),
        payload,
        "{}: LDK's bytes differ",
        P::NAME
    );

    let mut group = c.benchmark_group(format!("decode/{}", P::NAME));
    group.throughput(Throughput::Elements(1));
    group.bench_function("petrel", |b| {
        b.iter(|| P::decode_payload(black_box(&payload)).expect("decodes"));
    });
    group.bench_function("ldk", |b| {
        b.iter(|| L::read_from_fixed_length_buffer(&mut black_box(&payload[..])).expect("decodes"));
    });
    group.finish();

    let mut group = c.benchmark_group(format!("encode/{}", P::NAME));
    group.throughput(Throughput::Elements(1));
    let mut buf = Vec::with_capacity(payload.len());
    group.bench_function("petrel", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&petrel_value)
                .encode_payload(&mut buf)
                .expect("encodes");
            black_box(buf.len())
        });
    });
    group.bench_function("ldk", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&ldk_value).write(&mut buf).expect("encodes");
            black_box(buf.len())
        });
    });
    group.finish();
}

/// The point validation inside `open_channel` decoding: six `PublicKey::from_slice` calls.
fn bench_points(c: &mut Criterion) {
    let m = open_channel();
    let points: Vec<[u8; 33]> = [
        m.funding_pubkey,
        m.revocation_basepoint,
        m.payment_basepoint,
        m.delayed_payment_basepoint,
        m.htlc_basepoint,
        m.first_per_commitment_point,
    ]
    .iter()
    .map(PublicKey::serialize)
    .collect();
    let mut group = c.benchmark_group("secp256k1");
    group.throughput(Throughput::Elements(1));
    group.bench_function("six_points_from_slice", |b| {
        b.iter(|| {
            for p in black_box(&points) {
                black_box(PublicKey::from_slice(p).expect("valid point"));
            }
        });
    });
    group.finish();
}

fn wire(c: &mut Criterion) {
    bench_message::<_, ldk::OpenChannel>(c, open_channel());
    bench_message::<_, ldk::CommitmentSigned>(c, commitment_signed());
    bench_message::<_, ldk::UpdateAddHTLC>(c, update_add_htlc());
    bench_points(c);
}

criterion_group! {
    name = benches;
    // Short runs: the benchmark machine has two cores shared with other work.
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40);
    targets = wire
}
criterion_main!(benches);
