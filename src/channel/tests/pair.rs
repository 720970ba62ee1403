//! The `Pair` harness (quinn-proto's `tests/util.rs` shape): two channel cores, an in-memory
//! message queue each way delivered under the test's control, each core's writes applied to
//! its own in-memory redb store, and restarts that rebuild a core from nothing but what its
//! store holds.

use std::collections::VecDeque;

use bitcoin::constants::ChainHash;
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey};
use bitcoin::{Amount, Network, Transaction};

use crate::channel::establish::When;
use crate::channel::{
    record, Action, Channel, ChannelConfig, ChannelEvent, ChannelStatus, Command, CommandOutput,
    FundingConfirmation, FundingState, NewHtlc, StoredChannel,
};
use crate::funding::{self, AcceptRequest, LocalConfig, OpenRequest, PendingChannel, Policy};
use crate::keys::ChannelSecrets;
use crate::store::{Batch, Store};
use crate::tx::PaymentPreimage;
use crate::units::{FeeratePerKw, Msat};
use crate::wire::{ChannelId, Message, ShortChannelId};

/// Which node of the pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Who {
    /// The funder.
    A,
    /// The fundee.
    B,
}

impl Who {
    pub(crate) fn other(self) -> Who {
        match self {
            Who::A => Who::B,
            Who::B => Who::A,
        }
    }
}

/// How a test wants the channel.
#[derive(Clone, Debug)]
pub(crate) struct PairConfig {
    pub funding: Amount,
    pub push: Msat,
    pub feerate: FeeratePerKw,
    pub a: LocalConfig,
    pub b: LocalConfig,
    pub channel: ChannelConfig,
    /// Keep each node's store in a file in this directory (`a.redb`, `b.redb`) instead of
    /// memory.
    pub on_disk: Option<std::path::PathBuf>,
}

impl Default for PairConfig {
    fn default() -> Self {
        PairConfig {
            funding: Amount::from_sat(1_000_000),
            push: Msat(300_000_000),
            feerate: FeeratePerKw(2_500),
            a: LocalConfig::default(),
            b: LocalConfig::default(),
            channel: ChannelConfig::default(),
            on_disk: None,
        }
    }
}

/// One node: its core, its store, what reached it, what it did.
pub(crate) struct Node {
    pub ch: Channel,
    pub store: Store,
    pub secrets: ChannelSecrets,
    pub inbox: VecDeque<Message>,
    pub events: Vec<ChannelEvent>,
    pub broadcasts: Vec<Transaction>,
    pub sent: Vec<Message>,
    pub disconnect_asked: bool,
    /// Every action run, in order, as a word (`persist`, `send <message>`, `broadcast`,
    /// `event`, `disconnect`).
    pub log: Vec<String>,
    /// Value bytes written to the store.
    pub bytes: u64,
    config: ChannelConfig,
}

impl Node {
    fn new(
        pending: &PendingChannel,
        secrets: ChannelSecrets,
        config: &ChannelConfig,
        file: Option<std::path::PathBuf>,
    ) -> Node {
        let store = match file {
            Some(path) => Store::open(&path).unwrap(),
            None => Store::in_memory().unwrap(),
        };
        let funding = FundingState {
            funding_tx: pending.funding_tx.clone(),
            opened_at_height: 100,
            confirmed: None,
            channel_ready_sent: false,
            channel_ready_received: false,
        };
        let batch = Batch {
            ops: record::new_channel(&pending.params, &funding, &pending.commitment),
        };
        store.apply(&batch).unwrap();
        let rec = record::load(&store, &pending.params.channel_id)
            .unwrap()
            .unwrap();
        Node {
            ch: Channel::new(Secp256k1::new(), secrets.clone(), rec, config.clone()),
            store,
            secrets,
            inbox: VecDeque::new(),
            events: Vec::new(),
            broadcasts: Vec::new(),
            sent: Vec::new(),
            disconnect_asked: false,
            log: Vec::new(),
            bytes: 0,
            config: config.clone(),
        }
    }

    /// What the store holds for the channel.
    pub(crate) fn stored(&self) -> StoredChannel {
        record::load(&self.store, &self.ch.id()).unwrap().unwrap()
    }

    /// Rebuilds the core from the store alone (a restart).
    pub(crate) fn restart(&mut self) {
        let rec = self.stored();
        self.ch = Channel::new(
            Secp256k1::new(),
            self.secrets.clone(),
            rec,
            self.config.clone(),
        );
        self.inbox.clear();
    }
}

/// Two nodes with a channel between them.
pub(crate) struct Pair {
    pub a: Node,
    pub b: Node,
    pub now: When,
    pub connected: bool,
    pub secp: Secp256k1<All>,
    /// Drop sends that follow the last persist of the next processed batch (crash test).
    crash_next: Option<Who>,
}

fn secrets(byte: u8, secp: &Secp256k1<All>) -> (ChannelSecrets, PublicKey) {
    let seed = [byte; 32];
    let secrets = ChannelSecrets::from_node_seed(secp, &seed, Network::Regtest, 0).unwrap();
    let node = PublicKey::from_secret_key(secp, &SecretKey::from_slice(&seed).unwrap());
    (secrets, node)
}

/// Where `who`'s side of a mutual close pays.
pub(crate) fn closing_script(who: Who) -> bitcoin::ScriptBuf {
    let byte = match who {
        Who::A => 0xa1,
        Who::B => 0xb2,
    };
    bitcoin::ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_raw_hash(
        bitcoin::hashes::Hash::from_byte_array([byte; 20]),
    ))
}

/// A preimage for tests, from a number.
pub(crate) fn preimage(n: u64) -> PaymentPreimage {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&n.to_be_bytes());
    bytes[31] = 0xaa;
    PaymentPreimage(bytes)
}

/// A new HTLC of `amount` for `preimage(n)`, expiring at `expiry`.
pub(crate) fn htlc(amount: u64, n: u64, expiry: u32) -> NewHtlc {
    NewHtlc {
        amount: Msat(amount),
        payment_hash: preimage(n).payment_hash(),
        cltv_expiry: expiry,
        onion: Box::new([n.to_le_bytes()[0]; crate::channel::ledger::ONION_LEN]),
        path_key: None,
    }
}

impl Pair {
    /// A funded channel in normal operation, both sides connected and ready.
    pub(crate) fn new() -> Pair {
        Pair::with(&PairConfig::default())
    }

    /// The same, configured.
    pub(crate) fn with(config: &PairConfig) -> Pair {
        let mut pair = Pair::pending(config);
        pair.confirm();
        pair.drive();
        assert_eq!(pair.a.ch.status(), ChannelStatus::Ready);
        assert_eq!(pair.b.ch.status(), ChannelStatus::Ready);
        pair
    }

    /// A funded channel whose funding is not confirmed yet, both sides linked.
    pub(crate) fn pending(config: &PairConfig) -> Pair {
        let secp = Secp256k1::new();
        let (a_secrets, a_id) = secrets(1, &secp);
        let (b_secrets, b_id) = secrets(2, &secp);
        let open = OpenRequest {
            peer: b_id,
            temporary_channel_id: ChannelId([7; 32]),
            chain_hash: ChainHash::REGTEST,
            funding: config.funding,
            push: config.push,
            feerate: config.feerate,
            channel_index: 0,
            config: config.a.clone(),
            anysegwit: false,
            min_depth: Some(1),
        };
        let accept = AcceptRequest {
            peer: a_id,
            chain_hash: ChainHash::REGTEST,
            channel_index: 0,
            config: config.b.clone(),
            anysegwit: false,
        };
        let policy = Policy {
            max_reserve_ppm: 1_000_000,
            ..Policy::default()
        };
        let (awaiting, open_msg) = funding::open(&secp, &a_secrets, open).unwrap();
        let (responder, accept_msg) =
            funding::process_single_contribution(&secp, &b_secrets, &open_msg, &accept, &policy)
                .unwrap();
        let awaiting = awaiting
            .handle_accept_channel(&accept_msg, &policy)
            .unwrap();
        let tx =
            crate::funding::tests::funding_tx(awaiting.funding_script(), awaiting.funding_amount());
        let (awaiting, created) = awaiting
            .handle_funding_tx(&secp, &a_secrets, tx, 1)
            .unwrap();
        let (b_pending, signed) = responder
            .complete_single_contribution(&secp, &b_secrets, &created)
            .unwrap();
        let a_pending = awaiting
            .handle_funding_signed(&secp, &a_secrets, &signed)
            .unwrap();
        let file = |name: &str| config.on_disk.as_ref().map(|dir| dir.join(name));
        let mut a = Node::new(&a_pending, a_secrets, &config.channel, file("a.redb"));
        let mut b = Node::new(&b_pending, b_secrets, &config.channel, file("b.redb"));
        a.ch.handle_funded_here(false);
        b.ch.handle_funded_here(false);
        Pair {
            a,
            b,
            now: When {
                time: 1_000,
                height: 100,
            },
            connected: true,
            secp,
            crash_next: None,
        }
    }

    pub(crate) fn node(&mut self, who: Who) -> &mut Node {
        match who {
            Who::A => &mut self.a,
            Who::B => &mut self.b,
        }
    }

    /// Confirms the funding transaction on both sides at depth 1.
    pub(crate) fn confirm(&mut self) {
        let tx = self.a.ch.record().funding.funding_tx.clone().unwrap();
        let conf = FundingConfirmation {
            height: 101,
            block_hash: bitcoin::BlockHash::all_zeros(),
            short_channel_id: ShortChannelId::new(101, 1, 1).unwrap(),
        };
        self.now.height = 101;
        for who in [Who::A, Who::B] {
            let now = self.now;
            self.node(who)
                .ch
                .handle_funding_depth(&tx, conf, 6, now)
                .unwrap();
            self.process(who);
        }
    }

    /// Runs a node's pending actions: writes to its store (in order, before what follows),
    /// messages to the other's inbox (if connected), the rest recorded.
    pub(crate) fn process(&mut self, who: Who) {
        let crash = self.crash_next == Some(who);
        let connected = self.connected;
        let actions = self.node(who).ch.poll_actions();
        let last_persist = actions
            .iter()
            .rposition(|a| matches!(a, Action::Persist(_)));
        let mut outgoing = Vec::new();
        for (i, action) in actions.into_iter().enumerate() {
            let node = self.node(who);
            node.log.push(match &action {
                Action::Persist(_) => "persist".to_string(),
                Action::Send(m) => format!("send {}", m.name()),
                Action::Broadcast(_) => "broadcast".to_string(),
                Action::Event(_) => "event".to_string(),
                Action::Disconnect => "disconnect".to_string(),
            });
            match action {
                Action::Persist(batch) => {
                    node.bytes += batch.value_bytes();
                    node.store.apply(&batch).unwrap();
                }
                Action::Send(msg) => {
                    if crash && last_persist.is_some_and(|p| i > p) {
                        continue;
                    }
                    node.sent.push(msg.clone());
                    if connected {
                        outgoing.push(msg);
                    }
                }
                Action::Broadcast(tx) => node.broadcasts.push(tx),
                Action::Event(e) => node.events.push(e),
                Action::Disconnect => node.disconnect_asked = true,
            }
        }
        let other = self.node(who.other());
        other.inbox.extend(outgoing);
        if crash {
            // The node died right after its last write: it comes back from its store, and
            // the connection is gone.
            self.crash_next = None;
            self.node(who).restart();
            self.disconnect();
        }
    }

    /// The next batch of actions `who` produces is cut after its last write (a crash right
    /// after persisting), and `who` restarts from its store.
    pub(crate) fn crash_after_next_persist(&mut self, who: Who) {
        self.crash_next = Some(who);
    }

    /// Delivers the next message waiting for `to`; false if none.
    pub(crate) fn deliver_one(&mut self, to: Who) -> bool {
        let now = self.now;
        let node = self.node(to);
        let Some(msg) = node.inbox.pop_front() else {
            return false;
        };
        if matches!(msg, Message::Shutdown(_)) && node.ch.needs_closing_preferences() {
            node.ch
                .set_closing_preferences(closing_script(to), FeeratePerKw(2_500));
        }
        let _ = node.ch.handle_message(msg, now);
        self.process(to);
        true
    }

    /// Delivers messages both ways until none are left.
    pub(crate) fn drive(&mut self) {
        for _ in 0..10_000 {
            let a = self.deliver_one(Who::A);
            let b = self.deliver_one(Who::B);
            if !a && !b {
                return;
            }
        }
        panic!("the pair never went quiet");
    }

    /// A command on `who`, its actions processed (not delivered).
    pub(crate) fn command(
        &mut self,
        who: Who,
        cmd: Command,
    ) -> Result<CommandOutput, crate::channel::ChannelError> {
        let now = self.now;
        let result = self.node(who).ch.handle_command(cmd, now);
        self.process(who);
        result
    }

    /// Offers an HTLC from `who`; its id.
    pub(crate) fn add(&mut self, who: Who, amount: u64, n: u64) -> u64 {
        let expiry = self.now.height + 200;
        match self.command(who, Command::AddHtlc(htlc(amount, n, expiry))) {
            Ok(CommandOutput::HtlcAdded(id)) => id,
            other => panic!("add failed: {other:?}"),
        }
    }

    /// `who` fulfills the peer's HTLC `id` with `preimage(n)`; the command must be taken.
    pub(crate) fn fulfill(&mut self, who: Who, id: u64, n: u64) {
        let cmd = Command::Fulfill {
            id,
            preimage: preimage(n),
        };
        if let Err(e) = self.command(who, cmd) {
            panic!("fulfill of HTLC {id} refused: {e}");
        }
    }

    /// Drops the connection: queues are lost, both cores reverse what they must.
    pub(crate) fn disconnect(&mut self) {
        self.connected = false;
        for who in [Who::A, Who::B] {
            let node = self.node(who);
            node.inbox.clear();
            node.ch.handle_disconnected();
            self.process(who);
        }
    }

    /// Connects again: both send `channel_reestablish`, then everything is delivered.
    pub(crate) fn reconnect(&mut self) {
        self.reconnect_only();
        self.drive();
    }

    /// Connects again: both send `channel_reestablish`; nothing is delivered yet.
    pub(crate) fn reconnect_only(&mut self) {
        self.connected = true;
        for who in [Who::A, Who::B] {
            let now = self.now;
            self.node(who).ch.handle_connected(false, now);
            self.process(who);
        }
    }

    /// Restarts `who` from its store (after a disconnection).
    pub(crate) fn restart(&mut self, who: Who) {
        self.node(who).restart();
    }

    /// Our balances (msat) as each side's current commitment holds them.
    pub(crate) fn balances(&self, who: Who) -> (Msat, Msat) {
        let node = match who {
            Who::A => &self.a,
            Who::B => &self.b,
        };
        node.ch.record().commitment.balances()
    }

    /// Both sides agree: every commitment one holds is the one the other signed, and the
    /// money adds up to the msat.
    pub(crate) fn assert_consistent(&self) {
        let a = &self.a.ch.record().commitment;
        let b = &self.b.ch.record().commitment;
        assert_eq!(
            a.local.number, b.remote.current.number,
            "A's commitment number"
        );
        assert_eq!(
            b.local.number, a.remote.current.number,
            "B's commitment number"
        );
        let av = a.local_view().unwrap();
        let bv = b.remote_view().unwrap();
        assert_eq!(
            (av.ours, av.theirs),
            (bv.theirs, bv.ours),
            "A's commitment balances"
        );
        assert_eq!(av.feerate, bv.feerate);
        assert_eq!(av.htlcs.len(), bv.htlcs.len());
        let bv = b.local_view().unwrap();
        let av = a.remote_view().unwrap();
        assert_eq!(
            (bv.ours, bv.theirs),
            (av.theirs, av.ours),
            "B's commitment balances"
        );
        let funding = Msat::from_amount(self.a.ch.record().params.funding_amount).unwrap();
        for view in [a.local_view().unwrap(), b.local_view().unwrap()] {
            let htlcs: u64 = view.htlcs.iter().map(|(_, h)| h.amount.0).sum();
            assert_eq!(
                view.ours.0 + view.theirs.0 + htlcs,
                funding.0,
                "money adds up"
            );
        }
        // The transactions themselves match (same txid both sides).
        let secp = &self.secp;
        let a_local = crate::channel::commitments::local_commitment(
            secp,
            &self.a.ch.record().params,
            &self.a.secrets,
            a.local_commitment_number(),
            &a.local_view().unwrap().balances(),
        )
        .unwrap();
        let b_remote = crate::channel::commitments::remote_commitment(
            secp,
            &self.b.ch.record().params,
            b.remote_commitment_number(),
            &b.remote.current_point,
            &b.remote_view().unwrap().balances(),
        )
        .unwrap();
        assert_eq!(
            a_local.txid(),
            b_remote.txid(),
            "A's commitment transaction"
        );
    }

    /// Whether `who` failed the channel (broadcast its commitment).
    pub(crate) fn failed(&self, who: Who) -> bool {
        let node = match who {
            Who::A => &self.a,
            Who::B => &self.b,
        };
        node.ch.record().close.force_closed.is_some()
    }

    /// The texts of the errors `who` sent.
    pub(crate) fn errors(&self, who: Who) -> Vec<String> {
        let node = match who {
            Who::A => &self.a,
            Who::B => &self.b,
        };
        node.sent
            .iter()
            .filter_map(|m| match m {
                Message::Error(e) => Some(String::from_utf8_lossy(&e.data).into_owned()),
                _ => None,
            })
            .collect()
    }

    /// The messages `who` sent, by name.
    pub(crate) fn sent_names(&self, who: Who) -> Vec<&'static str> {
        let node = match who {
            Who::A => &self.a,
            Who::B => &self.b,
        };
        node.sent.iter().map(Message::name).collect()
    }

    /// Whether both cores think nothing is in flight.
    pub(crate) fn quiet(&self) -> bool {
        self.a.ch.record().commitment.is_quiet() && self.b.ch.record().commitment.is_quiet()
    }
}
