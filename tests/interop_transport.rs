//! Connection-layer interop with LDK (an independent implementation) on loopback, both
//! directions (Petrel dials an LDK `PeerManager`; LDK dials a Petrel listener).
//!
//! Phase 1 (transport alone): the BOLT 8 handshake completes, LDK's first message decrypts to
//! a well-formed BOLT 1 `init` (checked byte by byte), LDK accepts a hand-built `init`, and
//! enough pings are answered to take both directions through two key rotations. Dropping
//! Petrel's side makes LDK forget the peer.
//!
//! Phase 2 (Petrel's connection layer): `peer::connect` / `peer::accept` run the handshake and
//! the `init` exchange with Petrel's real `our_init` (which LDK must accept) and
//! `check_peer_init` (which LDK's `init` must pass); Petrel's pings get LDK's pongs (and a ping
//! asking for 65,532 bytes gets none, as BOLT 1 says); LDK's own pings (its
//! `timer_tick_occurred`) get Petrel's pongs, first from `PingGuard` on the bare stream, then
//! from Petrel's real peer actor (`peer::run`); and a clean disconnect from either side is seen
//! by the other: LDK forgets the peer, Petrel's actor reports `Disconnected`.

#[path = "common/ldk/mod.rs"]
mod ldk;

use std::net::SocketAddr;
use std::time::Duration;

use bitcoin::constants::ChainHash;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bytes::{BufMut as _, BytesMut};
use futures_util::{SinkExt as _, StreamExt as _};
use ldk::bare::BareLdk;
use ldk::petrel_peer::PetrelPeer;
use petrel::peer::{self, Connection, PeerEvent, PingAction, PingGuard, DEFAULT_CONNECT_TIMEOUT};
use petrel::transport::{
    handshake_initiator, handshake_responder, FrameCodec, DEFAULT_HANDSHAKE_TIMEOUT,
};
use petrel::wire::features::bits;
use petrel::wire::{Extension, Message, Ping};
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

fn petrel_node() -> (SecretKey, PublicKey) {
    let secret = SecretKey::from_slice(&[0x77; 32]).expect("valid key");
    (
        secret,
        PublicKey::from_secret_key(&Secp256k1::new(), &secret),
    )
}

/// The next message from LDK, while driving LDK's event processing.
async fn receive<S>(framed: &mut Framed<S, FrameCodec>, ldk: &BareLdk) -> BytesMut
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let deadline = Instant::now() + STEP_DEADLINE;
    loop {
        ldk.peers.process_events();
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
    ldk: &BareLdk,
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
    ldk.wait_until("LDK to accept Petrel's init", STEP_DEADLINE, || {
        ldk.peers
            .peer_by_node_id(&petrel_id)
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
    ldk.wait_until("LDK to notice the disconnect", STEP_DEADLINE, || {
        ldk.peers.list_peers().is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn petrel_dials_ldk() {
    let ldk = BareLdk::new([0x4c; 32]);
    let (petrel_secret, petrel_id) = petrel_node();
    let address = ldk.listen_once().await;
    let (framed, remote) = handshake_initiator(
        TcpStream::connect(address).await.unwrap(),
        &petrel_secret,
        &ldk.node_id,
        DEFAULT_HANDSHAKE_TIMEOUT,
    )
    .await
    .expect("handshake with LDK");
    assert_eq!(remote, ldk.node_id);
    exchange_after_handshake(framed, &ldk, petrel_id, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldk_dials_petrel() {
    let ldk = BareLdk::new([0x4c; 32]);
    let (petrel_secret, petrel_id) = petrel_node();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();

    let ((), accepted) = tokio::join!(ldk.dial(petrel_id, address), listener.accept());
    let (stream, _) = accepted.unwrap();

    let (framed, remote) = handshake_responder(stream, &petrel_secret, DEFAULT_HANDSHAKE_TIMEOUT)
        .await
        .expect("handshake with LDK");
    assert_eq!(remote, ldk.node_id, "the initiator proved LDK's node id");
    exchange_after_handshake(framed, &ldk, petrel_id, true).await;
}

// --- Phase 2: Petrel's connection layer ------------------------------------------------------

/// Who opens the TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dialler {
    Petrel,
    Ldk,
}

/// Who closes it at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Closer {
    Petrel,
    Ldk,
}

/// Connects Petrel and LDK with Petrel's `peer::connect` or `peer::accept`: the handshake and
/// the `init` exchange, both checked.
async fn connect(ldk: &BareLdk, petrel: &PetrelPeer, dialler: Dialler) -> Connection {
    let connection = match dialler {
        Dialler::Petrel => {
            let address = ldk.listen_once().await;
            peer::connect(
                address,
                &ldk.node_id,
                &petrel.secret,
                ChainHash::REGTEST,
                DEFAULT_CONNECT_TIMEOUT,
            )
            .await
            .expect("peer::connect to LDK")
        }
        Dialler::Ldk => {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            let ((), accepted) = tokio::join!(
                ldk.dial(petrel.node_id, address),
                peer::accept(
                    &listener,
                    &petrel.secret,
                    ChainHash::REGTEST,
                    DEFAULT_CONNECT_TIMEOUT
                )
            );
            accepted.expect("peer::accept from LDK")
        }
    };
    assert_eq!(
        connection.node_id, ldk.node_id,
        "the handshake proved LDK's id"
    );
    assert_eq!(connection.outbound, dialler == Dialler::Petrel);
    // LDK's `init` passed `check_peer_init`; it offers what Petrel relies on.
    for bit in [
        bits::DATA_LOSS_PROTECT,
        bits::VAR_ONION_OPTIN,
        bits::STATIC_REMOTEKEY,
        bits::PAYMENT_SECRET,
        bits::CHANNEL_TYPE,
    ] {
        assert!(
            connection.init.features.supports(bit),
            "LDK's init lacks feature {bit}: {:?}",
            connection.init.features
        );
    }

    // LDK accepted Petrel's `our_init` and read the features Petrel offers.
    ldk.wait_until("LDK to accept Petrel's init", STEP_DEADLINE, || {
        ldk.peers
            .peer_by_node_id(&petrel.node_id)
            .is_some_and(|p| p.is_inbound_connection == (dialler == Dialler::Petrel))
    })
    .await;
    let seen = ldk.peers.peer_by_node_id(&petrel.node_id).unwrap();
    let features = seen.init_features;
    assert!(features.supports_data_loss_protect());
    assert!(features.supports_variable_length_onion());
    assert!(features.supports_static_remote_key());
    assert!(features.supports_payment_secret());
    assert!(features.supports_shutdown_anysegwit());
    assert!(features.supports_channel_type());
    assert!(!features.requires_unknown_bits(), "{features:?}");
    connection
}

/// The next message Petrel reads on the bare stream.
async fn next_message(connection: &mut Connection) -> Message {
    tokio::time::timeout(STEP_DEADLINE, connection.framed.next())
        .await
        .expect("timed out waiting for a message from LDK")
        .expect("LDK closed the connection")
        .expect("message decodes")
}

fn ping_message(num_pong_bytes: u16, padding: usize) -> Message {
    Message::Ping(Ping {
        num_pong_bytes,
        ignored: vec![0; padding],
        tlvs: Extension::default(),
    })
}

/// Petrel pings on the framed stream and LDK pongs with the length asked. A ping asking for
/// 65,532 bytes or more gets no answer (BOLT 1 "MUST ignore the ping"): the pong after it
/// answers the next ping.
async fn petrel_pings_ldk(connection: &mut Connection) {
    for (asked, padding) in [(0, 0), (1, 7), (100, 0), (1_000, 2_000)] {
        connection
            .framed
            .send(ping_message(asked, padding))
            .await
            .expect("send ping");
        let Message::Pong(pong) = next_message(connection).await else {
            panic!("LDK answered a ping with something other than pong");
        };
        assert_eq!(pong.ignored.len(), usize::from(asked));
        assert!(pong.ignored.iter().all(|b| *b == 0), "BOLT 1: zeros");
    }
    connection
        .framed
        .send(ping_message(65_532, 0))
        .await
        .expect("send ping");
    connection
        .framed
        .send(ping_message(5, 0))
        .await
        .expect("send ping");
    let Message::Pong(pong) = next_message(connection).await else {
        panic!("LDK answered a ping with something other than pong");
    };
    assert_eq!(pong.ignored.len(), 5, "LDK answered the 65,532-byte ping");
}

/// LDK pings on its timer tick; Petrel answers through `PingGuard` on the bare stream, and
/// LDK reads each pong.
async fn ldk_pings_petrel_bare(ldk: &BareLdk, connection: &mut Connection) {
    let mut guard = PingGuard::default();
    for tick in 0..3u64 {
        let before = ldk.logger.pongs_received();
        ldk.peers.timer_tick_occurred();
        let Message::Ping(ping) = next_message(connection).await else {
            panic!("LDK's timer tick sent something other than ping");
        };
        let PingAction::Reply(pong) = guard.on_ping(&ping, tick) else {
            panic!("PingGuard did not answer LDK's ping {ping:?}");
        };
        connection.framed.send(pong).await.expect("send pong");
        ldk.wait_until("LDK to read Petrel's pong", STEP_DEADLINE, || {
            ldk.logger.pongs_received() == before + 1
        })
        .await;
    }
}

/// The same through Petrel's peer actor: several of LDK's pings, each answered, and LDK keeps
/// the connection (a tick that finds the last ping unanswered disconnects the peer).
async fn ldk_pings_petrel_actor(ldk: &BareLdk, petrel: &PetrelPeer) {
    for _ in 0..5 {
        let before = ldk.logger.pongs_received();
        ldk.peers.timer_tick_occurred();
        ldk.wait_until("LDK to read the actor's pong", STEP_DEADLINE, || {
            ldk.logger.pongs_received() == before + 1
        })
        .await;
        assert!(
            ldk.peers.peer_by_node_id(&petrel.node_id).is_some(),
            "LDK dropped Petrel after a ping"
        );
    }
}

/// The whole session: connect, ping both ways on the bare stream, hand the connection to the
/// peer actor, let LDK ping it, then hang up from `closer`'s side and check the other side
/// notices.
async fn session(dialler: Dialler, closer: Closer) {
    let ldk = BareLdk::new([0x4c; 32]);
    let mut petrel = PetrelPeer::new([0x21; 32]);
    let mut connection = connect(&ldk, &petrel, dialler).await;
    petrel_pings_ldk(&mut connection).await;
    ldk_pings_petrel_bare(&ldk, &mut connection).await;

    let handle = petrel.run(connection, 7);
    ldk_pings_petrel_actor(&ldk, &petrel).await;

    let expected_reason = match closer {
        Closer::Petrel => {
            handle.disconnect().await;
            "disconnect requested"
        }
        Closer::Ldk => {
            ldk.peers.disconnect_by_node_id(petrel.node_id);
            "peer closed the connection"
        }
    };
    let event = tokio::time::timeout(STEP_DEADLINE, petrel.events.recv())
        .await
        .expect("timed out waiting for the actor to stop")
        .expect("the actor reports");
    let PeerEvent::Disconnected {
        node_id,
        conn_id,
        reason,
    } = event
    else {
        panic!("expected Disconnected first, got {event:?}");
    };
    assert_eq!((node_id, conn_id), (ldk.node_id, 7));
    assert_eq!(reason, expected_reason);
    ldk.wait_until("LDK to forget Petrel", STEP_DEADLINE, || {
        ldk.peers.peer_by_node_id(&petrel.node_id).is_none()
    })
    .await;
    // The actor drops its mailbox as it returns, just after reporting.
    ldk.wait_until("the actor to stop", STEP_DEADLINE, || {
        !handle.is_connected()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn petrel_connects_to_ldk_and_hangs_up() {
    session(Dialler::Petrel, Closer::Petrel).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn petrel_connects_to_ldk_and_ldk_hangs_up() {
    session(Dialler::Petrel, Closer::Ldk).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldk_connects_to_petrel_and_hangs_up() {
    session(Dialler::Ldk, Closer::Ldk).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldk_connects_to_petrel_and_petrel_hangs_up() {
    session(Dialler::Ldk, Closer::Petrel).await;
}
