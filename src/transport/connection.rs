//! The async shell around the pure handshake: runs the three acts over any byte stream under a
//! timeout and hands back the stream framed with [`FrameCodec`], plus the peer's node id.
//!
//! No protocol rule lives here; [`super::handshake`] decides everything. This file only reads
//! acts of their fixed size, writes what the handshake returns, draws the ephemeral key from the
//! OS-seeded RNG, and bounds the whole exchange in time (BOLT 8 leaves the bound to us; the
//! default is 10 s). The `init` exchange of BOLT 1 comes on top of this, in the peer layer.

use std::time::Duration;

use bitcoin::secp256k1::{rand, PublicKey, SecretKey};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio_util::codec::Framed;

use super::codec::FrameCodec;
use super::error::{Act, ConnectionError, HandshakeError};
use super::handshake::{ActThree, ActTwo, InitiatorHandshake, ResponderHandshake, Session};

/// How long a handshake may take unless the caller says otherwise.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the initiator's side of the handshake on `stream` as `local_static`, towards the node
/// `remote_static`, within `timeout`. Returns the framed stream and the peer's node id (which
/// is `remote_static`: the handshake fails if the peer does not hold that key).
pub async fn handshake_initiator<S>(
    stream: S,
    local_static: &SecretKey,
    remote_static: &PublicKey,
    timeout: Duration,
) -> Result<(Framed<S, FrameCodec>, PublicKey), ConnectionError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let ephemeral = SecretKey::new(&mut rand::thread_rng());
    let exchange = initiate(stream, local_static, remote_static, &ephemeral);
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| ConnectionError::Timeout)?
}

/// Runs the responder's side of the handshake on `stream` as `local_static` within `timeout`.
/// Returns the framed stream and the node id the initiator proved it holds.
pub async fn handshake_responder<S>(
    stream: S,
    local_static: &SecretKey,
    timeout: Duration,
) -> Result<(Framed<S, FrameCodec>, PublicKey), ConnectionError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let ephemeral = SecretKey::new(&mut rand::thread_rng());
    let exchange = respond(stream, local_static, &ephemeral);
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| ConnectionError::Timeout)?
}

async fn initiate<S>(
    mut stream: S,
    local_static: &SecretKey,
    remote_static: &PublicKey,
    ephemeral: &SecretKey,
) -> Result<(Framed<S, FrameCodec>, PublicKey), ConnectionError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (state, act_one) = InitiatorHandshake::new(local_static, remote_static, ephemeral)?;
    send(&mut stream, act_one.as_bytes()).await?;
    let act_two = ActTwo(read_act(&mut stream, Act::Two).await?);
    let (act_three, session) = state.handle_act_two(&act_two)?;
    send(&mut stream, act_three.as_bytes()).await?;
    Ok(framed(stream, session))
}

async fn respond<S>(
    mut stream: S,
    local_static: &SecretKey,
    ephemeral: &SecretKey,
) -> Result<(Framed<S, FrameCodec>, PublicKey), ConnectionError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let state = ResponderHandshake::new(local_static, ephemeral)?;
    let act_one = super::handshake::ActOne(read_act(&mut stream, Act::One).await?);
    let (state, act_two) = state.handle_act_one(&act_one)?;
    send(&mut stream, act_two.as_bytes()).await?;
    let act_three = ActThree(read_act(&mut stream, Act::Three).await?);
    let session = state.handle_act_three(&act_three)?;
    Ok(framed(stream, session))
}

/// Frames the stream. The acts were read with exact-size reads, so no byte the peer sent after
/// its last act (an initiator typically sends `init` right behind act three) is lost.
fn framed<S>(stream: S, session: Session) -> (Framed<S, FrameCodec>, PublicKey)
where
    S: AsyncRead + AsyncWrite,
{
    let remote = session.remote_static;
    (Framed::new(stream, FrameCodec::new(session)), remote)
}

async fn send<S: AsyncWrite + Unpin>(stream: &mut S, act: &[u8]) -> Result<(), ConnectionError> {
    stream.write_all(act).await?;
    stream.flush().await?;
    Ok(())
}

/// Reads exactly one act of `N` bytes; a stream that ends early is a short read
/// ([`HandshakeError::BadLength`]), as BOLT 8 Appendix A names it.
async fn read_act<S, const N: usize>(stream: &mut S, act: Act) -> Result<[u8; N], ConnectionError>
where
    S: AsyncRead + Unpin,
{
    let mut bytes = [0; N];
    let mut filled = 0;
    while filled < N {
        match stream.read(&mut bytes[filled..]).await? {
            0 => {
                return Err(HandshakeError::BadLength {
                    act,
                    actual: filled,
                }
                .into())
            }
            read => filled += read,
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests;
