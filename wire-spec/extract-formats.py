#!/usr/bin/env python3
"""Extract message, TLV and subtype formats from BOLT markdown into CSV.

Usage: extract-formats.py BOLT.md > boltNN.csv

Output is the BOLT "extract-formats" layout:
  msgtype,NAME,TYPE
  msgdata,MSG,FIELD,TYPE,COUNT
  tlvtype,STREAM,NAME,TYPE
  tlvdata,STREAM,TLV,FIELD,TYPE,COUNT
  subtype,NAME
  subtypedata,SUBTYPE,FIELD,TYPE,COUNT

COUNT is empty for a single value, a number for a fixed array, a field name for a
length given by an earlier field, and `...` for "the rest of the record".

Two normalisations, both written down so the CSV can be audited against the text:
  * `sha256[..4]` (four-byte truncated hashes in `attribution_data`) becomes type
    `truncated_sha256` so every type name is an identifier.
  * a message whose extension TLV stream is named `<msg>_tlvs` but is not listed as a field
    (e.g. `update_fulfill_htlc`) gets the trailing `msgdata,<msg>,tlvs,<msg>_tlvs,` line,
    because BOLT 1 puts the extension stream after the last field of every message.
Streams named in --skip-streams (test namespaces such as BOLT 1 Appendix B's n1/n2) are left
out, or, with --only-streams, are the only thing written.
"""
import argparse
import re
import sys

MSG = re.compile(r"^1\. type: (\d+) \(`([a-z0-9_]+)`\)")
TLV_STREAM = re.compile(r"^1\. `tlv_stream`: `([a-z0-9_]+)`")
SUBTYPE = re.compile(r"^1\. subtype: `([a-z0-9_]+)`")
TLV_TYPE = re.compile(r"^\s+1\. type: (\d+) \(`([a-z0-9_]+)`\)")
DATA = re.compile(r"^\s*\* \[`([^`]+)`:`([a-z0-9_]+)`\]")


def split_type(t):
    t = t.replace("sha256[..4]", "truncated_sha256")
    if "*" in t:
        count, typ = t.split("*", 1)
        return typ, count
    return t, ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bolt")
    ap.add_argument("--skip-streams", default="")
    ap.add_argument("--only-streams", default="")
    args = ap.parse_args()
    skip = set(filter(None, args.skip_streams.split(",")))
    only = set(filter(None, args.only_streams.split(",")))

    lines = []
    msgs = []  # (name, [field types])
    streams = set()
    cur = None  # ("msg", name) | ("stream", name, tlvname|None) | ("subtype", name)
    expect_data = False
    with open(args.bolt) as f:
        for raw in f:
            line = raw.rstrip("\n")
            m = MSG.match(line)
            if m:
                cur = ("msg", m.group(2))
                msgs.append((m.group(2), []))
                lines.append(("msg", m.group(2), f"msgtype,{m.group(2)},{m.group(1)}"))
                continue
            m = TLV_STREAM.match(line)
            if m:
                cur = ("stream", m.group(1), None)
                streams.add(m.group(1))
                continue
            m = SUBTYPE.match(line)
            if m:
                cur = ("subtype", m.group(1))
                lines.append(("subtype", m.group(1), f"subtype,{m.group(1)}"))
                continue
            if cur and cur[0] == "stream":
                m = TLV_TYPE.match(line)
                if m:
                    cur = ("stream", cur[1], m.group(2))
                    lines.append(("stream", cur[1], f"tlvtype,{cur[1]},{m.group(2)},{m.group(1)}"))
                    continue
            m = DATA.match(line)
            if m and cur:
                typ, count = split_type(m.group(1))
                name = m.group(2)
                if cur[0] == "msg":
                    msgs[-1][1].append(typ)
                    lines.append(("msg", cur[1], f"msgdata,{cur[1]},{name},{typ},{count}"))
                elif cur[0] == "stream" and cur[2]:
                    lines.append(("stream", cur[1], f"tlvdata,{cur[1]},{cur[2]},{name},{typ},{count}"))
                elif cur[0] == "subtype":
                    lines.append(("subtype", cur[1], f"subtypedata,{cur[1]},{name},{typ},{count}"))
                continue
            # A blank line or prose ends nothing by itself: fields are only ever bullet lines
            # under a heading we recognised, and headings reset `cur`.
            if line.startswith("#"):
                cur = None

    # Attach implicit extension streams.
    out = []
    implicit = {}
    for name, types in msgs:
        stream = f"{name}_tlvs"
        if stream in streams and stream not in types:
            implicit[name] = stream
    last_msg_line = {}
    for i, (kind, owner, text) in enumerate(lines):
        if kind == "msg":
            last_msg_line[owner] = i
    for i, (kind, owner, text) in enumerate(lines):
        if only:
            if kind == "stream" and owner in only:
                out.append(text)
            continue
        if kind == "stream" and owner in skip:
            continue
        out.append(text)
        if kind == "msg" and owner in implicit and last_msg_line[owner] == i:
            out.append(f"msgdata,{owner},tlvs,{implicit[owner]},")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
