//! The BOLT 8 handshake ("Authenticated Key Exchange Handshake Specification"): three acts of
//! `Noise_XK_secp256k1_ChaChaPoly_SHA256`, run on `snow` through [`super::noise`].
//!
//! Pure and typed: every key, the ephemeral one included, is an argument, so the Appendix A
//! vectors reproduce byte for byte; each step consumes the state of the previous one, so acts
//! cannot be handled out of order; acts are fixed-size arrays ([`ActOne`], [`ActTwo`],
//! [`ActThree`]), so a short act is a type error here and a [`HandshakeError::BadLength`] where
//! bytes become an act.
//!
//! ```text
//! initiator                                             responder
//! InitiatorHandshake::new(ls, rs, e)  ── ActOne ──►     ResponderHandshake::new(ls, e)
//!                                                       .handle_act_one(&act) ─┐
//! .handle_act_two(&act) ─┐           ◄── ActTwo ──                             │
//!                        │           ── ActThree ──►    .handle_act_three(&act)│
//!                     Session                                               Session
//! ```

use std::sync::Arc;

use bitcoin::secp256k1::{PublicKey, SecretKey};
use snow::{Builder, HandshakeState};

use super::cipher::{hkdf, Decryptor, Encryptor};
use super::error::{Act, HandshakeError};
use super::noise::{params, ChainingKeySlot, LightningResolver, PROLOGUE};

/// The only handshake version BOLT 8 defines.
const HANDSHAKE_VERSION: u8 = 0;

/// Declares a fixed-size act: a newtype over its byte array, built from a slice only through a
/// length check that reports [`HandshakeError::BadLength`].
macro_rules! act_type {
    ($(#[$doc:meta])* $name:ident, $act:expr, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// The act's size on the wire.
            pub const LEN: usize = $len;

            /// The act's bytes, ready to write.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl TryFrom<&[u8]> for $name {
            type Error = HandshakeError;

            fn try_from(bytes: &[u8]) -> Result<Self, HandshakeError> {
                <[u8; $len]>::try_from(bytes)
                    .map($name)
                    .map_err(|_| HandshakeError::BadLength { act: $act, actual: bytes.len() })
            }
        }
    };
}

act_type!(
    /// Act One, `0 || e.pub || c` (50 bytes), initiator to responder.
    ActOne,
    Act::One,
    50
);
act_type!(
    /// Act Two, `0 || e.pub || c` (50 bytes), responder to initiator.
    ActTwo,
    Act::Two,
    50
);
act_type!(
    /// Act Three, `0 || c || t` (66 bytes): the initiator's encrypted static key and the final
    /// tag, initiator to responder.
    ActThree,
    Act::Three,
    66
);

/// The result of a completed handshake: who the peer is and one cipher state per direction.
/// (`Debug` shows nonces, never keys.)
#[derive(Debug)]
pub struct Session {
    /// The peer's static public key, i.e. its node id: the key the initiator dialled, or the
    /// key the responder decrypted from act three.
    pub remote_static: PublicKey,
    /// Encrypts what we send (`sk`, `sn`, `sck`).
    pub encryptor: Encryptor,
    /// Decrypts what we receive (`rk`, `rn`, `rck`).
    pub decryptor: Decryptor,
}

/// The initiator's state after sending act one, waiting for act two.
pub struct InitiatorHandshake {
    /// snow's handshake state.
    noise: HandshakeState,
    /// Where the final chaining key appears once snow splits.
    chaining_key: ChainingKeySlot,
    /// The responder's static key, which the initiator knows up front (the "K" of XK).
    remote_static: PublicKey,
}

impl InitiatorHandshake {
    /// Starts a handshake to the node `remote_static` as `local_static`, with the fresh
    /// `ephemeral` key BOLT 8 requires per connection; returns the state and act one to send.
    pub fn new(
        local_static: &SecretKey,
        remote_static: &PublicKey,
        ephemeral: &SecretKey,
    ) -> Result<(Self, ActOne), HandshakeError> {
        let chaining_key = ChainingKeySlot::default();
        let mut noise = build(local_static, Some(remote_static), ephemeral, &chaining_key)?;
        let act_one = ActOne(write_act(&mut noise)?);
        let state = InitiatorHandshake {
            noise,
            chaining_key,
            remote_static: *remote_static,
        };
        Ok((state, act_one))
    }

    /// Reads act two and, if valid, returns act three to send and the established session.
    pub fn handle_act_two(mut self, act: &ActTwo) -> Result<(ActThree, Session), HandshakeError> {
        read_act(&mut self.noise, Act::Two, &act.0)?;
        let act_three = ActThree(write_act(&mut self.noise)?);
        let session = finish(&self.chaining_key, true, self.remote_static)?;
        Ok((act_three, session))
    }
}

/// The responder's state before act one.
pub struct ResponderHandshake {
    /// snow's handshake state.
    noise: HandshakeState,
    /// Where the final chaining key appears once snow splits.
    chaining_key: ChainingKeySlot,
}

impl ResponderHandshake {
    /// Prepares to answer a handshake as `local_static`, with the fresh `ephemeral` key that
    /// act two will carry.
    pub fn new(local_static: &SecretKey, ephemeral: &SecretKey) -> Result<Self, HandshakeError> {
        let chaining_key = ChainingKeySlot::default();
        let noise = build(local_static, None, ephemeral, &chaining_key)?;
        Ok(ResponderHandshake {
            noise,
            chaining_key,
        })
    }

    /// Reads act one and, if valid, returns the next state and act two to send.
    pub fn handle_act_one(
        mut self,
        act: &ActOne,
    ) -> Result<(ResponderAwaitingActThree, ActTwo), HandshakeError> {
        read_act(&mut self.noise, Act::One, &act.0)?;
        let act_two = ActTwo(write_act(&mut self.noise)?);
        let state = ResponderAwaitingActThree {
            noise: self.noise,
            chaining_key: self.chaining_key,
        };
        Ok((state, act_two))
    }
}

/// The responder's state after sending act two, waiting for act three.
pub struct ResponderAwaitingActThree {
    /// snow's handshake state.
    noise: HandshakeState,
    /// Where the final chaining key appears once snow splits.
    chaining_key: ChainingKeySlot,
}

impl ResponderAwaitingActThree {
    /// Reads act three and, if valid, returns the established session, which names the
    /// initiator's node id.
    pub fn handle_act_three(mut self, act: &ActThree) -> Result<Session, HandshakeError> {
        read_act(&mut self.noise, Act::Three, &act.0)?;
        let remote_static = self
            .noise
            .get_remote_static()
            .and_then(|key| PublicKey::from_slice(key).ok())
            .ok_or(HandshakeError::BadPubkey { act: Act::Three })?;
        finish(&self.chaining_key, false, remote_static)
    }
}

/// A snow handshake state for BOLT 8: our static key, the responder's static key if we are the
/// initiator, the ephemeral key, prologue `lightning`.
fn build(
    local_static: &SecretKey,
    remote_static: Option<&PublicKey>,
    ephemeral: &SecretKey,
    chaining_key: &ChainingKeySlot,
) -> Result<HandshakeState, HandshakeError> {
    let resolver = LightningResolver::new(ephemeral, Arc::clone(chaining_key));
    let local = local_static.secret_bytes();
    let builder = Builder::with_resolver(params()?, Box::new(resolver))
        .local_private_key(&local)
        .and_then(|builder| builder.prologue(PROLOGUE))
        .map_err(HandshakeError::Noise)?;
    match remote_static {
        Some(remote) => {
            let remote = remote.serialize();
            builder
                .remote_public_key(&remote)
                .and_then(Builder::build_initiator)
        }
        None => builder.build_responder(),
    }
    .map_err(HandshakeError::Noise)
}

/// Lets snow write our next act and prefixes the version byte.
fn write_act<const N: usize>(noise: &mut HandshakeState) -> Result<[u8; N], HandshakeError> {
    let mut act = [0; N];
    act[0] = HANDSHAKE_VERSION;
    let written = noise
        .write_message(&[], &mut act[1..])
        .map_err(HandshakeError::Noise)?;
    if written + 1 != N {
        return Err(HandshakeError::Noise(snow::Error::Input));
    }
    Ok(act)
}

/// Checks the version byte, then lets snow read the rest; snow's failures are mapped to the
/// BOLT 8 failure they stand for.
fn read_act<const N: usize>(
    noise: &mut HandshakeState,
    act: Act,
    bytes: &[u8; N],
) -> Result<(), HandshakeError> {
    let [version, body @ ..] = bytes.as_slice() else {
        return Err(HandshakeError::BadLength { act, actual: 0 });
    };
    if *version != HANDSHAKE_VERSION {
        return Err(HandshakeError::BadVersion {
            act,
            version: *version,
        });
    }
    // Every act has an empty payload: only the MAC is there to check.
    noise
        .read_message(body, &mut [])
        .map(|_| ())
        .map_err(|error| match error {
            // Our `Dh` fails only on an invalid peer key (ours are valid by type).
            snow::Error::Dh => HandshakeError::BadPubkey { act },
            // In act three snow decrypts `c` (the static key) before `t`; it records the static
            // key only if `c` checked out.
            snow::Error::Decrypt if act == Act::Three && noise.get_remote_static().is_none() => {
                HandshakeError::BadCiphertext
            }
            snow::Error::Decrypt => HandshakeError::BadTag { act },
            other => HandshakeError::Noise(other),
        })
}

/// Derives the transport keys from the final chaining key: `k1, k2 = HKDF(ck, zero)`; the
/// initiator sends with `k1`, the responder with `k2`; both chaining keys start as `ck`.
fn finish(
    chaining_key: &ChainingKeySlot,
    initiator: bool,
    remote_static: PublicKey,
) -> Result<Session, HandshakeError> {
    let ck = *chaining_key
        .get()
        .ok_or(HandshakeError::MissingChainingKey)?;
    let (first, second) = hkdf(&ck, &[]);
    let (sending_key, receiving_key) = if initiator {
        (first, second)
    } else {
        (second, first)
    };
    Ok(Session {
        remote_static,
        encryptor: Encryptor::new(sending_key, ck),
        decryptor: Decryptor::new(receiving_key, ck),
    })
}

#[cfg(test)]
mod tests;
