//! The conformance suite: every case takes a backend ([`TestChain`]) and a notifier
//! configuration, so the same checks run on the in-memory chain, on the stand-in JSON-RPC
//! server, on `petrel regtest` and on a real `bitcoind -regtest -server` (issue #9).
//!
//! Every case funds its own coins and only looks at blocks it mines, so cases may share one
//! chain as long as they do not run at the same time.

use bitcoin::{OutPoint, Txid};
use petrel::chain::{
    BlockEvent, BlockRef, ChainSource, ConfEvent, NotifierConfig, SpendEvent, StreamEnd,
};
use petrel::units::BlockHeight;

use super::{assert_quiet, mine, next, start, throwaway_address, wait_synced, TestChain, Wallet};

/// Asserts that `event` is a `Confirmed` of `txid` in `block` at `depth`; returns it back.
fn confirmed(event: &ConfEvent, txid: Txid, depth: u32) -> BlockRef {
    match event {
        ConfEvent::Confirmed(c) => {
            assert_eq!(c.tx.compute_txid(), txid);
            assert_eq!(c.confirmations, depth, "{event:?}");
            c.block
        }
        other => panic!("expected Confirmed, got {other:?}"),
    }
}

fn depth_of(event: &ConfEvent) -> u32 {
    match event {
        ConfEvent::Depth(c) => c.confirmations,
        other => panic!("expected Depth, got {other:?}"),
    }
}

/// The `ChainSource` calls answer as bitcoind does: consistent tip, blocks decoded and
/// matching their hashes, `None` for what does not exist, broadcast into the mempool.
pub async fn source_answers_like_bitcoind<C: TestChain>(chain: &C) {
    let source = chain.source();
    let mut wallet = Wallet::new();
    wallet.fund(chain, 1).await;

    let tip = source.best_block().await.unwrap();
    assert_eq!(source.best_block_hash().await.unwrap(), tip.hash);
    assert_eq!(source.block_hash(tip.height).await.unwrap(), Some(tip.hash));
    let above = BlockHeight(tip.height.0 + 1);
    assert_eq!(
        source.block_hash(above).await.unwrap(),
        None,
        "above the tip"
    );
    let block = source.block(tip.hash).await.unwrap().unwrap();
    assert_eq!(block.block_hash(), tip.hash);
    let info = source.block_info(tip.hash).await.unwrap().unwrap();
    assert_eq!(info.height, tip.height);
    assert_eq!(info.prev_hash, Some(block.header.prev_blockhash));
    let (hash, _) = source.block_at(tip.height).await.unwrap().unwrap();
    assert_eq!(hash, tip.hash);
    let genesis = source.block_hash(BlockHeight(0)).await.unwrap().unwrap();
    let genesis_info = source.block_info(genesis).await.unwrap().unwrap();
    assert_eq!(genesis_info.height, BlockHeight(0));
    assert_eq!(genesis_info.prev_hash, None);

    let unknown = "00000000000000000000000000000000000000000000000000000000deadbeef";
    assert_eq!(source.block(unknown.parse().unwrap()).await.unwrap(), None);
    assert_eq!(
        source.block_info(unknown.parse().unwrap()).await.unwrap(),
        None
    );
    assert_eq!(
        source
            .raw_transaction(unknown.parse().unwrap())
            .await
            .unwrap(),
        None
    );

    let coin = wallet.take_coin();
    let tx = wallet.spend(&coin, wallet.script(), 1);
    let txid = source.broadcast(&tx).await.unwrap();
    assert_eq!(txid, tx.compute_txid());
    assert_eq!(
        source.broadcast(&tx).await.unwrap(),
        txid,
        "rebroadcast is accepted"
    );
    assert_eq!(
        source.raw_transaction(txid).await.unwrap(),
        Some(tx.clone()),
        "mempool lookup"
    );
    let conflict = wallet.spend(&coin, throwaway_address().script_pubkey(), 2);
    let error = source.broadcast(&conflict).await.unwrap_err();
    assert!(
        error.rpc_code().is_some(),
        "a conflicting spend is refused by the node: {error}"
    );
    // Regtest has no fee history: either an estimate or None, never an error.
    source.estimate_fee(6).await.unwrap();
    mine(chain, 1).await;
}

/// A transaction is confirmed, counted block by block, reorged out by invalidating its block
/// (`depth` blocks disconnected), and confirmed again when a longer branch re-mines it.
pub async fn confirmations_follow_reorgs<C: TestChain>(
    chain: &C,
    config: NotifierConfig,
    depth: u32,
) {
    assert!(depth >= 1);
    let source = chain.source();
    let mut wallet = Wallet::new();
    wallet.fund(chain, 1).await;
    let running = start(&source, config).await;
    let handle = &running.handle;

    let coin = wallet.take_coin();
    let tx = wallet.spend(&coin, wallet.script(), 1);
    let txid = tx.compute_txid();
    let tip = handle.best_block().await.unwrap();
    let mut sub = handle
        .register_confirmations(txid, wallet.script(), 3, tip.height)
        .await
        .unwrap();
    source.broadcast(&tx).await.unwrap();
    handle.best_block().await.unwrap(); // the registration is in

    let mined = mine(chain, 1).await;
    let first = confirmed(&next(&mut sub).await, txid, 1);
    assert_eq!(first.hash, mined[0]);
    assert_eq!(first.height, BlockHeight(tip.height.0 + 1));
    if depth > 1 {
        mine(chain, depth - 1).await;
    }
    for expected in 2..=depth {
        assert_eq!(depth_of(&next(&mut sub).await), expected);
    }

    chain.invalidate(first.hash).await;
    for expected in (1..depth).rev() {
        assert_eq!(
            depth_of(&next(&mut sub).await),
            expected,
            "blocks above go first"
        );
    }
    assert_eq!(next(&mut sub).await, ConfEvent::ReorgedOut { block: first });
    wait_synced(handle, &source).await;
    assert_quiet(&mut sub);

    // The invalidated block's transactions are back in the mempool: the next block takes it.
    let remined = mine(chain, depth + 1).await;
    let again = confirmed(&next(&mut sub).await, txid, 1);
    assert_eq!(again.hash, remined[0]);
    assert_ne!(again.hash, first.hash);
    for expected in 2..=depth + 1 {
        assert_eq!(depth_of(&next(&mut sub).await), expected);
    }
}

/// A spend is reported with its transaction, undone by invalidating its block (`depth` blocks
/// disconnected), and reported again when re-mined.
pub async fn spends_follow_reorgs<C: TestChain>(chain: &C, config: NotifierConfig, depth: u32) {
    let source = chain.source();
    let mut wallet = Wallet::new();
    wallet.fund(chain, 1).await;
    let running = start(&source, config).await;
    let handle = &running.handle;

    let coin = wallet.take_coin();
    let tip = handle.best_block().await.unwrap();
    let mut sub = handle
        .register_spend(coin.0, coin.1.script_pubkey.clone(), tip.height)
        .await
        .unwrap();
    handle.best_block().await.unwrap();
    let tx = wallet.spend(&coin, throwaway_address().script_pubkey(), 1);
    source.broadcast(&tx).await.unwrap();
    let mined = mine(chain, depth).await;
    let SpendEvent::Spent(spend) = next(&mut sub).await else {
        panic!("expected Spent");
    };
    assert_eq!(spend.outpoint, coin.0);
    assert_eq!(*spend.spending_tx, tx);
    assert_eq!(spend.spending_txid, tx.compute_txid());
    assert_eq!(spend.input_index, 0);
    assert_eq!(spend.block.hash, mined[0]);
    wait_synced(handle, &source).await;
    assert_quiet(&mut sub);

    chain.invalidate(mined[0]).await;
    assert_eq!(
        next(&mut sub).await,
        SpendEvent::ReorgedOut { block: spend.block }
    );
    let remined = mine(chain, depth + 1).await;
    let SpendEvent::Spent(again) = next(&mut sub).await else {
        panic!("expected Spent again");
    };
    assert_eq!(again.block.hash, remined[0]);
    assert_eq!(again.spending_txid, tx.compute_txid());
}

/// Block subscribers get every block in order, `Disconnected` on reorgs, and a replay from
/// their `best_known` block, including one that a reorg made stale.
pub async fn blocks_stream_with_replay<C: TestChain>(chain: &C, config: NotifierConfig) {
    let source = chain.source();
    mine(chain, 1).await;
    let running = start(&source, config).await;
    let handle = &running.handle;
    let base = handle.best_block().await.unwrap();
    let mut live = handle.register_blocks(None).await.unwrap();
    handle.best_block().await.unwrap();

    let first = mine(chain, 3).await;
    let mut old_branch = Vec::new();
    for (i, hash) in first.iter().enumerate() {
        let event = next(&mut live).await;
        let expected = BlockRef {
            hash: *hash,
            height: BlockHeight(base.height.0 + 1 + u32::try_from(i).unwrap()),
        };
        assert_eq!(event.block_ref(), expected);
        assert!(matches!(event, BlockEvent::Connected { .. }));
        old_branch.push(expected);
    }

    // Reorg two blocks away, then build a longer branch.
    chain.invalidate(first[1]).await;
    assert_eq!(
        next(&mut live).await,
        BlockEvent::Disconnected(old_branch[2])
    );
    assert_eq!(
        next(&mut live).await,
        BlockEvent::Disconnected(old_branch[1])
    );
    let second = mine(chain, 3).await;
    for hash in &second {
        let event = next(&mut live).await;
        assert!(
            matches!(&event, BlockEvent::Connected { block, .. } if block.block_hash() == *hash)
        );
    }
    let tip = wait_synced(handle, &source).await;
    assert_quiet(&mut live);

    // A subscriber that last saw the now-stale old tip: it is walked back to the fork, then
    // forward on the best chain.
    let mut stale = handle.register_blocks(Some(old_branch[2])).await.unwrap();
    assert_eq!(
        next(&mut stale).await,
        BlockEvent::Disconnected(old_branch[2])
    );
    assert_eq!(
        next(&mut stale).await,
        BlockEvent::Disconnected(old_branch[1])
    );
    for (i, hash) in second.iter().enumerate() {
        let event = next(&mut stale).await;
        assert_eq!(event.block_ref().hash, *hash);
        assert_eq!(
            event.block_ref().height,
            BlockHeight(old_branch[0].height.0 + 1 + u32::try_from(i).unwrap())
        );
    }
    // A subscriber whose best_known is in the best chain only gets what follows it.
    let mut resumed = handle.register_blocks(Some(base)).await.unwrap();
    let mut heights = Vec::new();
    while heights.len() < usize::try_from(tip.height.0 - base.height.0).unwrap() {
        let event = next(&mut resumed).await;
        assert!(matches!(event, BlockEvent::Connected { .. }));
        heights.push(event.block_ref().height.0);
    }
    let expected: Vec<u32> = (base.height.0 + 1..=tip.height.0).collect();
    assert_eq!(heights, expected);
    // And everyone carries on live.
    let newest = mine(chain, 1).await[0];
    for sub in [&mut live, &mut stale, &mut resumed] {
        assert_eq!(next(sub).await.block_ref().hash, newest);
    }
}

/// Registrations made after the fact find past confirmations and spends by scanning from the
/// height hint (no `-txindex` needed).
pub async fn height_hints_find_history<C: TestChain>(chain: &C, config: NotifierConfig) {
    let source = chain.source();
    let mut wallet = Wallet::new();
    wallet.fund(chain, 1).await;
    let coin = wallet.take_coin();
    let tx = wallet.spend(&coin, wallet.script(), 1);
    let hint = source.best_block().await.unwrap().height;
    source.broadcast(&tx).await.unwrap();
    let mined = mine(chain, 4).await;

    let running = start(&source, config).await;
    let handle = &running.handle;
    let mut conf = handle
        .register_confirmations(tx.compute_txid(), wallet.script(), 2, hint)
        .await
        .unwrap();
    let block = confirmed(&next(&mut conf).await, tx.compute_txid(), 4);
    assert_eq!(block.hash, mined[0]);
    let mut spend = handle
        .register_spend(coin.0, coin.1.script_pubkey.clone(), hint)
        .await
        .unwrap();
    let SpendEvent::Spent(details) = next(&mut spend).await else {
        panic!("expected Spent");
    };
    assert_eq!(details.block, block);
    // An outpoint nobody spent stays quiet after the scan.
    let mut unseen = handle
        .register_spend(OutPoint::new(tx.compute_txid(), 0), wallet.script(), hint)
        .await
        .unwrap();
    wait_synced(handle, &source).await;
    assert_quiet(&mut unseen);
}

/// Several subscribers of one transaction each get every event; a dropped one does not
/// disturb the others; streams end with `Final` past the reorg-safety depth.
pub async fn many_subscribers_and_dropped_ones<C: TestChain>(
    chain: &C,
    mut config: NotifierConfig,
) {
    config.reorg_safety_depth = 3;
    let source = chain.source();
    let mut wallet = Wallet::new();
    wallet.fund(chain, 1).await;
    let running = start(&source, config).await;
    let handle = &running.handle;
    let coin = wallet.take_coin();
    let tx = wallet.spend(&coin, wallet.script(), 1);
    let txid = tx.compute_txid();
    let hint = handle.best_block().await.unwrap().height;
    let mut subs = Vec::new();
    for num_confs in [1, 2, 6] {
        subs.push(
            handle
                .register_confirmations(txid, wallet.script(), num_confs, hint)
                .await
                .unwrap(),
        );
    }
    let dropped = handle
        .register_confirmations(txid, wallet.script(), 1, hint)
        .await
        .unwrap();
    drop(dropped);
    source.broadcast(&tx).await.unwrap();
    handle.best_block().await.unwrap();
    mine(chain, 6).await;
    let mut ends = Vec::new();
    for (sub, expected_last) in subs.iter_mut().zip([4, 4, 6]) {
        confirmed(&next(sub).await, txid, 1);
        for expected in 2..=expected_last {
            assert_eq!(depth_of(&next(sub).await), expected);
        }
        // Final: the stream closes right after the event that completed it.
        assert_eq!(
            tokio::time::timeout(super::EVENT_TIMEOUT, sub.recv())
                .await
                .unwrap(),
            None
        );
        ends.push(sub.end_reason());
    }
    assert_eq!(ends, vec![Some(StreamEnd::Final); 3]);
}
