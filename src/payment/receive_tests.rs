//! The final node's decisions (BOLT 4 final-node requirements, basic MPP).

use super::*;
use crate::onion::PaymentData;
use crate::payment::record::{InvoiceKind, InvoiceRecord};
use crate::wire::ChannelId;

const HEIGHT: u32 = 1_000;
const NOW: u64 = 50_000;

fn invoice(amount: Option<u64>) -> InvoiceRecord {
    let preimage = PaymentPreimage([4; 32]);
    InvoiceRecord {
        payment_hash: preimage.payment_hash().0,
        preimage: preimage.0,
        payment_secret: Some([8; 32]),
        kind: InvoiceKind::Bolt11,
        amount: amount.map(Msat),
        description: String::new(),
        bolt11: None,
        min_final_cltv_expiry_delta: 18,
        created_at: NOW - 10,
        expires_at: NOW + 3_600,
        status: InvoiceStatus::Open,
        received: Msat(0),
        paid_at: None,
        htlcs: vec![],
        seq: 0,
    }
}

fn part(id: u64, amount: u64) -> Part {
    Part {
        htlc: HtlcRef {
            channel_id: ChannelId([1; 32]),
            htlc_id: id,
        },
        amount: Msat(amount),
        cltv_expiry: HEIGHT + 40,
        payment_hash: PaymentPreimage([4; 32]).payment_hash(),
        shared_secret: SharedSecret([2; 32]),
    }
}

fn payload(amount: u64, total: u64, secret: [u8; 32]) -> HopPayload {
    HopPayload {
        amt_to_forward: Msat(amount),
        outgoing_cltv_value: HEIGHT + 40,
        short_channel_id: None,
        payment_data: Some(PaymentData {
            payment_secret: secret,
            total_msat: Msat(total),
        }),
        payment_metadata: None,
        keysend_preimage: None,
        unknown_odd: vec![],
    }
}

fn decide(r: &mut Receiver, p: Part, pl: &HopPayload, inv: &InvoiceRecord) -> Vec<Decision> {
    r.on_htlc(p, pl, Known::Invoice(inv), HEIGHT, NOW, 18)
}

fn failure_code(d: &[Decision]) -> Option<u16> {
    match d {
        [Decision::Fail { failure, .. }] => Some(failure.code),
        _ => None,
    }
}

const UNKNOWN_DETAILS: u16 = 0x4000 | 15;

#[test]
fn a_single_part_paying_the_invoice_is_fulfilled() {
    let inv = invoice(Some(5_000));
    let mut r = Receiver::new();
    let d = decide(
        &mut r,
        part(0, 5_000),
        &payload(5_000, 5_000, [8; 32]),
        &inv,
    );
    assert!(matches!(&d[..], [Decision::Fulfill { preimage, .. }] if preimage.0 == [4; 32]));
    assert_eq!(r.held(), 0);
}

#[test]
fn unknown_hash_wrong_secret_low_amount_and_expiry_fail_with_unknown_payment_details() {
    let inv = invoice(Some(5_000));
    let mut r = Receiver::new();
    let d = r.on_htlc(
        part(0, 5_000),
        &payload(5_000, 5_000, [8; 32]),
        Known::Unknown,
        HEIGHT,
        NOW,
        18,
    );
    assert_eq!(failure_code(&d), Some(UNKNOWN_DETAILS));
    let d = decide(
        &mut r,
        part(1, 5_000),
        &payload(5_000, 5_000, [9; 32]),
        &inv,
    );
    assert_eq!(failure_code(&d), Some(UNKNOWN_DETAILS), "wrong secret");
    let d = decide(
        &mut r,
        part(2, 4_999),
        &payload(4_999, 4_999, [8; 32]),
        &inv,
    );
    assert_eq!(failure_code(&d), Some(UNKNOWN_DETAILS), "too little");
    let d = decide(
        &mut r,
        part(3, 10_001),
        &payload(10_001, 10_001, [8; 32]),
        &inv,
    );
    assert_eq!(failure_code(&d), Some(UNKNOWN_DETAILS), "more than twice");
    let mut near = part(4, 5_000);
    near.cltv_expiry = HEIGHT + 17;
    let mut pl = payload(5_000, 5_000, [8; 32]);
    pl.outgoing_cltv_value = HEIGHT + 17;
    let d = decide(&mut r, near, &pl, &inv);
    assert_eq!(failure_code(&d), Some(UNKNOWN_DETAILS), "expiry too near");
    let expired = InvoiceRecord {
        expires_at: NOW - 1,
        ..inv.clone()
    };
    let d = decide(
        &mut r,
        part(5, 5_000),
        &payload(5_000, 5_000, [8; 32]),
        &expired,
    );
    assert_eq!(failure_code(&d), Some(UNKNOWN_DETAILS), "expired invoice");
    let mut no_secret = payload(5_000, 5_000, [8; 32]);
    no_secret.payment_data = None;
    let d = decide(&mut r, part(6, 5_000), &no_secret, &inv);
    assert_eq!(failure_code(&d), Some(UNKNOWN_DETAILS), "no payment_data");
    assert_eq!(r.held(), 0);
}

#[test]
fn an_htlc_below_its_onion_fails_with_the_final_incorrect_codes() {
    let inv = invoice(None);
    let mut r = Receiver::new();
    let mut pl = payload(5_000, 5_000, [8; 32]);
    pl.outgoing_cltv_value = HEIGHT + 41;
    let d = decide(&mut r, part(0, 5_000), &pl, &inv);
    assert_eq!(failure_code(&d), Some(18));
    let d = decide(
        &mut r,
        part(1, 4_000),
        &payload(5_000, 5_000, [8; 32]),
        &inv,
    );
    assert_eq!(failure_code(&d), Some(19));
}

#[test]
fn parts_are_held_until_they_add_up_then_all_are_fulfilled() {
    let inv = invoice(Some(9_000));
    let mut r = Receiver::new();
    assert!(decide(
        &mut r,
        part(0, 3_000),
        &payload(3_000, 9_000, [8; 32]),
        &inv
    )
    .is_empty());
    assert!(decide(
        &mut r,
        part(1, 3_000),
        &payload(3_000, 9_000, [8; 32]),
        &inv
    )
    .is_empty());
    assert_eq!(r.held(), 2);
    // Announced again after a reconnection: still held, not counted twice.
    assert!(decide(
        &mut r,
        part(1, 3_000),
        &payload(3_000, 9_000, [8; 32]),
        &inv
    )
    .is_empty());
    let d = decide(
        &mut r,
        part(2, 3_000),
        &payload(3_000, 9_000, [8; 32]),
        &inv,
    );
    assert_eq!(d.len(), 3);
    assert!(d.iter().all(|d| matches!(d, Decision::Fulfill { .. })));
    assert_eq!(r.held(), 0);
}

#[test]
fn an_incomplete_set_times_out_after_a_minute_as_a_whole() {
    let inv = invoice(Some(9_000));
    let mut r = Receiver::new();
    decide(
        &mut r,
        part(0, 3_000),
        &payload(3_000, 9_000, [8; 32]),
        &inv,
    );
    decide(
        &mut r,
        part(1, 3_000),
        &payload(3_000, 9_000, [8; 32]),
        &inv,
    );
    assert!(r.on_tick(NOW + MPP_TIMEOUT_SECS - 1, HEIGHT).is_empty());
    let d = r.on_tick(NOW + MPP_TIMEOUT_SECS, HEIGHT);
    assert_eq!(d.len(), 2);
    assert!(d
        .iter()
        .all(|d| matches!(d, Decision::Fail { failure, .. } if failure.code == 23)));
    assert_eq!(r.held(), 0);
}

#[test]
fn held_parts_near_their_expiry_are_failed_back_early() {
    let inv = invoice(Some(9_000));
    let mut r = Receiver::new();
    decide(
        &mut r,
        part(0, 3_000),
        &payload(3_000, 9_000, [8; 32]),
        &inv,
    );
    assert!(r
        .on_tick(NOW, HEIGHT + 40 - HELD_EXPIRY_MARGIN - 1)
        .is_empty());
    assert_eq!(r.on_tick(NOW, HEIGHT + 40 - HELD_EXPIRY_MARGIN).len(), 1);
}

#[test]
fn parts_disagreeing_on_the_total_fail_together() {
    let inv = invoice(Some(9_000));
    let mut r = Receiver::new();
    decide(
        &mut r,
        part(0, 3_000),
        &payload(3_000, 9_000, [8; 32]),
        &inv,
    );
    let d = decide(
        &mut r,
        part(1, 3_000),
        &payload(3_000, 10_000, [8; 32]),
        &inv,
    );
    assert_eq!(d.len(), 2);
    assert!(d.iter().all(|d| matches!(d, Decision::Fail { .. })));
}

#[test]
fn a_paid_invoice_settles_its_own_htlcs_again_and_refuses_others() {
    let mut inv = invoice(Some(5_000));
    inv.status = InvoiceStatus::Paid;
    inv.htlcs = vec![part(0, 5_000).htlc];
    let mut r = Receiver::new();
    let d = decide(
        &mut r,
        part(0, 5_000),
        &payload(5_000, 5_000, [8; 32]),
        &inv,
    );
    assert!(matches!(&d[..], [Decision::Fulfill { .. }]));
    let d = decide(
        &mut r,
        part(1, 5_000),
        &payload(5_000, 5_000, [8; 32]),
        &inv,
    );
    assert_eq!(failure_code(&d), Some(UNKNOWN_DETAILS));
}

#[test]
fn keysend_needs_the_preimage_of_the_hash() {
    let mut r = Receiver::new();
    let mut pl = payload(5_000, 5_000, [0; 32]);
    pl.payment_data = None;
    pl.keysend_preimage = Some(PaymentPreimage([4; 32]));
    let d = r.on_htlc(part(0, 5_000), &pl, Known::Unknown, HEIGHT, NOW, 18);
    assert!(matches!(&d[..], [Decision::Fulfill { .. }]));
    pl.keysend_preimage = Some(PaymentPreimage([5; 32]));
    let d = r.on_htlc(part(1, 5_000), &pl, Known::Unknown, HEIGHT, NOW, 18);
    assert_eq!(failure_code(&d), Some(UNKNOWN_DETAILS));
}

#[test]
fn a_closed_channel_takes_its_held_parts_with_it() {
    let inv = invoice(Some(9_000));
    let mut r = Receiver::new();
    decide(
        &mut r,
        part(0, 3_000),
        &payload(3_000, 9_000, [8; 32]),
        &inv,
    );
    r.forget_channel(&ChannelId([1; 32]));
    assert_eq!(r.held(), 0);
}
