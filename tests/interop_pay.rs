//! Payments with LDK: a real `petrel regtest` and `petrel node`, and an LDK node
//! (`lightning` 0.2.7) in the test process (`tests/common/ldk/`) whose router pays its channel
//! peers in one hop and which claims what it is paid (`tests/common/ldk/node.rs`,
//! `payments.rs`).
//!
//! Over a channel Petrel funded and one LDK funded:
//! - LDK pays Petrel's invoices (`pay_for_bolt11_invoice`), Petrel pays invoices LDK's
//!   `ChannelManager` made (`petrel pay`), and each keysends to the other; every payment is
//!   checked on both sides (Petrel's answer and records, LDK's events);
//! - then many payments each way, interleaved and several in flight at once;
//! - at every step both sides agree on the balances to the msat, and a cooperative close pays
//!   each side its balance, rounded down to the satoshi, on chain (the funder paying the fee).
//!
//! Refusals, decoded both ways (BOLT 4 `incorrect_or_unknown_payment_details`, PERM|15): LDK
//! refuses Petrel's payment of an unknown hash and of too small an amount, and Petrel's `pay`
//! reports LDK's failure decoded; Petrel refuses LDK's payment with a wrong payment secret,
//! to an unknown hash, and of more than twice the invoice, and LDK reads the failure from
//! Petrel as PERM|15 from the final node. And LDK pays one Petrel invoice in three parts
//! (multi-part payment), which Petrel takes as a whole.
#![allow(clippy::disallowed_methods)]

mod common;
#[path = "common/ldk/mod.rs"]
mod ldk;
#[path = "common/ldk/pair.rs"]
mod pair;

use std::str::FromStr as _;
use std::time::Instant;

use bitcoin::hashes::Hash as _;
use bitcoin::hex::{DisplayHex as _, FromHex as _};
use bitcoin::Transaction;
use common::{wait_for, DEADLINE};
use ldk::payments::{balances_msat, hash_of, Claimed, Outcome};
use lightning::bolt11_invoice::{Bolt11Invoice, Currency};
use lightning::events::{ClosureReason, PathFailure, PaymentFailureReason, PaymentPurpose};
use lightning::ln::channelmanager::PaymentId;
use lightning::sign::SpendableOutputDescriptor;
use lightning::types::payment::{PaymentHash, PaymentPreimage, PaymentSecret};
use pair::{petrel_cli, petrel_ok, petrel_total, Dialler, Pair, Setup};
use serde_json::Value;

/// LDK reports a close's outputs spendable once the closing transaction is this deep
/// (`ANTI_REORG_DELAY`); Petrel's watcher calls a channel closed at the same depth.
const ANTI_REORG_DELAY: u32 = 6;

/// Every channel here, in satoshis.
const FUNDING_SAT: u64 = 1_000_000;

/// What the funder pushes to the other side at the open, so that both can pay from the
/// start and both stay above their reserves (LDK's capacities give exact balances only
/// then, [`balances_msat`]).
const PUSH_MSAT: u64 = 400_000_000;

/// The final CLTV delta Petrel's invoices ask for.
const PETREL_FINAL_CLTV_DELTA: u64 = 18;

/// BOLT 4 `incorrect_or_unknown_payment_details`: PERM (0x4000) | 15.
const INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS: u64 = 0x400f;

/// How many payments each way run in flight at once in the bulk phase.
const IN_FLIGHT: usize = 5;

/// LDK's fee estimate during the bulk phase, in sat/kW. LDK caps its dust exposure at 10,000
/// times its estimate in msat (`MaxDustHTLCExposure::FeeRateMultiplier`), and counts an HTLC
/// at a buffered feerate: at the floor estimate (253) one dust HTLC in flight already makes it
/// refuse the next below 2,502 sat ("Cannot send less than our next-HTLC minimum"). Ten times
/// the floor leaves room for the dust HTLCs the bulk phase keeps in flight; LDK sends no
/// `update_fee` over it (the test node never calls `timer_tick_occurred`).
const BULK_FEE_ESTIMATE: u32 = 2_530;

/// The amount of the `i`-th bulk payment one way (`way` 0: LDK to Petrel, 1: Petrel to
/// LDK): above the dust limits (an HTLC output on both commitments), below them (trimmed,
/// its value in the fee while in flight), and odd msat amounts throughout, so that balances
/// end in msat and the close has something to round.
fn bulk_amount(i: usize, way: u64) -> u64 {
    let i = i as u64;
    match i % 3 {
        0 => 12_345_678 + 1_001 * i + way * 17,
        1 => 234_567 + 13 * i + way * 5,
        _ => 2_000_003 + 7 * i + way * 3,
    }
}

/// Both sides' view of one channel, and what Petrel's balance must be in it.
struct Channel {
    /// Petrel's id for it.
    id: String,
    /// Petrel's balance: the open's, plus what it received, minus what it paid.
    petrel_msat: u64,
    /// Whether Petrel funded it.
    petrel_funded: bool,
}

impl Channel {
    fn received(&mut self, amount_msat: u64) {
        self.petrel_msat += amount_msat;
    }

    fn paid(&mut self, amount_msat: u64) {
        self.petrel_msat -= amount_msat;
    }
}

/// Opens a channel of [`FUNDING_SAT`], pushing [`PUSH_MSAT`], from Petrel or from LDK, and
/// waits until both call it ready; raises LDK's fee estimate to the channel's feerate (LDK
/// counts the commitment fee above its estimate as dust exposure, and refuses HTLCs past its
/// cap).
async fn open(pair: &Pair, petrel_funds: bool) -> Channel {
    let id = if petrel_funds {
        pair.open_ready(FUNDING_SAT, PUSH_MSAT).await
    } else {
        let id = pair.ldk_opens(FUNDING_SAT, PUSH_MSAT).await;
        pair.confirm_ready(&[&id]).await;
        id
    };
    let view = pair.petrel_view(&id);
    let feerate = view["feerate_sat_per_kw"].as_u64().unwrap();
    pair.ldk.fees.set(u32::try_from(feerate).unwrap());
    let petrel_msat = if petrel_funds {
        FUNDING_SAT * 1_000 - PUSH_MSAT
    } else {
        PUSH_MSAT
    };
    let channel = Channel {
        id,
        petrel_msat,
        petrel_funded: petrel_funds,
    };
    check_balances(pair, &channel).await;
    channel
}

/// Waits until neither side has an HTLC in the channel, then checks that both agree on
/// the balances, to the msat, and that they are what the payments made them: Petrel's
/// `local_balance_msat` / `remote_balance_msat`, LDK's from its `ChannelDetails`.
async fn check_balances(pair: &Pair, channel: &Channel) {
    let start = Instant::now();
    loop {
        let view = pair.petrel_view(&channel.id);
        let details = pair
            .ldk_channel(&channel.id)
            .expect("LDK lists the channel");
        let settled = view["htlcs"].as_array().is_some_and(Vec::is_empty)
            && details.pending_inbound_htlcs.is_empty()
            && details.pending_outbound_htlcs.is_empty();
        if settled {
            let (ldk_msat, petrel_in_ldk) = balances_msat(&details);
            let agreed = view["local_balance_msat"].as_u64() == Some(channel.petrel_msat)
                && view["remote_balance_msat"].as_u64() == Some(ldk_msat)
                && petrel_in_ldk == channel.petrel_msat;
            if agreed {
                assert!(details.is_usable, "{details:?}");
                assert_eq!(view["usable"], true, "{view}");
                return;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "balances: Petrel should hold {} msat; Petrel says {} / {}, LDK says Petrel \
                 {petrel_in_ldk}, LDK {ldk_msat}\n{view}\n{details:?}",
                channel.petrel_msat,
                view["local_balance_msat"],
                view["remote_balance_msat"],
            );
        }
        assert!(
            start.elapsed() < DEADLINE,
            "HTLCs still pending:\n{view}\n{details:?}\n{}",
            pair.petrel.log_tail()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A hex string of Petrel's answer as 32 bytes.
fn bytes32(value: &Value) -> [u8; 32] {
    <[u8; 32]>::from_hex(value.as_str().unwrap_or_else(|| panic!("not hex: {value}")))
        .unwrap_or_else(|e| panic!("not 32 bytes of hex: {value}: {e}"))
}

/// `petrel invoice AMOUNT`: Petrel's answer and the invoice LDK reads from it, checked:
/// regtest, payee Petrel, the amount, hash and secret Petrel reported, and the final CLTV
/// delta and features of Petrel's invoices.
fn petrel_invoice(pair: &Pair, amount_msat: u64, description: &str) -> (Value, Bolt11Invoice) {
    let answer = petrel_ok(
        &pair.petrel,
        &[
            "invoice",
            &amount_msat.to_string(),
            "--description",
            description,
        ],
    );
    let bolt11 = answer["bolt11"].as_str().unwrap();
    assert!(bolt11.starts_with("lnbcrt"), "{answer}");
    let invoice = Bolt11Invoice::from_str(bolt11)
        .unwrap_or_else(|e| panic!("LDK cannot read Petrel's invoice {bolt11}: {e:?}"));
    assert_eq!(invoice.currency(), Currency::Regtest);
    assert_eq!(invoice.get_payee_pub_key(), pair.petrel_id);
    assert_eq!(invoice.amount_milli_satoshis(), Some(amount_msat));
    assert_eq!(
        invoice.payment_hash().to_byte_array(),
        bytes32(&answer["payment_hash"])
    );
    assert_eq!(
        invoice.payment_secret().0,
        bytes32(&answer["payment_secret"])
    );
    assert_eq!(
        invoice.min_final_cltv_expiry_delta(),
        PETREL_FINAL_CLTV_DELTA
    );
    let features = invoice.features().expect("Petrel's invoice has features");
    assert!(
        features.requires_payment_secret() && features.supports_variable_length_onion(),
        "{features:?}"
    );
    (answer, invoice)
}

/// Petrel's record of the invoice for `payment_hash` (`petrel invoices`).
fn petrel_invoice_record(pair: &Pair, payment_hash: &str) -> Value {
    let invoices = petrel_ok(&pair.petrel, &["invoices"]);
    invoices
        .as_array()
        .expect("an array of invoices")
        .iter()
        .find(|i| i["payment_hash"] == payment_hash)
        .cloned()
        .unwrap_or_else(|| panic!("Petrel has no invoice {payment_hash}: {invoices}"))
}

/// Petrel's record of its payment for `payment_hash` (`petrel payments`).
fn petrel_payment_record(pair: &Pair, payment_hash: &str) -> Value {
    let payments = petrel_ok(&pair.petrel, &["payments"]);
    payments
        .as_array()
        .expect("an array of payments")
        .iter()
        .find(|p| p["payment_hash"] == payment_hash)
        .cloned()
        .unwrap_or_else(|| panic!("Petrel has no payment {payment_hash}: {payments}"))
}

/// Waits until LDK's payment `id` ends; returns how.
async fn ldk_outcome(pair: &Pair, id: PaymentId) -> Outcome {
    wait_for("LDK's payment to end", DEADLINE, || async {
        pair.ldk.outcome(id)
    })
    .await
}

/// Waits until LDK's payment `id` ends and checks that it was sent, paying `amount_msat`
/// and no fee, and that the preimage the payee released hashes to `payment_hash`.
async fn ldk_sent(pair: &Pair, id: PaymentId, payment_hash: [u8; 32], amount_msat: u64) {
    match ldk_outcome(pair, id).await {
        Outcome::Sent {
            preimage,
            amount_msat: sent,
            fee_paid_msat,
        } => {
            assert_eq!(hash_of(&preimage.0).0, payment_hash);
            assert_eq!(sent, Some(amount_msat));
            assert_eq!(fee_paid_msat, Some(0));
        }
        failed => panic!(
            "LDK's payment failed: {failed:?}\n--- Petrel ---\n{}\n--- LDK ---\n{}",
            pair.petrel.log_tail(),
            pair.ldk.logger.tail()
        ),
    }
}

/// Waits until LDK has claimed the payment for `payment_hash`.
async fn ldk_claimed(pair: &Pair, payment_hash: [u8; 32]) -> Claimed {
    wait_for("LDK to claim the payment", DEADLINE, || async {
        pair.ldk.claimed(PaymentHash(payment_hash))
    })
    .await
}

/// LDK pays a Petrel invoice of `amount_msat`: sent on LDK's side, paid on Petrel's.
async fn ldk_pays_petrel_invoice(pair: &Pair, channel: &mut Channel, amount_msat: u64) {
    let (answer, invoice) = petrel_invoice(pair, amount_msat, "LDK pays Petrel");
    let hash = answer["payment_hash"].as_str().unwrap();
    assert_eq!(petrel_invoice_record(pair, hash)["status"], "open");
    let id = pair.ldk.pay_invoice(&invoice, None);
    ldk_sent(pair, id, bytes32(&answer["payment_hash"]), amount_msat).await;
    let record = wait_for("Petrel to call its invoice paid", DEADLINE, || async {
        Some(petrel_invoice_record(pair, hash)).filter(|r| r["status"] == "paid")
    })
    .await;
    assert_eq!(record["received_msat"], amount_msat, "{record}");
    channel.received(amount_msat);
    check_balances(pair, channel).await;
}

/// Petrel pays an invoice of `amount_msat` LDK's `ChannelManager` made: Petrel decodes it
/// as LDK wrote it, its payment succeeds with the preimage, and LDK claimed the amount for
/// that invoice.
async fn petrel_pays_ldk_invoice(pair: &Pair, channel: &mut Channel, amount_msat: u64) {
    let invoice = pair.ldk.invoice(amount_msat, "Petrel pays LDK");
    assert_eq!(invoice.currency(), Currency::Regtest);
    let bolt11 = invoice.to_string();
    let hash = invoice.payment_hash().to_byte_array();
    let decoded = petrel_ok(&pair.petrel, &["decodeinvoice", &bolt11]);
    assert_eq!(decoded["payee"], pair.ldk.node_id.to_string(), "{decoded}");
    assert_eq!(decoded["amount_msat"], amount_msat, "{decoded}");
    assert_eq!(bytes32(&decoded["payment_hash"]), hash, "{decoded}");
    assert_eq!(
        bytes32(&decoded["payment_secret"]),
        invoice.payment_secret().0,
        "{decoded}"
    );
    assert_eq!(
        decoded["min_final_cltv_expiry_delta"],
        invoice.min_final_cltv_expiry_delta(),
        "{decoded}"
    );

    let paid = petrel_pay(pair, &bolt11);
    check_petrel_paid(&paid, hash, amount_msat);
    let claimed = ldk_claimed(pair, hash).await;
    assert_eq!(claimed.amount_msat, amount_msat);
    assert!(
        matches!(
            claimed.purpose,
            PaymentPurpose::Bolt11InvoicePayment {
                payment_secret, ..
            } if payment_secret == *invoice.payment_secret()
        ),
        "{claimed:?}"
    );
    let record = petrel_payment_record(pair, &hash.to_lower_hex_string());
    assert_eq!(record["status"], "succeeded", "{record}");
    channel.paid(amount_msat);
    check_balances(pair, channel).await;
}

/// `petrel pay BOLT11`, which must succeed.
fn petrel_pay(pair: &Pair, bolt11: &str) -> Value {
    petrel_ok(&pair.petrel, &["pay", bolt11, "--timeout-secs", "60"])
}

/// Petrel's answer to a payment that must have succeeded: `amount_msat` paid, no fee, one
/// hop, the preimage of `payment_hash`.
fn check_petrel_paid(answer: &Value, payment_hash: [u8; 32], amount_msat: u64) {
    assert_eq!(answer["status"], "succeeded", "{answer}");
    assert_eq!(bytes32(&answer["payment_hash"]), payment_hash, "{answer}");
    assert_eq!(hash_of(&bytes32(&answer["preimage"])).0, payment_hash);
    assert_eq!(answer["amount_msat"], amount_msat, "{answer}");
    assert_eq!(answer["fee_msat"], 0, "{answer}");
}

/// LDK keysends `amount_msat` to Petrel, which records it paid, as a keysend.
async fn ldk_keysends(pair: &Pair, channel: &mut Channel, amount_msat: u64) {
    let (id, preimage) = pair.ldk.keysend(pair.petrel_id, amount_msat);
    let hash = hash_of(&preimage.0).0;
    ldk_sent(pair, id, hash, amount_msat).await;
    check_petrel_received_keysend(pair, hash, amount_msat).await;
    channel.received(amount_msat);
    check_balances(pair, channel).await;
}

/// Petrel's record of a keysend it received for `payment_hash`: paid, `amount_msat`.
async fn check_petrel_received_keysend(pair: &Pair, payment_hash: [u8; 32], amount_msat: u64) {
    let hash = payment_hash.to_lower_hex_string();
    let record = wait_for("Petrel to record the keysend paid", DEADLINE, || async {
        let invoices = petrel_ok(&pair.petrel, &["invoices"]);
        invoices
            .as_array()?
            .iter()
            .find(|i| i["payment_hash"] == hash.as_str() && i["status"] == "paid")
            .cloned()
    })
    .await;
    assert_eq!(record["kind"], "keysend", "{record}");
    assert_eq!(record["received_msat"], amount_msat, "{record}");
}

/// Petrel keysends `amount_msat` to LDK, which claims it as a spontaneous payment with the
/// preimage Petrel chose.
async fn petrel_keysends(pair: &Pair, channel: &mut Channel, amount_msat: u64) {
    let answer = petrel_ok(
        &pair.petrel,
        &[
            "keysend",
            &pair.ldk.node_id.to_string(),
            &amount_msat.to_string(),
        ],
    );
    let hash = bytes32(&answer["payment_hash"]);
    check_petrel_paid(&answer, hash, amount_msat);
    let claimed = ldk_claimed(pair, hash).await;
    assert_eq!(claimed.amount_msat, amount_msat);
    assert_eq!(
        claimed.purpose,
        PaymentPurpose::SpontaneousPayment(PaymentPreimage(bytes32(&answer["preimage"])))
    );
    channel.paid(amount_msat);
    check_balances(pair, channel).await;
}

/// One payment of each kind each way, each checked on both sides and followed by a check
/// of the balances.
async fn one_of_each(pair: &Pair, channel: &mut Channel) {
    ldk_pays_petrel_invoice(pair, channel, 50_000_123).await;
    petrel_pays_ldk_invoice(pair, channel, 30_000_456).await;
    ldk_keysends(pair, channel, 7_000_789).await;
    petrel_keysends(pair, channel, 9_000_012).await;
}

/// A payment the bulk phase started, to be checked once it ended.
enum Started {
    /// LDK paying Petrel's invoice: its payment id, the invoice's hash (hex, and bytes) and
    /// amount.
    LdkInvoice(PaymentId, String, [u8; 32], u64),
    /// LDK's keysend: its payment id, the hash and amount.
    LdkKeysend(PaymentId, [u8; 32], u64),
}

/// `payments` payments each way, [`IN_FLIGHT`] each way at a time, LDK's and Petrel's
/// started together: LDK pays Petrel's invoices and keysends in turn, Petrel keysends and
/// pays LDK's invoices in turn (several `petrel` calls at once). Every payment must
/// succeed on both sides; then the balances must be the sums of it all.
async fn interleaved(pair: &Pair, channel: &mut Channel, payments: usize) {
    let feerate = pair.petrel_view(&channel.id)["feerate_sat_per_kw"]
        .as_u64()
        .unwrap();
    let feerate = u32::try_from(feerate).unwrap();
    pair.ldk.fees.set(feerate.max(BULK_FEE_ESTIMATE));
    for batch in (0..payments).collect::<Vec<_>>().chunks(IN_FLIGHT) {
        // Petrel's side first makes what it needs: its invoices for LDK, LDK's for it.
        let mut started = Vec::new();
        let mut petrel_calls = Vec::new();
        for &i in batch {
            let to_petrel = bulk_amount(i, 0);
            if i % 2 == 0 {
                let (answer, invoice) = petrel_invoice(pair, to_petrel, &format!("bulk {i}"));
                let id = pair.ldk.pay_invoice(&invoice, None);
                let hash = answer["payment_hash"].as_str().unwrap().to_string();
                let bytes = bytes32(&answer["payment_hash"]);
                started.push(Started::LdkInvoice(id, hash, bytes, to_petrel));
            } else {
                let (id, preimage) = pair.ldk.keysend(pair.petrel_id, to_petrel);
                started.push(Started::LdkKeysend(id, hash_of(&preimage.0).0, to_petrel));
            }
            let to_ldk = bulk_amount(i, 1);
            if i % 2 == 0 {
                petrel_calls.push((
                    vec![
                        "keysend".to_string(),
                        pair.ldk.node_id.to_string(),
                        to_ldk.to_string(),
                    ],
                    to_ldk,
                    None,
                ));
            } else {
                let invoice = pair.ldk.invoice(to_ldk, &format!("bulk {i}"));
                petrel_calls.push((
                    vec![
                        "pay".to_string(),
                        invoice.to_string(),
                        "--timeout-secs".to_string(),
                        "60".to_string(),
                    ],
                    to_ldk,
                    Some(invoice.payment_hash().to_byte_array()),
                ));
            }
        }
        let answers: Vec<(bool, Value)> = tokio::task::block_in_place(|| {
            std::thread::scope(|s| {
                let handles: Vec<_> = petrel_calls
                    .iter()
                    .map(|(args, _, _)| {
                        s.spawn(|| {
                            let args: Vec<&str> = args.iter().map(String::as_str).collect();
                            pair.petrel.cli(&args)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            })
        });
        for ((ok, answer), (args, amount, invoice_hash)) in answers.iter().zip(&petrel_calls) {
            assert!(
                ok,
                "petrel {args:?}: {answer}\n--- Petrel ---\n{}\n--- LDK ---\n{}",
                pair.petrel.log_tail(),
                pair.ldk.logger.tail()
            );
            let hash = bytes32(&answer["payment_hash"]);
            if let Some(invoice_hash) = invoice_hash {
                assert_eq!(hash, *invoice_hash);
            }
            check_petrel_paid(answer, hash, *amount);
            let claimed = ldk_claimed(pair, hash).await;
            assert_eq!(claimed.amount_msat, *amount);
            channel.paid(*amount);
        }
        for payment in started {
            match payment {
                Started::LdkInvoice(id, hash, bytes, amount) => {
                    ldk_sent(pair, id, bytes, amount).await;
                    let record = wait_for("Petrel to call its invoice paid", DEADLINE, || async {
                        Some(petrel_invoice_record(pair, &hash)).filter(|r| r["status"] == "paid")
                    })
                    .await;
                    assert_eq!(record["received_msat"], amount, "{record}");
                    channel.received(amount);
                }
                Started::LdkKeysend(id, hash, amount) => {
                    ldk_sent(pair, id, hash, amount).await;
                    check_petrel_received_keysend(pair, hash, amount).await;
                    channel.received(amount);
                }
            }
        }
    }
    pair.ldk.fees.set(feerate);
    check_balances(pair, channel).await;
}

/// A cooperative close of the channel, started by Petrel or by LDK, once the balances are
/// agreed: the closing transaction pays the non-funder exactly its balance rounded down to
/// the satoshi, and the funder its balance rounded down less the fee (BOLT 3: the funder
/// pays the closing fee; the msat remainders go to the fee too). Petrel's output lands in its
/// wallet; LDK reports its own spendable, with the value it expects.
async fn close_and_check_payouts(pair: &Pair, channel: &Channel, petrel_starts: bool) {
    check_balances(pair, channel).await;
    let funding = pair.funding_outpoint(&channel.id);
    let wallet_before = petrel_total(&pair.petrel);
    if petrel_starts {
        let answer = petrel_ok(&pair.petrel, &["close", &channel.id]);
        assert_eq!(answer["state"], "closing", "{answer}");
    } else {
        pair.ldk
            .manager
            .close_channel(&pair.ldk_channel_id(&channel.id), &pair.petrel_id)
            .expect("LDK starts the close");
    }
    let closing = pair.wait_spender_in_mempool(funding).await;
    let reason = pair.wait_ldk_closed(&channel.id).await;
    let expected_reason = if petrel_starts {
        ClosureReason::CounterpartyInitiatedCooperativeClosure
    } else {
        ClosureReason::LocallyInitiatedCooperativeClosure
    };
    assert_eq!(reason, expected_reason);
    pair.mine(ANTI_REORG_DELAY).await;
    let closed = pair.wait_petrel_state(&channel.id, "closed").await;
    assert_eq!(closed["close"]["how"], "cooperative", "{closed}");
    assert_eq!(
        closed["close"]["closing_txid"],
        closing.compute_txid().to_string()
    );

    let ldk_output = ldk_closing_output(pair, &closing).await;
    assert_eq!(closing.output.len(), 2, "{closing:?}");
    let petrel_output: u64 =
        closing.output.iter().map(|o| o.value.to_sat()).sum::<u64>() - ldk_output;
    let wallet_after = wait_for("Petrel's wallet to take its output", DEADLINE, || async {
        let total = petrel_total(&pair.petrel);
        (total != wallet_before).then_some(total)
    })
    .await;
    assert_eq!(wallet_after - wallet_before, petrel_output);

    let fee = pair.fee_of(&closing).await;
    let capacity_msat = FUNDING_SAT * 1_000;
    let (petrel_floor, ldk_floor) = (
        channel.petrel_msat / 1_000,
        (capacity_msat - channel.petrel_msat) / 1_000,
    );
    let (funder_output, funder_floor, fundee_output, fundee_floor) = if channel.petrel_funded {
        (petrel_output, petrel_floor, ldk_output, ldk_floor)
    } else {
        (ldk_output, ldk_floor, petrel_output, petrel_floor)
    };
    assert_eq!(
        fundee_output, fundee_floor,
        "the non-funder gets its balance, rounded down"
    );
    assert!(
        funder_output < funder_floor && funder_floor - funder_output <= fee && fee < 10_000,
        "the funder pays the fee: output {funder_output}, balance {funder_floor}, fee {fee}"
    );
    pair.assert_mempool_empty().await;
}

/// LDK's output in the closing transaction: the one it reports spendable.
async fn ldk_closing_output(pair: &Pair, closing: &Transaction) -> u64 {
    let txid = closing.compute_txid();
    wait_for("LDK to report its closing output", DEADLINE, || async {
        pair.ldk
            .spendable
            .lock()
            .unwrap()
            .iter()
            .find_map(|d| match d {
                SpendableOutputDescriptor::StaticOutput {
                    outpoint, output, ..
                } if outpoint.txid == txid => Some(output.value.to_sat()),
                _ => None,
            })
    })
    .await
}

/// Over a channel Petrel funded: one payment of each kind each way, then 100 each way
/// interleaved, then a cooperative close Petrel starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_both_ways_over_a_channel_petrel_funded() {
    let pair = Pair::start([0x51; 32]).await;
    let mut channel = open(&pair, true).await;
    one_of_each(&pair, &mut channel).await;
    interleaved(&pair, &mut channel, 100).await;
    pair.assert_quiet();
    close_and_check_payouts(&pair, &channel, true).await;
}

/// Over a channel LDK funded: the same, 100 payments each way, and LDK closing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_both_ways_over_a_channel_ldk_funded() {
    let pair = Pair::start_with(Setup {
        seed: [0x52; 32],
        fund_ldk: true,
        dialler: Dialler::Ldk,
    })
    .await;
    let mut channel = open(&pair, false).await;
    one_of_each(&pair, &mut channel).await;
    interleaved(&pair, &mut channel, 100).await;
    pair.assert_quiet();
    close_and_check_payouts(&pair, &channel, false).await;
}

/// Petrel's `pay` of an invoice LDK refuses: it fails, and Petrel reports LDK's failure
/// decoded: `incorrect_or_unknown_payment_details` from hop 0 (LDK), with the HTLC's
/// amount and LDK's block height. LDK never called the payment claimable.
async fn petrel_pay_refused(pair: &Pair, invoice: &Bolt11Invoice) {
    let amount = invoice.amount_milli_satoshis().unwrap();
    let (ok, answer) = petrel_cli(
        &pair.petrel,
        &["pay", &invoice.to_string(), "--timeout-secs", "60"],
    );
    assert!(!ok, "{answer}");
    assert_eq!(answer["status"], "failed", "{answer}");
    let failure = &answer["failure"];
    assert_eq!(failure["hop"], 0, "{answer}");
    assert_eq!(failure["node_id"], pair.ldk.node_id.to_string(), "{answer}");
    assert_eq!(
        failure["code"], INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS,
        "{answer}"
    );
    assert_eq!(
        failure["name"], "incorrect_or_unknown_payment_details",
        "{answer}"
    );
    assert_eq!(failure["htlc_msat"], amount, "{answer}");
    assert_eq!(failure["height"], pair.ldk.synced_height(), "{answer}");
    let hash = invoice.payment_hash().to_byte_array();
    assert!(!pair.ldk.was_claimable(PaymentHash(hash)));
    let record = petrel_payment_record(pair, &hash.to_lower_hex_string());
    assert_eq!(record["status"], "failed", "{record}");
}

/// LDK's payment `id`, which Petrel refuses: LDK gives it up as rejected by the recipient,
/// its one path failed on the path and for good, and the failure it decoded from Petrel is
/// `incorrect_or_unknown_payment_details` (PERM|15, `0x400f`). LDK keeps the failure code
/// out of its events outside its own tests; it logs it, with the node it came from.
async fn ldk_refused(pair: &Pair, id: PaymentId, failures_before: usize) -> usize {
    match ldk_outcome(pair, id).await {
        Outcome::Failed { reason, paths } => {
            assert_eq!(reason, Some(PaymentFailureReason::RecipientRejected));
            assert_eq!(paths.len(), 1, "{paths:?}");
            assert!(paths[0].0, "failed for good: {paths:?}");
            assert!(
                matches!(paths[0].1, PathFailure::OnPath { .. }),
                "{paths:?}"
            );
        }
        sent => panic!("LDK's payment went through: {sent:?}"),
    }
    let line = format!(
        "Onion Error[from {}: IncorrectPaymentDetails(0x400f)",
        pair.petrel_id
    );
    let failures = pair.ldk.logger.count(&line);
    assert_eq!(
        failures,
        failures_before + 1,
        "LDK decoded no {line}:\n{}",
        pair.ldk.logger.tail()
    );
    failures
}

/// Refusals both ways, each decoded by the payer, on a channel Petrel funded; refused
/// payments move nothing, and a good payment afterwards still goes through.
///
/// LDK refuses (a) an invoice it signed for a hash and secret it never made: LDK checks an
/// incoming payment's secret against what it encodes (LDK's stateless inbound payments), and
/// (b) a payment below the amount its inbound payment was made for, in an invoice it signed
/// for less, which Petrel's `pay` takes at its word. The full amount for that same hash then
/// goes through. Petrel refuses LDK's payment of its invoice with a wrong payment secret,
/// to a hash it has no invoice for, and of more than twice its invoice's amount; the
/// invoice stays open and is then paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_come_back_decoded_both_ways() {
    let pair = Pair::start([0x53; 32]).await;
    let mut channel = open(&pair, true).await;
    let ldk = &pair.ldk;

    // (a) An unknown hash at LDK.
    let unknown = ldk.signed_invoice(
        PaymentHash(ldk.random_bytes()),
        PaymentSecret(ldk.random_bytes()),
        25_000_000,
        40,
    );
    petrel_pay_refused(&pair, &unknown).await;
    check_balances(&pair, &channel).await;

    // (b) Too little for LDK's inbound payment, then enough.
    let (hash, secret) = ldk.inbound_payment(60_000_000);
    let short = ldk.signed_invoice(hash, secret, 59_999_999, 40);
    petrel_pay_refused(&pair, &short).await;
    check_balances(&pair, &channel).await;
    let full = ldk.signed_invoice(hash, secret, 60_000_000, 40);
    let paid = petrel_pay(&pair, &full.to_string());
    check_petrel_paid(&paid, hash.0, 60_000_000);
    assert_eq!(ldk_claimed(&pair, hash.0).await.amount_msat, 60_000_000);
    channel.paid(60_000_000);
    check_balances(&pair, &channel).await;

    // Petrel refuses LDK's payments of its invoice with a wrong secret, of an unknown hash,
    // and of three times the amount.
    let amount = 20_000_000;
    let (answer, invoice) = petrel_invoice(&pair, amount, "refusals");
    let hash_hex = answer["payment_hash"].as_str().unwrap();
    let hash = PaymentHash(bytes32(&answer["payment_hash"]));
    let final_cltv = u32::try_from(PETREL_FINAL_CLTV_DELTA).unwrap();
    let mut failures = 0;
    let wrong_secret = ldk.pay_hash(
        pair.petrel_id,
        hash,
        PaymentSecret(ldk.random_bytes()),
        amount,
        final_cltv,
    );
    failures = ldk_refused(&pair, wrong_secret, failures).await;
    let unknown_hash = ldk.pay_hash(
        pair.petrel_id,
        PaymentHash(ldk.random_bytes()),
        *invoice.payment_secret(),
        amount,
        final_cltv,
    );
    failures = ldk_refused(&pair, unknown_hash, failures).await;
    let too_much = ldk.pay_invoice(&invoice, Some(3 * amount));
    ldk_refused(&pair, too_much, failures).await;
    let record = petrel_invoice_record(&pair, hash_hex);
    assert_eq!(record["status"], "open", "{record}");
    assert_eq!(record["received_msat"], 0, "{record}");
    check_balances(&pair, &channel).await;

    let id = ldk.pay_invoice(&invoice, None);
    ldk_sent(&pair, id, hash.0, amount).await;
    let record = wait_for("Petrel to call its invoice paid", DEADLINE, || async {
        Some(petrel_invoice_record(&pair, hash_hex)).filter(|r| r["status"] == "paid")
    })
    .await;
    assert_eq!(record["received_msat"], amount, "{record}");
    channel.received(amount);
    check_balances(&pair, &channel).await;
    pair.assert_quiet();
    pair.assert_mempool_empty().await;
}

/// LDK pays one Petrel invoice in three parts over the channel (its router splits the
/// route; the last part takes the odd msat): Petrel holds the parts until they add up to
/// the invoice's amount, then fulfils all three, and LDK sees every path succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldk_pays_a_petrel_invoice_in_three_parts() {
    let pair = Pair::start([0x54; 32]).await;
    let mut channel = open(&pair, true).await;
    let amount = 90_000_001;
    let (answer, invoice) = petrel_invoice(&pair, amount, "three parts");
    assert!(invoice.features().unwrap().supports_basic_mpp());
    pair.ldk.router.split_next(3);
    let id = pair.ldk.pay_invoice(&invoice, None);
    ldk_sent(&pair, id, bytes32(&answer["payment_hash"]), amount).await;
    // LDK reports each path's success once its HTLC is removed, after `PaymentSent`.
    wait_for("LDK to see all three paths succeed", DEADLINE, || async {
        (pair.ldk.paths_succeeded(id) == 3).then_some(())
    })
    .await;
    let record = wait_for("Petrel to call its invoice paid", DEADLINE, || async {
        Some(petrel_invoice_record(
            &pair,
            answer["payment_hash"].as_str().unwrap(),
        ))
        .filter(|r| r["status"] == "paid")
    })
    .await;
    assert_eq!(record["received_msat"], amount, "{record}");
    assert_eq!(record["htlcs"], 3, "{record}");
    channel.received(amount);
    check_balances(&pair, &channel).await;
    pair.assert_quiet();
}

/// Petrel killed at each write of a payment's life with LDK on the other side, restarted,
/// and reestablished with LDK: as payee right after storing its invoice paid (before
/// `update_fulfill_htlc` leaves), and as payer right after storing the attempt (before
/// `update_add_htlc` leaves) and right after storing the success. Each payment ends once:
/// LDK sees it sent or claims it once, Petrel's records say so, `pay` of the same invoice
/// after the restart answers the outcome, and the balances agree to the msat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_end_once_when_petrel_dies_at_each_payment_write() {
    let mut pair = Pair::start([0x55; 32]).await;
    let mut channel = open(&pair, true).await;

    // Petrel as payee.
    let amount = 33_000_000;
    let (answer, invoice) = petrel_invoice(&pair, amount, "payee dies");
    let hash = answer["payment_hash"].as_str().unwrap().to_string();
    let before = pair.reestablishes_received();
    pair.restart_crashing_at("invoice_settled_stored");
    pair.wait_reestablished(&channel.id, before).await;
    let id = pair.ldk.pay_invoice(&invoice, None);
    pair.wait_petrel_aborted("invoice_settled_stored");
    let before = pair.reestablishes_received();
    pair.restart_petrel();
    pair.wait_reestablished(&channel.id, before).await;
    ldk_sent(&pair, id, bytes32(&answer["payment_hash"]), amount).await;
    let record = wait_for("Petrel to call its invoice paid", DEADLINE, || async {
        Some(petrel_invoice_record(&pair, &hash)).filter(|r| r["status"] == "paid")
    })
    .await;
    assert_eq!(record["received_msat"], amount, "{record}");
    channel.received(amount);
    check_balances(&pair, &channel).await;

    // Petrel as payer.
    for (point, amount) in [
        ("payment_attempt_stored", 21_000_000),
        ("payment_succeeded_stored", 22_000_000),
    ] {
        let invoice = pair.ldk.invoice(amount, point);
        let bolt11 = invoice.to_string();
        let hash = invoice.payment_hash().to_byte_array();
        let before = pair.reestablishes_received();
        pair.restart_crashing_at(point);
        pair.wait_reestablished(&channel.id, before).await;
        let (_, first) = petrel_cli(&pair.petrel, &["pay", &bolt11, "--timeout-secs", "30"]);
        assert_ne!(
            first["status"], "succeeded",
            "{point}: Petrel answered before dying"
        );
        pair.wait_petrel_aborted(point);
        let before = pair.reestablishes_received();
        pair.restart_petrel();
        pair.wait_reestablished(&channel.id, before).await;
        let paid = petrel_pay(&pair, &bolt11);
        check_petrel_paid(&paid, hash, amount);
        let claimed = ldk_claimed(&pair, hash).await;
        assert_eq!(claimed.amount_msat, amount, "{point}");
        let payments: Vec<Value> = petrel_ok(&pair.petrel, &["payments"])
            .as_array()
            .cloned()
            .unwrap_or_default();
        let records = payments
            .iter()
            .filter(|p| p["payment_hash"] == hash.to_lower_hex_string())
            .count();
        assert_eq!(records, 1, "{point}: one record for the payment");
        channel.paid(amount);
        check_balances(&pair, &channel).await;
    }
    pair.assert_quiet();
}
