//! BOLT 8 transport throughput and handshake rate: Petrel against LDK's `PeerManager` and
//! against the raw AEAD, the physical limit.
//!
//! What each measurement covers, per message of `size` bytes (type + payload):
//! - `petrel`: encrypt = `FrameCodec::encode` of a `&[u8]` into a reused output buffer (one copy
//!   into the buffer, length and body encrypted in place); decrypt = copy the frame into the read
//!   buffer as a socket read would, then `FrameCodec::decode`, which hands out the plaintext
//!   without copying it.
//! - `ldk`: the same message as a custom BOLT 1 message (type 32801, payload `size - 2` bytes)
//!   between two LDK 0.2.7 `PeerManager`s connected through an in-memory `SocketDescriptor`.
//!   Encrypt = `process_events()` serializing, encrypting and "sending" queued messages (the
//!   descriptor only counts bytes); decrypt = `read_event()` on one frame, which decrypts and
//!   decodes it (the custom reader copies the payload into a `Vec`) and hands it to the handler.
//! - `raw_aead`: one `chacha20poly1305` (RustCrypto) in-place call on `size` bytes (no length
//!   prefix, no framing, no copy): the baseline the issue names.
//! - `raw_ring`: the same with ring's ChaCha20-Poly1305, the AEAD Petrel's frames use.
//! - `ring_frame`: the two in-place ring calls a BOLT 8 frame needs at the least (the 2-byte
//!   length, then the body), and nothing else: the floor for Petrel's AEAD. The gap between
//!   `petrel` and this is all of Petrel's own overhead.
//!
//! Work that sets up a measurement (building messages, producing frames to decrypt) runs outside
//! the timed region, in chunks of `CHUNK` messages, through `iter_custom`.
#![allow(clippy::disallowed_methods)] // a benchmark reads the clock by definition

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bytes::BytesMut;
use chacha20poly1305::aead::AeadInPlace as _;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit as _, Tag};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lightning::ln::msgs::{DecodeError, Init, LightningError};
use lightning::ln::peer_handler::{
    CustomMessageHandler, ErroringMessageHandler, IgnoringMessageHandler, MessageHandler,
    PeerManager, SocketDescriptor,
};
use lightning::ln::wire::{CustomMessageReader, Type};
use lightning::sign::{KeysManager, NodeSigner as _, Recipient};
use lightning::types::features::{InitFeatures, NodeFeatures};
use lightning::util::logger::{Logger, Record};
use lightning::util::ser::{LengthLimitedRead, Writeable, Writer};
use petrel::transport::{Decryptor, Encryptor, FrameCodec, InitiatorHandshake, ResponderHandshake};
use ring::aead::{
    Aad, LessSafeKey, Nonce as RingNonce, Tag as RingTag, UnboundKey, CHACHA20_POLY1305,
};
use tokio_util::codec::{Decoder as _, Encoder as _};

/// Messages set up per timed run.
const CHUNK: u64 = 64;
/// Message sizes measured: 1 KiB and the BOLT 8 maximum.
const SIZES: [usize; 2] = [1024, 65_535];
/// The custom message type LDK carries for us (odd: "it's OK to be odd").
const BLOB_TYPE: u16 = 32_801;

// ---------------------------------------------------------------------------------------------
// Petrel

fn petrel_pair() -> (FrameCodec, FrameCodec) {
    let ck = [0x11; 32];
    let (a_to_b, b_to_a) = ([0x22; 32], [0x33; 32]);
    (
        FrameCodec::from_parts(Encryptor::new(a_to_b, ck), Decryptor::new(b_to_a, ck)),
        FrameCodec::from_parts(Encryptor::new(b_to_a, ck), Decryptor::new(a_to_b, ck)),
    )
}

fn petrel_encrypt(iters: u64, size: usize) -> Duration {
    let (mut sender, _) = petrel_pair();
    let message = vec![0x5a; size];
    let mut out = BytesMut::with_capacity(size + 34);
    let start = Instant::now();
    for _ in 0..iters {
        out.clear();
        sender
            .encode(black_box(message.as_slice()), &mut out)
            .expect("encrypt");
        black_box(&out);
    }
    start.elapsed()
}

fn petrel_decrypt(iters: u64, size: usize) -> Duration {
    let (mut sender, mut receiver) = petrel_pair();
    let message = vec![0x5a; size];
    let mut read_buffer = BytesMut::new();
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK);
        let frames: Vec<BytesMut> = (0..n)
            .map(|_| {
                let mut frame = BytesMut::new();
                sender
                    .encode(message.as_slice(), &mut frame)
                    .expect("encrypt");
                frame
            })
            .collect();
        let start = Instant::now();
        for frame in &frames {
            read_buffer.extend_from_slice(frame);
            let plaintext = receiver
                .decode(&mut read_buffer)
                .expect("decrypt")
                .expect("frame");
            black_box(plaintext);
        }
        total += start.elapsed();
        left -= n;
    }
    total
}

fn petrel_handshake() {
    let secp = Secp256k1::new();
    let initiator_static = SecretKey::from_slice(&[0x41; 32]).unwrap();
    let responder_static = SecretKey::from_slice(&[0x42; 32]).unwrap();
    let responder_id = PublicKey::from_secret_key(&secp, &responder_static);
    let (e1, e2) = (
        SecretKey::from_slice(&[0x43; 32]).unwrap(),
        SecretKey::from_slice(&[0x44; 32]).unwrap(),
    );
    let (initiator, act_one) =
        InitiatorHandshake::new(&initiator_static, &responder_id, &e1).unwrap();
    let responder = ResponderHandshake::new(&responder_static, &e2).unwrap();
    let (responder, act_two) = responder.handle_act_one(&act_one).unwrap();
    let (act_three, initiator) = initiator.handle_act_two(&act_two).unwrap();
    let responder = responder.handle_act_three(&act_three).unwrap();
    black_box((initiator, responder));
}

// ---------------------------------------------------------------------------------------------
// Raw AEAD

fn raw_encrypt(iters: u64, size: usize) -> Duration {
    let aead = ChaCha20Poly1305::new(&[0x22; 32].into());
    let mut buffer = vec![0x5a; size];
    let start = Instant::now();
    for i in 0..iters {
        let mut nonce = [0; 12];
        nonce[4..].copy_from_slice(&i.to_le_bytes());
        let tag = aead
            .encrypt_in_place_detached(&nonce.into(), &[], &mut buffer)
            .unwrap();
        let _ = black_box(tag);
    }
    start.elapsed()
}

fn raw_decrypt(iters: u64, size: usize) -> Duration {
    let aead = ChaCha20Poly1305::new(&[0x22; 32].into());
    let nonce = [0; 12].into();
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK);
        let mut sealed: Vec<(Vec<u8>, Tag)> = (0..n)
            .map(|_| {
                let mut buffer = vec![0x5a; size];
                let tag = aead
                    .encrypt_in_place_detached(&nonce, &[], &mut buffer)
                    .unwrap();
                (buffer, tag)
            })
            .collect();
        let start = Instant::now();
        for (buffer, tag) in &mut sealed {
            aead.decrypt_in_place_detached(&nonce, &[], buffer, tag)
                .unwrap();
        }
        total += start.elapsed();
        black_box(sealed);
        left -= n;
    }
    total
}

/// One call of ring's ChaCha20-Poly1305 (the AEAD Petrel's frames use) on `size` bytes.
fn ring_encrypt(iters: u64, size: usize) -> Duration {
    let key = ring_key();
    let mut buffer = vec![0x5a; size];
    let start = Instant::now();
    for i in 0..iters {
        let tag = key
            .seal_in_place_separate_tag(ring_nonce(i), Aad::empty(), &mut buffer)
            .unwrap();
        let _ = black_box(tag);
    }
    start.elapsed()
}

/// The decrypting half of [`ring_encrypt`].
fn ring_decrypt(iters: u64, size: usize) -> Duration {
    let key = ring_key();
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK);
        let mut sealed: Vec<(Vec<u8>, RingTag)> = (0..n)
            .map(|_| {
                let mut buffer = vec![0x5a; size];
                let tag = key
                    .seal_in_place_separate_tag(ring_nonce(0), Aad::empty(), &mut buffer)
                    .unwrap();
                (buffer, tag)
            })
            .collect();
        let start = Instant::now();
        for (buffer, tag) in &mut sealed {
            key.open_in_place_separate_tag(ring_nonce(0), Aad::empty(), *tag, buffer, 0..)
                .unwrap();
        }
        total += start.elapsed();
        black_box(sealed);
        left -= n;
    }
    total
}

fn ring_key() -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[0x22; 32]).unwrap())
}

fn ring_nonce(n: u64) -> RingNonce {
    let mut nonce = [0; 12];
    nonce[4..].copy_from_slice(&n.to_le_bytes());
    RingNonce::assume_unique_for_key(nonce)
}

/// What a BOLT 8 frame costs in AEAD calls alone, with the AEAD Petrel uses (ring): the
/// 2-byte length and the body, two calls.
fn raw_frame_encrypt(iters: u64, size: usize) -> Duration {
    let key = ring_key();
    let mut length = [0u8; 2];
    let mut body = vec![0x5a; size];
    let start = Instant::now();
    for i in 0..iters {
        let length_tag = key
            .seal_in_place_separate_tag(ring_nonce(2 * i), Aad::empty(), &mut length)
            .unwrap();
        let body_tag = key
            .seal_in_place_separate_tag(ring_nonce(2 * i + 1), Aad::empty(), &mut body)
            .unwrap();
        let _ = black_box((length_tag, body_tag));
    }
    start.elapsed()
}

/// The decrypting half of [`raw_frame_encrypt`].
fn raw_frame_decrypt(iters: u64, size: usize) -> Duration {
    let key = ring_key();
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK);
        let mut sealed: Vec<([u8; 2], RingTag, Vec<u8>, RingTag)> = (0..n)
            .map(|_| {
                let mut length = [0u8; 2];
                let length_tag = key
                    .seal_in_place_separate_tag(ring_nonce(0), Aad::empty(), &mut length)
                    .unwrap();
                let mut body = vec![0x5a; size];
                let body_tag = key
                    .seal_in_place_separate_tag(ring_nonce(1), Aad::empty(), &mut body)
                    .unwrap();
                (length, length_tag, body, body_tag)
            })
            .collect();
        let start = Instant::now();
        for (length, length_tag, body, body_tag) in &mut sealed {
            key.open_in_place_separate_tag(ring_nonce(0), Aad::empty(), *length_tag, length, 0..)
                .unwrap();
            key.open_in_place_separate_tag(ring_nonce(1), Aad::empty(), *body_tag, body, 0..)
                .unwrap();
        }
        total += start.elapsed();
        black_box(sealed);
        left -= n;
    }
    total
}

// ---------------------------------------------------------------------------------------------
// LDK

/// A BOLT 1 custom message carrying `payload`.
#[derive(Debug)]
struct Blob(Vec<u8>);

impl Writeable for Blob {
    fn write<W: Writer>(&self, writer: &mut W) -> Result<(), lightning::io::Error> {
        writer.write_all(&self.0)
    }
}

impl Type for Blob {
    fn type_id(&self) -> u16 {
        BLOB_TYPE
    }
}

/// Sends what is queued in `outbox`, counts what arrives.
#[derive(Default)]
struct BlobHandler {
    outbox: Mutex<Vec<(PublicKey, Blob)>>,
    received: AtomicUsize,
}

impl CustomMessageReader for BlobHandler {
    type CustomMessage = Blob;

    fn read<R: LengthLimitedRead>(
        &self,
        message_type: u16,
        buffer: &mut R,
    ) -> Result<Option<Blob>, DecodeError> {
        if message_type != BLOB_TYPE {
            return Ok(None);
        }
        let len =
            usize::try_from(buffer.remaining_bytes()).map_err(|_| DecodeError::InvalidValue)?;
        let mut payload = vec![0; len];
        buffer
            .read_exact(&mut payload)
            .map_err(|_| DecodeError::ShortRead)?;
        Ok(Some(Blob(payload)))
    }
}

impl CustomMessageHandler for BlobHandler {
    fn handle_custom_message(&self, msg: Blob, _: PublicKey) -> Result<(), LightningError> {
        black_box(msg);
        self.received.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
    fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, Blob)> {
        std::mem::take(&mut *self.outbox.lock().unwrap())
    }
    fn peer_disconnected(&self, _: PublicKey) {}
    fn peer_connected(&self, _: PublicKey, _: &Init, _: bool) -> Result<(), ()> {
        Ok(())
    }
    fn provided_node_features(&self) -> NodeFeatures {
        NodeFeatures::empty()
    }
    fn provided_init_features(&self, _: PublicKey) -> InitFeatures {
        InitFeatures::empty()
    }
}

struct Silent;
impl Logger for Silent {
    fn log(&self, _: Record) {}
}

static NEXT_PIPE: AtomicU64 = AtomicU64::new(0);

/// An in-memory socket: counts what LDK sends and, when `capture` is on, keeps it.
#[derive(Clone)]
struct Pipe {
    id: u64,
    state: Arc<Mutex<PipeState>>,
}

#[derive(Default)]
struct PipeState {
    capture: bool,
    sent: usize,
    bytes: VecDeque<u8>,
}

impl Pipe {
    fn new() -> Self {
        let state = PipeState {
            capture: true,
            ..PipeState::default()
        };
        Pipe {
            id: NEXT_PIPE.fetch_add(1, Ordering::Relaxed),
            state: Arc::new(Mutex::new(state)),
        }
    }
    fn take(&self) -> Vec<u8> {
        self.state.lock().unwrap().bytes.drain(..).collect()
    }
}

impl PartialEq for Pipe {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for Pipe {}
impl Hash for Pipe {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl SocketDescriptor for Pipe {
    fn send_data(&mut self, data: &[u8], _continue_read: bool) -> usize {
        let mut state = self.state.lock().unwrap();
        state.sent += data.len();
        if state.capture {
            state.bytes.extend(data);
        }
        data.len()
    }
    fn disconnect_socket(&mut self) {}
}

type LdkNode = PeerManager<
    Pipe,
    Arc<ErroringMessageHandler>,
    Arc<IgnoringMessageHandler>,
    Arc<IgnoringMessageHandler>,
    Arc<Silent>,
    Arc<BlobHandler>,
    Arc<KeysManager>,
    Arc<IgnoringMessageHandler>,
>;

struct LdkSide {
    node: LdkNode,
    handler: Arc<BlobHandler>,
    pipe: Pipe,
    id: PublicKey,
}

fn ldk_side(seed: u8) -> LdkSide {
    let keys = Arc::new(KeysManager::new(&[seed; 32], 1, 0, true));
    let id = keys.get_node_id(Recipient::Node).unwrap();
    let handler = Arc::new(BlobHandler::default());
    let ignoring = Arc::new(IgnoringMessageHandler {});
    let handlers = MessageHandler {
        chan_handler: Arc::new(ErroringMessageHandler::new()),
        route_handler: Arc::clone(&ignoring),
        onion_message_handler: Arc::clone(&ignoring),
        custom_message_handler: Arc::clone(&handler),
        send_only_message_handler: Arc::clone(&ignoring),
    };
    let node = PeerManager::new(handlers, 1, &[seed; 32], Arc::new(Silent), keys);
    LdkSide {
        node,
        handler,
        pipe: Pipe::new(),
        id,
    }
}

/// Two LDK nodes, handshake and `init` done, pipes emptied.
fn ldk_pair() -> (LdkSide, LdkSide) {
    let (mut a, mut b) = (ldk_side(1), ldk_side(2));
    let act_one = a
        .node
        .new_outbound_connection(b.id, a.pipe.clone(), None)
        .unwrap();
    b.node.new_inbound_connection(b.pipe.clone(), None).unwrap();
    b.node.read_event(&mut b.pipe, &act_one).unwrap();
    for _ in 0..100 {
        a.node.process_events();
        b.node.process_events();
        let to_a = b.pipe.take();
        if !to_a.is_empty() {
            a.node.read_event(&mut a.pipe, &to_a).unwrap();
        }
        let to_b = a.pipe.take();
        if !to_b.is_empty() {
            b.node.read_event(&mut b.pipe, &to_b).unwrap();
        }
        if a.node.peer_by_node_id(&b.id).is_some() && b.node.peer_by_node_id(&a.id).is_some() {
            a.node.process_events();
            b.node.process_events();
            a.pipe.take();
            b.pipe.take();
            return (a, b);
        }
    }
    panic!("LDK nodes did not connect");
}

fn queue_blobs(from: &LdkSide, to: PublicKey, n: u64, size: usize) {
    let mut outbox = from.handler.outbox.lock().unwrap();
    for _ in 0..n {
        outbox.push((to, Blob(vec![0x5a; size - 2])));
    }
}

fn ldk_encrypt(iters: u64, size: usize) -> Duration {
    let (a, b) = ldk_pair();
    a.pipe.state.lock().unwrap().capture = false;
    let frame = size + 34;
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK);
        queue_blobs(&a, b.id, n, size);
        let before = a.pipe.state.lock().unwrap().sent;
        let start = Instant::now();
        a.node.process_events();
        total += start.elapsed();
        // Every message, plus at most one `ping` LDK adds after 32 messages without a `pong`
        // (34 + 70 bytes; it waits for a pong before the next one, and none comes here).
        let sent = a.pipe.state.lock().unwrap().sent - before;
        let extra = sent - frame * usize::try_from(n).unwrap();
        assert!(
            extra == 0 || extra == 104,
            "LDK sent every message (and {extra} more bytes)"
        );
        left -= n;
    }
    total
}

fn ldk_decrypt(iters: u64, size: usize) -> Duration {
    let (a, mut b) = ldk_pair();
    let frame = size + 34;
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK);
        queue_blobs(&a, b.id, n, size);
        a.node.process_events();
        // Fed as socket reads of one frame's size; LDK's one extra `ping` (see `ldk_encrypt`)
        // shifts the boundaries, which LDK's reader handles like any partial read.
        let bytes = a.pipe.take();
        let frames: Vec<&[u8]> = bytes.chunks(frame).collect();
        let before = b.handler.received.load(Ordering::Relaxed);
        let start = Instant::now();
        for frame in &frames {
            b.node.read_event(&mut b.pipe, frame).unwrap();
        }
        total += start.elapsed();
        let received = b.handler.received.load(Ordering::Relaxed) - before;
        assert_eq!(
            received,
            usize::try_from(n).unwrap(),
            "LDK decoded every message"
        );
        left -= n;
    }
    total
}

// ---------------------------------------------------------------------------------------------

fn throughput(c: &mut Criterion) {
    type Run = fn(u64, usize) -> Duration;
    let runs: [(&str, [(&str, Run); 5]); 2] = [
        (
            "encrypt",
            [
                ("petrel", petrel_encrypt),
                ("ldk", ldk_encrypt),
                ("raw_aead", raw_encrypt),
                ("raw_ring", ring_encrypt),
                ("ring_frame", raw_frame_encrypt),
            ],
        ),
        (
            "decrypt",
            [
                ("petrel", petrel_decrypt),
                ("ldk", ldk_decrypt),
                ("raw_aead", raw_decrypt),
                ("raw_ring", ring_decrypt),
                ("ring_frame", raw_frame_decrypt),
            ],
        ),
    ];
    for (direction, contenders) in runs {
        let mut group = c.benchmark_group(direction);
        for size in SIZES {
            group.throughput(Throughput::Bytes(u64::try_from(size).unwrap()));
            for (name, run) in contenders {
                group.bench_with_input(BenchmarkId::new(name, size), &size, |bench, &size| {
                    bench.iter_custom(|iters| run(iters, size));
                });
            }
        }
        group.finish();
    }
}

fn handshake(c: &mut Criterion) {
    let mut group = c.benchmark_group("handshake");
    group.throughput(Throughput::Elements(1));
    group.bench_function("petrel_both_sides", |bench| bench.iter(petrel_handshake));
    group.finish();
}

criterion_group!(benches, throughput, handshake);
criterion_main!(benches);
