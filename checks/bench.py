"""``make bench``: the explicit engine's states per second and peak memory, and Z3's BMC times.

Each measurement runs in a fresh Python process, so that its peak resident memory is its own.
The results go to the terminal and to ``BENCH.md`` (committed, so that changes in speed are
visible in review).  Timing belongs here, never in the unit tests.
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


#: Presets and depths for bounded model checking (the larger presets are beyond BMC today).
BMC_RUNS = (("handshake", 8), ("simultaneous-open", 8), ("abort", 8), ("lifecycle", 10))


def measure_bmc(name: str, depth: int) -> dict[str, float | int | str]:
    """BMC of every safety property of one preset to ``depth`` (run in a child process)."""
    from checks.bmc import bmc
    from checks.properties import PROPERTIES
    from spec.presets import preset

    run = bmc(preset(name), PROPERTIES, depth)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "preset": name,
        "depth": run.depth,
        "branches": run.branches,
        "compile": round(run.compile_seconds, 2),
        "seconds": round(run.seconds, 2),
        "per_property": "; ".join(f"{k} {v:.1f}" for k, v in run.property_seconds.items()),
        "verdicts": ", ".join(sorted({r.verdict_text for r in run.results})),
        "peak_mb": round(peak / 2**20, 1),
    }


def bmc_table(rows: list[dict[str, float | int | str]]) -> str:
    head = (
        "| preset | depth | branches/step | compile s | total s | verdicts | peak MB |\n"
        "|---|---:|---:|---:|---:|---|---:|\n"
    )
    body = "".join(
        f"| {r['preset']} | {r['depth']} | {r['branches']} | {r['compile']} | {r['seconds']} | "
        f"{r['verdicts']} | {r['peak_mb']} |\n"
        for r in rows
    )
    return head + body


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
    parser.add_argument("--bmc", nargs=2, help=argparse.SUPPRESS)  # child-process mode: NAME DEPTH
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one)))
        return 0
    if args.bmc:
        print(json.dumps(measure_bmc(args.bmc[0], int(args.bmc[1]))))
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
    bmc_rows = []
    for name, depth in BMC_RUNS:
        proc = subprocess.run(
            [sys.executable, "-m", "checks.bench", "--bmc", name, str(depth)],
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(proc.stdout)
        bmc_rows.append(row)
        print(
            f"bmc {row['preset']:<20} depth {row['depth']:>3} {row['seconds']:>8} s {row['peak_mb']:>7} MB", flush=True
        )
    per_property = "".join(f"- {r['preset']} (depth {r['depth']}): {r['per_property']}\n" for r in bmc_rows)
    text = (
        "# Benchmarks\n\n"
        "Written by `make bench`: the explicit engine exploring each preset (no property checks), "
        "one fresh process per preset; peak MB is that process's maximum resident memory.\n\n"
        f"Machine: {platform.machine()}, Python {platform.python_version()}, {platform.system()}.\n\n"
        + table(rows)
        + "\n## Bounded model checking with Z3\n\n"
        "`bmc` of the six safety properties, one fresh process per preset: compiling the rules into the "
        "relation, then one incremental QF_BV solver unrolled depth by depth.\n\n"
        + bmc_table(bmc_rows)
        + "\nSeconds per property (z3 time shared equally among the properties still open at each depth):\n\n"
        + per_property
    )
    write_atomically(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
