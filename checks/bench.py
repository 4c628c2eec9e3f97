"""``make bench``: states per second and peak memory of the explicit engine, preset by preset.

Each preset runs in a fresh Python process, so that its peak resident memory is its own.  The
results go to the terminal and to ``BENCH.md`` (committed, so that changes in speed are visible
in review).  Timing belongs here, never in the unit tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time

from checks.report import write_atomically
from spec.presets import presets


def measure(name: str) -> dict[str, float | int | str]:
    """Explore one preset in this process and report its figures (run in a child process)."""
    from checks.explicit import explore
    from spec.presets import preset

    start = time.perf_counter()
    ex = explore(preset(name))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "preset": name,
        "states": len(ex.states),
        "transitions": ex.transitions,
        "depth": ex.max_depth,
        "seconds": round(seconds, 3),
        "states_per_second": round(len(ex.states) / seconds) if seconds > 0 else 0,
        "peak_mb": round(peak / 2**20, 1),
    }


def table(rows: list[dict[str, float | int | str]]) -> str:
    head = (
        "| preset | states | transitions | depth | seconds | states/s | peak MB |\n"
        "|---|---:|---:|---:|---:|---:|---:|\n"
    )
    body = "".join(
        f"| {r['preset']} | {r['states']:,} | {r['transitions']:,} | {r['depth']} | {r['seconds']} | "
        f"{r['states_per_second']:,} | {r['peak_mb']} |\n"
        for r in rows
    )
    return head + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checks.bench")
    parser.add_argument("--out", default="BENCH.md", help="where to write the Markdown table")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child-process mode
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one)))
        return 0
    rows = []
    for config in presets():
        proc = subprocess.run(
            [sys.executable, "-m", "checks.bench", "--one", config.name], capture_output=True, text=True, check=True
        )
        row = json.loads(proc.stdout)
        rows.append(row)
        print(
            f"{row['preset']:<20} {row['states']:>9,} states {row['seconds']:>8} s "
            f"{row['states_per_second']:>8,} states/s {row['peak_mb']:>7} MB",
            flush=True,
        )
    text = (
        "# Benchmarks\n\n"
        "Written by `make bench`: the explicit engine exploring each preset (no property checks), "
        "one fresh process per preset; peak MB is that process's maximum resident memory.\n\n"
        f"Machine: {platform.machine()}, Python {platform.python_version()}, {platform.system()}.\n\n" + table(rows)
    )
    write_atomically(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
