#!/usr/bin/env python3
#
# Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
# See file LICENSE for terms.
#
# Plot the CSV of perf-compare.sh: one panel per link and test, latency or
# bandwidth against message size, UCX's tcp and tcp_zc.
#
#   perf-plot.py <csv> <png>
#

import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(csv_path, png_path):
    series = {}
    with open(csv_path) as f:
        for row in csv.DictReader(f):
            key = (row["link"], row["api"] + " " + row["test"])
            is_lat = row["test"].endswith("_lat")
            for tl in ("tcp", "tcp_zc"):
                value = row[tl + ("_lat_us" if is_lat else "_bw_MBs")]
                if value == "n/a":
                    continue
                series.setdefault(key, {}).setdefault(tl, []).append(
                    (int(row["size"]), float(value)))

    if not series:
        return 1

    keys = sorted(series)
    cols = min(4, len(keys))
    rows = (len(keys) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.5 * rows),
                             squeeze=False)
    for ax, key in zip(axes.flat, keys):
        for tl, points in sorted(series[key].items()):
            points.sort()
            ax.plot([p[0] for p in points], [p[1] for p in points],
                    marker="o", label=tl)
        ax.set_xscale("log", base=2)
        ax.set_title("%s: %s" % key)
        ax.set_xlabel("message size (bytes)")
        ax.set_ylabel("usec" if key[1].endswith("_lat") else "MB/s")
        ax.grid(True, alpha=0.3)
        ax.legend()
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
