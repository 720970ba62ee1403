//! The `fund` step: coinbases mined to a node's wallet until it holds what the scenario asks,
//! then matured. Regtest's subsidy halves every 150 blocks, so how many blocks that takes
//! depends on the height; the plan is a pure function, tested below.

use std::time::Instant;

use bitcoin::address::NetworkUnchecked;
use bitcoin::{Address, Block};
use serde_json::{json, Value};

use super::network::{Network, COINBASE_MATURITY, POLL, START_TIMEOUT};
use super::observation::{Read, WalletView};
use super::step::group;
use super::ScenarioError;

impl Network {
    /// Mines coinbases to each node's wallet until it received at least `sat` in at least
    /// `coins` coins, then 100 blocks so they mature, and waits until every wallet counts
    /// them as confirmed. Returns a line saying what each node got.
    pub async fn fund(
        &mut self,
        nodes: &[String],
        sat: u64,
        coins: u32,
    ) -> Result<String, ScenarioError> {
        let mut got = Vec::new();
        let mut expect = Vec::new();
        for name in nodes {
            let before: WalletView = self
                .call_as(name, "balance", json!({}))
                .await
                .map_err(ScenarioError::Check)?;
            let address: Value = self.call(name, "newaddress", json!({})).await?;
            let address = address["address"].as_str().unwrap_or_default().to_string();
            let script = address
                .parse::<Address<NetworkUnchecked>>()
                .map_err(|e| ScenarioError::Check(format!("{name} gave a bad address: {e}")))?
                .assume_checked()
                .script_pubkey();
            let tip = self.height().await?;
            let count = coinbases_needed(tip, sat, coins).ok_or_else(|| {
                ScenarioError::Check(format!(
                    "regtest cannot pay {} sat in {coins}+ coinbases from height {tip}: the \
                     block subsidy runs out (it halves every 150 blocks)",
                    group(sat)
                ))
            })?;
            let hashes: Vec<String> = self
                .chain_call("generatetoaddress", &[json!(count), json!(address)])
                .await?;
            let mut amount = 0u64;
            for hash in &hashes {
                let hex: String = self
                    .chain_call("getblock", &[json!(hash), json!(0)])
                    .await?;
                let block: Block = bitcoin::consensus::encode::deserialize_hex(&hex)
                    .map_err(|e| ScenarioError::Check(format!("block {hash}: {e}")))?;
                amount += block.txdata.first().map_or(0, |coinbase| {
                    coinbase
                        .output
                        .iter()
                        .filter(|o| o.script_pubkey == script)
                        .map(|o| o.value.to_sat())
                        .sum::<u64>()
                });
            }
            *self.names.funded_sat.entry(name.clone()).or_default() += amount;
            got.push((name.clone(), count, amount));
            expect.push((name.clone(), before.confirmed_sat + amount));
        }
        self.mine(COINBASE_MATURITY).await?;
        let start = Instant::now();
        for (name, want) in expect {
            loop {
                let wallet: Read<WalletView> = self.call_as(&name, "balance", json!({})).await;
                let confirmed = wallet.as_ref().map_or(0, |w| w.confirmed_sat);
                if confirmed >= want {
                    break;
                }
                if start.elapsed() > START_TIMEOUT {
                    return Err(ScenarioError::Timeout {
                        secs: START_TIMEOUT.as_secs(),
                        last: format!(
                            "{name}'s wallet counts {} sat confirmed, want {}",
                            group(confirmed),
                            group(want)
                        ),
                    });
                }
                tokio::time::sleep(POLL).await;
            }
        }
        Ok(funded_line(&got))
    }
}

/// `alice got 1 coin (5_000_000_000 sat)`, or `a, b each got ...` when all got the same.
fn funded_line(got: &[(String, u32, u64)]) -> String {
    let coins = |count: u32, amount: u64| {
        format!(
            "{count} coin{} ({} sat)",
            if count == 1 { "" } else { "s" },
            group(amount)
        )
    };
    match got {
        [(name, count, amount)] => format!("{name} got {}", coins(*count, *amount)),
        [(_, count, amount), rest @ ..] if rest.iter().all(|g| (g.1, g.2) == (*count, *amount)) => {
            let names: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
            format!("{} each got {}", names.join(", "), coins(*count, *amount))
        }
        _ => got
            .iter()
            .map(|(name, count, amount)| format!("{name} got {}", coins(*count, *amount)))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Regtest's block subsidy (Core's `GetBlockSubsidy` with a 150-block halving interval).
fn subsidy(height: u64) -> u64 {
    let halvings = height / 150;
    if halvings >= 64 {
        0
    } else {
        5_000_000_000 >> halvings
    }
}

/// How many blocks mined on top of `tip` pay at least `sat` in at least `coins` coinbases;
/// `None` if the subsidy runs out first (or it would take over 1000 blocks).
fn coinbases_needed(tip: u64, sat: u64, coins: u32) -> Option<u32> {
    let mut total = 0u64;
    let mut count = 0u32;
    while total < sat || count < coins {
        let s = subsidy(tip + 1 + u64::from(count));
        if s == 0 || count >= 1000 {
            return None;
        }
        total = total.saturating_add(s);
        count += 1;
    }
    Some(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_funding_line_groups_equal_shares() {
        let one = [("a".to_string(), 1, 5_000)];
        assert_eq!(funded_line(&one), "a got 1 coin (5_000 sat)");
        let same = [("a".to_string(), 2, 10), ("b".to_string(), 2, 10)];
        assert_eq!(funded_line(&same), "a, b each got 2 coins (10 sat)");
        let differ = [("a".to_string(), 1, 10), ("b".to_string(), 2, 10)];
        assert_eq!(
            funded_line(&differ),
            "a got 1 coin (10 sat); b got 2 coins (10 sat)"
        );
    }

    #[test]
    fn funding_plans_enough_coinbases() {
        assert_eq!(coinbases_needed(0, 1, 1), Some(1));
        assert_eq!(coinbases_needed(0, 5_000_000_000, 1), Some(1));
        assert_eq!(coinbases_needed(0, 5_000_000_001, 1), Some(2));
        assert_eq!(coinbases_needed(0, 1_000_000, 4), Some(4));
        // Blocks 149 and 150 pay 50 and 25 BTC.
        assert_eq!(coinbases_needed(148, 7_500_000_000, 1), Some(2));
        assert_eq!(coinbases_needed(150 * 64, 1, 1), None);
        assert_eq!(coinbases_needed(0, u64::MAX, 1), None);
    }
}
