//! Opening a Lightning connection: TCP, the BOLT 8 handshake, then the BOLT 1 `init`
//! exchange, all under a timeout. What comes out is ready for a peer actor.
#![allow(clippy::disallowed_methods)] // an actor-side shell: sockets and timers

use std::net::SocketAddr;
use std::time::Duration;

use bitcoin::constants::ChainHash;
use bitcoin::secp256k1::{PublicKey, SecretKey};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

use super::init::{check_peer_init, our_init, warning, PeerInit};
use super::PeerError;
use crate::transport::MessageCodec;
use crate::transport::{handshake_initiator, handshake_responder, WireCodec};

/// How long the handshake plus `init` may take.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An authenticated, initialised connection to a peer.
pub struct Connection {
    /// The encrypted message stream.
    pub framed: Framed<TcpStream, WireCodec>,
    /// The peer's node id, proven by the handshake.
    pub node_id: PublicKey,
    /// The peer's address as we see it.
    pub address: SocketAddr,
    /// What the peer's `init` said.
    pub init: PeerInit,
    /// Whether we dialled (true) or accepted (false).
    pub outbound: bool,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("node_id", &self.node_id)
            .field("address", &self.address)
            .field("outbound", &self.outbound)
            .finish_non_exhaustive()
    }
}

/// Dials `address`, expects `their_node_id` there, and exchanges `init`.
pub async fn connect(
    address: SocketAddr,
    their_node_id: &PublicKey,
    our_key: &SecretKey,
    chain: ChainHash,
    timeout: Duration,
) -> Result<Connection, PeerError> {
    let dial = async {
        let stream = TcpStream::connect(address).await.map_err(PeerError::Io)?;
        stream.set_nodelay(true).map_err(PeerError::Io)?;
        let (framed, node_id) =
            handshake_initiator(stream, our_key, their_node_id, timeout).await?;
        finish(
            framed.map_codec(MessageCodec::new),
            node_id,
            address,
            chain,
            true,
        )
        .await
    };
    tokio::time::timeout(timeout, dial)
        .await
        .map_err(|_| PeerError::Timeout)?
}

/// Runs the responder's side on an accepted `stream` and exchanges `init`.
pub async fn accept_stream(
    stream: TcpStream,
    our_key: &SecretKey,
    chain: ChainHash,
    timeout: Duration,
) -> Result<Connection, PeerError> {
    let address = stream.peer_addr().map_err(PeerError::Io)?;
    stream.set_nodelay(true).map_err(PeerError::Io)?;
    let answer = async {
        let (framed, node_id) = handshake_responder(stream, our_key, timeout).await?;
        finish(
            framed.map_codec(MessageCodec::new),
            node_id,
            address,
            chain,
            false,
        )
        .await
    };
    tokio::time::timeout(timeout, answer)
        .await
        .map_err(|_| PeerError::Timeout)?
}

/// Waits for the next inbound connection on `listener` and initialises it.
pub async fn accept(
    listener: &TcpListener,
    our_key: &SecretKey,
    chain: ChainHash,
    timeout: Duration,
) -> Result<Connection, PeerError> {
    let (stream, _) = listener.accept().await.map_err(PeerError::Io)?;
    accept_stream(stream, our_key, chain, timeout).await
}

/// Both sides send `init` at once; then we read theirs, which must come first.
async fn finish(
    mut framed: Framed<TcpStream, WireCodec>,
    node_id: PublicKey,
    address: SocketAddr,
    chain: ChainHash,
    outbound: bool,
) -> Result<Connection, PeerError> {
    framed
        .send(our_init(chain))
        .await
        .map_err(|e| PeerError::codec(&e))?;
    let first = match framed.next().await {
        Some(Ok(msg)) => msg,
        Some(Err(e)) => return Err(PeerError::codec(&e)),
        None => return Err(PeerError::Disconnected),
    };
    match check_peer_init(&first, chain) {
        Ok(init) => Ok(Connection {
            framed,
            node_id,
            address,
            init,
            outbound,
        }),
        Err(e) => {
            // Tell the peer why before closing (best effort).
            let _ = framed.send(warning(&e.to_string())).await;
            Err(PeerError::Init(e))
        }
    }
}
