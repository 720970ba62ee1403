//! The core on synthetic chains: confirmations, spends, reorgs of 1, 2 and 6 blocks, many and
//! dropped subscribers, historical scans, and a model check over random chain histories.

use bitcoin::absolute::LockTime;
use bitcoin::block::{Header, Version};
use bitcoin::hashes::Hash as _;
use bitcoin::transaction::Version as TxVersion;
use bitcoin::{Amount, CompactTarget, Sequence, TxIn, TxMerkleNode, TxOut, Witness};
use proptest::prelude::*;

use super::*;

/// A synthetic best chain: `blocks[h]` is the block at height `h`.
struct Chain {
    blocks: Vec<Block>,
    /// Makes every block and transaction unique.
    salt: u32,
}

impl Chain {
    fn new() -> Chain {
        let mut chain = Chain {
            blocks: Vec::new(),
            salt: 0,
        };
        let genesis = chain.make_block(BlockHash::all_zeros(), Vec::new());
        chain.blocks.push(genesis);
        chain
    }

    fn tip(&self) -> BlockRef {
        let height = self.blocks.len() - 1;
        BlockRef {
            hash: self.blocks[height].block_hash(),
            height: h(height),
        }
    }

    fn make_block(&mut self, prev: BlockHash, txs: Vec<Transaction>) -> Block {
        self.salt += 1;
        let coinbase = Transaction {
            version: TxVersion::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::null(),
                script_sig: ScriptBuf::from(self.salt.to_le_bytes().to_vec()),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value: Amount::from_sat(50),
                script_pubkey: ScriptBuf::new_op_return([1u8; 4]),
            }],
        };
        let mut txdata = vec![coinbase];
        txdata.extend(txs);
        let mut block = Block {
            header: Header {
                version: Version::TWO,
                prev_blockhash: prev,
                merkle_root: TxMerkleNode::all_zeros(),
                time: self.salt,
                bits: CompactTarget::from_consensus(0x207f_ffff),
                nonce: self.salt,
            },
            txdata,
        };
        block.header.merkle_root = block.compute_merkle_root().unwrap();
        block
    }

    /// Appends a block holding `txs` and returns it with its height.
    fn mine(&mut self, txs: Vec<Transaction>) -> (Block, BlockHeight) {
        let prev = self.tip().hash;
        let block = self.make_block(prev, txs);
        self.blocks.push(block.clone());
        (block, h(self.blocks.len() - 1))
    }

    /// Removes the tip and returns its height.
    fn pop(&mut self) -> BlockHeight {
        let height = h(self.blocks.len() - 1);
        self.blocks.pop();
        height
    }

    /// A transaction spending `inputs` to `outputs` scripts.
    fn tx(&mut self, inputs: &[OutPoint], outputs: &[ScriptBuf]) -> Transaction {
        self.salt += 1;
        Transaction {
            version: TxVersion::TWO,
            lock_time: LockTime::from_consensus(self.salt),
            input: inputs
                .iter()
                .map(|outpoint| TxIn {
                    previous_output: *outpoint,
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence::MAX,
                    witness: Witness::new(),
                })
                .collect(),
            output: outputs
                .iter()
                .map(|script| TxOut {
                    value: Amount::from_sat(1000),
                    script_pubkey: script.clone(),
                })
                .collect(),
        }
    }
}

fn h(height: usize) -> BlockHeight {
    BlockHeight(u32::try_from(height).unwrap())
}

fn script(tag: u8) -> ScriptBuf {
    ScriptBuf::new_op_return([tag; 8])
}

fn outpoint(tag: u8) -> OutPoint {
    OutPoint {
        txid: Txid::from_byte_array([tag; 32]),
        vout: u32::from(tag),
    }
}

/// A core at the synthetic chain's tip.
fn core_on(chain: &Chain, safety: u32) -> TxNotifier {
    TxNotifier::new(chain.tip(), safety)
}

fn conf_request(txid: Txid, script: ScriptBuf, num_confs: u32, hint: u32) -> ConfRequest {
    ConfRequest {
        txid,
        script,
        num_confs,
        height_hint: BlockHeight(hint),
    }
}

fn spend_request(outpoint: OutPoint, hint: u32) -> SpendRequest {
    SpendRequest {
        outpoint,
        script: script(0),
        height_hint: BlockHeight(hint),
    }
}

/// Mines a block in `chain` and connects it to `core`.
fn connect(core: &mut TxNotifier, chain: &mut Chain, txs: Vec<Transaction>) -> Vec<Notification> {
    let (block, height) = chain.mine(txs);
    core.connect_tip(&block, height).unwrap()
}

/// Pops `n` blocks from `chain` and disconnects them from `core`.
fn disconnect(core: &mut TxNotifier, chain: &mut Chain, n: usize) -> Vec<Notification> {
    let mut out = Vec::new();
    for _ in 0..n {
        let height = chain.pop();
        out.extend(core.disconnect_tip(height).unwrap());
    }
    out
}

fn id(n: u64) -> SubscriptionId {
    SubscriptionId(n)
}

/// The conf events for subscription `n`, in order.
fn confs_for(notes: &[Notification], n: u64) -> Vec<ConfEvent> {
    notes
        .iter()
        .filter(|note| note.id == id(n))
        .filter_map(|note| match &note.kind {
            NotificationKind::Conf(event) => Some(event.clone()),
            _ => None,
        })
        .collect()
}

/// The spend events for subscription `n`, in order.
fn spends_for(notes: &[Notification], n: u64) -> Vec<SpendEvent> {
    notes
        .iter()
        .filter(|note| note.id == id(n))
        .filter_map(|note| match &note.kind {
            NotificationKind::Spend(event) => Some(event.clone()),
            _ => None,
        })
        .collect()
}

fn is_final(notes: &[Notification], n: u64) -> bool {
    notes
        .iter()
        .any(|note| note.id == id(n) && note.kind == NotificationKind::Final)
}

#[test]
fn confirmation_is_reported_with_position_then_every_block_until_final() {
    let mut chain = Chain::new();
    let mut core = core_on(&chain, 3);
    let funding = chain.tx(&[outpoint(1)], &[script(7), script(9)]);
    let txid = funding.compute_txid();
    let notes = core
        .register_confirmations(id(1), &conf_request(txid, script(9), 6, 1))
        .unwrap();
    assert!(notes.is_empty());
    assert_eq!(
        core.pending_rescan(),
        None,
        "hint above the tip needs no rescan"
    );

    let other = chain.tx(&[outpoint(2)], &[script(3)]);
    let notes = connect(&mut core, &mut chain, vec![other, funding.clone()]);
    let events = confs_for(&notes, 1);
    let [ConfEvent::Confirmed(c)] = events.as_slice() else {
        panic!("expected one Confirmed, got {events:?}");
    };
    assert_eq!(c.block, chain.tip());
    assert_eq!(
        c.tx_index, 2,
        "after the coinbase and one other transaction"
    );
    assert_eq!(c.output_index, Some(1));
    assert_eq!(c.confirmations, 1);
    assert_eq!(*c.tx, funding);

    // num_confs = 6 is above safety + 1 = 4: one Depth per block up to 6, then Final.
    for depth in 2..=6 {
        let notes = connect(&mut core, &mut chain, Vec::new());
        let events = confs_for(&notes, 1);
        let [ConfEvent::Depth(c)] = events.as_slice() else {
            panic!("expected one Depth, got {events:?}");
        };
        assert_eq!(c.confirmations, depth);
        assert_eq!(c.block.height, BlockHeight(1));
        assert_eq!(is_final(&notes, 1), depth == 6);
    }
    assert_eq!(core.subscriptions(), 0);
    assert_eq!(core.targets(), (0, 0));
    assert!(connect(&mut core, &mut chain, Vec::new()).is_empty());
}

#[test]
fn confirmations_count_past_num_confs_until_the_safety_depth() {
    let mut chain = Chain::new();
    let mut core = core_on(&chain, 5);
    let tx = chain.tx(&[outpoint(1)], &[script(1)]);
    core.register_confirmations(id(1), &conf_request(tx.compute_txid(), script(1), 1, 1))
        .unwrap();
    let notes = connect(&mut core, &mut chain, vec![tx]);
    assert!(matches!(
        confs_for(&notes, 1).as_slice(),
        [ConfEvent::Confirmed(_)]
    ));
    assert!(
        !is_final(&notes, 1),
        "num_confs 1 reached, but a reorg could still undo it"
    );
    let mut depths = Vec::new();
    loop {
        let notes = connect(&mut core, &mut chain, Vec::new());
        depths.extend(confs_for(&notes, 1).iter().map(ConfEvent::confirmations));
        if is_final(&notes, 1) {
            break;
        }
    }
    assert_eq!(
        depths,
        vec![2, 3, 4, 5, 6],
        "final once deeper than 5 blocks"
    );
}

/// Confirmed at the tip, then a reorg of `n` blocks takes the block away and a longer branch
/// without the transaction wins, then the transaction comes back at a new height.
fn reorg_out_and_back(n: usize) {
    let mut chain = Chain::new();
    let mut core = core_on(&chain, 6);
    for _ in 0..3 {
        connect(&mut core, &mut chain, Vec::new());
    }
    let tx = chain.tx(&[outpoint(1)], &[script(1)]);
    let txid = tx.compute_txid();
    core.register_confirmations(id(1), &conf_request(txid, script(1), 3, 0))
        .unwrap();
    // The transaction confirms in the first of the `n` blocks that will be reorged out.
    let notes = connect(&mut core, &mut chain, vec![tx.clone()]);
    let old_block = chain.tip();
    assert!(matches!(
        confs_for(&notes, 1).as_slice(),
        [ConfEvent::Confirmed(_)]
    ));
    for _ in 1..n {
        connect(&mut core, &mut chain, Vec::new());
    }
    let notes = disconnect(&mut core, &mut chain, n);
    let events = confs_for(&notes, 1);
    let (last, shallower) = events.split_last().unwrap();
    assert_eq!(
        *last,
        ConfEvent::ReorgedOut { block: old_block },
        "one ReorgedOut, naming the block that held it"
    );
    let depths: Vec<u32> = shallower.iter().map(ConfEvent::confirmations).collect();
    let expected: Vec<u32> = (1..u32::try_from(n).unwrap()).rev().collect();
    assert_eq!(
        depths, expected,
        "depth counted down as the blocks above went"
    );
    // The new branch: n + 1 blocks without the transaction, then one with it.
    for _ in 0..=n {
        let notes = connect(&mut core, &mut chain, Vec::new());
        assert!(
            confs_for(&notes, 1).is_empty(),
            "unconfirmed: no depth updates"
        );
    }
    let notes = connect(&mut core, &mut chain, vec![tx]);
    let events = confs_for(&notes, 1);
    let [ConfEvent::Confirmed(c)] = events.as_slice() else {
        panic!("expected Confirmed again, got {events:?}");
    };
    assert_eq!(c.block, chain.tip());
    assert_ne!(c.block, old_block);
    assert_eq!(c.confirmations, 1);
}

#[test]
fn reorg_of_one_block_unconfirms_then_reconfirms() {
    reorg_out_and_back(1);
}

#[test]
fn reorg_of_two_blocks_unconfirms_then_reconfirms() {
    reorg_out_and_back(2);
}

#[test]
fn reorg_of_six_blocks_unconfirms_then_reconfirms() {
    reorg_out_and_back(6);
}

#[test]
fn reorg_above_the_confirming_block_keeps_it_confirmed() {
    let mut chain = Chain::new();
    let mut core = core_on(&chain, 6);
    let tx = chain.tx(&[outpoint(1)], &[script(1)]);
    core.register_confirmations(id(1), &conf_request(tx.compute_txid(), script(1), 3, 0))
        .unwrap();
    connect(&mut core, &mut chain, vec![tx]);
    connect(&mut core, &mut chain, Vec::new());
    connect(&mut core, &mut chain, Vec::new());
    let notes = disconnect(&mut core, &mut chain, 2);
    let depths: Vec<u32> = confs_for(&notes, 1)
        .iter()
        .map(|event| match event {
            ConfEvent::Depth(c) => c.confirmations,
            other => panic!("its block stayed, yet {other:?}"),
        })
        .collect();
    assert_eq!(depths, vec![2, 1]);
    let notes = connect(&mut core, &mut chain, Vec::new());
    let events = confs_for(&notes, 1);
    assert_eq!(events.len(), 1);
    assert!(matches!(&events[0], ConfEvent::Depth(c) if c.confirmations == 2));
}

#[test]
fn many_subscribers_share_a_target_and_end_on_their_own_terms() {
    let mut chain = Chain::new();
    let mut core = core_on(&chain, 2);
    let tx = chain.tx(&[outpoint(1)], &[script(1), script(2)]);
    let txid = tx.compute_txid();
    core.register_confirmations(id(1), &conf_request(txid, script(1), 1, 1))
        .unwrap();
    core.register_confirmations(id(2), &conf_request(txid, script(2), 5, 1))
        .unwrap();
    core.register_confirmations(id(3), &conf_request(txid, script(9), 3, 1))
        .unwrap();
    assert_eq!(core.targets(), (1, 0), "one target, three subscribers");
    let notes = connect(&mut core, &mut chain, vec![tx]);
    let indexes: Vec<Option<u32>> = (1..=3)
        .map(|n| match confs_for(&notes, n).as_slice() {
            [ConfEvent::Confirmed(c)] => c.output_index,
            other => panic!("subscriber {n}: {other:?}"),
        })
        .collect();
    assert_eq!(indexes, vec![Some(0), Some(1), None]);
    // Safety 2: final at depth max(num_confs, 3).
    let mut ended = Vec::new();
    for depth in 2..=5 {
        let notes = connect(&mut core, &mut chain, Vec::new());
        for n in 1..=3 {
            if is_final(&notes, n) {
                ended.push((n, depth));
            }
        }
    }
    assert_eq!(ended, vec![(1, 3), (3, 3), (2, 5)]);
    assert_eq!(core.targets(), (0, 0));
}

#[test]
fn cancelled_subscribers_hear_nothing_and_free_their_target() {
    let mut chain = Chain::new();
    let mut core = core_on(&chain, 6);
    let tx = chain.tx(&[outpoint(1)], &[script(1)]);
    let txid = tx.compute_txid();
    core.register_confirmations(id(1), &conf_request(txid, script(1), 1, 1))
        .unwrap();
    core.register_confirmations(id(2), &conf_request(txid, script(1), 1, 1))
        .unwrap();
    core.register_spend(id(3), &spend_request(outpoint(5), 1))
        .unwrap();
    core.cancel(id(1));
    let notes = connect(&mut core, &mut chain, vec![tx]);
    assert!(confs_for(&notes, 1).is_empty());
    assert_eq!(confs_for(&notes, 2).len(), 1);
    core.cancel(id(2));
    core.cancel(id(3));
    core.cancel(id(99));
    assert_eq!(core.subscriptions(), 0);
    assert_eq!(core.targets(), (0, 0));
    assert!(core.confirmed_at.is_empty(), "no index entry left behind");
    assert!(connect(&mut core, &mut chain, Vec::new()).is_empty());
}

#[test]
fn spend_is_reported_then_undone_then_moved_to_another_transaction_and_height() {
    let mut chain = Chain::new();
    let mut core = core_on(&chain, 6);
    let watched = outpoint(1);
    core.register_spend(id(1), &spend_request(watched, 1))
        .unwrap();
    core.register_spend(id(2), &spend_request(watched, 1))
        .unwrap();
    let first = chain.tx(&[outpoint(2), watched], &[script(1)]);
    let notes = connect(&mut core, &mut chain, vec![first.clone()]);
    let first_block = chain.tip();
    for n in [1, 2] {
        let events = spends_for(&notes, n);
        let [SpendEvent::Spent(spend)] = events.as_slice() else {
            panic!("subscriber {n}: {events:?}");
        };
        assert_eq!(spend.outpoint, watched);
        assert_eq!(*spend.spending_tx, first);
        assert_eq!(spend.spending_txid, first.compute_txid());
        assert_eq!(spend.input_index, 1);
        assert_eq!(spend.block, first_block);
    }
    connect(&mut core, &mut chain, Vec::new());
    let notes = disconnect(&mut core, &mut chain, 2);
    for n in [1, 2] {
        assert_eq!(
            spends_for(&notes, n),
            vec![SpendEvent::ReorgedOut { block: first_block }]
        );
    }
    // The other branch spends the outpoint with a different transaction, two blocks later.
    connect(&mut core, &mut chain, Vec::new());
    connect(&mut core, &mut chain, Vec::new());
    let second = chain.tx(&[watched], &[script(2)]);
    let notes = connect(&mut core, &mut chain, vec![second.clone()]);
    let events = spends_for(&notes, 1);
    let [SpendEvent::Spent(spend)] = events.as_slice() else {
        panic!("{events:?}");
    };
    assert_eq!(*spend.spending_tx, second);
    assert_eq!(spend.input_index, 0);
    assert_eq!(spend.block.height, BlockHeight(3));
    assert_ne!(spend.block.height, first_block.height);
}

#[test]
fn spend_streams_end_once_deeper_than_the_safety_depth() {
    let mut chain = Chain::new();
    let mut core = core_on(&chain, 2);
    core.register_spend(id(1), &spend_request(outpoint(1), 1))
        .unwrap();
    let tx = chain.tx(&[outpoint(1)], &[script(1)]);
    connect(&mut core, &mut chain, vec![tx]);
    assert!(!is_final(&connect(&mut core, &mut chain, Vec::new()), 1));
    assert!(is_final(&connect(&mut core, &mut chain, Vec::new()), 1));
    assert_eq!(core.targets(), (0, 0));
    assert!(core.spent_at.is_empty());
}

#[test]
fn one_transaction_can_spend_several_watched_outpoints_and_confirm_a_watched_txid() {
    let mut chain = Chain::new();
    let mut core = core_on(&chain, 6);
    let tx = chain.tx(&[outpoint(1), outpoint(2)], &[script(1)]);
    core.register_spend(id(1), &spend_request(outpoint(1), 1))
        .unwrap();
    core.register_spend(id(2), &spend_request(outpoint(2), 1))
        .unwrap();
    core.register_confirmations(id(3), &conf_request(tx.compute_txid(), script(1), 1, 1))
        .unwrap();
    let notes = connect(&mut core, &mut chain, vec![tx]);
    assert!(
        matches!(spends_for(&notes, 1).as_slice(), [SpendEvent::Spent(s)] if s.input_index == 0)
    );
    assert!(
        matches!(spends_for(&notes, 2).as_slice(), [SpendEvent::Spent(s)] if s.input_index == 1)
    );
    assert!(matches!(
        confs_for(&notes, 3).as_slice(),
        [ConfEvent::Confirmed(_)]
    ));
}

#[test]
fn coinbase_inputs_spend_nothing() {
    let mut chain = Chain::new();
    let mut core = core_on(&chain, 6);
    core.register_spend(id(1), &spend_request(OutPoint::null(), 0))
        .unwrap();
    core.finish_rescan();
    let notes = connect(&mut core, &mut chain, Vec::new());
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn historical_scan_finds_past_confirmations_and_spends() {
    let mut chain = Chain::new();
    let mut core = core_on(&chain, 3);
    let old = chain.tx(&[outpoint(1)], &[script(1)]);
    let recent = chain.tx(&[outpoint(2)], &[script(2)]);
    connect(&mut core, &mut chain, Vec::new());
    connect(&mut core, &mut chain, vec![old.clone()]); // height 2
    for _ in 0..5 {
        connect(&mut core, &mut chain, Vec::new());
    }
    connect(&mut core, &mut chain, vec![recent.clone()]); // height 8
    connect(&mut core, &mut chain, Vec::new()); // tip 9
                                                // Registered after the fact, with hints at or below where they happened.
    core.register_confirmations(id(1), &conf_request(old.compute_txid(), script(1), 2, 1))
        .unwrap();
    core.register_confirmations(id(2), &conf_request(recent.compute_txid(), script(2), 6, 5))
        .unwrap();
    core.register_spend(id(3), &spend_request(outpoint(2), 7))
        .unwrap();
    core.register_spend(id(4), &spend_request(outpoint(9), 7))
        .unwrap();
    assert_eq!(core.pending_rescan(), Some(BlockHeight(1)));

    let mut notes = Vec::new();
    for height in 1..=9 {
        notes.extend(core.rescan_block(&chain.blocks[height], h(height)).unwrap());
    }
    core.finish_rescan();
    assert_eq!(core.pending_rescan(), None);
    // `old` is 8 deep, past both its num_confs and the safety depth: reported and finished.
    assert!(matches!(confs_for(&notes, 1).as_slice(),
        [ConfEvent::Confirmed(c)] if c.confirmations == 8 && c.block.height == BlockHeight(2)));
    assert!(is_final(&notes, 1));
    // `recent` is 2 deep: reported, still followed.
    assert!(matches!(confs_for(&notes, 2).as_slice(),
        [ConfEvent::Confirmed(c)] if c.confirmations == 2 && c.tx_index == 1));
    assert!(!is_final(&notes, 2));
    assert!(matches!(spends_for(&notes, 3).as_slice(),
        [SpendEvent::Spent(s)] if s.block.height == BlockHeight(8)));
    assert!(spends_for(&notes, 4).is_empty());
    // Live blocks go on from there.
    let notes = connect(&mut core, &mut chain, Vec::new());
    assert!(
        matches!(confs_for(&notes, 2).as_slice(), [ConfEvent::Depth(c)] if c.confirmations == 3)
    );
}

#[test]
fn historical_scan_rejects_blocks_that_are_not_the_cores() {
    let mut chain = Chain::new();
    let mut core = core_on(&chain, 3);
    connect(&mut core, &mut chain, Vec::new());
    let mut fork = Chain::new();
    fork.salt = 1000;
    let (stranger, _) = fork.mine(Vec::new());
    assert!(matches!(
        core.rescan_block(&stranger, BlockHeight(1)),
        Err(ChainError::RescanMismatch { .. })
    ));
    assert!(matches!(
        core.rescan_block(&chain.blocks[1], BlockHeight(2)),
        Err(ChainError::RescanMismatch { .. })
    ));
    assert!(core.rescan_block(&chain.blocks[1], BlockHeight(1)).is_ok());
}

#[test]
fn joining_a_confirmed_target_reports_its_current_depth_at_once() {
    let mut chain = Chain::new();
    let mut core = core_on(&chain, 3);
    let tx = chain.tx(&[outpoint(1)], &[script(1)]);
    let txid = tx.compute_txid();
    core.register_confirmations(id(1), &conf_request(txid, script(1), 10, 1))
        .unwrap();
    connect(&mut core, &mut chain, vec![tx]);
    connect(&mut core, &mut chain, Vec::new());
    let notes = core
        .register_confirmations(id(2), &conf_request(txid, script(1), 2, 1))
        .unwrap();
    assert!(
        matches!(confs_for(&notes, 2).as_slice(), [ConfEvent::Confirmed(c)] if c.confirmations == 2)
    );
    assert_eq!(core.pending_rescan(), None, "already known: no rescan");
    for _ in 0..2 {
        connect(&mut core, &mut chain, Vec::new());
    }
    // Depth 4 = safety + 1 >= num_confs: subscriber 2 joins already complete.
    let notes = core
        .register_confirmations(id(3), &conf_request(txid, script(1), 2, 1))
        .unwrap();
    assert!(
        matches!(confs_for(&notes, 3).as_slice(), [ConfEvent::Confirmed(c)] if c.confirmations == 4)
    );
    assert!(is_final(&notes, 3));
}

#[test]
fn joining_a_spent_target_reports_the_spend_at_once() {
    let mut chain = Chain::new();
    let mut core = core_on(&chain, 2);
    core.register_spend(id(1), &spend_request(outpoint(1), 1))
        .unwrap();
    let tx = chain.tx(&[outpoint(1)], &[script(1)]);
    connect(&mut core, &mut chain, vec![tx]);
    let notes = core
        .register_spend(id(2), &spend_request(outpoint(1), 1))
        .unwrap();
    assert!(matches!(
        spends_for(&notes, 2).as_slice(),
        [SpendEvent::Spent(_)]
    ));
    assert!(!is_final(&notes, 2));
}

#[test]
fn tips_must_connect_in_order() {
    let mut chain = Chain::new();
    let mut core = core_on(&chain, 3);
    let (block, height) = chain.mine(Vec::new());
    assert!(matches!(
        core.connect_tip(&block, BlockHeight(height.0 + 1)),
        Err(ChainError::UnexpectedHeight { .. })
    ));
    let stranger = chain.make_block(BlockHash::from_byte_array([7; 32]), Vec::new());
    assert!(matches!(
        core.connect_tip(&stranger, height),
        Err(ChainError::BlockDoesNotConnect { .. })
    ));
    core.connect_tip(&block, height).unwrap();
    assert_eq!(core.tip(), chain.tip());
    assert!(matches!(
        core.disconnect_tip(BlockHeight(0)),
        Err(ChainError::UnexpectedHeight { .. })
    ));
}

#[test]
fn reorgs_deeper_than_the_safety_depth_are_refused() {
    let mut chain = Chain::new();
    let mut core = core_on(&chain, 2);
    for _ in 0..5 {
        connect(&mut core, &mut chain, Vec::new());
    }
    assert_eq!(
        core.hash_at(BlockHeight(5)),
        Some(chain.blocks[5].block_hash())
    );
    assert_eq!(
        core.hash_at(BlockHeight(3)),
        Some(chain.blocks[3].block_hash())
    );
    assert_eq!(
        core.hash_at(BlockHeight(2)),
        None,
        "only safety + 1 hashes are kept"
    );
    assert_eq!(core.hash_at(BlockHeight(6)), None);
    core.disconnect_tip(BlockHeight(5)).unwrap();
    core.disconnect_tip(BlockHeight(4)).unwrap();
    assert_eq!(core.tip().hash, chain.blocks[3].block_hash());
    assert!(matches!(
        core.disconnect_tip(BlockHeight(3)),
        Err(ChainError::ReorgTooDeep { limit: 2 })
    ));
}

#[test]
fn registrations_are_validated() {
    let chain = Chain::new();
    let mut core = core_on(&chain, 3);
    let txid = Txid::from_byte_array([1; 32]);
    assert!(matches!(
        core.register_confirmations(id(1), &conf_request(txid, script(1), 0, 0)),
        Err(ChainError::InvalidRegistration { .. })
    ));
    core.register_confirmations(id(1), &conf_request(txid, script(1), 1, 0))
        .unwrap();
    assert!(matches!(
        core.register_spend(id(1), &spend_request(outpoint(1), 0)),
        Err(ChainError::InvalidRegistration { .. })
    ));
}

// A model check: random histories of connects, reorgs and registrations. After every step,
// replaying each subscriber's events must give the same state as scanning the chain from
// scratch: confirmed at the right block with the right depth, or spent in the right block.

/// One step of a random history.
#[derive(Clone, Debug)]
enum Step {
    /// Mine a block holding the given pool transactions.
    Mine(Vec<usize>),
    /// Disconnect this many blocks (capped by the chain and the safety depth).
    Reorg(usize),
    /// Register a confirmation watch on a pool transaction.
    WatchTx(usize),
    /// Register a spend watch on a pool outpoint.
    WatchOutpoint(usize),
    /// Drop a subscriber.
    Cancel(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => prop::collection::vec(0..POOL, 0..3).prop_map(Step::Mine),
        1 => (1..=SAFETY as usize).prop_map(Step::Reorg),
        2 => (0..POOL).prop_map(Step::WatchTx),
        2 => (0..OUTPOINTS).prop_map(Step::WatchOutpoint),
        1 => (1..20u64).prop_map(Step::Cancel),
    ]
}

const POOL: usize = 6;
const OUTPOINTS: usize = 3;

fn pool_outpoint(i: usize) -> OutPoint {
    outpoint(u8::try_from(i + 1).unwrap())
}
const SAFETY: u32 = 6;

/// What a subscriber believes, rebuilt from its events.
#[derive(Debug, Default, Clone, PartialEq)]
struct Belief {
    conf: Option<(BlockRef, u32)>,
    spend: Option<(BlockRef, Txid)>,
    ended: bool,
}

fn apply(beliefs: &mut HashMap<SubscriptionId, Belief>, notes: Vec<Notification>) {
    for note in notes {
        let belief = beliefs.entry(note.id).or_default();
        assert!(!belief.ended, "event after the end: {note:?}");
        match note.kind {
            NotificationKind::Conf(ConfEvent::Confirmed(c)) => {
                assert!(belief.conf.is_none(), "Confirmed twice without ReorgedOut");
                belief.conf = Some((c.block, c.confirmations));
            }
            NotificationKind::Conf(ConfEvent::Depth(c)) => {
                let (block, before) = belief.conf.expect("Depth before Confirmed");
                assert_eq!(block, c.block);
                assert_eq!(
                    before.abs_diff(c.confirmations),
                    1,
                    "depth moves one block at a time"
                );
                belief.conf = Some((c.block, c.confirmations));
            }
            NotificationKind::Conf(ConfEvent::ReorgedOut { block }) => {
                assert_eq!(belief.conf.map(|(b, _)| b), Some(block));
                belief.conf = None;
            }
            NotificationKind::Spend(SpendEvent::Spent(s)) => {
                assert!(belief.spend.is_none(), "Spent twice without ReorgedOut");
                belief.spend = Some((s.block, s.spending_txid));
            }
            NotificationKind::Spend(SpendEvent::ReorgedOut { block }) => {
                assert_eq!(belief.spend.map(|(b, _)| b), Some(block));
                belief.spend = None;
            }
            NotificationKind::Final => belief.ended = true,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn subscribers_always_agree_with_a_full_rescan(steps in prop::collection::vec(step(), 1..60)) {
        let mut chain = Chain::new();
        // Pool transactions: tx i spends outpoint(i % OUTPOINTS + 1), so every outpoint has
        // two conflicting spenders; different branches may confirm different ones.
        let pool: Vec<Transaction> = (0..POOL)
            .map(|i| chain.tx(&[pool_outpoint(i % OUTPOINTS)], &[script(1)]))
            .collect();
        let mut core = core_on(&chain, SAFETY);
        let mut beliefs: HashMap<SubscriptionId, Belief> = HashMap::new();
        let mut watches: HashMap<SubscriptionId, Target> = HashMap::new();
        let mut next = 1u64;
        let mut mined: Vec<Vec<usize>> = vec![Vec::new()]; // pool indexes per height
        for step in steps {
            match step {
                Step::Mine(picks) => {
                    // Skip transactions whose input this branch already spends (which covers
                    // transactions already in it: a chain holds a txid once).
                    let mut fresh: Vec<usize> = Vec::new();
                    for p in picks {
                        let conflicts = |m: &usize| m % OUTPOINTS == p % OUTPOINTS;
                        if !mined.iter().flatten().any(conflicts) && !fresh.iter().any(conflicts) {
                            fresh.push(p);
                        }
                    }
                    let txs = fresh.iter().map(|p| pool[*p].clone()).collect();
                    apply(&mut beliefs, connect(&mut core, &mut chain, txs));
                    mined.push(fresh);
                }
                Step::Reorg(n) => {
                    let n = n.min(chain.blocks.len() - 1).min(core.recent.len() - 1);
                    apply(&mut beliefs, disconnect(&mut core, &mut chain, n));
                    mined.truncate(mined.len() - n);
                }
                Step::WatchTx(p) => {
                    let sub = id(next);
                    next += 1;
                    let request = conf_request(pool[p].compute_txid(), script(1), 3, 0);
                    apply(&mut beliefs, core.register_confirmations(sub, &request).unwrap());
                    beliefs.entry(sub).or_default();
                    watches.insert(sub, Target::Conf(pool[p].compute_txid()));
                }
                Step::WatchOutpoint(p) => {
                    let sub = id(next);
                    next += 1;
                    let watched = pool_outpoint(p);
                    apply(&mut beliefs, core.register_spend(sub, &spend_request(watched, 0)).unwrap());
                    beliefs.entry(sub).or_default();
                    watches.insert(sub, Target::Spend(watched));
                }
                Step::Cancel(n) => {
                    core.cancel(id(n));
                    watches.remove(&id(n));
                    beliefs.remove(&id(n));
                }
            }
            if let Some(from) = core.pending_rescan() {
                for height in from.0..=core.tip().height.0 {
                    let height = BlockHeight(height);
                    let block = chain.blocks[usize::try_from(height.0).unwrap()].clone();
                    apply(&mut beliefs, core.rescan_block(&block, height).unwrap());
                }
                core.finish_rescan();
            }
            // Compare every live subscriber with the truth.
            let tip = core.tip().height;
            for (sub, target) in &watches {
                let belief = &beliefs[sub];
                if belief.ended {
                    continue;
                }
                match target {
                    Target::Conf(txid) => {
                        let truth = chain.blocks.iter().enumerate().find_map(|(height, block)| {
                            block.txdata.iter().any(|tx| tx.compute_txid() == *txid).then(|| {
                                let at = BlockRef { hash: block.block_hash(), height: h(height) };
                                (at, depth(tip, at.height))
                            })
                        });
                        prop_assert_eq!(belief.conf, truth, "subscriber {:?}", sub);
                    }
                    Target::Spend(watched) => {
                        let truth = chain.blocks.iter().enumerate().find_map(|(height, block)| {
                            block.txdata.iter().find(|tx| {
                                tx.input.iter().any(|i| i.previous_output == *watched)
                            }).map(|tx| {
                                (BlockRef { hash: block.block_hash(), height: h(height) }, tx.compute_txid())
                            })
                        });
                        prop_assert_eq!(belief.spend, truth, "subscriber {:?}", sub);
                    }
                }
            }
        }
    }
}
