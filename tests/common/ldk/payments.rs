//! Payments with the LDK test node ([`LdkNode`]), through LDK's own API: invoices its channel
//! manager makes (and, for refusals, invoices signed with its node key for what it does not
//! know), paying BOLT 11 invoices, keysend, and paying a bare payment hash; then reading how
//! each payment ended from the events the driver kept. Sends route through the node's
//! [`DirectRouter`](super::node::DirectRouter), one hop to a channel peer, and never retry.
//!
//! None of it waits: the tests poll these with `wait_for`.

use bitcoin::hashes::{sha256, Hash as _};
use bitcoin::secp256k1::{PublicKey, Secp256k1};
use lightning::bolt11_invoice::{
    Bolt11Invoice, Bolt11InvoiceDescription, Currency, Description, InvoiceBuilder,
};
use lightning::events::{Event, PathFailure, PaymentFailureReason, PaymentPurpose};
use lightning::ln::channel_state::ChannelDetails;
use lightning::ln::channelmanager::{
    Bolt11InvoiceParameters, PaymentId, RecipientOnionFields, Retry,
};
use lightning::routing::router::{PaymentParameters, RouteParameters, RouteParametersConfig};
use lightning::sign::EntropySource as _;
use lightning::types::payment::{PaymentHash, PaymentPreimage, PaymentSecret};

use super::node::LdkNode;

/// How an LDK payment ended, from its events.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// `PaymentSent`.
    Sent {
        /// The preimage the payee released.
        preimage: PaymentPreimage,
        /// What the payee was paid (without fees).
        amount_msat: Option<u64>,
        /// The fees paid on the way.
        fee_paid_msat: Option<u64>,
    },
    /// `PaymentFailed`, with every `PaymentPathFailed` of the payment before it.
    Failed {
        /// Why LDK gave the payment up.
        reason: Option<PaymentFailureReason>,
        /// Each failed path: whether LDK calls the payment failed for good, and how the path
        /// failed.
        paths: Vec<(bool, PathFailure)>,
    },
}

/// A payment LDK received and claimed (`PaymentClaimed`).
#[derive(Debug, Clone)]
pub struct Claimed {
    /// What it received.
    pub amount_msat: u64,
    /// What the payment was for (an invoice of LDK's, or a keysend).
    pub purpose: PaymentPurpose,
    /// How many HTLCs made it up.
    pub htlcs: usize,
}

/// `sha256(preimage)`: the payment hash a preimage unlocks.
pub fn hash_of(preimage: &[u8; 32]) -> PaymentHash {
    PaymentHash(sha256::Hash::hash(preimage).to_byte_array())
}

/// LDK's balance and its peer's in a channel, to the msat, from LDK's `ChannelDetails`, when
/// no HTLC is pending and each side holds at least the reserve the other asks of it. LDK
/// reports what each side can still send, net of that reserve and (for channels without
/// anchors) of nothing else, so adding the reserve back gives the balance exactly
/// (`get_available_balances_for_scope`, lightning 0.2.7 `ln/channel.rs`).
pub fn balances_msat(details: &ChannelDetails) -> (u64, u64) {
    assert!(
        details.pending_inbound_htlcs.is_empty() && details.pending_outbound_htlcs.is_empty(),
        "HTLCs pending: {details:?}"
    );
    assert!(
        details.outbound_capacity_msat > 0 && details.inbound_capacity_msat > 0,
        "a side at or below its reserve: LDK's capacities do not give its balance: {details:?}"
    );
    let ldk_reserve = details
        .unspendable_punishment_reserve
        .expect("the reserve Petrel asks of LDK");
    let peer_reserve = details.counterparty.unspendable_punishment_reserve;
    let ldk = details.outbound_capacity_msat + ldk_reserve * 1_000;
    let peer = details.inbound_capacity_msat + peer_reserve * 1_000;
    assert_eq!(
        ldk + peer,
        details.channel_value_satoshis * 1_000,
        "{details:?}"
    );
    (ldk, peer)
}

impl LdkNode {
    /// 32 bytes from LDK's entropy source.
    pub fn random_bytes(&self) -> [u8; 32] {
        self.keys.get_secure_random_bytes()
    }

    /// An invoice for `amount_msat` made by LDK's channel manager (its payment hash and
    /// secret are LDK's stateless inbound payment, which it can verify and claim).
    pub fn invoice(&self, amount_msat: u64, description: &str) -> Bolt11Invoice {
        self.manager
            .create_bolt11_invoice(Bolt11InvoiceParameters {
                amount_msats: Some(amount_msat),
                description: Bolt11InvoiceDescription::Direct(
                    Description::new(description.to_string()).unwrap(),
                ),
                ..Default::default()
            })
            .expect("LDK makes an invoice")
    }

    /// An invoice signed with LDK's node key for `payment_hash` and `payment_secret`, which
    /// LDK's channel manager did not make: LDK checks an incoming payment against what its
    /// payment secret encodes, not against the invoice, so it refuses (BOLT 4
    /// `incorrect_or_unknown_payment_details`) a payment of an invoice whose secret it
    /// cannot verify, or whose amount is below the one its secret was made for.
    pub fn signed_invoice(
        &self,
        payment_hash: PaymentHash,
        payment_secret: PaymentSecret,
        amount_msat: u64,
        min_final_cltv_expiry_delta: u64,
    ) -> Bolt11Invoice {
        let secret = self.keys.get_node_secret_key();
        InvoiceBuilder::new(Currency::Regtest)
            .description("signed by the test".into())
            .payment_hash(sha256::Hash::from_byte_array(payment_hash.0))
            .payment_secret(payment_secret)
            .duration_since_epoch(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap(),
            )
            .min_final_cltv_expiry_delta(min_final_cltv_expiry_delta)
            .amount_milli_satoshis(amount_msat)
            .basic_mpp()
            .build_signed(|hash| Secp256k1::new().sign_ecdsa_recoverable(hash, &secret))
            .expect("the test signs an invoice")
    }

    /// A stateless inbound payment of LDK's for at least `min_msat` (what
    /// `create_bolt11_invoice` registers), without an invoice.
    pub fn inbound_payment(&self, min_msat: u64) -> (PaymentHash, PaymentSecret) {
        self.manager
            .create_inbound_payment(Some(min_msat), 3_600, None)
            .expect("LDK registers an inbound payment")
    }

    /// LDK's `pay_for_bolt11_invoice` (of `amount_msat`, when given, rather than the
    /// invoice's), without retries, under a fresh payment id (an invoice LDK failed to pay
    /// can be paid again).
    pub fn pay_invoice(&self, invoice: &Bolt11Invoice, amount_msat: Option<u64>) -> PaymentId {
        let id = PaymentId(self.random_bytes());
        self.manager
            .pay_for_bolt11_invoice(
                invoice,
                id,
                amount_msat,
                RouteParametersConfig::default(),
                Retry::Attempts(0),
            )
            .expect("LDK starts paying the invoice");
        id
    }

    /// LDK's keysend of `amount_msat` to `payee` (final CLTV delta 40), without retries;
    /// returns the payment id and the preimage LDK chose.
    pub fn keysend(&self, payee: PublicKey, amount_msat: u64) -> (PaymentId, PaymentPreimage) {
        let preimage = PaymentPreimage(self.random_bytes());
        let id = PaymentId(hash_of(&preimage.0).0);
        let params = RouteParameters::from_payment_params_and_value(
            PaymentParameters::for_keysend(payee, 40, false),
            amount_msat,
        );
        self.manager
            .send_spontaneous_payment(
                Some(preimage),
                RecipientOnionFields::spontaneous_empty(),
                id,
                params,
                Retry::Attempts(0),
            )
            .expect("LDK starts the keysend");
        (id, preimage)
    }

    /// LDK's `send_payment` of `amount_msat` to `payee` for `payment_hash` with
    /// `payment_secret`, as if from an invoice with `final_cltv_expiry_delta`; no retries.
    pub fn pay_hash(
        &self,
        payee: PublicKey,
        payment_hash: PaymentHash,
        payment_secret: PaymentSecret,
        amount_msat: u64,
        final_cltv_expiry_delta: u32,
    ) -> PaymentId {
        let id = PaymentId(self.random_bytes());
        let params = RouteParameters::from_payment_params_and_value(
            PaymentParameters::from_node_id(payee, final_cltv_expiry_delta),
            amount_msat,
        );
        self.manager
            .send_payment(
                payment_hash,
                RecipientOnionFields::secret_only(payment_secret),
                id,
                params,
                Retry::Attempts(0),
            )
            .expect("LDK starts the payment");
        id
    }

    /// How payment `id` ended, once it has.
    pub fn outcome(&self, id: PaymentId) -> Option<Outcome> {
        let events = self.events.lock().unwrap();
        let mut paths = Vec::new();
        for event in events.iter() {
            match event {
                Event::PaymentSent {
                    payment_id: Some(payment_id),
                    payment_preimage,
                    amount_msat,
                    fee_paid_msat,
                    ..
                } if *payment_id == id => {
                    return Some(Outcome::Sent {
                        preimage: *payment_preimage,
                        amount_msat: *amount_msat,
                        fee_paid_msat: *fee_paid_msat,
                    })
                }
                Event::PaymentPathFailed {
                    payment_id: Some(payment_id),
                    payment_failed_permanently,
                    failure,
                    ..
                } if *payment_id == id => {
                    paths.push((*payment_failed_permanently, failure.clone()))
                }
                Event::PaymentFailed {
                    payment_id, reason, ..
                } if *payment_id == id => {
                    return Some(Outcome::Failed {
                        reason: *reason,
                        paths,
                    })
                }
                _ => {}
            }
        }
        None
    }

    /// How many paths of payment `id` LDK saw succeed (`PaymentPathSuccessful`).
    pub fn paths_succeeded(&self, id: PaymentId) -> usize {
        self.events_where(|e| match e {
            Event::PaymentPathSuccessful { payment_id, .. } if *payment_id == id => Some(()),
            _ => None,
        })
        .len()
    }

    /// The payment for `payment_hash` LDK received and claimed, once it has.
    pub fn claimed(&self, payment_hash: PaymentHash) -> Option<Claimed> {
        self.events_where(|e| match e {
            Event::PaymentClaimed {
                payment_hash: hash,
                amount_msat,
                purpose,
                htlcs,
                ..
            } if *hash == payment_hash => Some(Claimed {
                amount_msat: *amount_msat,
                purpose: purpose.clone(),
                htlcs: htlcs.len(),
            }),
            _ => None,
        })
        .into_iter()
        .next()
    }

    /// Whether LDK was offered a payment for `payment_hash` it could claim
    /// (`PaymentClaimable`).
    pub fn was_claimable(&self, payment_hash: PaymentHash) -> bool {
        !self
            .events_where(|e| match e {
                Event::PaymentClaimable {
                    payment_hash: hash, ..
                } if *hash == payment_hash => Some(()),
                _ => None,
            })
            .is_empty()
    }
}
