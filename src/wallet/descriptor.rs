//! BIP84 descriptors derived from the node seed.
//!
//! The master extended key is BIP32's `m` for the 32-byte node seed. The wallet's account is
//! `m/84'/coin'/0'` (BIP84, native segwit P2WPKH), with `coin` = 0 on mainnet and 1 on every
//! test network (SLIP-44). Receiving addresses are `m/84'/coin'/0'/0/i`, change addresses
//! `m/84'/coin'/0'/1/i`. Any BIP84 wallet given the same master key finds the same coins.
//!
//! The channel keys (`keys::ChannelSecrets`) use the same master key under `m/1017'/…`; the
//! two hardened subtrees never share a key.

use bdk_wallet::KeychainKind;
use bitcoin::bip32::{ChildNumber, DerivationPath, Xpriv, Xpub};
use bitcoin::secp256k1::{Secp256k1, SecretKey, Signing};
use bitcoin::Network;

use super::WalletError;

/// BIP84's purpose field.
const PURPOSE: u32 = 84;

/// The wallet's key material: the master key that signs, and the two public descriptors bdk
/// tracks (no secret leaves this struct).
pub(super) struct Bip84Keys {
    /// BIP32 master key of the node seed. Signs wallet inputs via their PSBT BIP32 paths.
    pub(super) master: Xpriv,
    /// `wpkh([fp/84'/coin'/0']xpub/0/*)`: receiving addresses.
    pub(super) external: String,
    /// `wpkh([fp/84'/coin'/0']xpub/1/*)`: change addresses.
    pub(super) internal: String,
    /// `m/84'/coin'/0'`, the account both descriptors live under.
    account: DerivationPath,
}

/// The SLIP-44 coin type: 0 for Bitcoin mainnet, 1 for testnet, signet and regtest.
fn coin_type(network: Network) -> u32 {
    match network {
        Network::Bitcoin => 0,
        _ => 1,
    }
}

impl Bip84Keys {
    /// Derives the wallet keys from the node seed for `network`.
    pub(super) fn from_seed<C: Signing>(
        secp: &Secp256k1<C>,
        seed: &[u8; 32],
        network: Network,
    ) -> Result<Bip84Keys, WalletError> {
        Bip84Keys::from_master(secp, Xpriv::new_master(network, seed)?, network)
    }

    /// Derives the wallet keys below an existing BIP32 master key.
    fn from_master<C: Signing>(
        secp: &Secp256k1<C>,
        master: Xpriv,
        network: Network,
    ) -> Result<Bip84Keys, WalletError> {
        let account_path = DerivationPath::from(vec![
            ChildNumber::from_hardened_idx(PURPOSE)?,
            ChildNumber::from_hardened_idx(coin_type(network))?,
            ChildNumber::from_hardened_idx(0)?,
        ]);
        let account = Xpub::from_priv(secp, &master.derive_priv(secp, &account_path)?);
        let fingerprint = master.fingerprint(secp);
        // `account_path` displays as `84'/1'/0'` (no leading `m`), the form a key origin takes.
        let origin = format!("[{fingerprint}/{account_path}]{account}");
        Ok(Bip84Keys {
            master,
            external: format!("wpkh({origin}/0/*)"),
            internal: format!("wpkh({origin}/1/*)"),
            account: account_path,
        })
    }

    /// The secret key of address `index` of `keychain`: `m/84'/coin'/0'/{0,1}/index`, the key
    /// the descriptors' public key at that index belongs to.
    pub(super) fn secret_key<C: Signing>(
        &self,
        secp: &Secp256k1<C>,
        keychain: KeychainKind,
        index: u32,
    ) -> Result<SecretKey, WalletError> {
        let branch = match keychain {
            KeychainKind::External => 0,
            KeychainKind::Internal => 1,
        };
        let path = self.account.extend([
            ChildNumber::from_normal_idx(branch)?,
            ChildNumber::from_normal_idx(index)?,
        ]);
        Ok(self.master.derive_priv(secp, &path)?.private_key)
    }
}

#[cfg(test)]
mod tests {
    use bdk_wallet::{KeychainKind, Wallet};
    use bitcoin::hex::FromHex;

    use super::*;

    /// BIP84's test vector: the first receiving and first change address of the mnemonic
    /// "abandon abandon … about", through the descriptors bdk actually tracks.
    #[test]
    fn bip84_vector_addresses() {
        // The BIP39 seed of that mnemonic with an empty passphrase (64 bytes; the node seed
        // is 32, but the path layout under the master key is what this checks).
        let seed = Vec::<u8>::from_hex(
            "5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc1\
             9a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4",
        )
        .unwrap();
        let secp = Secp256k1::new();
        let master = Xpriv::new_master(Network::Bitcoin, &seed).unwrap();
        let keys = Bip84Keys::from_master(&secp, master, Network::Bitcoin).unwrap();
        let wallet = Wallet::create(keys.external, keys.internal)
            .network(Network::Bitcoin)
            .create_wallet_no_persist()
            .unwrap();
        let first = |keychain| wallet.peek_address(keychain, 0).address.to_string();
        assert_eq!(
            first(KeychainKind::External),
            "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"
        );
        assert_eq!(
            first(KeychainKind::Internal),
            "bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el"
        );
    }

    #[test]
    fn descriptors_use_bip84_paths_and_coin_type() {
        let secp = Secp256k1::new();
        let seed = [7u8; 32];
        let regtest = Bip84Keys::from_seed(&secp, &seed, Network::Regtest).unwrap();
        let fp = regtest.master.fingerprint(&secp);
        assert!(regtest
            .external
            .starts_with(&format!("wpkh([{fp}/84'/1'/0']tpub")));
        assert!(regtest.external.ends_with("/0/*)"));
        assert!(regtest.internal.ends_with("/1/*)"));
        let mainnet = Bip84Keys::from_seed(&secp, &seed, Network::Bitcoin).unwrap();
        assert!(mainnet
            .external
            .starts_with(&format!("wpkh([{fp}/84'/0'/0']xpub")));
        // Same seed, same descriptors: a restore finds the same addresses.
        let again = Bip84Keys::from_seed(&secp, &seed, Network::Regtest).unwrap();
        assert_eq!(regtest.external, again.external);
        assert_eq!(regtest.internal, again.internal);
    }
}
