//! The `onion_packet` (BOLT 4 "Packet Construction", "Onion Decryption", "Filler
//! Generation"): building one for a route, and peeling one layer as a receiving hop.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey};
use thiserror::Error;

use super::crypto::{apply_stream, blinding_factor, generate_key, hmac, macs_equal};
use super::failure::{INVALID_ONION_HMAC, INVALID_ONION_KEY, INVALID_ONION_VERSION};
use super::payload::{HopPayload, PayloadError};
use super::{shared_secret, SharedSecret};
use crate::wire::{bigsize_len, read_bigsize, write_bigsize, Reader};

/// The size of an `onion_packet`: version (1), public key (33), `hop_payloads` (1300), HMAC
/// (32).
pub const PACKET_LEN: usize = 1366;
/// The size of the `hop_payloads` field.
pub const HOP_PAYLOADS_LEN: usize = 1300;
/// The only packet version BOLT 4 defines.
pub const ONION_VERSION: u8 = 0;

const HMAC_LEN: usize = 32;
const KEY_START: usize = 1;
const PAYLOADS_START: usize = KEY_START + 33;
const HMAC_START: usize = PAYLOADS_START + HOP_PAYLOADS_LEN;

/// Why a packet could not be built.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BuildError {
    /// An onion needs at least one hop.
    #[error("a route needs at least one hop")]
    NoHops,
    /// A payload of fewer than 2 bytes: readers reject lengths 0 and 1.
    #[error("hop {hop}: a payload of {len} bytes is too short (at least 2)")]
    PayloadTooShort {
        /// The hop (0 = first).
        hop: usize,
        /// Its payload's length.
        len: usize,
    },
    /// The hops' payloads, with their length prefixes and HMACs, exceed `hop_payloads`.
    #[error("payloads need {needed} bytes, hop_payloads holds {HOP_PAYLOADS_LEN}")]
    TooLarge {
        /// Bytes the route would need.
        needed: usize,
    },
    /// A blinded ephemeral key came out invalid (a hash that is not a scalar; probability
    /// about 2^-128).
    #[error("hop {hop}: ephemeral key blinding failed")]
    Blinding {
        /// The hop whose key could not be derived.
        hop: usize,
    },
}

/// Why a received packet could not be used. The two variants are answered differently.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PeelError {
    /// The packet itself is unreadable: answer with `update_fail_malformed_htlc` and this code
    /// (`invalid_onion_version`, `invalid_onion_hmac` or `invalid_onion_key`) and
    /// [`sha256_of_onion`] of the packet.
    #[error("malformed onion (failure code {failure_code:#06x})")]
    Malformed {
        /// BADONION|PERM|4, 5 or 6.
        failure_code: u16,
    },
    /// The packet was authentic but our payload is not usable: answer with an encrypted
    /// `invalid_onion_payload` failure ([`PayloadError::failure`]) under `shared_secret`.
    #[error("invalid onion payload: {error}")]
    Payload {
        /// The secret to encrypt the failure with.
        shared_secret: SharedSecret,
        /// What was wrong with the payload.
        error: PayloadError,
    },
}

/// One layer peeled, with our payload still as bytes (see [`peel_raw`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawPeeled {
    /// Our payload's TLV stream, without its length prefix.
    pub payload_bytes: Vec<u8>,
    /// The secret shared with the origin, kept to obfuscate failures.
    pub shared_secret: SharedSecret,
    /// The packet for the next hop; `None` when the next HMAC is all zero (we are the final
    /// node).
    pub next: Option<Box<[u8; PACKET_LEN]>>,
}

/// One layer peeled and our payload decoded (see [`peel`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peeled {
    /// Our decoded payload.
    pub payload: HopPayload,
    /// The secret shared with the origin, kept to obfuscate failures.
    pub shared_secret: SharedSecret,
    /// The packet for the next hop; `None` when the next HMAC is all zero (we are the final
    /// node).
    pub next: Option<Box<[u8; PACKET_LEN]>>,
}

/// A payload as it sits in `hop_payloads` (before its HMAC): BigSize length, then the TLV
/// stream.
pub fn encode_payload_with_length(tlv: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bigsize_len(tlv.len() as u64) + tlv.len());
    write_bigsize(&mut out, tlv.len() as u64);
    out.extend_from_slice(tlv);
    out
}

/// The `sha256_of_onion` that `update_fail_malformed_htlc` and the BADONION failures carry.
pub fn sha256_of_onion(packet: &[u8]) -> [u8; 32] {
    sha256::Hash::hash(packet).to_byte_array()
}

/// The bytes a hop's payload takes in `hop_payloads`: length prefix, payload, HMAC
/// (saturating: a peer's length can be anything).
fn shift_size(payload_len: usize) -> usize {
    payload_len.saturating_add(bigsize_len(payload_len as u64) + HMAC_LEN)
}

/// Builds an onion for `hops` (first hop first), each the hop's node id and its payload's TLV
/// stream (no length prefix). `session_key` must be fresh randomness for every onion; the
/// returned shared secrets (one per hop, same order) decode failures with
/// [`super::decode_failure`].
pub fn build_packet(
    secp: &Secp256k1<All>,
    session_key: &SecretKey,
    hops: &[(PublicKey, Vec<u8>)],
    associated_data: &[u8; 32],
) -> Result<(Box<[u8; PACKET_LEN]>, Vec<SharedSecret>), BuildError> {
    if hops.is_empty() {
        return Err(BuildError::NoHops);
    }
    for (hop, (_, payload)) in hops.iter().enumerate() {
        if payload.len() < 2 {
            return Err(BuildError::PayloadTooShort {
                hop,
                len: payload.len(),
            });
        }
    }
    let shifts: Vec<usize> = hops.iter().map(|(_, p)| shift_size(p.len())).collect();
    let needed = shifts
        .iter()
        .fold(0usize, |sum, shift| sum.saturating_add(*shift));
    if needed > HOP_PAYLOADS_LEN {
        return Err(BuildError::TooLarge { needed });
    }

    // Ephemeral keys and shared secrets, hop by hop ("Packet Construction").
    let mut secrets = Vec::with_capacity(hops.len());
    let mut ephemeral = *session_key;
    for (hop, (node_id, _)) in hops.iter().enumerate() {
        let ephemeral_pub = PublicKey::from_secret_key(secp, &ephemeral);
        let secret = shared_secret(&ephemeral, node_id);
        secrets.push(secret);
        if hop + 1 < hops.len() {
            ephemeral = blinding_factor(&ephemeral_pub, &secret)
                .and_then(|factor| ephemeral.mul_tweak(&factor).ok())
                .ok_or(BuildError::Blinding { hop })?;
        }
    }

    let filler = filler(&secrets, &shifts);
    let mut mix = [0u8; HOP_PAYLOADS_LEN];
    apply_stream(&generate_key(b"pad", &session_key.secret_bytes()), &mut mix);
    let mut next_hmac = [0u8; HMAC_LEN];
    for (i, ((_, payload), secret)) in hops.iter().zip(&secrets).enumerate().rev() {
        let shift = shifts[i];
        mix.copy_within(..HOP_PAYLOADS_LEN - shift, shift);
        let mut head = encode_payload_with_length(payload);
        head.extend_from_slice(&next_hmac);
        mix[..shift].copy_from_slice(&head);
        apply_stream(&secret.rho_key(), &mut mix);
        if i + 1 == hops.len() {
            mix[HOP_PAYLOADS_LEN - filler.len()..].copy_from_slice(&filler);
        }
        next_hmac = hmac(&secret.mu_key(), &[&mix, associated_data]);
    }

    let mut packet = Box::new([0u8; PACKET_LEN]);
    packet[0] = ONION_VERSION;
    packet[KEY_START..PAYLOADS_START]
        .copy_from_slice(&PublicKey::from_secret_key(secp, session_key).serialize());
    packet[PAYLOADS_START..HMAC_START].copy_from_slice(&mix);
    packet[HMAC_START..].copy_from_slice(&next_hmac);
    Ok((packet, secrets))
}

/// The filler ("Filler Generation"): the tail that the hops before the last will have shifted
/// into the last hop's `hop_payloads`, so the origin can compute the HMACs they will check.
/// Each forwarding hop `i` appends `shifts[i]` zero bytes and XORs the rho stream over them;
/// only the part of that stream which ends up in the tail is computed here.
fn filler(secrets: &[SharedSecret], shifts: &[usize]) -> Vec<u8> {
    let forwarding = secrets.len().saturating_sub(1);
    let total: usize = shifts.iter().take(forwarding).sum();
    let mut filler = Vec::with_capacity(total);
    for (secret, shift) in secrets.iter().zip(shifts).take(forwarding) {
        filler.resize(filler.len() + shift, 0);
        let mut stream = vec![0u8; HOP_PAYLOADS_LEN + shift];
        apply_stream(&secret.rho_key(), &mut stream);
        let from = HOP_PAYLOADS_LEN + shift - filler.len();
        for (byte, key) in filler.iter_mut().zip(&stream[from..]) {
            *byte ^= key;
        }
    }
    filler
}

/// Peels one layer as the receiving node, leaving our payload as bytes: checks version, key and
/// HMAC (over `hop_payloads` and `associated_data`, the payment hash), decrypts, splits off our
/// payload and the next HMAC, and builds the next hop's packet. Length rules failing after the
/// HMAC has matched are [`PeelError::Payload`] errors.
pub fn peel_raw(
    secp: &Secp256k1<All>,
    node_key: &SecretKey,
    packet: &[u8; PACKET_LEN],
    associated_data: &[u8; 32],
) -> Result<RawPeeled, PeelError> {
    let malformed = |failure_code| PeelError::Malformed { failure_code };
    let (version, rest) = packet.split_at(KEY_START);
    let (key, rest) = rest.split_at(PAYLOADS_START - KEY_START);
    let (hop_payloads, packet_hmac) = rest.split_at(HOP_PAYLOADS_LEN);
    if version != [ONION_VERSION] {
        return Err(malformed(INVALID_ONION_VERSION));
    }
    let ephemeral = PublicKey::from_slice(key).map_err(|_| malformed(INVALID_ONION_KEY))?;
    let secret = shared_secret(node_key, &ephemeral);
    let expected = hmac(&secret.mu_key(), &[hop_payloads, associated_data]);
    let packet_hmac: &[u8; HMAC_LEN] = packet_hmac
        .try_into()
        .map_err(|_| malformed(INVALID_ONION_HMAC))?;
    if !macs_equal(&expected, packet_hmac) {
        return Err(malformed(INVALID_ONION_HMAC));
    }

    // hop_payloads followed by as many zero bytes, under a stream twice as long.
    let mut unwrapped = vec![0u8; 2 * HOP_PAYLOADS_LEN];
    unwrapped[..HOP_PAYLOADS_LEN].copy_from_slice(hop_payloads);
    apply_stream(&secret.rho_key(), &mut unwrapped);

    let payload_error = |error| PeelError::Payload {
        shared_secret: secret,
        error,
    };
    let mut reader = Reader::new(&unwrapped);
    let length =
        read_bigsize(&mut reader).map_err(|_| payload_error(PayloadError::LengthNotCanonical))?;
    if length < 2 {
        return Err(payload_error(PayloadError::LengthReserved(length)));
    }
    let prefix = bigsize_len(length);
    let shift = usize::try_from(length)
        .ok()
        .map(shift_size)
        .filter(|shift| *shift <= HOP_PAYLOADS_LEN)
        .ok_or(payload_error(PayloadError::LengthTooLong(length)))?;
    let payload_end = shift - HMAC_LEN;
    let payload_bytes = unwrapped[prefix..payload_end].to_vec();
    let mut next_hmac = [0u8; HMAC_LEN];
    next_hmac.copy_from_slice(&unwrapped[payload_end..shift]);

    let next = if next_hmac == [0u8; HMAC_LEN] {
        None
    } else {
        let next_key = blinding_factor(&ephemeral, &secret)
            .and_then(|factor| ephemeral.mul_tweak(secp, &factor).ok())
            .ok_or(malformed(INVALID_ONION_KEY))?;
        let mut next = Box::new([0u8; PACKET_LEN]);
        next[0] = ONION_VERSION;
        next[KEY_START..PAYLOADS_START].copy_from_slice(&next_key.serialize());
        next[PAYLOADS_START..HMAC_START]
            .copy_from_slice(&unwrapped[shift..shift + HOP_PAYLOADS_LEN]);
        next[HMAC_START..].copy_from_slice(&next_hmac);
        Some(next)
    };
    Ok(RawPeeled {
        payload_bytes,
        shared_secret: secret,
        next,
    })
}

/// Peels one layer as the receiving node and decodes our payload ([`HopPayload::decode`]);
/// `associated_data` is the HTLC's payment hash. Payload error offsets count from the start
/// of the decrypted `hop_payloads`, as `invalid_onion_payload` wants.
pub fn peel(
    secp: &Secp256k1<All>,
    node_key: &SecretKey,
    packet: &[u8; PACKET_LEN],
    associated_data: &[u8; 32],
) -> Result<Peeled, PeelError> {
    let raw = peel_raw(secp, node_key, packet, associated_data)?;
    let prefix = bigsize_len(raw.payload_bytes.len() as u64);
    match HopPayload::decode(&raw.payload_bytes) {
        Ok(payload) => Ok(Peeled {
            payload,
            shared_secret: raw.shared_secret,
            next: raw.next,
        }),
        Err(error) => Err(PeelError::Payload {
            shared_secret: raw.shared_secret,
            error: error.shifted(prefix),
        }),
    }
}
