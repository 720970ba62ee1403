//! Addresses and balances: coinbase maturity, unconfirmed and confirmed payments.

use super::*;
use crate::wallet::Balance;

#[test]
fn next_address_reveals_a_fresh_address_each_time() {
    let mut wallet = memory_wallet();
    assert_eq!(wallet.next_address_index(), 0);
    let first = wallet.next_address().unwrap();
    let second = wallet.next_address().unwrap();
    assert_ne!(first, second);
    assert_eq!(wallet.next_address_index(), 2);
    assert!(first.script_pubkey().is_p2wpkh());
    assert!(wallet.is_mine(&first.script_pubkey()));
    assert!(!wallet.is_mine(&anyone()));
    assert!(first.to_string().starts_with("bcrt1q"));
}

#[test]
fn coinbase_is_immature_for_99_blocks_then_confirmed() {
    let mut wallet = memory_wallet();
    let mut chain = Chain::new();
    let address = wallet.next_address().unwrap();
    chain.mine(vec![pay(address.script_pubkey(), 5_000_000_000)], vec![]);
    chain.feed(&mut wallet, 1);
    let immature = Balance {
        immature: sat(5_000_000_000),
        ..Balance::default()
    };
    assert_eq!(wallet.balance(), immature);

    // Core: a coinbase of height 1 may be spent in block 101, i.e. once the tip is 100.
    chain.mine_empty(98);
    chain.feed(&mut wallet, 2);
    assert_eq!(wallet.tip().0, BlockHeight(99));
    assert_eq!(wallet.balance(), immature);

    chain.mine_empty(1);
    chain.feed(&mut wallet, 100);
    assert_eq!(
        wallet.balance(),
        Balance {
            confirmed: sat(5_000_000_000),
            ..Balance::default()
        }
    );
}

#[test]
fn payment_is_unconfirmed_until_a_block_confirms_it() {
    let mut wallet = memory_wallet();
    let mut chain = Chain::new();
    chain.mine_empty(1);
    chain.feed(&mut wallet, 1);
    let address = wallet.next_address().unwrap();
    let tx = chain.faucet_tx(vec![
        pay(address.script_pubkey(), 70_000),
        pay(anyone(), 10_000),
    ]);
    wallet.apply_unconfirmed(tx.clone(), 1_000).unwrap();
    assert_eq!(
        wallet.balance(),
        Balance {
            unconfirmed: sat(70_000),
            ..Balance::default()
        }
    );

    chain.mine(vec![pay(anyone(), 50_000)], vec![tx]);
    chain.feed(&mut wallet, 2);
    assert_eq!(
        wallet.balance(),
        Balance {
            confirmed: sat(70_000),
            ..Balance::default()
        }
    );
}

#[test]
fn irrelevant_transactions_are_ignored() {
    let mut wallet = memory_wallet();
    let mut chain = Chain::new();
    let stranger = chain.faucet_tx(vec![pay(anyone(), 10_000)]);
    wallet.apply_unconfirmed(stranger.clone(), 5).unwrap();
    chain.mine(vec![pay(anyone(), 50_000)], vec![stranger]);
    chain.feed(&mut wallet, 1);
    assert_eq!(wallet.balance(), Balance::default());
    assert_eq!(wallet.tip(), (BlockHeight(1), chain.block(1).block_hash()));
}

#[test]
fn a_block_that_skips_heights_is_refused() {
    let mut wallet = memory_wallet();
    let mut chain = Chain::new();
    chain.mine_empty(3);
    chain.feed(&mut wallet, 1);
    let mut ahead = chain.clone();
    ahead.mine_empty(2);
    let err = wallet
        .apply_block(ahead.block(5), BlockHeight(5))
        .unwrap_err();
    assert!(matches!(
        err,
        crate::wallet::WalletError::BlockNotConnected {
            height: BlockHeight(5),
            ..
        }
    ));
    // The wallet is unchanged and takes the missing block, then the refused one.
    assert_eq!(wallet.tip().0, BlockHeight(3));
    ahead.feed(&mut wallet, 4);
    assert_eq!(wallet.tip(), (BlockHeight(5), ahead.block(5).block_hash()));
}
