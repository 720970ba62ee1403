//! BOLT 11 invoices: create, decode, check (on `lightning-invoice`).
//!
//! A pure module: the caller passes the time (unix seconds) and the node key; nothing here reads
//! a clock or does IO. [`create`] builds and signs an invoice for a payment we will receive;
//! [`decode`] parses one we were asked to pay, checks its signature and the reader requirements
//! of BOLT 11 "Tagged Fields", and [`DecodedInvoice::check_payable`] refuses, before anything is
//! sent, what must not be paid (wrong network, expired, no payment secret, a required feature we
//! do not know).
//!
//! The bech32 codec, field parsing and signature recovery are `lightning-invoice`'s; the reader
//! rules are checked here, against the BOLT text rather than LDK's own (stricter) semantic checks:
//! `var_onion_optin` and `payment_secret` are ASSUMED features (BOLT 9), so an invoice need not
//! set their bits, only carry an `s` field.

use bitcoin::secp256k1::PublicKey;
use bitcoin::Network;
use lightning_invoice::Currency;

use crate::tx::PaymentHash;
use crate::units::Msat;
use crate::wire::{Features, ShortChannelId};

mod create;
mod decode;
mod json;
#[cfg(test)]
mod tests;

pub use create::create;
pub use decode::{check_decode, decode};

/// The expiry a reader assumes when the invoice has no `x` field (BOLT 11 "Tagged Fields").
pub const DEFAULT_EXPIRY_SECS: u64 = 3600;

/// The `min_final_cltv_expiry_delta` a reader assumes when the invoice has no `c` field.
pub const DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA: u64 = 18;

/// The longest invoice string accepted (lnd's and LDK's limit: what fits in a QR code).
pub const MAX_INVOICE_LENGTH: usize = lightning_invoice::MAX_LENGTH;

/// The invoice feature bits (BOLT 9, context `9`) Petrel understands as a payer, even bit of
/// each pair: `var_onion_optin`, `payment_secret`, `basic_mpp` (a single part with `total_msat`
/// is a valid multi-part payment) and `option_payment_metadata` (the payer copies the `m` field
/// into the final hop's onion payload, which BOLT 11 requires whenever `m` is present).
pub const KNOWN_FEATURES: [usize; 4] = [
    crate::wire::features::bits::VAR_ONION_OPTIN,
    crate::wire::features::bits::PAYMENT_SECRET,
    crate::wire::features::bits::BASIC_MPP,
    PAYMENT_METADATA_FEATURE,
];

/// `option_payment_metadata` (BOLT 9 bits 48/49).
pub const PAYMENT_METADATA_FEATURE: usize = 48;

/// What a new invoice says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceRequest {
    /// The chain the payment is on; picks the prefix (`lnbc`, `lntb`, `lntbs`, `lnbcrt`).
    pub network: Network,
    /// The amount asked for; `None` lets the payer choose ("any amount").
    pub amount: Option<Msat>,
    /// The `d` field: what the payment is for (at most 639 bytes of UTF-8).
    pub description: String,
    /// The `x` field: seconds after `timestamp` the invoice stays payable.
    pub expiry_secs: u64,
    /// The `c` field: the smallest `cltv_expiry` delta we accept on the final HTLC.
    pub min_final_cltv_expiry_delta: u16,
    /// The `p` field: the hash of the preimage we hold.
    pub payment_hash: PaymentHash,
    /// The `s` field: the secret the payer puts in the final onion payload.
    pub payment_secret: [u8; 32],
    /// Creation time, unix seconds (35 bits at most).
    pub timestamp: u64,
    /// One `r` field per entry, each a single-hop route: the peer's side of one of our
    /// unannounced channels.
    pub route_hints: Vec<RouteHintHop>,
}

/// One hop of an `r` field: the channel from `node_id` towards the next hop (or the payee).
///
/// BOLT 11 carries no HTLC limits: `htlc_minimum_msat` / `htlc_maximum_msat` are not written
/// by [`create`] and always `None` after [`decode`]; they are here for route finding, which may
/// learn them elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RouteHintHop {
    /// The node at the start of the channel (for our hints: the peer, the hop before us).
    pub node_id: PublicKey,
    /// The channel.
    pub short_channel_id: ShortChannelId,
    /// `fee_base_msat` charged by `node_id` to forward over the channel.
    pub fee_base_msat: u32,
    /// `fee_proportional_millionths` charged by `node_id`.
    pub fee_proportional_millionths: u32,
    /// `cltv_expiry_delta` required by `node_id`.
    pub cltv_expiry_delta: u16,
    /// The smallest HTLC the channel forwards, if known (never in an invoice).
    pub htlc_minimum_msat: Option<Msat>,
    /// The largest HTLC the channel forwards, if known (never in an invoice).
    pub htlc_maximum_msat: Option<Msat>,
}

/// Everything an invoice says, decoded and signature-checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedInvoice {
    /// The invoice string, lower case (bech32 is case-insensitive; mixed case is refused).
    pub bolt11: String,
    /// The chain, from the prefix (`lntb` decodes as [`Network::Testnet`], which also stands
    /// for testnet4: they share the prefix).
    pub network: Network,
    /// The amount asked for; `None` for an "any amount" invoice.
    pub amount: Option<Msat>,
    /// Creation time, unix seconds.
    pub timestamp: u64,
    /// The `x` field, or [`DEFAULT_EXPIRY_SECS`] when absent.
    pub expiry_secs: u64,
    /// The payee: the `n` field, or the key recovered from the signature.
    pub payee: PublicKey,
    /// The `p` field.
    pub payment_hash: PaymentHash,
    /// The `s` field (always present after [`decode`], which refuses invoices without one).
    pub payment_secret: Option<[u8; 32]>,
    /// The `d` field, as written (not sanitized: escape it before printing to a terminal).
    pub description: Option<String>,
    /// The `h` field: SHA256 of a description given out of band.
    pub description_hash: Option<[u8; 32]>,
    /// The `c` field, or [`DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA`] when absent.
    pub min_final_cltv_expiry_delta: u64,
    /// The `r` fields, each a route (first hop first) ending at the payee.
    pub route_hints: Vec<Vec<RouteHintHop>>,
    /// The `f` fields Petrel understands, as addresses on `network`, most preferred first.
    pub fallbacks: Vec<String>,
    /// The `9` field (empty when absent).
    pub features: Features,
    /// The `m` field, to be copied into the final hop's onion payload.
    pub payment_metadata: Option<Vec<u8>>,
}

/// Why an invoice could not be created, decoded or paid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceError {
    /// Not a well-formed BOLT 11 string: bech32 (checksum, case, separator), prefix, amount
    /// multiplier, length or a field's encoding; the reason is `lightning-invoice`'s.
    #[error("malformed invoice: {0}")]
    Parse(String),
    /// The prefix names a chain Petrel does not handle (simnet).
    #[error("unsupported invoice currency {0}")]
    UnsupportedCurrency(String),
    /// The signature does not parse, is not valid for the `n` field (high-S included), or no
    /// public key can be recovered from it.
    #[error("invoice signature is invalid")]
    BadSignature,
    /// A field BOLT 11 requires exactly once (`p`, `s`, `d` or `h`) is missing.
    #[error("invoice has no `{0}` field")]
    MissingField(&'static str),
    /// A field BOLT 11 allows once (`p`, `s`, `d` or `h`) appears more than once.
    #[error("invoice has more than one `{0}` field")]
    DuplicateField(&'static str),
    /// Both a `d` and an `h` field.
    #[error("invoice has both a description and a description hash")]
    BothDescriptions,
    /// The amount is zero, overflows, is not a whole number of millisatoshis, or an explicit
    /// amount does not agree with the invoice's.
    #[error("invalid amount: {0}")]
    InvalidAmount(String),
    /// An "any amount" invoice and no amount given to pay it.
    #[error("the invoice has no amount: give one")]
    AmountMissing,
    /// Required (even) feature bits Petrel does not know: BOLT 11 says the reader MUST NOT pay.
    #[error("invoice requires unknown feature bits {0:?}")]
    UnknownRequiredFeatures(Vec<usize>),
    /// The invoice is for another chain than ours.
    #[error("invoice is for {invoice}, we are on {ours}")]
    WrongNetwork {
        /// The invoice's chain.
        invoice: Network,
        /// The chain we pay on.
        ours: Network,
    },
    /// `timestamp + expiry` has passed.
    #[error("invoice expired at {expires_at} (now {now})")]
    Expired {
        /// When it expired, unix seconds.
        expires_at: u64,
        /// The time checked against.
        now: u64,
    },
    /// The `h` field is not the SHA256 of the description given.
    #[error("the description does not match the invoice's description hash")]
    DescriptionHashMismatch,
    /// The description is longer than the 639 bytes a `d` field holds.
    #[error("description too long: {0} bytes, at most 639")]
    DescriptionTooLong(usize),
    /// The timestamp does not fit in 35 bits.
    #[error("timestamp {0} out of range")]
    TimestampOutOfRange(u64),
    /// `lightning-invoice`'s builder refused the invoice for a reason not listed above.
    #[error("cannot build invoice: {0}")]
    Build(String),
    /// The encoded invoice would be longer than [`MAX_INVOICE_LENGTH`] (too many route hints).
    #[error("invoice too long: {0} characters, at most {MAX_INVOICE_LENGTH}")]
    TooLong(usize),
}

/// The BOLT 11 currency (prefix) of a chain: testnet and testnet4 share `lntb`.
fn currency(network: Network) -> Currency {
    match network {
        Network::Bitcoin => Currency::Bitcoin,
        Network::Testnet | Network::Testnet4 => Currency::BitcoinTestnet,
        Network::Signet => Currency::Signet,
        Network::Regtest => Currency::Regtest,
    }
}

impl DecodedInvoice {
    /// When the invoice stops being payable: `timestamp + expiry`, unix seconds (saturating).
    pub fn expires_at(&self) -> u64 {
        self.timestamp.saturating_add(self.expiry_secs)
    }

    /// Whether `timestamp + expiry` has passed at `now` (unix seconds).
    pub fn is_expired(&self, now: u64) -> bool {
        now > self.expires_at()
    }

    /// Refuses what must not be paid, before anything is sent: an invoice for another chain
    /// (by prefix: testnet and testnet4 agree), expired at `now` (BOLT 11 payer: SHOULD NOT
    /// attempt a payment), without a payment secret (reader: MUST fail the payment), or
    /// requiring a feature Petrel does not know (reader: MUST fail the payment).
    pub fn check_payable(&self, network: Network, now: u64) -> Result<(), InvoiceError> {
        if currency(self.network) != currency(network) {
            return Err(InvoiceError::WrongNetwork {
                invoice: self.network,
                ours: network,
            });
        }
        if self.payment_secret.is_none() {
            return Err(InvoiceError::MissingField("s"));
        }
        let unknown = self.features.unknown_required(&KNOWN_FEATURES);
        if !unknown.is_empty() {
            return Err(InvoiceError::UnknownRequiredFeatures(unknown));
        }
        if self.is_expired(now) {
            return Err(InvoiceError::Expired {
                expires_at: self.expires_at(),
                now,
            });
        }
        Ok(())
    }

    /// The amount to send: the invoice's own, or `explicit` for an "any amount" invoice. An
    /// explicit amount for an invoice that names one must equal it (as lnd and Core Lightning
    /// insist, so that a typo cannot overpay).
    pub fn amount_to_pay(&self, explicit: Option<Msat>) -> Result<Msat, InvoiceError> {
        match (self.amount, explicit) {
            (Some(asked), None) => Ok(asked),
            (Some(asked), Some(given)) if asked == given => Ok(asked),
            (Some(asked), Some(given)) => Err(InvoiceError::InvalidAmount(format!(
                "the invoice asks for {asked}, not {given}"
            ))),
            (None, Some(Msat(0))) => Err(InvoiceError::InvalidAmount("zero".to_owned())),
            (None, Some(given)) => Ok(given),
            (None, None) => Err(InvoiceError::AmountMissing),
        }
    }

    /// Checks a description given out of band against the `h` field (BOLT 11 reader: MUST
    /// check that the hash exactly matches). An invoice with a `d` field matches its own text.
    pub fn check_description(&self, description: &str) -> Result<(), InvoiceError> {
        use bitcoin::hashes::{sha256, Hash};
        let matches = match (&self.description, &self.description_hash) {
            (_, Some(hash)) => sha256::Hash::hash(description.as_bytes()).to_byte_array() == *hash,
            (Some(text), None) => text == description,
            (None, None) => false,
        };
        if matches {
            Ok(())
        } else {
            Err(InvoiceError::DescriptionHashMismatch)
        }
    }
}
