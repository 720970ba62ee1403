//! Persistence: restart from the same redb file, the append-only log and its compaction,
//! restore from the seed, and refusing a database that holds another wallet.

use std::path::Path;

use bitcoin::FeeRate;

use super::*;
use crate::wallet::{Balance, LockId, WalletError};

fn file_db(path: &Path) -> Arc<Database> {
    Arc::new(Database::create(path).unwrap())
}

/// Every unspent output the wallet tracks, as (outpoint, value), sorted.
fn utxos(wallet: &OnchainWallet) -> Vec<(OutPoint, Amount)> {
    let mut utxos: Vec<_> = wallet
        .wallet
        .list_unspent()
        .map(|utxo| (utxo.outpoint, utxo.txout.value))
        .collect();
    utxos.sort();
    utxos
}

#[test]
fn restart_from_the_same_file_restores_the_wallet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.redb");
    let mut wallet = OnchainWallet::open(&SEED, Network::Regtest, file_db(&path)).unwrap();
    let mut chain = Chain::new();
    let coinbase_to = wallet.next_address().unwrap();
    chain.mine(
        vec![pay(coinbase_to.script_pubkey(), 5_000_000_000)],
        vec![],
    );
    chain.mine_empty(100);
    chain.feed(&mut wallet, 1);
    fund(&mut wallet, &mut chain, &[250_000, 750_000]);
    let unused = wallet.next_address().unwrap();
    let funding = wallet
        .build_funding(
            LockId(1),
            &funding_script(1),
            sat(600_000),
            FeeRate::from_sat_per_vb(2).unwrap(),
        )
        .unwrap();
    wallet.confirm_lock(LockId(1), 99).unwrap();
    let balance = wallet.balance();
    let tip = wallet.tip();
    let index = wallet.next_address_index();
    let before = utxos(&wallet);
    assert_eq!(index, 4);
    drop(wallet);

    let mut wallet = OnchainWallet::open(&SEED, Network::Regtest, file_db(&path)).unwrap();
    assert_eq!(wallet.balance(), balance);
    assert_eq!(wallet.tip(), tip);
    assert_eq!(utxos(&wallet), before);
    assert_eq!(wallet.next_address_index(), index);
    let next = wallet.next_address().unwrap();
    assert_ne!(next, unused);
    assert_ne!(next, coinbase_to);
    // The broadcast funding transaction is still known as ours and unconfirmed.
    assert!(wallet.wallet.get_tx(funding.txid()).is_some());
    assert!(balance.unconfirmed > Amount::ZERO);
}

#[test]
fn restart_drops_locks_and_the_node_reinserts_its_funding_tx() {
    let db = memory_db();
    let mut wallet = OnchainWallet::open(&SEED, Network::Regtest, db.clone()).unwrap();
    let mut chain = Chain::new();
    chain.mine_empty(1);
    chain.feed(&mut wallet, 1);
    fund(&mut wallet, &mut chain, &[400_000]);
    let funding = wallet
        .build_funding(
            LockId(1),
            &funding_script(1),
            sat(300_000),
            FeeRate::from_sat_per_vb(1).unwrap(),
        )
        .unwrap();
    assert_eq!(wallet.balance().locked, sat(400_000));
    drop(wallet);

    // The reservation did not survive the restart, so neither did its lock.
    let mut wallet = OnchainWallet::open(&SEED, Network::Regtest, db).unwrap();
    assert_eq!(
        wallet.balance(),
        Balance {
            confirmed: sat(400_000),
            ..Balance::default()
        }
    );
    // A funding transaction the node had persisted comes back through apply_unconfirmed.
    wallet.apply_unconfirmed(funding.tx.clone(), 7).unwrap();
    assert_eq!(
        wallet.balance(),
        Balance {
            unconfirmed: sat(100_000) - funding.fee,
            ..Balance::default()
        }
    );
}

#[test]
fn the_log_appends_one_entry_per_change_and_compacts_to_one() {
    let db = memory_db();
    let mut wallet = OnchainWallet::open(&SEED, Network::Regtest, db.clone()).unwrap();
    let created = wallet.changeset_log_len().unwrap();
    assert_eq!(created, 1);
    let mut chain = Chain::new();
    chain.mine_empty(5);
    chain.feed(&mut wallet, 1);
    assert_eq!(wallet.changeset_log_len().unwrap(), created + 5);
    wallet.next_address().unwrap();
    assert_eq!(wallet.changeset_log_len().unwrap(), created + 6);
    // Re-applying a block the wallet has changes nothing and writes nothing.
    wallet.apply_block(chain.block(5), BlockHeight(5)).unwrap();
    assert_eq!(wallet.changeset_log_len().unwrap(), created + 6);

    fund(&mut wallet, &mut chain, &[10_000]);
    let balance = wallet.balance();
    let tip = wallet.tip();
    wallet.compact().unwrap();
    assert_eq!(wallet.changeset_log_len().unwrap(), 1);
    drop(wallet);

    let mut wallet = OnchainWallet::open(&SEED, Network::Regtest, db).unwrap();
    assert_eq!(wallet.balance(), balance);
    assert_eq!(wallet.tip(), tip);
    assert_eq!(wallet.next_address_index(), 2);
    chain.mine_empty(1);
    chain.feed(&mut wallet, chain.tip().0);
    assert_eq!(wallet.changeset_log_len().unwrap(), 2);
}

#[test]
fn a_wallet_restored_from_the_seed_refinds_its_funds() {
    let mut original = memory_wallet();
    let mut chain = Chain::new();
    let coinbase_to = original.next_address().unwrap();
    chain.mine(
        vec![pay(coinbase_to.script_pubkey(), 5_000_000_000)],
        vec![],
    );
    chain.mine_empty(99);
    chain.feed(&mut original, 1);
    // Some addresses handed out but never paid, then payments further on.
    for _ in 0..5 {
        original.next_address().unwrap();
    }
    fund(&mut original, &mut chain, &[111_000, 222_000]);
    // Spend with change, confirmed: the restore must find the change (internal keychain).
    let funding = original
        .build_funding(
            LockId(1),
            &funding_script(1),
            sat(4_000_000_000),
            FeeRate::from_sat_per_vb(3).unwrap(),
        )
        .unwrap();
    original.confirm_lock(LockId(1), 1).unwrap();
    chain.mine(vec![pay(anyone(), 50_000)], vec![funding.tx]);
    chain.feed(&mut original, chain.tip().0);
    let balance = original.balance();
    assert!(balance.confirmed > sat(1_000_000_000));

    let mut restored = memory_wallet();
    chain.feed(&mut restored, 1);
    assert_eq!(restored.balance(), balance);
    assert_eq!(utxos(&restored), utxos(&original));
    // It skips past every address it saw paid.
    assert_eq!(restored.next_address_index(), 8);
}

#[test]
fn a_database_holding_another_wallet_is_refused() {
    let db = memory_db();
    let mut wallet = OnchainWallet::open(&SEED, Network::Regtest, db.clone()).unwrap();
    wallet.next_address().unwrap();
    drop(wallet);
    let other_seed = OnchainWallet::open(&[1; 32], Network::Regtest, db.clone());
    assert!(matches!(
        other_seed,
        Err(WalletError::StoredWalletMismatch(_))
    ));
    let other_network = OnchainWallet::open(&SEED, Network::Testnet, db.clone());
    assert!(matches!(
        other_network,
        Err(WalletError::StoredWalletMismatch(_))
    ));
    // The right seed still opens it, unharmed.
    let wallet = OnchainWallet::open(&SEED, Network::Regtest, db).unwrap();
    assert_eq!(wallet.next_address_index(), 1);
}

#[test]
fn a_corrupt_log_entry_is_an_error_not_a_panic() {
    let db = memory_db();
    drop(OnchainWallet::open(&SEED, Network::Regtest, db.clone()).unwrap());
    let txn = db.begin_write().unwrap();
    {
        let table: redb::TableDefinition<u64, &[u8]> =
            redb::TableDefinition::new("wallet_changesets");
        let mut table = txn.open_table(table).unwrap();
        table.insert(1, b"{not json".as_slice()).unwrap();
    }
    txn.commit().unwrap();
    assert!(matches!(
        OnchainWallet::open(&SEED, Network::Regtest, db),
        Err(WalletError::ChangesetCodec { seq: 1, .. })
    ));
}
