//! Store tests: puts, deletes and prefix scans; the event log appends; data survives
//! reopening; the value-byte count. (Channel columns round-trip in `channel/tests`.)

use super::*;
use crate::wire::ChannelId;

fn event(time: u64, text: &str) -> Event {
    Event {
        time,
        height: None,
        kind: EventKind::Note { text: text.into() },
    }
}

#[test]
fn puts_deletes_and_scans_see_one_channels_rows_in_order() {
    let store = Store::in_memory().unwrap();
    let a = ChannelId([1; 32]);
    let b = ChannelId([2; 32]);
    let mut batch = Batch::new();
    for n in [3u64, 1, 2] {
        batch.push(Op::put(
            Table::FeeUpdates,
            key::channel_u64(&a, n),
            vec![n.to_le_bytes()[0]],
        ));
        batch.push(Op::put(
            Table::FeeUpdates,
            key::channel_u64(&b, n),
            vec![0xb0],
        ));
    }
    store.apply(&batch).unwrap();
    let rows = store
        .read(|r| r.scan(Table::FeeUpdates, &key::channel(&a)))
        .unwrap();
    let numbers: Vec<u64> = rows
        .iter()
        .map(|(k, _)| key::suffix_u64(k).unwrap())
        .collect();
    assert_eq!(numbers, [1, 2, 3]);
    assert_eq!(rows[0].1, vec![1]);
    store
        .apply(&Batch::new().with(Op::delete(Table::FeeUpdates, key::channel_u64(&a, 2))))
        .unwrap();
    let rows = store
        .read(|r| r.scan(Table::FeeUpdates, &key::channel(&a)))
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        store
            .read(|r| r.get(Table::FeeUpdates, &key::channel_u64(&b, 3)))
            .unwrap(),
        Some(vec![0xb0])
    );
    // Three one-byte values for each channel, counted once each.
    assert_eq!(store.value_bytes_written(), 6);
}

#[test]
fn events_append_in_order_per_channel() {
    let store = Store::in_memory().unwrap();
    let a = ChannelId([0xaa; 32]);
    let other = ChannelId([0xee; 32]);
    for i in 0..3u64 {
        for id in [a, other] {
            store
                .apply(&Batch::new().with(Op::Event(id, event(10 + i, &format!("{i}")))))
                .unwrap();
        }
    }
    let events = store.events(&a).unwrap();
    let times: Vec<u64> = events.iter().map(|e| e.time).collect();
    assert_eq!(times, [10, 11, 12]);
    assert_eq!(store.events(&other).unwrap().len(), 3);
}

#[test]
fn data_and_channel_indices_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("petrel.redb");
    let id = ChannelId([5; 32]);
    let node_id = bitcoin::secp256k1::SecretKey::from_slice(&[1; 32])
        .unwrap()
        .public_key(&bitcoin::secp256k1::Secp256k1::new());
    {
        let store = Store::open(&path).unwrap();
        assert_eq!(store.allocate_channel_index().unwrap(), 0);
        assert_eq!(store.allocate_channel_index().unwrap(), 1);
        store
            .apply(
                &Batch::new()
                    .with(Op::put_channel(Table::Params, &id, b"{}".to_vec()))
                    .with(Op::SeedRef(id, 1))
                    .with(Op::Peer(PeerRecord {
                        node_id,
                        address: "127.0.0.1:9735".into(),
                    })),
            )
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.allocate_channel_index().unwrap(), 2);
    assert_eq!(store.channel_ids().unwrap(), vec![id]);
    assert_eq!(store.read(|r| r.seed_ref(&id)).unwrap(), Some(1));
    assert_eq!(store.peers().unwrap()[0].address, "127.0.0.1:9735");
}

#[test]
fn a_damaged_value_is_an_error_not_a_panic() {
    let store = Store::in_memory().unwrap();
    let id = ChannelId([3; 32]);
    store
        .apply(&Batch::new().with(Op::put_channel(Table::Status, &id, b"{not json".to_vec())))
        .unwrap();
    let bytes = store
        .read(|r| r.get(Table::Status, &key::channel(&id)))
        .unwrap()
        .unwrap();
    let decoded: Result<String, _> = decode("status", &key::channel(&id), &bytes);
    assert!(matches!(
        decoded,
        Err(StoreError::Corrupt { what: "status", .. })
    ));
}

#[test]
fn every_event_kind_round_trips() {
    use bitcoin::hashes::Hash;
    let kinds = vec![
        EventKind::Opened {
            role: "initiator".into(),
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
