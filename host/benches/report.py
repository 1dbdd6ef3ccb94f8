#!/usr/bin/env python3
"""Merge the bench binaries' rows into latest.json, latest.md and latest.svg.

Each bench binary in host/benches appends its rows, one JSON object a line, to
<rows>/<bench>.jsonl (host/benches/common/emit.rs writes them). This script adds the date, the
machine and the load, and writes the three files. Python 3 standard library only.

    python3 host/benches/report.py --rows target/bench-rows --out benches/results \
        --load-start "$(cat /proc/loadavg)" --load-end "$(cat /proc/loadavg)"
"""

import argparse
import datetime
import json
import os
import platform
from xml.sax.saxutils import escape

# The order of the sections in the table; a bench not named here comes after them.
ORDER = ["latency", "server", "cores", "throughput", "accept", "memory", "instantiate", "scan", "tls", "p3"]


def machine():
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "model": model,
        "kernel": platform.release(),
    }


def load(raw):
    parts = raw.split()
    if len(parts) < 3:
        return {"raw": raw}
    return {
        "1m": float(parts[0]),
        "5m": float(parts[1]),
        "15m": float(parts[2]),
        "raw": raw.strip(),
    }


def read_rows(rows_dir):
    found = {}
    if os.path.isdir(rows_dir):
        for name in sorted(os.listdir(rows_dir)):
            if name.endswith(".jsonl"):
                bench = name[: -len(".jsonl")]
                with open(os.path.join(rows_dir, name)) as f:
                    found[bench] = [json.loads(line) for line in f if line.strip()]
    benches = [b for b in ORDER if b in found] + [b for b in found if b not in ORDER]
    return [row for b in benches for row in found[b]]


def num(x):
    if x is None:
        return ""
    a = abs(x)
    if a >= 100:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def with_unit(x, unit):
    return "" if x is None else f"{num(x)} {unit}"


def verdict(row):
    m = row.get("meets_goal")
    return "—" if m is None else ("yes" if m else "**no**")


def markdown(report):
    m, ld = report["machine"], report["load"]
    out = [
        "# Benchmarks: wasi-hijack against native peers",
        "",
        f"`bash scripts/bench`, {report['date']}, mode {report['mode']}; "
        f"{m['cores']} cores, {m['model']}; loopback.",
        f"Load (1/5/15 min): {ld['start'].get('raw', '?')} at the start, "
        f"{ld['end'].get('raw', '?')} at the end.",
        "",
        "Ratio is ours / peer. A goal on `ratio` compares that ratio; on `ours`, our own number.",
        "",
        "| benchmark | ours | peer | floor | ratio | goal | meets |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        unit = r["unit"]
        ours = with_unit(r["ours"], unit)
        if r.get("ours_name"):
            ours += f" ({r['ours_name']})"
        peer = with_unit(r.get("peer"), unit)
        if peer and r.get("peer_name"):
            peer += f" ({r['peer_name']})"
        floor = with_unit(r.get("floor"), unit)
        if floor and r.get("floor_name"):
            floor += f" ({r['floor_name']})"
        ratio = "" if r.get("ratio") is None else f"{r['ratio']:.2f}x"
        goal = (r.get("goal") or "").replace("<=", "≤").replace(">=", "≥")
        cells = [r["name"], ours, peer, floor, ratio, goal, verdict(r)]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    notes = [r for r in report["rows"] if r.get("note")]
    if notes or report["failed"]:
        out.append("")
    for r in notes:
        out.append(f"- {r['name']}: {r['note']}")
    for b in report["failed"]:
        out.append(f"- bench `{b}` FAILED: its rows are missing")
    out.append("")
    return "\n".join(out)


def plotted(row):
    """(value, goal marker or None, caption) on the chart's ratio axis, or None.

    A goal on the ratio is drawn where it is; a goal on our own number (`ours <= x`) turns the
    bar into ours / x with the goal at 1; `ours <= peer + x` into ours / (peer + x), goal at 1.
    """
    on, value = row.get("goal_on"), row.get("goal_value")
    ratio, peer, ours, unit = row.get("ratio"), row.get("peer"), row["ours"], row["unit"]
    vs = f"{row.get('ours_name') or 'ours'} / {row.get('peer_name') or 'peer'}"
    if on == "ratio" and ratio is not None:
        return ratio, value, vs
    if on == "ours" and value:
        return ours / value, 1.0, f"ours / budget of {value:g} {unit}"
    if on == "diff" and peer is not None and (peer + value) > 0:
        return ours / (peer + value), 1.0, f"ours / ({row.get('peer_name') or 'peer'} + {value:g} {unit})"
    if ratio is not None:
        return ratio, None, vs
    return None


def clip(text, n):
    return text if len(text) <= n else text[: n - 1] + "…"


def svg(report):
    rows = [(r, p) for r in report["rows"] if (p := plotted(r)) is not None]
    label_w, chart_w, right_w = 560, 420, 110
    top, band, bottom = 70, 46, 64
    width = label_w + chart_w + right_w
    height = top + band * max(len(rows), 1) + bottom
    cap = 3.0
    span = max([2.0] + [min(max(v, g or 0), cap) for _, (v, g, _) in rows]) * 1.08

    def x(v):
        return label_w + chart_w * min(v, span) / span

    colour = {True: "#2e8b57", False: "#c0392b", None: "#8a8f98"}
    machine, ld = report["machine"], report["load"]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        '<text x="12" y="22" font-size="15" font-weight="bold">'
        "wasi-hijack against native peers: ratios, goals marked</text>",
        f'<text x="12" y="42" fill="#555">{escape(report["date"])} ({escape(report["mode"])} run), '
        f'{machine["cores"]} cores, {escape(machine["model"])}, loopback; load '
        f'{escape(" ".join(ld["start"].get("raw", "?").split()[:3]))} at the start, '
        f'{escape(" ".join(ld["end"].get("raw", "?").split()[:3]))} at the end</text>',
        '<text x="12" y="58" fill="#555">green meets its goal, red misses it, grey has none; '
        "the black mark is the goal, the dashed line parity (1x)</text>",
    ]
    # Grid: ticks every 0.5, the parity line at 1 dashed.
    tick = 0.0
    while tick <= span + 1e-9:
        gx = x(tick)
        dash = ' stroke-dasharray="4,3"' if abs(tick - 1.0) < 1e-9 else ""
        stroke = "#999" if dash else "#e4e4e4"
        out.append(
            f'<line x1="{gx:.1f}" y1="{top - 6}" x2="{gx:.1f}" y2="{height - bottom + 6}" stroke="{stroke}"{dash}/>'
        )
        out.append(
            f'<text x="{gx:.1f}" y="{height - bottom + 22}" text-anchor="middle" fill="#555">{tick:g}x</text>'
        )
        tick += 0.5
    out.append(
        f'<text x="{label_w + chart_w / 2:.0f}" y="{height - bottom + 42}" text-anchor="middle" fill="#555">'
        "ours / peer (or ours / budget); bars past the axis end in ▶</text>"
    )
    for i, (r, (value, goal, caption)) in enumerate(rows):
        y = top + i * band
        better = "lower is better" if r.get("better") == "lower" else "higher is better"
        out.append(f'<text x="12" y="{y + 17}">{escape(clip(r["name"], 84))}</text>')
        out.append(
            f'<text x="12" y="{y + 32}" font-size="10" fill="#666">'
            f"{escape(clip(caption + '; ' + better, 100))}</text>"
        )
        fill = colour[r.get("meets_goal")]
        out.append(
            f'<rect x="{label_w}" y="{y + 10}" width="{max(x(value) - label_w, 1):.1f}" height="20" fill="{fill}"/>'
        )
        end = max(x(value), x(goal) if goal is not None else 0)
        over = " ▶" if value > span else ""
        out.append(f'<text x="{end + 7:.1f}" y="{y + 25}" fill="#222">{value:.2f}x{over}</text>')
        if goal is not None:
            gx = x(goal)
            out.append(
                f'<line x1="{gx:.1f}" y1="{y + 5}" x2="{gx:.1f}" y2="{y + 35}" stroke="#111" stroke-width="3"/>'
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--load-start", default="")
    ap.add_argument("--load-end", default="")
    ap.add_argument("--mode", default="full")
    ap.add_argument("--failed", default="")
    a = ap.parse_args()
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mode": a.mode,
        "machine": machine(),
        "load": {"start": load(a.load_start), "end": load(a.load_end)},
        "failed": a.failed.split(),
        "rows": read_rows(a.rows),
    }
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "latest.json"), "w") as f:
        json.dump(report, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(a.out, "latest.md"), "w") as f:
        f.write(markdown(report))
    with open(os.path.join(a.out, "latest.svg"), "w") as f:
        f.write(svg(report))


if __name__ == "__main__":
    main()
