//! Generates the BOLT 1/2 message codec from the CSV files in `wire-spec/`.
//!
//! Shared by `build.rs` (which writes the Rust codec into `OUT_DIR`) and by the test
//! `tests/wire_spec.rs` (which checks that the committed fuzz targets are exactly what this
//! generator would produce). Nothing here is hand-maintained per message: a new CSV line is a
//! new field everywhere (struct, decoder, encoder, JSON, samples, fuzz target).
//!
//! Input lines (the BOLT "extract-formats" layout):
//!   msgtype,NAME,TYPE
//!   msgdata,MSG,FIELD,TYPE,COUNT
//!   tlvtype,STREAM,NAME,TYPE
//!   tlvdata,STREAM,TLV,FIELD,TYPE,COUNT
//!   subtype,NAME
//!   subtypedata,SUBTYPE,FIELD,TYPE,COUNT
//! COUNT is empty (one value), a number (fixed array), an earlier field's name (its length),
//! or `...` (the rest of the record).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// How many elements a field has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Count {
    One,
    Fixed(usize),
    Field(String),
    Rest,
}

/// One CSV field line.
#[derive(Clone, Debug)]
pub struct RawField {
    pub name: String,
    pub ty: String,
    pub count: Count,
}

/// A `msgtype` and its `msgdata` lines.
#[derive(Clone, Debug)]
pub struct Msg {
    pub name: String,
    pub type_num: u16,
    pub fields: Vec<RawField>,
    /// The CSV file it came from (`bolt01.csv`), for doc links.
    pub source: String,
}

/// A `tlvtype` and its `tlvdata` lines.
#[derive(Clone, Debug)]
pub struct Record {
    pub name: String,
    pub type_num: u64,
    pub fields: Vec<RawField>,
}

/// A TLV stream: every `tlvtype` line that names it.
#[derive(Clone, Debug)]
pub struct Stream {
    pub name: String,
    pub records: Vec<Record>,
    pub source: String,
}

/// A `subtype` and its `subtypedata` lines.
#[derive(Clone, Debug)]
pub struct Subtype {
    pub name: String,
    pub fields: Vec<RawField>,
}

/// Everything the CSV files declare.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    pub msgs: Vec<Msg>,
    pub streams: Vec<Stream>,
    pub subtypes: Vec<Subtype>,
}

fn parse_count(s: &str) -> Count {
    match s {
        "" => Count::One,
        "..." => Count::Rest,
        n if n.chars().all(|c| c.is_ascii_digit()) => Count::Fixed(n.parse().unwrap()),
        f => Count::Field(f.to_string()),
    }
}

impl Spec {
    /// Parses one CSV file into the spec; `source` names it in docs and errors.
    pub fn parse(&mut self, source: &str, text: &str) -> Result<(), String> {
        for (lineno, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = || format!("{source}:{}", lineno + 1);
            let cols: Vec<&str> = line.split(',').collect();
            let want = |n: usize| {
                if cols.len() == n {
                    Ok(())
                } else {
                    Err(format!("{}: expected {n} columns: {line}", at()))
                }
            };
            match cols[0] {
                "msgtype" => {
                    want(3)?;
                    let type_num = cols[2]
                        .parse()
                        .map_err(|_| format!("{}: bad type {}", at(), cols[2]))?;
                    if self
                        .msgs
                        .iter()
                        .any(|m| m.name == cols[1] || m.type_num == type_num)
                    {
                        return Err(format!("{}: duplicate message {line}", at()));
                    }
                    self.msgs.push(Msg {
                        name: cols[1].into(),
                        type_num,
                        fields: vec![],
                        source: source.into(),
                    });
                }
                "msgdata" => {
                    want(5)?;
                    let msg = self
                        .msgs
                        .iter_mut()
                        .find(|m| m.name == cols[1])
                        .ok_or_else(|| format!("{}: msgdata before msgtype {}", at(), cols[1]))?;
                    msg.fields.push(RawField {
                        name: cols[2].into(),
                        ty: cols[3].into(),
                        count: parse_count(cols[4]),
                    });
                }
                "tlvtype" => {
                    want(4)?;
                    let type_num = cols[3]
                        .parse()
                        .map_err(|_| format!("{}: bad tlv type {}", at(), cols[3]))?;
                    let stream = match self.streams.iter_mut().position(|s| s.name == cols[1]) {
                        Some(i) => &mut self.streams[i],
                        None => {
                            self.streams.push(Stream {
                                name: cols[1].into(),
                                records: vec![],
                                source: source.into(),
                            });
                            self.streams.last_mut().unwrap()
                        }
                    };
                    if stream.records.iter().any(|r| r.type_num >= type_num) {
                        return Err(format!("{}: tlv types must increase: {line}", at()));
                    }
                    stream.records.push(Record {
                        name: cols[2].into(),
                        type_num,
                        fields: vec![],
                    });
                }
                "tlvdata" => {
                    want(6)?;
                    let record = self
                        .streams
                        .iter_mut()
                        .find(|s| s.name == cols[1])
                        .and_then(|s| s.records.iter_mut().find(|r| r.name == cols[2]))
                        .ok_or_else(|| format!("{}: tlvdata before tlvtype: {line}", at()))?;
                    record.fields.push(RawField {
                        name: cols[3].into(),
                        ty: cols[4].into(),
                        count: parse_count(cols[5]),
                    });
                }
                "subtype" => {
                    want(2)?;
                    self.subtypes.push(Subtype {
                        name: cols[1].into(),
                        fields: vec![],
                    });
                }
                "subtypedata" => {
                    want(5)?;
                    let sub = self
                        .subtypes
                        .iter_mut()
                        .find(|s| s.name == cols[1])
                        .ok_or_else(|| format!("{}: subtypedata before subtype: {line}", at()))?;
                    sub.fields.push(RawField {
                        name: cols[2].into(),
                        ty: cols[3].into(),
                        count: parse_count(cols[4]),
                    });
                }
                other => return Err(format!("{}: unknown line kind {other}", at())),
            }
        }
        Ok(())
    }
}

/// `open_channel2` -> `OpenChannel2`.
pub fn camel(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

fn ident(name: &str) -> String {
    match name {
        "type" | "match" | "ref" | "fn" | "struct" | "enum" | "mod" | "use" | "in" | "loop" => {
            format!("r#{name}")
        }
        _ => name.to_string(),
    }
}

fn bolt_doc(source: &str) -> &'static str {
    if source.contains("bolt01") {
        "[BOLT #1](https://github.com/lightning/bolts/blob/master/01-messaging.md)"
    } else if source.contains("bolt02") {
        "[BOLT #2](https://github.com/lightning/bolts/blob/master/02-peer-protocol.md)"
    } else {
        "the BOLTs"
    }
}

/// The Rust shape of one stored field.
#[derive(Clone, Debug)]
enum Shape {
    /// A type implementing `Field`, read and written as a whole.
    Field(String),
    /// A truncated integer (`tu16`..`tu64`): the last field of a TLV record.
    Truncated { rust: String, max: usize },
    /// `N*byte`, stored as `[u8; N]`, boxed when large, or a `ChannelId`.
    ByteArray {
        n: usize,
        boxed: bool,
        channel_id: bool,
    },
    /// `len*byte` or `...*byte`: `Vec<u8>`.
    Bytes { len: Option<(String, String)> },
    /// `len*T` or `...*T`: `Vec<T>`.
    Vec {
        elem: String,
        len: Option<(String, String)>,
    },
    /// A TLV stream (the last field of a message).
    Stream(String),
}

/// One field of a message, subtype or record, after length fields are folded away.
#[derive(Clone, Debug)]
struct Planned {
    name: String,
    ty: String,
    count: Count,
    shape: Shape,
    /// Set when this field only carries the length of a later one: (the later field, the
    /// prefix's Rust type).
    length_of: Option<String>,
}

impl Planned {
    fn rust_type(&self) -> String {
        match &self.shape {
            Shape::Field(t) => t.clone(),
            Shape::Truncated { rust, .. } => rust.clone(),
            Shape::ByteArray {
                channel_id: true, ..
            } => "ChannelId".into(),
            Shape::ByteArray { n, boxed: true, .. } => format!("Box<[u8; {n}]>"),
            Shape::ByteArray { n, .. } => format!("[u8; {n}]"),
            Shape::Bytes { .. } => "Vec<u8>".into(),
            Shape::Vec { elem, .. } => format!("Vec<{elem}>"),
            Shape::Stream(s) => camel(s),
        }
    }

    fn wire_type(&self) -> String {
        match &self.count {
            Count::One => self.ty.clone(),
            Count::Fixed(n) => format!("{n}*{}", self.ty),
            Count::Field(f) => format!("{f}*{}", self.ty),
            Count::Rest => format!("...*{}", self.ty),
        }
    }
}

/// Maps a CSV type (plus the field's name, for money and txid types) to a Rust type that
/// implements `Field`, with its minimum encoded size.
fn scalar(spec: &Spec, ty: &str, name: &str) -> Result<(String, usize), String> {
    let money_msat = name.ends_with("_msat");
    let money_sat = name.ends_with("_satoshis") || name == "satoshis" || name == "sats";
    Ok(match ty {
        "byte" | "u8" => ("u8".into(), 1),
        "u16" => ("u16".into(), 2),
        "u32" if name == "feerate_per_kw" || name.ends_with("_perkw") => ("FeeratePerKw".into(), 4),
        "u32" => ("u32".into(), 4),
        "u64" if money_msat => ("Msat".into(), 8),
        "u64" if money_sat => ("Amount".into(), 8),
        "u64" => ("u64".into(), 8),
        "s8" => ("i8".into(), 1),
        "s16" => ("i16".into(), 2),
        "s32" => ("i32".into(), 4),
        "s64" if money_sat => ("SignedAmount".into(), 8),
        "s64" => ("i64".into(), 8),
        "bigsize" => ("BigSize".into(), 1),
        "chain_hash" => ("ChainHash".into(), 32),
        "channel_id" => ("ChannelId".into(), 32),
        "sha256" if name.ends_with("txid") => ("Txid".into(), 32),
        "sha256" => ("Sha256".into(), 32),
        "signature" => ("Signature".into(), 64),
        "point" => ("PublicKey".into(), 33),
        "short_channel_id" => ("ShortChannelId".into(), 8),
        "truncated_sha256" => ("TruncatedSha256".into(), 4),
        sub if spec.subtypes.iter().any(|s| s.name == sub) => (camel(sub), subtype_min(spec, sub)?),
        other => return Err(format!("unknown type `{other}` for field `{name}`")),
    })
}

fn subtype_min(spec: &Spec, name: &str) -> Result<usize, String> {
    let sub = spec.subtypes.iter().find(|s| s.name == name).unwrap();
    let mut min = 0;
    for f in &sub.fields {
        if f.count == Count::One {
            min += scalar(spec, &f.ty, &f.name)?.1;
        } else if let Count::Fixed(n) = f.count {
            min += n * scalar(spec, &f.ty, &f.name)?.1;
        }
    }
    Ok(min)
}

/// Resolves a field list: length fields, shapes, and the rules the codec relies on (a length
/// field counts exactly one later field; `...` and streams come last; truncated integers end
/// a TLV record).
fn plan(
    spec: &Spec,
    owner: &str,
    fields: &[RawField],
    in_record: bool,
) -> Result<Vec<Planned>, String> {
    let mut out = Vec::new();
    let mut length_fields: BTreeMap<String, String> = BTreeMap::new();
    for (i, f) in fields.iter().enumerate() {
        if let Count::Field(len) = &f.count {
            let pos = fields[..i]
                .iter()
                .position(|p| &p.name == len)
                .ok_or_else(|| {
                    format!(
                        "{owner}.{}: length field `{len}` is not an earlier field",
                        f.name
                    )
                })?;
            if length_fields.insert(len.clone(), f.name.clone()).is_some() {
                return Err(format!("{owner}: length field `{len}` counts two fields"));
            }
            if fields[pos].count != Count::One {
                return Err(format!("{owner}: length field `{len}` is an array"));
            }
        }
    }
    for (i, f) in fields.iter().enumerate() {
        let last = i + 1 == fields.len();
        if let Some(target) = length_fields.get(&f.name) {
            let prefix = match f.ty.as_str() {
                "u8" | "byte" => "u8",
                "u16" => "u16",
                "u32" => "u32",
                "u64" => "u64",
                "bigsize" => "bigsize",
                other => return Err(format!("{owner}.{}: length field of type {other}", f.name)),
            };
            out.push(Planned {
                name: f.name.clone(),
                ty: f.ty.clone(),
                count: f.count.clone(),
                shape: Shape::Field(prefix.into()),
                length_of: Some(target.clone()),
            });
            continue;
        }
        let len_of = |len: &String| -> (String, String) {
            let prefix_ty = fields.iter().find(|p| &p.name == len).unwrap().ty.clone();
            (len.clone(), prefix_ty)
        };
        let shape = if spec.streams.iter().any(|s| s.name == f.ty) {
            if !last || in_record {
                return Err(format!(
                    "{owner}.{}: a TLV stream must be a message's last field",
                    f.name
                ));
            }
            Shape::Stream(f.ty.clone())
        } else if f.ty.starts_with("tu") {
            if !in_record || !last || f.count != Count::One {
                return Err(format!(
                    "{owner}.{}: truncated integers must end a TLV record",
                    f.name
                ));
            }
            let (rust, max) = match f.ty.as_str() {
                "tu16" => ("u16", 2),
                "tu32" => ("u32", 4),
                "tu64" => ("u64", 8),
                other => return Err(format!("unknown truncated type {other}")),
            };
            Shape::Truncated {
                rust: rust.into(),
                max,
            }
        } else if f.ty == "byte" {
            match &f.count {
                Count::One => Shape::Field("u8".into()),
                Count::Fixed(n) => Shape::ByteArray {
                    n: *n,
                    boxed: *n > 64,
                    channel_id: *n == 32 && f.name.ends_with("channel_id"),
                },
                Count::Field(len) => Shape::Bytes {
                    len: Some(len_of(len)),
                },
                Count::Rest => {
                    if !last {
                        return Err(format!("{owner}.{}: `...` must be last", f.name));
                    }
                    Shape::Bytes { len: None }
                }
            }
        } else {
            let (rust, min) = scalar(spec, &f.ty, &f.name)?;
            match &f.count {
                Count::One => Shape::Field(rust),
                Count::Fixed(n) if n * min > 128 => Shape::Field(format!("Box<[{rust}; {n}]>")),
                Count::Fixed(n) => Shape::Field(format!("[{rust}; {n}]")),
                Count::Field(len) => Shape::Vec {
                    elem: rust,
                    len: Some(len_of(len)),
                },
                Count::Rest => {
                    if !last {
                        return Err(format!("{owner}.{}: `...` must be last", f.name));
                    }
                    Shape::Vec {
                        elem: rust,
                        len: None,
                    }
                }
            }
        };
        out.push(Planned {
            name: f.name.clone(),
            ty: f.ty.clone(),
            count: f.count.clone(),
            shape,
            length_of: None,
        });
    }
    Ok(out)
}

fn usize_from(prefix_ty: &str, var: &str) -> String {
    match prefix_ty {
        "u8" | "byte" | "u16" => format!("usize::from({var})"),
        _ => format!("usize::try_from({var}).unwrap_or(usize::MAX)"),
    }
}

/// Emits decode code: one `let f_<name> = ...;` per field, reading from `r`.
/// `err` is the closure expression building a DecodeError for a field path.
/// With `msg_expr` `None` (subtypes), reasons propagate unwrapped and the caller adds the
/// location.
fn emit_reads(out: &mut String, fields: &[Planned], msg_expr: Option<&str>, path: &str) {
    for f in fields {
        let var = format!("f_{}", f.name);
        let fpath = if path.is_empty() {
            f.name.clone()
        } else {
            format!("{path}.{}", f.name)
        };
        let ctx = match msg_expr {
            Some(m) => format!(".map_err(|e| DecodeError::new({m}, \"{fpath}\", e))?"),
            None => "?".to_string(),
        };
        let msg_expr = msg_expr.unwrap_or("\"\"");
        if f.length_of.is_some() {
            match f.ty.as_str() {
                "bigsize" => writeln!(out, "        let {var} = read_bigsize(r){ctx};").unwrap(),
                "byte" | "u8" => writeln!(out, "        let {var} = r.u8(){ctx};").unwrap(),
                t => writeln!(out, "        let {var} = r.{t}(){ctx};").unwrap(),
            }
            continue;
        }
        let line = match &f.shape {
            Shape::Field(t) => format!("<{t} as Field>::read(r){ctx}"),
            Shape::Truncated { rust, max } => {
                if rust == "u64" {
                    format!("read_truncated(r.rest(), {max}){ctx}")
                } else {
                    format!("{rust}::try_from(read_truncated(r.rest(), {max}){ctx}).unwrap_or({rust}::MAX)")
                }
            }
            Shape::ByteArray {
                channel_id: true, ..
            } => format!("ChannelId(r.array::<32>(){ctx})"),
            Shape::ByteArray { n, boxed: true, .. } => format!("Box::new(r.array::<{n}>(){ctx})"),
            Shape::ByteArray { n, .. } => format!("r.array::<{n}>(){ctx}"),
            Shape::Bytes {
                len: Some((len, pty)),
            } => {
                format!(
                    "r.take({}){ctx}.to_vec()",
                    usize_from(pty, &format!("f_{len}"))
                )
            }
            Shape::Bytes { len: None } => "r.rest().to_vec()".to_string(),
            Shape::Vec {
                elem,
                len: Some((len, pty)),
            } => {
                format!(
                    "read_vec::<{elem}>(r, {}){ctx}",
                    usize_from(pty, &format!("f_{len}"))
                )
            }
            Shape::Vec { elem, len: None } => format!("read_rest::<{elem}>(r){ctx}"),
            Shape::Stream(s) => format!("{}::read_stream(r, {msg_expr})?", camel(s)),
        };
        writeln!(out, "        let {var} = {line};").unwrap();
    }
}

/// Emits encode code writing each field of `value` (an expression prefix such as `self.` or
/// `v.`) to `out`; returns nothing, may use `?` on EncodeError.
fn emit_writes(
    out: &mut String,
    fields: &[Planned],
    access: &dyn Fn(&str) -> String,
    msg_expr: &str,
) {
    for f in fields {
        if let Some(target) = &f.length_of {
            let target_expr = access(target);
            let (put, bits) = match f.ty.as_str() {
                "u8" | "byte" => ("u8", 8),
                "u16" => ("u16", 16),
                "u32" => ("u32", 32),
                "u64" => ("u64", 64),
                _ => ("bigsize", 64),
            };
            let rust = if put == "bigsize" { "u64" } else { put };
            writeln!(
                out,
                "        let n = {rust}::try_from({target_expr}.len()).map_err(|_| EncodeError::LengthOverflow {{ message: {msg_expr}, field: \"{target}\", len: {target_expr}.len(), prefix_bits: {bits} }})?;"
            )
            .unwrap();
            if put == "bigsize" {
                writeln!(out, "        write_bigsize(out, n);").unwrap();
            } else {
                writeln!(out, "        out.put_{put}(n);").unwrap();
            }
            continue;
        }
        let v = access(&f.name);
        let line = match &f.shape {
            Shape::Field(_) => format!("Field::write(&{v}, out);"),
            Shape::Truncated { .. } => format!("write_truncated(out, u64::from({v}));"),
            Shape::ByteArray {
                channel_id: true, ..
            } => format!("out.put_slice(&{v}.0);"),
            Shape::ByteArray { .. } | Shape::Bytes { .. } => format!("out.put_slice(&{v}[..]);"),
            Shape::Vec { .. } => format!("write_all(&{v}, out);"),
            Shape::Stream(_) => format!("{v}.write_stream(out, {msg_expr})?;"),
        };
        writeln!(out, "        {line}").unwrap();
    }
}

/// An expression for the encoded length of the fields (used for TLV record lengths).
fn len_expr(fields: &[Planned], access: &dyn Fn(&str) -> String) -> String {
    let mut parts = vec!["0usize".to_string()];
    for f in fields {
        if let Some(target) = &f.length_of {
            parts.push(match f.ty.as_str() {
                "u8" | "byte" => "1".into(),
                "u16" => "2".into(),
                "u32" => "4".into(),
                "u64" => "8".into(),
                _ => format!("bigsize_len({}.len() as u64)", access(target)),
            });
            continue;
        }
        let v = access(&f.name);
        parts.push(match &f.shape {
            Shape::Field(_) => format!("Field::encoded_len(&{v})"),
            Shape::Truncated { .. } => format!("truncated_len(u64::from({v}))"),
            Shape::ByteArray { n, .. } => n.to_string(),
            Shape::Bytes { .. } => format!("{v}.len()"),
            Shape::Vec { .. } => format!("len_all(&{v})"),
            Shape::Stream(_) => unreachable!("streams are not inside records"),
        });
    }
    parts.join(" + ")
}

fn emit_json(out: &mut String, fields: &[Planned], access: &dyn Fn(&str) -> String, map: &str) {
    for f in fields {
        let value = if let Some(target) = &f.length_of {
            format!("Value::from({}.len())", access(target))
        } else {
            let v = access(&f.name);
            match &f.shape {
                Shape::Field(_) => format!("Field::to_json(&{v})"),
                Shape::Truncated { .. } => format!("Value::from({v})"),
                Shape::ByteArray {
                    channel_id: true, ..
                } => format!("json_bytes(&{v}.0)"),
                Shape::ByteArray { .. } | Shape::Bytes { .. } => format!("json_bytes(&{v}[..])"),
                Shape::Vec { .. } => format!("json_all(&{v})"),
                Shape::Stream(_) => format!("{v}.to_json()"),
            }
        };
        writeln!(out, "        {map}.insert(\"{}\".into(), {value});", f.name).unwrap();
    }
}

fn sample_expr(f: &Planned) -> String {
    match &f.shape {
        Shape::Field(t) => format!("<{t} as Field>::sample(s)"),
        Shape::Truncated { rust, .. } => format!("<{rust} as Field>::sample(s)"),
        Shape::ByteArray {
            channel_id: true, ..
        } => "ChannelId(s.array::<32>())".into(),
        Shape::ByteArray { n, boxed: true, .. } => format!("Box::new(s.array::<{n}>())"),
        Shape::ByteArray { n, .. } => format!("s.array::<{n}>()"),
        Shape::Bytes { .. } => "{ let n = s.length(); s.bytes(n) }".into(),
        Shape::Vec { elem, .. } => format!("{{ let n = s.length(); sample_vec::<{elem}>(s, n) }}"),
        Shape::Stream(st) => format!("{}::sample(s)", camel(st)),
    }
}

fn emit_struct_fields(out: &mut String, fields: &[Planned]) {
    for f in fields.iter().filter(|f| f.length_of.is_none()) {
        writeln!(out, "    /// `{}` (`{}`).", f.name, f.wire_type()).unwrap();
        writeln!(out, "    pub {}: {},", ident(&f.name), f.rust_type()).unwrap();
    }
}

fn stored_names(fields: &[Planned]) -> Vec<String> {
    fields
        .iter()
        .filter(|f| f.length_of.is_none())
        .map(|f| f.name.clone())
        .collect()
}

fn construct(out: &mut String, ty: &str, fields: &[Planned], indent: &str) {
    writeln!(out, "{indent}{ty} {{").unwrap();
    for name in stored_names(fields) {
        writeln!(out, "{indent}    {}: f_{name},", ident(&name)).unwrap();
    }
    write!(out, "{indent}}}").unwrap();
}

/// How a TLV record's value is stored in its stream struct.
enum RecordKind {
    /// No fields: a `bool`.
    Flag,
    /// One field: `Option<that field's type>`.
    Single(Planned),
    /// Several fields: `Option<a generated struct>`.
    Struct(String, Vec<Planned>),
}

fn record_kind(spec: &Spec, stream: &str, rec: &Record) -> Result<RecordKind, String> {
    let owner = format!("{stream}.{}", rec.name);
    let fields = plan(spec, &owner, &rec.fields, true)?;
    Ok(
        match fields.iter().filter(|f| f.length_of.is_none()).count() {
            0 => RecordKind::Flag,
            1 if fields.len() == 1 => RecordKind::Single(fields[0].clone()),
            _ => RecordKind::Struct(camel(&rec.name), fields),
        },
    )
}

/// Generates the whole codec module body.
pub fn generate(spec: &Spec, test_streams: &[String]) -> Result<String, String> {
    let mut out = String::new();
    writeln!(
        out,
        "// @generated by wire-spec/codegen.rs from wire-spec/*.csv. Do not edit."
    )
    .unwrap();

    // Subtypes.
    for sub in &spec.subtypes {
        let fields = plan(spec, &sub.name, &sub.fields, false)?;
        let ty = camel(&sub.name);
        writeln!(out, "/// Subtype `{}`.", sub.name).unwrap();
        writeln!(
            out,
            "#[derive(Clone, Debug, PartialEq, Eq)]\npub struct {ty} {{"
        )
        .unwrap();
        emit_struct_fields(&mut out, &fields);
        writeln!(out, "}}\n").unwrap();
        let min = subtype_min(spec, &sub.name)?;
        writeln!(
            out,
            "impl Field for {ty} {{\n    const MIN_LEN: usize = {min};"
        )
        .unwrap();
        writeln!(
            out,
            "    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeReason> {{"
        )
        .unwrap();
        // Subtype fields report the subtype's own reason; the caller adds the location.
        let mut reads = String::new();
        emit_reads(&mut reads, &fields, None, "");
        writeln!(out, "{reads}").unwrap();
        construct(&mut out, "        Ok(Self", &fields, "");
        writeln!(out, ")\n    }}").unwrap();
        writeln!(out, "    fn write<B: BufMut>(&self, out: &mut B) {{").unwrap();
        // Subtype lengths are checked by `encode_check` before writing, so here the prefix
        // cannot overflow; write it saturating to stay panic-free.
        for f in &fields {
            if let Some(target) = &f.length_of {
                let rust = match f.ty.as_str() {
                    "u8" | "byte" => "u8",
                    "u16" => "u16",
                    "u32" => "u32",
                    _ => "u64",
                };
                writeln!(out, "        out.put_{rust}({rust}::try_from(self.{}.len()).unwrap_or({rust}::MAX));", ident(target)).unwrap();
            } else {
                let v = format!("self.{}", ident(&f.name));
                let line = match &f.shape {
                    Shape::Field(_) => format!("Field::write(&{v}, out);"),
                    Shape::ByteArray {
                        channel_id: true, ..
                    } => format!("out.put_slice(&{v}.0);"),
                    Shape::ByteArray { .. } | Shape::Bytes { .. } => {
                        format!("out.put_slice(&{v}[..]);")
                    }
                    Shape::Vec { .. } => format!("write_all(&{v}, out);"),
                    _ => return Err(format!("subtype {}: unsupported field", sub.name)),
                };
                writeln!(out, "        {line}").unwrap();
            }
        }
        writeln!(out, "    }}").unwrap();
        let access = |n: &str| format!("self.{}", ident(n));
        writeln!(
            out,
            "    fn encoded_len(&self) -> usize {{\n        {}\n    }}",
            len_expr(&fields, &access)
        )
        .unwrap();
        writeln!(
            out,
            "    fn to_json(&self) -> Value {{\n        let mut m = Map::new();"
        )
        .unwrap();
        emit_json(&mut out, &fields, &access, "m");
        writeln!(out, "        Value::Object(m)\n    }}").unwrap();
        writeln!(out, "    fn sample(s: &mut Sampler) -> Self {{").unwrap();
        for f in fields.iter().filter(|f| f.length_of.is_none()) {
            writeln!(out, "        let f_{} = {};", f.name, sample_expr(f)).unwrap();
        }
        construct(&mut out, "        Self", &fields, "");
        writeln!(out, "\n    }}\n}}\n").unwrap();
        // Length check used by messages before writing.
        writeln!(out, "impl {ty} {{\n    fn encode_check(&self, message: &'static str) -> Result<(), EncodeError> {{").unwrap();
        for f in &fields {
            if let Some(target) = &f.length_of {
                let (rust, bits) = match f.ty.as_str() {
                    "u8" | "byte" => ("u8", 8),
                    "u16" => ("u16", 16),
                    "u32" => ("u32", 32),
                    _ => ("u64", 64),
                };
                writeln!(out, "        {rust}::try_from(self.{t}.len()).map_err(|_| EncodeError::LengthOverflow {{ message, field: \"{}.{target}\", len: self.{t}.len(), prefix_bits: {bits} }})?;", sub.name, t = ident(target)).unwrap();
            }
        }
        writeln!(out, "        Ok(())\n    }}\n}}\n").unwrap();
    }

    // Record structs (deduplicated by name across streams).
    let mut record_structs: BTreeMap<String, String> = BTreeMap::new();
    for stream in &spec.streams {
        for rec in &stream.records {
            if let RecordKind::Struct(ty, fields) = record_kind(spec, &stream.name, rec)? {
                let layout = format!(
                    "{:?}",
                    rec.fields
                        .iter()
                        .map(|f| (&f.name, &f.ty, &f.count))
                        .collect::<Vec<_>>()
                );
                if let Some(existing) = record_structs.get(&ty) {
                    if existing != &layout {
                        return Err(format!(
                            "record struct {ty} defined twice with different fields"
                        ));
                    }
                    continue;
                }
                record_structs.insert(ty.clone(), layout);
                let test_only = test_streams.contains(&stream.name);
                if test_only {
                    writeln!(out, "#[cfg(test)]").unwrap();
                }
                writeln!(
                    out,
                    "/// TLV record `{}` (type {}) of `{}`.",
                    rec.name, rec.type_num, stream.name
                )
                .unwrap();
                writeln!(
                    out,
                    "#[derive(Clone, Debug, PartialEq, Eq)]\npub struct {ty} {{"
                )
                .unwrap();
                emit_struct_fields(&mut out, &fields);
                writeln!(out, "}}\n").unwrap();
            }
        }
    }

    // Streams.
    for stream in &spec.streams {
        let ty = camel(&stream.name);
        let test_only = test_streams.contains(&stream.name);
        let cfg = if test_only { "#[cfg(test)]\n" } else { "" };
        let known: Vec<String> = stream
            .records
            .iter()
            .map(|r| r.type_num.to_string())
            .collect();
        let known = known.join(", ");
        write!(out, "{cfg}").unwrap();
        writeln!(
            out,
            "/// TLV stream `{}` ({}).",
            stream.name,
            bolt_doc(&stream.source)
        )
        .unwrap();
        writeln!(
            out,
            "#[derive(Clone, Debug, Default, PartialEq, Eq)]\npub struct {ty} {{"
        )
        .unwrap();
        let mut kinds = Vec::new();
        for rec in &stream.records {
            let kind = record_kind(spec, &stream.name, rec)?;
            let (rust, what) = match &kind {
                RecordKind::Flag => ("bool".to_string(), "present or not, no value".to_string()),
                RecordKind::Single(f) => (
                    format!("Option<{}>", f.rust_type()),
                    format!("`{}` (`{}`)", f.name, f.wire_type()),
                ),
                RecordKind::Struct(t, _) => (format!("Option<{t}>"), format!("[`{t}`]")),
            };
            writeln!(
                out,
                "    /// Record `{}` (type {}): {what}.",
                rec.name, rec.type_num
            )
            .unwrap();
            writeln!(out, "    pub {}: {rust},", ident(&rec.name)).unwrap();
            kinds.push((rec, kind));
        }
        writeln!(
            out,
            "    /// Odd records this stream does not define, kept for re-encoding."
        )
        .unwrap();
        writeln!(out, "    pub unknown: Vec<UnknownRecord>,\n}}\n").unwrap();

        write!(out, "{cfg}").unwrap();
        if test_only {
            // Test namespaces exercise only part of the stream API.
            writeln!(out, "#[allow(dead_code)]").unwrap();
        }
        writeln!(out, "impl {ty} {{").unwrap();
        writeln!(out, "    /// The record types this stream defines.\n    pub const KNOWN_TYPES: &'static [u64] = &[{known}];").unwrap();
        // read_stream
        writeln!(out, "    pub(crate) fn read_stream(r: &mut Reader<'_>, message: &'static str) -> Result<Self, DecodeError> {{").unwrap();
        writeln!(out, "        let mut stream = TlvReader::new(r.rest());\n        let mut out = Self::default();").unwrap();
        writeln!(out, "        while let Some(record) = stream.next_record().map_err(|e| DecodeError::new(message, \"{}\", e))? {{", stream.name).unwrap();
        writeln!(out, "            match record.type_num {{").unwrap();
        for (rec, kind) in &kinds {
            let rpath = format!("{}.{}", stream.name, rec.name);
            writeln!(out, "                {} => {{\n                    let r = &mut Reader::new(record.value);", rec.type_num).unwrap();
            let body_fields: Vec<Planned> = match kind {
                RecordKind::Flag => vec![],
                RecordKind::Single(f) => vec![f.clone()],
                RecordKind::Struct(_, fs) => fs.clone(),
            };
            let mut reads = String::new();
            emit_reads(&mut reads, &body_fields, Some("message"), &rpath);
            for l in reads.lines() {
                writeln!(out, "            {l}").unwrap();
            }
            writeln!(out, "                    if !r.is_empty() {{ return Err(DecodeError::new(message, \"{rpath}\", DecodeReason::TlvRecordTooLong {{ extra: r.remaining() }})); }}").unwrap();
            let rid = ident(&rec.name);
            match kind {
                RecordKind::Flag => writeln!(out, "                    out.{rid} = true;").unwrap(),
                RecordKind::Single(f) => {
                    writeln!(out, "                    out.{rid} = Some(f_{});", f.name).unwrap()
                }
                RecordKind::Struct(t, fs) => {
                    let mut c = String::new();
                    construct(&mut c, t, fs, "                    ");
                    writeln!(
                        out,
                        "                    out.{rid} = Some({});",
                        c.trim_start()
                    )
                    .unwrap();
                }
            }
            writeln!(out, "                }}").unwrap();
        }
        writeln!(out, "                t if t % 2 == 1 => out.unknown.push(UnknownRecord {{ type_num: t, value: record.value.to_vec() }}),").unwrap();
        writeln!(out, "                t => return Err(DecodeError::new(message, \"{}\", DecodeReason::UnknownEvenTlv(t))),", stream.name).unwrap();
        writeln!(out, "            }}\n        }}\n        Ok(out)\n    }}\n").unwrap();

        // write_stream
        writeln!(out, "    pub(crate) fn write_stream<B: BufMut>(&self, out: &mut B, message: &'static str) -> Result<(), EncodeError> {{").unwrap();
        writeln!(out, "        check_unknown(message, &self.unknown, Self::KNOWN_TYPES)?;\n        let mut next = 0;").unwrap();
        for (rec, kind) in &kinds {
            let rid = ident(&rec.name);
            let t = rec.type_num;
            writeln!(
                out,
                "        write_unknown_below(&self.unknown, &mut next, Some({t}), out);"
            )
            .unwrap();
            match kind {
                RecordKind::Flag => {
                    writeln!(
                        out,
                        "        if self.{rid} {{ write_header(out, {t}, 0); }}"
                    )
                    .unwrap();
                }
                RecordKind::Single(f) => {
                    let access = |_: &str| "(*v)".to_string();
                    let f = std::slice::from_ref(f);
                    writeln!(out, "        if let Some(v) = &self.{rid} {{").unwrap();
                    writeln!(
                        out,
                        "        write_header(out, {t}, {});",
                        len_expr(f, &access)
                    )
                    .unwrap();
                    emit_writes(&mut out, f, &access, "message");
                    writeln!(out, "        }}").unwrap();
                }
                RecordKind::Struct(_, fs) => {
                    let access = |n: &str| format!("v.{}", ident(n));
                    writeln!(out, "        if let Some(v) = &self.{rid} {{").unwrap();
                    writeln!(
                        out,
                        "        write_header(out, {t}, {});",
                        len_expr(fs, &access)
                    )
                    .unwrap();
                    emit_writes(&mut out, fs, &access, "message");
                    writeln!(out, "        }}").unwrap();
                }
            }
        }
        writeln!(out, "        write_unknown_below(&self.unknown, &mut next, None, out);\n        Ok(())\n    }}\n").unwrap();

        // to_json
        writeln!(
            out,
            "    pub(crate) fn to_json(&self) -> Value {{\n        let mut m = Map::new();"
        )
        .unwrap();
        for (rec, kind) in &kinds {
            let rid = ident(&rec.name);
            match kind {
                RecordKind::Flag => writeln!(out, "        if self.{rid} {{ m.insert(\"{}\".into(), Value::Object(Map::new())); }}", rec.name).unwrap(),
                RecordKind::Single(f) => {
                    let access = |_: &str| "(*v)".to_string();
                    writeln!(out, "        if let Some(v) = &self.{rid} {{\n        let mut r = Map::new();").unwrap();
                    emit_json(&mut out, std::slice::from_ref(f), &access, "r");
                    writeln!(out, "        m.insert(\"{}\".into(), Value::Object(r));\n        }}", rec.name).unwrap();
                }
                RecordKind::Struct(_, fs) => {
                    let access = |n: &str| format!("v.{}", ident(n));
                    writeln!(out, "        if let Some(v) = &self.{rid} {{\n        let mut r = Map::new();").unwrap();
                    emit_json(&mut out, fs, &access, "r");
                    writeln!(out, "        m.insert(\"{}\".into(), Value::Object(r));\n        }}", rec.name).unwrap();
                }
            }
        }
        writeln!(out, "        if !self.unknown.is_empty() {{ m.insert(\"unknown\".into(), unknown_json(&self.unknown)); }}").unwrap();
        writeln!(out, "        Value::Object(m)\n    }}\n").unwrap();

        // sample
        writeln!(
            out,
            "    pub(crate) fn sample(s: &mut Sampler) -> Self {{\n        Self {{"
        )
        .unwrap();
        for (rec, kind) in &kinds {
            let rid = ident(&rec.name);
            match kind {
                RecordKind::Flag => writeln!(out, "            {rid}: s.coin(),").unwrap(),
                RecordKind::Single(f) => writeln!(
                    out,
                    "            {rid}: if s.coin() {{ Some({}) }} else {{ None }},",
                    sample_expr(f)
                )
                .unwrap(),
                RecordKind::Struct(t, fs) => {
                    writeln!(out, "            {rid}: if s.coin() {{ Some({t} {{").unwrap();
                    for f in fs.iter().filter(|f| f.length_of.is_none()) {
                        writeln!(
                            out,
                            "                {}: {},",
                            ident(&f.name),
                            sample_expr(f)
                        )
                        .unwrap();
                    }
                    writeln!(out, "            }}) }} else {{ None }},").unwrap();
                }
            }
        }
        writeln!(
            out,
            "            unknown: sample_unknown(s, Self::KNOWN_TYPES),\n        }}\n    }}\n}}\n"
        )
        .unwrap();
    }

    // Messages.
    for msg in &spec.msgs {
        let ty = camel(&msg.name);
        let mut fields = plan(spec, &msg.name, &msg.fields, false)?;
        let has_stream = fields.iter().any(|f| matches!(f.shape, Shape::Stream(_)));
        if !has_stream {
            // BOLT 1: every message may carry an extension TLV stream after its fields.
            fields.push(Planned {
                name: "tlvs".into(),
                ty: "extension".into(),
                count: Count::One,
                shape: Shape::Stream("extension".into()),
                length_of: None,
            });
        }
        writeln!(
            out,
            "/// `{}` (type {}), {}.",
            msg.name,
            msg.type_num,
            bolt_doc(&msg.source)
        )
        .unwrap();
        writeln!(
            out,
            "#[derive(Clone, Debug, PartialEq, Eq)]\npub struct {ty} {{"
        )
        .unwrap();
        emit_struct_fields(&mut out, &fields);
        writeln!(out, "}}\n").unwrap();

        writeln!(out, "impl WireMessage for {ty} {{").unwrap();
        writeln!(
            out,
            "    const TYPE: u16 = {};\n    const NAME: &'static str = \"{}\";",
            msg.type_num, msg.name
        )
        .unwrap();
        writeln!(out, "    fn decode_payload(payload: &[u8]) -> Result<Self, DecodeError> {{\n        let r = &mut Reader::new(payload);").unwrap();
        emit_reads(&mut out, &fields, Some("Self::NAME"), "");
        construct(&mut out, "        Ok(Self", &fields, "");
        writeln!(out, ")\n    }}\n").unwrap();

        writeln!(
            out,
            "    fn encode_payload<B: BufMut>(&self, out: &mut B) -> Result<(), EncodeError> {{"
        )
        .unwrap();
        // Subtype arrays: check their inner length prefixes up front so nothing half-written
        // escapes on error.
        for f in &fields {
            if let Shape::Vec { elem, .. } = &f.shape {
                if spec.subtypes.iter().any(|s| camel(&s.name) == *elem) {
                    writeln!(
                        out,
                        "        for item in &self.{} {{ item.encode_check(Self::NAME)?; }}",
                        ident(&f.name)
                    )
                    .unwrap();
                }
            }
        }
        let access = |n: &str| format!("self.{}", ident(n));
        emit_writes(&mut out, &fields, &access, "Self::NAME");
        writeln!(out, "        Ok(())\n    }}\n").unwrap();

        writeln!(
            out,
            "    fn fields_json(&self) -> Value {{\n        let mut m = Map::new();"
        )
        .unwrap();
        emit_json(&mut out, &fields, &access, "m");
        writeln!(out, "        Value::Object(m)\n    }}\n").unwrap();

        writeln!(out, "    fn sample(s: &mut Sampler) -> Self {{").unwrap();
        for f in fields.iter().filter(|f| f.length_of.is_none()) {
            let expr = match &f.shape {
                Shape::Stream(st) if st == "extension" => "Extension::sample(s)".to_string(),
                _ => sample_expr(f),
            };
            writeln!(out, "        let f_{} = {expr};", f.name).unwrap();
        }
        construct(&mut out, "        Self", &fields, "");
        writeln!(out, "\n    }}\n").unwrap();
        writeln!(
            out,
            "    fn into_message(self) -> Message {{\n        Message::{ty}(self)\n    }}\n}}\n"
        )
        .unwrap();
    }

    // The Message enum.
    writeln!(
        out,
        "/// Every message of BOLT 1 and BOLT 2, plus the ones we do not know."
    )
    .unwrap();
    writeln!(out, "#[derive(Clone, Debug, PartialEq, Eq)]\n#[allow(clippy::large_enum_variant)]\npub enum Message {{").unwrap();
    for msg in &spec.msgs {
        writeln!(
            out,
            "    /// `{}` (type {}).\n    {}({}),",
            msg.name,
            msg.type_num,
            camel(&msg.name),
            camel(&msg.name)
        )
        .unwrap();
    }
    writeln!(out, "    /// A message we do not decode: an odd type we do not know (BOLT 1: \"MUST ignore\"), or a\n    /// BOLT 7 gossip message ([`GOSSIP_MESSAGE_TYPES`]).\n    Unknown(UnknownMessage),\n}}\n").unwrap();

    writeln!(
        out,
        "/// Every known message type and its BOLT name, in CSV order."
    )
    .unwrap();
    writeln!(out, "pub const MESSAGE_TYPES: &[(u16, &str)] = &[").unwrap();
    for msg in &spec.msgs {
        writeln!(out, "    ({}, \"{}\"),", msg.type_num, msg.name).unwrap();
    }
    writeln!(out, "];\n").unwrap();

    writeln!(out, "impl Message {{").unwrap();
    writeln!(
        out,
        "    /// Decodes a message payload given its type (the bytes after the 2-byte type)."
    )
    .unwrap();
    writeln!(out, "    pub fn decode_typed(type_num: u16, payload: &[u8]) -> Result<Message, DecodeError> {{\n        match type_num {{").unwrap();
    for msg in &spec.msgs {
        writeln!(
            out,
            "            {} => {}::decode_payload(payload).map(Message::{}),",
            msg.type_num,
            camel(&msg.name),
            camel(&msg.name)
        )
        .unwrap();
    }
    writeln!(out, "            t if t % 2 == 1 => Ok(Message::Unknown(UnknownMessage {{ type_num: t, payload: payload.to_vec() }})),").unwrap();
    writeln!(out, "            t => Err(DecodeError::new(\"message\", \"type\", DecodeReason::UnknownEvenMessage(t))),\n        }}\n    }}\n").unwrap();

    writeln!(out, "    /// The message's type number.\n    pub fn type_num(&self) -> u16 {{\n        match self {{").unwrap();
    for msg in &spec.msgs {
        writeln!(
            out,
            "            Message::{}(_) => {},",
            camel(&msg.name),
            msg.type_num
        )
        .unwrap();
    }
    writeln!(
        out,
        "            Message::Unknown(m) => m.type_num,\n        }}\n    }}\n"
    )
    .unwrap();

    writeln!(out, "    /// The message's BOLT name (`unknown` for unknown types).\n    pub fn name(&self) -> &'static str {{\n        match self {{").unwrap();
    for msg in &spec.msgs {
        writeln!(
            out,
            "            Message::{}(_) => \"{}\",",
            camel(&msg.name),
            msg.name
        )
        .unwrap();
    }
    writeln!(
        out,
        "            Message::Unknown(_) => \"unknown\",\n        }}\n    }}\n"
    )
    .unwrap();

    writeln!(
        out,
        "    /// Writes the payload (everything after the type)."
    )
    .unwrap();
    writeln!(out, "    pub fn encode_payload<B: BufMut>(&self, out: &mut B) -> Result<(), EncodeError> {{\n        match self {{").unwrap();
    for msg in &spec.msgs {
        writeln!(
            out,
            "            Message::{}(m) => m.encode_payload(out),",
            camel(&msg.name)
        )
        .unwrap();
    }
    writeln!(out, "            Message::Unknown(m) => {{ out.put_slice(&m.payload); Ok(()) }}\n        }}\n    }}\n").unwrap();

    writeln!(out, "    /// The fields as JSON, named as in the BOLT.\n    pub fn fields_json(&self) -> Value {{\n        match self {{").unwrap();
    for msg in &spec.msgs {
        writeln!(
            out,
            "            Message::{}(m) => m.fields_json(),",
            camel(&msg.name)
        )
        .unwrap();
    }
    writeln!(out, "            Message::Unknown(m) => {{ let mut f = Map::new(); f.insert(\"payload\".into(), json_bytes(&m.payload)); Value::Object(f) }}\n        }}\n    }}\n").unwrap();

    writeln!(out, "    /// The `channel_id` the message is about, for messages that carry one (the temporary id\n    /// of channel establishment is not a `channel_id`).").unwrap();
    writeln!(
        out,
        "    pub fn channel_id(&self) -> Option<ChannelId> {{\n        match self {{"
    )
    .unwrap();
    for msg in &spec.msgs {
        if msg
            .fields
            .iter()
            .any(|f| f.name == "channel_id" && f.ty == "channel_id")
        {
            writeln!(
                out,
                "            Message::{}(m) => Some(m.channel_id),",
                camel(&msg.name)
            )
            .unwrap();
        }
    }
    writeln!(out, "            _ => None,\n        }}\n    }}\n").unwrap();

    writeln!(
        out,
        "    /// A pseudo-random instance of the message with type `type_num`, if known."
    )
    .unwrap();
    writeln!(out, "    pub fn sample_of_type(type_num: u16, s: &mut Sampler) -> Option<Message> {{\n        Some(match type_num {{").unwrap();
    for msg in &spec.msgs {
        writeln!(
            out,
            "            {} => Message::{}({}::sample(s)),",
            msg.type_num,
            camel(&msg.name),
            camel(&msg.name)
        )
        .unwrap();
    }
    writeln!(
        out,
        "            _ => return None,\n        }})\n    }}\n}}\n"
    )
    .unwrap();

    // Stream round trips for the TLV fuzz target.
    writeln!(out, "/// Decodes `data` as every TLV stream; each that accepts it must re-encode to the same bytes.").unwrap();
    writeln!(out, "pub(crate) fn stream_roundtrips(data: &[u8]) -> Result<usize, String> {{\n    let mut accepted = 0;").unwrap();
    for stream in spec
        .streams
        .iter()
        .filter(|s| !test_streams.contains(&s.name))
    {
        let ty = camel(&stream.name);
        writeln!(
            out,
            "    if let Ok(s) = {ty}::read_stream(&mut Reader::new(data), \"fuzz\") {{"
        )
        .unwrap();
        writeln!(
            out,
            "        accepted += 1;\n        let mut out = Vec::new();"
        )
        .unwrap();
        writeln!(out, "        s.write_stream(&mut out, \"fuzz\").map_err(|e| format!(\"{ty}: decoded stream does not encode: {{e}}\"))?;").unwrap();
        writeln!(out, "        if out != data {{ return Err(format!(\"{ty}: re-encoding differs\")); }}\n    }}").unwrap();
    }
    writeln!(out, "    Ok(accepted)\n}}\n").unwrap();

    // Generic dispatch for fuzz targets and tests, one entry per message.
    writeln!(out, "/// Calls `$m!(Type)` once per message type; lets tests and fuzz targets cover every message.").unwrap();
    writeln!(
        out,
        "#[macro_export]\nmacro_rules! for_each_message {{\n    ($m:ident) => {{"
    )
    .unwrap();
    for msg in &spec.msgs {
        writeln!(out, "        $m!({});", camel(&msg.name)).unwrap();
    }
    writeln!(out, "    }};\n}}").unwrap();

    Ok(out)
}

/// The file names and contents of the fuzz targets: one per message, plus the TLV stream,
/// "any message", BOLT 4 onion and BOLT 11 invoice targets, in the shape of `fuzz/fuzz_targets/*.rs`.
pub fn fuzz_targets(spec: &Spec) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for msg in &spec.msgs {
        let body = format!(
            "// @generated by wire-spec/codegen.rs (tests/wire_spec.rs checks it). Do not edit.\n\
             //! Fuzzes the `{name}` decoder: whatever decodes must re-encode to bytes that decode\n\
             //! to an equal value.\n\
             #![no_main]\n\
             use libfuzzer_sys::fuzz_target;\n\
             use petrel::wire::{{roundtrip, {ty}}};\n\n\
             fuzz_target!(|data: &[u8]| {{\n    roundtrip::check_payload::<{ty}>(data);\n}});\n",
            name = msg.name,
            ty = camel(&msg.name)
        );
        out.push((format!("msg_{}.rs", msg.name), body));
    }
    out.push((
        "any_message.rs".into(),
        "// @generated by wire-spec/codegen.rs (tests/wire_spec.rs checks it). Do not edit.\n\
         //! Fuzzes `Message::decode` on whole messages (type + payload), known or not.\n\
         #![no_main]\n\
         use libfuzzer_sys::fuzz_target;\n\
         use petrel::wire::roundtrip;\n\n\
         fuzz_target!(|data: &[u8]| {\n    roundtrip::check_message(data);\n});\n"
            .into(),
    ));
    out.push((
        "tlv_stream.rs".into(),
        "// @generated by wire-spec/codegen.rs (tests/wire_spec.rs checks it). Do not edit.\n\
         //! Fuzzes TLV stream parsing on its own (stream rules, unknown records, round trip).\n\
         #![no_main]\n\
         use libfuzzer_sys::fuzz_target;\n\
         use petrel::wire::roundtrip;\n\n\
         fuzz_target!(|data: &[u8]| {\n    roundtrip::check_tlv_stream(data);\n});\n"
            .into(),
    ));
    out.push((
        "invoice_decode.rs".into(),
        "// @generated by wire-spec/codegen.rs (tests/wire_spec.rs checks it). Do not edit.\n\
         //! Fuzzes the BOLT 11 invoice decoder: no panic, and what decodes decodes again the same.\n\
         #![no_main]\n\
         use libfuzzer_sys::fuzz_target;\n\n\
         fuzz_target!(|data: &[u8]| {\n    petrel::invoice::check_decode(data);\n});\n"
            .into(),
    ));
    // BOLT 4 onions: not generated from the CSV, but kept here so the list of targets (and
    // fuzz/Cargo.toml) has one source. The properties live in `petrel::onion::roundtrip`.
    for (name, check, doc) in [
        (
            "onion_peel",
            "check_peel",
            "Fuzzes peeling an onion packet: arbitrary packets, and authenticated packets whose\n\
             //! decrypted `hop_payloads` are the input (past the HMAC check).",
        ),
        (
            "onion_payload",
            "check_payload",
            "Fuzzes the hop payload TLV decoder: accepted payloads re-encode to the input.",
        ),
        (
            "onion_failure",
            "check_failure",
            "Fuzzes failure messages and the origin's decoding of return packets, including\n\
             //! authenticated ones that must be attributed to the right hop.",
        ),
    ] {
        out.push((
            format!("{name}.rs"),
            format!(
                "// @generated by wire-spec/codegen.rs (tests/wire_spec.rs checks it). Do not edit.\n\
                 //! {doc}\n\
                 #![no_main]\n\
                 use libfuzzer_sys::fuzz_target;\n\
                 use petrel::onion::roundtrip;\n\n\
                 fuzz_target!(|data: &[u8]| {{\n    roundtrip::{check}(data);\n}});\n"
            ),
        ));
    }
    out
}

/// The names of every fuzz target, sorted (also the `[[bin]]` list of `fuzz/Cargo.toml`).
pub fn fuzz_target_names(spec: &Spec) -> BTreeSet<String> {
    fuzz_targets(spec)
        .into_iter()
        .map(|(file, _)| file.trim_end_matches(".rs").to_string())
        .collect()
}

/// Reads and parses the CSV files of `dir` that define the protocol (not test namespaces).
pub fn load(dir: &std::path::Path) -> Result<Spec, String> {
    let mut spec = Spec::default();
    for file in ["bolt01.csv", "bolt02.csv"] {
        let text = std::fs::read_to_string(dir.join(file)).map_err(|e| format!("{file}: {e}"))?;
        spec.parse(file, &text)?;
    }
    Ok(spec)
}

/// `fuzz/Cargo.toml`: the cargo-fuzz crate with one `[[bin]]` per target. LDK is kept out on
/// purpose: cargo-fuzz builds every crate with `--cfg fuzzing`, which changes LDK's API.
pub fn fuzz_manifest(spec: &Spec) -> String {
    let mut out = String::from(
        "# @generated by wire-spec/codegen.rs (tests/wire_spec.rs checks it). Do not edit.\n\
         [package]\n\
         name = \"petrel-fuzz\"\n\
         version = \"0.0.0\"\n\
         publish = false\n\
         edition = \"2021\"\n\n\
         [package.metadata]\n\
         cargo-fuzz = true\n\n\
         [dependencies]\n\
         libfuzzer-sys = \"0.4\"\n\
         petrel = { path = \"..\" }\n\n\
         # A workspace of its own, so the fuzz build never touches the main lockfile.\n\
         [workspace]\n\
         members = [\".\"]\n\n\
         [profile.release]\n\
         debug = 1\n",
    );
    for name in fuzz_target_names(spec) {
        out.push_str(&format!(
            "\n[[bin]]\nname = \"{name}\"\npath = \"fuzz_targets/{name}.rs\"\ntest = false\ndoc = false\nbench = false\n"
        ));
    }
    out
}
