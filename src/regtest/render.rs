//! Core-shaped JSON for scripts, transactions, headers and blocks (`core_io.cpp`'s
//! `ScriptToAsmStr`, `ScriptToUniv`, `TxToUniv`; `rpc/blockchain.cpp`'s
//! `blockheaderToJSON`, `blockToJSON`), field for field and in Core's order.

use bitcoin::consensus::encode;
use bitcoin::hex::DisplayHex;
use bitcoin::script::Instruction;
use bitcoin::{Address, Block, BlockHash, Network, Script, Transaction, XOnlyPublicKey};

use super::chain::BlockIndex;
use super::json::Json;
use super::policy::{self, OutputType};
use super::utxo::BlockUndo;
use super::validation::looks_like_signature;

/// Core's name of an opcode (`GetOpName`) where it differs from `rust-bitcoin`'s.
fn op_name(op: bitcoin::opcodes::Opcode) -> String {
    let byte = op.to_u8();
    match byte {
        0x4f => "-1".to_owned(),
        0x51..=0x60 => (byte - 0x50).to_string(),
        0xb0 => "OP_NOP1".to_owned(),
        0xb1 => "OP_CHECKLOCKTIMEVERIFY".to_owned(),
        0xb2 => "OP_CHECKSEQUENCEVERIFY".to_owned(),
        0xbb..=0xff => "OP_UNKNOWN".to_owned(),
        _ => op.to_string(),
    }
}

/// Little-endian sign-magnitude number of a push of at most four bytes (`CScriptNum`).
fn script_num(bytes: &[u8]) -> i64 {
    let Some((&last, _)) = bytes.split_last() else {
        return 0;
    };
    let mut value: i64 = 0;
    for (i, b) in bytes.iter().enumerate() {
        value |= i64::from(*b) << (8 * i);
    }
    if last & 0x80 != 0 {
        let mask = !(0x80i64 << (8 * (bytes.len() - 1)));
        -(value & mask)
    } else {
        value
    }
}

/// Core's sighash-type names for scriptSig decoding.
fn sighash_name(byte: u8) -> Option<&'static str> {
    Some(match byte {
        0x01 => "ALL",
        0x02 => "NONE",
        0x03 => "SINGLE",
        0x81 => "ALL|ANYONECANPAY",
        0x82 => "NONE|ANYONECANPAY",
        0x83 => "SINGLE|ANYONECANPAY",
        _ => return None,
    })
}

/// Core's `ScriptToAsmStr`; `decode_sighash` for scriptSigs.
pub(crate) fn asm(script: &Script, decode_sighash: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    for instruction in script.instructions() {
        match instruction {
            Err(_) => {
                parts.push("[error]".to_owned());
                break;
            }
            Ok(Instruction::PushBytes(push)) => {
                let data = push.as_bytes();
                if data.len() <= 4 {
                    parts.push(script_num(data).to_string());
                } else if decode_sighash && !script.is_op_return() && looks_like_signature(data) {
                    let (sig, ht) = data.split_at(data.len() - 1);
                    match sighash_name(ht[0]) {
                        Some(name) => parts.push(format!("{}[{name}]", sig.to_lower_hex_string())),
                        None => parts.push(data.to_lower_hex_string()),
                    }
                } else {
                    parts.push(data.to_lower_hex_string());
                }
            }
            Ok(Instruction::Op(op)) => parts.push(op_name(op)),
        }
    }
    parts.join(" ")
}

/// BIP380 descriptor checksum.
fn descriptor_checksum(desc: &str) -> String {
    const INPUT: &str = "0123456789()[],'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#\"\\ ";
    const CHECKSUM: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    fn polymod(c: u64, val: u64) -> u64 {
        let c0 = c >> 35;
        let mut c = ((c & 0x7_ffff_ffff) << 5) ^ val;
        for (bit, gen) in [
            (1, 0xf5_dee5_1989),
            (2, 0xa9_fdca_3312),
            (4, 0x1b_ab10_e32d),
            (8, 0x37_06b1_677a),
            (16, 0x64_4d62_6ffd),
        ] {
            if c0 & bit != 0 {
                c ^= gen;
            }
        }
        c
    }
    let mut c: u64 = 1;
    let mut cls: u64 = 0;
    let mut count = 0;
    for ch in desc.chars() {
        let Some(pos) = INPUT.find(ch) else {
            return String::new();
        };
        let pos = pos as u64;
        c = polymod(c, pos & 31);
        cls = cls * 3 + (pos >> 5);
        count += 1;
        if count == 3 {
            c = polymod(c, cls);
            cls = 0;
            count = 0;
        }
    }
    if count > 0 {
        c = polymod(c, cls);
    }
    for _ in 0..8 {
        c = polymod(c, 0);
    }
    c ^= 1;
    (0..8)
        .map(|j| char::from(CHECKSUM[((c >> (5 * (7 - j))) & 31) as usize]))
        .collect()
}

/// The regtest address of a script, if it has one.
pub(crate) fn address(script: &Script) -> Option<String> {
    Address::from_script(script, Network::Regtest)
        .ok()
        .map(|a| a.to_string())
}

/// Core's `InferDescriptor(script)->ToString()` without key material: `pk()`, `multi()`,
/// `rawtr()`, `addr()` or `raw()`, with checksum.
pub(crate) fn descriptor(script: &Script, kind: OutputType) -> String {
    let bytes = script.as_bytes();
    let body = match kind {
        OutputType::PubKey => format!("pk({})", bytes[1..bytes.len() - 1].to_lower_hex_string()),
        OutputType::Multisig => {
            let mut keys = Vec::new();
            let mut required = 0;
            for (i, instruction) in script.instructions().flatten().enumerate() {
                match instruction {
                    Instruction::PushBytes(p) => keys.push(p.as_bytes().to_lower_hex_string()),
                    Instruction::Op(op) if i == 0 => required = op.to_u8() - 0x50,
                    Instruction::Op(_) => {}
                }
            }
            format!("multi({required},{})", keys.join(","))
        }
        OutputType::WitnessV1Taproot if XOnlyPublicKey::from_slice(&bytes[2..]).is_ok() => {
            format!("rawtr({})", bytes[2..].to_lower_hex_string())
        }
        _ => match address(script) {
            Some(a) => format!("addr({a})"),
            None => format!("raw({})", bytes.to_lower_hex_string()),
        },
    };
    let checksum = descriptor_checksum(&body);
    format!("{body}#{checksum}")
}

/// Core's `ScriptToUniv` with hex and address: `asm`, `desc`, `hex`, `address`, `type`.
pub(crate) fn script_pubkey(script: &Script) -> Json {
    let kind = policy::classify(script);
    let mut json = Json::object()
        .with("asm", asm(script, false))
        .with("desc", descriptor(script, kind))
        .with("hex", script.as_bytes().to_lower_hex_string());
    if kind != OutputType::PubKey {
        if let Some(a) = address(script) {
            json.push("address", a);
        }
    }
    json.with("type", kind.name())
}

/// Core's `TxToUniv`: the decoded transaction, `fee` when the spent coins are known
/// (`undo`: the coins this transaction spent), `hex` at the end.
pub(crate) fn transaction(
    tx: &Transaction,
    spent: Option<&[super::utxo::Coin]>,
    prevouts: bool,
) -> Json {
    let weight = tx.weight().to_wu();
    let mut json = Json::object()
        .with("txid", tx.compute_txid().to_string())
        .with("hash", tx.compute_wtxid().to_string())
        .with("version", tx.version.0)
        .with("size", tx.total_size())
        .with("vsize", weight.div_ceil(4))
        .with("weight", weight)
        .with("locktime", tx.lock_time.to_consensus_u32());
    let mut vin = Vec::with_capacity(tx.input.len());
    for (i, input) in tx.input.iter().enumerate() {
        let mut item = Json::object();
        if tx.is_coinbase() {
            item.push(
                "coinbase",
                input.script_sig.as_bytes().to_lower_hex_string(),
            );
        } else {
            item.push("txid", input.previous_output.txid.to_string());
            item.push("vout", input.previous_output.vout);
            item.push(
                "scriptSig",
                Json::object()
                    .with("asm", asm(&input.script_sig, true))
                    .with("hex", input.script_sig.as_bytes().to_lower_hex_string()),
            );
        }
        if !input.witness.is_empty() {
            let items: Vec<Json> = input
                .witness
                .iter()
                .map(|w| Json::from(w.to_lower_hex_string()))
                .collect();
            item.push("txinwitness", items);
        }
        if prevouts {
            if let Some(coin) = spent.and_then(|s| s.get(i)) {
                item.push(
                    "prevout",
                    Json::object()
                        .with("generated", coin.is_coinbase)
                        .with("height", coin.height)
                        .with("value", Json::amount(coin.output.value))
                        .with("scriptPubKey", script_pubkey(&coin.output.script_pubkey)),
                );
            }
        }
        item.push("sequence", input.sequence.to_consensus_u32());
        vin.push(item);
    }
    json.push("vin", vin);
    let vout: Vec<Json> = tx
        .output
        .iter()
        .enumerate()
        .map(|(n, output)| {
            Json::object()
                .with("value", Json::amount(output.value))
                .with("n", n)
                .with("scriptPubKey", script_pubkey(&output.script_pubkey))
        })
        .collect();
    json.push("vout", vout);
    if let Some(spent) = spent {
        let value_in: u64 = spent.iter().map(|c| c.output.value.to_sat()).sum();
        let value_out: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
        json.push(
            "fee",
            Json::Amount(
                i64::try_from(value_in).unwrap_or(0) - i64::try_from(value_out).unwrap_or(0),
            ),
        );
    }
    json.push("hex", encode::serialize_hex(tx));
    json
}

/// Size of a block serialized without witnesses (`strippedsize`).
pub(crate) fn stripped_size(block: &Block) -> usize {
    let count = bitcoin::VarInt(block.txdata.len() as u64).size();
    80 + count
        + block
            .txdata
            .iter()
            .map(Transaction::base_size)
            .sum::<usize>()
}

/// Core's `GetDifficulty` for a compact target.
pub(crate) fn difficulty(bits: u32) -> f64 {
    let mut shift = (bits >> 24) & 0xff;
    let mut diff = f64::from(0x0000_ffff) / f64::from(bits & 0x00ff_ffff);
    while shift < 29 {
        diff *= 256.0;
        shift += 1;
    }
    while shift > 29 {
        diff /= 256.0;
        shift -= 1;
    }
    diff
}

/// The 256-bit target of a compact value, as 64 hex digits.
pub(crate) fn target_hex(header: &bitcoin::block::Header) -> String {
    header.target().to_be_bytes().to_lower_hex_string()
}

/// Core's `blockheaderToJSON`. `confirmations` is -1 off the active chain; `next` is the
/// active successor.
pub(crate) fn header(entry: &BlockIndex, confirmations: i64, next: Option<BlockHash>) -> Json {
    let h = &entry.header;
    let mut json = Json::object()
        .with("hash", entry.hash.to_string())
        .with("confirmations", confirmations)
        .with("height", entry.height)
        .with("version", h.version.to_consensus())
        .with("versionHex", format!("{:08x}", h.version.to_consensus()))
        .with("merkleroot", h.merkle_root.to_string())
        .with("time", h.time)
        .with("mediantime", entry.median_time_past)
        .with("nonce", h.nonce)
        .with("bits", format!("{:08x}", h.bits.to_consensus()))
        .with("target", target_hex(h))
        .with("difficulty", difficulty(h.bits.to_consensus()))
        .with(
            "chainwork",
            entry.chainwork.to_be_bytes().to_lower_hex_string(),
        )
        .with("nTx", entry.n_tx);
    if entry.height > 0 {
        json.push("previousblockhash", h.prev_blockhash.to_string());
    }
    if let Some(next) = next {
        json.push("nextblockhash", next.to_string());
    }
    json
}

/// Core's `blockToJSON` at verbosity 1 (txids) or 2/3 (decoded transactions, fees from undo
/// data, prevouts at 3).
pub(crate) fn block(
    block: &Block,
    header_json: Json,
    verbosity: i64,
    undo: Option<&BlockUndo>,
) -> Json {
    let mut json = header_json;
    json.push("strippedsize", stripped_size(block));
    json.push("size", block.total_size());
    json.push("weight", block.weight().to_wu());
    if let Some(coinbase) = block.txdata.first() {
        let input = &coinbase.input[0];
        let mut cb = Json::object()
            .with("version", coinbase.version.0)
            .with("locktime", coinbase.lock_time.to_consensus_u32())
            .with("sequence", input.sequence.to_consensus_u32())
            .with(
                "coinbase",
                input.script_sig.as_bytes().to_lower_hex_string(),
            );
        if let Some(w) = input.witness.nth(0) {
            cb.push("witness", w.to_lower_hex_string());
        }
        json.push("coinbase_tx", cb);
    }
    let txs: Vec<Json> = if verbosity <= 1 {
        block
            .txdata
            .iter()
            .map(|tx| Json::from(tx.compute_txid().to_string()))
            .collect()
    } else {
        let mut offset = 0usize;
        block
            .txdata
            .iter()
            .map(|tx| {
                let spent = if tx.is_coinbase() {
                    None
                } else {
                    let n = tx.input.len();
                    let coins = undo.and_then(|u| u.spent.get(offset..offset + n));
                    offset += n;
                    coins
                };
                transaction(tx, spent, verbosity >= 3)
            })
            .collect()
    };
    json.push("tx", txs);
    json
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::ScriptBuf;

    fn script(hex: &str) -> ScriptBuf {
        ScriptBuf::from_bytes(
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect(),
        )
    }

    #[test]
    fn asm_matches_core() {
        let p2wpkh = script("0014751e76e8199196d454941c45d1b3a323f1433bd6");
        assert_eq!(
            asm(&p2wpkh, false),
            "0 751e76e8199196d454941c45d1b3a323f1433bd6"
        );
        let cltv = script("03e8030db17551");
        assert_eq!(asm(&cltv, false), "852968 OP_CHECKLOCKTIMEVERIFY OP_DROP 1");
        assert_eq!(asm(&script("4f"), false), "-1");
    }

    #[test]
    fn descriptor_checksum_matches_bip380() {
        // Test vector from BIP 380.
        assert_eq!(descriptor_checksum("raw(deadbeef)"), "89f8spxm");
    }

    #[test]
    fn difficulty_of_regtest() {
        assert!((difficulty(0x207f_ffff) - 4.656_542_373_906_925e-10).abs() < 1e-20);
    }
}
