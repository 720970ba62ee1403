//! BOLT 2 channel close: `shutdown`, `closing_complete`, `closing_sig`, `closing_signed`.

use lightning::ln::msgs as ldk;
use petrel::wire::{self, Sampler};

use super::{channel_id, check, int, int32, script, signature, Pair, Tlvs};

pub fn same_shutdown(p: &wire::Shutdown, l: &ldk::Shutdown) {
    check("shutdown", "channel_id", p.channel_id.0, l.channel_id.0);
    check(
        "shutdown",
        "scriptpubkey",
        p.scriptpubkey.as_slice(),
        l.scriptpubkey.as_bytes(),
    );
}

impl Pair for wire::Shutdown {
    type Ldk = ldk::Shutdown;
    fn same(p: &Self, l: &ldk::Shutdown) {
        same_shutdown(p, l);
    }
    fn ldk_build(s: &mut Sampler, _: Tlvs) -> ldk::Shutdown {
        ldk::Shutdown {
            channel_id: channel_id(s),
            scriptpubkey: script(s),
        }
    }
}

/// `closing_complete` and `closing_sig` have the same fields, with the same names in Petrel and
/// in LDK.
macro_rules! same_closing {
    ($m:expr, $p:expr, $l:expr) => {{
        let (m, p, l) = ($m, $p, $l);
        check(m, "channel_id", p.channel_id.0, l.channel_id.0);
        check(
            m,
            "closer_scriptpubkey",
            p.closer_scriptpubkey.as_slice(),
            l.closer_scriptpubkey.as_bytes(),
        );
        check(
            m,
            "closee_scriptpubkey",
            p.closee_scriptpubkey.as_slice(),
            l.closee_scriptpubkey.as_bytes(),
        );
        check(m, "fee_satoshis", p.fee_satoshis.to_sat(), l.fee_satoshis);
        check(m, "locktime", p.locktime, l.locktime);
        check(
            m,
            "tlvs.closer_output_only",
            p.tlvs.closer_output_only,
            l.closer_output_only,
        );
        check(
            m,
            "tlvs.closee_output_only",
            p.tlvs.closee_output_only,
            l.closee_output_only,
        );
        check(
            m,
            "tlvs.closer_and_closee_outputs",
            p.tlvs.closer_and_closee_outputs,
            l.closer_and_closee_outputs,
        );
    }};
}

pub fn same_closing_complete(p: &wire::ClosingComplete, l: &ldk::ClosingComplete) {
    same_closing!("closing_complete", p, l);
}

impl Pair for wire::ClosingComplete {
    type Ldk = ldk::ClosingComplete;
    fn same(p: &Self, l: &ldk::ClosingComplete) {
        same_closing_complete(p, l);
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::ClosingComplete {
        ldk::ClosingComplete {
            channel_id: channel_id(s),
            closer_scriptpubkey: script(s),
            closee_scriptpubkey: script(s),
            fee_satoshis: int(s),
            locktime: int32(s),
            closer_output_only: tlvs.maybe(s, signature),
            closee_output_only: tlvs.maybe(s, signature),
            closer_and_closee_outputs: tlvs.maybe(s, signature),
        }
    }
}

pub fn same_closing_sig(p: &wire::ClosingSig, l: &ldk::ClosingSig) {
    same_closing!("closing_sig", p, l);
}

impl Pair for wire::ClosingSig {
    type Ldk = ldk::ClosingSig;
    fn same(p: &Self, l: &ldk::ClosingSig) {
        same_closing_sig(p, l);
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::ClosingSig {
        ldk::ClosingSig {
            channel_id: channel_id(s),
            closer_scriptpubkey: script(s),
            closee_scriptpubkey: script(s),
            fee_satoshis: int(s),
            locktime: int32(s),
            closer_output_only: tlvs.maybe(s, signature),
            closee_output_only: tlvs.maybe(s, signature),
            closer_and_closee_outputs: tlvs.maybe(s, signature),
        }
    }
}

pub fn same_closing_signed(p: &wire::ClosingSigned, l: &ldk::ClosingSigned) {
    let m = "closing_signed";
    check(m, "channel_id", p.channel_id.0, l.channel_id.0);
    check(m, "fee_satoshis", p.fee_satoshis.to_sat(), l.fee_satoshis);
    check(m, "signature", p.signature, l.signature);
    check(
        m,
        "tlvs.fee_range",
        p.tlvs
            .fee_range
            .as_ref()
            .map(|r| (r.min_fee_satoshis.to_sat(), r.max_fee_satoshis.to_sat())),
        l.fee_range
            .as_ref()
            .map(|r| (r.min_fee_satoshis, r.max_fee_satoshis)),
    );
}

impl Pair for wire::ClosingSigned {
    type Ldk = ldk::ClosingSigned;
    fn same(p: &Self, l: &ldk::ClosingSigned) {
        same_closing_signed(p, l);
    }
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> ldk::ClosingSigned {
        ldk::ClosingSigned {
            channel_id: channel_id(s),
            fee_satoshis: int(s),
            signature: signature(s),
            fee_range: tlvs.maybe(s, |s| ldk::ClosingSignedFeeRange {
                min_fee_satoshis: int(s),
                max_fee_satoshis: int(s),
            }),
        }
    }
}
