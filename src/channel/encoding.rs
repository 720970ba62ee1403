//! The compact binary encoding of a channel's hot columns (commitments, ledger, HTLCs,
//! secrets, revocation log): LEB128 varints for numbers, fixed bytes for keys and
//! signatures. Written on every commitment update, so every byte counts (the target is at
//! most 256 bytes of values per update without HTLCs); the cold columns stay JSON.

use bitcoin::secp256k1::{ecdsa::Signature, PublicKey};

/// Why a stored value does not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    /// The value ended early.
    #[error("truncated")]
    Truncated,
    /// A varint longer than 10 bytes or above `u64::MAX`.
    #[error("bad varint")]
    BadVarint,
    /// A signature, point or tag that is not valid.
    #[error("invalid {0}")]
    Invalid(&'static str),
    /// Bytes left over after the value.
    #[error("trailing bytes")]
    Trailing,
}

/// Appends values to a byte vector.
#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    /// An empty writer.
    pub fn new() -> Writer {
        Writer::default()
    }

    /// A LEB128 varint.
    pub fn varint(&mut self, mut n: u64) -> &mut Writer {
        loop {
            // The low seven bits: the cast keeps exactly them.
            #[allow(clippy::cast_possible_truncation)]
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.0.push(byte);
                return self;
            }
            self.0.push(byte | 0x80);
        }
    }

    /// One byte.
    pub fn byte(&mut self, b: u8) -> &mut Writer {
        self.0.push(b);
        self
    }

    /// Raw bytes of a known length.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Writer {
        self.0.extend_from_slice(b);
        self
    }

    /// A length-prefixed byte string.
    pub fn blob(&mut self, b: &[u8]) -> &mut Writer {
        self.varint(b.len() as u64);
        self.bytes(b)
    }

    /// A compact (64-byte) signature.
    pub fn signature(&mut self, sig: &Signature) -> &mut Writer {
        self.bytes(&sig.serialize_compact())
    }

    /// A compressed point.
    pub fn point(&mut self, point: &PublicKey) -> &mut Writer {
        self.bytes(&point.serialize())
    }

    /// The bytes written.
    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

/// Reads values back, never panicking on damaged input.
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    /// A LEB128 varint.
    pub fn varint(&mut self) -> Result<u64, EncodingError> {
        let mut n: u64 = 0;
        for shift in (0..70).step_by(7) {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(EncodingError::BadVarint);
            }
            n |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(EncodingError::BadVarint)
    }

    /// A varint that must fit in a `u32`.
    pub fn varint_u32(&mut self) -> Result<u32, EncodingError> {
        u32::try_from(self.varint()?).map_err(|_| EncodingError::BadVarint)
    }

    /// One byte.
    pub fn byte(&mut self) -> Result<u8, EncodingError> {
        let (&b, rest) = self.rest.split_first().ok_or(EncodingError::Truncated)?;
        self.rest = rest;
        Ok(b)
    }

    /// `n` raw bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], EncodingError> {
        if self.rest.len() < n {
            return Err(EncodingError::Truncated);
        }
        let (taken, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(taken)
    }

    /// A fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], EncodingError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    /// A length-prefixed byte string (at most what is left).
    pub fn blob(&mut self) -> Result<Vec<u8>, EncodingError> {
        let len = usize::try_from(self.varint()?).map_err(|_| EncodingError::Truncated)?;
        Ok(self.bytes(len)?.to_vec())
    }

    /// A compact signature.
    pub fn signature(&mut self) -> Result<Signature, EncodingError> {
        Signature::from_compact(self.bytes(64)?).map_err(|_| EncodingError::Invalid("signature"))
    }

    /// A compressed point.
    pub fn point(&mut self) -> Result<PublicKey, EncodingError> {
        PublicKey::from_slice(self.bytes(33)?).map_err(|_| EncodingError::Invalid("point"))
    }

    /// Checks that nothing is left.
    pub fn end(&self) -> Result<(), EncodingError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(EncodingError::Trailing)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_reject_overlong_input() {
        for n in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let bytes = Writer::new().varint(n).finish();
            let mut r = Reader::new(&bytes);
            assert_eq!(r.varint(), Ok(n));
            assert_eq!(r.end(), Ok(()));
        }
        assert_eq!(Writer::new().varint(127).finish().len(), 1);
        assert_eq!(Writer::new().varint(128).finish().len(), 2);
        assert_eq!(
            Reader::new(&[0xff; 11]).varint(),
            Err(EncodingError::BadVarint)
        );
        assert_eq!(Reader::new(&[0x80]).varint(), Err(EncodingError::Truncated));
        assert_eq!(Reader::new(&[5]).blob(), Err(EncodingError::Truncated));
    }
}
