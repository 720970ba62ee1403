//! What is stored of a channel, column by column: the rows the core writes for each piece of
//! its state (as [`Op`]s for a [`crate::store::Batch`]), their encodings, and loading a
//! channel back. The store keeps bytes; this module is the only one that knows what they
//! mean.
//!
//! | table                 | row                                  | encoding | written when                     |
//! |-----------------------|--------------------------------------|----------|----------------------------------|
//! | `Params`              | [`ChannelParams`]                    | JSON     | once, when funded                |
//! | `Funding`, `Status`, `Close`, `Counters` | their types          | JSON     | rarely                           |
//! | `LocalCommitment`     | [`LocalCommitment`]                  | binary   | each `commitment_signed` received |
//! | `RemoteCommitments`   | [`RemoteCommitments`] (no points)    | binary   | each `commitment_signed` sent, each `revoke_and_ack` received |
//! | `RemotePoints`        | the peer's point, by number          | 33 bytes | each `revoke_and_ack` received   |
//! | `LedgerBase`          | [`Base`]                             | binary   | when HTLCs or fees fold          |
//! | `FeeUpdates`          | [`FeeUpdate`], by sequence number    | binary   | with the commitment including it |
//! | `Htlcs`               | an HTLC's fixed part and onion       | binary   | once                             |
//! | `HtlcStates`          | a live HTLC's removal                | binary   | with each commitment changing it; deleted when folded |
//! | `HtlcSpans`           | the peer commitments holding an HTLC | binary   | when it enters and leaves them   |
//! | `Secrets`             | one shachain bucket                  | binary   | each `revoke_and_ack` received   |
//! | `RevocationLog`       | [`RevokedState`], by number          | binary   | each `revoke_and_ack` received   |

use bitcoin::secp256k1::PublicKey;
use bitcoin::Amount;

use super::encoding::{EncodingError, Reader, Writer};
use super::ledger::{
    Base, FeeUpdate, HtlcKey, HtlcRecord, Ledger, Party, Position, Removal, Resolution, Update,
    ONION_LEN,
};
use super::state::{LocalCommitment, RemoteCommitment, RemoteCommitments};
use super::{ChannelParams, ChannelStatus, CloseState, CommitmentState, FundingState, Role};
use crate::keys::SecretStore;
use crate::store::{self, key, Counters, Op, Store, StoreError, Table};
use crate::tx::{PaymentHash, PaymentPreimage};
use crate::units::{FeeratePerKw, Msat};
use crate::watch::WatchState;
use crate::wire::ChannelId;

/// Everything stored about one channel, read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredChannel {
    /// Static parameters.
    pub params: ChannelParams,
    /// Funding state.
    pub funding: FundingState,
    /// Commitments, ledger and the peer's secrets.
    pub commitment: CommitmentState,
    /// Stage of life.
    pub status: ChannelStatus,
    /// Statistics.
    pub counters: Counters,
    /// The mutual-close negotiation (default: none started).
    pub close: CloseState,
    /// The chain watcher's progress, once it has seen anything.
    pub watch: Option<WatchState>,
}

/// What a justice transaction needs of one revoked commitment of the peer's: where its
/// outputs are (the transaction itself is on chain when it matters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedState {
    /// The commitment number.
    pub number: u64,
    /// The peer's `to_local` output: index and amount, unless trimmed.
    pub to_local: Option<(u32, Amount)>,
    /// Each untrimmed HTLC output: index, and the HTLC (in [`Table::Htlcs`]).
    pub htlcs: Vec<(u32, HtlcKey)>,
}

// --- encodings -----------------------------------------------------------------------------

fn party_tag(p: Party) -> u8 {
    match p {
        Party::Local => 0,
        Party::Remote => 1,
    }
}

fn party_of(tag: u8) -> Result<Party, EncodingError> {
    match tag {
        0 => Ok(Party::Local),
        1 => Ok(Party::Remote),
        _ => Err(EncodingError::Invalid("party")),
    }
}

fn htlc_key(id: &ChannelId, k: HtlcKey) -> Vec<u8> {
    key::channel_tagged(id, party_tag(k.offerer), k.id)
}

fn write_pos(w: &mut Writer, p: Position) {
    w.varint(p.local).varint(p.remote);
}

fn read_pos(r: &mut Reader<'_>) -> Result<Position, EncodingError> {
    Ok(Position {
        local: r.varint()?,
        remote: r.varint()?,
    })
}

fn encode_local(c: &LocalCommitment) -> Vec<u8> {
    let mut w = Writer::new();
    w.varint(c.number);
    write_pos(&mut w, c.pos);
    w.varint(c.next_remote_id)
        .varint(c.revoked_while_awaiting.map_or(0, |n| n + 1))
        .signature(&c.signature)
        .varint(c.htlc_signatures.len() as u64);
    for sig in &c.htlc_signatures {
        w.signature(sig);
    }
    w.finish()
}

fn decode_local(bytes: &[u8]) -> Result<LocalCommitment, EncodingError> {
    let mut r = Reader::new(bytes);
    let number = r.varint()?;
    let pos = read_pos(&mut r)?;
    let next_remote_id = r.varint()?;
    let revoked_while_awaiting = r.varint()?.checked_sub(1);
    let signature = r.signature()?;
    let n = r.varint()?;
    let mut htlc_signatures = Vec::new();
    for _ in 0..n {
        htlc_signatures.push(r.signature()?);
    }
    r.end()?;
    Ok(LocalCommitment {
        number,
        pos,
        next_remote_id,
        revoked_while_awaiting,
        signature,
        htlc_signatures,
    })
}

fn write_remote(w: &mut Writer, c: &RemoteCommitment) {
    w.varint(c.number);
    write_pos(w, c.pos);
    w.varint(c.next_local_id);
}

fn read_remote(r: &mut Reader<'_>) -> Result<RemoteCommitment, EncodingError> {
    Ok(RemoteCommitment {
        number: r.varint()?,
        pos: read_pos(r)?,
        next_local_id: r.varint()?,
    })
}

fn encode_remotes(c: &RemoteCommitments) -> Vec<u8> {
    let mut w = Writer::new();
    write_remote(&mut w, &c.current);
    match &c.pending {
        Some(p) => {
            w.byte(1);
            write_remote(&mut w, p);
        }
        None => {
            w.byte(0);
        }
    }
    w.finish()
}

fn encode_base(b: &Base) -> Vec<u8> {
    Writer::new()
        .varint(b.ours.0)
        .varint(b.theirs.0)
        .varint(u64::from(b.feerate.0))
        .finish()
}

fn decode_base(bytes: &[u8]) -> Result<Base, EncodingError> {
    let mut r = Reader::new(bytes);
    let base = Base {
        ours: Msat(r.varint()?),
        theirs: Msat(r.varint()?),
        feerate: FeeratePerKw(r.varint_u32()?),
    };
    r.end()?;
    Ok(base)
}

fn encode_htlc_fixed(h: &HtlcRecord) -> Vec<u8> {
    let mut w = Writer::new();
    w.varint(h.amount.0)
        .bytes(&h.payment_hash.0)
        .varint(u64::from(h.cltv_expiry))
        .varint(h.add_seq);
    match &h.path_key {
        Some(p) => {
            w.byte(1).point(p);
        }
        None => {
            w.byte(0);
        }
    }
    w.bytes(&h.onion[..]);
    w.finish()
}

fn encode_removal(removal: Option<&Removal>) -> Vec<u8> {
    let mut w = Writer::new();
    match removal {
        None => {
            w.byte(0);
        }
        Some(r) => match &r.resolution {
            Resolution::Fulfilled { preimage } => {
                w.byte(1).varint(r.seq).bytes(&preimage.0);
            }
            Resolution::Failed { reason } => {
                w.byte(2).varint(r.seq).blob(reason);
            }
            Resolution::Malformed {
                sha256_of_onion,
                failure_code,
            } => {
                w.byte(3)
                    .varint(r.seq)
                    .bytes(sha256_of_onion)
                    .varint(u64::from(*failure_code));
            }
        },
    }
    w.finish()
}

fn decode_removal(bytes: &[u8]) -> Result<Option<Removal>, EncodingError> {
    let mut r = Reader::new(bytes);
    let kind = r.byte()?;
    let removal = if kind == 0 {
        None
    } else {
        let seq = r.varint()?;
        let resolution = match kind {
            1 => Resolution::Fulfilled {
                preimage: PaymentPreimage(r.array()?),
            },
            2 => Resolution::Failed { reason: r.blob()? },
            3 => Resolution::Malformed {
                sha256_of_onion: r.array()?,
                failure_code: u16::try_from(r.varint()?)
                    .map_err(|_| EncodingError::Invalid("failure code"))?,
            },
            _ => return Err(EncodingError::Invalid("removal")),
        };
        Some(Removal { seq, resolution })
    };
    r.end()?;
    Ok(removal)
}

fn encode_span(h: &HtlcRecord) -> Vec<u8> {
    // Plus one, so that 0 is "none".
    Writer::new()
        .varint(h.remote_first.map_or(0, |n| n + 1))
        .varint(h.remote_last.map_or(0, |n| n + 1))
        .finish()
}

fn decode_span(bytes: &[u8]) -> Result<(Option<u64>, Option<u64>), EncodingError> {
    let mut r = Reader::new(bytes);
    let first = r.varint()?.checked_sub(1);
    let last = r.varint()?.checked_sub(1);
    r.end()?;
    Ok((first, last))
}

fn decode_htlc(
    key: HtlcKey,
    fixed: &[u8],
    removal: Option<Removal>,
    span: (Option<u64>, Option<u64>),
) -> Result<HtlcRecord, EncodingError> {
    let mut r = Reader::new(fixed);
    let amount = Msat(r.varint()?);
    let payment_hash = PaymentHash(r.array()?);
    let cltv_expiry = r.varint_u32()?;
    let add_seq = r.varint()?;
    let path_key = match r.byte()? {
        0 => None,
        1 => Some(r.point()?),
        _ => return Err(EncodingError::Invalid("path key flag")),
    };
    let onion: [u8; ONION_LEN] = r.array()?;
    r.end()?;
    Ok(HtlcRecord {
        key,
        amount,
        payment_hash,
        cltv_expiry,
        onion: Box::new(onion),
        path_key,
        add_seq,
        removal,
        remote_first: span.0,
        remote_last: span.1,
    })
}

fn encode_revoked(s: &RevokedState) -> Vec<u8> {
    let mut w = Writer::new();
    match s.to_local {
        Some((vout, amount)) => {
            w.byte(1).varint(u64::from(vout)).varint(amount.to_sat());
        }
        None => {
            w.byte(0);
        }
    }
    w.varint(s.htlcs.len() as u64);
    for (vout, k) in &s.htlcs {
        w.varint(u64::from(*vout))
            .byte(party_tag(k.offerer))
            .varint(k.id);
    }
    w.finish()
}

fn decode_revoked(number: u64, bytes: &[u8]) -> Result<RevokedState, EncodingError> {
    let mut r = Reader::new(bytes);
    let to_local = match r.byte()? {
        0 => None,
        1 => Some((r.varint_u32()?, Amount::from_sat(r.varint()?))),
        _ => return Err(EncodingError::Invalid("to_local flag")),
    };
    let n = r.varint()?;
    let mut htlcs = Vec::new();
    for _ in 0..n {
        let vout = r.varint_u32()?;
        let offerer = party_of(r.byte()?)?;
        htlcs.push((
            vout,
            HtlcKey {
                offerer,
                id: r.varint()?,
            },
        ));
    }
    r.end()?;
    Ok(RevokedState {
        number,
        to_local,
        htlcs,
    })
}

// --- rows ------------------------------------------------------------------------------------

/// The rows of a newly funded channel: parameters, seed reference, funding, status and its
/// initial commitment state.
pub fn new_channel(
    params: &ChannelParams,
    funding: &FundingState,
    commitment: &CommitmentState,
) -> Vec<Op> {
    let id = &params.channel_id;
    let mut ops = vec![
        Op::put_json(Table::Params, id, params),
        Op::SeedRef(*id, params.channel_index),
        funding_row(id, funding),
        status_row(id, ChannelStatus::Pending),
        local_commitment_row(id, &commitment.local),
        remote_commitments_row(id, &commitment.remote),
        remote_point_row(
            id,
            commitment.remote.current.number,
            &commitment.remote.current_point,
        ),
        base_row(id, &commitment.ledger.base),
    ];
    if let Some(next) = &commitment.remote.next_point {
        ops.push(remote_point_row(
            id,
            commitment.remote.current.number + 1,
            next,
        ));
    }
    ops
}

/// The funding column.
pub fn funding_row(id: &ChannelId, funding: &FundingState) -> Op {
    Op::put_json(Table::Funding, id, funding)
}

/// The status column.
pub fn status_row(id: &ChannelId, status: ChannelStatus) -> Op {
    Op::put_json(Table::Status, id, &status)
}

/// The mutual-close column.
pub fn close_row(id: &ChannelId, close: &CloseState) -> Op {
    Op::put_json(Table::Close, id, close)
}

/// The counters column.
pub fn counters_row(id: &ChannelId, counters: &Counters) -> Op {
    Op::put_json(Table::Counters, id, counters)
}

/// Our current commitment.
pub fn local_commitment_row(id: &ChannelId, local: &LocalCommitment) -> Op {
    Op::put_channel(Table::LocalCommitment, id, encode_local(local))
}

/// The peer's commitments (their points go in [`remote_point_row`]s).
pub fn remote_commitments_row(id: &ChannelId, remote: &RemoteCommitments) -> Op {
    Op::put_channel(Table::RemoteCommitments, id, encode_remotes(remote))
}

/// The peer's per-commitment point for commitment `number`.
pub fn remote_point_row(id: &ChannelId, number: u64, point: &PublicKey) -> Op {
    Op::put(
        Table::RemotePoints,
        key::channel_u64(id, number),
        point.serialize().to_vec(),
    )
}

/// Forgets the peer's point for commitment `number` (revoked: its secret is in the
/// shachain).
pub fn delete_remote_point(id: &ChannelId, number: u64) -> Op {
    Op::delete(Table::RemotePoints, key::channel_u64(id, number))
}

/// The ledger's folded base.
pub fn base_row(id: &ChannelId, base: &Base) -> Op {
    Op::put_channel(Table::LedgerBase, id, encode_base(base))
}

/// A live fee update.
pub fn fee_update_row(id: &ChannelId, fee: &FeeUpdate) -> Op {
    Op::put(
        Table::FeeUpdates,
        key::channel_u64(id, fee.seq),
        Writer::new().varint(u64::from(fee.feerate.0)).finish(),
    )
}

/// Forgets a folded fee update.
pub fn delete_fee_update(id: &ChannelId, seq: u64) -> Op {
    Op::delete(Table::FeeUpdates, key::channel_u64(id, seq))
}

/// A new HTLC: its fixed part (once) and its live state. Its span is written when it
/// enters a commitment of the peer's ([`htlc_span_row`]); none reads as "in none yet".
pub fn new_htlc_rows(id: &ChannelId, h: &HtlcRecord) -> [Op; 2] {
    [
        Op::put(Table::Htlcs, htlc_key(id, h.key), encode_htlc_fixed(h)),
        htlc_state_row(id, h),
    ]
}

/// The rows of a party's updates as a commitment takes them: each new HTLC's rows, each
/// removal's new state, each fee update.
pub fn update_rows(id: &ChannelId, updates: &[(u64, Update<'_>)]) -> Vec<Op> {
    let mut ops = Vec::new();
    for (_, update) in updates {
        match update {
            Update::Add(h) => ops.extend(new_htlc_rows(id, h)),
            Update::Removal(h) => ops.push(htlc_state_row(id, h)),
            Update::Fee(f) => ops.push(fee_update_row(id, f)),
        }
    }
    ops
}

/// A live HTLC's removal.
pub fn htlc_state_row(id: &ChannelId, h: &HtlcRecord) -> Op {
    Op::put(
        Table::HtlcStates,
        htlc_key(id, h.key),
        encode_removal(h.removal.as_ref()),
    )
}

/// The peer commitments an HTLC is in.
pub fn htlc_span_row(id: &ChannelId, h: &HtlcRecord) -> Op {
    Op::put(Table::HtlcSpans, htlc_key(id, h.key), encode_span(h))
}

/// A folded HTLC leaves the live set (its fixed part and span stay for the revocation log).
pub fn delete_htlc_state(id: &ChannelId, k: HtlcKey) -> Op {
    Op::delete(Table::HtlcStates, htlc_key(id, k))
}

/// One shachain bucket.
pub fn secret_row(id: &ChannelId, bucket: usize, index: u64, secret: &[u8; 32]) -> Op {
    Op::put(
        Table::Secrets,
        key::channel_tagged(id, 0, bucket as u64),
        Writer::new().varint(index).bytes(secret).finish(),
    )
}

/// The revocation log entry of a revoked state of the peer's.
pub fn revoked_state_row(id: &ChannelId, state: &RevokedState) -> Op {
    Op::put(
        Table::RevocationLog,
        key::channel_u64(id, state.number),
        encode_revoked(state),
    )
}

// --- loading -------------------------------------------------------------------------------

fn corrupt(what: &'static str, id: &ChannelId, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what,
        key: id.to_string(),
        reason: reason.to_string(),
    }
}

fn required(
    r: &store::Reader,
    table: Table,
    id: &ChannelId,
    what: &'static str,
) -> Result<Vec<u8>, StoreError> {
    r.get(table, &key::channel(id))?
        .ok_or_else(|| corrupt(what, id, "missing"))
}

fn load_commitment(
    r: &store::Reader,
    id: &ChannelId,
    funder: Party,
) -> Result<CommitmentState, StoreError> {
    let bytes = required(r, Table::LocalCommitment, id, "local commitment")?;
    let local = decode_local(&bytes).map_err(|e| corrupt("local commitment", id, e))?;
    let bytes = required(r, Table::RemoteCommitments, id, "remote commitments")?;
    let (current, pending) = {
        let mut rd = Reader::new(&bytes);
        let parse = |rd: &mut Reader<'_>| -> Result<_, EncodingError> {
            let current = read_remote(rd)?;
            let pending = match rd.byte()? {
                0 => None,
                1 => Some(read_remote(rd)?),
                _ => return Err(EncodingError::Invalid("pending flag")),
            };
            rd.end()?;
            Ok((current, pending))
        };
        parse(&mut rd).map_err(|e| corrupt("remote commitments", id, e))?
    };
    let mut points = std::collections::BTreeMap::new();
    for (k, v) in r.scan(Table::RemotePoints, &key::channel(id))? {
        let number = key::suffix_u64(&k).ok_or_else(|| corrupt("remote point", id, "key"))?;
        let point = PublicKey::from_slice(&v).map_err(|e| corrupt("remote point", id, e))?;
        points.insert(number, point);
    }
    let current_point = *points
        .get(&current.number)
        .ok_or_else(|| corrupt("remote point", id, "current point missing"))?;
    let next_point = points.get(&(current.number + 1)).copied();
    let base = decode_base(&required(r, Table::LedgerBase, id, "ledger base")?)
        .map_err(|e| corrupt("ledger base", id, e))?;
    let mut ledger = Ledger::new(funder, base);
    for (k, v) in r.scan(Table::FeeUpdates, &key::channel(id))? {
        let seq = key::suffix_u64(&k).ok_or_else(|| corrupt("fee update", id, "key"))?;
        let mut rd = Reader::new(&v);
        let feerate = FeeratePerKw(rd.varint_u32().map_err(|e| corrupt("fee update", id, e))?);
        ledger.fees.push(FeeUpdate { seq, feerate });
    }
    for (k, v) in r.scan(Table::HtlcStates, &key::channel(id))? {
        let offerer = key::tag(&k)
            .ok_or(EncodingError::Truncated)
            .and_then(party_of)
            .map_err(|e| corrupt("htlc key", id, e))?;
        let htlc_id = key::suffix_u64(&k).ok_or_else(|| corrupt("htlc key", id, "key"))?;
        let hk = HtlcKey {
            offerer,
            id: htlc_id,
        };
        let removal = decode_removal(&v).map_err(|e| corrupt("htlc state", id, e))?;
        let fixed = r
            .get(Table::Htlcs, &k)?
            .ok_or_else(|| corrupt("htlc", id, "missing"))?;
        let span = match r.get(Table::HtlcSpans, &k)? {
            Some(bytes) => decode_span(&bytes).map_err(|e| corrupt("htlc span", id, e))?,
            None => (None, None),
        };
        let record = decode_htlc(hk, &fixed, removal, span).map_err(|e| corrupt("htlc", id, e))?;
        ledger.htlcs.insert(hk, record);
    }
    let latest = pending.unwrap_or(current);
    ledger.next_seq = Position {
        local: latest.pos.local.max(local.pos.local),
        remote: local.pos.remote,
    };
    ledger.next_id = Position {
        local: latest.next_local_id,
        remote: local.next_remote_id,
    };
    let mut entries = Vec::new();
    for (k, v) in r.scan(Table::Secrets, &key::channel(id))? {
        let bucket = key::suffix_u64(&k)
            .and_then(|b| usize::try_from(b).ok())
            .ok_or_else(|| corrupt("secret", id, "key"))?;
        let mut rd = Reader::new(&v);
        let parsed = (|| -> Result<_, EncodingError> {
            let index = rd.varint()?;
            let secret: [u8; 32] = rd.array()?;
            rd.end()?;
            Ok((bucket, index, secret))
        })()
        .map_err(|e| corrupt("secret", id, e))?;
        entries.push(parsed);
    }
    let their_secrets =
        SecretStore::from_entries(&entries).map_err(|e| corrupt("secrets", id, e))?;
    Ok(CommitmentState {
        local,
        remote: RemoteCommitments {
            current,
            pending,
            current_point,
            next_point,
        },
        ledger,
        their_secrets,
    })
}

fn load_from(r: &store::Reader, id: &ChannelId) -> Result<Option<StoredChannel>, StoreError> {
    let key = key::channel(id);
    let Some(params) = r.get(Table::Params, &key)? else {
        return Ok(None);
    };
    let params: ChannelParams = store::decode("params", &key, &params)?;
    let funder = match params.role {
        Role::Initiator => Party::Local,
        Role::Responder => Party::Remote,
    };
    let commitment = load_commitment(r, id, funder)?;
    Ok(Some(StoredChannel {
        funding: store::decode(
            "funding",
            &key,
            &required(r, Table::Funding, id, "funding")?,
        )?,
        status: store::decode("status", &key, &required(r, Table::Status, id, "status")?)?,
        counters: match r.get(Table::Counters, &key)? {
            Some(bytes) => store::decode("counters", &key, &bytes)?,
            None => Counters::default(),
        },
        close: match r.get(Table::Close, &key)? {
            Some(bytes) => store::decode("close", &key, &bytes)?,
            None => CloseState::default(),
        },
        watch: match r.get(Table::Watch, &key)? {
            Some(bytes) => Some(store::decode("watch", &key, &bytes)?),
            None => None,
        },
        params,
        commitment,
    }))
}

/// Reads one channel back, all columns, in one consistent read.
pub fn load(store: &Store, id: &ChannelId) -> Result<Option<StoredChannel>, StoreError> {
    store.read(|r| load_from(r, id))
}

/// Every stored channel.
pub fn load_all(store: &Store) -> Result<Vec<StoredChannel>, StoreError> {
    let ids = store.channel_ids()?;
    store.read(|r| {
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(channel) = load_from(r, id)? {
                out.push(channel);
            }
        }
        Ok(out)
    })
}

/// The revocation log entry of the peer's commitment `number`, if that state was revoked.
pub fn revoked_state(
    store: &Store,
    id: &ChannelId,
    number: u64,
) -> Result<Option<RevokedState>, StoreError> {
    store.read(|r| {
        r.get(Table::RevocationLog, &key::channel_u64(id, number))?
            .map(|bytes| {
                decode_revoked(number, &bytes).map_err(|e| corrupt("revocation log", id, e))
            })
            .transpose()
    })
}

/// An HTLC the channel carried, live or folded (for the revocation log's references).
pub fn stored_htlc(
    store: &Store,
    id: &ChannelId,
    k: HtlcKey,
) -> Result<Option<HtlcRecord>, StoreError> {
    store.read(|r| {
        let row = htlc_key(id, k);
        let Some(fixed) = r.get(Table::Htlcs, &row)? else {
            return Ok(None);
        };
        let removal = match r.get(Table::HtlcStates, &row)? {
            Some(bytes) => decode_removal(&bytes).map_err(|e| corrupt("htlc state", id, e))?,
            None => None,
        };
        let span = match r.get(Table::HtlcSpans, &row)? {
            Some(bytes) => decode_span(&bytes).map_err(|e| corrupt("htlc span", id, e))?,
            None => (None, None),
        };
        decode_htlc(k, &fixed, removal, span)
            .map(Some)
            .map_err(|e| corrupt("htlc", id, e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoked_states_and_removals_round_trip() {
        let state = RevokedState {
            number: 7,
            to_local: Some((2, Amount::from_sat(123_456))),
            htlcs: vec![
                (
                    0,
                    HtlcKey {
                        offerer: Party::Local,
                        id: 3,
                    },
                ),
                (
                    1,
                    HtlcKey {
                        offerer: Party::Remote,
                        id: 300,
                    },
                ),
            ],
        };
        assert_eq!(decode_revoked(7, &encode_revoked(&state)), Ok(state));
        for removal in [
            None,
            Some(Removal {
                seq: 9,
                resolution: Resolution::Fulfilled {
                    preimage: PaymentPreimage([4; 32]),
                },
            }),
            Some(Removal {
                seq: 10,
                resolution: Resolution::Failed {
                    reason: vec![1; 300],
                },
            }),
            Some(Removal {
                seq: 11,
                resolution: Resolution::Malformed {
                    sha256_of_onion: [5; 32],
                    failure_code: 0x8000 | 0x4000 | 5,
                },
            }),
        ] {
            assert_eq!(
                decode_removal(&encode_removal(removal.as_ref())),
                Ok(removal)
            );
        }
        assert!(decode_removal(&[9]).is_err());
        assert!(decode_revoked(1, &[1, 0x80]).is_err());
    }
}
