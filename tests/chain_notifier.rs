//! The chain notifier actor over real tokio tasks, on the in-memory chain: the conformance
//! suite, then what only a fake backend can stage (outages, slow subscribers, a reorg deeper
//! than the safety depth, competing branches).
#![allow(clippy::disallowed_methods)] // tests spawn the actor and read clocks freely

mod chain_support;

use std::time::Duration;

use bitcoin::{OutPoint, ScriptBuf};
use chain_support::mem_chain::MemChain;
use chain_support::{mine, next, start, suite, wait_synced, TestChain, Wallet, EVENT_TIMEOUT};
use petrel::chain::{
    BlockEvent, BlockFeed, BlockRef, ChainError, ChainNotifier, ChainSource, NotifierConfig,
    SpendEvent, StreamEnd,
};
use petrel::units::BlockHeight;
use tokio_util::sync::CancellationToken;

/// Fast polling for an in-memory chain.
fn config() -> NotifierConfig {
    NotifierConfig {
        poll_interval: Duration::from_millis(5),
        ..NotifierConfig::regtest()
    }
}

#[tokio::test]
async fn suite_source_answers_like_bitcoind() {
    suite::source_answers_like_bitcoind(&MemChain::new()).await;
}

#[tokio::test]
async fn suite_confirmations_follow_a_1_block_reorg() {
    suite::confirmations_follow_reorgs(&MemChain::new(), config(), 1).await;
}

#[tokio::test]
async fn suite_confirmations_follow_a_2_block_reorg() {
    suite::confirmations_follow_reorgs(&MemChain::new(), config(), 2).await;
}

#[tokio::test]
async fn suite_confirmations_follow_a_6_block_reorg() {
    suite::confirmations_follow_reorgs(&MemChain::new(), config(), 6).await;
}

#[tokio::test]
async fn suite_spends_follow_a_1_block_reorg() {
    suite::spends_follow_reorgs(&MemChain::new(), config(), 1).await;
}

#[tokio::test]
async fn suite_spends_follow_a_2_block_reorg() {
    suite::spends_follow_reorgs(&MemChain::new(), config(), 2).await;
}

#[tokio::test]
async fn suite_spends_follow_a_6_block_reorg() {
    suite::spends_follow_reorgs(&MemChain::new(), config(), 6).await;
}

#[tokio::test]
async fn suite_blocks_stream_with_replay() {
    suite::blocks_stream_with_replay(&MemChain::new(), config()).await;
}

#[tokio::test]
async fn suite_height_hints_find_history() {
    suite::height_hints_find_history(&MemChain::new(), config()).await;
}

#[tokio::test]
async fn suite_many_subscribers_and_dropped_ones() {
    suite::many_subscribers_and_dropped_ones(&MemChain::new(), config()).await;
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_is_dropped_and_the_others_carry_on() {
    let chain = MemChain::new();
    let config = NotifierConfig {
        subscription_capacity: 2,
        lag_timeout: Duration::from_millis(500),
        ..config()
    };
    let running = start(&chain, config).await;
    let mut reader = running.handle.register_blocks(None).await.unwrap();
    let mut sleeper = running.handle.register_blocks(None).await.unwrap();
    running.handle.best_block().await.unwrap();
    let hashes = mine(&chain, 6).await;
    for hash in &hashes {
        assert_eq!(next(&mut reader).await.block_ref().hash, *hash);
    }
    // The sleeper's two buffered events are still there, then the stream ends as lagged.
    assert_eq!(next(&mut sleeper).await.block_ref().hash, hashes[0]);
    assert_eq!(next(&mut sleeper).await.block_ref().hash, hashes[1]);
    assert!(tokio::time::timeout(EVENT_TIMEOUT, sleeper.recv())
        .await
        .unwrap()
        .is_none());
    assert_eq!(sleeper.end_reason(), Some(StreamEnd::Lagged));
    // The reader is unaffected; the sleeper can come back without losing a block.
    let last = BlockRef {
        hash: hashes[1],
        height: BlockHeight(2),
    };
    let mut back = running.handle.register_blocks(Some(last)).await.unwrap();
    for hash in &hashes[2..] {
        assert_eq!(next(&mut back).await.block_ref().hash, *hash);
    }
    assert_eq!(reader.end_reason(), None);
}

#[tokio::test]
async fn a_block_feed_that_lags_subscribes_again_and_misses_no_block() {
    let chain = MemChain::new();
    let config = NotifierConfig {
        subscription_capacity: 2,
        lag_timeout: Duration::from_millis(200),
        ..config()
    };
    let running = start(&chain, config).await;
    let mut feed = BlockFeed::new(running.handle.clone(), None).await.unwrap();
    let mut plain = running.handle.register_blocks(None).await.unwrap();
    running.handle.best_block().await.unwrap();
    // Ten blocks while nobody reads: both subscriptions are dropped as lagged.
    let hashes = mine(&chain, 10).await;
    wait_synced(&running.handle, &chain).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    // A plain subscription ends after its two buffered blocks; the feed goes on to the tip.
    assert_eq!(next(&mut plain).await.block_ref().hash, hashes[0]);
    assert_eq!(next(&mut plain).await.block_ref().hash, hashes[1]);
    assert!(plain.recv().await.is_none());
    assert_eq!(plain.end_reason(), Some(StreamEnd::Lagged));
    for (i, hash) in hashes.iter().enumerate() {
        let event = tokio::time::timeout(EVENT_TIMEOUT, feed.recv())
            .await
            .expect("an event in time")
            .expect("the feed goes on");
        assert!(matches!(event, BlockEvent::Connected { .. }), "{event:?}");
        assert_eq!(event.block_ref().hash, *hash, "block {i}");
    }
    // And it stays live.
    let more = mine(&chain, 1).await;
    let event = tokio::time::timeout(EVENT_TIMEOUT, feed.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.block_ref().hash, more[0]);
}

#[tokio::test]
async fn backend_outages_are_retried_without_losing_blocks() {
    let chain = MemChain::new();
    // Unreachable from the start: the notifier keeps trying to read the tip.
    chain.set_failing(true);
    let (notifier, handle) = ChainNotifier::new(chain.clone(), config());
    let stop = CancellationToken::new();
    let task = tokio::spawn(notifier.run(stop.clone()));
    let mut blocks = handle.register_blocks(None).await.unwrap();
    wait_for_calls(&chain, 3).await;
    chain.set_failing(false);
    wait_synced(&handle, &chain).await;

    // An outage in the middle: blocks mined meanwhile arrive, in order, once it is over.
    chain.set_failing(true);
    let hashes = mine(&chain, 3).await;
    wait_for_calls(&chain, chain.calls() + 3).await;
    assert!(blocks.try_recv().is_none());
    chain.set_failing(false);
    for hash in &hashes {
        assert_eq!(next(&mut blocks).await.block_ref().hash, *hash);
    }
    stop.cancel();
    task.await.unwrap().unwrap();
}

/// Waits until the chain has served (or refused) at least `n` calls.
async fn wait_for_calls(chain: &MemChain, n: u64) {
    let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
    while chain.calls() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the notifier stopped polling"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn stopping_the_notifier_ends_every_stream() {
    let chain = MemChain::new();
    let running = start(&chain, config()).await;
    let mut blocks = running.handle.register_blocks(None).await.unwrap();
    let mut spend = running
        .handle
        .register_spend(OutPoint::null(), ScriptBuf::new(), BlockHeight(0))
        .await
        .unwrap();
    running.handle.best_block().await.unwrap();
    running.stop.cancel();
    assert!(blocks.recv().await.is_none());
    assert_eq!(blocks.end_reason(), Some(StreamEnd::Stopped));
    assert!(spend.recv().await.is_none());
    assert_eq!(spend.end_reason(), Some(StreamEnd::Stopped));
    assert!(matches!(
        running.handle.register_blocks(None).await,
        Err(ChainError::NotifierStopped)
    ));
}

#[tokio::test]
async fn a_reorg_deeper_than_the_safety_depth_stops_the_notifier() {
    let chain = MemChain::new();
    mine(&chain, 5).await;
    let config = NotifierConfig {
        reorg_safety_depth: 2,
        ..config()
    };
    let (notifier, handle) = ChainNotifier::new(chain.clone(), config);
    let task = tokio::spawn(notifier.run(CancellationToken::new()));
    let mut blocks = handle.register_blocks(None).await.unwrap();
    wait_synced(&handle, &chain).await;
    chain
        .invalidate(chain.block_at_height(3).block_hash())
        .await;
    mine(&chain, 4).await;
    let result = tokio::time::timeout(EVENT_TIMEOUT, task)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(result, Err(ChainError::ReorgTooDeep { limit: 2 })),
        "{result:?}"
    );
    // It got as far as it could, then closed the stream.
    while blocks.recv().await.is_some() {}
    assert_eq!(blocks.end_reason(), Some(StreamEnd::Stopped));
}

#[tokio::test]
async fn a_longer_competing_branch_wins_and_moves_a_spend_to_another_transaction() {
    let chain = MemChain::new();
    let mut wallet = Wallet::new();
    wallet.fund(&chain, 1).await;
    let running = start(&chain, config()).await;
    let coin = wallet.take_coin();
    let hint = running.handle.best_block().await.unwrap().height;
    let mut spend = running
        .handle
        .register_spend(coin.0, coin.1.script_pubkey.clone(), hint)
        .await
        .unwrap();
    let mut blocks = running.handle.register_blocks(None).await.unwrap();
    running.handle.best_block().await.unwrap();

    let fork = chain.best_block().await.unwrap();
    let first = wallet.spend(&coin, ScriptBuf::new_op_return([1]), 1);
    let a1 = chain.mine_with(vec![first.clone()]);
    let SpendEvent::Spent(spent) = next(&mut spend).await else {
        panic!("expected Spent");
    };
    assert_eq!(spent.spending_txid, first.compute_txid());
    assert_eq!(next(&mut blocks).await.block_ref().hash, a1);

    // A competing branch from the fork, two blocks long, spends the coin differently in its
    // second block: the notifier follows the most-work chain without any invalidateblock.
    let second = wallet.spend(&coin, ScriptBuf::new_op_return([2]), 2);
    let b1 = chain.mine_on(fork.hash, Vec::new());
    let b2 = chain.mine_on(b1, vec![second.clone()]);
    assert_eq!(
        next(&mut spend).await,
        SpendEvent::ReorgedOut { block: spent.block }
    );
    let SpendEvent::Spent(respent) = next(&mut spend).await else {
        panic!("expected the other spend");
    };
    assert_eq!(respent.spending_txid, second.compute_txid());
    assert_eq!(respent.block.hash, b2);
    assert_eq!(respent.block.height, BlockHeight(fork.height.0 + 2));
    assert_eq!(
        next(&mut blocks).await,
        BlockEvent::Disconnected(spent.block)
    );
    assert_eq!(next(&mut blocks).await.block_ref().hash, b1);
    assert_eq!(next(&mut blocks).await.block_ref().hash, b2);
}

#[tokio::test]
async fn a_best_known_block_the_backend_never_saw_is_rejected() {
    let chain = MemChain::new();
    mine(&chain, 2).await;
    let running = start(&chain, config()).await;
    let bogus = BlockRef {
        hash: "00000000000000000000000000000000000000000000000000000000deadbeef"
            .parse()
            .unwrap(),
        height: BlockHeight(1),
    };
    let mut sub = running.handle.register_blocks(Some(bogus)).await.unwrap();
    assert!(tokio::time::timeout(EVENT_TIMEOUT, sub.recv())
        .await
        .unwrap()
        .is_none());
    assert_eq!(sub.end_reason(), Some(StreamEnd::Rejected));
}

#[tokio::test]
async fn one_block_among_a_thousand_watched_outpoints_wakes_only_its_spenders() {
    let chain = MemChain::new();
    let mut wallet = Wallet::new();
    wallet.fund(&chain, 3).await;
    let running = start(&chain, config()).await;
    let hint = running.handle.best_block().await.unwrap().height;
    let coins: Vec<_> = (0..3).map(|_| wallet.take_coin()).collect();
    let mut watched = Vec::new();
    for i in 0..1000u32 {
        let outpoint = OutPoint::new(coins[0].0.txid, 1000 + i);
        watched.push(
            running
                .handle
                .register_spend(outpoint, ScriptBuf::new(), hint)
                .await
                .unwrap(),
        );
    }
    let mut real = Vec::new();
    for coin in &coins[1..] {
        real.push(
            running
                .handle
                .register_spend(coin.0, ScriptBuf::new(), hint)
                .await
                .unwrap(),
        );
    }
    running.handle.best_block().await.unwrap();
    let txs: Vec<_> = coins[1..]
        .iter()
        .map(|coin| wallet.spend(coin, ScriptBuf::new_op_return([3]), 1))
        .collect();
    chain.mine_with(txs.clone());
    for (sub, tx) in real.iter_mut().zip(&txs) {
        let SpendEvent::Spent(spent) = next(sub).await else {
            panic!("expected Spent");
        };
        assert_eq!(spent.spending_txid, tx.compute_txid());
    }
    wait_synced(&running.handle, &chain).await;
    assert!(watched.iter_mut().all(|sub| sub.try_recv().is_none()));
}
