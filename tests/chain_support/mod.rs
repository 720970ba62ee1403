//! Shared support for the chain tests: a backend-generic conformance suite for
//! `ChainSource` + `ChainNotifier` (lnd's `chainntnfs/test` shape), the backends it runs on,
//! and a tiny wallet that makes real, signed P2WPKH spends of coinbase outputs.
//!
//! A backend is anything that implements [`TestChain`]: a [`ChainSource`] plus the two
//! regtest RPCs the suite drives the chain with (`generatetoaddress`, `invalidateblock`).
//! - [`mem_chain::MemChain`]: in memory, for fast actor tests.
//! - [`rpc_chain::RpcChain`]: any JSON-RPC server speaking bitcoind's dialect: a real
//!   `bitcoind -regtest -server`, `petrel regtest`, or [`rpc_server`]'s stand-in.
#![allow(dead_code)] // each test binary uses a different part of the support code
#![allow(clippy::disallowed_methods)] // tests spawn the actor and read clocks freely

pub mod mem_chain;
pub mod rpc_chain;
pub mod rpc_server;
pub mod suite;

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use bitcoin::secp256k1::{rand, Message, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::transaction::Version as TxVersion;
use bitcoin::{
    absolute::LockTime, Address, Amount, BlockHash, CompressedPublicKey, KnownHrp, OutPoint,
    ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness,
};
use petrel::chain::{
    BlockRef, ChainError, ChainNotifier, ChainNotifierHandle, ChainSource, NotifierConfig,
    Subscription,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The longest any single expected event may take to arrive.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(30);

/// A regtest backend the conformance suite can drive.
pub trait TestChain: Send + Sync + 'static {
    /// The `ChainSource` under test.
    type Source: ChainSource + Clone;

    /// A handle on the backend's chain source.
    fn source(&self) -> Self::Source;

    /// `generatetoaddress n address`: mines `n` blocks, the first taking the mempool.
    fn mine_to(&self, n: u32, pay_to: &Address) -> impl Future<Output = Vec<BlockHash>> + Send;

    /// `invalidateblock hash`: disconnects `hash` and its descendants; their transactions go
    /// back to the mempool.
    fn invalidate(&self, hash: BlockHash) -> impl Future<Output = ()> + Send;
}

/// A fresh address nobody spends from: mining to a new one each time keeps re-mined blocks
/// distinct from invalidated ones.
pub fn throwaway_address() -> Address {
    let secp = Secp256k1::new();
    let key = SecretKey::new(&mut rand::thread_rng());
    let pubkey = CompressedPublicKey(key.public_key(&secp));
    Address::p2wpkh(&pubkey, KnownHrp::Regtest)
}

/// Mines `n` blocks to throwaway addresses.
pub async fn mine<C: TestChain>(chain: &C, n: u32) -> Vec<BlockHash> {
    chain.mine_to(n, &throwaway_address()).await
}

/// A one-key P2WPKH wallet holding matured coinbase outputs.
pub struct Wallet {
    secp: Secp256k1<bitcoin::secp256k1::All>,
    key: SecretKey,
    /// The wallet's only address.
    pub address: Address,
    coins: Vec<(OutPoint, TxOut)>,
}

impl Wallet {
    /// An empty wallet with a random key.
    pub fn new() -> Wallet {
        let secp = Secp256k1::new();
        let key = SecretKey::new(&mut rand::thread_rng());
        let pubkey = CompressedPublicKey(key.public_key(&secp));
        Wallet {
            address: Address::p2wpkh(&pubkey, KnownHrp::Regtest),
            secp,
            key,
            coins: Vec::new(),
        }
    }

    /// Mines `coins` blocks paying to the wallet, then 100 more so they mature.
    pub async fn fund<C: TestChain>(&mut self, chain: &C, coins: u32) {
        let hashes = chain.mine_to(coins, &self.address).await;
        mine(chain, 100).await;
        let source = chain.source();
        let ours = self.address.script_pubkey();
        for hash in hashes {
            let block = source.block(hash).await.unwrap().unwrap();
            let coinbase = &block.txdata[0];
            for (vout, out) in coinbase.output.iter().enumerate() {
                if out.script_pubkey == ours {
                    let outpoint =
                        OutPoint::new(coinbase.compute_txid(), u32::try_from(vout).unwrap());
                    self.coins.push((outpoint, out.clone()));
                }
            }
        }
    }

    /// The script the wallet's outputs pay to.
    pub fn script(&self) -> ScriptBuf {
        self.address.script_pubkey()
    }

    /// Takes a coin out of the wallet.
    pub fn take_coin(&mut self) -> (OutPoint, TxOut) {
        self.coins
            .pop()
            .expect("wallet has no coins left; fund it with more")
    }

    /// A signed transaction spending `coin` to `to`, minus a 1,000 sat fee. `tag` goes in the
    /// locktime so two spends of one coin differ.
    pub fn spend(&self, coin: &(OutPoint, TxOut), to: ScriptBuf, tag: u32) -> Transaction {
        let (outpoint, prevout) = coin;
        let mut tx = Transaction {
            version: TxVersion::TWO,
            lock_time: LockTime::from_height(tag).unwrap(),
            input: vec![TxIn {
                previous_output: *outpoint,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value: prevout.value - Amount::from_sat(1_000),
                script_pubkey: to,
            }],
        };
        let sighash = SighashCache::new(&tx)
            .p2wpkh_signature_hash(
                0,
                &prevout.script_pubkey,
                prevout.value,
                EcdsaSighashType::All,
            )
            .unwrap();
        let signature = self.secp.sign_ecdsa(&Message::from(sighash), &self.key);
        let signature = bitcoin::ecdsa::Signature {
            signature,
            sighash_type: EcdsaSighashType::All,
        };
        tx.input[0].witness = Witness::p2wpkh(&signature, &self.key.public_key(&self.secp));
        tx
    }
}

/// A running notifier over `source`.
pub struct Running {
    /// The handle under test.
    pub handle: ChainNotifierHandle,
    /// Stops the actor.
    pub stop: CancellationToken,
    /// The actor's task.
    pub task: JoinHandle<Result<(), ChainError>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Spawns a notifier over `source` and waits until it has caught up with the backend's tip.
pub async fn start<S: ChainSource + Clone>(source: &S, config: NotifierConfig) -> Running {
    let (notifier, handle) = ChainNotifier::new(source.clone(), config);
    let stop = CancellationToken::new();
    let task = tokio::spawn(notifier.run(stop.clone()));
    let running = Running { handle, stop, task };
    wait_synced(&running.handle, source).await;
    running
}

/// Polls until the notifier's tip is the backend's tip; returns it.
pub async fn wait_synced<S: ChainSource>(handle: &ChainNotifierHandle, source: &S) -> BlockRef {
    let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
    loop {
        let want = source.best_block().await.unwrap();
        if handle.best_block().await.unwrap() == want {
            return want;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "notifier never reached {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The next event of a subscription, failing the test if none comes in time.
pub async fn next<E: Debug>(sub: &mut Subscription<E>) -> E {
    match tokio::time::timeout(EVENT_TIMEOUT, sub.recv()).await {
        Ok(Some(event)) => event,
        Ok(None) => panic!("stream ended: {:?}", sub.end_reason()),
        Err(_) => panic!("no event within {EVENT_TIMEOUT:?}"),
    }
}

/// Asserts that no event is buffered right now (after a barrier such as `wait_synced`).
pub fn assert_quiet<E: Debug>(sub: &mut Subscription<E>) {
    if let Some(event) = sub.try_recv() {
        panic!("unexpected event {event:?}");
    }
}
