//! The ChainSource + ChainNotifier conformance suite against real chain backends: `petrel
//! regtest` always, and Bitcoin Core when `BITCOIND_EXE` names a `bitcoind` binary (issue #9:
//! `scripts/bitcoind.sh` builds one; without it the Core cases print that they were skipped
//! and why). Each case starts its own chain: a `petrel regtest` process, or a `bitcoind
//! -regtest -server -txindex` on free loopback ports in a temporary datadir, stopped at the
//! end. The in-memory backend runs the same suite in `chain_notifier.rs`.
#![allow(clippy::disallowed_methods)]

mod chain_support;
mod common;

use std::time::Duration;

use chain_support::rpc_chain::RpcChain;
use chain_support::suite;
use common::procs::{BitcoindProcess, ChainProcess, RegtestProcess};
use petrel::chain::NotifierConfig;

fn config() -> NotifierConfig {
    NotifierConfig {
        poll_interval: Duration::from_millis(20),
        ..NotifierConfig::regtest()
    }
}

fn regtest() -> (RegtestProcess, RpcChain) {
    let process = RegtestProcess::start();
    let chain = RpcChain { rpc: process.rpc() };
    (process, chain)
}

/// A fresh Bitcoin Core, or `None` (the test is skipped, and says so) without `BITCOIND_EXE`.
fn bitcoind(test: &str) -> Option<(BitcoindProcess, RpcChain)> {
    let process = BitcoindProcess::start(test)?;
    let chain = RpcChain { rpc: process.rpc() };
    Some((process, chain))
}

#[tokio::test]
async fn petrel_regtest_answers_like_bitcoind() {
    let (_p, chain) = regtest();
    suite::source_answers_like_bitcoind(&chain).await;
}

#[tokio::test]
async fn petrel_regtest_confirmations_follow_reorgs_of_1_2_and_6_blocks() {
    for depth in [1, 2, 6] {
        let (_p, chain) = regtest();
        suite::confirmations_follow_reorgs(&chain, config(), depth).await;
    }
}

#[tokio::test]
async fn petrel_regtest_spends_follow_reorgs_of_1_2_and_6_blocks() {
    for depth in [1, 2, 6] {
        let (_p, chain) = regtest();
        suite::spends_follow_reorgs(&chain, config(), depth).await;
    }
}

#[tokio::test]
async fn petrel_regtest_blocks_stream_with_replay() {
    let (_p, chain) = regtest();
    suite::blocks_stream_with_replay(&chain, config()).await;
}

#[tokio::test]
async fn petrel_regtest_height_hints_find_history() {
    let (_p, chain) = regtest();
    suite::height_hints_find_history(&chain, config()).await;
}

#[tokio::test]
async fn petrel_regtest_many_subscribers_and_dropped_ones() {
    let (_p, chain) = regtest();
    suite::many_subscribers_and_dropped_ones(&chain, config()).await;
}

/// Issue #5's end-to-end check: `petrel regtest` as a real process on a random port, 101
/// blocks mined to an address, the coinbase spent by a signed P2WPKH transaction, its
/// confirmation seen through a ChainNotifier subscription over the RPC client, then the
/// regtest process restarted: the chain (and the confirmed spend) is intact and keeps growing.
#[tokio::test]
async fn petrel_regtest_spend_confirms_through_the_notifier_and_survives_restart() {
    use chain_support::{mine, Wallet};
    use petrel::chain::ChainSource;

    let dir = tempfile::tempdir().unwrap();
    let mut process = RegtestProcess::start_in(dir.path());
    let chain = RpcChain { rpc: process.rpc() };
    let mut wallet = Wallet::new();
    wallet.fund(&chain, 1).await; // 1 block to the wallet + 100 to mature it
    assert_eq!(process.height().await, 101);

    let txid = confirm_a_spend(&chain, &mut wallet).await;

    // Restart the chain process on the same datadir: same tip, the spend still confirmed.
    let tip_before = chain.rpc.best_block().await.unwrap();
    process.kill();
    let process = RegtestProcess::start_in(dir.path());
    let chain = RpcChain { rpc: process.rpc() };
    assert_eq!(chain.rpc.best_block().await.unwrap(), tip_before);
    assert_eq!(
        chain
            .rpc
            .raw_transaction(txid)
            .await
            .unwrap()
            .map(|t| t.compute_txid()),
        Some(txid)
    );
    mine(&chain, 1).await;
    assert_eq!(process.height().await, 103);
}

// The same suite against Bitcoin Core.

#[tokio::test]
async fn bitcoind_source_answers() {
    let Some((_p, chain)) = bitcoind("bitcoind_source_answers") else {
        return;
    };
    suite::source_answers_like_bitcoind(&chain).await;
}

#[tokio::test]
async fn bitcoind_confirmations_follow_reorgs_of_1_2_and_6_blocks() {
    for depth in [1, 2, 6] {
        let Some((_p, chain)) =
            bitcoind("bitcoind_confirmations_follow_reorgs_of_1_2_and_6_blocks")
        else {
            return;
        };
        suite::confirmations_follow_reorgs(&chain, config(), depth).await;
    }
}

#[tokio::test]
async fn bitcoind_spends_follow_reorgs_of_1_2_and_6_blocks() {
    for depth in [1, 2, 6] {
        let Some((_p, chain)) = bitcoind("bitcoind_spends_follow_reorgs_of_1_2_and_6_blocks")
        else {
            return;
        };
        suite::spends_follow_reorgs(&chain, config(), depth).await;
    }
}

#[tokio::test]
async fn bitcoind_blocks_stream_with_replay() {
    let Some((_p, chain)) = bitcoind("bitcoind_blocks_stream_with_replay") else {
        return;
    };
    suite::blocks_stream_with_replay(&chain, config()).await;
}

#[tokio::test]
async fn bitcoind_height_hints_find_history() {
    let Some((_p, chain)) = bitcoind("bitcoind_height_hints_find_history") else {
        return;
    };
    suite::height_hints_find_history(&chain, config()).await;
}

#[tokio::test]
async fn bitcoind_many_subscribers_and_dropped_ones() {
    let Some((_p, chain)) = bitcoind("bitcoind_many_subscribers_and_dropped_ones") else {
        return;
    };
    suite::many_subscribers_and_dropped_ones(&chain, config()).await;
}

/// The issue #5 end-to-end check on Core: a coinbase spend signed by the test wallet confirms
/// through a ChainNotifier subscription over the RPC client, and Core stopped with `stop`
/// and restarted on the same datadir still has the chain and the confirmed spend (found
/// without a block hash: `-txindex`).
#[tokio::test]
async fn bitcoind_spend_confirms_through_the_notifier_and_survives_restart() {
    use chain_support::{mine, Wallet};
    use petrel::chain::ChainSource;

    let Some(exe) = common::procs::bitcoind_exe(
        "bitcoind_spend_confirms_through_the_notifier_and_survives_restart",
    ) else {
        return;
    };
    let datadir = tempfile::tempdir().unwrap();
    let mut process = BitcoindProcess::start_in(&exe, datadir.path(), &[]);
    let chain = RpcChain { rpc: process.rpc() };
    let mut wallet = Wallet::new();
    wallet.fund(&chain, 1).await;
    assert_eq!(process.ok("getblockcount", &[]), 101);

    let txid = confirm_a_spend(&chain, &mut wallet).await;

    let tip_before = chain.rpc.best_block().await.unwrap();
    process.stop();
    let process = BitcoindProcess::start_in(&exe, datadir.path(), &[]);
    let chain = RpcChain { rpc: process.rpc() };
    assert_eq!(chain.rpc.best_block().await.unwrap(), tip_before);
    assert_eq!(
        chain
            .rpc
            .raw_transaction(txid)
            .await
            .unwrap()
            .map(|t| t.compute_txid()),
        Some(txid)
    );
    mine(&chain, 1).await;
    assert_eq!(process.ok("getblockcount", &[]), 103);
}

/// Spends one of `wallet`'s coins and checks that a notifier on `chain` reports the spend
/// confirmed in the next block; the notifier is stopped again. Returns the spend's txid.
async fn confirm_a_spend(chain: &RpcChain, wallet: &mut chain_support::Wallet) -> bitcoin::Txid {
    use chain_support::{mine, next, start};
    use petrel::chain::{ChainSource, ConfEvent};

    let running = start(&chain.rpc, config()).await;
    let coin = wallet.take_coin();
    let tx = wallet.spend(&coin, wallet.script(), 1);
    let txid = tx.compute_txid();
    let tip = running.handle.best_block().await.unwrap();
    let mut sub = running
        .handle
        .register_confirmations(txid, wallet.script(), 1, tip.height)
        .await
        .unwrap();
    chain.rpc.broadcast(&tx).await.unwrap();
    running.handle.best_block().await.unwrap();
    let mined = mine(chain, 1).await;
    match next(&mut sub).await {
        ConfEvent::Confirmed(c) => {
            assert_eq!(c.block.hash, mined[0]);
            assert_eq!(c.tx.compute_txid(), txid);
            assert_eq!(c.confirmations, 1);
        }
        other => panic!("expected a confirmation, got {other:?}"),
    }
    drop(running);
    txid
}
