//! The glue that makes `snow` speak Lightning's Noise variant (BOLT 8 "Noise Protocol
//! Instantiation"): `Noise_XK_secp256k1_ChaChaPoly_SHA256` with prologue `lightning`.
//!
//! snow knows no secp256k1, so [`LightningResolver`] supplies:
//! - a secp256k1 [`Dh`]: 33-byte compressed public keys, 32-byte private keys, and
//!   `ECDH(k, rk) = SHA-256(compressed k·rk)` (BOLT 8 "Handshake State");
//! - an "RNG" that yields exactly one given ephemeral key, so that the handshake stays pure and
//!   the Appendix A vectors reproduce;
//! - SHA-256 wrapped to record the final chaining key `ck`: snow exposes no `ck`, but BOLT 8 key
//!   rotation starts from it. snow's `Split` is the only HKDF call of `Noise_XK` with empty input
//!   key material, and its salt is exactly that `ck`.
//!
//! Both the key recording and the name override rely on snow 0.10.0 internals (it hashes
//! `NoiseParams::name` verbatim, calls `Dh::dh` with the peer's whole 56-byte key buffer, and
//! splits through `Hash::hkdf`). The crate pins `snow = "=0.10.0"` and the BOLT 8 vectors in
//! `handshake/tests.rs` fail if any of this changes.

use std::sync::{Arc, OnceLock};

use bitcoin::secp256k1::{ecdh::SharedSecret, PublicKey, Secp256k1, SecretKey};
use snow::params::{CipherChoice, DHChoice, HashChoice, NoiseParams};
use snow::resolvers::{CryptoResolver, DefaultResolver};
use snow::types::{Cipher, Dh, Hash, Random};

use super::error::HandshakeError;

/// The protocol name BOLT 8 hashes into `h` and `ck` ("Handshake State Initialization").
pub(crate) const PROTOCOL_NAME: &str = "Noise_XK_secp256k1_ChaChaPoly_SHA256";
/// The handshake prologue of BOLT 8.
pub(crate) const PROLOGUE: &[u8] = b"lightning";
/// A stand-in snow can parse: same pattern, cipher and hash; its DH slot (25519) is resolved to
/// secp256k1 by [`LightningResolver`], and the name snow hashes is replaced by
/// [`PROTOCOL_NAME`].
const PARSEABLE_NAME: &str = "Noise_XK_25519_ChaChaPoly_SHA256";

/// Length of a compressed secp256k1 public key.
const PUBLIC_KEY_LEN: usize = 33;
/// Length of a secp256k1 private key and of the ECDH output.
const SECRET_LEN: usize = 32;

/// The Noise parameters of BOLT 8, with the protocol name snow hashes set to
/// [`PROTOCOL_NAME`].
pub(crate) fn params() -> Result<NoiseParams, HandshakeError> {
    let mut params: NoiseParams = PARSEABLE_NAME.parse().map_err(HandshakeError::Noise)?;
    PROTOCOL_NAME.clone_into(&mut params.name);
    Ok(params)
}

/// Where the recording hash leaves the final chaining key; shared between the resolver's hash
/// and the handshake that reads it after the last act.
pub(crate) type ChainingKeySlot = Arc<OnceLock<[u8; 32]>>;

/// A snow resolver for one handshake: secp256k1 DH, the given ephemeral key as the only
/// "randomness", SHA-256 that records the final chaining key, and snow's own ChaCha20-Poly1305.
pub(crate) struct LightningResolver {
    /// The ephemeral private key snow's `generate` will receive.
    ephemeral: [u8; SECRET_LEN],
    /// Filled by the hash when snow splits the final keys.
    chaining_key: ChainingKeySlot,
}

impl LightningResolver {
    /// A resolver whose single ephemeral key is `ephemeral` and whose hash records the final
    /// chaining key into `chaining_key`.
    pub(crate) fn new(ephemeral: &SecretKey, chaining_key: ChainingKeySlot) -> Self {
        LightningResolver {
            ephemeral: ephemeral.secret_bytes(),
            chaining_key,
        }
    }
}

impl CryptoResolver for LightningResolver {
    fn resolve_rng(&self) -> Option<Box<dyn Random>> {
        Some(Box::new(EphemeralKeySource {
            key: Some(self.ephemeral),
        }))
    }

    fn resolve_dh(&self, choice: &DHChoice) -> Option<Box<dyn Dh>> {
        // The parseable stand-in names 25519; anything else is not our handshake.
        matches!(choice, DHChoice::Curve25519)
            .then(|| Box::new(Secp256k1Dh::default()) as Box<dyn Dh>)
    }

    fn resolve_hash(&self, choice: &HashChoice) -> Option<Box<dyn Hash>> {
        if !matches!(choice, HashChoice::SHA256) {
            return None;
        }
        Some(Box::new(ChainingKeyRecorder {
            inner: DefaultResolver.resolve_hash(choice)?,
            chaining_key: Arc::clone(&self.chaining_key),
        }))
    }

    fn resolve_cipher(&self, choice: &CipherChoice) -> Option<Box<dyn Cipher>> {
        matches!(choice, CipherChoice::ChaChaPoly)
            .then(|| DefaultResolver.resolve_cipher(choice))
            .flatten()
    }
}

/// snow's source of randomness, which it only uses to generate the ephemeral key: yields the
/// one key chosen by the caller, then refuses. Keeps the handshake free of randomness.
struct EphemeralKeySource {
    /// The key still to hand out.
    key: Option<[u8; SECRET_LEN]>,
}

impl Random for EphemeralKeySource {
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), snow::Error> {
        match self.key.take() {
            Some(key) if dest.len() == key.len() => {
                dest.copy_from_slice(&key);
                Ok(())
            }
            _ => Err(snow::Error::Rng),
        }
    }
}

/// Diffie-Hellman on secp256k1 as BOLT 8 defines it.
struct Secp256k1Dh {
    /// The private key; `None` until set, or if snow handed over bytes that are no valid key
    /// (`Dh::set` cannot fail, so the error surfaces in `dh`).
    secret: Option<SecretKey>,
    /// The private key bytes snow may ask for.
    secret_bytes: [u8; SECRET_LEN],
    /// The compressed public key of `secret`.
    public: [u8; PUBLIC_KEY_LEN],
}

impl Default for Secp256k1Dh {
    fn default() -> Self {
        Secp256k1Dh {
            secret: None,
            secret_bytes: [0; SECRET_LEN],
            public: [0; PUBLIC_KEY_LEN],
        }
    }
}

impl Secp256k1Dh {
    fn set_secret(&mut self, secret: Option<SecretKey>) {
        *self = Secp256k1Dh::default();
        if let Some(secret) = secret {
            self.secret = Some(secret);
            self.secret_bytes = secret.secret_bytes();
            self.public =
                PublicKey::from_secret_key(&Secp256k1::signing_only(), &secret).serialize();
        }
    }
}

impl Dh for Secp256k1Dh {
    fn name(&self) -> &'static str {
        "secp256k1"
    }

    fn pub_len(&self) -> usize {
        PUBLIC_KEY_LEN
    }

    fn priv_len(&self) -> usize {
        SECRET_LEN
    }

    fn dh_len(&self) -> usize {
        SECRET_LEN
    }

    fn set(&mut self, privkey: &[u8]) {
        self.set_secret(SecretKey::from_slice(privkey).ok());
    }

    fn generate(&mut self, rng: &mut dyn Random) -> Result<(), snow::Error> {
        let mut bytes = [0; SECRET_LEN];
        rng.try_fill_bytes(&mut bytes)?;
        let secret = SecretKey::from_slice(&bytes).map_err(|_| snow::Error::Rng)?;
        self.set_secret(Some(secret));
        Ok(())
    }

    fn pubkey(&self) -> &[u8] {
        &self.public
    }

    fn privkey(&self) -> &[u8] {
        &self.secret_bytes
    }

    fn dh(&self, pubkey: &[u8], out: &mut [u8]) -> Result<(), snow::Error> {
        // snow passes its whole key buffer (56 bytes); the compressed key is its start.
        let point = pubkey.get(..PUBLIC_KEY_LEN).ok_or(snow::Error::Dh)?;
        let point = PublicKey::from_slice(point).map_err(|_| snow::Error::Dh)?;
        let secret = self.secret.as_ref().ok_or(snow::Error::Dh)?;
        let out = out.get_mut(..SECRET_LEN).ok_or(snow::Error::Dh)?;
        // `SharedSecret::new` is SHA-256 of the compressed shared point, as BOLT 8 asks.
        out.copy_from_slice(&SharedSecret::new(&point, secret).secret_bytes());
        Ok(())
    }
}

/// SHA-256 (snow's own) that records the salt of the first HKDF with empty input key material:
/// in `Noise_XK` that is the final `Split()`, and its salt is the chaining key BOLT 8 keeps for
/// key rotation (`rck = sck = ck`).
struct ChainingKeyRecorder {
    /// snow's SHA-256.
    inner: Box<dyn Hash>,
    /// Where the final chaining key goes.
    chaining_key: ChainingKeySlot,
}

impl Hash for ChainingKeyRecorder {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn block_len(&self) -> usize {
        self.inner.block_len()
    }

    fn hash_len(&self) -> usize {
        self.inner.hash_len()
    }

    fn reset(&mut self) {
        self.inner.reset();
    }

    fn input(&mut self, data: &[u8]) {
        self.inner.input(data);
    }

    fn result(&mut self, out: &mut [u8]) {
        self.inner.result(out);
    }

    fn hmac(&mut self, key: &[u8], data: &[u8], out: &mut [u8]) {
        self.inner.hmac(key, data, out);
    }

    fn hkdf(
        &mut self,
        chaining_key: &[u8],
        input_key_material: &[u8],
        outputs: usize,
        out1: &mut [u8],
        out2: &mut [u8],
        out3: &mut [u8],
    ) {
        if input_key_material.is_empty() {
            if let Ok(ck) = <[u8; 32]>::try_from(chaining_key) {
                // A second Split cannot happen in one handshake; if it did, the first value
                // stays and the vectors would catch the difference.
                let _ = self.chaining_key.set(ck);
            }
        }
        self.inner
            .hkdf(chaining_key, input_key_material, outputs, out1, out2, out3);
    }
}
