#!/usr/bin/env python3
"""Compare netlens's NFStream-compatible flow statistics with NFStream itself.

For every capture, runs

  * NFStream: NFStreamer(statistical_analysis=True, splt_analysis=N,
    n_dissections=0, n_meters=1, idle/active timeouts as given), and
  * netlens: `netlens flows --features nfstream --splt N --no-tcp-termination
    --no-syn-ack-flip --accounting link` with the same timeouts (and the
    same accounting mode when --accounting is given),

joins the flows by (src_ip, src_port, dst_ip, dst_port, protocol, vlan_id,
bidirectional_first_seen_ms) and compares every statistic column.

Two netlens runs per capture:

  raw  netlens reads the original capture (µs or ns timestamps). NFStream
       truncates every timestamp to whole milliseconds before computing gaps,
       so inter-arrival columns differ by less than the bounds derived below;
       everything else must be equal.
  ms   netlens reads a copy of the capture whose timestamps are truncated to
       whole milliseconds (written to a temporary directory). This removes the
       resolution difference, so every remaining difference is a difference
       in semantics and is listed.

Tolerances ("within" column), all derived, none fitted:
  * integers (counts, sizes, flags, ms timestamps): exact;
  * float mean/stddev of sizes: relative 1e-9 (same Welford recurrence,
    different summation order at most);
  * raw run, piat min/max: |d| < 1 ms (each gap is the difference of two
    timestamps floored to ms, so it is off by less than 1 ms);
  * raw run, piat mean: |d| < 1/(gaps) ms + 1e-6 (the gaps telescope: their
    sum is last - first, off by less than 1 ms in total);
  * raw run, piat stddev: |d| <= sqrt(gaps/(gaps-1)) ms (|sd(x) - sd(y)| <=
    sd(x - y), and each per-gap error lies in (-1, 1));
  * splt arrays: netlens writes only the packets seen, NFStream pads to N
    with -1; netlens's lists are padded the same way before comparing; raw
    run splt_piat_ms elements |d| < 1 ms.

Usage:
  python bench/nfstream/compare.py [--netlens BIN] [--splt 10] [capture ...]
  (default captures: every file in ../shared/data/pcap/nfstream plus a few
  nDPI and labelled attack captures). Writes a Markdown report to stdout.

Only the standard library and nfstream are needed.
"""

import argparse
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
from collections import defaultdict

DIRS = ("bidirectional", "src2dst", "dst2src")
FLAGS = ("syn", "cwr", "ece", "urg", "ack", "psh", "rst", "fin")

# (column, kind)
COLUMNS = [("expiration_id", "int")]
for _d in DIRS:
    COLUMNS += [
        (f"{_d}_first_seen_ms", "int"),
        (f"{_d}_last_seen_ms", "int"),
        (f"{_d}_duration_ms", "int"),
        (f"{_d}_packets", "int"),
        (f"{_d}_bytes", "int"),
    ]
for _d in DIRS:
    COLUMNS += [
        (f"{_d}_min_ps", "int"),
        (f"{_d}_mean_ps", "float"),
        (f"{_d}_stddev_ps", "float"),
        (f"{_d}_max_ps", "int"),
    ]
for _d in DIRS:
    COLUMNS += [
        (f"{_d}_min_piat_ms", "piat_minmax"),
        (f"{_d}_mean_piat_ms", "piat_mean"),
        (f"{_d}_stddev_piat_ms", "piat_std"),
        (f"{_d}_max_piat_ms", "piat_minmax"),
    ]
for _d in DIRS:
    COLUMNS += [(f"{_d}_{_f}_packets", "int") for _f in FLAGS]
COLUMNS += [
    ("splt_direction", "splt_int"),
    ("splt_ps", "splt_int"),
    ("splt_piat_ms", "splt_piat"),
]
# netlens --accounting name -> NFStream accounting_mode
ACCOUNTING = {"link": 0, "ip": 1, "transport": 2, "payload": 3}
NF_ATTRS = [c for c, _ in COLUMNS] + [
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "protocol",
    "vlan_id",
]


def default_captures(data):
    caps = []
    d = os.path.join(data, "pcap/nfstream")
    caps += sorted(os.path.join(d, f) for f in os.listdir(d))
    for rel in (
        "pcap/ndpi/1kxun.pcap",
        "pcap/ndpi/443-chrome.pcap",
        "pcap/ndpi/ipv6_in_gtp.pcap",
        "pcap/ndpi/dns_fragmented.pcap",
        "labeled/attack-pcap/chrissanders/synscan.pcapng",
        "labeled/attack-pcap/esnet/nmap_80_vanilla.pcap",
        "labeled/attack-pcap/lucid-cicddos2019/CIC-DDoS-2019-SynFlood.pcap",
    ):
        p = os.path.join(data, rel)
        if os.path.exists(p):
            caps.append(p)
    return caps


# ---------------------------------------------------------------- ms copies


def truncate_pcap_to_ms(src, dst):
    """Write a copy of a pcap/pcapng file with timestamps floored to whole ms.

    Returns False when the format is not understood (the ms run is skipped).
    Written here because it is a 40-line byte rewrite that must not touch
    anything but the timestamp fields (a pcap library would re-encode).
    """
    with open(src, "rb") as f:
        buf = bytearray(f.read())
    if len(buf) < 24:
        return False
    magic = bytes(buf[:4])
    classic = {
        b"\xd4\xc3\xb2\xa1": ("<", 1_000),
        b"\xa1\xb2\xc3\xd4": (">", 1_000),
        b"\x4d\x3c\xb2\xa1": ("<", 1_000_000),
        b"\xa1\xb2\x3c\x4d": (">", 1_000_000),
    }
    if magic in classic:
        e, per_ms = classic[magic]
        off = 24
        while off + 16 <= len(buf):
            sec, frac, incl, _orig = struct.unpack_from(e + "IIII", buf, off)
            struct.pack_into(e + "I", buf, off + 4, frac - frac % per_ms)
            off += 16 + incl
    elif magic == b"\x0a\x0d\x0d\x0a":
        off, e, resol = 0, "<", []
        while off + 12 <= len(buf):
            btype = struct.unpack_from("<I", buf, off)[0]
            if btype == 0x0A0D0D0A:
                bom = bytes(buf[off + 8 : off + 12])
                e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
                resol = []
            blen = struct.unpack_from(e + "I", buf, off + 4)[0]
            if blen < 12 or off + blen > len(buf):
                break
            if btype == 1:  # IDB: options after 8 bytes of body
                units = 1_000_000  # default if_tsresol = 6
                o = off + 16
                end = off + blen - 4
                while o + 4 <= end:
                    code, olen = struct.unpack_from(e + "HH", buf, o)
                    if code == 0:
                        break
                    if code == 9 and olen >= 1:
                        v = buf[o + 4]
                        units = 10 ** v if v < 0x80 else None  # 2^-n: not handled
                    o += 4 + olen + (-olen % 4)
                resol.append(units)
            elif btype in (2, 6):  # (obsolete) packet block, enhanced packet block
                if btype == 6:
                    iface = struct.unpack_from(e + "I", buf, off + 8)[0]
                else:
                    iface = struct.unpack_from(e + "H", buf, off + 8)[0]
                units = resol[iface] if iface < len(resol) else None
                if units is None or units < 1000:
                    return False
                hi, lo = struct.unpack_from(e + "II", buf, off + 12)
                ts = (hi << 32) | lo
                ts -= ts % (units // 1000)
                struct.pack_into(e + "II", buf, off + 12, ts >> 32, ts & 0xFFFFFFFF)
            off += blen
    else:
        return False
    with open(dst, "wb") as f:
        f.write(buf)
    return True


# ---------------------------------------------------------------- runs


def run_nfstream(cap, a):
    from nfstream import NFStreamer

    s = NFStreamer(
        source=cap,
        decode_tunnels=True,
        statistical_analysis=True,
        splt_analysis=a.splt,
        n_dissections=0,
        n_meters=1,
        idle_timeout=a.idle,
        active_timeout=a.active,
        accounting_mode=ACCOUNTING[a.accounting],
    )
    out = []
    for fl in s:
        out.append({k: getattr(fl, k) for k in NF_ATTRS})
    return out


def run_netlens(cap, a, tmp):
    out = os.path.join(tmp, "nl.jsonl")
    cmd = [
        a.netlens,
        "flows",
        cap,
        "--features",
        "nfstream",
        "--splt",
        str(a.splt),
        *([] if a.netlens_defaults else ["--no-tcp-termination", "--no-syn-ack-flip"]),
        "--accounting",
        a.accounting,
        "--idle-timeout",
        str(a.idle),
        "--active-timeout",
        str(a.active),
        "--format",
        "jsonl",
        "-q",
        "-o",
        out,
    ]
    subprocess.run(cmd, check=True)
    with open(out) as f:
        return [json.loads(line) for line in f if line.strip()]


# ---------------------------------------------------------------- compare


def key(r, swap=False):
    if swap:
        return (r["dst_ip"], r["dst_port"], r["src_ip"], r["src_port"], r["protocol"], r["vlan_id"], r["bidirectional_first_seen_ms"])
    return (r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["protocol"], r["vlan_id"], r["bidirectional_first_seen_ms"])


def join(nf, nl):
    """Pairs (nf, nl) matched on the key; unmatched rows of both; swapped pairs."""
    idx = defaultdict(list)
    for r in nl:
        idx[key(r)].append(r)
    pairs, nf_left = [], []
    for r in nf:
        lst = idx.get(key(r))
        if lst:
            pairs.append((r, lst.pop(0)))
        else:
            nf_left.append(r)
    swapped, nf_rest = [], []
    for r in nf_left:
        lst = idx.get(key(r, swap=True))
        if lst:
            swapped.append((r, lst.pop(0)))
        else:
            nf_rest.append(r)
    # Last resort: same 5-tuple, in order, whatever the VLAN id and first-seen
    # time say; the pair is reported with the fields that differ.
    loose_idx = defaultdict(list)
    for lst in idx.values():
        for r in lst:
            loose_idx[key(r)[:5]].append(r)
    loose, nf_only = [], []
    for r in nf_rest:
        lst = loose_idx.get(key(r)[:5])
        if lst:
            y = lst.pop(0)
            why = [c for c in ("vlan_id", "bidirectional_first_seen_ms") if r[c] != y[c]]
            loose.append((r, y, why))
        else:
            nf_only.append(r)
    nl_only = [r for lst in loose_idx.values() for r in lst]
    return pairs, swapped, loose, nf_only, nl_only


def gaps(r, col):
    d = col.split("_", 1)[0]
    return max(0, int(r[f"{d}_packets"]) - 1)


def pad(xs, n):
    xs = list(xs)[:n]
    return xs + [-1] * (n - len(xs))


def compare_value(kind, col, nfr, nlr, raw, n):
    """Returns (exact, within, absdiff)."""
    a, b = nfr[col], nlr[col]
    if kind in ("splt_int", "splt_piat"):
        a, b = pad(a, n), pad(b, n)
        d = max((abs(x - y) for x, y in zip(a, b)), default=0.0)
        if kind == "splt_int" or not raw:
            return a == b, (a == b) if kind == "splt_int" else d <= 1e-9, float(d)
        # -1 pads must sit at the same places; real gaps within 1 ms
        ok = all((x == -1) == (y == -1) and abs(x - y) < 1.0 for x, y in zip(a, b))
        return a == b, ok, float(d)
    a, b = float(a), float(b)
    d = abs(a - b)
    exact = a == b
    if kind == "int":
        return exact, exact, d
    rel = 1e-9 * max(1.0, abs(a), abs(b))
    if kind == "float" or not raw:
        return exact, d <= rel, d
    g = gaps(nlr, col)
    if kind == "piat_minmax":
        return exact, d < 1.0 + rel, d
    if kind == "piat_mean":
        return exact, d < 1.0 / max(1, g) + 1e-6, d
    # piat_std
    bound = math.sqrt(g / (g - 1)) if g > 1 else 0.0
    return exact, d <= bound + 1e-6, d


def fmt_key(r):
    return f"{r['src_ip']}:{r['src_port']}→{r['dst_ip']}:{r['dst_port']}/{r['protocol']} @{r['bidirectional_first_seen_ms']}"


def same_packets(nfr, nlr):
    return all(int(nfr[f"{d}_packets"]) == int(nlr[f"{d}_packets"]) for d in ("src2dst", "dst2src"))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "../.."))
    data = os.environ.get("NETLENS_SHARED_DATA", os.path.normpath(os.path.join(root, "../shared/data")))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("captures", nargs="*")
    ap.add_argument("--netlens", default=os.path.join(root, "target/release/netlens"))
    ap.add_argument("--splt", type=int, default=10)
    ap.add_argument("--idle", type=int, default=120)
    ap.add_argument("--active", type=int, default=1800)
    ap.add_argument("--accounting", choices=sorted(ACCOUNTING), default="link")
    ap.add_argument(
        "--netlens-defaults",
        action="store_true",
        help="keep netlens's TCP termination and SYN-ACK flip (to count the flows they change)",
    )
    ap.add_argument("--examples", type=int, default=3)
    ap.add_argument("--json", help="also write per-column results as JSON here")
    a = ap.parse_args()
    caps = a.captures or default_captures(data)

    import nfstream

    # per mode: column -> counters
    agg = {m: {c: dict(n=0, exact=0, within=0, maxd=0.0, ex=[]) for c, _ in COLUMNS} for m in ("raw", "ms")}
    capture_rows, flow_examples = [], defaultdict(list)
    for cap in caps:
        name = os.path.relpath(cap, data) if cap.startswith(data) else cap
        try:
            nf = run_nfstream(cap, a)
        except Exception as e:  # a capture NFStream cannot read is reported, not fatal
            capture_rows.append((name, f"NFStream failed: {e}"))
            continue
        with tempfile.TemporaryDirectory(prefix="nfcmp-") as tmp:
            runs = {"raw": run_netlens(cap, a, tmp)}
            msc = os.path.join(tmp, "ms" + os.path.splitext(cap)[1])
            if truncate_pcap_to_ms(cap, msc):
                runs["ms"] = run_netlens(msc, a, tmp)
        row = dict(nf=len(nf))
        for mode, nl in runs.items():
            pairs, swapped, loose, nf_only, nl_only = join(nf, nl)
            for x, y, why in loose:
                cls = "same 5-tuple, different " + " and ".join(why)
                if len(flow_examples[(mode, cls)]) < a.examples:
                    flow_examples[(mode, cls)].append(f"{name}: {fmt_key(x)} " + ", ".join(f"{c} NFStream {x[c]} netlens {y[c]}" for c in why))
            pairs += [(x, y) for x, y, _ in loose]
            same = [(x, y) for x, y in pairs if same_packets(x, y)]
            row[mode] = dict(nl=len(nl), matched=len(pairs), loose=len(loose), same=len(same), swapped=len(swapped), nf_only=len(nf_only), nl_only=len(nl_only))
            for x, y in pairs:
                if not same_packets(x, y) and len(flow_examples[(mode, "packet counts differ")]) < a.examples:
                    flow_examples[(mode, "packet counts differ")].append(f"{name}: {fmt_key(x)} NFStream {x['src2dst_packets']}+{x['dst2src_packets']} vs netlens {y['src2dst_packets']}+{y['dst2src_packets']} packets")
            for x, y in swapped[: a.examples]:
                flow_examples[(mode, "src/dst swapped")].append(f"{name}: NFStream {fmt_key(x)} vs netlens {fmt_key(y)}")
            for x in nf_only[: a.examples]:
                flow_examples[(mode, "NFStream only")].append(f"{name}: {fmt_key(x)} {x['bidirectional_packets']} packets")
            for y in nl_only[: a.examples]:
                flow_examples[(mode, "netlens only")].append(f"{name}: {fmt_key(y)} {y['bidirectional_packets']} packets")
            for x, y in same:
                for col, kind in COLUMNS:
                    exact, within, d = compare_value(kind, col, x, y, mode == "raw", a.splt)
                    s = agg[mode][col]
                    s["n"] += 1
                    s["exact"] += exact
                    s["within"] += within
                    s["maxd"] = max(s["maxd"], d)
                    if not within and len(s["ex"]) < a.examples:
                        s["ex"].append(f"{name}: {fmt_key(x)} NFStream {x[col]} netlens {y[col]}")
        capture_rows.append((name, row))

    print(f"# netlens vs NFStream {nfstream.__version__}: statistics (splt {a.splt}, idle {a.idle} s, active {a.active} s, accounting {a.accounting}{', netlens defaults' if a.netlens_defaults else ''})\n")
    print("## Flows per capture\n")
    print("matched = same 5-tuple, VLAN id and first-seen ms, or else (counted in 'of which loose') the same 5-tuple in order; same = matched with equal packet counts per direction (statistics are compared on these flows).\n")
    print("| capture | NFStream flows | netlens flows | matched | of which loose | same packets | swapped | NFStream only | netlens only | ms run: matched / same |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, row in capture_rows:
        if isinstance(row, str):
            print(f"| {name} | {row} ||||||||")
            continue
        r = row["raw"]
        m = row.get("ms")
        mtxt = f"{m['matched']} / {m['same']}" if m else "n/a"
        print(f"| {name} | {row['nf']} | {r['nl']} | {r['matched']} | {r['loose']} | {r['same']} | {r['swapped']} | {r['nf_only']} | {r['nl_only']} | {mtxt} |")
    tot = defaultdict(int)
    for _, row in capture_rows:
        if not isinstance(row, str):
            tot["nf"] += row["nf"]
            for k, v in row["raw"].items():
                tot[k] += v
    print(f"| **total** | {tot['nf']} | {tot['nl']} | {tot['matched']} | {tot['loose']} | {tot['same']} | {tot['swapped']} | {tot['nf_only']} | {tot['nl_only']} | |")
    for mode in ("raw", "ms"):
        print(f"\n## Columns, {mode} run\n")
        print("| column | flows | exact % | within tolerance % | max abs diff | first mismatches beyond tolerance |")
        print("|---|---|---|---|---|---|")
        for col, _ in COLUMNS:
            s = agg[mode][col]
            if s["n"] == 0:
                continue
            ex = "<br>".join(s["ex"])
            print(f"| {col} | {s['n']} | {100 * s['exact'] / s['n']:.2f} | {100 * s['within'] / s['n']:.2f} | {s['maxd']:.6g} | {ex} |")
    print("\n## Flow-level differences (examples)\n")
    for (mode, cls), exs in sorted(flow_examples.items()):
        print(f"- **{mode} / {cls}**")
        for e in exs[: a.examples * 2]:
            print(f"  - {e}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(captures=capture_rows, columns=agg), f, indent=1, default=str)


if __name__ == "__main__":
    main()
