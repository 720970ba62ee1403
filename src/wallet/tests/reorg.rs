//! Reorgs: a competing block at a height the wallet has, and notifier-style disconnects.

use super::*;
use crate::wallet::{Balance, WalletError};

fn confirmed(sat_value: u64) -> Balance {
    Balance {
        confirmed: sat(sat_value),
        ..Balance::default()
    }
}

fn unconfirmed(sat_value: u64) -> Balance {
    Balance {
        unconfirmed: sat(sat_value),
        ..Balance::default()
    }
}

/// A chain of 1 empty block and then one block per payment in `amounts`, each paying a fresh
/// wallet address; returns the chain and the payment transactions.
fn chain_with_payments(wallet: &mut OnchainWallet, amounts: &[u64]) -> (Chain, Vec<Transaction>) {
    let mut chain = Chain::new();
    chain.mine_empty(1);
    let mut payments = Vec::new();
    for &amount in amounts {
        let address = wallet.next_address().unwrap();
        let tx = chain.faucet_tx(vec![pay(address.script_pubkey(), amount)]);
        chain.mine(vec![pay(anyone(), 50_000)], vec![tx.clone()]);
        payments.push(tx);
    }
    chain.feed(wallet, 1);
    (chain, payments)
}

#[test]
fn reorg_of_one_block_replaces_the_tip() {
    let mut wallet = memory_wallet();
    let (chain, payments) = chain_with_payments(&mut wallet, &[100_000]);
    assert_eq!(wallet.balance(), confirmed(100_000));

    // A competing block 2 without the payment replaces ours. Like Core, which returns the
    // transactions of a disconnected block to its mempool, the wallet counts the payment as
    // unconfirmed again.
    let mut fork = chain.fork_at(1, 1);
    fork.mine_empty(1);
    assert_ne!(fork.block(2).block_hash(), chain.block(2).block_hash());
    fork.feed(&mut wallet, 2);
    assert_eq!(wallet.tip(), (BlockHeight(2), fork.block(2).block_hash()));
    assert_eq!(wallet.balance(), unconfirmed(100_000));

    // The new branch confirms it one block later.
    fork.mine(vec![pay(anyone(), 50_000)], vec![payments[0].clone()]);
    fork.feed(&mut wallet, 3);
    assert_eq!(wallet.balance(), confirmed(100_000));
}

#[test]
fn reorged_out_transaction_seen_unconfirmed_is_unconfirmed_again() {
    let mut wallet = memory_wallet();
    let mut chain = Chain::new();
    chain.mine_empty(1);
    let address = wallet.next_address().unwrap();
    let tx = chain.faucet_tx(vec![pay(address.script_pubkey(), 100_000)]);
    wallet.apply_unconfirmed(tx.clone(), 50).unwrap();
    chain.mine(vec![pay(anyone(), 50_000)], vec![tx]);
    chain.feed(&mut wallet, 1);
    assert_eq!(wallet.balance(), confirmed(100_000));

    let mut fork = chain.fork_at(1, 1);
    fork.mine_empty(2);
    fork.feed(&mut wallet, 2);
    assert_eq!(wallet.balance(), unconfirmed(100_000));
}

#[test]
fn a_conflict_confirmed_by_the_new_branch_removes_the_payment() {
    let mut wallet = memory_wallet();
    let (chain, payments) = chain_with_payments(&mut wallet, &[100_000]);
    // The same faucet input, spent to someone else in the competing block.
    let mut conflict = payments[0].clone();
    conflict.output = vec![pay(anyone(), 99_000)];
    let mut fork = chain.fork_at(1, 1);
    fork.mine(vec![pay(anyone(), 50_000)], vec![conflict]);
    fork.feed(&mut wallet, 2);
    assert_eq!(wallet.balance(), Balance::default());
}

#[test]
fn a_coinbase_of_a_stale_block_vanishes() {
    let mut wallet = memory_wallet();
    let mut chain = Chain::new();
    let address = wallet.next_address().unwrap();
    chain.mine_empty(1);
    chain.mine(vec![pay(address.script_pubkey(), 5_000_000_000)], vec![]);
    chain.feed(&mut wallet, 1);
    assert_eq!(wallet.balance().immature, sat(5_000_000_000));
    let mut fork = chain.fork_at(1, 1);
    fork.mine_empty(1);
    fork.feed(&mut wallet, 2);
    assert_eq!(wallet.balance(), Balance::default());
}

#[test]
fn reorg_of_two_blocks_replaces_both() {
    let mut wallet = memory_wallet();
    let (chain, payments) = chain_with_payments(&mut wallet, &[100_000, 20_000]);
    assert_eq!(wallet.balance(), confirmed(120_000));

    // The fork from block 1 confirms the second payment only in its third block, and a
    // conflict of the first one in its first.
    let mut conflict = payments[0].clone();
    conflict.output = vec![pay(anyone(), 99_000)];
    let mut fork = chain.fork_at(1, 1);
    fork.mine(vec![pay(anyone(), 50_000)], vec![conflict]);
    fork.mine_empty(1);
    fork.feed(&mut wallet, 2);
    // Both of our blocks are replaced: the second payment is back to unconfirmed.
    assert_eq!(wallet.tip(), (BlockHeight(3), fork.block(3).block_hash()));
    assert_eq!(wallet.balance(), unconfirmed(20_000));
    fork.mine(vec![pay(anyone(), 50_000)], vec![payments[1].clone()]);
    fork.feed(&mut wallet, 4);
    assert_eq!(wallet.tip(), (BlockHeight(4), fork.block(4).block_hash()));
    assert_eq!(wallet.balance(), confirmed(20_000));
    // Both of the old blocks are gone from the wallet's chain.
    for height in 2..=3 {
        let ours = wallet.wallet.local_chain().get(height).unwrap().hash();
        assert_eq!(ours, fork.block(height).block_hash());
    }
}

#[test]
fn notifier_disconnects_then_connects_a_two_block_reorg() {
    let db = memory_db();
    let mut wallet = OnchainWallet::open(&SEED, Network::Regtest, db.clone()).unwrap();
    let (chain, payments) = chain_with_payments(&mut wallet, &[100_000, 20_000]);

    // Events for another branch's blocks, or the genesis block, are refused or ignored.
    let mut fork = chain.fork_at(1, 1);
    fork.mine_empty(1);
    fork.mine(vec![pay(anyone(), 50_000)], vec![payments[0].clone()]);
    assert!(!wallet
        .disconnect_block(BlockHeight(3), fork.block(3).block_hash())
        .unwrap());
    assert!(matches!(
        wallet.disconnect_block(BlockHeight(0), chain.block(0).block_hash()),
        Err(WalletError::DisconnectGenesis)
    ));
    assert_eq!(wallet.tip().0, BlockHeight(3));

    // The notifier's order: tip first, down to the fork point.
    for height in [3, 2] {
        assert!(wallet
            .disconnect_block(BlockHeight(height), chain.block(height).block_hash())
            .unwrap());
    }
    assert_eq!(wallet.tip(), (BlockHeight(1), chain.block(1).block_hash()));
    assert_eq!(wallet.balance(), unconfirmed(120_000));

    // A restart between the events resumes from the fork point.
    drop(wallet);
    let mut wallet = OnchainWallet::open(&SEED, Network::Regtest, db.clone()).unwrap();
    assert_eq!(wallet.tip(), (BlockHeight(1), chain.block(1).block_hash()));

    assert_eq!(wallet.balance(), unconfirmed(120_000));
    fork.feed(&mut wallet, 2);
    assert_eq!(wallet.tip(), (BlockHeight(3), fork.block(3).block_hash()));
    let expected = Balance {
        confirmed: sat(100_000),
        unconfirmed: sat(20_000),
        ..Balance::default()
    };
    assert_eq!(wallet.balance(), expected);
    drop(wallet);
    let wallet = OnchainWallet::open(&SEED, Network::Regtest, db).unwrap();
    assert_eq!(wallet.tip(), (BlockHeight(3), fork.block(3).block_hash()));
    assert_eq!(wallet.balance(), expected);
}

#[test]
fn disconnect_keeps_pending_reservations_apart() {
    let (mut wallet, mut chain, _) = funded_wallet(&[1_000_000, 1_000_000]);
    chain.mine_empty(1);
    chain.feed(&mut wallet, chain.tip().0);
    let first = wallet
        .build_funding(
            crate::wallet::LockId(1),
            &funding_script(1),
            sat(100_000),
            bitcoin::FeeRate::from_sat_per_vb(1).unwrap(),
        )
        .unwrap();
    // Disconnecting the empty tip reloads bdk's wallet; the lock and its change address
    // must survive that.
    let tip = chain.tip();
    assert!(wallet
        .disconnect_block(tip, chain.block(tip.0).block_hash())
        .unwrap());
    let second = wallet
        .build_funding(
            crate::wallet::LockId(2),
            &funding_script(2),
            sat(100_000),
            bitcoin::FeeRate::from_sat_per_vb(1).unwrap(),
        )
        .unwrap();
    assert!(first
        .tx
        .input
        .iter()
        .all(|input| !second.tx.input.contains(input)));
    let change = |funding: &crate::wallet::FundingTx| {
        funding.tx.output[usize::from(funding.change_output_index.unwrap())]
            .script_pubkey
            .clone()
    };
    assert_ne!(change(&first), change(&second));
}
