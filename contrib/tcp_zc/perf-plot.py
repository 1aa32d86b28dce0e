#!/usr/bin/env python3
#
# Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
# See file LICENSE for terms.
#
# Plot the CSV of perf-compare.sh: one panel per link and test, latency
# (usec, *_lat tests) or bandwidth (MB/s) against message size, UCX's tcp and
# tcp_zc side by side, the median of the repeats with min-max error bars
# (latency: dotted, the median of the runs' typical latencies).
# Latency panels come first in each link's rows, then bandwidth panels.
#
#   perf-plot.py <csv> <png>
#

import csv
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402

TRANSPORTS = (("tcp", "tab:blue", "o"), ("tcp_zc", "tab:orange", "s"))
TYPICAL = "typical"


def value(text):
    try:
        return float(text)
    except ValueError:
        return None


def two_five(v, _):
    # the 2s and 5s of a decade
    return "%g" % v if round(v / 10 ** math.floor(math.log10(v))) in (2, 5) \
        else ""


def load(csv_path):
    # (link, is-bandwidth, api test) -> (tl, layout) -> [(size, med, lo, hi)]
    panels = {}
    notes = {}
    with open(csv_path) as f:
        for row in csv.DictReader(f):
            is_bw = row["metric"] != "lat_us"
            key = (row["link"], is_bw, row["api"] + " " + row["test"])
            panels.setdefault(key, {})
            if row["note"] and "has no" in row["note"]:
                notes[key] = row["note"]
            for tl, _, _ in TRANSPORTS:
                med = value(row[tl + "_med"])
                if med is None:
                    continue
                lo = value(row[tl + "_min"])
                hi = value(row[tl + "_max"])
                panels.setdefault(key, {}).setdefault(
                    (tl, row["layout"]), []).append(
                        (int(row["size"]), med, lo, hi))
                # latency: also the median of the typical latencies
                typ = value(row.get(tl + "_typ_med", ""))
                if not is_bw and typ is not None:
                    panels[key].setdefault((tl, TYPICAL), []).append(
                        (int(row["size"]), typ, None, None))
    return panels, notes


def main(csv_path, png_path):
    panels, notes = load(csv_path)
    if not panels:
        return 1

    links = []
    for link, _, _ in panels:
        if link not in links:
            links.append(link)
    # the CSV's order (the preset's), latency before bandwidth per link
    keys = sorted(panels, key=lambda k: (links.index(k[0]), k[1]))
    cols = min(5, len(keys))
    # every link starts a new row of panels
    layout = []
    for link in links:
        mine = [k for k in keys if k[0] == link]
        for i in range(0, len(mine), cols):
            layout.append(mine[i:i + cols])
    fig, axes = plt.subplots(len(layout), cols,
                             figsize=(4.2 * cols, 3.4 * len(layout)),
                             squeeze=False)
    for r, panel_row in enumerate(layout):
        for c in range(cols):
            ax = axes[r][c]
            if c >= len(panel_row):
                ax.axis("off")
                continue
            link, is_bw, name = panel_row[c]
            series = panels[panel_row[c]]
            layouts = set(lay for _, lay in series if lay != TYPICAL)
            for (tl, lay), points in sorted(series.items()):
                color, marker = dict((t[0], t[1:]) for t in TRANSPORTS)[tl]
                points.sort()
                sizes = [p[0] for p in points]
                med = [p[1] for p in points]
                err = [[p[1] - (p[2] if p[2] is not None else p[1])
                        for p in points],
                       [(p[3] if p[3] is not None else p[1]) - p[1]
                        for p in points]]
                if lay == TYPICAL:
                    ax.plot(sizes, med, color=color, marker=marker,
                            markersize=3, linestyle=":", alpha=0.7,
                            label="%s typical" % tl)
                    continue
                label = tl if len(layouts) < 2 else "%s %s" % (tl, lay)
                ax.errorbar(sizes, med, yerr=err, color=color,
                            marker=marker, markersize=4, capsize=3,
                            linestyle="-" if lay == min(layouts) else "--",
                            label=label)
            if panel_row[c] in notes:
                ax.text(0.02, 0.02, notes[panel_row[c]], fontsize="x-small",
                        transform=ax.transAxes)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            # plain numbers, on the minor ticks too where the range is
            # narrower than a decade
            plain = FuncFormatter(lambda v, _: "%g" % v)
            ax.yaxis.set_major_formatter(plain)
            low, high = ax.get_ylim()
            if high < 10 * low:
                ax.yaxis.set_minor_formatter(plain)
                ax.tick_params(axis="y", which="minor", labelsize="x-small")
            elif high < 100 * low:
                ax.yaxis.set_minor_formatter(FuncFormatter(two_five))
                ax.tick_params(axis="y", which="minor", labelsize="x-small")
            else:
                ax.yaxis.set_minor_formatter(NullFormatter())
            ax.set_title("%s: %s (%s)" % (link, name,
                                          "bandwidth" if is_bw
                                          else "latency"))
            ax.set_xlabel("message size (bytes)")
            ax.set_ylabel("MB/s" if is_bw else "usec")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize="small")
    fig.suptitle("ucx_perftest, UCX's tcp vs tcp_zc: median of the "
                 "repeats, bars min-max; dotted: typical latency")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(png_path, dpi=90)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
