//! The chain-query RPC methods (`getblockchaininfo`, `getblockheader`, `getblock`,
//! `getrawtransaction`, `gettxout`), shaped as Core's `rpc/blockchain.cpp` and
//! `rpc/rawtransaction.cpp` shape them. `getrawtransaction` behaves as Core with
//! `-txindex=1`: confirmed transactions of the active chain are found without a block hash.

use bitcoin::consensus::encode;
use bitcoin::hex::DisplayHex;
use bitcoin::{BlockHash, OutPoint, Txid};

use super::json::Json;
use super::render;
use super::rpc::{not_found, RpcContext, RpcError};
use super::utxo::Coin;
use super::Regtest;

/// Seconds after which a tip counts as old (`DEFAULT_MAX_TIP_AGE`), for
/// `initialblockdownload`.
const MAX_TIP_AGE: u64 = 24 * 60 * 60;

/// `getblockchaininfo`.
pub(super) fn blockchain_info(regtest: &Regtest, ctx: &RpcContext) -> Json {
    let chainstate = regtest.chainstate();
    let tip = chainstate.tip();
    // The best valid header is the tip: every block Petrel knows was fully validated
    // before it could become a candidate.
    let headers = tip.height;
    let ibd = u64::from(tip.header.time) + MAX_TIP_AGE < ctx.now;
    Json::object()
        .with("chain", "regtest")
        .with("blocks", tip.height)
        .with("headers", headers)
        .with("bestblockhash", tip.hash.to_string())
        .with("bits", format!("{:08x}", tip.header.bits.to_consensus()))
        .with("target", render::target_hex(&tip.header))
        .with(
            "difficulty",
            render::difficulty(tip.header.bits.to_consensus()),
        )
        .with("time", tip.header.time)
        .with("mediantime", tip.median_time_past)
        .with("verificationprogress", 1.0)
        .with("initialblockdownload", ibd)
        .with(
            "chainwork",
            tip.chainwork.to_be_bytes().to_lower_hex_string(),
        )
        .with("size_on_disk", ctx.size_on_disk)
        .with("pruned", false)
        .with("warnings", Vec::<Json>::new())
}

/// The header JSON of a known block.
fn header_json(regtest: &Regtest, hash: &BlockHash) -> Option<Json> {
    let index = regtest.chainstate().index();
    let entry = index.get(hash)?;
    let confirmations = regtest.confirmations(hash).unwrap_or(-1);
    let next = if index.contains(hash) {
        index.hash_at(entry.height + 1)
    } else {
        None
    };
    Some(render::header(entry, confirmations, next))
}

/// `getblockheader`.
pub(super) fn block_header(
    regtest: &Regtest,
    hash: &BlockHash,
    verbose: bool,
) -> Result<Json, RpcError> {
    let entry = regtest
        .chainstate()
        .index()
        .get(hash)
        .ok_or_else(|| not_found("Block not found"))?;
    if !verbose {
        return Ok(Json::from(
            encode::serialize(&entry.header).to_lower_hex_string(),
        ));
    }
    header_json(regtest, hash).ok_or_else(|| not_found("Block not found"))
}

/// `getblock`.
pub(super) fn block(regtest: &Regtest, hash: &BlockHash, verbosity: i64) -> Result<Json, RpcError> {
    let block = regtest
        .block(hash)
        .ok_or_else(|| not_found("Block not found"))?;
    if verbosity <= 0 {
        return Ok(Json::from(
            encode::serialize(block.as_ref()).to_lower_hex_string(),
        ));
    }
    let header = header_json(regtest, hash).ok_or_else(|| not_found("Block not found"))?;
    let undo = if verbosity >= 2 {
        regtest.chainstate().block_undo(hash)
    } else {
        None
    };
    Ok(render::block(block, header, verbosity, undo.as_ref()))
}

/// The coins a transaction of a connected block spent, from the block's undo data.
fn spent_coins(regtest: &Regtest, block: &BlockHash, txid: &Txid) -> Option<Vec<Coin>> {
    let data = regtest.block(block)?;
    let undo = regtest.chainstate().block_undo(block)?;
    let mut offset = 0usize;
    for tx in data.txdata.iter().skip(1) {
        let n = tx.input.len();
        if tx.compute_txid() == *txid {
            return undo.spent.get(offset..offset + n).map(<[Coin]>::to_vec);
        }
        offset += n;
    }
    None
}

/// `getrawtransaction`.
pub(super) fn raw_transaction(
    regtest: &Regtest,
    txid: &Txid,
    verbosity: i64,
    in_block: Option<BlockHash>,
) -> Result<Json, RpcError> {
    let genesis_merkle = super::params::genesis().header.merkle_root;
    if txid.to_raw_hash() == genesis_merkle.to_raw_hash() {
        return Err(not_found(
            "The genesis block coinbase is not considered an ordinary transaction and cannot be retrieved",
        ));
    }
    let (tx, block_hash) = match in_block {
        Some(hash) => {
            let block = regtest.block(&hash).ok_or_else(|| not_found("Block hash not found"))?;
            let tx = block.txdata.iter().find(|t| t.compute_txid() == *txid).ok_or_else(|| {
                not_found(
                    "No such transaction found in the provided block. Use gettransaction for wallet transactions.",
                )
            })?;
            (std::sync::Arc::new(tx.clone()), Some(hash))
        }
        None => regtest.transaction(txid).ok_or_else(|| {
            not_found(
                "No such mempool or blockchain transaction. Use gettransaction for wallet transactions.",
            )
        })?,
    };
    if verbosity <= 0 {
        return Ok(Json::from(encode::serialize_hex(tx.as_ref())));
    }
    let mut json = Json::object();
    if let Some(hash) = in_block {
        json.push(
            "in_active_chain",
            regtest.chainstate().index().contains(&hash),
        );
    }
    let spent = match block_hash {
        Some(hash) if verbosity >= 2 && !tx.is_coinbase() => spent_coins(regtest, &hash, txid),
        _ => None,
    };
    let Json::Object(fields) = render::transaction(&tx, spent.as_deref(), spent.is_some()) else {
        return Ok(json);
    };
    for (key, value) in fields {
        json.push(&key, value);
    }
    if let Some(hash) = block_hash {
        json.push("blockhash", hash.to_string());
        let index = regtest.chainstate().index();
        if let Some(entry) = index.get(&hash) {
            if index.contains(&hash) {
                json.push(
                    "confirmations",
                    i64::from(regtest.tip_height()) - i64::from(entry.height) + 1,
                );
                json.push("time", entry.header.time);
                json.push("blocktime", entry.header.time);
            } else {
                json.push("confirmations", 0i64);
            }
        }
    }
    Ok(json)
}

/// `gettxout`: `null` when spent or unknown.
pub(super) fn tx_out(regtest: &Regtest, outpoint: &OutPoint, include_mempool: bool) -> Json {
    let Some(info) = regtest.tx_out(outpoint, include_mempool) else {
        return Json::Null;
    };
    Json::object()
        .with("bestblock", regtest.tip_hash().to_string())
        .with("confirmations", info.confirmations)
        .with("value", Json::amount(info.output.value))
        .with(
            "scriptPubKey",
            render::script_pubkey(&info.output.script_pubkey),
        )
        .with("coinbase", info.coinbase)
}
