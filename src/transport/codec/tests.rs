//! Edge cases of the framing codec: partial input, corrupt input, end of stream, size limits,
//! and the message layer on top.

use bytes::{BufMut as _, BytesMut};
use tokio_util::codec::{Decoder as _, Encoder as _};

use super::*;
use crate::transport::cipher::MAX_MESSAGE_LEN;

/// Two codecs that talk to each other: what `a` encodes, `b` decodes, and back.
fn pair() -> (FrameCodec, FrameCodec) {
    let ck = [0x11; 32];
    let (a_to_b, b_to_a) = ([0x22; 32], [0x33; 32]);
    (
        FrameCodec::from_parts(Encryptor::new(a_to_b, ck), Decryptor::new(b_to_a, ck)),
        FrameCodec::from_parts(Encryptor::new(b_to_a, ck), Decryptor::new(a_to_b, ck)),
    )
}

/// Distinct, recognisable plaintexts of the given sizes.
fn messages(sizes: &[usize]) -> Vec<Vec<u8>> {
    sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| {
            (0..size)
                .map(|j| u8::try_from((i * 31 + j) % 251).unwrap())
                .collect()
        })
        .collect()
}

fn encode_all(codec: &mut FrameCodec, messages: &[Vec<u8>]) -> BytesMut {
    let mut wire = BytesMut::new();
    for message in messages {
        codec.encode(message.as_slice(), &mut wire).unwrap();
    }
    wire
}

#[test]
fn messages_arrive_whole_when_fed_one_byte_at_a_time() {
    let (mut a, mut b) = pair();
    let sent = messages(&[0, 1, 5, 1024, MAX_MESSAGE_LEN, 3]);
    let wire = encode_all(&mut a, &sent);

    let mut src = BytesMut::new();
    let mut received = Vec::new();
    let mut frame_ends = Vec::new();
    for (position, byte) in wire.iter().enumerate() {
        src.put_u8(*byte);
        while let Some(message) = b.decode(&mut src).unwrap() {
            received.push(message.to_vec());
            frame_ends.push(position + 1);
        }
    }
    assert_eq!(received, sent);
    // Each message is released by the last byte of its own frame, not earlier or later.
    let mut end = 0;
    let expected: Vec<usize> = sent
        .iter()
        .map(|m| {
            end += LENGTH_HEADER_LEN + m.len() + MAC_LEN;
            end
        })
        .collect();
    assert_eq!(frame_ends, expected);
    assert!(b.decode_eof(&mut src).unwrap().is_none());
}

#[test]
fn a_whole_stream_at_once_yields_every_message_in_order() {
    let (mut a, mut b) = pair();
    let sent = messages(&[10, 0, 700, 65_000]);
    let mut src = encode_all(&mut a, &sent);
    let mut received = Vec::new();
    while let Some(message) = b.decode(&mut src).unwrap() {
        received.push(message.to_vec());
    }
    assert_eq!(received, sent);
    assert!(src.is_empty());
}

#[test]
fn bad_length_mac_ends_the_stream_before_any_allocation() {
    let (mut a, mut b) = pair();
    let wire = encode_all(&mut a, &messages(&[MAX_MESSAGE_LEN]));
    let mut src = BytesMut::with_capacity(64);
    src.extend_from_slice(&wire[..LENGTH_HEADER_LEN]);
    src[0] ^= 0x80;
    let capacity = src.capacity();
    assert!(matches!(b.decode(&mut src), Err(FrameError::BadLengthMac)));
    assert_eq!(
        src.capacity(),
        capacity,
        "nothing reserved on a forged length"
    );
    // The connection is over: even valid-looking input is refused from now on.
    src.extend_from_slice(&wire[LENGTH_HEADER_LEN..]);
    assert!(matches!(b.decode(&mut src), Err(FrameError::Failed)));
}

#[test]
fn an_authenticated_length_reserves_room_for_its_body() {
    let (mut a, mut b) = pair();
    let wire = encode_all(&mut a, &messages(&[MAX_MESSAGE_LEN]));
    let mut src = BytesMut::with_capacity(LENGTH_HEADER_LEN);
    src.extend_from_slice(&wire[..LENGTH_HEADER_LEN]);
    assert!(b.decode(&mut src).unwrap().is_none());
    assert!(src.capacity() >= MAX_MESSAGE_LEN + MAC_LEN);
}

#[test]
fn bad_body_mac_ends_the_stream() {
    let (mut a, mut b) = pair();
    let mut src = encode_all(&mut a, &messages(&[40, 40]));
    src[LENGTH_HEADER_LEN + 3] ^= 1;
    assert!(matches!(b.decode(&mut src), Err(FrameError::BadBodyMac)));
    assert!(matches!(b.decode(&mut src), Err(FrameError::Failed)));
}

#[test]
fn end_of_stream_inside_a_frame_is_truncation() {
    let (mut a, mut b) = pair();
    let wire = encode_all(&mut a, &messages(&[100]));
    // Cut inside the length prefix.
    let mut src = BytesMut::from(&wire[..10]);
    assert!(matches!(
        pair().1.decode_eof(&mut src),
        Err(FrameError::Truncated)
    ));
    // Cut inside the body, after the prefix has been consumed.
    let mut src = BytesMut::from(&wire[..wire.len() - 1]);
    assert!(b.decode(&mut src).unwrap().is_none());
    assert!(matches!(b.decode_eof(&mut src), Err(FrameError::Truncated)));
}

#[test]
fn end_of_stream_between_frames_is_clean() {
    let (mut a, mut b) = pair();
    let mut src = encode_all(&mut a, &messages(&[7]));
    assert_eq!(b.decode_eof(&mut src).unwrap().unwrap().len(), 7);
    assert!(b.decode_eof(&mut src).unwrap().is_none());
}

#[test]
fn oversize_messages_are_refused_by_the_encoder() {
    let (mut a, mut b) = pair();
    let mut wire = BytesMut::new();
    let too_big = vec![0; MAX_MESSAGE_LEN + 1];
    let error = a.encode(too_big.as_slice(), &mut wire).unwrap_err();
    assert!(matches!(error, FrameError::MessageTooLong { len } if len == MAX_MESSAGE_LEN + 1));
    assert!(wire.is_empty());
    // The refused message left no trace: the next one decodes on the other side.
    a.encode(&b"after"[..], &mut wire).unwrap();
    assert_eq!(b.decode(&mut wire).unwrap().unwrap().as_ref(), b"after");
}

/// A stand-in for `wire::Message`: a 2-byte type then a payload.
#[derive(Debug, PartialEq)]
struct Typed {
    kind: u16,
    payload: BytesMut,
}

#[derive(Debug, thiserror::Error)]
#[error("message shorter than its type")]
struct TooShort;

impl FrameMessage for Typed {
    type DecodeError = TooShort;

    fn decode_frame(mut plaintext: BytesMut) -> Result<Self, TooShort> {
        if plaintext.len() < 2 {
            return Err(TooShort);
        }
        let kind = plaintext.split_to(2);
        Ok(Typed {
            kind: u16::from_be_bytes([kind[0], kind[1]]),
            payload: plaintext,
        })
    }

    type EncodeError = core::convert::Infallible;

    fn encode_frame(&self, out: &mut BytesMut) -> Result<(), core::convert::Infallible> {
        out.put_u16(self.kind);
        out.extend_from_slice(&self.payload);
        Ok(())
    }
}

#[test]
fn message_codec_round_trips_messages() {
    let (a, b) = pair();
    let (mut a, mut b) = (MessageCodec::<Typed>::new(a), MessageCodec::<Typed>::new(b));
    let sent = [
        Typed {
            kind: 16,
            payload: BytesMut::from(&[0, 0, 0, 1, 2][..]),
        },
        Typed {
            kind: 18,
            payload: BytesMut::new(),
        },
    ];
    let mut wire = BytesMut::new();
    for message in &sent {
        a.encode(message, &mut wire).unwrap();
    }
    assert_eq!(b.decode(&mut wire).unwrap().unwrap(), sent[0]);
    assert_eq!(b.decode(&mut wire).unwrap().unwrap(), sent[1]);
    assert!(b.decode_eof(&mut wire).unwrap().is_none());
}

#[test]
fn message_codec_reports_undecodable_plaintext() {
    let (mut a, b) = pair();
    let mut b = MessageCodec::<Typed>::new(b);
    let mut wire = BytesMut::new();
    a.encode(&[7u8][..], &mut wire).unwrap();
    assert!(matches!(
        b.decode(&mut wire),
        Err(CodecError::Decode(TooShort))
    ));
}

#[test]
fn message_codec_refuses_oversize_messages() {
    let (a, _) = pair();
    let mut a = MessageCodec::<Typed>::new(a);
    let big = Typed {
        kind: 1,
        payload: BytesMut::zeroed(MAX_MESSAGE_LEN - 1),
    };
    let mut wire = BytesMut::new();
    let error = a.encode(&big, &mut wire).unwrap_err();
    assert!(matches!(
        error,
        CodecError::Frame(FrameError::MessageTooLong { len: 65_536 })
    ));
    assert!(wire.is_empty());
}

proptest::proptest! {
    /// Any messages, cut into any chunks, come out whole and in order.
    #[test]
    fn any_chunking_round_trips(
        sizes in proptest::collection::vec(0usize..3000, 1..12),
        chunk in 1usize..5000,
    ) {
        let (mut a, mut b) = pair();
        let sent = messages(&sizes);
        let wire = encode_all(&mut a, &sent);
        let mut src = BytesMut::new();
        let mut received = Vec::new();
        for piece in wire.chunks(chunk) {
            src.extend_from_slice(piece);
            while let Some(message) = b.decode(&mut src).unwrap() {
                received.push(message.to_vec());
            }
        }
        proptest::prop_assert_eq!(received, sent);
    }

    /// Arbitrary bytes never panic the decoder and never yield a message (they cannot forge a
    /// MAC); they fail or wait for more input.
    #[test]
    fn garbage_never_decodes(garbage in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
        let (_, mut b) = pair();
        let mut src = BytesMut::from(garbage.as_slice());
        match b.decode(&mut src) {
            Ok(None) => proptest::prop_assert!(garbage.len() < LENGTH_HEADER_LEN),
            Ok(Some(_)) => proptest::prop_assert!(false, "garbage decoded"),
            Err(error) => proptest::prop_assert!(matches!(error, FrameError::BadLengthMac)),
        }
    }
}
