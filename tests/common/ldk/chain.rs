//! What an LDK node needs from the chain, served by the `petrel regtest` process: a fee
//! estimator, a broadcaster (LDK calls it synchronously; the node's driver sends the queued
//! transactions with `sendrawtransaction`), and the blocks the driver feeds it.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use bitcoin::Transaction;
use lightning::chain::chaininterface::{
    BroadcasterInterface, ConfirmationTarget, FeeEstimator, FEERATE_FLOOR_SATS_PER_KW,
};
use petrel::chain::{BitcoindRpc, ChainSource as _};

/// One estimate for every target: the relay floor, 253 sat/kW, unless a test raises it (to
/// make LDK send `update_fee`).
#[derive(Debug)]
pub struct TestFees {
    rate: AtomicU32,
}

impl Default for TestFees {
    fn default() -> Self {
        TestFees {
            rate: AtomicU32::new(FEERATE_FLOOR_SATS_PER_KW),
        }
    }
}

impl TestFees {
    /// Every estimate from now on is `sat_per_kw`.
    pub fn set(&self, sat_per_kw: u32) {
        self.rate.store(sat_per_kw, Ordering::SeqCst);
    }
}

impl FeeEstimator for TestFees {
    fn get_est_sat_per_1000_weight(&self, _target: ConfirmationTarget) -> u32 {
        self.rate.load(Ordering::SeqCst)
    }
}

/// Queues what LDK broadcasts; [`QueueBroadcaster::send_all`] hands it to the chain.
#[derive(Debug, Default)]
pub struct QueueBroadcaster {
    queue: Mutex<Vec<Transaction>>,
    /// Every transaction sent and the chain's answer (`Err` text if it was refused).
    pub sent: Mutex<Vec<(Transaction, Result<(), String>)>>,
}

impl BroadcasterInterface for QueueBroadcaster {
    fn broadcast_transactions(&self, txs: &[&Transaction]) {
        let mut queue = self.queue.lock().unwrap();
        queue.extend(txs.iter().map(|tx| (*tx).clone()));
    }
}

impl QueueBroadcaster {
    /// Sends every queued transaction to the chain with `sendrawtransaction`.
    pub async fn send_all(&self, rpc: &BitcoindRpc) {
        let queued: Vec<Transaction> = std::mem::take(&mut *self.queue.lock().unwrap());
        for tx in queued {
            let answer = rpc.broadcast(&tx).await.map(|_| ()).map_err(|e| {
                eprintln!("LDK broadcast of {} refused: {e}", tx.compute_txid());
                e.to_string()
            });
            self.sent.lock().unwrap().push((tx, answer));
        }
    }

    /// Whether LDK broadcast a transaction with this txid and the chain took it.
    pub fn accepted(&self, txid: bitcoin::Txid) -> bool {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .any(|(tx, answer)| tx.compute_txid() == txid && answer.is_ok())
    }
}
