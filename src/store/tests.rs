//! Store tests: columns round-trip, the event log appends, data survives reopening.

use super::*;
use crate::channel::FundingConfirmation;
use crate::funding::tests::pending_pair;
use crate::wire::ShortChannelId;

fn new_channel_batch(channel: &crate::funding::PendingChannel) -> Batch {
    let id = channel.params.channel_id;
    Batch::new()
        .with(Op::NewChannel(Box::new(channel.params.clone())))
        .with(Op::Funding(
            id,
            FundingState {
                funding_tx: channel.funding_tx.clone(),
                opened_at_height: 101,
                confirmed: None,
                channel_ready_sent: false,
                channel_ready_received: false,
            },
        ))
        .with(Op::Commitment(id, Box::new(channel.commitment.clone())))
        .with(Op::Status(id, ChannelStatus::Pending))
        .with(Op::Event(
            id,
            Event {
                time: 1,
                height: Some(101),
                kind: EventKind::Opened {
                    role: channel.params.role,
                    capacity: channel.params.funding_amount,
                    funding_txid: channel.params.funding_outpoint.txid,
                },
            },
        ))
}

#[test]
fn a_channel_round_trips_through_its_columns() {
    let store = Store::in_memory().unwrap();
    let (a, _) = pending_pair();
    store.apply(&new_channel_batch(&a)).unwrap();
    let loaded = store.load_channel(&a.params.channel_id).unwrap().unwrap();
    assert_eq!(loaded.params, a.params);
    assert_eq!(loaded.commitment, a.commitment);
    assert_eq!(loaded.funding.funding_tx, a.funding_tx);
    assert_eq!(loaded.status, ChannelStatus::Pending);
    assert_eq!(loaded.counters, Counters::default());
    assert_eq!(store.channel_ids().unwrap(), vec![a.params.channel_id]);
    assert!(store.load_channel(&ChannelId([9; 32])).unwrap().is_none());
}

#[test]
fn a_change_writes_only_its_column() {
    let store = Store::in_memory().unwrap();
    let (a, _) = pending_pair();
    let id = a.params.channel_id;
    store.apply(&new_channel_batch(&a)).unwrap();
    let raw = |table: TableDefinition| {
        let txn = store.db.begin_read().unwrap();
        let t = txn.open_table(table).unwrap();
        t.get(&id.0[..]).unwrap().map(|v| v.value().to_vec())
    };
    let params_before = raw(PARAMS);
    let commitment_before = raw(COMMITMENT);
    let confirmation = FundingConfirmation {
        height: 103,
        block_hash: bitcoin::BlockHash::from_raw_hash(bitcoin::hashes::Hash::all_zeros()),
        short_channel_id: ShortChannelId::new(103, 1, 1).unwrap(),
    };
    let mut funding = store.load_channel(&id).unwrap().unwrap().funding;
    funding.confirmed = Some(confirmation);
    store
        .apply(
            &Batch::new()
                .with(Op::Funding(id, funding))
                .with(Op::Status(id, ChannelStatus::Ready)),
        )
        .unwrap();
    assert_eq!(raw(PARAMS), params_before);
    assert_eq!(raw(COMMITMENT), commitment_before);
    let loaded = store.load_channel(&id).unwrap().unwrap();
    assert_eq!(loaded.status, ChannelStatus::Ready);
    assert_eq!(loaded.funding.confirmed, Some(confirmation));
}

#[test]
fn events_append_in_order_per_channel() {
    let store = Store::in_memory().unwrap();
    let (a, b) = pending_pair();
    // Two stores would hold these in real life; one is enough to interleave two logs.
    let other = ChannelId([0xee; 32]);
    store.apply(&new_channel_batch(&a)).unwrap();
    let _ = b;
    for i in 0..3u64 {
        for id in [a.params.channel_id, other] {
            store
                .apply(&Batch::new().with(Op::Event(
                    id,
                    Event {
                        time: 10 + i,
                        height: None,
                        kind: EventKind::Note {
                            text: format!("{i}"),
                        },
                    },
                )))
                .unwrap();
        }
    }
    let events = store.events(&a.params.channel_id).unwrap();
    assert_eq!(events.len(), 4);
    assert!(matches!(events[0].kind, EventKind::Opened { .. }));
    let times: Vec<u64> = events.iter().map(|e| e.time).collect();
    assert_eq!(times, [1, 10, 11, 12]);
    assert_eq!(store.events(&other).unwrap().len(), 3);
}

#[test]
fn data_and_channel_indices_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("petrel.redb");
    let (a, _) = pending_pair();
    {
        let store = Store::open(&path).unwrap();
        assert_eq!(store.allocate_channel_index().unwrap(), 0);
        assert_eq!(store.allocate_channel_index().unwrap(), 1);
        store.apply(&new_channel_batch(&a)).unwrap();
        store
            .apply(&Batch::new().with(Op::Peer(PeerRecord {
                node_id: a.params.peer,
                address: "127.0.0.1:9735".into(),
            })))
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.allocate_channel_index().unwrap(), 2);
    assert_eq!(store.load_channels().unwrap().len(), 1);
    assert_eq!(store.peers().unwrap()[0].address, "127.0.0.1:9735");
}

#[test]
fn a_damaged_value_is_an_error_not_a_panic() {
    let store = Store::in_memory().unwrap();
    let (a, _) = pending_pair();
    let id = a.params.channel_id;
    store.apply(&new_channel_batch(&a)).unwrap();
    store
        .apply(&Batch::new().with(Op::Revocations(id, vec![1, 2, 3])))
        .unwrap();
    {
        let txn = store.db.begin_write().unwrap();
        txn.open_table(COMMITMENT)
            .unwrap()
            .insert(&id.0[..], &b"{not json"[..])
            .unwrap();
        txn.commit().unwrap();
    }
    assert!(matches!(
        store.load_channel(&id),
        Err(StoreError::Corrupt {
            what: "commitment",
            ..
        })
    ));
}

#[test]
fn every_event_kind_round_trips() {
    use bitcoin::hashes::Hash;
    let kinds = vec![
        EventKind::Opened {
            role: crate::channel::Role::Initiator,
            capacity: bitcoin::Amount::from_sat(5),
            funding_txid: bitcoin::Txid::all_zeros(),
        },
        EventKind::FundingBroadcast {
            txid: bitcoin::Txid::all_zeros(),
        },
        EventKind::FundingConfirmed {
            block_height: 7,
            block_hash: bitcoin::BlockHash::all_zeros(),
        },
        EventKind::FundingReorged,
        EventKind::ChannelReadySent,
        EventKind::ChannelReadyReceived,
        EventKind::Ready,
        EventKind::Abandoned { reason: "r".into() },
        EventKind::Note { text: "t".into() },
    ];
    let store = Store::in_memory().unwrap();
    let id = ChannelId([3; 32]);
    for kind in &kinds {
        let event = Event {
            time: 1,
            height: Some(2),
            kind: kind.clone(),
        };
        store
            .apply(&Batch::new().with(Op::Event(id, event)))
            .unwrap();
    }
    let back: Vec<EventKind> = store
        .events(&id)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(back, kinds);
}
