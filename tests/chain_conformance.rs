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
