//! The wallet actor: one thread owns the [`OnchainWallet`] (every change is a synchronous
//! redb commit with an fsync, so it stays off the async runtime); the rest of the node talks
//! to it through a cheap [`WalletHandle`].
#![allow(clippy::disallowed_methods)] // an actor: it owns a thread

use std::sync::Arc;

use bitcoin::{Address, Amount, Block, BlockHash, FeeRate, ScriptBuf, Transaction, Txid};
use tokio::sync::{mpsc, oneshot};

use super::{Balance, FundingTx, LockId, OnchainWallet, WalletError};
use crate::units::BlockHeight;

type Reply<T> = oneshot::Sender<Result<T, WalletError>>;

/// A request to the wallet actor.
enum WalletCmd {
    NewAddress(Reply<Address>),
    Balance(oneshot::Sender<Balance>),
    Tip(oneshot::Sender<(BlockHeight, BlockHash)>),
    BuildFunding {
        lock: LockId,
        script: ScriptBuf,
        amount: Amount,
        feerate: FeeRate,
        reply: Reply<FundingTx>,
    },
    Release(LockId),
    ConfirmLock {
        lock: LockId,
        seen_at: u64,
        reply: Reply<Txid>,
    },
    ApplyUnconfirmed {
        tx: Transaction,
        seen_at: u64,
        reply: Reply<()>,
    },
    Connected {
        block: Arc<Block>,
        height: BlockHeight,
        reply: Reply<()>,
    },
    Disconnected {
        height: BlockHeight,
        hash: BlockHash,
        reply: Reply<()>,
    },
}

/// The node's way to the wallet. Every call waits for the wallet's answer; `Err(Stopped)`
/// means the wallet thread is gone.
#[derive(Clone, Debug)]
pub struct WalletHandle {
    tx: mpsc::Sender<WalletCmd>,
}

impl std::fmt::Debug for WalletCmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WalletCmd")
    }
}

/// Starts the wallet thread; it runs until every handle is dropped.
pub fn spawn(
    mut wallet: OnchainWallet,
) -> std::io::Result<(WalletHandle, std::thread::JoinHandle<()>)> {
    let (tx, mut rx) = mpsc::channel::<WalletCmd>(256);
    let thread = std::thread::Builder::new()
        .name("petrel-wallet".into())
        .spawn(move || {
            while let Some(cmd) = rx.blocking_recv() {
                // A dropped reply receiver only means the caller gave up waiting.
                match cmd {
                    WalletCmd::NewAddress(reply) => {
                        let _ = reply.send(wallet.next_address());
                    }
                    WalletCmd::Balance(reply) => {
                        let _ = reply.send(wallet.balance());
                    }
                    WalletCmd::Tip(reply) => {
                        let _ = reply.send(wallet.tip());
                    }
                    WalletCmd::BuildFunding {
                        lock,
                        script,
                        amount,
                        feerate,
                        reply,
                    } => {
                        let _ = reply.send(wallet.build_funding(lock, &script, amount, feerate));
                    }
                    WalletCmd::Release(lock) => {
                        wallet.release(lock);
                    }
                    WalletCmd::ConfirmLock {
                        lock,
                        seen_at,
                        reply,
                    } => {
                        let _ = reply.send(wallet.confirm_lock(lock, seen_at));
                    }
                    WalletCmd::ApplyUnconfirmed { tx, seen_at, reply } => {
                        let _ = reply.send(wallet.apply_unconfirmed(tx, seen_at));
                    }
                    WalletCmd::Connected {
                        block,
                        height,
                        reply,
                    } => {
                        let _ = reply.send(wallet.apply_block(&block, height));
                    }
                    WalletCmd::Disconnected {
                        height,
                        hash,
                        reply,
                    } => {
                        let _ = reply.send(wallet.disconnect_block(height, hash).map(|_| ()));
                    }
                }
            }
        })?;
    Ok((WalletHandle { tx }, thread))
}

impl WalletHandle {
    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> WalletCmd) -> Result<T, WalletError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| WalletError::Stopped)?;
        answer.await.map_err(|_| WalletError::Stopped)?
    }

    /// A fresh receiving address (revealed and persisted).
    pub async fn new_address(&self) -> Result<Address, WalletError> {
        self.ask(WalletCmd::NewAddress).await
    }

    /// The balance.
    pub async fn balance(&self) -> Result<Balance, WalletError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(WalletCmd::Balance(reply))
            .await
            .map_err(|_| WalletError::Stopped)?;
        answer.await.map_err(|_| WalletError::Stopped)
    }

    /// The last block the wallet has applied.
    pub async fn tip(&self) -> Result<(BlockHeight, BlockHash), WalletError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(WalletCmd::Tip(reply))
            .await
            .map_err(|_| WalletError::Stopped)?;
        answer.await.map_err(|_| WalletError::Stopped)
    }

    /// A signed funding transaction paying `script`, its inputs locked under `lock`.
    pub async fn build_funding(
        &self,
        lock: LockId,
        script: ScriptBuf,
        amount: Amount,
        feerate: FeeRate,
    ) -> Result<FundingTx, WalletError> {
        self.ask(|reply| WalletCmd::BuildFunding {
            lock,
            script,
            amount,
            feerate,
            reply,
        })
        .await
    }

    /// Releases a cancelled reservation's inputs (fire and forget: a stopped wallet has
    /// nothing locked).
    pub async fn release(&self, lock: LockId) {
        let _ = self.tx.send(WalletCmd::Release(lock)).await;
    }

    /// The funding transaction of `lock` was broadcast: record it as unconfirmed.
    pub async fn confirm_lock(&self, lock: LockId, seen_at: u64) -> Result<Txid, WalletError> {
        self.ask(|reply| WalletCmd::ConfirmLock {
            lock,
            seen_at,
            reply,
        })
        .await
    }

    /// Records a transaction we broadcast ourselves (a rebroadcast funding tx, a sweep).
    pub async fn apply_unconfirmed(
        &self,
        tx: Transaction,
        seen_at: u64,
    ) -> Result<(), WalletError> {
        self.ask(|reply| WalletCmd::ApplyUnconfirmed { tx, seen_at, reply })
            .await
    }

    /// A block connected to the chain.
    pub async fn block_connected(
        &self,
        block: Arc<Block>,
        height: BlockHeight,
    ) -> Result<(), WalletError> {
        self.ask(|reply| WalletCmd::Connected {
            block,
            height,
            reply,
        })
        .await
    }

    /// A block left the chain.
    pub async fn block_disconnected(
        &self,
        height: BlockHeight,
        hash: BlockHash,
    ) -> Result<(), WalletError> {
        self.ask(|reply| WalletCmd::Disconnected {
            height,
            hash,
            reply,
        })
        .await
    }
}
