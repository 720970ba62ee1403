//! The RPC cookie: a random secret in a file only the node's user can read.

use std::io::Write;
use std::path::Path;

use bitcoin::hex::{DisplayHex, FromHex};
use bitcoin::secp256k1::rand::{thread_rng, RngCore};

/// The secret a client must present (as HTTP Basic `__cookie__:<hex>`).
#[derive(Clone, PartialEq, Eq)]
pub struct Cookie([u8; 32]);

/// The Basic-auth user name that goes with the cookie, as bitcoind uses it.
pub const COOKIE_USER: &str = "__cookie__";

impl Cookie {
    /// A fresh random cookie.
    pub fn generate() -> Cookie {
        let mut secret = [0u8; 32];
        thread_rng().fill_bytes(&mut secret);
        Cookie(secret)
    }

    /// Writes `__cookie__:<hex>` to `path`, readable by the owner only.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path)?;
        write!(file, "{COOKIE_USER}:{}", self.0.as_hex())?;
        file.sync_all()
    }

    /// Reads a cookie file written by [`Cookie::write`].
    pub fn read(path: &Path) -> std::io::Result<Cookie> {
        let text = std::fs::read_to_string(path)?;
        let invalid =
            || std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed cookie file");
        let hex = text
            .trim()
            .strip_prefix(COOKIE_USER)
            .and_then(|s| s.strip_prefix(':'))
            .ok_or_else(invalid)?;
        <[u8; 32]>::from_hex(hex).map(Cookie).map_err(|_| invalid())
    }

    /// The `Authorization` header value a client sends.
    pub fn authorization(&self) -> String {
        use bitcoin::base64::Engine;
        let creds = format!("{COOKIE_USER}:{}", self.0.as_hex());
        format!(
            "Basic {}",
            bitcoin::base64::engine::general_purpose::STANDARD.encode(creds)
        )
    }

    /// Whether an `Authorization` header value carries this cookie. Compares in constant
    /// time so the secret cannot be guessed byte by byte from response timing.
    pub fn matches(&self, header: Option<&str>) -> bool {
        let expected = self.authorization();
        let Some(got) = header else {
            return false;
        };
        if got.len() != expected.len() {
            return false;
        }
        got.bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl std::fmt::Debug for Cookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cookie(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_file_round_trips_and_authorizes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rpc.cookie");
        let cookie = Cookie::generate();
        cookie.write(&path).unwrap();
        let read = Cookie::read(&path).unwrap();
        assert_eq!(read, cookie);
        assert!(cookie.matches(Some(&read.authorization())));
        assert!(!cookie.matches(Some(&Cookie::generate().authorization())));
        assert!(!cookie.matches(None));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
