//! Errors of the BOLT 8 transport, one enum per operation (redb's shape): the pure handshake
//! ([`HandshakeError`]), the encrypted framing ([`FrameError`]), a framed message codec layered on
//! it ([`CodecError`]) and the async handshake helpers ([`ConnectionError`]).
//!
//! Every one of them ends the connection it happened on and nothing else: the caller drops that
//! stream. None of them is a reason to panic.

use core::fmt;
use std::io;

/// One of the three handshake messages of BOLT 8 ("Act One", "Act Two", "Act Three"), named in
/// errors so that a log says which step failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// Act One, initiator to responder: `e, es` (50 bytes).
    One,
    /// Act Two, responder to initiator: `e, ee` (50 bytes).
    Two,
    /// Act Three, initiator to responder: `s, se` (66 bytes).
    Three,
}

impl Act {
    /// The exact size of this act on the wire (BOLT 8 "Authenticated Key Exchange Handshake
    /// Specification": 50, 50 and 66 bytes).
    pub const fn size(self) -> usize {
        match self {
            Act::One | Act::Two => 50,
            Act::Three => 66,
        }
    }
}

impl fmt::Display for Act {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Act::One => "act one",
            Act::Two => "act two",
            Act::Three => "act three",
        })
    }
}

/// Why a BOLT 8 handshake failed. Each failure case of BOLT 8 Appendix A maps to exactly one
/// variant, so tests (and logs) can tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The act did not have its fixed size: a short read (the peer closed the stream after
    /// `actual` bytes) or a slice of the wrong length. BOLT 8: "Read _exactly_ 50 bytes".
    #[error("{act}: expected {expected} bytes, got {actual}", expected = act.size())]
    BadLength {
        /// The act being read.
        act: Act,
        /// How many bytes were available.
        actual: usize,
    },
    /// The first byte was not handshake version 0. BOLT 8: "If `v` is an unrecognized
    /// handshake version, then the responder MUST abort the connection attempt."
    #[error("{act}: unknown handshake version {version}")]
    BadVersion {
        /// The act being read.
        act: Act,
        /// The version byte received.
        version: u8,
    },
    /// A public key in the act (the ephemeral key in acts one and two, the decrypted static key
    /// in act three) is not a valid compressed secp256k1 point.
    #[error("{act}: invalid public key")]
    BadPubkey {
        /// The act being read.
        act: Act,
    },
    /// Act three's encrypted static key (`c`) failed its MAC check: the initiator does not
    /// share our handshake state. BOLT 8 act three, receiver step 4.
    #[error("act three: bad MAC on the encrypted static key")]
    BadCiphertext,
    /// The act's final tag (`c` in acts one and two, `t` in act three) failed its MAC check. In
    /// act one this means the initiator does not know our static key.
    #[error("{act}: bad MAC")]
    BadTag {
        /// The act being read.
        act: Act,
    },
    /// snow finished the handshake without the `Split` from which the final chaining key is
    /// recorded (see `noise.rs`): a change in snow's internals, never peer input.
    #[error("noise state machine finished without a chaining key")]
    MissingChainingKey,
    /// `snow` rejected an operation that Petrel's own checks should have ruled out. This points
    /// at a bug or at a `snow` upgrade that changed its internals (snow is pinned for that
    /// reason); the BOLT 8 vectors are the guard.
    #[error("noise state machine: {0:?}")]
    Noise(snow::Error),
}

/// Why the encrypted framing of BOLT 8 ("Lightning Message Specification") could not carry a
/// message. After any of these the cipher states of the connection are unusable (the nonces are
/// out of step with the peer), so the connection must be dropped.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// Reading or writing the underlying stream failed.
    #[error("transport i/o: {0}")]
    Io(#[from] io::Error),
    /// The 18-byte encrypted length prefix failed its MAC check: the stream is corrupt or
    /// forged. Nothing was allocated for the body.
    #[error("bad MAC on the encrypted length prefix")]
    BadLengthMac,
    /// The encrypted message body failed its MAC check.
    #[error("bad MAC on the encrypted message")]
    BadBodyMac,
    /// A message to send is longer than BOLT 8's maximum of 65,535 bytes; nothing was sent and
    /// the sending cipher state is unchanged.
    #[error("message of {len} bytes exceeds the 65535-byte maximum")]
    MessageTooLong {
        /// The length of the message that was refused.
        len: usize,
    },
    /// The stream ended in the middle of a frame.
    #[error("stream ended in the middle of a frame")]
    Truncated,
    /// An earlier frame failed on this connection; the decoder refuses to go on because its
    /// nonce no longer matches the peer's.
    #[error("connection already failed")]
    Failed,
    /// The AEAD refused to encrypt. ring only does so past its ChaCha20 block-counter limit (256 GiB), which the
    /// 65,535-byte limit rules out; kept so that encryption cannot panic.
    #[error("the AEAD refused to encrypt")]
    Encrypt,
}

/// Why a [`MessageCodec`](super::MessageCodec) could not carry a message: either the framing
/// failed, or a frame's plaintext did not decode (`D`), or a message did not encode (`E`).
#[derive(Debug, thiserror::Error)]
pub enum CodecError<D: std::error::Error + 'static, E: std::error::Error + 'static = D> {
    /// The encrypted framing failed (MAC, length, stream).
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A frame decrypted correctly but its plaintext is not a valid message.
    #[error("message decode: {0}")]
    Decode(#[source] D),
    /// A message to send could not be encoded; nothing was sent.
    #[error("message encode: {0}")]
    Encode(#[source] E),
}

impl<D: std::error::Error + 'static, E: std::error::Error + 'static> From<io::Error>
    for CodecError<D, E>
{
    fn from(error: io::Error) -> Self {
        CodecError::Frame(FrameError::Io(error))
    }
}

/// Why an async handshake ([`handshake_initiator`](super::handshake_initiator) or
/// [`handshake_responder`](super::handshake_responder)) did not produce a connection.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// Reading or writing the stream failed.
    #[error("handshake i/o: {0}")]
    Io(#[from] io::Error),
    /// The handshake did not complete within its timeout.
    #[error("handshake timed out")]
    Timeout,
    /// The peer's act was invalid (see [`HandshakeError`]).
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
}
