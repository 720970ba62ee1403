//! A bounds-checked cursor over a message's bytes.
//!
//! Every read either returns exactly the bytes asked for or a [`DecodeReason::ShortRead`]; no
//! read allocates, so a peer-given length can never make the decoder reserve memory that the
//! input does not back.

use super::error::DecodeReason;

/// A forward-only cursor over borrowed input.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over all of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// True once every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeReason> {
        if n > self.buf.len() {
            return Err(DecodeReason::ShortRead {
                needed: n,
                available: self.buf.len(),
            });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeReason> {
        let (head, tail) = self
            .buf
            .split_first_chunk::<N>()
            .ok_or(DecodeReason::ShortRead {
                needed: N,
                available: self.buf.len(),
            })?;
        self.buf = tail;
        Ok(*head)
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.buf)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, DecodeReason> {
        Ok(self.array::<1>()?[0])
    }

    /// A big-endian `u16`.
    pub fn u16(&mut self) -> Result<u16, DecodeReason> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// A big-endian `u32`.
    pub fn u32(&mut self) -> Result<u32, DecodeReason> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// A big-endian `u64`.
    pub fn u64(&mut self) -> Result<u64, DecodeReason> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Checks that a length-prefixed array of `count` elements, each at least `min_len` bytes,
    /// can fit in what is left, before anything is allocated for it.
    pub fn ensure_fits(&self, count: usize, min_len: usize) -> Result<(), DecodeReason> {
        let needed = count.saturating_mul(min_len);
        if needed > self.buf.len() {
            return Err(DecodeReason::ShortRead {
                needed,
                available: self.buf.len(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16(), Ok(0x0102));
        assert_eq!(
            r.u16(),
            Err(DecodeReason::ShortRead {
                needed: 2,
                available: 1
            })
        );
        // A failed read consumes nothing.
        assert_eq!(r.u8(), Ok(3));
        assert!(r.is_empty());
    }

    #[test]
    fn ensure_fits_does_not_overflow() {
        let r = Reader::new(&[0; 4]);
        assert!(r.ensure_fits(usize::MAX, 64).is_err());
        assert!(r.ensure_fits(2, 2).is_ok());
    }
}
