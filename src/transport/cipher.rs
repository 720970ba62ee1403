//! The per-direction cipher state of an established BOLT 8 connection ("Lightning Message
//! Specification" and "Lightning Message Key Rotation").
//!
//! Each direction has a key `k`, a nonce `n` and a chaining key `ck`. A frame is the 2-byte
//! big-endian length encrypted with nonce `n` (18 bytes with its MAC), then the body encrypted
//! with nonce `n + 1`; both use ChaCha20-Poly1305 with empty associated data. When a nonce reaches
//! 1000, `ck, k = HKDF(ck, k)` and `n = 0`, for each direction on its own.
//!
//! Pure: no IO, no clock, no randomness. Encryption and decryption work in place on the caller's
//! buffer, so a message is copied at most once (into the output buffer) on its way through.

use bitcoin::hashes::{sha256, Hash as _, HashEngine as _, Hmac, HmacEngine};
use bytes::{BufMut as _, BytesMut};
use ring::aead::{Aad, LessSafeKey, Nonce, Tag, UnboundKey, CHACHA20_POLY1305};

use super::error::FrameError;

/// The largest Lightning message BOLT 8 carries: "The *maximum* size of _any_ Lightning message
/// MUST NOT exceed `65535` bytes."
pub const MAX_MESSAGE_LEN: usize = 65_535;
/// Length of a Poly1305 MAC.
pub const MAC_LEN: usize = 16;
/// Length of the encrypted length prefix: 2 bytes plus its MAC.
pub const LENGTH_HEADER_LEN: usize = 2 + MAC_LEN;
/// The nonce at which a key is rotated (BOLT 8 "Lightning Message Key Rotation").
const KEY_ROTATION_NONCE: u64 = 1000;

/// Noise's HKDF (RFC 5869 with empty `info`, two 32-byte outputs), as BOLT 8 "Handshake State"
/// defines it: `HKDF(salt, ikm)` returns `(out1, out2)`.
pub(crate) fn hkdf(salt: &[u8; 32], ikm: &[u8]) -> ([u8; 32], [u8; 32]) {
    let mut extract = HmacEngine::<sha256::Hash>::new(salt);
    extract.input(ikm);
    let prk = Hmac::<sha256::Hash>::from_engine(extract).to_byte_array();

    let mut first = HmacEngine::<sha256::Hash>::new(&prk);
    first.input(&[1]);
    let out1 = Hmac::<sha256::Hash>::from_engine(first).to_byte_array();

    let mut second = HmacEngine::<sha256::Hash>::new(&prk);
    second.input(&out1);
    second.input(&[2]);
    let out2 = Hmac::<sha256::Hash>::from_engine(second).to_byte_array();
    (out1, out2)
}

/// One direction's key, nonce and chaining key.
struct CipherState {
    /// The AEAD keyed with the current `k` (ring's ChaCha20-Poly1305: assembly with runtime
    /// CPU dispatch, whose small fixed cost per call matters since every frame takes two).
    aead: LessSafeKey,
    /// The current key `k`, kept for the next rotation.
    key: [u8; 32],
    /// The next nonce `n` to use.
    nonce: u64,
    /// The chaining key of this direction (`sck` or `rck`).
    chaining_key: [u8; 32],
}

impl core::fmt::Debug for CipherState {
    /// Shows the nonce only: keys stay out of logs.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CipherState")
            .field("nonce", &self.nonce)
            .finish_non_exhaustive()
    }
}

impl CipherState {
    fn new(key: [u8; 32], chaining_key: [u8; 32]) -> Self {
        // A 32-byte key is exactly what ChaCha20-Poly1305 takes, so this cannot fail.
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, &key)
            .unwrap_or_else(|_| unreachable!("ChaCha20-Poly1305 keys are 32 bytes"));
        CipherState {
            aead: LessSafeKey::new(unbound),
            key,
            nonce: 0,
            chaining_key,
        }
    }

    /// The 96-bit AEAD nonce for `n`: 32 zero bits, then `n` little-endian (BOLT 8
    /// `encryptWithAD`, following Noise).
    fn current_nonce(&self) -> Nonce {
        let mut nonce = [0; 12];
        nonce[4..].copy_from_slice(&self.nonce.to_le_bytes());
        Nonce::assume_unique_for_key(nonce)
    }

    /// Moves to the next nonce, rotating the key when it reaches 1000.
    fn advance(&mut self) {
        self.nonce += 1;
        if self.nonce == KEY_ROTATION_NONCE {
            let (chaining_key, key) = hkdf(&self.chaining_key, &self.key);
            *self = CipherState::new(key, chaining_key);
        }
    }

    fn encrypt(&mut self, buffer: &mut [u8]) -> Result<Tag, FrameError> {
        let tag = self
            .aead
            .seal_in_place_separate_tag(self.current_nonce(), Aad::empty(), buffer)
            .map_err(|_| FrameError::Encrypt)?;
        self.advance();
        Ok(tag)
    }

    /// Decrypts `buffer` in place if `tag` authenticates it. The nonce advances either way: a
    /// failed MAC ends the connection, so there is no state to preserve.
    fn decrypt(&mut self, buffer: &mut [u8], tag: &[u8; MAC_LEN]) -> Result<(), ()> {
        let tag = Tag::from(*tag);
        let result = self.aead.open_in_place_separate_tag(
            self.current_nonce(),
            Aad::empty(),
            tag,
            buffer,
            0..,
        );
        self.advance();
        result.map(|_| ()).map_err(|_| ())
    }
}

/// The sending half of an established connection (`sk`, `sn`, `sck`): turns plaintext
/// Lightning messages into BOLT 8 frames.
///
/// Calling contract: frames must be sent in the order they were produced; each call appends one
/// complete frame to the output buffer or, on error, leaves buffer and state as they were.
#[derive(Debug)]
pub struct Encryptor {
    /// The sending cipher state.
    state: CipherState,
}

impl Encryptor {
    /// The sending state right after the handshake: key `sk`, nonce 0, chaining key `ck`.
    pub fn new(sending_key: [u8; 32], chaining_key: [u8; 32]) -> Self {
        Encryptor {
            state: CipherState::new(sending_key, chaining_key),
        }
    }

    /// Appends the frame `lc || c` for `message` to `dst`.
    pub fn encrypt_message(
        &mut self,
        message: &[u8],
        dst: &mut BytesMut,
    ) -> Result<(), FrameError> {
        if message.len() > MAX_MESSAGE_LEN {
            return Err(FrameError::MessageTooLong { len: message.len() });
        }
        dst.reserve(LENGTH_HEADER_LEN + message.len() + MAC_LEN);
        match self.encrypt_with(dst, |buffer| {
            buffer.extend_from_slice(message);
            Ok::<(), core::convert::Infallible>(())
        })? {
            Ok(()) => Ok(()),
            Err(never) => match never {},
        }
    }

    /// Appends one frame whose plaintext `write` appends to the buffer it is given, then
    /// encrypts it in place: a message codec can serialize straight into the output buffer
    /// without an intermediate copy. `write` must only append. If `write` fails, the buffer
    /// and the cipher state are left as they were and its error is returned inside `Ok`; the
    /// outer error is the framing's own.
    pub fn encrypt_with<F, E>(
        &mut self,
        dst: &mut BytesMut,
        write: F,
    ) -> Result<Result<(), E>, FrameError>
    where
        F: FnOnce(&mut BytesMut) -> Result<(), E>,
    {
        let start = dst.len();
        dst.put_bytes(0, LENGTH_HEADER_LEN);
        let body_start = dst.len();
        if let Err(e) = write(dst) {
            dst.truncate(start);
            return Ok(Err(e));
        }
        let body_len = dst.len().saturating_sub(body_start);
        let Ok(length) = u16::try_from(body_len) else {
            dst.truncate(start);
            return Err(FrameError::MessageTooLong { len: body_len });
        };
        let result = self.seal(&mut dst[start..], length);
        match result {
            Ok(body_tag) => {
                dst.extend_from_slice(body_tag.as_ref());
                Ok(Ok(()))
            }
            Err(error) => {
                dst.truncate(start);
                Err(error)
            }
        }
    }

    /// Encrypts `frame` = 18 placeholder bytes followed by the plaintext body in place: writes
    /// the encrypted length and its MAC into the placeholder, returns the body's MAC.
    fn seal(&mut self, frame: &mut [u8], length: u16) -> Result<Tag, FrameError> {
        let (header, body) = frame.split_at_mut(LENGTH_HEADER_LEN);
        let (length_bytes, length_mac) = header.split_at_mut(2);
        length_bytes.copy_from_slice(&length.to_be_bytes());
        let tag = self.state.encrypt(length_bytes)?;
        length_mac.copy_from_slice(tag.as_ref());
        self.state.encrypt(body)
    }
}

#[cfg(test)]
impl Encryptor {
    /// The current key and chaining key, for the vector tests.
    pub(crate) fn keys(&self) -> ([u8; 32], [u8; 32]) {
        (self.state.key, self.state.chaining_key)
    }
}

#[cfg(test)]
impl Decryptor {
    /// The current key and chaining key, for the vector tests.
    pub(crate) fn keys(&self) -> ([u8; 32], [u8; 32]) {
        (self.state.key, self.state.chaining_key)
    }
}

/// The receiving half of an established connection (`rk`, `rn`, `rck`): decrypts the length
/// prefix and then the body of each BOLT 8 frame.
///
/// Calling contract: alternate [`Decryptor::decrypt_length`] and
/// [`Decryptor::decrypt_body`], in stream order. After any error the peer's nonce and ours
/// differ for good: drop the connection. [`FrameCodec`](super::FrameCodec) does all this.
#[derive(Debug)]
pub struct Decryptor {
    /// The receiving cipher state.
    state: CipherState,
}

impl Decryptor {
    /// The receiving state right after the handshake: key `rk`, nonce 0, chaining key `ck`.
    pub fn new(receiving_key: [u8; 32], chaining_key: [u8; 32]) -> Self {
        Decryptor {
            state: CipherState::new(receiving_key, chaining_key),
        }
    }

    /// Decrypts an encrypted length prefix `lc` and returns the body length `l` (at most
    /// 65,535 by construction). The body that follows is `l + 16` bytes.
    pub fn decrypt_length(&mut self, header: &[u8; LENGTH_HEADER_LEN]) -> Result<u16, FrameError> {
        let [high, low, mac @ ..] = *header;
        let mut length = [high, low];
        self.state
            .decrypt(&mut length, &mac)
            .map_err(|()| FrameError::BadLengthMac)?;
        Ok(u16::from_be_bytes(length))
    }

    /// Decrypts a body `c` (ciphertext followed by its 16-byte MAC) in place and returns the
    /// plaintext length, `frame.len() - 16`; the plaintext is `frame[..len]`.
    pub fn decrypt_body(&mut self, frame: &mut [u8]) -> Result<usize, FrameError> {
        let len = frame
            .len()
            .checked_sub(MAC_LEN)
            .ok_or(FrameError::BadBodyMac)?;
        let (body, mac) = frame.split_at_mut(len);
        let mac: &[u8; MAC_LEN] = (&*mac).try_into().map_err(|_| FrameError::BadBodyMac)?;
        self.state
            .decrypt(body, mac)
            .map_err(|()| FrameError::BadBodyMac)?;
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_vectors::{hex32, hex_bytes, vector};
    use super::*;

    /// BOLT 8 Appendix A, "transport-message test": the initiator sends "hello" 1001 times;
    /// outputs 0, 1, 500, 501, 1000 and 1001 are given, spanning two key rotations.
    #[test]
    fn bolt8_transport_message_test() {
        let case = vector("transport-message test");
        let mut encryptor = Encryptor::new(hex32(case.get("sk")), hex32(case.get("ck")));
        let mut frames = Vec::new();
        for _ in 0..=1001 {
            let mut frame = BytesMut::new();
            encryptor.encrypt_message(b"hello", &mut frame).unwrap();
            frames.push(frame);
        }
        let mut checked = 0;
        for index in [0, 1, 500, 501, 1000, 1001] {
            let expected = hex_bytes(case.get(&format!("output {index}")));
            assert_eq!(
                frames[index].as_ref(),
                expected.as_slice(),
                "output {index}"
            );
            checked += 1;
        }
        assert_eq!(checked, 6);

        // The receiving side, keyed with the same key as its `rk`, reads every frame back.
        let mut decryptor = Decryptor::new(hex32(case.get("sk")), hex32(case.get("ck")));
        for frame in &mut frames {
            let (header, body) = frame.split_at_mut(LENGTH_HEADER_LEN);
            let length = decryptor
                .decrypt_length((&*header).try_into().unwrap())
                .unwrap();
            assert_eq!(usize::from(length) + MAC_LEN, body.len());
            let len = decryptor.decrypt_body(body).unwrap();
            assert_eq!(&body[..len], b"hello");
        }
    }

    #[test]
    fn the_two_directions_rotate_independently() {
        let ck = [7; 32];
        let mut sending = Encryptor::new([1; 32], ck);
        let mut receiving = Decryptor::new([1; 32], ck);
        // 499 messages use nonces 0..998: no rotation yet on either side.
        let mut frame = BytesMut::new();
        for _ in 0..499 {
            frame.clear();
            sending.encrypt_message(b"x", &mut frame).unwrap();
        }
        assert_eq!(sending.state.nonce, 998);
        assert_eq!(receiving.state.nonce, 0);
        sending.encrypt_message(b"x", &mut frame).unwrap();
        assert_eq!(sending.state.nonce, 0);
        assert_ne!(sending.state.chaining_key, ck);
        assert_eq!(receiving.state.chaining_key, ck);
        let mut header = [0; LENGTH_HEADER_LEN];
        header.copy_from_slice(&frame[..LENGTH_HEADER_LEN]);
        // The receiver is still at nonce 0: this frame (nonce 998) does not authenticate.
        assert!(matches!(
            receiving.decrypt_length(&header),
            Err(FrameError::BadLengthMac)
        ));
    }

    #[test]
    fn oversize_message_is_refused_and_changes_nothing() {
        let mut encryptor = Encryptor::new([1; 32], [2; 32]);
        let mut dst = BytesMut::from(&b"earlier"[..]);
        let too_long = vec![0; MAX_MESSAGE_LEN + 1];
        let error = encryptor.encrypt_message(&too_long, &mut dst).unwrap_err();
        assert!(matches!(error, FrameError::MessageTooLong { len } if len == MAX_MESSAGE_LEN + 1));
        let error = encryptor.encrypt_with(&mut dst, |b| {
            b.extend_from_slice(&too_long);
            Ok::<(), core::convert::Infallible>(())
        });
        assert!(matches!(error, Err(FrameError::MessageTooLong { .. })));
        assert_eq!(dst.as_ref(), b"earlier");
        assert_eq!(encryptor.state.nonce, 0);

        // The largest legal message goes through and reads back.
        let largest = vec![0xab; MAX_MESSAGE_LEN];
        encryptor.encrypt_message(&largest, &mut dst).unwrap();
        let mut decryptor = Decryptor::new([1; 32], [2; 32]);
        let frame = &mut dst[b"earlier".len()..];
        let (header, body) = frame.split_at_mut(LENGTH_HEADER_LEN);
        assert_eq!(
            decryptor
                .decrypt_length((&*header).try_into().unwrap())
                .unwrap(),
            65_535
        );
        let len = decryptor.decrypt_body(body).unwrap();
        assert_eq!(&body[..len], largest.as_slice());
    }

    #[test]
    fn tampered_body_fails_its_mac() {
        let mut encryptor = Encryptor::new([3; 32], [4; 32]);
        let mut frame = BytesMut::new();
        encryptor.encrypt_message(b"hello", &mut frame).unwrap();
        let last = frame.len() - 1;
        frame[last] ^= 1;
        let mut decryptor = Decryptor::new([3; 32], [4; 32]);
        let (header, body) = frame.split_at_mut(LENGTH_HEADER_LEN);
        decryptor
            .decrypt_length((&*header).try_into().unwrap())
            .unwrap();
        assert!(matches!(
            decryptor.decrypt_body(body),
            Err(FrameError::BadBodyMac)
        ));
        assert!(matches!(
            decryptor.decrypt_body(&mut [0; 3]),
            Err(FrameError::BadBodyMac)
        ));
    }
}
