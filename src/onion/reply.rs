//! The return packet (BOLT 4 "Returning Errors"): the erring node builds and obfuscates it,
//! every hop on the way back obfuscates it again, and the origin peels the layers until one
//! hop's HMAC matches. `attribution_data` (`option_attribution_data`) is not produced or read.

use super::crypto::{apply_stream, hmac, macs_equal};
use super::failure::{FailureError, FailureMessage, MAX_FAILURE_MSG_LEN};
use super::SharedSecret;

/// The length `failure_len + pad_len` is padded to (BOLT 4: "SHOULD ... equal to 256"), so
/// that every short failure has the same size on the wire.
pub const FAILURE_PAD_TO: usize = 256;

/// How many layers the origin always peels ("SHOULD continue decrypting, until the loop has
/// been repeated 27 times"), so its timing does not reveal which hop failed.
const DECRYPT_ROUNDS: usize = 27;

const HMAC_LEN: usize = 32;

/// A failure the origin has attributed: which hop sent it, and what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedFailure {
    /// The index of the erring hop in the route (0 = first hop, our peer).
    pub hop: usize,
    /// Its failure message.
    pub message: FailureMessage,
}

/// The erring node's `update_fail_htlc.reason`: HMAC (under `um`), `failure_len`, the message,
/// `pad_len` and zero padding up to [`FAILURE_PAD_TO`], all XORed with the `ammag` stream.
/// Messages longer than [`MAX_FAILURE_MSG_LEN`] (none of BOLT 4's) are cut to fit.
pub fn failure_onion(shared_secret: &SharedSecret, failure: &FailureMessage) -> Vec<u8> {
    let mut message = failure.encode();
    message.truncate(MAX_FAILURE_MSG_LEN);
    let mut packet = return_packet(shared_secret, &message, FAILURE_PAD_TO);
    apply_stream(&shared_secret.ammag_key(), &mut packet);
    packet
}

/// The return packet before obfuscation: HMAC, `failure_len`, `failuremsg`, `pad_len`, and
/// zero `pad` so that `failure_len + pad_len` is at least `pad_to`. `message` must fit a u16
/// length, and so must the padding.
pub(crate) fn return_packet(
    shared_secret: &SharedSecret,
    message: &[u8],
    pad_to: usize,
) -> Vec<u8> {
    let pad = pad_to.saturating_sub(message.len());
    let failure_len = u16::try_from(message.len()).unwrap_or(u16::MAX);
    let pad_len = u16::try_from(pad).unwrap_or(u16::MAX);
    let mut packet = vec![0u8; HMAC_LEN];
    packet.extend_from_slice(&failure_len.to_be_bytes());
    packet.extend_from_slice(&message[..usize::from(failure_len)]);
    packet.extend_from_slice(&pad_len.to_be_bytes());
    packet.resize(packet.len() + usize::from(pad_len), 0);
    let mac = hmac(&shared_secret.um_key(), &[&packet[HMAC_LEN..]]);
    packet[..HMAC_LEN].copy_from_slice(&mac);
    packet
}

/// An intermediate hop passing a failure back: XORs `reason` with its own `ammag` stream.
pub fn wrap_failure(shared_secret: &SharedSecret, reason: &[u8]) -> Vec<u8> {
    let mut packet = reason.to_vec();
    apply_stream(&shared_secret.ammag_key(), &mut packet);
    packet
}

/// The origin: peels `reason` with each hop's `ammag` stream, first hop first, until the
/// `um` HMAC of one hop matches; that hop sent the failure. Keeps peeling with a dummy secret
/// up to 27 rounds whatever the route length. A hop that authenticated a message which does
/// not decode is still named, in [`FailureError::BadLength`] or [`FailureError::BadMessage`].
pub fn decode_failure(
    shared_secrets: &[SharedSecret],
    reason: &[u8],
) -> Result<DecodedFailure, FailureError> {
    if reason.len() < HMAC_LEN + 2 {
        return Err(FailureError::PacketTooShort(reason.len()));
    }
    let mut packet = reason.to_vec();
    let mut found: Option<(usize, Vec<u8>)> = None;
    let dummy = SharedSecret([0u8; 32]);
    for round in 0..DECRYPT_ROUNDS.max(shared_secrets.len()) {
        let secret = shared_secrets.get(round).unwrap_or(&dummy);
        apply_stream(&secret.ammag_key(), &mut packet);
        let (mac, body) = packet.split_at(HMAC_LEN);
        let expected = hmac(&secret.um_key(), &[body]);
        let matched = mac
            .try_into()
            .is_ok_and(|mac: &[u8; HMAC_LEN]| macs_equal(&expected, mac));
        if matched && found.is_none() && round < shared_secrets.len() {
            found = Some((round, body.to_vec()));
        }
    }
    let (hop, body) = found.ok_or(FailureError::NoHopMatched)?;
    let (len, rest) = body
        .split_first_chunk::<2>()
        .ok_or(FailureError::PacketTooShort(reason.len()))?;
    let len = u16::from_be_bytes(*len);
    let message = rest
        .get(..usize::from(len))
        .ok_or(FailureError::BadLength { hop, len })?;
    let message = FailureMessage::decode(message).map_err(|error| FailureError::BadMessage {
        hop,
        error: Box::new(error),
    })?;
    Ok(DecodedFailure { hop, message })
}
