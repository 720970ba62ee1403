//! `RpcChain`: the conformance suite's driver for any backend that speaks bitcoind's JSON-RPC:
//! `bitcoind -regtest -server`, `petrel regtest`, or the in-process stand-in of
//! [`super::rpc_server`]. The chain is read through [`BitcoindRpc`] (the code under test) and
//! driven with `generatetoaddress` and `invalidateblock`.

use bitcoin::{Address, BlockHash};
use petrel::chain::BitcoindRpc;
use serde_json::{json, Value};

use super::TestChain;

/// A JSON-RPC backend.
#[derive(Clone, Debug)]
pub struct RpcChain {
    /// The client under test, also used to drive the chain.
    pub rpc: BitcoindRpc,
}

impl TestChain for RpcChain {
    type Source = BitcoindRpc;

    fn source(&self) -> BitcoindRpc {
        self.rpc.clone()
    }

    async fn mine_to(&self, n: u32, pay_to: &Address) -> Vec<BlockHash> {
        self.rpc
            .call("generatetoaddress", &[json!(n), json!(pay_to.to_string())])
            .await
            .expect("generatetoaddress")
    }

    async fn invalidate(&self, hash: BlockHash) {
        let _: Value = self
            .rpc
            .call("invalidateblock", &[json!(hash.to_string())])
            .await
            .expect("invalidateblock");
    }
}
