//! The JSON form of a decoded invoice, for the RPC's `decodeinvoice` and the CLI.

use bitcoin::hex::DisplayHex;
use serde_json::{json, Map, Value};

use super::{DecodedInvoice, RouteHintHop, KNOWN_FEATURES};

impl DecodedInvoice {
    /// Every field, bytes in hex, under the names BOLT 11 and lnd's `decodepayreq` users
    /// expect: `network`, `amount_msat` (null for "any amount"), `timestamp`, `expiry`,
    /// `expires_at`, `payee`, `payment_hash`, `payment_secret`, `description`,
    /// `description_hash`, `min_final_cltv_expiry_delta`, `route_hints` (a list of routes, each
    /// a list of hops), `fallbacks`, `features` (an object keyed by bit number, as lnd prints
    /// it: `name`, `is_required`, `is_known`), `payment_metadata`; plus `bolt11`.
    pub fn to_json(&self) -> Value {
        json!({
            "bolt11": self.bolt11,
            "network": self.network.to_string(),
            "amount_msat": self.amount.map(|a| a.0),
            "timestamp": self.timestamp,
            "expiry": self.expiry_secs,
            "expires_at": self.expires_at(),
            "payee": self.payee.to_string(),
            "payment_hash": self.payment_hash.0.to_lower_hex_string(),
            "payment_secret": self.payment_secret.map(|s| s.to_lower_hex_string()),
            "description": self.description,
            "description_hash": self.description_hash.map(|h| h.to_lower_hex_string()),
            "min_final_cltv_expiry_delta": self.min_final_cltv_expiry_delta,
            "route_hints": self
                .route_hints
                .iter()
                .map(|route| route.iter().map(hop_json).collect::<Vec<_>>())
                .collect::<Vec<_>>(),
            "fallbacks": self.fallbacks,
            "features": self.features_json(),
            "payment_metadata": self.payment_metadata.as_ref().map(DisplayHex::to_lower_hex_string),
        })
    }

    /// `{"8": {"name": "var_onion_optin", "is_required": true, "is_known": true}, ...}`.
    fn features_json(&self) -> Value {
        let mut features = Map::new();
        for bit in self.features.set_bits() {
            let even = bit & !1;
            features.insert(
                bit.to_string(),
                json!({
                    "name": feature_name(even),
                    "is_required": bit % 2 == 0,
                    "is_known": KNOWN_FEATURES.contains(&even),
                }),
            );
        }
        Value::Object(features)
    }
}

/// One hop of a route hint.
fn hop_json(hop: &RouteHintHop) -> Value {
    json!({
        "node_id": hop.node_id.to_string(),
        "short_channel_id": hop.short_channel_id.to_string(),
        "fee_base_msat": hop.fee_base_msat,
        "fee_proportional_millionths": hop.fee_proportional_millionths,
        "cltv_expiry_delta": hop.cltv_expiry_delta,
    })
}

/// The BOLT 9 name of the feature pair starting at `even`, for the bits an invoice may carry.
fn feature_name(even: usize) -> &'static str {
    match even {
        8 => "var_onion_optin",
        14 => "payment_secret",
        16 => "basic_mpp",
        48 => "option_payment_metadata",
        _ => "unknown",
    }
}
