//! BOLT 8 interop with LDK (an independent implementation) on loopback, both directions: Petrel
//! dials an LDK `PeerManager`, and LDK dials a Petrel listener. In each, the handshake must
//! complete, LDK's first message must decrypt to a well-formed BOLT 1 `init` (checked byte by
//! byte), LDK must accept Petrel's hand-built `init` (it lists Petrel as a connected peer), and
//! enough pings must be answered with pongs to take both directions through two key rotations.
//! Dropping Petrel's side must make LDK forget the peer.
//!
//! Phase 1: `init`, `ping` and `pong` are built and parsed by hand here, because the BOLT 1
//! codec (`wire`) is not part of the transport.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bytes::{BufMut as _, BytesMut};
use futures_util::{SinkExt as _, StreamExt as _};
use lightning::ln::peer_handler::{
    ErroringMessageHandler, IgnoringMessageHandler, MessageHandler, PeerManager,
};
use lightning::sign::{KeysManager, NodeSigner as _, Recipient};
use lightning::util::logger::{Level, Logger, Record};
use lightning_net_tokio::SocketDescriptor;
use petrel::transport::{
    handshake_initiator, handshake_responder, FrameCodec, DEFAULT_HANDSHAKE_TIMEOUT,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::codec::Framed;

/// BOLT 1 message types used here.
const INIT: u16 = 16;
const PING: u16 = 18;
const PONG: u16 = 19;

/// Enough pings that both directions rotate their key twice (every 500 messages).
const PINGS: usize = 1_001;

/// How long any one step may take before the test fails.
const STEP_DEADLINE: Duration = Duration::from_secs(10);

/// Prints LDK's warnings and errors, so that a refusal explains itself in the test output.
struct StderrLogger;

impl Logger for StderrLogger {
    fn log(&self, record: Record) {
        if record.level >= Level::Warn {
            eprintln!("LDK {}: {}", record.level, record.args);
        }
    }
}

type LdkPeerManager = PeerManager<
    SocketDescriptor,
    Arc<ErroringMessageHandler>,
    Arc<IgnoringMessageHandler>,
    Arc<IgnoringMessageHandler>,
    Arc<StderrLogger>,
    Arc<IgnoringMessageHandler>,
    Arc<KeysManager>,
    Arc<IgnoringMessageHandler>,
>;

/// A transport-only LDK node: no channels, no gossip, just the peer manager.
fn ldk_node() -> (Arc<LdkPeerManager>, PublicKey) {
    let keys = Arc::new(KeysManager::new(&[0x4c; 32], 1, 0, true));
    let node_id = keys.get_node_id(Recipient::Node).expect("LDK node id");
    let ignoring = Arc::new(IgnoringMessageHandler {});
    let handlers = MessageHandler {
        chan_handler: Arc::new(ErroringMessageHandler::new()),
        route_handler: Arc::clone(&ignoring),
        onion_message_handler: Arc::clone(&ignoring),
        custom_message_handler: Arc::clone(&ignoring),
        send_only_message_handler: Arc::clone(&ignoring),
    };
    let manager = PeerManager::new(handlers, 1, &[0x5d; 32], Arc::new(StderrLogger), keys);
    (Arc::new(manager), node_id)
}

fn petrel_node() -> (SecretKey, PublicKey) {
    let secret = SecretKey::from_slice(&[0x77; 32]).expect("valid key");
    (
        secret,
        PublicKey::from_secret_key(&Secp256k1::new(), &secret),
    )
}

/// Polls `condition`, driving LDK's event processing, until it holds or the deadline passes.
async fn wait_until(ldk: &LdkPeerManager, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + STEP_DEADLINE;
    loop {
        ldk.process_events();
        if condition() {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The next message from LDK, while driving LDK's event processing.
async fn receive<S>(framed: &mut Framed<S, FrameCodec>, ldk: &LdkPeerManager) -> BytesMut
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let deadline = Instant::now() + STEP_DEADLINE;
    loop {
        ldk.process_events();
        tokio::select! {
            next = framed.next() => {
                return next.expect("LDK closed the connection").expect("frame decrypts");
            }
            () = tokio::time::sleep(Duration::from_millis(2)) => {
                assert!(Instant::now() < deadline, "timed out waiting for a message from LDK");
            }
        }
    }
}

fn message_type(plaintext: &[u8]) -> u16 {
    assert!(
        plaintext.len() >= 2,
        "message shorter than its type: {plaintext:02x?}"
    );
    u16::from_be_bytes([plaintext[0], plaintext[1]])
}

/// Reads a message front to back, failing the test on truncation.
struct Cursor<'a> {
    /// What is left to read.
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        assert!(
            self.rest.len() >= n,
            "message truncated: wanted {n} more bytes"
        );
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        head
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes(self.take(2).try_into().unwrap())
    }

    /// A BOLT 1 `BigSize`.
    fn bigsize(&mut self) -> u64 {
        match self.take(1)[0] {
            0xfd => u64::from(self.u16()),
            0xfe => u64::from(u32::from_be_bytes(self.take(4).try_into().unwrap())),
            0xff => u64::from_be_bytes(self.take(8).try_into().unwrap()),
            small => u64::from(small),
        }
    }
}

/// Checks, byte by byte, that `plaintext` is a BOLT 1 `init`: type 16, `gflen` + `globalfeatures`,
/// `flen` + `features`, then a TLV stream with strictly increasing types that ends exactly at
/// the end of the message. Returns the `features` bytes.
fn parse_init(plaintext: &[u8]) -> Vec<u8> {
    let mut cursor = Cursor { rest: plaintext };
    assert_eq!(
        cursor.u16(),
        INIT,
        "LDK's first message must be init: {plaintext:02x?}"
    );
    let gflen = usize::from(cursor.u16());
    let _globalfeatures = cursor.take(gflen);
    let flen = usize::from(cursor.u16());
    let features = cursor.take(flen).to_vec();
    let mut last_type = None;
    while !cursor.rest.is_empty() {
        let tlv_type = cursor.bigsize();
        let length = usize::try_from(cursor.bigsize()).unwrap();
        let _value = cursor.take(length);
        assert!(last_type < Some(tlv_type), "init TLV types must increase");
        last_type = Some(tlv_type);
    }
    features
}

/// Whether feature bit `bit` is set in a BOLT 9 feature bitfield (big-endian, bit 0 last).
fn has_feature(features: &[u8], bit: usize) -> bool {
    let byte = features.len().checked_sub(1 + bit / 8);
    byte.is_some_and(|i| features[i] & (1 << (bit % 8)) != 0)
}

/// Petrel's hand-built `init`: no global features, and the BOLT 9 features LDK treats as
/// ASSUMED, as optional (odd) bits: `option_data_loss_protect` (1), `var_onion_optin` (9),
/// `option_static_remotekey` (13), `payment_secret` (15), `option_channel_type` (45). No TLVs.
fn petrel_init() -> BytesMut {
    let mut features = [0u8; 6];
    for bit in [1, 9, 13, 15, 45] {
        features[features.len() - 1 - bit / 8] |= 1 << (bit % 8);
    }
    let mut init = BytesMut::new();
    init.put_u16(INIT);
    init.put_u16(0); // gflen
    init.put_u16(u16::try_from(features.len()).unwrap());
    init.extend_from_slice(&features);
    init
}

/// A BOLT 1 `ping` asking for `num_pong_bytes` bytes back, padded with `padding` zero bytes.
fn ping(num_pong_bytes: u16, padding: u16) -> BytesMut {
    let mut ping = BytesMut::new();
    ping.put_u16(PING);
    ping.put_u16(num_pong_bytes);
    ping.put_u16(padding);
    ping.put_bytes(0, usize::from(padding));
    ping
}

/// After the handshake: LDK's `init` arrives and checks out, Petrel's `init` makes LDK list
/// Petrel as connected, `PINGS` pings get their pongs (crossing key rotations both ways), and
/// dropping the connection makes LDK forget Petrel.
async fn exchange_after_handshake<S>(
    mut framed: Framed<S, FrameCodec>,
    ldk: &LdkPeerManager,
    petrel_id: PublicKey,
    ldk_dialled: bool,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let init = receive(&mut framed, ldk).await;
    let features = parse_init(&init);
    assert!(
        has_feature(&features, 9),
        "LDK signals var_onion_optin: {features:02x?}"
    );

    framed.send(&petrel_init()[..]).await.expect("send init");
    wait_until(ldk, "LDK to accept Petrel's init", || {
        ldk.peer_by_node_id(&petrel_id)
            .is_some_and(|peer| peer.is_inbound_connection != ldk_dialled)
    })
    .await;

    for i in 0..PINGS {
        let wanted = u16::try_from(i % 64).unwrap();
        framed.send(&ping(wanted, 3)[..]).await.expect("send ping");
        let reply = loop {
            let message = receive(&mut framed, ldk).await;
            // LDK may send other messages in between; only the pong matters here.
            if message_type(&message) == PONG {
                break message;
            }
        };
        // pong: type, byteslen, then byteslen zero bytes.
        let mut expected = BytesMut::new();
        expected.put_u16(PONG);
        expected.put_u16(wanted);
        expected.put_bytes(0, usize::from(wanted));
        assert_eq!(reply, expected, "pong {i}");
    }

    drop(framed);
    wait_until(ldk, "LDK to notice the disconnect", || {
        ldk.list_peers().is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn petrel_dials_ldk() {
    let (ldk, ldk_id) = ldk_node();
    let (petrel_secret, petrel_id) = petrel_node();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();

    let (dialled, accepted) = tokio::join!(TcpStream::connect(address), listener.accept());
    let (accepted, _) = accepted.unwrap();
    let accepted = accepted.into_std().unwrap();
    // LDK drives its side on tasks of its own; the returned future only reports the end.
    drop(lightning_net_tokio::setup_inbound(
        Arc::clone(&ldk),
        accepted,
    ));

    let (framed, remote) = handshake_initiator(
        dialled.unwrap(),
        &petrel_secret,
        &ldk_id,
        DEFAULT_HANDSHAKE_TIMEOUT,
    )
    .await
    .expect("handshake with LDK");
    assert_eq!(remote, ldk_id);
    exchange_after_handshake(framed, &ldk, petrel_id, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldk_dials_petrel() {
    let (ldk, ldk_id) = ldk_node();
    let (petrel_secret, petrel_id) = petrel_node();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();

    let dial = lightning_net_tokio::connect_outbound(Arc::clone(&ldk), petrel_id, address);
    let (dialled, accepted) = tokio::join!(dial, listener.accept());
    drop(dialled.expect("LDK connects"));
    let (stream, _) = accepted.unwrap();

    let (framed, remote) = handshake_responder(stream, &petrel_secret, DEFAULT_HANDSHAKE_TIMEOUT)
        .await
        .expect("handshake with LDK");
    assert_eq!(remote, ldk_id, "the initiator proved LDK's node id");
    exchange_after_handshake(framed, &ldk, petrel_id, true).await;
}
