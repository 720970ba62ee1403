//! The payment records and how they are stored: invoices we issued (and keysend payments we
//! received), payments we sent with their attempts, and the link from each HTLC to the
//! record it belongs to. Each lives in its own redb table (see [`crate::store::Table`]),
//! JSON-encoded: they are written a few times in a payment's life, not on every update.

use bitcoin::secp256k1::PublicKey;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::store::{self, Op, Reader, StoreError, Table};
use crate::tx::{PaymentHash, PaymentPreimage};
use crate::units::Msat;
use crate::wire::ChannelId;

/// Hex encoding of 32-byte values in the stored JSON.
mod hex32 {
    use bitcoin::hex::{DisplayHex, FromHex};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_lower_hex_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        <[u8; 32]>::from_hex(&text).map_err(serde::de::Error::custom)
    }

    pub(super) mod opt {
        use super::{DisplayHex, FromHex};
        use serde::{Deserialize, Deserializer, Serializer};

        #[allow(clippy::ref_option)] // serde's `with` hands the field by reference
        pub(crate) fn serialize<S: Serializer>(
            v: &Option<[u8; 32]>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => s.serialize_some(&v.to_lower_hex_string()),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<[u8; 32]>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|t| <[u8; 32]>::from_hex(&t).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bitcoin::hex::DisplayHex::to_lower_hex_string(bytes)
}

/// Where an invoice stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Waiting to be paid.
    Open,
    /// Paid: we released (or are releasing) the preimage.
    Paid,
}

/// How a payment came to us.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    /// A BOLT 11 invoice we issued.
    Bolt11,
    /// A spontaneous payment: the payer chose the preimage and put it in the onion.
    Keysend,
}

/// One HTLC of a payment, named by its channel and id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HtlcRef {
    /// The channel.
    pub channel_id: ChannelId,
    /// The HTLC's id in that channel (the offerer's).
    pub htlc_id: u64,
}

/// An invoice we issued, or a keysend payment we received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceRecord {
    /// `payment_hash`.
    #[serde(with = "hex32")]
    pub payment_hash: [u8; 32],
    /// The preimage we release to get paid.
    #[serde(with = "hex32")]
    pub preimage: [u8; 32],
    /// The `payment_secret` every HTLC must carry (none for keysend).
    #[serde(with = "hex32::opt", default)]
    pub payment_secret: Option<[u8; 32]>,
    /// BOLT 11 invoice or keysend.
    pub kind: InvoiceKind,
    /// The amount asked (none: any amount).
    pub amount: Option<Msat>,
    /// The description.
    pub description: String,
    /// The encoded invoice (none for keysend).
    pub bolt11: Option<String>,
    /// `min_final_cltv_expiry_delta` we asked for.
    pub min_final_cltv_expiry_delta: u16,
    /// When it was made (unix seconds).
    pub created_at: u64,
    /// When it stops being payable (unix seconds).
    pub expires_at: u64,
    /// Open or paid.
    pub status: InvoiceStatus,
    /// What the HTLCs we fulfilled for it carried.
    pub received: Msat,
    /// When it was paid.
    pub paid_at: Option<u64>,
    /// The HTLCs we fulfilled for it.
    pub htlcs: Vec<HtlcRef>,
    /// Its place among the node's invoices, in the order they were made (listings are
    /// newest first; seconds do not order invoices made in the same second).
    #[serde(default)]
    pub seq: u64,
}

impl InvoiceRecord {
    /// The payment hash.
    pub fn hash(&self) -> PaymentHash {
        PaymentHash(self.payment_hash)
    }

    /// The preimage.
    pub fn preimage(&self) -> PaymentPreimage {
        PaymentPreimage(self.preimage)
    }

    /// Its status as `invoices` shows it: an open invoice past its expiry is "expired" (past:
    /// BOLT 11 readers, LDK and lnd count the last second as still valid).
    pub fn status_at(&self, now: u64) -> &'static str {
        match self.status {
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Open if now > self.expires_at => "expired",
            InvoiceStatus::Open => "open",
        }
    }

    /// The JSON of `invoices`.
    pub fn to_json(&self, now: u64) -> Value {
        json!({
            "payment_hash": hex(&self.payment_hash),
            "kind": self.kind,
            "status": self.status_at(now),
            "amount_msat": self.amount.map(|a| a.0),
            "received_msat": self.received.0,
            "description": self.description,
            "bolt11": self.bolt11,
            "payment_secret": self.payment_secret.map(|s| hex(&s)),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "paid_at": self.paid_at,
            "htlcs": self.htlcs.len(),
        })
    }

    /// The write that stores it.
    pub fn op(&self) -> Op {
        Op::put(
            Table::Invoices,
            self.payment_hash.to_vec(),
            store::encode(self),
        )
    }
}

/// Where a payment we sent stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// An HTLC is out, or about to go.
    Pending,
    /// The preimage came back.
    Succeeded,
    /// Every attempt failed and none is left to try.
    Failed,
}

/// Where one attempt (one HTLC) stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    /// The HTLC is out.
    InFlight,
    /// The HTLC was fulfilled.
    Succeeded,
    /// The HTLC failed (or never left).
    Failed,
}

/// One hop of a route, as `pay` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteHop {
    /// The node the HTLC goes to.
    pub node_id: PublicKey,
    /// The channel it goes through.
    pub channel_id: ChannelId,
    /// That channel's short id, when confirmed.
    pub short_channel_id: Option<String>,
    /// What this hop is paid to forward (the last hop: the amount paid).
    pub amount_msat: u64,
    /// The expiry this hop receives.
    pub expiry: u32,
}

/// One try at a payment: one HTLC over one route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// The HTLC.
    pub htlc: HtlcRef,
    /// The route (first hop first).
    pub route: Vec<RouteHop>,
    /// The amount of the HTLC (with fees).
    pub amount: Msat,
    /// The onion's shared secrets, one per hop: what decodes a failure coming back.
    pub shared_secrets: Vec<String>,
    /// In flight, succeeded or failed.
    pub status: AttemptStatus,
    /// Why it failed (the decoded BOLT 4 failure, or a local reason).
    pub failure: Option<Value>,
}

/// A payment we sent (or are sending).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    /// `payment_hash`.
    #[serde(with = "hex32")]
    pub payment_hash: [u8; 32],
    /// The preimage, once it came back.
    #[serde(with = "hex32::opt", default)]
    pub preimage: Option<[u8; 32]>,
    /// The payee.
    pub payee: PublicKey,
    /// The amount the payee gets.
    pub amount: Msat,
    /// The invoice paid (none for keysend).
    pub bolt11: Option<String>,
    /// Keysend or invoice.
    pub keysend: bool,
    /// Pending, succeeded or failed.
    pub status: PaymentStatus,
    /// Every attempt, oldest first.
    pub attempts: Vec<Attempt>,
    /// Why the payment failed (the last attempt's failure, or why none was made).
    pub failure: Option<Value>,
    /// When `pay` was called (unix seconds).
    pub created_at: u64,
    /// When it succeeded or failed.
    pub resolved_at: Option<u64>,
    /// Its place among the node's payments, in the order they were made.
    #[serde(default)]
    pub seq: u64,
}

impl PaymentRecord {
    /// The payment hash.
    pub fn hash(&self) -> PaymentHash {
        PaymentHash(self.payment_hash)
    }

    /// The attempt for `htlc`.
    pub fn attempt_mut(&mut self, htlc: HtlcRef) -> Option<&mut Attempt> {
        self.attempts.iter_mut().find(|a| a.htlc == htlc)
    }

    /// The attempt that succeeded, if one did.
    pub fn succeeded_attempt(&self) -> Option<&Attempt> {
        self.attempts
            .iter()
            .find(|a| a.status == AttemptStatus::Succeeded)
    }

    /// Fees paid: what the successful HTLC carried above the amount.
    pub fn fee(&self) -> Msat {
        self.succeeded_attempt()
            .map_or(Msat(0), |a| Msat(a.amount.0.saturating_sub(self.amount.0)))
    }

    /// Whether an attempt is still out.
    pub fn in_flight(&self) -> bool {
        self.attempts
            .iter()
            .any(|a| a.status == AttemptStatus::InFlight)
    }

    /// The answer of `pay` / `keysend` and a row of `payments`.
    pub fn to_json(&self) -> Value {
        let status = match self.status {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Failed => "failed",
        };
        let route = self
            .succeeded_attempt()
            .or_else(|| self.attempts.last())
            .map_or(Value::Null, |a| json!(a.route));
        json!({
            "status": status,
            "payment_hash": hex(&self.payment_hash),
            "preimage": self.preimage.map(|p| hex(&p)),
            "amount_msat": self.amount.0,
            "fee_msat": self.fee().0,
            "payee": self.payee.to_string(),
            "keysend": self.keysend,
            "bolt11": self.bolt11,
            "route": route,
            "attempts": self.attempts.len(),
            "failure": self.failure,
            "created_at": self.created_at,
            "resolved_at": self.resolved_at,
        })
    }

    /// The write that stores it.
    pub fn op(&self) -> Op {
        Op::put(
            Table::Payments,
            self.payment_hash.to_vec(),
            store::encode(self),
        )
    }
}

/// Which way an HTLC linked to a payment record goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Way {
    /// We offered it: it belongs to a payment we send.
    Out,
    /// We received it: it pays one of our invoices.
    In,
}

/// The key of an HTLC's link row.
pub fn link_key(way: Way, htlc: HtlcRef) -> Vec<u8> {
    let tag = match way {
        Way::Out => 0,
        Way::In => 1,
    };
    store::key::channel_tagged(&htlc.channel_id, tag, htlc.htlc_id)
}

/// The write that links `htlc` to the record of `hash`.
pub fn link_op(way: Way, htlc: HtlcRef, hash: PaymentHash) -> Op {
    Op::put(Table::PaymentHtlcs, link_key(way, htlc), hash.0.to_vec())
}

/// Every invoice, every payment: what the node keeps in memory.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// The invoices (and keysends received).
    pub invoices: Vec<InvoiceRecord>,
    /// The payments sent.
    pub payments: Vec<PaymentRecord>,
}

/// Reads every payment record.
pub fn load_all(r: &Reader) -> Result<Loaded, StoreError> {
    let mut out = Loaded::default();
    for (k, v) in r.scan(Table::Invoices, &[])? {
        out.invoices.push(store::decode("invoice", &k, &v)?);
    }
    for (k, v) in r.scan(Table::Payments, &[])? {
        out.payments.push(store::decode("payment", &k, &v)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Batch, Store};

    fn invoice() -> InvoiceRecord {
        let preimage = PaymentPreimage([9; 32]);
        InvoiceRecord {
            payment_hash: preimage.payment_hash().0,
            preimage: preimage.0,
            payment_secret: Some([3; 32]),
            kind: InvoiceKind::Bolt11,
            amount: Some(Msat(5_000)),
            description: "coffee".into(),
            bolt11: Some("lnbcrt...".into()),
            min_final_cltv_expiry_delta: 18,
            created_at: 100,
            expires_at: 3_700,
            status: InvoiceStatus::Open,
            received: Msat(0),
            paid_at: None,
            htlcs: vec![],
            seq: 0,
        }
    }

    #[test]
    fn records_round_trip_through_the_store() {
        let store = Store::in_memory().unwrap();
        let inv = invoice();
        let secp = bitcoin::secp256k1::Secp256k1::new();
        let secret = bitcoin::secp256k1::SecretKey::from_slice(&[1; 32]).unwrap();
        let key = PublicKey::from_secret_key(&secp, &secret);
        let payment = PaymentRecord {
            payment_hash: [1; 32],
            preimage: None,
            payee: key,
            amount: Msat(1_000),
            bolt11: None,
            keysend: true,
            status: PaymentStatus::Pending,
            attempts: vec![Attempt {
                htlc: HtlcRef {
                    channel_id: ChannelId([2; 32]),
                    htlc_id: 4,
                },
                route: vec![],
                amount: Msat(1_000),
                shared_secrets: vec![hex(&[5; 32])],
                status: AttemptStatus::InFlight,
                failure: None,
            }],
            failure: None,
            created_at: 7,
            resolved_at: None,
            seq: 1,
        };
        store
            .apply(&Batch::new().with(inv.op()).with(payment.op()))
            .unwrap();
        let loaded = store.read(load_all).unwrap();
        assert_eq!(loaded.invoices, vec![inv]);
        assert_eq!(loaded.payments, vec![payment]);
    }

    #[test]
    fn an_open_invoice_past_its_expiry_reads_expired() {
        let inv = invoice();
        assert_eq!(inv.status_at(3_700), "open");
        assert_eq!(inv.status_at(3_701), "expired");
        let paid = InvoiceRecord {
            status: InvoiceStatus::Paid,
            ..inv
        };
        assert_eq!(paid.status_at(10_000), "paid");
    }
}
