//! Petrel's BOLT 1/2 codec cross-checked against LDK's (`lightning` 0.2.7), message by message.
//!
//! For every message type both implement (all 40 of Petrel's; LDK 0.2.7 has a codec for each):
//! - `petrel_to_ldk`: Petrel samples (many seeds), encoded by Petrel, decode in LDK to the same
//!   fields, and LDK writes them back to the same bytes unless a documented LDK behaviour
//!   rewrites them ([`Pair::ldk_rewrites`]);
//! - `ldk_to_petrel`: values built with LDK's structs and encoded by LDK decode in Petrel (as
//!   whole messages) to the same fields and re-encode to exactly LDK's bytes;
//! - `ldk_skips_unknown_odd_records`: unknown odd TLV records Petrel writes are ignored by LDK
//!   (BOLT 1 "it's ok to be odd");
//! - `decoders_agree_on_mutations`: corrupted payloads are accepted or rejected alike (but for
//!   the differences listed in `known_difference`), and decode alike when accepted.
//!
//! Where LDK differs from the BOLT text the sample is narrowed to the part both follow
//! ([`Pair::restrict`]) and a named test below pins the difference, asserting what the BOLT
//! says. `wire-spec/vectors/messages.csv` is checked here too (and its LDK group regenerated
//! with `PETREL_REGENERATE_VECTORS=1`).

#[path = "common/wire_ldk/mod.rs"]
mod pairs;

use bitcoin::hex::{DisplayHex, FromHex};
use lightning::ln::msgs as ldk;
use lightning::ln::wire::Type;
use lightning::util::ser::{LengthReadable, Writeable};
use petrel::wire::{self, Message, Sampler, UnknownRecord, WireMessage};

use pairs::{ldk_decode, ldk_message, petrel_payload, Pair, Tlvs};

/// Seeds per message and direction.
const SEEDS: u64 = 200;

/// A sampler for `seed` without unknown TLV records (LDK drops them); one seed in four allows
/// variable-length fields long enough for 3-byte BigSize lengths.
fn sampler(seed: u64) -> Sampler {
    let mut s = Sampler::new(seed);
    s.unknown_tlvs = false;
    if seed % 4 == 3 {
        s.max_len = 300;
    }
    s
}

/// A Petrel sample for `seed`, narrowed to what the BOLT allows and LDK represents.
fn restricted_sample<T: Pair>(seed: u64) -> (T, Sampler) {
    let mut s = sampler(seed);
    let mut p = T::sample(&mut s);
    T::restrict(&mut p, &mut s);
    (p, s)
}

/// Petrel-encoded samples decode in LDK to the same fields; LDK writes the same bytes back.
fn petrel_to_ldk<T: Pair>() {
    for seed in 0..SEEDS {
        let (p, _) = restricted_sample::<T>(seed);
        let payload = petrel_payload(&p);
        let l: T::Ldk = ldk_decode(&payload).unwrap_or_else(|e| {
            panic!(
                "{} seed {seed}: LDK rejects {}: {e}\n{p:?}",
                T::NAME,
                payload.to_lower_hex_string()
            )
        });
        assert_eq!(l.type_id(), T::TYPE, "{}: type number", T::NAME);
        T::same(&p, &l);
        if !T::ldk_rewrites(&p) {
            assert_eq!(
                l.encode().to_lower_hex_string(),
                payload.to_lower_hex_string(),
                "{} seed {seed}: LDK writes back different bytes",
                T::NAME
            );
        }
    }
}

/// Which optional records the LDK value for `seed` carries: none, all, or a random subset.
fn tlvs_for(seed: u64) -> Tlvs {
    match seed % 3 {
        0 => Tlvs::None,
        1 => Tlvs::All,
        _ => Tlvs::Random,
    }
}

/// Decodes a whole LDK-encoded message in Petrel, checks the fields and the re-encoding.
fn petrel_reads_ldk<T: Pair>(l: &T::Ldk, context: &str) {
    let bytes = ldk_message(l);
    let message = Message::decode(&bytes).unwrap_or_else(|e| {
        panic!(
            "{context}: Petrel rejects LDK's {}: {e}",
            bytes.to_lower_hex_string()
        )
    });
    assert_eq!(message.type_num(), T::TYPE, "{context}: type");
    let p = T::decode_payload(&bytes[2..]).expect("decoded as a whole message");
    assert_eq!(message, p.clone().into_message(), "{context}");
    T::same(&p, l);
    let again = message.encode_to_vec().expect("a decoded message encodes");
    assert_eq!(
        again.to_lower_hex_string(),
        bytes.to_lower_hex_string(),
        "{context}: Petrel re-encodes LDK's bytes differently"
    );
}

/// LDK-built values decode in Petrel to the same fields and re-encode to LDK's bytes.
fn ldk_to_petrel<T: Pair>() {
    for seed in 0..SEEDS {
        let l = T::ldk_build(&mut sampler(seed), tlvs_for(seed));
        petrel_reads_ldk::<T>(&l, &format!("{} seed {seed}", T::NAME));
    }
}

/// Odd record types above every type either implementation knows (LDK's experimental ones
/// sit at 65537 and 75537).
fn odd_records(s: &mut Sampler) -> Vec<UnknownRecord> {
    let mut type_num = 1001 + 2 * s.below(100);
    (0..1 + s.below(3))
        .map(|_| {
            let n = usize::try_from(s.below(40)).unwrap_or(0);
            let record = UnknownRecord {
                type_num,
                value: s.bytes(n),
            };
            type_num += 2 * (1 + s.below(2000));
            record
        })
        .collect()
}

/// LDK reads (and skips) the TLV stream of every message except these four, whose readers
/// stop after the last fixed field (BOLT 1 lets a receiver ignore the extension).
fn ldk_reads_extension(name: &str) -> bool {
    !matches!(name, "error" | "warning" | "ping" | "pong")
}

/// One random corruption of a payload: a truncation, a bit flip, a replaced byte or appended
/// bytes.
fn mutate(payload: &[u8], s: &mut Sampler) -> Vec<u8> {
    let mut m = payload.to_vec();
    let len = m.len() as u64;
    let at = usize::try_from(s.below(len)).unwrap_or(0);
    match s.below(4) {
        0 => m.truncate(usize::try_from(s.below(len + 1)).unwrap_or(0)),
        1 if !m.is_empty() => m[at] ^= 1 << s.below(8),
        2 if !m.is_empty() => m[at] = s.array::<1>()[0],
        _ => {
            let n = usize::try_from(1 + s.below(6)).unwrap_or(1);
            m.extend_from_slice(&s.bytes(n));
        }
    }
    m
}

/// Where the two decoders may disagree on corrupted bytes, each for a reason pinned by a named
/// test above: LDK rejects what it parses deeper than the BOLT asks of a codec (`data` as
/// UTF-8, `remote_addr`, `prevtx`, witnesses, `initiator` as a bool), and ignores the
/// extension of four messages.
fn known_difference(name: &str, petrel_ok: bool, ldk_ok: bool, ldk_left: usize) -> bool {
    match (petrel_ok, ldk_ok) {
        (true, false) => matches!(
            name,
            "error" | "warning" | "init" | "tx_add_input" | "tx_signatures" | "stfu"
        ),
        (false, true) | (true, true) => ldk_left > 0 && !ldk_reads_extension(name),
        (false, false) => true,
    }
}

/// Corrupted payloads: Petrel and LDK accept the same ones (but for [`known_difference`]s),
/// and decode the ones both accept to the same fields.
fn decoders_agree_on_mutations<T: Pair>() {
    for seed in 0..SEEDS {
        let (p, mut s) = restricted_sample::<T>(seed);
        let bytes = mutate(&petrel_payload(&p), &mut s);
        let petrel = T::decode_payload(&bytes);
        let mut reader = &bytes[..];
        let ldk = <T::Ldk as LengthReadable>::read_from_fixed_length_buffer(&mut reader);
        let left = reader.len();
        if let (Ok(p), Ok(l), 0) = (&petrel, &ldk, left) {
            T::same(p, l);
            continue;
        }
        assert!(
            known_difference(T::NAME, petrel.is_ok(), ldk.is_ok(), left),
            "{} seed {seed}: Petrel says {:?}, LDK says {:?} ({left} bytes unread) for {}",
            T::NAME,
            petrel.as_ref().map(|_| "ok"),
            ldk.as_ref().map(|_| "ok"),
            bytes.to_lower_hex_string()
        );
    }
}

macro_rules! cross_check {
    ($($name:ident: $t:ty,)*) => {
        $(
            mod $name {
                use super::*;

                #[test]
                fn petrel_to_ldk() {
                    super::petrel_to_ldk::<$t>();
                }

                #[test]
                fn ldk_to_petrel() {
                    super::ldk_to_petrel::<$t>();
                }

                #[test]
                fn decoders_agree_on_mutations() {
                    super::decoders_agree_on_mutations::<$t>();
                }

                /// BOLT 1: unknown odd records are ignored; LDK must decode the same fields
                /// with and without the ones Petrel writes.
                #[test]
                fn ldk_skips_unknown_odd_records() {
                    for seed in 0..SEEDS / 4 {
                        let (clean, mut s) = restricted_sample::<$t>(seed);
                        let mut p = clean.clone();
                        p.tlvs.unknown = odd_records(&mut s);
                        let payload = petrel_payload(&p);
                        let mut reader = &payload[..];
                        let l = <<$t as Pair>::Ldk as LengthReadable>::read_from_fixed_length_buffer(
                            &mut reader,
                        )
                        .unwrap_or_else(|e| panic!("{} seed {seed}: {e:?}", stringify!($name)));
                        assert_eq!(
                            reader.is_empty(),
                            ldk_reads_extension(<$t>::NAME),
                            "{}: LDK left {} bytes",
                            stringify!($name),
                            reader.len()
                        );
                        <$t as Pair>::same(&clean, &l);
                    }
                }
            }
        )*

        /// The messages cross-checked above, by BOLT name.
        const CROSS_CHECKED: &[&str] = &[$(<$t>::NAME),*];

        /// The current LDK group of `messages.csv`: two LDK-encoded values per message, one
        /// without optional records and one with all of them.
        fn ldk_vectors() -> Vec<(String, Vec<u8>)> {
            let mut out = Vec::new();
            $(
                for (seed, tlvs, case) in [(1, Tlvs::None, "tlvs-none"), (2, Tlvs::All, "tlvs-all")] {
                    let mut s = Sampler::new(seed);
                    s.unknown_tlvs = false;
                    let l = <$t as Pair>::ldk_build(&mut s, tlvs);
                    out.push((format!("{LDK_GROUP}/{}/{case}", <$t>::NAME), ldk_message(&l)));
                }
            )*
            out
        }

        /// Petrel samples carrying unknown odd records (which LDK cannot produce): the first
        /// seed whose sample has some.
        fn petrel_vectors() -> Vec<(String, Vec<u8>)> {
            let mut out = Vec::new();
            $(
                let sample = (0..)
                    .map(|seed| <$t>::sample(&mut Sampler::new(seed)))
                    .find(|m| !m.tlvs.unknown.is_empty())
                    .expect("some seed samples unknown records");
                let bytes = sample.into_message().encode_to_vec().expect("samples encode");
                out.push((format!("{PETREL_GROUP}/{}/unknown-odd-tlvs", <$t>::NAME), bytes));
            )*
            out
        }
    };
}

cross_check! {
    init: wire::Init,
    error: wire::Error,
    warning: wire::Warning,
    ping: wire::Ping,
    pong: wire::Pong,
    peer_storage: wire::PeerStorage,
    peer_storage_retrieval: wire::PeerStorageRetrieval,
    tx_add_input: wire::TxAddInput,
    tx_add_output: wire::TxAddOutput,
    tx_remove_input: wire::TxRemoveInput,
    tx_remove_output: wire::TxRemoveOutput,
    tx_complete: wire::TxComplete,
    tx_signatures: wire::TxSignatures,
    tx_init_rbf: wire::TxInitRbf,
    tx_ack_rbf: wire::TxAckRbf,
    tx_abort: wire::TxAbort,
    open_channel: wire::OpenChannel,
    accept_channel: wire::AcceptChannel,
    funding_created: wire::FundingCreated,
    funding_signed: wire::FundingSigned,
    channel_ready: wire::ChannelReady,
    open_channel2: wire::OpenChannel2,
    accept_channel2: wire::AcceptChannel2,
    stfu: wire::Stfu,
    splice_init: wire::SpliceInit,
    splice_ack: wire::SpliceAck,
    splice_locked: wire::SpliceLocked,
    shutdown: wire::Shutdown,
    closing_complete: wire::ClosingComplete,
    closing_sig: wire::ClosingSig,
    closing_signed: wire::ClosingSigned,
    update_add_htlc: wire::UpdateAddHtlc,
    update_fulfill_htlc: wire::UpdateFulfillHtlc,
    update_fail_htlc: wire::UpdateFailHtlc,
    update_fail_malformed_htlc: wire::UpdateFailMalformedHtlc,
    start_batch: wire::StartBatch,
    commitment_signed: wire::CommitmentSigned,
    revoke_and_ack: wire::RevokeAndAck,
    update_fee: wire::UpdateFee,
    channel_reestablish: wire::ChannelReestablish,
}

/// Every message Petrel generates is cross-checked (a new CSV line must come with a pair).
#[test]
fn every_petrel_message_is_cross_checked() {
    let mut petrel: Vec<&str> = wire::MESSAGE_TYPES.iter().map(|(_, n)| *n).collect();
    let mut checked = CROSS_CHECKED.to_vec();
    petrel.sort_unstable();
    checked.sort_unstable();
    assert_eq!(petrel, checked);
}

// ---- Where LDK 0.2.7 and the BOLTs part ways: the BOLT's behaviour is asserted. ----

/// A payload for `T` with `edit` applied to a restricted sample.
fn edited<T: Pair>(edit: impl FnOnce(&mut T)) -> Vec<u8> {
    let (mut p, _) = restricted_sample::<T>(7);
    edit(&mut p);
    petrel_payload(&p)
}

/// BOLT 1 "The error and warning messages": `data` is `len*byte`; a receiver only "SHOULD NOT
/// print out `data` verbatim" when it is not printable ASCII. LDK 0.2.7 reads `data` as a UTF-8
/// `String` and rejects the whole message otherwise.
#[test]
fn error_data_need_not_be_utf8() {
    let not_utf8 = vec![b'o', b'k', 0xff, 0xfe, 0x00];
    let error = edited::<wire::Error>(|m| m.data.clone_from(&not_utf8));
    let warning = edited::<wire::Warning>(|m| m.data.clone_from(&not_utf8));
    let decoded = wire::Error::decode_payload(&error).expect("BOLT 1: any bytes");
    assert_eq!(decoded.data, not_utf8);
    assert_eq!(petrel_payload(&decoded), error);
    let decoded = wire::Warning::decode_payload(&warning).expect("BOLT 1: any bytes");
    assert_eq!(decoded.data, not_utf8);
    assert_eq!(
        ldk_decode::<ldk::ErrorMessage>(&error).unwrap_err(),
        "InvalidValue"
    );
    assert_eq!(
        ldk_decode::<ldk::WarningMessage>(&warning).unwrap_err(),
        "InvalidValue"
    );
}

/// BOLT 2 `tx_init_rbf` / `tx_ack_rbf` define `require_confirmed_inputs` (type 2). LDK 0.2.7's
/// structs lack it, so as an unknown even record it fails the message.
#[test]
fn tx_rbf_require_confirmed_inputs() {
    let init = edited::<wire::TxInitRbf>(|m| m.tlvs.require_confirmed_inputs = true);
    let ack = edited::<wire::TxAckRbf>(|m| m.tlvs.require_confirmed_inputs = true);
    let decoded = wire::TxInitRbf::decode_payload(&init).expect("a BOLT record");
    assert!(decoded.tlvs.require_confirmed_inputs);
    assert_eq!(petrel_payload(&decoded), init);
    let decoded = wire::TxAckRbf::decode_payload(&ack).expect("a BOLT record");
    assert!(decoded.tlvs.require_confirmed_inputs);
    assert_eq!(
        ldk_decode::<ldk::TxInitRbf>(&init).unwrap_err(),
        "UnknownRequiredFeature"
    );
    assert_eq!(
        ldk_decode::<ldk::TxAckRbf>(&ack).unwrap_err(),
        "UnknownRequiredFeature"
    );
}

/// BOLT 2 `stfu`: `initiator` is a `u8` that senders set to 0 or 1; the BOLT gives receivers
/// no rule for other values, so Petrel's codec keeps them (the channel logic decides). LDK
/// decodes it as a bool and rejects the message.
#[test]
fn stfu_initiator_above_one() {
    let payload = edited::<wire::Stfu>(|m| m.initiator = 2);
    let decoded = wire::Stfu::decode_payload(&payload).expect("a u8 field");
    assert_eq!(decoded.initiator, 2);
    assert_eq!(
        ldk_decode::<ldk::Stfu>(&payload).unwrap_err(),
        "InvalidValue"
    );
}

/// BOLT 1 `init`: `remote_addr` is `...*byte` holding an address descriptor, which a receiver
/// "MAY use". LDK parses it while decoding and fails the whole `init` (so the connection) for a
/// descriptor type it does not know, e.g. one a future BOLT 7 adds.
#[test]
fn init_remote_addr_of_unknown_type() {
    let future_type = vec![6u8, 1, 2, 3, 4];
    let payload = edited::<wire::Init>(|m| m.tlvs.remote_addr = Some(future_type.clone()));
    let decoded = wire::Init::decode_payload(&payload).expect("opaque bytes");
    assert_eq!(decoded.tlvs.remote_addr, Some(future_type));
    assert_eq!(
        ldk_decode::<ldk::Init>(&payload).unwrap_err(),
        "UnknownVersion"
    );
}

/// BOLT 1 `init`: a receiver "MUST combine (bitwise OR) the two feature bitmaps"; LDK writes
/// the union as `features` and bits 0 to 13 of it again as `globalfeatures` (which "SHOULD NOT"
/// carry higher bits). Petrel keeps both fields as sent, so LDK's form round-trips exactly.
#[test]
fn init_globalfeatures_as_ldk_writes_them() {
    let mut features = lightning::types::features::InitFeatures::empty();
    features.set_static_remote_key_required();
    features.set_optional_feature_bit(99).unwrap();
    let l = ldk::Init {
        features,
        networks: None,
        remote_network_address: None,
    };
    let bytes = ldk_message(&l);
    let Message::Init(init) = Message::decode(&bytes).unwrap() else {
        panic!("not init");
    };
    // Bit 12 (option_static_remotekey, required) is within 0..=13: LDK repeats it.
    assert_eq!(init.globalfeatures, [0x10, 0x00]);
    assert_eq!(init.features.len(), 13);
    petrel_reads_ldk::<wire::Init>(&l, "init");
}

/// BOLT 2 `update_add_htlc`: the onion is 1366 opaque bytes to the channel layer. LDK parses
/// its public key while decoding and, when it is not a valid point, writes 33 zero bytes in its
/// place on re-encoding; Petrel keeps the bytes it received.
#[test]
fn update_add_htlc_onion_with_invalid_key() {
    let payload = edited::<wire::UpdateAddHtlc>(|m| m.onion_routing_packet[1..34].fill(0xee));
    let decoded = wire::UpdateAddHtlc::decode_payload(&payload).unwrap();
    assert_eq!(petrel_payload(&decoded), payload);
    let l: ldk::UpdateAddHTLC = ldk_decode(&payload).unwrap();
    assert!(l.onion_routing_packet.public_key.is_err());
    let ldk_bytes = l.encode();
    // channel_id 32, id 8, amount_msat 8, payment_hash 32, cltv_expiry 4, then the onion.
    let key_at = 32 + 8 + 8 + 32 + 4 + 1;
    assert_eq!(ldk_bytes[key_at..key_at + 33], [0u8; 33]);
    assert_eq!(payload[key_at..key_at + 33], [0xee; 33]);
}

/// BOLT 1: "upon receiving a message with an `extension`: MAY ignore the `extension`.
/// Otherwise, if the `extension` is invalid: MUST close the connection." LDK's `error`,
/// `warning`, `ping` and `pong` readers ignore it; Petrel checks it. Both are allowed.
#[test]
fn invalid_extension_on_error() {
    let mut payload = edited::<wire::Error>(|m| m.tlvs.unknown.clear());
    payload.extend_from_slice(&[0x02, 0x00]); // unknown even record
    assert!(wire::Error::decode_payload(&payload).is_err());
    let mut reader = &payload[..];
    assert!(ldk::ErrorMessage::read_from_fixed_length_buffer(&mut reader).is_ok());
    assert_eq!(reader, [0x02, 0x00]);
}

// ---- wire-spec/vectors/messages.csv ----

const VECTORS: &str = include_str!("../wire-spec/vectors/messages.csv");
const VECTORS_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/wire-spec/vectors/messages.csv"
);
const LDK_GROUP: &str = "ldk-0.2.7";
const PETREL_GROUP: &str = "petrel-sample";
const BOLT1_GROUP: &str = "bolt1-appendix-c";

/// The `name,hex` lines of the vector file (comments and the header row skipped).
fn vector_lines(text: &str) -> Vec<(String, Vec<u8>)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty() && *l != "name,hex")
        .map(|l| {
            let (name, hex) = l
                .split_once(',')
                .unwrap_or_else(|| panic!("not name,hex: {l}"));
            let bytes = Vec::from_hex(hex).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name.to_string(), bytes)
        })
        .collect()
}

/// Whether a vector line belongs to a group this test generates.
fn generated(name: &str) -> bool {
    name.starts_with(&format!("{LDK_GROUP}/")) || name.starts_with(&format!("{PETREL_GROUP}/"))
}

/// Rewrites the generated groups of the vector file, keeping the comments and the BOLT
/// vectors as they are.
fn regenerate_vectors() {
    let mut text = String::new();
    for line in VECTORS.lines() {
        let name = line.split(',').next().unwrap_or("");
        if !generated(name) {
            text.push_str(line);
            text.push('\n');
        }
    }
    for (name, bytes) in ldk_vectors().into_iter().chain(petrel_vectors()) {
        text.push_str(&format!("{name},{}\n", bytes.to_lower_hex_string()));
    }
    std::fs::write(VECTORS_PATH, text).expect("write the vector file");
}

/// The vector file: every line Petrel accepts re-encodes to its bytes, `invalid-` lines fail
/// in Petrel and in LDK, the LDK group is what LDK 0.2.7 encodes today, and every message type
/// has a vector.
#[test]
fn message_vectors() {
    if std::env::var_os("PETREL_REGENERATE_VECTORS").is_some() {
        regenerate_vectors();
        eprintln!("rewrote {VECTORS_PATH}; run the tests again to check it");
        return;
    }
    let lines = vector_lines(VECTORS);
    for (name, bytes) in &lines {
        let result = Message::decode(bytes);
        if name.contains("/invalid-") {
            assert!(result.is_err(), "{name}: Petrel accepts an invalid vector");
            continue;
        }
        let message = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            !matches!(message, Message::Unknown(_)),
            "{name}: unknown type"
        );
        let message_name = name.split('/').nth(1).unwrap_or("");
        assert_eq!(message.name(), message_name, "{name}: type");
        let again = message.encode_to_vec().unwrap();
        assert_eq!(again, *bytes, "{name}: Petrel re-encodes differently");
    }
    let ldk_in_file: Vec<&(String, Vec<u8>)> = lines
        .iter()
        .filter(|(n, _)| n.starts_with(LDK_GROUP))
        .collect();
    let ldk_now = ldk_vectors();
    assert_eq!(ldk_in_file.len(), ldk_now.len(), "LDK group size");
    for (file, now) in ldk_in_file.iter().zip(&ldk_now) {
        assert_eq!(
            (file.0.as_str(), file.1.to_lower_hex_string()),
            (now.0.as_str(), now.1.to_lower_hex_string()),
            "LDK no longer encodes this vector so (PETREL_REGENERATE_VECTORS=1 rewrites it)"
        );
    }
    for (_, name) in wire::MESSAGE_TYPES {
        for group in [LDK_GROUP, PETREL_GROUP] {
            assert!(
                lines
                    .iter()
                    .any(|(n, _)| n.starts_with(&format!("{group}/{name}/"))),
                "no {group} vector for {name}"
            );
        }
    }
}

/// BOLT 1 Appendix C: the file carries all five `init` messages the appendix prints, and LDK
/// agrees with Petrel on which are valid.
#[test]
fn message_vectors_bolt1_appendix_c() {
    let lines: Vec<(String, Vec<u8>)> = vector_lines(VECTORS)
        .into_iter()
        .filter(|(n, _)| n.starts_with(BOLT1_GROUP))
        .collect();
    assert_eq!(lines.len(), 5);
    for (name, bytes) in &lines {
        let valid = !name.contains("/invalid-");
        assert_eq!(Message::decode(bytes).is_ok(), valid, "{name}: Petrel");
        let mut reader = &bytes[2..];
        let ldk = ldk::Init::read_from_fixed_length_buffer(&mut reader);
        assert_eq!(ldk.is_ok() && reader.is_empty(), valid, "{name}: LDK");
    }
}
