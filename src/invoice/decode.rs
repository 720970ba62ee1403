//! Reading an invoice (BOLT 11 "Requirements" for a reader).

use bitcoin::hashes::Hash;
use bitcoin::secp256k1::ecdsa::RecoverableSignature;
use bitcoin::secp256k1::{Message, PublicKey, Secp256k1};
use bitcoin::{Address, Network, WitnessProgram};
use lightning_invoice::{
    Bolt11ParseError, Currency, Fallback, RawBolt11Invoice, SignedRawBolt11Invoice, TaggedField,
};

use super::{
    DecodedInvoice, InvoiceError, RouteHintHop, DEFAULT_EXPIRY_SECS,
    DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA, KNOWN_FEATURES, MAX_INVOICE_LENGTH,
};
use crate::tx::PaymentHash;
use crate::units::Msat;
use crate::wire::{Features, ShortChannelId};

/// The URI scheme wallets put in front of an invoice (BIP 21 style), accepted and dropped.
const SCHEME: &str = "lightning:";

/// Decodes `bolt11` (upper or lower case, surrounding white space and a `lightning:` scheme
/// allowed), checks its signature and the BOLT 11 reader rules that make an invoice invalid:
/// exactly one `p` and `s` field, exactly one of `d` and `h`, a whole number of millisatoshis,
/// no unknown required feature bit. Fields of a known type but the wrong length are skipped, as
/// BOLT 11 says. Whether it may be paid *now*, on *our* chain, is
/// [`DecodedInvoice::check_payable`]'s question.
pub fn decode(bolt11: &str) -> Result<DecodedInvoice, InvoiceError> {
    let text = bolt11.trim();
    let text = match text.get(..SCHEME.len()) {
        Some(scheme) if scheme.eq_ignore_ascii_case(SCHEME) => &text[SCHEME.len()..],
        _ => text,
    };
    if text.len() > MAX_INVOICE_LENGTH {
        return Err(InvoiceError::Parse(format!(
            "{} characters, at most {MAX_INVOICE_LENGTH}",
            text.len()
        )));
    }
    let signed: SignedRawBolt11Invoice = text.parse().map_err(parse_error)?;
    let raw = signed.raw_invoice();
    let network = network(&raw.currency())?;

    let payee = payee(&signed)?;

    let payment_hash = exactly_one(raw, "p", |f| match f {
        TaggedField::PaymentHash(hash) => Some(PaymentHash(hash.0.to_byte_array())),
        _ => None,
    })?;
    let payment_secret = exactly_one(raw, "s", |f| match f {
        TaggedField::PaymentSecret(secret) => Some(secret.0),
        _ => None,
    })?;
    let description = at_most_one(raw, "d", |f| match f {
        TaggedField::Description(d) => Some(d.as_inner().0.clone()),
        _ => None,
    })?;
    let description_hash = at_most_one(raw, "h", |f| match f {
        TaggedField::DescriptionHash(h) => Some(h.0.to_byte_array()),
        _ => None,
    })?;
    match (&description, &description_hash) {
        (Some(_), Some(_)) => return Err(InvoiceError::BothDescriptions),
        (None, None) => return Err(InvoiceError::MissingField("d")),
        _ => {}
    }

    let features = features(raw);
    let unknown = features.unknown_required(&KNOWN_FEATURES);
    if !unknown.is_empty() {
        return Err(InvoiceError::UnknownRequiredFeatures(unknown));
    }

    Ok(DecodedInvoice {
        bolt11: text.to_ascii_lowercase(),
        network,
        amount: amount(raw)?,
        timestamp: raw.data.timestamp.as_unix_timestamp(),
        expiry_secs: raw.expiry_time().map_or(
            DEFAULT_EXPIRY_SECS,
            lightning_invoice::ExpiryTime::as_seconds,
        ),
        payee,
        payment_hash,
        payment_secret: Some(payment_secret),
        description,
        description_hash,
        min_final_cltv_expiry_delta: raw
            .min_final_cltv_expiry_delta()
            .map_or(DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA, |c| c.0),
        route_hints: raw
            .private_routes()
            .iter()
            .map(|route| route.0.iter().map(our_hop).collect())
            .collect(),
        fallbacks: raw
            .fallbacks()
            .into_iter()
            .filter_map(|f| fallback_address(f, network))
            .collect(),
        features,
        payment_metadata: raw.payment_metadata().cloned(),
    })
}

/// The fuzz property (`fuzz/fuzz_targets/invoice_decode.rs`): any bytes, as text, either fail
/// to decode or decode to an invoice whose lower-case string decodes to the same invoice.
/// Panics when the property fails, which is what the fuzzer looks for.
#[doc(hidden)]
pub fn check_decode(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(invoice) = decode(text) {
        assert_eq!(decode(&invoice.bolt11).as_ref(), Ok(&invoice));
    }
}

/// The payee, once the signature is checked (BOLT 11 reader): with an `n` field, the signature
/// must verify against it in low-S form; without, the key is recovered, and high-S is
/// accepted.
///
/// A high-S signature is recovered as its low-S form with the same recovery id: that is how the
/// spec's "Public-key recovery with high-S signature" example reads, whose signature negates
/// `s` but keeps the recovery id and whose payee is the examples' key; plain recovery (what LDK
/// does) finds another key. For a low-S signature, the only kind honest writers produce, it
/// changes nothing.
fn payee(signed: &SignedRawBolt11Invoice) -> Result<PublicKey, InvoiceError> {
    if let Some(payee) = signed.payee_pub_key() {
        return if signed.check_signature() {
            Ok(payee.0)
        } else {
            Err(InvoiceError::BadSignature)
        };
    }
    let signature = &signed.signature().0;
    let (recovery_id, _) = signature.serialize_compact();
    let mut low_s = signature.to_standard();
    low_s.normalize_s();
    RecoverableSignature::from_compact(&low_s.serialize_compact(), recovery_id)
        .and_then(|low_s| {
            Secp256k1::verification_only()
                .recover_ecdsa(&Message::from_digest(*signed.signable_hash()), &low_s)
        })
        .map_err(|_| InvoiceError::BadSignature)
}

/// Our error for the parser's: a signature that does not parse is a bad signature, anything
/// else a malformed string.
fn parse_error(e: Bolt11ParseError) -> InvoiceError {
    match e {
        Bolt11ParseError::MalformedSignature(_) => InvoiceError::BadSignature,
        other => InvoiceError::Parse(other.to_string()),
    }
}

/// The chain of a currency prefix; simnet (`lnsb`, which LDK maps to regtest) is refused.
fn network(currency: &Currency) -> Result<Network, InvoiceError> {
    match currency {
        Currency::Bitcoin => Ok(Network::Bitcoin),
        Currency::BitcoinTestnet => Ok(Network::Testnet),
        Currency::Signet => Ok(Network::Signet),
        Currency::Regtest => Ok(Network::Regtest),
        Currency::Simnet => Err(InvoiceError::UnsupportedCurrency(currency.to_string())),
    }
}

/// The value of the single field `pick` selects; `tag` names it in errors.
fn exactly_one<T>(
    raw: &RawBolt11Invoice,
    tag: &'static str,
    pick: impl Fn(&TaggedField) -> Option<T>,
) -> Result<T, InvoiceError> {
    at_most_one(raw, tag, pick)?.ok_or(InvoiceError::MissingField(tag))
}

/// The value of the field `pick` selects, if present; more than one is an error.
fn at_most_one<T>(
    raw: &RawBolt11Invoice,
    tag: &'static str,
    pick: impl Fn(&TaggedField) -> Option<T>,
) -> Result<Option<T>, InvoiceError> {
    let mut values = raw.known_tagged_fields().filter_map(pick);
    let first = values.next();
    if values.next().is_some() {
        return Err(InvoiceError::DuplicateField(tag));
    }
    Ok(first)
}

/// The amount of the human-readable part, in millisatoshis.
fn amount(raw: &RawBolt11Invoice) -> Result<Option<Msat>, InvoiceError> {
    let Some(raw_amount) = raw.hrp.raw_amount else {
        return Ok(None);
    };
    if raw_amount == 0 {
        return Err(InvoiceError::InvalidAmount("zero".to_owned()));
    }
    // LDK checks the product only when a multiplier is present; a whole-bitcoin amount that
    // overflows would otherwise read as "any amount".
    let pico_btc = raw
        .amount_pico_btc()
        .ok_or_else(|| InvoiceError::InvalidAmount("overflows".to_owned()))?;
    if pico_btc % 10 != 0 {
        return Err(InvoiceError::InvalidAmount(
            "not a whole number of millisatoshis".to_owned(),
        ));
    }
    Ok(Some(Msat(pico_btc / 10)))
}

/// The `9` field in BOLT 9 wire order (big-endian, no leading zero bytes).
fn features(raw: &RawBolt11Invoice) -> Features {
    let Some(features) = raw.features() else {
        return Features::empty();
    };
    let mut bytes: Vec<u8> = features.le_flags().iter().rev().copied().collect();
    let leading_zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..leading_zeros);
    Features::from_bytes(&bytes)
}

/// Our form of one of LDK's hops.
fn our_hop(hop: &lightning_invoice::RouteHintHop) -> RouteHintHop {
    RouteHintHop {
        node_id: hop.src_node_id,
        short_channel_id: ShortChannelId(hop.short_channel_id),
        fee_base_msat: hop.fees.base_msat,
        fee_proportional_millionths: hop.fees.proportional_millionths,
        cltv_expiry_delta: hop.cltv_expiry_delta,
        htlc_minimum_msat: hop.htlc_minimum_msat.map(Msat),
        htlc_maximum_msat: hop.htlc_maximum_msat.map(Msat),
    }
}

/// A fallback as an address on `network`; `None` for a witness program no address can hold
/// (BOLT 11: a reader skips what it does not understand).
fn fallback_address(fallback: &Fallback, network: Network) -> Option<String> {
    let address = match fallback {
        Fallback::SegWitProgram { version, program } => {
            Address::from_witness_program(WitnessProgram::new(*version, program).ok()?, network)
        }
        Fallback::PubKeyHash(hash) => Address::p2pkh(*hash, network),
        Fallback::ScriptHash(hash) => Address::p2sh_from_hash(*hash, network),
    };
    Some(address.to_string())
}
