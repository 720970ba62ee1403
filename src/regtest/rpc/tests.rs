//! The JSON-RPC layer in process: Core's error codes, messages and result shapes.

// Amounts are written as bitcoind prints them, unseparated.
#![allow(clippy::unreadable_literal, clippy::needless_pass_by_value)]

use bitcoin::consensus::encode;
use serde_json::{json, Value};

use super::{handle_body, RpcContext};
use crate::regtest::tests::{Fixture, FIFTY_BTC};

fn call(f: &mut Fixture, method: &str, params: Value) -> Value {
    let ctx = RpcContext {
        now: f.now,
        started: f.now - 5,
        size_on_disk: 0,
    };
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let reply = handle_body(&mut f.regtest, body.to_string().as_bytes(), &ctx);
    assert_eq!(reply.status, 200);
    serde_json::from_str(reply.body.as_deref().unwrap()).unwrap()
}

fn ok(f: &mut Fixture, method: &str, params: Value) -> Value {
    let reply = call(f, method, params);
    assert!(reply.get("error").is_none(), "{method}: {reply}");
    reply["result"].clone()
}

fn err(f: &mut Fixture, method: &str, params: Value) -> (i64, String) {
    let reply = call(f, method, params);
    let error = &reply["error"];
    (
        error["code"].as_i64().unwrap(),
        error["message"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn sendrawtransaction_error_codes() {
    let mut f = Fixture::new(101);
    assert_eq!(
        err(&mut f, "sendrawtransaction", json!(["zz"])),
        (
            -22,
            "TX decode failed. Make sure the tx has at least one input.".to_owned()
        )
    );
    // Missing inputs: -25 with the reason alone.
    let (_, output) = f.coinbase(1);
    let unknown = bitcoin::OutPoint {
        txid: bitcoin::Txid::from_byte_array([3; 32]),
        vout: 1,
    };
    let orphan = f.spend((unknown, output), vec![f.pay(FIFTY_BTC - 1_000)]);
    assert_eq!(
        err(
            &mut f,
            "sendrawtransaction",
            json!([encode::serialize_hex(&orphan)])
        ),
        (-25, "bad-txns-inputs-missingorspent".to_owned())
    );
    // Policy rejection: -26 with "reason, details".
    let cheap = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC)]);
    assert_eq!(
        err(
            &mut f,
            "sendrawtransaction",
            json!([encode::serialize_hex(&cheap)])
        ),
        (-26, "min relay fee not met, 0 < 11".to_owned())
    );
    // Above maxfeerate (default 0.10 BTC/kvB): -25.
    let generous = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC / 2)]);
    let (code, message) = err(
        &mut f,
        "sendrawtransaction",
        json!([encode::serialize_hex(&generous)]),
    );
    assert_eq!(code, -25);
    assert!(
        message.starts_with("Fee exceeds maximum configured by user"),
        "{message}"
    );
    // Allowed with maxfeerate 0.
    ok(
        &mut f,
        "sendrawtransaction",
        json!([encode::serialize_hex(&generous), 0]),
    );
    f.mine(1);
    assert_eq!(
        err(
            &mut f,
            "sendrawtransaction",
            json!([encode::serialize_hex(&generous)])
        ),
        (-27, "Transaction outputs already in utxo set".to_owned())
    );
}

#[test]
fn testmempoolaccept_result_shapes() {
    let mut f = Fixture::new(101);
    let tx = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 1_410)]);
    let result = ok(
        &mut f,
        "testmempoolaccept",
        json!([[encode::serialize_hex(&tx)]]),
    );
    let verdict = &result[0];
    assert_eq!(verdict["txid"], tx.compute_txid().to_string());
    assert_eq!(verdict["allowed"], json!(true));
    assert_eq!(verdict["vsize"], json!(110));
    assert_eq!(verdict["fees"]["base"], json!(0.0000141));
    assert_eq!(verdict["fees"]["effective-feerate"], json!(0.00012818));
    let (_, output) = f.coinbase(1);
    let unknown = bitcoin::OutPoint {
        txid: bitcoin::Txid::from_byte_array([3; 32]),
        vout: 1,
    };
    let orphan = f.spend((unknown, output), vec![f.pay(FIFTY_BTC - 1_000)]);
    let result = ok(
        &mut f,
        "testmempoolaccept",
        json!([[encode::serialize_hex(&orphan)]]),
    );
    assert_eq!(result[0]["allowed"], json!(false));
    assert_eq!(result[0]["reject-reason"], "missing-inputs");
    assert!(result[0].get("reject-details").is_none());
    let late = f.spend(f.coinbase(3), vec![f.pay(FIFTY_BTC - 1_000)]);
    let result = ok(
        &mut f,
        "testmempoolaccept",
        json!([[encode::serialize_hex(&late)]]),
    );
    assert_eq!(
        result[0]["reject-reason"],
        "bad-txns-premature-spend-of-coinbase"
    );
    assert_eq!(
        result[0]["reject-details"],
        "bad-txns-premature-spend-of-coinbase, tried to spend coinbase at depth 99"
    );
}

#[test]
fn block_and_transaction_views() {
    let mut f = Fixture::new(101);
    let tx = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 1_000)]);
    let txid = ok(
        &mut f,
        "sendrawtransaction",
        json!([encode::serialize_hex(&tx)]),
    );
    let entry = ok(&mut f, "getmempoolentry", json!([txid]));
    assert_eq!(entry["vsize"], json!(110));
    assert_eq!(entry["weight"], json!(437));
    assert_eq!(entry["fees"]["base"], json!(0.00001));
    assert_eq!(entry["ancestorcount"], json!(1));
    assert_eq!(entry["depends"], json!([]));
    let info = ok(&mut f, "getmempoolinfo", json!([]));
    assert_eq!(info["size"], json!(1));
    assert_eq!(info["minrelaytxfee"], json!(0.000001));
    let hash = f.mine(1)[0];
    let block = ok(&mut f, "getblock", json!([hash.to_string(), 2]));
    assert_eq!(block["height"], json!(102));
    assert_eq!(block["nTx"], json!(2));
    assert_eq!(block["confirmations"], json!(1));
    assert_eq!(block["tx"][1]["txid"], txid);
    assert_eq!(block["tx"][1]["fee"], json!(0.00001));
    assert!(block["tx"][0].get("fee").is_none());
    assert_eq!(
        block["tx"][1]["vout"][0]["scriptPubKey"]["type"],
        "witness_v0_keyhash"
    );
    let desc = block["tx"][1]["vout"][0]["scriptPubKey"]["desc"]
        .as_str()
        .unwrap();
    assert!(
        desc.starts_with("addr(bcrt1q") && desc.contains('#'),
        "{desc}"
    );
    // BIP34: height 102 pushed as one byte.
    assert_eq!(block["coinbase_tx"]["coinbase"], "0166");
    let raw = ok(&mut f, "getrawtransaction", json!([txid, 2]));
    assert_eq!(raw["confirmations"], json!(1));
    assert_eq!(raw["blockhash"], hash.to_string());
    assert_eq!(raw["fee"], json!(0.00001));
    assert_eq!(raw["vin"][0]["prevout"]["generated"], json!(true));
    let verbose1 = ok(&mut f, "getblock", json!([hash.to_string()]));
    assert_eq!(verbose1["tx"][1], txid);
    let out = ok(&mut f, "gettxout", json!([txid, 0]));
    assert_eq!(out["confirmations"], json!(1));
    assert_eq!(out["coinbase"], json!(false));
    assert_eq!(ok(&mut f, "gettxout", json!([txid, 5])), Value::Null);
}

#[test]
fn not_found_and_parameter_errors() {
    let mut f = Fixture::new(1);
    let missing = "11".repeat(32);
    assert_eq!(
        err(&mut f, "getrawtransaction", json!([missing])),
        (
            -5,
            "No such mempool or blockchain transaction. Use gettransaction for wallet transactions."
                .to_owned()
        )
    );
    assert_eq!(
        err(&mut f, "invalidateblock", json!([missing])),
        (-5, "Block not found".to_owned())
    );
    assert_eq!(
        err(&mut f, "getblock", json!(["abc"])),
        (
            -8,
            "blockhash must be of length 64 (not 3, for 'abc')".to_owned()
        )
    );
    assert_eq!(
        err(
            &mut f,
            "generatetoaddress",
            json!([1, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"])
        ),
        (-5, "Error: Invalid address".to_owned())
    );
    assert_eq!(err(&mut f, "getblockcount", json!(["x"])).0, -1);
    assert_eq!(err(&mut f, "getblockhash", json!(["x"])).0, -3);
    let estimate = ok(&mut f, "estimatesmartfee", json!([6]));
    assert_eq!(
        estimate["errors"],
        json!(["Insufficient data or no feerate found"])
    );
    assert_eq!(err(&mut f, "estimatesmartfee", json!([0])).0, -8);
    assert_eq!(ok(&mut f, "uptime", json!([])), json!(5));
}

#[test]
fn generateblock_with_txids_and_raw_transactions() {
    let mut f = Fixture::new(101);
    let first = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 1_000)]);
    let txid = ok(
        &mut f,
        "sendrawtransaction",
        json!([encode::serialize_hex(&first)]),
    );
    let second = f.spend(f.coinbase(2), vec![f.pay(FIFTY_BTC - 1_000)]);
    let address = bitcoin::Address::from_script(&f.script, bitcoin::Network::Regtest).unwrap();
    let result = ok(
        &mut f,
        "generateblock",
        json!([address.to_string(), [txid, encode::serialize_hex(&second)]]),
    );
    let hash = result["hash"].as_str().unwrap();
    assert_eq!(ok(&mut f, "getbestblockhash", json!([])), json!(hash));
    assert!(f.regtest.mempool().is_empty());
    let (code, message) = err(
        &mut f,
        "generateblock",
        json!([address.to_string(), ["00".repeat(32)]]),
    );
    assert_eq!(code, -5);
    assert!(message.ends_with("not in mempool."), "{message}");
}

use bitcoin::hashes::Hash as _;
