//! The async handshake over real and deliberately awkward streams: one byte per read and write,
//! short acts, silent peers, and many connections at once where some peers misbehave.

use std::time::Duration;

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bytes::{BufMut as _, Bytes, BytesMut};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::*;
use crate::transport::codec::{FrameMessage, MessageCodec};
use crate::transport::error::{CodecError, FrameError};

fn node(byte: u8) -> (SecretKey, PublicKey) {
    let secret = SecretKey::from_slice(&[byte; 32]).unwrap();
    (
        secret,
        PublicKey::from_secret_key(&Secp256k1::new(), &secret),
    )
}

const TIMEOUT: Duration = DEFAULT_HANDSHAKE_TIMEOUT;

#[tokio::test]
async fn handshake_and_messages_one_byte_at_a_time() {
    // A duplex pipe with a 1-byte buffer: every read and every write moves a single byte.
    let (client, server) = tokio::io::duplex(1);
    let (client_secret, client_id) = node(1);
    let (server_secret, server_id) = node(2);
    let (initiated, responded) = tokio::join!(
        handshake_initiator(client, &client_secret, &server_id, TIMEOUT),
        handshake_responder(server, &server_secret, TIMEOUT),
    );
    let (mut client, seen_server) = initiated.unwrap();
    let (mut server, seen_client) = responded.unwrap();
    assert_eq!(seen_server, server_id);
    assert_eq!(seen_client, client_id);

    let big = Bytes::from(vec![0x5a; 65_535]);
    let (sent, received) = tokio::join!(
        async {
            client.send(&b"hello"[..]).await.unwrap();
            client.send(big.as_ref()).await.unwrap();
        },
        async {
            let first = server.next().await.unwrap().unwrap();
            let second = server.next().await.unwrap().unwrap();
            (first, second)
        }
    );
    let () = sent;
    assert_eq!(received.0.as_ref(), b"hello");
    assert_eq!(received.1.as_ref(), big.as_ref());

    // And the other direction.
    let (sent, received) = tokio::join!(server.send(&b"pong"[..]), client.next());
    sent.unwrap();
    assert_eq!(received.unwrap().unwrap().as_ref(), b"pong");
}

#[tokio::test]
async fn short_act_one_then_close_is_a_short_read() {
    let (mut client, server) = tokio::io::duplex(64);
    let (server_secret, _) = node(2);
    client.write_all(&[0; 49]).await.unwrap();
    drop(client);
    let error = handshake_responder(server, &server_secret, TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        ConnectionError::Handshake(HandshakeError::BadLength {
            act: Act::One,
            actual: 49
        })
    ));
}

#[tokio::test]
async fn short_act_two_then_close_is_a_short_read() {
    let (client, mut server) = tokio::io::duplex(64);
    let (client_secret, _) = node(1);
    let (_, server_id) = node(2);
    let responder = async move {
        let mut act_one = [0; 50];
        server.read_exact(&mut act_one).await.unwrap();
        server.write_all(&[0; 10]).await.unwrap();
    };
    let (result, ()) = tokio::join!(
        handshake_initiator(client, &client_secret, &server_id, TIMEOUT),
        responder
    );
    assert!(matches!(
        result.unwrap_err(),
        ConnectionError::Handshake(HandshakeError::BadLength {
            act: Act::Two,
            actual: 10
        })
    ));
}

#[tokio::test(start_paused = true)]
async fn a_silent_peer_times_out() {
    let (_client, server) = tokio::io::duplex(64);
    let (server_secret, _) = node(2);
    let error = handshake_responder(server, &server_secret, Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(matches!(error, ConnectionError::Timeout));
}

/// What the test server understands: at least two bytes (a BOLT 1 type), else a decode error.
#[derive(Debug)]
struct Typed(BytesMut);

#[derive(Debug, thiserror::Error)]
#[error("message shorter than its type")]
struct TooShort;

impl FrameMessage for Typed {
    type DecodeError = TooShort;

    fn decode_frame(plaintext: BytesMut) -> Result<Self, TooShort> {
        if plaintext.len() < 2 {
            return Err(TooShort);
        }
        Ok(Typed(plaintext))
    }

    type EncodeError = core::convert::Infallible;

    fn encode_frame(&self, out: &mut BytesMut) -> Result<(), core::convert::Infallible> {
        out.extend_from_slice(&self.0);
        Ok(())
    }
}

/// How a test client behaves after its handshake.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Client {
    /// Sends messages and expects each echoed back.
    Good,
    /// Writes bytes that fail the length MAC.
    Garbage,
    /// Sends a validly encrypted frame whose plaintext does not decode.
    Undecodable,
    /// Tries to send a 65,536-byte message (refused locally), then behaves.
    Oversize,
}

/// How the server's handler for one connection ended.
#[derive(Debug)]
enum Ended {
    /// The client closed after `echoed` messages.
    Clean { echoed: usize },
    /// The connection failed.
    Failed(CodecError<TooShort, core::convert::Infallible>),
}

async fn serve(stream: TcpStream, secret: SecretKey) -> Ended {
    let (framed, _) = handshake_responder(stream, &secret, TIMEOUT).await.unwrap();
    let mut framed = framed.map_codec(MessageCodec::<Typed>::new);
    let mut echoed = 0;
    loop {
        match framed.next().await {
            None => return Ended::Clean { echoed },
            Some(Err(error)) => return Ended::Failed(error),
            Some(Ok(message)) => {
                framed.send(message).await.unwrap();
                echoed += 1;
            }
        }
    }
}

async fn run_client(address: std::net::SocketAddr, server_id: PublicKey, kind: Client) {
    let (secret, _) = node(9);
    let stream = TcpStream::connect(address).await.unwrap();
    let (mut framed, _) = handshake_initiator(stream, &secret, &server_id, TIMEOUT)
        .await
        .unwrap();
    match kind {
        Client::Garbage => {
            framed.get_mut().write_all(&[0xee; 40]).await.unwrap();
            // The server hangs up on us; we see the end of the stream (or a reset).
            assert!(!matches!(framed.next().await, Some(Ok(_))));
        }
        Client::Undecodable => {
            framed.send(&[1u8][..]).await.unwrap();
            assert!(!matches!(framed.next().await, Some(Ok(_))));
        }
        Client::Good | Client::Oversize => {
            if kind == Client::Oversize {
                let refused = framed.send(vec![0; 65_536]).await;
                assert!(matches!(
                    refused,
                    Err(FrameError::MessageTooLong { len: 65_536 })
                ));
            }
            for i in 0..50u16 {
                let mut message = BytesMut::new();
                message.put_u16(i);
                message.extend_from_slice(&[0x42; 300]);
                framed.send(&message[..]).await.unwrap();
                let echo = framed.next().await.unwrap().unwrap();
                assert_eq!(echo, message);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_ends_only_its_own_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (server_secret, server_id) = node(2);
    let kinds = [
        Client::Good,
        Client::Garbage,
        Client::Good,
        Client::Undecodable,
        Client::Oversize,
        Client::Good,
        Client::Garbage,
        Client::Good,
    ];

    let mut servers = JoinSet::new();
    let mut clients = JoinSet::new();
    for kind in kinds {
        // A server that failed to hang up on a bad client would leave it waiting: bound it.
        let client = tokio::time::timeout(TIMEOUT, run_client(address, server_id, kind));
        clients.spawn(async move { client.await.expect("client finished in time") });
        let (stream, _) = listener.accept().await.unwrap();
        servers.spawn(serve(stream, server_secret));
    }
    while let Some(client) = clients.join_next().await {
        client.unwrap();
    }
    let mut outcomes = Vec::new();
    while let Some(ended) = servers.join_next().await {
        outcomes.push(ended.unwrap());
    }
    let clean = outcomes
        .iter()
        .filter(|e| matches!(e, Ended::Clean { echoed: 50 }))
        .count();
    let bad_mac = outcomes
        .iter()
        .filter(|e| {
            matches!(
                e,
                Ended::Failed(CodecError::Frame(FrameError::BadLengthMac))
            )
        })
        .count();
    let undecodable = outcomes
        .iter()
        .filter(|e| matches!(e, Ended::Failed(CodecError::Decode(_))))
        .count();
    assert_eq!((clean, bad_mac, undecodable), (5, 2, 1), "{outcomes:?}");
}
