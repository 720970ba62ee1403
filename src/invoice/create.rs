//! Writing an invoice (BOLT 11 "Requirements" for a writer).

use core::time::Duration;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{Secp256k1, SecretKey};
use lightning_invoice::{
    CreationError, InvoiceBuilder, PaymentSecret, RouteHint, RoutingFees, MAX_TIMESTAMP,
};

use super::{currency, InvoiceError, InvoiceRequest, RouteHintHop, MAX_INVOICE_LENGTH};

/// Builds the invoice `req` describes and signs it with the node key, returning its bech32
/// string (lower case).
///
/// Features: `var_onion_optin` and `payment_secret` required, `basic_mpp` optional. No `n`
/// field: the payer recovers our node id from the signature. Each route hint becomes its own
/// single-hop `r` field; the hints' HTLC limits are not encoded (BOLT 11 has no place for them).
pub fn create(req: &InvoiceRequest, node_key: &SecretKey) -> Result<String, InvoiceError> {
    if req.timestamp > MAX_TIMESTAMP {
        return Err(InvoiceError::TimestampOutOfRange(req.timestamp));
    }
    let mut builder = InvoiceBuilder::new(currency(req.network));
    if let Some(amount) = req.amount {
        // BOLT 11 writer: `amount` is a positive integer; "any amount" is no amount at all.
        if amount.0 == 0 {
            return Err(InvoiceError::InvalidAmount("zero".to_owned()));
        }
        builder = builder.amount_milli_satoshis(amount.0);
    }
    builder = builder.expiry_time(Duration::from_secs(req.expiry_secs));
    for hop in &req.route_hints {
        builder = builder.private_route(RouteHint(vec![ldk_hop(hop)]));
    }
    let invoice = builder
        .description(req.description.clone())
        .payment_hash(sha256::Hash::from_byte_array(req.payment_hash.0))
        .duration_since_epoch(Duration::from_secs(req.timestamp))
        .min_final_cltv_expiry_delta(u64::from(req.min_final_cltv_expiry_delta))
        .payment_secret(PaymentSecret(req.payment_secret))
        .basic_mpp()
        .build_signed(|message| Secp256k1::signing_only().sign_ecdsa_recoverable(message, node_key))
        .map_err(|e| creation_error(&e, req))?;
    let encoded = invoice.to_string();
    if encoded.len() > MAX_INVOICE_LENGTH {
        return Err(InvoiceError::TooLong(encoded.len()));
    }
    Ok(encoded)
}

/// LDK's form of one of our hops.
fn ldk_hop(hop: &RouteHintHop) -> lightning_invoice::RouteHintHop {
    lightning_invoice::RouteHintHop {
        src_node_id: hop.node_id,
        short_channel_id: hop.short_channel_id.0,
        fees: RoutingFees {
            base_msat: hop.fee_base_msat,
            proportional_millionths: hop.fee_proportional_millionths,
        },
        cltv_expiry_delta: hop.cltv_expiry_delta,
        htlc_minimum_msat: None,
        htlc_maximum_msat: None,
    }
}

/// Our error for the builder's.
fn creation_error(e: &CreationError, req: &InvoiceRequest) -> InvoiceError {
    match e {
        CreationError::DescriptionTooLong => {
            InvoiceError::DescriptionTooLong(req.description.len())
        }
        CreationError::TimestampOutOfBounds => InvoiceError::TimestampOutOfRange(req.timestamp),
        CreationError::InvalidAmount => InvoiceError::InvalidAmount(format!(
            "{} msat does not fit in an invoice",
            req.amount.map_or(0, |a| a.0)
        )),
        // Single-hop routes cannot be too long; the others are LDK-only policies the builder
        // never applies. Reported as what they are rather than trusted never to happen.
        CreationError::RouteTooLong
        | CreationError::MissingRouteHints
        | CreationError::MinFinalCltvExpiryDeltaTooShort => InvoiceError::Build(e.to_string()),
    }
}
