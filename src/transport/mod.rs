//! BOLT 8 transport: the `Noise_XK_secp256k1_ChaChaPoly_SHA256` handshake (run on `snow`) and
//! the encrypted, length-prefixed framing of Lightning messages, as a `tokio_util` codec.
//!
//! Layers, bottom-up:
//! - [`handshake`](InitiatorHandshake): the pure three-act handshake. Keys, the ephemeral one
//!   included, are arguments; acts are fixed-size types; each step consumes the previous state.
//!   Its result is a [`Session`]: the peer's node id and one cipher state per direction.
//! - [`Encryptor`] / [`Decryptor`]: the pure per-direction cipher states (BOLT 8 "Lightning
//!   Message Specification", key rotation every 1000 nonces), encrypting in place.
//! - [`FrameCodec`]: `Decoder<Item = BytesMut>` + `Encoder<impl AsRef<[u8]>>` over those, for
//!   `Framed<TcpStream, FrameCodec>`. [`MessageCodec`] carries any [`FrameMessage`] (the BOLT 1
//!   `wire::Message`) instead of bytes, serializing straight into the output buffer.
//! - [`handshake_initiator`] / [`handshake_responder`]: async helpers that run the acts over
//!   any `AsyncRead + AsyncWrite` under a timeout and return the framed stream.
//!
//! What this module must never do: read a clock or draw randomness outside `connection.rs`;
//! panic or allocate on a length the peer chose before its MAC checked out; let one
//! connection's failure touch another (there is no shared state between connections).
//!
//! The BOLT 8 Appendix A vectors live in `wire-spec/vectors/bolt08-appendix-a.txt`; the
//! handshake cases are tested in `handshake/tests.rs`, the message cases in `cipher.rs`.

mod cipher;
mod codec;
mod connection;
mod error;
mod handshake;
mod noise;
#[cfg(test)]
mod test_vectors;

pub use cipher::{Decryptor, Encryptor, LENGTH_HEADER_LEN, MAC_LEN, MAX_MESSAGE_LEN};
pub use codec::{FrameCodec, FrameMessage, MessageCodec, WireCodec, WireCodecError};
pub use connection::{handshake_initiator, handshake_responder, DEFAULT_HANDSHAKE_TIMEOUT};
pub use error::{Act, CodecError, ConnectionError, FrameError, HandshakeError};
pub use handshake::{
    ActOne, ActThree, ActTwo, InitiatorHandshake, ResponderAwaitingActThree, ResponderHandshake,
    Session,
};
