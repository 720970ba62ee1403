//! BOLT 1 setup and control messages: `init`, `error`, `warning`, `ping`, `pong`,
//! `peer_storage`, `peer_storage_retrieval`.

use lightning::ln::msgs as ldk;
use lightning::types::features::InitFeatures;
use lightning::util::ser::{Hostname, Writeable};
use petrel::wire::{self, Sampler};

use super::{channel_id, check, int16, some_bytes, Pair, Tlvs};

/// The union of two feature bitmaps in wire (big-endian) order, aligned at the least
/// significant end (BOLT 1: "MUST combine (bitwise OR) the two feature bitmaps").
fn feature_union(a: &[u8], b: &[u8]) -> Vec<u8> {
    let len = a.len().max(b.len());
    let mut out = vec![0u8; len];
    for bytes in [a, b] {
        for (slot, byte) in out[len - bytes.len()..].iter_mut().zip(bytes) {
            *slot |= byte;
        }
    }
    out
}

/// A BOLT 7 address descriptor (what BOLT 1 says `remote_addr` MUST hold).
pub fn address_descriptor(s: &mut Sampler) -> ldk::SocketAddress {
    #[allow(clippy::cast_possible_truncation)]
    let port = s.u64() as u16;
    match s.below(5) {
        0 => ldk::SocketAddress::TcpIpV4 {
            addr: s.array(),
            port,
        },
        1 => ldk::SocketAddress::TcpIpV6 {
            addr: s.array(),
            port,
        },
        2 => ldk::SocketAddress::OnionV2(s.array()),
        3 => ldk::SocketAddress::OnionV3 {
            ed25519_pubkey: s.array(),
            checksum: int16(s),
            version: s.array::<1>()[0],
            port,
        },
        _ => {
            const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789.-_";
            let len = 1 + s.below(63);
            let name: String = (0..len)
                .map(|_| {
                    let i = usize::try_from(s.below(ALPHABET.len() as u64)).unwrap_or(0);
                    char::from(ALPHABET[i])
                })
                .collect();
            ldk::SocketAddress::Hostname {
                hostname: Hostname::try_from(name).expect("alphabet is a valid hostname"),
                port,
            }
        }
    }
}

/// Random text that is valid UTF-8, at most `max_len` bytes.
fn utf8_text(s: &mut Sampler) -> String {
    let max = s.length();
    let mut text = String::new();
    loop {
        // Mostly printable ASCII, sometimes any scalar value.
        let c = if s.below(4) == 0 {
            u32::try_from(s.below(0x11_0000))
                .ok()
                .and_then(char::from_u32)
        } else {
            u32::try_from(32 + s.below(95))
                .ok()
                .and_then(char::from_u32)
        };
        let Some(c) = c else { continue };
        if text.len() + c.len_utf8() > max {
            return text;
        }
        text.push(c);
    }
}

pub fn same_init(p: &wire::Init, l: &ldk::Init) {
    // LDK keeps only the union of the two bitmaps, which is what BOLT 1 says a receiver uses.
    let union = feature_union(&p.globalfeatures, &p.features);
    check(
        "init",
        "globalfeatures | features",
        InitFeatures::from_be_bytes(union),
        l.features.clone(),
    );
    check("init", "networks", &p.tlvs.networks, &l.networks);
    let petrel_addr = p.tlvs.remote_addr.as_ref().map(|bytes| {
        super::ldk_decode::<ldk::SocketAddress>(bytes)
            .unwrap_or_else(|e| panic!("init.remote_addr is not an address descriptor: {e}"))
    });
    check(
        "init",
        "remote_addr",
        petrel_addr,
        l.remote_network_address.clone(),
    );
}

impl Pair for wire::Init {
    type Ldk = ldk::Init;
    fn same(p: &Self, l: &ldk::Init) {
        same_init(p, l);
    }
    /// LDK parses `remote_addr` as one BOLT 7 address descriptor of a type it knows (and fails
    /// the whole `init` otherwise); BOLT 1 requires the sender to put a valid one there.
    fn restrict(p: &mut Self, s: &mut Sampler) {
        if p.tlvs.remote_addr.is_some() {
            p.tlvs.remote_addr = Some(address_descriptor(s).encode());
        }
    }
    /// LDK re-derives `globalfeatures` (bits 0 to 13 of the union, as BOLT 1's "SHOULD NOT set
    /// features greater than 13 in globalfeatures" allows) and writes the union as `features`.
    fn ldk_rewrites(_: &Self) -> bool {
        true
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::Init {
        let mut features = InitFeatures::empty();
        for _ in 0..s.below(12) {
            let bit = usize::try_from(s.below(120)).unwrap_or(0);
            let set = if s.coin() {
                features.set_optional_feature_bit(bit)
            } else {
                features.set_required_feature_bit(bit)
            };
            set.expect("bits below 256 are settable");
        }
        // Plus a few of the bits LDK itself knows.
        if s.coin() {
            features.set_static_remote_key_required();
            features.set_data_loss_protect_optional();
            features.set_anchors_zero_fee_htlc_tx_optional();
        }
        ldk::Init {
            features,
            networks: tlvs.maybe(s, |s| {
                (0..s.below(4))
                    .map(|_| bitcoin::constants::ChainHash::from(s.array::<32>()))
                    .collect()
            }),
            remote_network_address: tlvs.maybe(s, address_descriptor),
        }
    }
}

pub fn same_error(p: &wire::Error, l: &ldk::ErrorMessage) {
    check("error", "channel_id", p.channel_id.0, l.channel_id.0);
    check("error", "data", p.data.as_slice(), l.data.as_bytes());
}

impl Pair for wire::Error {
    type Ldk = ldk::ErrorMessage;
    fn same(p: &Self, l: &ldk::ErrorMessage) {
        same_error(p, l);
    }
    /// LDK only accepts UTF-8 `data` (BOLT 1 allows any bytes; see the
    /// `error_data_need_not_be_utf8` test).
    fn restrict(p: &mut Self, s: &mut Sampler) {
        p.data = utf8_text(s).into_bytes();
    }
    fn ldk_build(s: &mut Sampler, _: Tlvs) -> ldk::ErrorMessage {
        ldk::ErrorMessage {
            channel_id: channel_id(s),
            data: utf8_text(s),
        }
    }
}

pub fn same_warning(p: &wire::Warning, l: &ldk::WarningMessage) {
    check("warning", "channel_id", p.channel_id.0, l.channel_id.0);
    check("warning", "data", p.data.as_slice(), l.data.as_bytes());
}

impl Pair for wire::Warning {
    type Ldk = ldk::WarningMessage;
    fn same(p: &Self, l: &ldk::WarningMessage) {
        same_warning(p, l);
    }
    /// As for `error`: LDK only accepts UTF-8 `data`.
    fn restrict(p: &mut Self, s: &mut Sampler) {
        p.data = utf8_text(s).into_bytes();
    }
    fn ldk_build(s: &mut Sampler, _: Tlvs) -> ldk::WarningMessage {
        ldk::WarningMessage {
            channel_id: channel_id(s),
            data: utf8_text(s),
        }
    }
}

pub fn same_ping(p: &wire::Ping, l: &ldk::Ping) {
    check("ping", "num_pong_bytes", p.num_pong_bytes, l.ponglen);
    // LDK keeps only the length of `ignored`: its content is meaningless by definition.
    check("ping", "byteslen", p.ignored.len(), usize::from(l.byteslen));
}

impl Pair for wire::Ping {
    type Ldk = ldk::Ping;
    fn same(p: &Self, l: &ldk::Ping) {
        same_ping(p, l);
    }
    /// LDK writes `ignored` as zeros (BOLT 1: "SHOULD set `ignored` to 0s").
    fn ldk_rewrites(p: &Self) -> bool {
        p.ignored.iter().any(|b| *b != 0)
    }
    fn ldk_build(s: &mut Sampler, _: Tlvs) -> ldk::Ping {
        ldk::Ping {
            ponglen: int16(s),
            byteslen: u16::try_from(s.length()).unwrap_or(0),
        }
    }
}

pub fn same_pong(p: &wire::Pong, l: &ldk::Pong) {
    check("pong", "byteslen", p.ignored.len(), usize::from(l.byteslen));
}

impl Pair for wire::Pong {
    type Ldk = ldk::Pong;
    fn same(p: &Self, l: &ldk::Pong) {
        same_pong(p, l);
    }
    /// As for `ping`: LDK writes `ignored` as zeros.
    fn ldk_rewrites(p: &Self) -> bool {
        p.ignored.iter().any(|b| *b != 0)
    }
    fn ldk_build(s: &mut Sampler, _: Tlvs) -> ldk::Pong {
        ldk::Pong {
            byteslen: u16::try_from(s.length()).unwrap_or(0),
        }
    }
}

pub fn same_peer_storage(p: &wire::PeerStorage, l: &ldk::PeerStorage) {
    check("peer_storage", "blob", &p.blob, &l.data);
}

impl Pair for wire::PeerStorage {
    type Ldk = ldk::PeerStorage;
    fn same(p: &Self, l: &ldk::PeerStorage) {
        same_peer_storage(p, l);
    }
    fn ldk_build(s: &mut Sampler, _: Tlvs) -> ldk::PeerStorage {
        ldk::PeerStorage {
            data: some_bytes(s),
        }
    }
}

pub fn same_peer_storage_retrieval(p: &wire::PeerStorageRetrieval, l: &ldk::PeerStorageRetrieval) {
    check("peer_storage_retrieval", "blob", &p.blob, &l.data);
}

impl Pair for wire::PeerStorageRetrieval {
    type Ldk = ldk::PeerStorageRetrieval;
    fn same(p: &Self, l: &ldk::PeerStorageRetrieval) {
        same_peer_storage_retrieval(p, l);
    }
    fn ldk_build(s: &mut Sampler, _: Tlvs) -> ldk::PeerStorageRetrieval {
        ldk::PeerStorageRetrieval {
            data: some_bytes(s),
        }
    }
}
