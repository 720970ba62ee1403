//! Positional parameters with bitcoind's type checks and parsers (`RPCHelpMan` argument
//! checks, `ParseHashV`, `AmountFromValue`, `DecodeHexTx`, `DecodeDestination`).

use bitcoin::address::NetworkUnchecked;
use bitcoin::consensus::encode;
use bitcoin::hashes::Hash;
use bitcoin::hex::FromHex;
use bitcoin::{Address, BlockHash, Network, ScriptBuf, Transaction, Txid};
use serde_json::Value;

use super::{RpcError, INVALID_PARAMETER, MISC_ERROR, TYPE_ERROR};
use crate::regtest::policy::FeeRate;

/// Positional parameters with Core's type checks.
pub(super) struct Params<'a> {
    /// The values, positionally.
    pub(super) values: Vec<Value>,
    /// The method, for error messages.
    pub(super) method: &'a str,
}

/// `UniValue`'s type names (`uvTypeName`).
pub(super) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

pub(super) fn type_error(value: &Value, expected: &str) -> RpcError {
    RpcError::new(
        TYPE_ERROR,
        format!(
            "JSON value of type {} is not of expected type {expected}",
            type_name(value)
        ),
    )
}

impl Params<'_> {
    /// The value at `i`, if present and not null.
    pub(super) fn get(&self, i: usize) -> Option<&Value> {
        self.values.get(i).filter(|v| !v.is_null())
    }

    pub(super) fn required(&self, i: usize, name: &str) -> Result<&Value, RpcError> {
        self.get(i).ok_or_else(|| {
            RpcError::new(
                MISC_ERROR,
                format!("{}: missing required parameter '{name}'", self.method),
            )
        })
    }

    pub(super) fn str(&self, i: usize, name: &str) -> Result<&str, RpcError> {
        let value = self.required(i, name)?;
        value.as_str().ok_or_else(|| type_error(value, "string"))
    }

    pub(super) fn int(&self, i: usize, name: &str) -> Result<i64, RpcError> {
        let value = self.required(i, name)?;
        value.as_i64().ok_or_else(|| type_error(value, "number"))
    }

    pub(super) fn opt_bool(&self, i: usize) -> Result<Option<bool>, RpcError> {
        match self.get(i) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(type_error(v, "bool")),
        }
    }

    /// Core's `ParseVerbosity` (booleans allowed: true = 1).
    pub(super) fn verbosity(&self, i: usize, default: i64) -> Result<i64, RpcError> {
        match self.get(i) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(i64::from(*b)),
            Some(v) => v.as_i64().ok_or_else(|| type_error(v, "number")),
        }
    }

    /// Core's `ParseHashV`.
    pub(super) fn hash(&self, i: usize, name: &str) -> Result<[u8; 32], RpcError> {
        let s = self.str(i, name)?;
        if s.len() != 64 {
            return Err(RpcError::new(
                INVALID_PARAMETER,
                format!("{name} must be of length 64 (not {}, for '{s}')", s.len()),
            ));
        }
        let mut bytes = <[u8; 32]>::from_hex(s).map_err(|_| {
            RpcError::new(
                INVALID_PARAMETER,
                format!("{name} must be hexadecimal string (not '{s}')"),
            )
        })?;
        // Hashes are displayed byte-reversed.
        bytes.reverse();
        Ok(bytes)
    }

    pub(super) fn block_hash(&self, i: usize, name: &str) -> Result<BlockHash, RpcError> {
        self.hash(i, name).map(BlockHash::from_byte_array)
    }

    pub(super) fn txid(&self, i: usize, name: &str) -> Result<Txid, RpcError> {
        self.hash(i, name).map(Txid::from_byte_array)
    }

    /// A fee rate in BTC/kvB (`maxfeerate`), as sat/kvB.
    pub(super) fn fee_rate(&self, i: usize) -> Result<Option<FeeRate>, RpcError> {
        let Some(value) = self.get(i) else {
            return Ok(None);
        };
        let sats = amount_from_value(value)?;
        if sats >= 100_000_000 {
            return Err(RpcError::new(
                INVALID_PARAMETER,
                "Fee rates larger than or equal to 1BTC/kvB are not accepted",
            ));
        }
        Ok(Some(FeeRate(sats)))
    }
}

/// Core's `AmountFromValue`: a number or numeric string in BTC, as satoshis.
pub(super) fn amount_from_value(value: &Value) -> Result<u64, RpcError> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => {
            return Err(RpcError::new(
                TYPE_ERROR,
                "Amount is not a number or string",
            ))
        }
    };
    let invalid = || RpcError::new(TYPE_ERROR, "Invalid amount");
    let (whole, frac) = text.split_once('.').unwrap_or((text.as_str(), ""));
    if frac.len() > 8 || whole.starts_with('-') {
        return Err(invalid());
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| invalid())?
    };
    let frac_sats: u64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<8}").parse().map_err(|_| invalid())?
    };
    let sats = whole
        .checked_mul(100_000_000)
        .and_then(|w| w.checked_add(frac_sats))
        .ok_or_else(invalid)?;
    if sats > crate::regtest::params::MAX_MONEY {
        return Err(RpcError::new(TYPE_ERROR, "Amount out of range"));
    }
    Ok(sats)
}

/// Decodes a hex transaction (Core's `DecodeHexTx`).
pub(super) fn decode_tx(hex: &str) -> Option<Transaction> {
    let bytes = Vec::<u8>::from_hex(hex).ok()?;
    encode::deserialize(&bytes).ok()
}

/// A regtest address's script (`DecodeDestination` + `IsValidDestination`).
pub(super) fn parse_address(address: &str) -> Option<ScriptBuf> {
    let parsed: Address<NetworkUnchecked> = address.parse().ok()?;
    parsed
        .require_network(Network::Regtest)
        .ok()
        .map(|a| a.script_pubkey())
}
