//! The ChainSource + ChainNotifier conformance suite against real chain backends: `petrel
//! regtest` always, and Bitcoin Core when `BITCOIND_EXE` names a `bitcoind` binary (see the
//! issue on Bitcoin Core in the test suite). The in-memory backend runs the same suite in
//! `chain_notifier.rs`.
#![allow(clippy::disallowed_methods)]

mod chain_support;
mod common;

use std::time::Duration;

use chain_support::rpc_chain::RpcChain;
use chain_support::suite;
use common::procs::RegtestProcess;
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
    use chain_support::{mine, next, start, Wallet};
    use petrel::chain::{ChainSource, ConfEvent};

    let dir = tempfile::tempdir().unwrap();
    let mut process = RegtestProcess::start_in(dir.path());
    let chain = RpcChain { rpc: process.rpc() };
    let mut wallet = Wallet::new();
    wallet.fund(&chain, 1).await; // 1 block to the wallet + 100 to mature it
    assert_eq!(process.height().await, 101);

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
    let mined = mine(&chain, 1).await;
    match next(&mut sub).await {
        ConfEvent::Confirmed(c) => {
            assert_eq!(c.block.hash, mined[0]);
            assert_eq!(c.tx.compute_txid(), txid);
            assert_eq!(c.confirmations, 1);
        }
        other => panic!("expected a confirmation, got {other:?}"),
    }
    drop(running);

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
