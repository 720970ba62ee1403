//! The BOLT 1 `init` exchange: our features and networks, and the checks on the peer's.
//!
//! Pure: builds our `init` and judges the peer's; the async exchange is in `connect.rs`.

use bitcoin::constants::ChainHash;

use crate::wire::features::bits;
use crate::wire::{Extension, Features, Init, InitTlvs, Message};

/// The feature bits Petrel sets in `init` (all optional, odd): the BOLT 9 "ASSUMED" set
/// (`option_data_loss_protect`, `var_onion_optin`, `option_static_remotekey`,
/// `payment_secret`, `option_channel_type`; LDK refuses peers without them) and
/// `option_shutdown_anysegwit`.
pub fn our_features() -> Features {
    [
        bits::DATA_LOSS_PROTECT,
        bits::VAR_ONION_OPTIN,
        bits::STATIC_REMOTEKEY,
        bits::PAYMENT_SECRET,
        bits::SHUTDOWN_ANYSEGWIT,
        bits::CHANNEL_TYPE,
    ]
    .into_iter()
    .fold(Features::empty(), |f, bit| f.with(bit | 1))
}

/// The even (required) bits we understand: a peer may require these of us. Anything else
/// even is "unknown" and BOLT 1 says to close the connection.
pub const KNOWN_REQUIRED: &[usize] = &[
    bits::DATA_LOSS_PROTECT,
    bits::UPFRONT_SHUTDOWN_SCRIPT,
    bits::VAR_ONION_OPTIN,
    bits::STATIC_REMOTEKEY,
    bits::PAYMENT_SECRET,
    bits::SHUTDOWN_ANYSEGWIT,
    bits::CHANNEL_TYPE,
];

/// Our `init`: features (and, as BOLT 1 suggests, bits up to 13 also in `globalfeatures`
/// for old readers), and `networks` naming our one chain.
pub fn our_init(chain: ChainHash) -> Message {
    let features = our_features();
    let global = Features::from_bytes(&[]);
    let low_bits = features
        .set_bits()
        .into_iter()
        .filter(|b| *b <= 13)
        .fold(global, Features::with);
    Message::Init(Init {
        globalfeatures: low_bits.as_bytes().to_vec(),
        features: features.as_bytes().to_vec(),
        tlvs: InitTlvs {
            networks: Some(vec![chain]),
            remote_addr: None,
            unknown: Vec::new(),
        },
    })
}

/// Why a peer's `init` closes the connection (BOLT 1).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InitError {
    /// The first message after the handshake was not `init`.
    #[error("first message was {0}, not init")]
    FirstMessageNotInit(&'static str),
    /// The peer requires features (even bits) we do not know.
    #[error("peer requires unknown features {0:?}")]
    UnknownRequiredFeatures(Vec<usize>),
    /// The peer sets a feature without the feature it depends on (BOLT 9).
    #[error("feature {feature} set without its dependency {dependency}")]
    MissingFeatureDependency {
        /// The feature (even bit of the pair).
        feature: usize,
        /// What it depends on.
        dependency: usize,
    },
    /// The peer's `networks` does not include our chain.
    #[error("no common network")]
    NoCommonNetwork,
}

/// What we learned from the peer's `init`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInit {
    /// `globalfeatures | features`, as BOLT 1 says to combine them.
    pub features: Features,
}

impl PeerInit {
    /// Whether the peer negotiated `option_shutdown_anysegwit` (we always offer it).
    pub fn anysegwit(&self) -> bool {
        self.features.supports(bits::SHUTDOWN_ANYSEGWIT)
    }
}

/// Judges the peer's first message: it must be `init`, require nothing we do not know, and
/// (if it names networks) share our chain.
pub fn check_peer_init(first: &Message, chain: ChainHash) -> Result<PeerInit, InitError> {
    let Message::Init(init) = first else {
        return Err(InitError::FirstMessageNotInit(first.name()));
    };
    let features =
        Features::from_bytes(&init.globalfeatures).union(&Features::from_bytes(&init.features));
    let unknown = features.unknown_required(KNOWN_REQUIRED);
    if !unknown.is_empty() {
        return Err(InitError::UnknownRequiredFeatures(unknown));
    }
    // BOLT 9: `option_zeroconf` depends on `option_scid_alias`, `basic_mpp` on
    // `payment_secret`, `option_simple_close` on `option_shutdown_anysegwit`: a vector that
    // sets a feature without its dependency must be refused.
    for (feature, dependency) in [
        (bits::BASIC_MPP, bits::PAYMENT_SECRET),
        (bits::ZEROCONF, bits::SCID_ALIAS),
        (60, bits::SHUTDOWN_ANYSEGWIT),
    ] {
        if features.supports(feature) && !features.supports(dependency) {
            return Err(InitError::MissingFeatureDependency {
                feature,
                dependency,
            });
        }
    }
    if let Some(networks) = &init.tlvs.networks {
        if !networks.contains(&chain) {
            return Err(InitError::NoCommonNetwork);
        }
    }
    Ok(PeerInit { features })
}

/// A `warning` (BOLT 1) about the whole connection, with printable text.
pub(crate) fn warning(text: &str) -> Message {
    Message::Warning(crate::wire::Warning {
        channel_id: crate::wire::ChannelId::ALL,
        data: text.as_bytes().to_vec(),
        tlvs: Extension::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init_with(features: &Features, networks: Option<Vec<ChainHash>>) -> Message {
        Message::Init(Init {
            globalfeatures: vec![],
            features: features.as_bytes().to_vec(),
            tlvs: InitTlvs {
                networks,
                remote_addr: None,
                unknown: vec![],
            },
        })
    }

    #[test]
    fn our_init_passes_our_own_checks_and_signals_the_assumed_features() {
        let init = our_init(ChainHash::REGTEST);
        let peer = check_peer_init(&init, ChainHash::REGTEST).unwrap();
        for bit in [0, 8, 12, 14, 44] {
            assert!(peer.features.supports(bit), "bit {bit}");
        }
        assert!(peer.anysegwit());
        // Round-trips through the codec.
        let bytes = init.encode_to_vec().unwrap();
        assert_eq!(Message::decode(&bytes).unwrap(), init);
    }

    #[test]
    fn unknown_even_bits_close_the_connection_but_odd_ones_do_not() {
        let required_gossip = our_features().with(bits::GOSSIP_QUERIES);
        assert_eq!(
            check_peer_init(&init_with(&required_gossip, None), ChainHash::REGTEST),
            Err(InitError::UnknownRequiredFeatures(vec![6]))
        );
        let optional = our_features().with(101);
        assert!(check_peer_init(&init_with(&optional, None), ChainHash::REGTEST).is_ok());
        // Required bits we do know are fine.
        let required_known = Features::empty().with(12).with(14).with(8);
        assert!(check_peer_init(&init_with(&required_known, None), ChainHash::REGTEST).is_ok());
    }

    #[test]
    fn globalfeatures_count_too() {
        let msg = Message::Init(Init {
            globalfeatures: Features::empty().with(2).as_bytes().to_vec(),
            features: vec![],
            tlvs: InitTlvs::default(),
        });
        assert_eq!(
            check_peer_init(&msg, ChainHash::REGTEST),
            Err(InitError::UnknownRequiredFeatures(vec![2]))
        );
    }

    #[test]
    fn networks_must_include_ours() {
        let msg = init_with(&our_features(), Some(vec![ChainHash::BITCOIN]));
        assert_eq!(
            check_peer_init(&msg, ChainHash::REGTEST),
            Err(InitError::NoCommonNetwork)
        );
        let msg = init_with(
            &our_features(),
            Some(vec![ChainHash::BITCOIN, ChainHash::REGTEST]),
        );
        assert!(check_peer_init(&msg, ChainHash::REGTEST).is_ok());
    }

    #[test]
    fn the_first_message_must_be_init() {
        assert_eq!(
            check_peer_init(&warning("hi"), ChainHash::REGTEST),
            Err(InitError::FirstMessageNotInit("warning"))
        );
    }

    #[test]
    fn missing_dependencies_are_refused() {
        let f = Features::empty().with(bits::BASIC_MPP | 1);
        assert_eq!(
            check_peer_init(&init_with(&f, None), ChainHash::REGTEST),
            Err(InitError::MissingFeatureDependency {
                feature: bits::BASIC_MPP,
                dependency: bits::PAYMENT_SECRET
            })
        );
    }
}
