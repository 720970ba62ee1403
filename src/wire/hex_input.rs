//! Messages typed or pasted as hex, the way `petrel decode-msg` takes them.

use bitcoin::hex::FromHex;
use thiserror::Error;

use super::error::DecodeError;
use super::message::Message;

/// Why a line of hex did not give a message.
#[derive(Debug, Error)]
pub enum HexMessageError {
    /// Not an even number of hex digits (after an optional `0x` and spaces).
    #[error("not hex: {0}")]
    Hex(#[from] bitcoin::hex::HexToBytesError),
    /// Hex, but not a valid message.
    #[error("{0}")]
    Decode(#[from] DecodeError),
}

/// Decodes one message from hex; accepts an optional `0x` prefix and whitespace between
/// digits (as the BOLTs print vectors).
pub fn decode_hex_message(line: &str) -> Result<Message, HexMessageError> {
    let compact: String = line.split_whitespace().collect();
    let digits = compact.strip_prefix("0x").unwrap_or(&compact);
    let bytes = Vec::<u8>::from_hex(digits)?;
    Ok(Message::decode(&bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_spec_formatting() {
        let msg = decode_hex_message("0x0010 0000 0000").unwrap();
        assert_eq!(msg.name(), "init");
        assert!(matches!(
            decode_hex_message("0010zz"),
            Err(HexMessageError::Hex(_))
        ));
        assert!(matches!(
            decode_hex_message("0010"),
            Err(HexMessageError::Decode(_))
        ));
    }
}
