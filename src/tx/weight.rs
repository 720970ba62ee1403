//! Expected transaction weights (BOLT 3 "Fee Calculation" and Appendix A; BOLT 5 Appendix A).
//!
//! Fees are `feerate_per_kw * expected_weight / 1000`, rounded down. The commitment and HTLC
//! weights are the spec's fixed numbers (both peers must agree to the satoshi). Sweeps have no
//! fixed number: [`expected_weight`] counts their bytes the way Appendix A does, field by
//! field, with every signature at its maximum of 73 bytes, so the fee never falls short of the
//! feerate asked for.

/// Base weight of a non-anchor commitment transaction: Appendix A's 500 weight of
/// non-witness data plus 224 of witness (BOLT 3 "Fee Calculation").
pub const COMMITMENT_BASE_WEIGHT: u64 = 724;
/// Added weight per untrimmed HTLC output of a commitment transaction (43 bytes × 4).
pub const COMMITMENT_WEIGHT_PER_HTLC: u64 = 172;
/// Weight of an HTLC-timeout transaction, non-anchor (BOLT 3 "Fee Calculation").
pub const HTLC_TIMEOUT_WEIGHT: u64 = 663;
/// Weight of an HTLC-success transaction, non-anchor (BOLT 3 "Fee Calculation"; Appendix A
/// notes it is really 702 and kept at 703 for historical reasons).
pub const HTLC_SUCCESS_WEIGHT: u64 = 703;
/// Largest DER signature plus its sighash byte, as Appendix A assumes.
pub const MAX_SIGNATURE_LEN: usize = 73;
/// Length of a compressed public key.
pub const PUBKEY_LEN: usize = 33;

/// Expected weight of a non-anchor commitment transaction with `untrimmed_htlcs` HTLC outputs:
/// `724 + 172 * num-untrimmed-htlc-outputs` (BOLT 3 "Fee Calculation").
pub fn commitment_weight(untrimmed_htlcs: usize) -> u64 {
    COMMITMENT_BASE_WEIGHT + COMMITMENT_WEIGHT_PER_HTLC * untrimmed_htlcs as u64
}

/// Size of a Bitcoin `CompactSize` length prefix for `n`.
fn var_int_len(n: usize) -> usize {
    match n {
        0..=0xfc => 1,
        0xfd..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// Expected weight of a segwit transaction, counted as BOLT 3 Appendix A does: non-witness
/// bytes (version 4, input count, 41 bytes per input with an empty `scriptSig`, output count,
/// 8 + length prefix + script per output, locktime 4) times 4, plus the 2-byte witness
/// header, plus each input's witness (item count, then each item's length prefix and bytes).
///
/// `witnesses` lists, per input, the length of each witness item (including the witness
/// script); `output_script_lens` lists the length of each output's `scriptPubKey`.
pub fn expected_weight(witnesses: &[&[usize]], output_script_lens: &[usize]) -> u64 {
    let inputs = var_int_len(witnesses.len()) + 41 * witnesses.len();
    let outputs = var_int_len(output_script_lens.len())
        + output_script_lens
            .iter()
            .map(|len| 8 + var_int_len(*len) + len)
            .sum::<usize>();
    let non_witness = 4 + inputs + outputs + 4;
    let witness: usize = witnesses
        .iter()
        .map(|items| {
            var_int_len(items.len())
                + items
                    .iter()
                    .map(|len| var_int_len(*len) + len)
                    .sum::<usize>()
        })
        .sum();
    (4 * non_witness + 2 + witness) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A P2WSH `scriptPubKey`: `OP_0` and a 32-byte push.
    const P2WSH: usize = 34;
    /// A P2WPKH `scriptPubKey`: `OP_0` and a 20-byte push.
    const P2WPKH: usize = 22;
    /// The 2-of-2 funding script (Appendix A `multi_sig`).
    const MULTISIG: usize = 71;

    #[test]
    fn appendix_a_commitment_weight() {
        // funding input witness: 0 <sig> <sig> <multi_sig> (Appendix A: 222 bytes), outputs
        // to_remote (p2wpkh) and to_local (p2wsh), plus one p2wsh per HTLC.
        let witness = [0, MAX_SIGNATURE_LEN, MAX_SIGNATURE_LEN, MULTISIG];
        assert_eq!(
            expected_weight(&[&witness], &[P2WPKH, P2WSH]),
            COMMITMENT_BASE_WEIGHT
        );
        assert_eq!(
            expected_weight(&[&witness], &[P2WPKH, P2WSH, P2WSH, P2WSH]),
            commitment_weight(2)
        );
    }

    #[test]
    fn appendix_a_htlc_weights() {
        // timeout_witness: 0 <sig> <sig> <> <offered_htlc_script (133)>: 663.
        let timeout = [0, MAX_SIGNATURE_LEN, MAX_SIGNATURE_LEN, 0, 133];
        assert_eq!(expected_weight(&[&timeout], &[P2WSH]), HTLC_TIMEOUT_WEIGHT);
        // success_witness: 0 <sig> <sig> <preimage> <accepted_htlc_script (140)>: really 702.
        let success = [0, MAX_SIGNATURE_LEN, MAX_SIGNATURE_LEN, 32, 140];
        assert_eq!(
            expected_weight(&[&success], &[P2WSH]) + 1,
            HTLC_SUCCESS_WEIGHT
        );
    }

    #[test]
    fn bolt5_penalty_input_weights() {
        // BOLT 5 "Penalty Transactions Weight Calculation": an input is 164 weight plus its
        // witness; offered_htlc_penalty_witness is 243 bytes (133-byte script),
        // accepted_htlc 249 (139-byte script). to_local_penalty_witness is given as 160 with
        // an (overestimated) 83-byte script, but that sum lists `one_length` and not the
        // byte of the `1` itself: counted in full it is 161, hence 325 per input.
        let one = |items: &[usize]| expected_weight(&[items], &[P2WSH]);
        let two = |items: &[usize]| expected_weight(&[items, items], &[P2WSH]);
        let per_input = |items: &[usize]| two(items) - one(items);
        assert_eq!(per_input(&[MAX_SIGNATURE_LEN, 1, 83]), 324 + 1);
        assert_eq!(per_input(&[MAX_SIGNATURE_LEN, PUBKEY_LEN, 133]), 407);
        assert_eq!(per_input(&[MAX_SIGNATURE_LEN, PUBKEY_LEN, 139]), 413);
        // "The rest of the penalty transaction takes up 4+1+1+8+1+34+4=53 bytes of
        // non-witness data [...] in addition to a 2-byte witness header."
        assert_eq!(one(&[MAX_SIGNATURE_LEN, PUBKEY_LEN, 133]) - 407, 4 * 53 + 2);
    }

    #[test]
    fn var_ints_grow_with_counts() {
        assert_eq!(var_int_len(0xfc), 1);
        assert_eq!(var_int_len(0xfd), 3);
        let many = vec![P2WSH; 253];
        assert_eq!(
            expected_weight(&[&[MAX_SIGNATURE_LEN]], &many)
                - expected_weight(&[&[MAX_SIGNATURE_LEN]], &many[1..]),
            4 * (43 + 2)
        );
    }
}
