//! Two chains in lockstep for the differential test: `petrel regtest` and Bitcoin Core, driven
//! with the same calls in the same order so that they hold the same UTXO set and mempool.
//!
//! Blocks differ only in their header times (both miners use the wall clock), hence in hashes;
//! their contents, coinbases included, are the same bytes: both miners shape the coinbase
//! alike (BIP34 height, `OP_0` pad, lock time height − 1, witness commitment), so a coinbase
//! paid to the same address has the same txid on both chains, and one signed transaction is
//! valid (or invalid) on both. [`Pair::fund`] checks that before any case runs.
//!
//! Without `BITCOIND_EXE` the pair has no Core: each case still checks the embedded chain's
//! verdict against the one Core gave when the case was written (the `expect` of each
//! submission), and the test says that the comparison with Core was skipped.
#![allow(dead_code)]
#![allow(clippy::disallowed_methods)]

pub mod txgen;

use std::io::Write as _;

use bitcoin::{Address, Amount, BlockHash, OutPoint, Transaction};
use petrel::chain::{BitcoindRpc, ChainError, ChainSource};
use serde_json::{json, Value};

use crate::common::procs::{nobody, BitcoindProcess, ChainProcess, RegtestProcess};
use txgen::{Coin, Signer, Spend};

/// One chain backend under comparison.
pub struct Backend {
    /// `petrel` or `core`.
    pub name: &'static str,
    /// Its JSON-RPC client.
    pub rpc: BitcoindRpc,
}

impl Backend {
    /// A call whose failure is part of the answer: `Err((code, message))`.
    pub async fn call(&self, method: &str, params: &[Value]) -> Result<Value, (i64, String)> {
        match self.rpc.call::<Value>(method, params).await {
            Ok(value) => Ok(value),
            Err(ChainError::Rpc { code, message }) => Err((code, message)),
            Err(other) => panic!("{}: {method} failed to run: {other}", self.name),
        }
    }

    /// A call that must succeed.
    pub async fn ok(&self, method: &str, params: &[Value]) -> Value {
        self.call(method, params)
            .await
            .unwrap_or_else(|e| panic!("{}: {method} {params:?}: {e:?}", self.name))
    }
}

/// What a chain said about one transaction: `testmempoolaccept`'s entry, then
/// `sendrawtransaction`'s answer (`Ok(txid)` or `Err((code, message))`).
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// `testmempoolaccept [hex]`, the entry for the transaction.
    pub test: Value,
    /// `sendrawtransaction hex`.
    pub send: Result<Value, (i64, String)>,
}

impl Verdict {
    /// Whether the mempool took it.
    pub fn accepted(&self) -> bool {
        self.send.is_ok()
    }

    /// `testmempoolaccept`'s `reject-reason`, if rejected.
    pub fn reason(&self) -> Option<&str> {
        self.test.get("reject-reason").and_then(Value::as_str)
    }

    /// The reason category: the reject reason without the script error in brackets, and the
    /// RPC error code of `sendrawtransaction`.
    pub fn category(&self) -> (Option<String>, Option<i64>) {
        let reason = self
            .reason()
            .map(|r| r.split(" (").next().unwrap_or(r).to_owned());
        (reason, self.send.as_ref().err().map(|(code, _)| *code))
    }
}

/// `petrel regtest` and (when available) Bitcoin Core, side by side.
pub struct Pair {
    /// The embedded chain.
    pub petrel: Backend,
    /// Bitcoin Core, when `BITCOIND_EXE` is set.
    pub core: Option<Backend>,
    /// Signs the generator's transactions.
    pub signer: Signer,
    /// Every submission so far: case name, and the verdict (Core's when present).
    pub log: Vec<(String, Verdict)>,
    _regtest: RegtestProcess,
    _bitcoind: Option<BitcoindProcess>,
}

impl Pair {
    /// Starts both chains (Core only with `BITCOIND_EXE`; the skip is printed).
    pub fn start(test: &str) -> Pair {
        let regtest = RegtestProcess::start();
        let bitcoind = BitcoindProcess::start(test);
        Pair {
            petrel: Backend {
                name: "petrel",
                rpc: regtest.rpc(),
            },
            core: bitcoind.as_ref().map(|b| Backend {
                name: "core",
                rpc: ChainProcess::rpc(b),
            }),
            signer: Signer::new(),
            log: Vec::new(),
            _regtest: regtest,
            _bitcoind: bitcoind,
        }
    }

    /// The backends, the embedded chain first.
    pub fn backends(&self) -> Vec<&Backend> {
        let mut all = vec![&self.petrel];
        all.extend(self.core.as_ref());
        all
    }

    /// Mines `n` blocks to `address` on both chains; the hashes per backend (petrel first).
    pub async fn mine_to(&self, n: u32, address: &Address) -> Vec<Vec<BlockHash>> {
        let mut all = Vec::new();
        for backend in self.backends() {
            let hashes: Vec<BlockHash> = backend
                .rpc
                .call("generatetoaddress", &[json!(n), json!(address.to_string())])
                .await
                .expect("generatetoaddress");
            all.push(hashes);
        }
        all
    }

    /// Mines `n` blocks to [`nobody`] on both chains (the same address, so that their
    /// coinbases stay identical).
    pub async fn mine(&self, n: u32) -> Vec<Vec<BlockHash>> {
        self.mine_to(n, &nobody()).await
    }

    /// Mines `coins` blocks paying the signer's key and 100 more so they mature; returns the
    /// coinbase outputs, after checking that both chains made the same coinbases.
    pub async fn fund(&self, coins: u32) -> Vec<Coin> {
        let address = self.signer.address(&self.signer.key);
        let hashes = self.mine_to(coins, &address).await;
        self.mine(100).await;
        let mut found = Vec::new();
        for (i, hash) in hashes[0].iter().enumerate() {
            let block = self.petrel.rpc.block(*hash).await.unwrap().unwrap();
            let coinbase = &block.txdata[0];
            if let Some(core) = &self.core {
                let other = core.rpc.block(hashes[1][i]).await.unwrap().unwrap();
                assert_eq!(
                    coinbase,
                    &other.txdata[0],
                    "the two miners built different coinbases at height {}",
                    i + 1
                );
            }
            found.push(Coin {
                outpoint: OutPoint::new(coinbase.compute_txid(), 0),
                output: coinbase.output[0].clone(),
                spend: Spend::P2wpkh(self.signer.key),
            });
        }
        found
    }

    /// Submits `tx` to both chains (`testmempoolaccept`, then `sendrawtransaction`) and
    /// asserts that they agree: same `testmempoolaccept` entry, same `sendrawtransaction`
    /// answer, same mempool afterwards. Returns Core's verdict (the embedded chain's without
    /// Core).
    pub async fn submit(&mut self, case: &str, tx: &Transaction) -> Verdict {
        let hex = bitcoin::consensus::encode::serialize_hex(tx);
        let mut verdicts = Vec::new();
        for backend in self.backends() {
            let test = backend.ok("testmempoolaccept", &[json!([hex])]).await;
            let test = test.get(0).cloned().unwrap_or(Value::Null);
            let send = backend.call("sendrawtransaction", &[json!(hex)]).await;
            verdicts.push(Verdict { test, send });
        }
        let verdict = verdicts.last().cloned().expect("one backend");
        if let [petrel, core] = verdicts.as_slice() {
            assert_eq!(
                petrel.category(),
                core.category(),
                "{case}: the embedded chain and Core disagree\npetrel: {petrel:#?}\ncore: {core:#?}\ntx: {hex}"
            );
            assert_eq!(
                petrel, core,
                "{case}: same category, different words\npetrel: {petrel:#?}\ncore: {core:#?}\ntx: {hex}"
            );
            self.same_mempool(case).await;
        }
        self.log.push((case.to_owned(), verdict.clone()));
        verdict
    }

    /// Submits and asserts that Core accepts (so the case tests what it means to).
    pub async fn accept(&mut self, case: &str, tx: &Transaction) {
        let verdict = self.submit(case, tx).await;
        assert!(
            verdict.accepted(),
            "{case}: expected acceptance, got {verdict:#?}"
        );
    }

    /// Submits and asserts that Core rejects with `reason` (the reason before any bracketed
    /// script error) and RPC code `code`.
    pub async fn reject(&mut self, case: &str, tx: &Transaction, reason: &str, code: i64) {
        let verdict = self.submit(case, tx).await;
        assert_eq!(
            verdict.category(),
            (Some(reason.to_owned()), Some(code)),
            "{case}: expected rejection for {reason}, got {verdict:#?}"
        );
    }

    /// Asserts both mempools hold the same transactions.
    pub async fn same_mempool(&self, case: &str) {
        let mut pools = Vec::new();
        for backend in self.backends() {
            let mut txids: Vec<String> =
                serde_json::from_value(backend.ok("getrawmempool", &[]).await).expect("txids");
            txids.sort();
            pools.push(txids);
        }
        if let [petrel, core] = pools.as_slice() {
            assert_eq!(petrel, core, "{case}: the mempools differ");
        }
    }

    /// Prints every verdict (visible with or without output capture), and whether Core was
    /// there to compare with.
    pub fn report(&self, test: &str) {
        let mut out = String::new();
        let against = if self.core.is_some() {
            "agreed with Bitcoin Core"
        } else {
            "matched the recorded Core verdicts (comparison with Core skipped: BITCOIND_EXE not set)"
        };
        out.push_str(&format!("{test}: {} cases {against}\n", self.log.len()));
        for (case, verdict) in &self.log {
            let shown = match (&verdict.send, verdict.reason()) {
                (Ok(_), None) => "accepted".to_owned(),
                (Ok(_), Some(reason)) => format!("accepted again (testmempoolaccept: {reason})"),
                (Err((code, _)), Some(reason)) => format!("rejected: {reason} (code {code})"),
                (Err((code, message)), None) => format!("refused: {message} (code {code})"),
            };
            out.push_str(&format!("  {case:<48} {shown}\n"));
        }
        let _ = std::io::stderr().write_all(out.as_bytes());
    }
}

/// Removes from `value` (recursively) the object keys in `skip`.
pub fn without(value: &Value, skip: &[&str]) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !skip.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), without(v, skip)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| without(v, skip)).collect()),
        other => other.clone(),
    }
}

/// The shape of a JSON value: every key with the JSON type of its value, recursively (array
/// elements by the shape of the first).
pub fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
        Value::Array(items) => Value::Array(items.first().map(shape).into_iter().collect()),
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!("integer"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
    }
}

/// Satoshis as a BTC JSON number, the way both servers print amounts.
pub fn btc(sats: Amount) -> Value {
    json!(sats.to_btc())
}
