//! An LDK node with no channels and no gossip: just LDK's `PeerManager` (BOLT 8 and BOLT 1),
//! for the connection-layer tests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use lightning::ln::peer_handler::{
    ErroringMessageHandler, IgnoringMessageHandler, MessageHandler, PeerManager,
};
use lightning::sign::{KeysManager, NodeSigner as _, Recipient};
use lightning_net_tokio::SocketDescriptor;
use tokio::net::TcpListener;
use tokio::time::Instant;

use super::logger::TestLogger;

/// LDK's peer manager with every message handler a no-op (channel messages get LDK's
/// "no channels here" error).
pub type BarePeerManager = PeerManager<
    SocketDescriptor,
    Arc<ErroringMessageHandler>,
    Arc<IgnoringMessageHandler>,
    Arc<IgnoringMessageHandler>,
    Arc<TestLogger>,
    Arc<IgnoringMessageHandler>,
    Arc<KeysManager>,
    Arc<IgnoringMessageHandler>,
>;

/// A channel-less LDK node.
pub struct BareLdk {
    /// Its peer manager.
    pub peers: Arc<BarePeerManager>,
    /// Its node id.
    pub node_id: PublicKey,
    /// Its logger (counts the pongs it read).
    pub logger: Arc<TestLogger>,
}

impl BareLdk {
    /// A node whose keys come from `seed`.
    pub fn new(seed: [u8; 32]) -> BareLdk {
        let keys = Arc::new(KeysManager::new(&seed, 1, 0, true));
        let node_id = keys.get_node_id(Recipient::Node).expect("LDK node id");
        let ignoring = Arc::new(IgnoringMessageHandler {});
        let handlers = MessageHandler {
            chan_handler: Arc::new(ErroringMessageHandler::new()),
            route_handler: Arc::clone(&ignoring),
            onion_message_handler: Arc::clone(&ignoring),
            custom_message_handler: Arc::clone(&ignoring),
            send_only_message_handler: Arc::clone(&ignoring),
        };
        let logger = Arc::new(TestLogger::new("LDK"));
        let peers = PeerManager::new(handlers, 1, &[0x5d; 32], Arc::clone(&logger), keys);
        BareLdk {
            peers: Arc::new(peers),
            node_id,
            logger,
        }
    }

    /// Listens on a fresh loopback port and hands the next inbound connection to LDK.
    pub async fn listen_once(&self) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let peers = Arc::clone(&self.peers);
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            // LDK drives the connection on tasks of its own; the future only reports its end.
            drop(lightning_net_tokio::setup_inbound(
                peers,
                stream.into_std().unwrap(),
            ));
        });
        address
    }

    /// Dials a Petrel listener at `address`, expecting `node_id` there.
    pub async fn dial(&self, node_id: PublicKey, address: SocketAddr) {
        let connected =
            lightning_net_tokio::connect_outbound(Arc::clone(&self.peers), node_id, address)
                .await
                .expect("LDK connects");
        drop(connected);
    }

    /// Polls `condition` while driving LDK's event processing, until it holds or `deadline`
    /// passes (then panics, naming `what` and showing LDK's last log lines).
    pub async fn wait_until(
        &self,
        what: &str,
        deadline: Duration,
        mut condition: impl FnMut() -> bool,
    ) {
        let give_up = Instant::now() + deadline;
        loop {
            self.peers.process_events();
            if condition() {
                return;
            }
            assert!(
                Instant::now() < give_up,
                "timed out waiting for {what}\n--- LDK log ---\n{}",
                self.logger.tail()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}
