"""Median of several outputs of a benchmark script (see bench/median): table rows are matched by
their first two cells (what, concurrency); numeric cells (requests/s, latencies with units) are
replaced by their median, and the runs' values are listed after the table. Lines such as
"start-up to serving: 34 ms" and "RSS after the load: 27 MB" get their median too."""

import re
import statistics
import sys

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def number(cell):
    """A cell as (value, unit) when it is a number, possibly with a latency unit."""
    m = re.fullmatch(r"([0-9][0-9,]*\.?[0-9]*)(us|ms|s)?", cell.strip())
    if not m:
        return None
    return float(m.group(1).replace(",", "")) * UNITS.get(m.group(2) or "", 1.0), m.group(2)


def show(value, unit):
    if unit is None:
        # Counts per request (database transactions) keep their fraction; requests/s need none.
        return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:.2f}"
    return f"{value:.2f} ms" if value < 1000 else f"{value / 1000:.2f} s"


runs = [open(path).read().splitlines() for path in sys.argv[1:]]
rows, lines, header = {}, {}, []
for text in runs:
    for line in text:
        if line.startswith("|---") or line.startswith("| what"):
            if line not in header:
                header.append(line)
            continue
        if line.startswith("| "):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows.setdefault(tuple(cells[:2]), []).append(cells)
            continue
        m = re.fullmatch(r"([^:]+): ([0-9.]+) (ms|MB)(.*)", line.strip())
        if m:
            lines.setdefault((m.group(1), m.group(3), m.group(4)), []).append(float(m.group(2)))

print(f"median of {len(runs)} runs")
print()
for line in header:
    print(line)
for key, samples in rows.items():
    out = list(samples[0])
    for i in range(2, len(out)):
        values = [number(s[i]) for s in samples if i < len(s)]
        if values and all(v is not None for v in values):
            out[i] = show(statistics.median(v[0] for v in values), values[0][1])
        else:
            out[i] = "; ".join(sorted({s[i] for s in samples if i < len(s)}))
    print("| " + " | ".join(out) + " |")
print()
for (name, unit, rest), values in lines.items():
    print(f"{name}: {statistics.median(values):g} {unit}{rest} (runs: {', '.join(f'{v:g}' for v in values)})")
