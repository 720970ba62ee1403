//! `petrel regtest` as a real process: JSON-RPC over HTTP with cookie auth, mining to an
//! address, spending a coinbase with a signed P2WPKH transaction, seeing it confirm, and a
//! restart that keeps the chain.

// Waiting on a real process needs a wall-clock deadline.
#![allow(clippy::disallowed_methods)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bitcoin::base64::Engine as _;
use bitcoin::consensus::encode;
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{
    absolute, transaction, Address, Amount, CompressedPublicKey, Network, OutPoint, ScriptBuf,
    Sequence, Transaction, TxIn, TxOut, Txid, Witness,
};
use serde_json::{json, Value};

/// How long to wait for the server to come up or go down.
const DEADLINE: Duration = Duration::from_secs(30);

/// A running `petrel regtest`, killed when dropped.
struct Node {
    child: Child,
    datadir: PathBuf,
    port: u16,
    auth: String,
}

impl Node {
    /// Starts the binary on a random loopback port and waits for its port file.
    fn start(datadir: &Path) -> Node {
        let _ = std::fs::remove_file(datadir.join("rpc.port"));
        let child = Command::new(env!("CARGO_BIN_EXE_petrel"))
            .args(["regtest", "--datadir"])
            .arg(datadir)
            .args(["--rpc-bind", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn petrel regtest");
        let mut node = Node {
            child,
            datadir: datadir.to_owned(),
            port: 0,
            auth: String::new(),
        };
        let port_file = datadir.join("rpc.port");
        let port = poll(|| {
            std::fs::read_to_string(&port_file)
                .ok()?
                .trim()
                .parse()
                .ok()
        });
        let cookie = std::fs::read_to_string(datadir.join(".cookie")).expect("cookie file");
        assert!(
            cookie.starts_with("__cookie__:"),
            "bitcoind cookie format: {cookie}"
        );
        node.port = port;
        node.auth = bitcoin::base64::engine::general_purpose::STANDARD.encode(cookie.trim());
        node
    }

    fn connect(&self) -> Client {
        Client::connect(self.port, Some(self.auth.clone()))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` until it yields a value or the deadline passes.
fn poll<T>(mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "condition not met within {DEADLINE:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A minimal HTTP/1.1 keep-alive client for JSON-RPC.
struct Client {
    stream: BufReader<TcpStream>,
    auth: Option<String>,
    next_id: u64,
}

impl Client {
    fn connect(port: u16, auth: Option<String>) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        Client {
            stream: BufReader::new(stream),
            auth,
            next_id: 0,
        }
    }

    /// Sends a raw body; returns (status, body).
    fn post(&mut self, body: &str) -> (u16, String) {
        let mut request = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(auth) = &self.auth {
            request.push_str(&format!("Authorization: Basic {auth}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        self.stream.get_mut().write_all(request.as_bytes()).unwrap();
        let mut status_line = String::new();
        self.stream.read_line(&mut status_line).unwrap();
        let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            self.stream.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0u8; length];
        self.stream.read_exact(&mut body).unwrap();
        (status, String::from_utf8(body).unwrap())
    }

    /// A JSON-RPC 1.0 call; returns `result` or panics with the error.
    fn call(&mut self, method: &str, params: Value) -> Value {
        match self.try_call(method, params) {
            Ok(v) => v,
            Err(e) => panic!("{method} failed: {e}"),
        }
    }

    fn try_call(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let body =
            json!({"jsonrpc": "1.0", "id": self.next_id, "method": method, "params": params});
        let (_, text) = self.post(&body.to_string());
        let reply: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(reply["id"], json!(self.next_id));
        if reply["error"].is_null() {
            Ok(reply["result"].clone())
        } else {
            Err(reply["error"].clone())
        }
    }
}

/// The test wallet: one key and its regtest P2WPKH address.
struct Wallet {
    key: SecretKey,
    script: ScriptBuf,
    address: Address,
}

impl Wallet {
    fn new() -> Wallet {
        let secp = Secp256k1::new();
        let key = SecretKey::from_slice(&[42u8; 32]).unwrap();
        let pubkey = CompressedPublicKey(key.public_key(&secp));
        let address = Address::p2wpkh(&pubkey, Network::Regtest);
        Wallet {
            key,
            script: address.script_pubkey(),
            address,
        }
    }

    /// Spends `outpoint` (worth `value`, paying to us) to ourselves minus `fee`.
    fn spend(&self, outpoint: OutPoint, value: Amount, fee: Amount) -> Transaction {
        let mut tx = Transaction {
            version: transaction::Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: vec![TxIn {
                previous_output: outpoint,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value: value - fee,
                script_pubkey: self.script.clone(),
            }],
        };
        let secp = Secp256k1::new();
        let sighash = SighashCache::new(&tx)
            .p2wpkh_signature_hash(0, &self.script, value, EcdsaSighashType::All)
            .unwrap();
        let signature = secp.sign_ecdsa(&Message::from_digest(sighash.to_byte_array()), &self.key);
        let signature = bitcoin::ecdsa::Signature {
            signature,
            sighash_type: EcdsaSighashType::All,
        };
        tx.input[0].witness = Witness::p2wpkh(&signature, &self.key.public_key(&secp));
        tx
    }
}

#[test]
fn mine_spend_confirm_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = Wallet::new();
    let txid;
    let tip;
    {
        let node = Node::start(dir.path());

        // Without the cookie: 401 and bitcoind's challenge.
        let mut anonymous = Client::connect(node.port, None);
        let (status, _) = anonymous.post(r#"{"method":"getblockcount","params":[]}"#);
        assert_eq!(status, 401);

        let mut rpc = node.connect();
        assert_eq!(rpc.call("getblockcount", json!([])), json!(0));
        let info = rpc.call("getblockchaininfo", json!([]));
        assert_eq!(info["chain"], "regtest");
        assert_eq!(
            info["bestblockhash"],
            "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"
        );

        let hashes = rpc.call(
            "generatetoaddress",
            json!([101, wallet.address.to_string()]),
        );
        assert_eq!(hashes.as_array().unwrap().len(), 101);
        assert_eq!(rpc.call("getblockcount", json!([])), json!(101));

        // Spend block 1's coinbase (mature at tip 101).
        let block1 = rpc.call("getblockhash", json!([1]));
        let block = rpc.call("getblock", json!([block1, 2]));
        let coinbase = &block["tx"][0];
        let coinbase_txid: Txid = coinbase["txid"].as_str().unwrap().parse().unwrap();
        assert_eq!(coinbase["vout"][0]["value"], json!(50.0));
        assert_eq!(
            coinbase["vout"][0]["scriptPubKey"]["address"],
            wallet.address.to_string()
        );
        let tx = wallet.spend(
            OutPoint {
                txid: coinbase_txid,
                vout: 0,
            },
            Amount::from_btc(50.0).unwrap(),
            Amount::from_sat(1_000),
        );
        let hex = encode::serialize_hex(&tx);

        let verdict = rpc.call("testmempoolaccept", json!([[hex]]));
        assert_eq!(verdict[0]["allowed"], json!(true), "{verdict}");
        let sent = rpc.call("sendrawtransaction", json!([hex]));
        txid = tx.compute_txid();
        assert_eq!(sent, json!(txid.to_string()));
        let pool = rpc.call("getrawmempool", json!([]));
        assert_eq!(pool, json!([txid.to_string()]));
        let unconfirmed = rpc.call("getrawtransaction", json!([txid.to_string(), true]));
        assert!(unconfirmed.get("confirmations").is_none());

        // A double spend of the same coinbase with the same fee is refused with -26.
        let rival = wallet.spend(
            OutPoint {
                txid: coinbase_txid,
                vout: 0,
            },
            Amount::from_btc(50.0).unwrap(),
            Amount::from_sat(1_001),
        );
        let err = rpc
            .try_call("sendrawtransaction", json!([encode::serialize_hex(&rival)]))
            .unwrap_err();
        assert_eq!(err["code"], json!(-26));
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .starts_with("insufficient fee"),
            "{err}"
        );

        rpc.call("generatetoaddress", json!([1, wallet.address.to_string()]));
        let confirmed = rpc.call("getrawtransaction", json!([txid.to_string(), true]));
        assert_eq!(confirmed["confirmations"], json!(1));
        assert_eq!(rpc.call("getrawmempool", json!([])), json!([]));
        tip = rpc.call("getbestblockhash", json!([]));
        // `node` is dropped here: the process is killed, not stopped cleanly.
    }

    let node = Node::start(dir.path());
    let mut rpc = node.connect();
    assert_eq!(rpc.call("getblockcount", json!([])), json!(102));
    assert_eq!(rpc.call("getbestblockhash", json!([])), tip);
    let confirmed = rpc.call("getrawtransaction", json!([txid.to_string(), true]));
    assert_eq!(confirmed["confirmations"], json!(1));
    let out = rpc.call("gettxout", json!([txid.to_string(), 0]));
    assert_eq!(out["value"], json!(49.99999));
    rpc.call("generatetoaddress", json!([1, wallet.address.to_string()]));
    let confirmed = rpc.call("getrawtransaction", json!([txid.to_string(), true]));
    assert_eq!(confirmed["confirmations"], json!(2));

    // `stop` shuts the process down and removes the cookie.
    assert_eq!(
        rpc.call("stop", json!([])),
        json!("Petrel regtest stopping")
    );
    drop(rpc);
    let mut node = node;
    let status = poll(|| node.child.try_wait().ok().flatten());
    assert!(status.success());
    assert!(!node.datadir.join(".cookie").exists());
}

#[test]
fn json_rpc_shapes_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path());
    let mut rpc = node.connect();

    // JSON-RPC 2.0: HTTP 200, no `error` key on success, no `result` key on error.
    let (status, body) =
        rpc.post(r#"{"jsonrpc":"2.0","id":"a","method":"getblockcount","params":[]}"#);
    assert_eq!(status, 200);
    assert_eq!(body.trim(), r#"{"jsonrpc":"2.0","result":0,"id":"a"}"#);
    let (status, body) = rpc.post(r#"{"jsonrpc":"2.0","id":1,"method":"nosuchmethod"}"#);
    assert_eq!(status, 200);
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["error"]["code"], json!(-32601));
    assert!(reply.get("result").is_none());

    // JSON-RPC 1.0: errors are HTTP 404/500 and carry `result: null`.
    let (status, body) = rpc.post(r#"{"id":1,"method":"nosuchmethod","params":[]}"#);
    assert_eq!(status, 404);
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["result"], Value::Null);
    let (status, body) =
        rpc.post(&json!({"id": 2, "method": "getblockhash", "params": [5]}).to_string());
    assert_eq!(status, 500);
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["error"]["code"], json!(-8));
    assert_eq!(reply["error"]["message"], "Block height out of range");

    // Not found: -5.
    let err = rpc
        .try_call("getblockheader", json!(["00".repeat(32)]))
        .unwrap_err();
    assert_eq!(err["code"], json!(-5));
    assert_eq!(err["message"], "Block not found");

    // Named parameters and batches.
    let (_, body) = rpc.post(
        r#"[{"id":1,"method":"getblockhash","params":{"height":0}},{"id":2,"method":"getblockcount"}]"#,
    );
    let replies: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        replies[0]["result"],
        "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"
    );
    assert_eq!(replies[1]["result"], json!(0));

    // A notification (2.0 without id) gets 204 and no body.
    let (status, body) = rpc.post(r#"{"jsonrpc":"2.0","method":"getblockcount"}"#);
    assert_eq!(status, 204);
    assert!(body.is_empty());

    // Header fields and types as bitcoind prints them.
    let header = rpc.call(
        "getblockheader",
        json!(["0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"]),
    );
    assert_eq!(header["height"], json!(0));
    assert_eq!(header["bits"], "207fffff");
    assert_eq!(header["confirmations"], json!(1));
    assert_eq!(
        header["chainwork"],
        "0000000000000000000000000000000000000000000000000000000000000002"
    );
    assert!(header.get("previousblockhash").is_none());
    let raw = rpc.call("getblockheader", json!([header["hash"], false]));
    assert_eq!(raw.as_str().unwrap().len(), 160);
}
