//! Funding transactions: outputs, change, fee, signatures, and input locks.

use std::collections::HashSet;

use bitcoin::FeeRate;

use super::*;
use crate::wallet::{Balance, FundingTx, LockId, WalletError};

fn feerate(sat_per_vb: u64) -> FeeRate {
    FeeRate::from_sat_per_vb(sat_per_vb).unwrap()
}

/// Checks everything a funding transaction must satisfy, against the chain's own outputs
/// (not the wallet's view): the funding output, the fee arithmetic and floor, segwit inputs,
/// change to our internal keychain, and every input signature under libbitcoinconsensus.
fn check_funding(
    wallet: &OnchainWallet,
    chain: &Chain,
    funding: &FundingTx,
    script: &ScriptBuf,
    amount: Amount,
    rate: FeeRate,
) {
    let outputs = chain.outputs();
    let tx = &funding.tx;
    let funding_out = &tx.output[usize::from(funding.output_index)];
    assert_eq!(&funding_out.script_pubkey, script);
    assert_eq!(funding_out.value, amount);

    let spent: Amount = tx
        .input
        .iter()
        .map(|input| outputs[&input.previous_output].value)
        .sum();
    let paid: Amount = tx.output.iter().map(|out| out.value).sum();
    assert_eq!(funding.fee, spent - paid);
    // bdk prices the weight (fee >= rate x weight); Core's relay floor prices the vsize
    // rounded up to a whole vbyte (fee >= 1 sat/vB x vsize). Both must hold.
    let vsize = u64::try_from(tx.vsize()).unwrap();
    let floor = rate.max(FeeRate::BROADCAST_MIN);
    assert!(
        funding.fee >= floor.fee_wu(tx.weight()).unwrap(),
        "fee {} below {} sat/kwu for {}",
        funding.fee,
        floor.to_sat_per_kwu(),
        tx.weight()
    );
    assert!(funding.fee >= FeeRate::BROADCAST_MIN.fee_vb(vsize).unwrap());

    for input in &tx.input {
        assert!(outputs[&input.previous_output].script_pubkey.is_p2wpkh());
        assert!(!input.witness.is_empty());
    }
    tx.verify(|outpoint| outputs.get(outpoint).cloned())
        .expect("every input signature verifies");

    match funding.change_output_index {
        Some(index) => {
            assert_eq!(tx.output.len(), 2);
            assert_ne!(index, funding.output_index);
            let change = &tx.output[usize::from(index)];
            assert!(change.script_pubkey.is_p2wpkh());
            assert!(matches!(
                wallet
                    .wallet
                    .derivation_of_spk(change.script_pubkey.clone()),
                Some((bdk_wallet::KeychainKind::Internal, _))
            ));
            // With change, bdk aims at the feerate: at most one vbyte per input over it
            // (signatures are estimated at their 72-byte maximum).
            let slack = u64::try_from(tx.input.len()).unwrap() + 1;
            assert!(funding.fee <= floor.fee_vb(vsize + slack).unwrap());
        }
        None => assert_eq!(tx.output.len(), 1),
    }
}

fn inputs(funding: &FundingTx) -> HashSet<OutPoint> {
    funding
        .tx
        .input
        .iter()
        .map(|input| input.previous_output)
        .collect()
}

#[test]
fn funding_tx_pays_the_script_with_change_and_verifies() {
    let (mut wallet, chain, paid) = funded_wallet(&[300_000, 500_000, 1_000_000]);
    let script = funding_script(1);
    let amount = sat(400_000);
    let funding = wallet
        .build_funding(LockId(1), &script, amount, feerate(5))
        .unwrap();
    check_funding(&wallet, &chain, &funding, &script, amount, feerate(5));
    assert!(funding.change_output_index.is_some());
    assert!(inputs(&funding).iter().all(|input| paid.contains(input)));

    let outputs = chain.outputs();
    let locked: Amount = inputs(&funding).iter().map(|op| outputs[op].value).sum();
    assert_eq!(
        wallet.balance(),
        Balance {
            confirmed: sat(1_800_000) - locked,
            locked,
            ..Balance::default()
        }
    );
}

#[test]
fn funding_spends_a_matured_coinbase() {
    let mut wallet = memory_wallet();
    let mut chain = Chain::new();
    let address = wallet.next_address().unwrap();
    chain.mine(vec![pay(address.script_pubkey(), 5_000_000_000)], vec![]);
    chain.mine_empty(98);
    chain.feed(&mut wallet, 1);
    let script = funding_script(2);
    let err = wallet
        .build_funding(LockId(1), &script, sat(1_000_000), feerate(2))
        .unwrap_err();
    assert!(
        matches!(err, WalletError::InsufficientFunds { .. }),
        "{err}"
    );

    chain.mine_empty(1);
    chain.feed(&mut wallet, 100);
    let funding = wallet
        .build_funding(LockId(1), &script, sat(1_000_000), feerate(2))
        .unwrap();
    check_funding(
        &wallet,
        &chain,
        &funding,
        &script,
        sat(1_000_000),
        feerate(2),
    );
    assert_eq!(
        inputs(&funding),
        HashSet::from([OutPoint {
            txid: chain.block(1).txdata[0].compute_txid(),
            vout: 0
        }])
    );
    assert_eq!(wallet.balance().locked, sat(5_000_000_000));
    assert_eq!(wallet.balance().confirmed, Amount::ZERO);

    // Broadcast, then mined: the change is ours and confirmed.
    wallet.confirm_lock(LockId(1), 2_000).unwrap();
    let change = sat(5_000_000_000) - sat(1_000_000) - funding.fee;
    assert_eq!(
        wallet.balance(),
        Balance {
            unconfirmed: change,
            ..Balance::default()
        }
    );
    chain.mine(vec![pay(anyone(), 50_000)], vec![funding.tx.clone()]);
    chain.feed(&mut wallet, 101);
    assert_eq!(
        wallet.balance(),
        Balance {
            confirmed: change,
            ..Balance::default()
        }
    );
}

#[test]
fn concurrent_reservations_use_disjoint_inputs_until_funds_run_out() {
    let (mut wallet, chain, paid) = funded_wallet(&[100_000, 100_000, 100_000, 100_000]);
    let mut used = HashSet::new();
    for id in 1..=4u8 {
        let script = funding_script(id);
        let funding = wallet
            .build_funding(LockId(id.into()), &script, sat(80_000), feerate(2))
            .unwrap();
        check_funding(&wallet, &chain, &funding, &script, sat(80_000), feerate(2));
        for input in inputs(&funding) {
            assert!(used.insert(input), "input {input} reused across locks");
        }
    }
    assert_eq!(used, paid.iter().copied().collect());
    assert_eq!(
        wallet.balance(),
        Balance {
            locked: sat(400_000),
            ..Balance::default()
        }
    );

    // Everything is locked: a fifth reservation has nothing to draw on.
    let err = wallet
        .build_funding(LockId(5), &funding_script(5), sat(10_000), feerate(2))
        .unwrap_err();
    match err {
        WalletError::InsufficientFunds { available, .. } => assert_eq!(available, Amount::ZERO),
        other => panic!("expected InsufficientFunds, got {other}"),
    }
    // A lock id in use is refused, whatever the funds.
    assert!(matches!(
        wallet.build_funding(LockId(2), &funding_script(9), sat(10_000), feerate(2)),
        Err(WalletError::LockInUse(LockId(2)))
    ));

    // Cancelling reservation 2 frees exactly its inputs for the next one.
    let freed: Vec<OutPoint> = wallet.locks.get(LockId(2)).unwrap().inputs().collect();
    assert!(wallet.release(LockId(2)));
    assert!(!wallet.release(LockId(2)));
    assert_eq!(wallet.balance().locked, sat(300_000));
    assert_eq!(wallet.balance().confirmed, sat(100_000));
    let script = funding_script(5);
    let funding = wallet
        .build_funding(LockId(5), &script, sat(10_000), feerate(2))
        .unwrap();
    check_funding(&wallet, &chain, &funding, &script, sat(10_000), feerate(2));
    assert_eq!(inputs(&funding), freed.into_iter().collect());
}

#[test]
fn released_reservation_hands_its_change_address_to_the_next() {
    let (mut wallet, _chain, _) = funded_wallet(&[1_000_000]);
    let first = wallet
        .build_funding(LockId(1), &funding_script(1), sat(100_000), feerate(1))
        .unwrap();
    let change_script = |funding: &FundingTx| {
        funding.tx.output[usize::from(funding.change_output_index.unwrap())]
            .script_pubkey
            .clone()
    };
    assert!(wallet.release(LockId(1)));
    let second = wallet
        .build_funding(LockId(2), &funding_script(2), sat(100_000), feerate(1))
        .unwrap();
    assert_eq!(change_script(&first), change_script(&second));
}

#[test]
fn pending_reservations_get_distinct_change_addresses() {
    let (mut wallet, _chain, _) = funded_wallet(&[1_000_000, 1_000_000]);
    let change = |funding: &FundingTx| {
        funding.tx.output[usize::from(funding.change_output_index.unwrap())]
            .script_pubkey
            .clone()
    };
    let first = wallet
        .build_funding(LockId(1), &funding_script(1), sat(100_000), feerate(1))
        .unwrap();
    let second = wallet
        .build_funding(LockId(2), &funding_script(2), sat(100_000), feerate(1))
        .unwrap();
    assert_ne!(change(&first), change(&second));
}

#[test]
fn confirm_lock_spends_the_inputs_and_leaves_change_pending() {
    let (mut wallet, mut chain, _) = funded_wallet(&[600_000]);
    let funding = wallet
        .build_funding(LockId(7), &funding_script(7), sat(500_000), feerate(3))
        .unwrap();
    let txid = wallet.confirm_lock(LockId(7), 1_234).unwrap();
    assert_eq!(txid, funding.txid());
    let change = sat(100_000) - funding.fee;
    assert_eq!(
        wallet.balance(),
        Balance {
            unconfirmed: change,
            ..Balance::default()
        }
    );
    // The lock is gone; the spent input is not offered again, nor the unconfirmed change.
    assert!(matches!(
        wallet.confirm_lock(LockId(7), 1_235),
        Err(WalletError::UnknownLock(LockId(7)))
    ));
    assert!(!wallet.release(LockId(7)));
    let err = wallet
        .build_funding(LockId(8), &funding_script(8), sat(10_000), feerate(3))
        .unwrap_err();
    assert!(
        matches!(err, WalletError::InsufficientFunds { .. }),
        "{err}"
    );

    chain.mine(vec![pay(anyone(), 50_000)], vec![funding.tx.clone()]);
    chain.feed(&mut wallet, chain.tip().0);
    assert_eq!(
        wallet.balance(),
        Balance {
            confirmed: change,
            ..Balance::default()
        }
    );
}

#[test]
fn unconfirmed_outputs_are_never_funding_inputs() {
    let mut wallet = memory_wallet();
    let mut chain = Chain::new();
    chain.mine_empty(1);
    chain.feed(&mut wallet, 1);
    let address = wallet.next_address().unwrap();
    let tx = chain.faucet_tx(vec![pay(address.script_pubkey(), 1_000_000)]);
    wallet.apply_unconfirmed(tx, 10).unwrap();
    assert_eq!(wallet.balance().unconfirmed, sat(1_000_000));
    let err = wallet
        .build_funding(LockId(1), &funding_script(1), sat(100_000), feerate(1))
        .unwrap_err();
    match err {
        WalletError::InsufficientFunds { available, .. } => assert_eq!(available, Amount::ZERO),
        other => panic!("expected InsufficientFunds, got {other}"),
    }
    assert_eq!(wallet.balance().locked, Amount::ZERO);
}

#[test]
fn change_below_dust_goes_to_the_fee() {
    // 300 sat over the amount: about 122 vB of fee at 1 sat/vB leaves ~178 sat, below the
    // 294-sat dust limit of a P2WPKH change output.
    let (mut wallet, chain, _) = funded_wallet(&[100_300]);
    let script = funding_script(1);
    let funding = wallet
        .build_funding(LockId(1), &script, sat(100_000), feerate(1))
        .unwrap();
    check_funding(&wallet, &chain, &funding, &script, sat(100_000), feerate(1));
    assert_eq!(funding.change_output_index, None);
    assert_eq!(funding.fee, sat(300));
}

#[test]
fn feerate_has_a_floor_of_one_sat_per_vbyte() {
    let (mut wallet, chain, _) = funded_wallet(&[500_000]);
    let script = funding_script(1);
    let funding = wallet
        .build_funding(LockId(1), &script, sat(100_000), FeeRate::ZERO)
        .unwrap();
    // check_funding asserts fee >= 1 sat/vB × vsize.
    check_funding(
        &wallet,
        &chain,
        &funding,
        &script,
        sat(100_000),
        FeeRate::ZERO,
    );
    assert!(funding.fee > Amount::ZERO);
}

#[test]
fn many_inputs_are_all_signed() {
    let (mut wallet, chain, _) = funded_wallet(&[50_000; 10]);
    let script = funding_script(1);
    let funding = wallet
        .build_funding(LockId(1), &script, sat(420_000), feerate(4))
        .unwrap();
    assert!(funding.tx.input.len() >= 9);
    check_funding(&wallet, &chain, &funding, &script, sat(420_000), feerate(4));
}

#[test]
fn dust_amounts_and_non_p2wsh_scripts_are_refused() {
    let (mut wallet, _chain, _) = funded_wallet(&[500_000]);
    assert!(matches!(
        wallet.build_funding(LockId(1), &funding_script(1), sat(100), feerate(1)),
        Err(WalletError::AmountBelowDust(amount)) if amount == sat(100)
    ));
    let p2wpkh = wallet.next_address().unwrap().script_pubkey();
    assert!(matches!(
        wallet.build_funding(LockId(1), &p2wpkh, sat(100_000), feerate(1)),
        Err(WalletError::FundingScriptNotP2wsh)
    ));
    // Failed attempts hold nothing.
    assert_eq!(wallet.balance().locked, Amount::ZERO);
    assert!(wallet
        .build_funding(LockId(1), &funding_script(1), sat(100_000), feerate(1))
        .is_ok());
}

#[test]
fn the_signature_check_catches_a_tampered_witness() {
    // Guards check_funding itself: libbitcoinconsensus must reject a funding transaction
    // whose signature no longer matches, or the checks above prove nothing.
    let (mut wallet, chain, _) = funded_wallet(&[500_000]);
    let funding = wallet
        .build_funding(LockId(1), &funding_script(1), sat(100_000), feerate(1))
        .unwrap();
    let outputs = chain.outputs();
    let mut tampered = funding.tx.clone();
    let mut items: Vec<Vec<u8>> = tampered.input[0]
        .witness
        .iter()
        .map(<[u8]>::to_vec)
        .collect();
    items[0][10] ^= 1;
    tampered.input[0].witness = Witness::from_slice(&items);
    assert!(tampered
        .verify(|outpoint| outputs.get(outpoint).cloned())
        .is_err());
    // Spending to another amount under the same signature fails too.
    let mut moved = funding.tx.clone();
    moved.output[usize::from(funding.output_index)].value = sat(100_001);
    assert!(moved
        .verify(|outpoint| outputs.get(outpoint).cloned())
        .is_err());
}
