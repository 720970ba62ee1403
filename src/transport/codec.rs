//! BOLT 8 framing as a `tokio_util::codec` pair: [`FrameCodec`] turns the encrypted byte stream
//! into plaintext messages (`BytesMut`) and back; [`MessageCodec`] layers any message type that
//! implements [`FrameMessage`] (the BOLT 1 `wire::Message`) on top of it.
//!
//! Decoding reads the 18-byte length prefix, decrypts it once and remembers the length until the
//! body has arrived; only after the length's MAC checked out does it reserve room for the body
//! (at most 65,535 + 16 bytes, the most a 2-byte length can say). Bodies are decrypted in place
//! in the read buffer and handed out without a copy. Any failure ends the stream: the decoder
//! refuses further input because the peer's nonce and ours no longer agree.

use core::marker::PhantomData;

use bytes::{Buf as _, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::cipher::{Decryptor, Encryptor, LENGTH_HEADER_LEN, MAC_LEN};
use super::error::{CodecError, FrameError};
use super::handshake::Session;

/// Where the decoder is in the frame it is reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadState {
    /// Waiting for the 18-byte encrypted length prefix.
    Length,
    /// The prefix decrypted to `len`; waiting for `len + 16` body bytes.
    Body {
        /// Plaintext length of the body.
        len: usize,
    },
    /// A frame failed; every further call fails too.
    Failed,
}

/// The encrypted framing of one established connection (BOLT 8 "Lightning Message
/// Specification"): a [`Decoder`] whose items are plaintext messages and an [`Encoder`] for
/// anything that is bytes. Use it as `Framed<TcpStream, FrameCodec>`.
#[derive(Debug)]
pub struct FrameCodec {
    /// Encrypts outgoing frames.
    encryptor: Encryptor,
    /// Decrypts incoming frames.
    decryptor: Decryptor,
    /// Progress through the incoming frame.
    read: ReadState,
}

impl FrameCodec {
    /// The codec for a connection whose handshake produced `session`.
    pub fn new(session: Session) -> Self {
        FrameCodec::from_parts(session.encryptor, session.decryptor)
    }

    /// The codec from its two cipher states.
    pub fn from_parts(encryptor: Encryptor, decryptor: Decryptor) -> Self {
        FrameCodec {
            encryptor,
            decryptor,
            read: ReadState::Length,
        }
    }

    /// Appends one frame whose plaintext `write` appends to the buffer it is given (see
    /// [`Encryptor::encrypt_with`]): the path for message encoders that serialize straight
    /// into the output buffer.
    pub fn encode_with<F, E>(
        &mut self,
        dst: &mut BytesMut,
        write: F,
    ) -> Result<Result<(), E>, FrameError>
    where
        F: FnOnce(&mut BytesMut) -> Result<(), E>,
    {
        self.encryptor.encrypt_with(dst, write)
    }

    fn fail(&mut self, error: FrameError) -> FrameError {
        self.read = ReadState::Failed;
        error
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        if self.read == ReadState::Length {
            let Some(header) = src.get(..LENGTH_HEADER_LEN) else {
                return Ok(None);
            };
            let mut prefix = [0; LENGTH_HEADER_LEN];
            prefix.copy_from_slice(header);
            let len = match self.decryptor.decrypt_length(&prefix) {
                Ok(len) => usize::from(len),
                Err(error) => return Err(self.fail(error)),
            };
            src.advance(LENGTH_HEADER_LEN);
            // The MAC vouches for `len` (at most 65,535): now it is safe to make room.
            src.reserve((len + MAC_LEN).saturating_sub(src.len()));
            self.read = ReadState::Body { len };
        }
        match self.read {
            ReadState::Length => Ok(None),
            ReadState::Failed => Err(FrameError::Failed),
            ReadState::Body { len } => {
                if src.len() < len + MAC_LEN {
                    return Ok(None);
                }
                let mut body = src.split_to(len + MAC_LEN);
                if let Err(error) = self.decryptor.decrypt_body(&mut body) {
                    return Err(self.fail(error));
                }
                body.truncate(len);
                self.read = ReadState::Length;
                Ok(Some(body))
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        match self.decode(src)? {
            Some(message) => Ok(Some(message)),
            None if src.is_empty() && self.read == ReadState::Length => Ok(None),
            None => Err(self.fail(FrameError::Truncated)),
        }
    }
}

impl<B: AsRef<[u8]>> Encoder<B> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, message: B, dst: &mut BytesMut) -> Result<(), FrameError> {
        self.encryptor.encrypt_message(message.as_ref(), dst)
    }
}

/// A message type that travels in BOLT 8 frames: one message per frame, its plaintext being the
/// BOLT 1 encoding (2-byte type, payload, extension TLVs). `wire::Message` implements it.
pub trait FrameMessage: Sized {
    /// Why a plaintext is not a valid message.
    type DecodeError: std::error::Error + 'static;
    /// Why a message cannot be encoded (a field longer than its length prefix allows).
    type EncodeError: std::error::Error + 'static;

    /// Decodes one message from a frame's whole plaintext, which it may keep without a copy.
    fn decode_frame(plaintext: BytesMut) -> Result<Self, Self::DecodeError>;

    /// Appends the message's encoding to `out` (only appends; at most 65,535 bytes in all, or
    /// the frame is refused with [`FrameError::MessageTooLong`]). On error nothing is sent.
    fn encode_frame(&self, out: &mut BytesMut) -> Result<(), Self::EncodeError>;
}

/// [`FrameCodec`] carrying messages of type `M` instead of bytes: decodes each frame's
/// plaintext with [`FrameMessage::decode_frame`] and serializes outgoing messages straight into
/// the output buffer. Build it with [`MessageCodec::new`], or from a
/// `Framed<_, FrameCodec>` with `Framed::map_codec(MessageCodec::new)`, which keeps any bytes
/// already buffered.
#[derive(Debug)]
pub struct MessageCodec<M> {
    /// The encrypted framing underneath.
    frames: FrameCodec,
    /// The message type; `fn() -> M` keeps the codec `Send` and `Sync` whatever `M` is.
    message: PhantomData<fn() -> M>,
}

impl<M> MessageCodec<M> {
    /// Carries messages of type `M` over `frames`.
    pub fn new(frames: FrameCodec) -> Self {
        MessageCodec {
            frames,
            message: PhantomData,
        }
    }

    /// The framing underneath, e.g. to go back to raw bytes.
    pub fn into_frames(self) -> FrameCodec {
        self.frames
    }
}

impl<M: FrameMessage> MessageCodec<M> {
    fn decode_plaintext(
        plaintext: Option<BytesMut>,
    ) -> Result<Option<M>, CodecError<M::DecodeError, M::EncodeError>> {
        plaintext
            .map(M::decode_frame)
            .transpose()
            .map_err(CodecError::Decode)
    }
}

impl<M: FrameMessage> Decoder for MessageCodec<M> {
    type Item = M;
    type Error = CodecError<M::DecodeError, M::EncodeError>;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<M>, Self::Error> {
        Self::decode_plaintext(self.frames.decode(src)?)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<M>, Self::Error> {
        Self::decode_plaintext(self.frames.decode_eof(src)?)
    }
}

impl<M: FrameMessage> Encoder<&M> for MessageCodec<M> {
    type Error = CodecError<M::DecodeError, M::EncodeError>;

    fn encode(&mut self, message: &M, dst: &mut BytesMut) -> Result<(), Self::Error> {
        self.frames
            .encode_with(dst, |out| message.encode_frame(out))?
            .map_err(CodecError::Encode)
    }
}

impl<M: FrameMessage> Encoder<M> for MessageCodec<M> {
    type Error = CodecError<M::DecodeError, M::EncodeError>;

    fn encode(&mut self, message: M, dst: &mut BytesMut) -> Result<(), Self::Error> {
        self.encode(&message, dst)
    }
}

/// BOLT 1 messages are what BOLT 8 frames carry: one [`crate::wire::Message`] per frame.
impl FrameMessage for crate::wire::Message {
    type DecodeError = crate::wire::DecodeError;
    type EncodeError = crate::wire::EncodeError;

    fn decode_frame(plaintext: BytesMut) -> Result<Self, crate::wire::DecodeError> {
        crate::wire::Message::decode(&plaintext)
    }

    fn encode_frame(&self, out: &mut BytesMut) -> Result<(), crate::wire::EncodeError> {
        self.encode(out)
    }
}

/// The codec of a Lightning connection: BOLT 8 frames carrying BOLT 1 messages.
pub type WireCodec = MessageCodec<crate::wire::Message>;

/// What a [`WireCodec`] fails with.
pub type WireCodecError = CodecError<crate::wire::DecodeError, crate::wire::EncodeError>;

#[cfg(test)]
mod tests;
