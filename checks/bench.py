"""``make bench``: the explicit engine's states per second and peak memory, Z3's BMC and induction times.

Each measurement runs in a fresh Python process, so that its peak resident memory is its own.
The results go to the terminal and to ``BENCH.md`` (committed, so that changes in speed are
visible in review).  Timing belongs here, never in the unit tests.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from checks.bmc import supported
from checks.properties import PROPERTIES
from checks.report import write_atomically
from spec.presets import large_presets, preset, presets


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports ru_maxrss in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def measure(name: str) -> dict[str, float | int | str]:
    """Explore one preset in this process and report its figures (run in a child process)."""
    from checks.explicit import explore
    from spec.presets import preset

    start = time.perf_counter()
    ex = explore(preset(name))
    seconds = time.perf_counter() - start
    return {
        "preset": name,
        "states": len(ex.states),
        "transitions": ex.transitions,
        "depth": ex.max_depth,
        "seconds": round(seconds, 3),
        "states_per_second": round(len(ex.states) / seconds) if seconds > 0 else 0,
        "peak_mb": peak_mb(),
    }


def measure_spin(
    name: str, store: str = "exact", bits: int | None = None, cores: int = 1
) -> dict[str, float | int | str]:
    """SPIN searching every state of one preset (pan -O2, no reduction, depth first), in a child process.

    ``store`` is one of :data:`checks.spin.STORES`; ``bits`` sets pan's hash table (-w); ``cores``
    above 1 compiles pan with -DNCORE.
    """
    from checks.spin import Search, explore_spin
    from spec.presets import preset

    search = Search(store, "-O2", bits, breadth_first=False, cores=cores, max_depth=10_000)
    report, bounds, compile_seconds = explore_spin(preset(name), search)
    return {
        "preset": name,
        "store": store,
        "cores": cores,
        "bits": bits if bits is not None else "default",
        "spin_states": report.states,
        "spin_seconds": round(report.seconds, 3),
        "spin_states_per_second": round(report.states / report.seconds) if report.seconds > 0 else 0,
        "spin_mb": round(report.memory_mb, 1),
        # bitstate: pan reports no memory for stored states (it stores none), so no bytes per state
        "spin_bytes_per_state": round(report.state_mb * 2**20 / report.states)
        if report.states and report.state_mb
        else "-",
        "spin_compile": round(compile_seconds, 1),
        "spin_slots": bounds.channel,
        "hash_factor": report.hash_factor or "-",
    }


#: The large presets' runs: (store, -w, cores).  The bitstate run's hash array is 128 MB.
LARGE_RUNS = (("exact", 26, 1), ("exact", 26, 2), ("collapse", 26, 1), ("bitstate", 30, 1))


def large_table(rows: list[dict[str, float | int | str]]) -> str:
    """SPIN on the large presets, store by store."""
    for row in rows:
        store = str(row["store"])
        row["search"] = f"{store} -w{row['bits']}" + (f", {row['cores']} cores" if int(row["cores"]) > 1 else "")
    columns = [
        ("preset", "preset", "s"),
        ("search", "search", "s"),
        ("states stored", "spin_states", ","),
        ("seconds", "spin_seconds", ""),
        ("states/s", "spin_states_per_second", ","),
        ("MB", "spin_mb", ""),
        ("B/state", "spin_bytes_per_state", ","),
        ("hash factor", "hash_factor", ""),
        ("compile s", "spin_compile", ""),
    ]
    return markdown(columns, rows)


LARGE_TEXT = (
    "\n## SPIN at scale\n\n"
    "The large presets (`tcpspec list` shows them last) are beyond the explicit engine in CI's time; SPIN "
    "searches them (pan -O2 -DNOREDUCE, depth first, no property checked). exact stores every state vector "
    "whole; collapse (-DCOLLAPSE) stores each process's and the globals' parts once and indexes them, which "
    "saves nothing here (the model is one process, every global vector is new) and costs time. "
    "bitstate (-DBITSTATE) keeps 3 bits per state in a hash array of 2**w bits: a state whose "
    "bits are all set already is taken for seen, so it may miss states (it stores fewer than the exact "
    "count) and what it finds safe is PARTIAL, with SPIN's hash factor (bits per state; best if > 100). "
    "-DMA (a minimized automaton) is left out: on chaos-close, pan -DMA=212 had not finished after 51 "
    "minutes (2026-12-02), against 2 minutes for exact. exact on 2 cores is pan's multi-core search "
    "(-DNCORE=2, depth first), given half the machine's memory for its shared state store (-DMEMLIM): with "
    "pan's default of 2 GB it stopped at 3,074,280 states.\n\n"
)


def side_by_side(rows: list[dict[str, float | int | str]], spin: list[dict[str, float | int | str]]) -> str:
    """The explicit engine beside SPIN, preset by preset."""
    baseline = min(float(r["peak_mb"]) for r in rows)
    merged = []
    for row, other in zip(rows, spin, strict=True):
        both: dict[str, float | int | str] = {**row, **other}
        states = int(row["states"])
        grown = (float(row["peak_mb"]) - baseline) * 2**20
        both["bytes_per_state"] = f"{round(grown / states):,}" if states >= 10_000 else "-"
        rate, spin_rate = float(row["states_per_second"]), float(other["spin_states_per_second"])
        both["ratio"] = f"{rate / spin_rate:.3f}" if spin_rate else "-"
        both["agree"] = "yes" if other["spin_states"] == states else "NO"
        merged.append(both)
    columns = [
        ("preset", "preset", "s"),
        ("states", "states", ","),
        ("explicit s", "seconds", ""),
        ("explicit states/s", "states_per_second", ","),
        ("explicit peak MB", "peak_mb", ""),
        ("explicit B/state", "bytes_per_state", "s"),
        ("spin states", "spin_states", ","),
        ("spin s", "spin_seconds", ""),
        ("spin states/s", "spin_states_per_second", ","),
        ("spin MB", "spin_mb", ""),
        ("spin B/state", "spin_bytes_per_state", ","),
        ("explicit/spin", "ratio", "s"),
    ]
    return markdown(columns, merged)


def measure_liveness(name: str) -> dict[str, float | int | str]:
    """establishes and closes on one preset, by the explicit engine and by SPIN's liveness model (a child)."""
    from checks.promela_liveness import LIVENESS
    from checks.properties import check
    from checks.spin import run_spin
    from spec.presets import preset

    start = time.perf_counter()
    ex, explicit = check(preset(name), list(LIVENESS))
    seconds = time.perf_counter() - start
    spin = run_spin(preset(name), list(LIVENESS))
    agree = [r.verdict_text for r in explicit] == [r.verdict_text for r in spin.results]
    return {
        "preset": name,
        "states": len(ex.states),
        "explicit_seconds": round(seconds, 3),
        "verdicts": ", ".join(f"{r.prop.name} {r.verdict}" for r in explicit),
        "product_states": int(str(spin.stats["liveness_states"])),
        "pan_seconds": round(float(str(spin.stats["liveness_pan_seconds"])), 3),
        "spin_seconds": round(spin.seconds, 2),
        "agree": "yes" if agree else "NO",
    }


def liveness_table(rows: list[dict[str, float | int | str]]) -> str:
    """The two engines on establishes and closes, preset by preset."""
    columns = [
        ("preset", "preset", "s"),
        ("states", "states", ","),
        ("verdicts", "verdicts", "s"),
        ("explicit s", "explicit_seconds", ""),
        ("liveness model states", "product_states", ","),
        ("pan -a s", "pan_seconds", ""),
        ("spin s in all", "spin_seconds", ""),
        ("same verdicts", "agree", "s"),
    ]
    return markdown(columns, rows)


LIVENESS_TEXT = (
    "\n## Liveness: establishes and closes\n\n"
    "Both properties under weak fairness, one fresh process per preset. The explicit engine explores the "
    "preset and searches the strongly connected components of the states after each premise (explicit s: "
    "both, exploring included). SPIN searches the safety model (to count the states) and then the liveness "
    "model (checks/promela_liveness.py) once per property with pan -a, a nested depth-first search for "
    "acceptance cycles; liveness model states is the larger of the two runs' counts: every state with the "
    "monitor off, and the states after the premise again, with the fairness counter (equal to the states "
    "column when no premise ever holds). spin s in all includes generating both models and compiling pan "
    "twice with gcc -O0, which is most of it.\n\n"
)


#: Presets and depths for bounded model checking (the larger presets are beyond BMC today).
BMC_RUNS = (("handshake", 8), ("simultaneous-open", 8), ("abort", 8), ("lifecycle", 10))


#: The safety properties, each also measured alone.
ALONE_PROPERTIES = tuple(p.name for p in supported(PROPERTIES))

#: Presets on which each safety property is also checked alone, for its own Z3 time.
BMC_ALONE = (("handshake", 8), ("lifecycle", 10))


#: Not measured by ``make bench``: there is no Spacer path left to measure (see the text).
HOUDINI_TEXT = (
    "\n## Houdini: a solver per query\n\n"
    "Measured once by hand (2026-12-07, z3 5.4.1), not by `make bench`: the same candidates on the same relation, "
    "the inductive step's loop run two ways. Before: one incremental solver, each candidate behind a guard "
    "literal, each query asked under the survivors' guards. Now (`checks/induction.py`): each query a fresh "
    "solver holding the survivors as plain assertions, which z3 simplifies with before it bit-blasts. Seconds "
    "for the base case and the inductive step (two runs shared the two cores for lifecycle and "
    "reorder-capacity-2):\n\n"
    "| configuration | step queries | guard literals | a solver per query | ratio |\n"
    "|---|---:|---:|---:|---:|\n"
    "| handshake | 1 | 6.2 | 6.7 | 1.08 |\n"
    "| lifecycle | 1 | 12.3 | 10.5 | 0.85 |\n"
    "| chaos | 1 | 129.4 | 78.3 | 0.61 |\n"
    "| reorder-capacity-2 | 1 | 139.8 | 72.2 | 0.52 |\n"
    "\nThe gain is where one query is large (chaos: 198 facts over a reordering network); on lost-ack, with "
    "the timing families and eight slots per channel, a query took 22 to 30 s alone (126 s beside another run), "
    "against 50 to 130 s with guard literals in the session before.\n"
)


LEARN_TEXT = (
    "\n## Learning lemmas for the timed presets\n\n"
    "Measured once by hand (2026-12-07, z3 5.4.1), not by `make bench`: `tcpspec learn` (checks/lemmas.py) on "
    "eight slots per channel, two runs beside each other on the two cores. Setup (explore, index the reachable "
    "states as bitsets, check the candidates on each): lost-ack 23,131 states and 1,016 candidates, all holding; "
    "incarnations 83,819 states and 856 candidates, 42 set aside (false in a reachable state). Then one CTI a "
    "query, each blocked by a lemma:\n\n"
    "| preset | lemmas | queries | query s (typical) | minutes | inductive |\n"
    "|---|---:|---:|---:|---:|---|\n"
    "| lost-ack | 143 | 150 | 20-70 | 90 | not yet |\n"
    "| incarnations | 311 | 317 | 15-30 (0.2 when the same solver answers again) | 85 | not yet |\n"
    "\nThe queries are as large as Houdini's (the step and about a thousand facts); a solver asked again after a "
    "lemma is added answers in 0.2 s on incarnations and times out (3 s) on lost-ack, so there each lemma costs a "
    "fresh solver's bit-blasting. Generalizing a state against the index takes milliseconds.\n"
)


TIME_WAIT_BEYOND_TEXT = (
    "\n## TIME-WAIT proved, and beyond MSL = 1\n\n"
    "Measured once by hand (2026-12-07, z3 5.4.1), not by `make bench`. `tcpspec derive time-wait --engine smt "
    "--prove` on `incarnations`: no-old-duplicates and graceful-close PROVED at MSL = 1 tick for every TIME-WAIT "
    "from 2 to 254 ticks at once, induction over the 83,819 states of `LingeringTimeWait` against the relation "
    "with TIME-WAIT as a parameter: 209 s for the proof (beside a test run on the other core), 3 min 59 s and "
    "2.1 GB for the whole command. The same proof on `reused-iss` (tests/test_derive.py, a reordering network): "
    "30,865 states, 781 s; on its FIFO twin (tests/test_derive_smt.py) 971 states, 33 s.\n\n"
    "Beyond MSL = 1, on `incarnations` with RTO = 1 tick: the explicit engine at MSL = 2, TIME-WAIT = 8 ticks "
    "stops at an old duplicate after 11,861,006 states and 378 s (a run of 23 steps that never enters "
    "TIME-WAIT; with every step into TIME-WAIT cut, at TIME-WAIT = 4: 10,408,223 states, 327 s). Retimed by one "
    "solver for MSL = 1..16: unsatisfiable at MSL = 1 (3.1 s, the solver's first search), then 0.3 s at MSL = 2 and "
    "under 0.1 s for each MSL from 3 to 16, every run at TIME-WAIT = 254 ticks and replayed on the explicit "
    "engine. Plain BMC with TIME-WAIT ruled out, MSL = 2: depths 0 to 3 in 18 s, depth 4 alone 43 s.\n"
)


SPACER_TEXT = (
    "\n## Spacer: tried, and removed\n\n"
    "Measured once by hand (2026-12-06, z3 5.4.1), not by `make bench`: no Spacer path is left in the "
    'code. z3\'s Spacer (`Fixedpoint` with engine=spacer, and `SolverFor("HORN")`) was given the relation of '
    "`checks/symbolic.py` as constrained Horn clauses over one predicate of the state: Init => Inv; "
    "Inv and not rules_problem and T => Inv'; Inv and violation => false. Without lemmas it found no invariant "
    "for any state property on handshake-capacity-1, handshake-capacity-2, handshake or lifecycle, within 120 "
    "to 600 s a run, whatever the encoding: every state leaf (600 s, 1.5 GB); an exact per-property cone of "
    "influence (32 to 96 of the 72 to 116 leaves); bit-vectors, or bounded integers translated bit-exactly "
    "(mod 2**32: the configured ISS 4294967295 wraps, so narrower bit-vectors would be unsound); one clause per "
    "branch; bit-blasting (328 lemmas after 326 queries, still at level 3); `spacer.global`; z3's "
    "preprocessing and ground proof obligations turned off. Every run stopped between levels 3 and 6, below "
    "the handshake's depth of 7 and far below the lifecycle's 23.\n\n"
    "| configuration | property | encoding | outcome | s | peak MB | level |\n"
    "|---|---|---|---|---:|---:|---:|\n"
    "| handshake-capacity-1 | handshake-sync | every leaf | timeout | 600 | 1483 | - |\n"
    "| handshake-capacity-1 | handshake-sync | cone, integers, no preprocessing | timeout | 600 | 240 | 6 |\n"
    "| handshake-capacity-1 | handshake-sync | cone, bit-blasted | timeout | 120 | 403 | 3 |\n"
    "| handshake-capacity-1 | handshake-sync | cone, HORN solver | timeout | 120 | 748 | 5 |\n"
    "| handshake-capacity-1 | rules-deterministic | cone | timeout | 120 | 1219 | 5 |\n"
    "| handshake-capacity-2 | handshake-sync | cone | timeout | 120 | 413 | 5 |\n"
    "| handshake | handshake-sync | cone | timeout | 120 | 388 | 6 |\n"
    "| lifecycle | handshake-sync | cone, integers, no preprocessing | timeout | 300 | 241 | 5 |\n\n"
    "With Houdini's inductive facts conjoined as lemmas Spacer answers in 1 to 41 s, but in 20 of 25 runs "
    "with the invariant `true`: Houdini's own last check, repeated after Houdini's 6 to 19 s. With only the "
    "structural facts (no sequence-number facts) it times out again. What the proofs need are linear facts "
    "over 32-bit sequence numbers modulo 2**32 (SND.NXT = ISS + 1 + units sent; unit n in flight at ISS + n), "
    "one per slot and incarnation: Spacer's generalization, nearly ground over bit-vectors and split on every "
    "`mod` over integers, does not find them, and Houdini is given them as candidates. So the proofs are "
    "Houdini's, and Spacer is not offered.\n"
)


def measure_bmc(name: str, depth: int, prop: str | None = None) -> dict[str, float | int | str]:
    """BMC of every safety property (or just ``prop``) of one preset to ``depth`` (in a child process)."""
    from checks.bmc import bmc
    from checks.properties import property_named
    from spec.presets import preset

    run = bmc(preset(name), [property_named(prop)] if prop else supported(PROPERTIES), depth)
    return {
        "preset": name,
        "depth": run.depth,
        "branches": run.branches,
        "compile": round(run.compile_seconds, 2),
        "seconds": round(run.seconds, 2),
        "verdicts": ", ".join(sorted({r.verdict_text for r in run.results})),
        "peak_mb": peak_mb(),
    }


#: Configurations (preset names or TOML files) proved by induction, with or without symbolic ISS values.
INDUCTION_RUNS = (
    ("checks/configs/handshake-capacity-2.toml", False),
    ("checks/configs/handshake-capacity-1.toml", True),
    ("lifecycle", False),
    ("checks/configs/reorder-capacity-2.toml", False),
    ("chaos", False),
)

#: Slots per channel where no capacity sets them: the timed presets need their in-flight budget (8), and
#: their proofs rest on the lemmas learned with these slots (checks/learned/).  Each is measured once its
#: lemmas are inductive (`tcpspec learn`); until then induction would only spend its time limit on UNKNOWN.
INDUCTION_SLOTS = {"lost-ack": 8, "incarnations": 8, "lossy": 8}


def induction_runs() -> list[tuple[str, bool]]:
    """The configurations proved by induction: :data:`INDUCTION_RUNS`, and the timed presets learned so far."""
    from checks import lemmas
    from checks.symstate import Bounds

    timed = [
        (name, False)
        for name, slots in INDUCTION_SLOTS.items()
        if lemmas.inductive(preset(name), Bounds.for_config(preset(name), slots))
    ]
    return [*INDUCTION_RUNS, *timed]


#: The configurations whose properties are also proved one at a time (the others take minutes a run).
INDUCTION_ALONE = ("checks/configs/handshake-capacity-2.toml", "checks/configs/handshake-capacity-1.toml", "lifecycle")

#: The time each induction run may take (what is not proved by then is UNKNOWN, "gave up").
INDUCTION_SECONDS = 300.0
#: ...and the timed presets, whose queries take a minute each on eight slots per channel.
INDUCTION_SECONDS_TIMED = 1200.0


def measure_induction(name: str, symbolic_iss: bool, prop: str | None = None) -> dict[str, float | int | str]:
    """Induction for every safety property (or just ``prop``) of one configuration (in a child process)."""
    from checks.cli import resolve_config
    from checks.induction import prove
    from checks.properties import property_named
    from checks.symbolic import Relation
    from checks.symstate import Bounds

    config = resolve_config(name)
    wanted = [property_named(prop)] if prop else supported(PROPERTIES)
    start = time.perf_counter()
    relation = Relation(config, Bounds.for_config(config, INDUCTION_SLOTS.get(name)), symbolic_iss=symbolic_iss)
    compiled = time.perf_counter() - start
    seconds = INDUCTION_SECONDS_TIMED if name in INDUCTION_SLOTS else INDUCTION_SECONDS
    run = prove(config, wanted, relation=relation, seconds=seconds)
    proved = [r.prop.name for r in run.results if r.verdict == "PROVED"]
    return {
        "config": config.name + (" (any ISS)" if symbolic_iss else ""),
        "proved": f"{len(proved)}/{len(run.results)}",
        "facts": len(run.kept),
        "learned": sum(1 for k in run.kept if k.startswith("learned[")),
        "queries": run.queries,
        "compile": round(compiled, 2),
        "seconds": round(compiled + run.seconds, 2),
        "peak_mb": peak_mb(),
        "verdict": run.results[0].verdict if prop else "",
    }


#: Configurations proved with the reachable states as the invariant (checks/reachset.py), and their slots.
REACH_RUNS = (
    ("checks/configs/reorder-capacity-2.toml", None),
    ("lost-ack", 8),
    ("incarnations", 8),
    ("lossy", 8),
)


def measure_reach(name: str) -> dict[str, float | int | str]:
    """Induction over the reachable states for every safety property and no-deadlock (in a child process)."""
    from checks.cli import resolve_config
    from checks.reachset import prove_reach
    from checks.symbolic import Relation
    from checks.symstate import Bounds

    config = resolve_config(name)
    slots = dict(REACH_RUNS)[name]
    start = time.perf_counter()
    relation = Relation(config, Bounds.for_config(config, slots))
    compiled = time.perf_counter() - start
    proof = prove_reach(relation, supported(PROPERTIES))
    proved = [r for r in proof.results if r.verdict == "PROVED"]
    return {
        "config": config.name,
        "slots": relation.bounds.channel,
        "states": proof.states,
        "parts": proof.parts,
        "nodes": proof.nodes,
        "proved": f"{len(proved)}/{len(proof.results)}",
        "queries": proof.queries,
        "compile": round(compiled, 2),
        "seconds": round(compiled + proof.seconds, 2),
        "peak_mb": peak_mb(),
    }


def reach_section() -> str:
    """Proofs over the reachable states, each configuration measured in a fresh process."""
    rows = []
    for name, _ in REACH_RUNS:
        row = _child("--reach", name)
        rows.append(row)
        print(f"reach {row['config']:<30} {row['proved']} PROVED {row['seconds']:>8} s", flush=True)
    columns = [
        ("configuration", "config", "s"),
        ("slots", "slots", ""),
        ("reachable states", "states", ","),
        ("parts", "parts", ""),
        ("diagram nodes", "nodes", ","),
        ("PROVED", "proved", "s"),
        ("queries", "queries", ""),
        ("compile s", "compile", ""),
        ("total s", "seconds", ""),
        ("peak MB", "peak_mb", ""),
    ]
    return REACH_TEXT + markdown(columns, rows)


REACH_TEXT = (
    "\n## Proofs over the reachable states\n\n"
    "`tcpspec check --engine smt --invariant reach`: the explicit engine lists the reachable states, "
    "`checks/reachset.py` writes them as decision diagrams (one per pair of endpoint states), and Z3 checks that "
    "they hold initially, that every step of the relation from a part ends in the parts the explicit engine's "
    "edges reach, and that no state or step of them violates a property: a proof by induction of the seven "
    "safety properties and no-deadlock, one fresh process per configuration (explicit search, diagrams and "
    "queries included). Where the facts of `checks/invariants.py` leave properties unproved (the timed presets; "
    "no-deadlock on reorder-capacity-2) this proves them.\n\n"
    "One query over all the reachable states, instead of one per part, took 45 s on lost-ack (23,131 states; "
    "the parts about as long) and 627 s on incarnations (83,819 states; its parts 110 s); one part per value of "
    "A's state alone took 279 s there (one part alone 206 s), one per value of both states and both scripts' "
    "positions 232 s (many small queries, each paying for the relation). One query per branch of the relation "
    "(198 on lost-ack) took 266 s there: each bit-blasts the diagram again.\n\n"
)


def measure_derive_smt() -> dict[str, float | int | str]:
    """``derive time-wait --engine smt`` on the preset ``incarnations``, MSL 1..16 (in a child process)."""
    from checks.derive_smt import DEFAULT_MSL, derive_time_wait_smt

    start = time.perf_counter()
    d = derive_time_wait_smt(preset("incarnations"), DEFAULT_MSL)
    seconds = time.perf_counter() - start
    explicit = sum(a.seconds for a in d.explicit.attempts)
    return {
        "msl": f"{DEFAULT_MSL.start}..{DEFAULT_MSL.stop - 1}",
        "answers": ", ".join(str(r.time_wait) for r in d.rows),
        "explicit": round(explicit, 2),
        "compile": round(d.compile_seconds, 2),
        "queries": sum(r.queries for r in d.rows),
        "retime": round(sum(r.seconds for r in d.rows), 2),
        "first": round(d.rows[0].seconds, 2),
        "seconds": round(seconds, 2),
        "peak_mb": peak_mb(),
    }


def markdown(columns: list[tuple[str, str, str]], rows: list[dict[str, float | int | str]]) -> str:
    """A Markdown table: ``columns`` are (title, row key, format spec); numbers align right."""
    head = "| " + " | ".join(title for title, _, _ in columns) + " |\n"
    rule = "|" + "|".join("---" if i == 0 or spec == "s" else "---:" for i, (_, _, spec) in enumerate(columns)) + "|\n"

    def cell(value: float | int | str, spec: str) -> str:  # a "-" (nothing measured) is written as it is
        return format(value, spec) if isinstance(value, int | float) and spec != "s" else str(value)

    body = "".join("| " + " | ".join(cell(r[key], spec) for _, key, spec in columns) + " |\n" for r in rows)
    return head + rule + body


def bmc_table(rows: list[dict[str, float | int | str]]) -> str:
    columns = [
        ("preset", "preset", "s"),
        ("depth", "depth", ""),
        ("branches/step", "branches", ""),
        ("compile s", "compile", ""),
        ("total s", "seconds", ""),
        ("verdicts", "verdicts", "s"),
        ("peak MB", "peak_mb", ""),
    ]
    return markdown(columns, rows)


def induction_table(rows: list[dict[str, float | int | str]]) -> str:
    columns = [
        ("configuration", "config", "s"),
        ("PROVED", "proved", "s"),
        ("inductive facts", "facts", ""),
        ("of them learned", "learned", ""),
        ("queries", "queries", ""),
        ("compile s", "compile", ""),
        ("total s", "seconds", ""),
        ("peak MB", "peak_mb", ""),
    ]
    return markdown(columns, rows)


#: Capture lengths replayed by ``make bench`` (segments of :func:`checks.synthetic.bulk_transfer`), and the time
#: each run may take before the larger ones are not tried.
REPLAY_SEGMENTS = (14, 30, 100, 1_000, 10_000, 100_000)
REPLAY_SECONDS = 300

REPLAY_TEXT = (
    "\n## Replay at the length of real captures\n\n"
    "`tcpspec replay` on a legal capture of an ordinary connection (checks/synthetic.py: a handshake, data "
    "segments from A each acknowledged by B at once, a close), on the default capture network (it may lose, "
    f"delay and reorder any segment), one fresh process per length, each given {REPLAY_SECONDS} s; nodes are the "
    "search's (world, segments matched) pairs. The aim (issue 24): 1,000 segments under 2 s, 100,000 under 60 s, "
    "under 500 MB, time per segment flat. The search is layered (checks/replay.py): one step per segment seen, "
    "losses left implicit, an endpoint's unseen events taken just before its next segment, a node dropped when "
    "another can do all it can; a quick pass keeps a few nodes a step, delivers a burst in sequence order when "
    "the next segment's ACK asks for it, takes the latest of the pure ACKs in flight and forgets stale ones (its "
    "ACCEPTED is a real run; it rejects only a segment no run sends, such as an ACK of octets never sent), the "
    "exact pass decides otherwise. Before the layered search (breadth first over every interleaving): 30 "
    "segments 9.95 s, 100 segments no answer in 60 s; its first version (stop 34): 1,000 segments 0.72 s, "
    "100,000 segments 79.7 s.\n\n"
    "| segments | verdict | nodes | seconds | segments/s | peak MB |\n"
    "|---:|---|---:|---:|---:|---:|\n"
)


def measure_replay(count: int) -> dict[str, float | int | str]:
    """Replay a synthetic capture of ``count`` segments (in a child process)."""
    from checks.capture import read_text
    from checks.replay import capture_network, replay
    from checks.synthetic import bulk_transfer

    capture = read_text(Path(f"bulk-{count}.txt"), bulk_transfer((count - 6) // 2))
    start = time.perf_counter()
    result = replay(capture, capture_network())
    seconds = time.perf_counter() - start
    return {
        "segments": len(capture.segments),
        "verdict": result.verdict,
        "nodes": result.explored,
        "seconds": round(seconds, 2),
        "segments_per_second": round(len(capture.segments) / seconds) if seconds > 0 else 0,
        "peak_mb": peak_mb(),
    }


#: The long recordings of this kernel replayed by ``make bench``: (capture, --at, change), where a change
#: raises the ACK of the middle data segment of A by 100,000 (an ACK of octets never sent).
RECORDED_REPLAYS = (
    ("bulk", None, False),
    ("bulk", "A", False),
    ("bulk", "B", False),
    ("bulk", None, True),
    ("bulk-drop", None, False),
    ("bulk-drop", "A", False),
    ("slow-reader", None, False),
    ("slow-reader", "A", False),
    ("slow-reader", "B", False),
)

RECORDED_TEXT = (
    "\nThe long recordings of this kernel (`tcpspec record`, tests/captures/: MSS-sized segments on a loopback "
    "with MTU 1500, headers only), on the default network, on the wire and as seen at one host (`--at`), and "
    "one with the ACK of A's middle data segment raised by 100,000 (an ACK of octets B never sent), each in a "
    "fresh process:\n\n"
    "| capture | seen | segments | verdict | nodes | seconds | segments/s | peak MB |\n"
    "|---|---|---:|---|---:|---:|---:|---:|\n"
)


def measure_recorded(name: str, at: str | None, changed: bool) -> dict[str, float | int | str]:
    """Replay a committed long recording (in a child process); ``changed``: with one ACK raised."""
    from checks.capture import read_capture
    from checks.replay import capture_network, replay

    capture = read_capture(Path(__file__).resolve().parent.parent / "tests" / "captures" / f"{name}.pcap")
    if changed:
        data = [k for k, o in enumerate(capture.segments) if o.length and o.sender == "A"]
        k = data[len(data) // 2]
        o = capture.segments[k]
        capture.segments[k] = dataclasses.replace(o, ack=((o.ack or 0) + 100_000) % 2**32)
    start = time.perf_counter()
    result = replay(capture, capture_network(), at=at)
    seconds = time.perf_counter() - start
    verdict = result.verdict if result.rejected_at is None else f"{result.verdict} at {result.rejected_at + 1:,}"
    return {
        "segments": len(capture.segments),
        "verdict": verdict,
        "nodes": result.explored,
        "seconds": round(seconds, 2),
        "segments_per_second": round(len(capture.segments) / seconds) if seconds > 0 else 0,
        "peak_mb": peak_mb(),
    }


def recorded_rows() -> str:
    """One row per entry of :data:`RECORDED_REPLAYS`."""
    lines = []
    for name, at, changed in RECORDED_REPLAYS:
        args = ["--recorded", name, at or "wire", "changed" if changed else "as-recorded"]
        row = _child(*args)
        seen = f"at {at}" if at else "wire"
        label = f"{name} (one ACK changed)" if changed else name
        print(f"replay {label} {seen}: {row['verdict']} in {row['seconds']} s", flush=True)
        lines.append(
            f"| {label} | {seen} | {row['segments']:,} | {row['verdict']} | {row['nodes']:,} | {row['seconds']} | "
            f"{row['segments_per_second']:,} | {row['peak_mb']} |\n"
        )
    return RECORDED_TEXT + "".join(lines)


def replay_section() -> str:
    """How replay's time grows with the capture's length, each length in a fresh process."""
    lines = []
    stopped: str | None = None
    for count in REPLAY_SEGMENTS:
        if stopped is not None:
            lines.append(f"| {count:,} | not run: {stopped} | | | | |\n")
            continue
        args = [sys.executable, "-m", "checks.bench", "--replay", str(count)]
        try:
            proc = subprocess.run(args, capture_output=True, text=True, check=True, timeout=REPLAY_SECONDS)
        except subprocess.TimeoutExpired:
            lines.append(f"| {count:,} | no answer in {REPLAY_SECONDS} s | | | | |\n")
            stopped = f"{count:,} segments did not answer"
            print(f"replay {count:>7,} segments: no answer in {REPLAY_SECONDS} s", flush=True)
            continue
        row = json.loads(proc.stdout)
        print(f"replay {count:>7,} segments: {row['verdict']} in {row['seconds']} s", flush=True)
        lines.append(
            f"| {row['segments']:,} | {row['verdict']} | {row['nodes']:,} | {row['seconds']} | "
            f"{row['segments_per_second']:,} | {row['peak_mb']} |\n"
        )
    return REPLAY_TEXT + "".join(lines) + recorded_rows()


def _rewrite_section(out: str, heading: str, following: str, section: Callable[[], str]) -> None:
    """Measure ``section`` afresh; put it in ``out`` in place of the one under ``heading`` (or before ``following``)."""
    old = Path(out).read_text(encoding="utf-8")
    end = old.index(following)
    start = old.find(heading)
    write_atomically(out, old[: start if start >= 0 else end] + section() + old[end:])


def _child(*args: str) -> dict[str, float | int | str]:
    """Run ``python -m checks.bench ARGS`` in a fresh process and read the JSON it prints."""
    proc = subprocess.run([sys.executable, "-m", "checks.bench", *args], capture_output=True, text=True, check=True)
    result: dict[str, float | int | str] = json.loads(proc.stdout)
    return result


def z3_sections() -> str:
    """The Z3 sections of BENCH.md, measured afresh (each run in a fresh process)."""
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
    alone = []
    for name, depth in BMC_ALONE:
        times = []
        for prop in ALONE_PROPERTIES:
            proc = subprocess.run(
                [sys.executable, "-m", "checks.bench", "--bmc", name, str(depth), prop],
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(proc.stdout)
            times.append(f"{prop} {row['seconds']} s")
            print(f"bmc {name:<20} {prop:<20} {row['seconds']:>8} s", flush=True)
        alone.append(f"- {name} (depth {depth}): " + "; ".join(times) + "\n")
    per_property = "".join(alone)
    induction_rows, induction_alone = [], []
    for name, symbolic in induction_runs():
        iss = "any-iss" if symbolic else "configured"
        row = _child("--induction", name, iss)
        induction_rows.append(row)
        print(f"induction {row['config']:<30} {row['proved']} PROVED {row['seconds']:>8} s", flush=True)
        if name not in INDUCTION_ALONE:
            continue
        times = []
        for prop in ALONE_PROPERTIES:
            one = _child("--induction", name, iss, prop)
            times.append(f"{prop} {one['verdict']} in {one['seconds']} s")
            print(f"induction {row['config']:<30} {prop:<20} {one['verdict']:<8} {one['seconds']:>8} s", flush=True)
        induction_alone.append(f"- {row['config']}: " + "; ".join(times) + "\n")
    return (
        "\n## Bounded model checking with Z3\n\n"
        f"`bmc` of the {len(ALONE_PROPERTIES)} properties Z3 checks (the safety properties and no-deadlock), one "
        "fresh process per preset: compiling the "
        "rules into the relation, then one incremental QF_BV solver unrolled depth by depth.\n\n"
        + bmc_table(bmc_rows)
        + "\nEach property checked alone (seconds in all, compiling included):\n\n"
        + per_property
        + "\n## Proofs by induction with Z3\n\n"
        "`prove` (Houdini over the strengthening invariants of `checks/invariants.py`) of the "
        f"{len(ALONE_PROPERTIES)} properties together, one fresh process per configuration, each run "
        "given up to "
        f"{INDUCTION_SECONDS:g} s ({INDUCTION_SECONDS_TIMED:g} s on the timed presets, with "
        f"{max(INDUCTION_SLOTS.values())} slots per channel and the lemmas of `checks/learned/`, "
        "once they are inductive).\n\n"
        + induction_table(induction_rows)
        + "\nEach property proved alone (its own candidates and the invariants; seconds in all), on the "
        "configurations that take less than a minute together:\n\n"
        + "".join(induction_alone)
        + reach_section()
        + derive_section()
        + TIME_WAIT_BEYOND_TEXT
        + HOUDINI_TEXT
        + LEARN_TEXT
        + SPACER_TEXT
    )


def derive_section() -> str:
    """TIME-WAIT derived by Z3 for every MSL, measured in a fresh process."""
    row = _child("--derive-smt")
    print(f"derive time-wait --engine smt: {row['seconds']} s", flush=True)
    return (
        "\n## TIME-WAIT derived by Z3\n\n"
        "`tcpspec derive time-wait --engine smt` on `incarnations`: the explicit sweep at MSL = 1 tick, then its "
        "counterexample retimed by one solver for every MSL (seconds; the first MSL's queries include the solver's "
        "first search of the unrolled schedule).\n\n"
        + markdown(
            [
                ("MSL", "msl", "s"),
                ("longest TIME-WAIT with an old duplicate", "answers", "s"),
                ("explicit sweep", "explicit", ""),
                ("compile", "compile", ""),
                ("queries", "queries", ""),
                ("Z3 (first MSL)", "first", ""),
                ("Z3 (all)", "retime", ""),
                ("total", "seconds", ""),
                ("peak MB", "peak_mb", ""),
            ],
            [row],
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checks.bench")
    parser.add_argument("--out", default="BENCH.md", help="where to write the Markdown table")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child-process mode
    parser.add_argument("--spin", nargs="+", help=argparse.SUPPRESS)  # child-process mode: NAME [STORE BITS CORES]
    parser.add_argument(
        "--large-only",
        action="store_true",
        help="measure SPIN on the large presets only, keeping the other sections of --out as they are",
    )
    parser.add_argument(
        "--engines-only",
        action="store_true",
        help="measure the explicit and spin engines only, keeping the Z3 sections of --out as they are",
    )
    parser.add_argument(
        "--z3-only",
        action="store_true",
        help="measure BMC and induction only, keeping the explicit, spin and liveness sections of --out as they are",
    )
    parser.add_argument("--liveness", help=argparse.SUPPRESS)  # child-process mode: NAME
    parser.add_argument("--bmc", nargs="+", help=argparse.SUPPRESS)  # child-process mode: NAME DEPTH [PROPERTY]
    parser.add_argument("--derive-smt", action="store_true", help=argparse.SUPPRESS)  # child-process mode
    parser.add_argument("--reach", help=argparse.SUPPRESS)  # child-process mode: NAME
    parser.add_argument("--replay", type=int, help=argparse.SUPPRESS)  # child-process mode: SEGMENTS
    parser.add_argument("--recorded", nargs=3, help=argparse.SUPPRESS)  # child-process mode: NAME AT CHANGED
    parser.add_argument("--replay-only", action="store_true", help="only re-measure the replay section")
    parser.add_argument(
        "--reach-only",
        action="store_true",
        help="measure the proofs over the reachable states only, keeping the other sections of --out as they are",
    )
    parser.add_argument("--induction", nargs="+", help=argparse.SUPPRESS)  # child: NAME any-iss|configured [PROP]
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one)))
        return 0
    if args.spin:
        name, *more = args.spin
        store, bits, cores = (more[0], int(more[1]), int(more[2])) if more else ("exact", None, 1)
        print(json.dumps(measure_spin(name, store, bits, cores)))
        return 0
    if args.liveness:
        print(json.dumps(measure_liveness(args.liveness)))
        return 0
    if args.bmc:
        print(json.dumps(measure_bmc(args.bmc[0], int(args.bmc[1]), *args.bmc[2:])))
        return 0
    if args.derive_smt:
        print(json.dumps(measure_derive_smt()))
        return 0
    if args.reach:
        print(json.dumps(measure_reach(args.reach)))
        return 0
    if args.replay:
        print(json.dumps(measure_replay(args.replay)))
        return 0
    if args.recorded:
        name, at, changed = args.recorded
        print(json.dumps(measure_recorded(name, None if at == "wire" else at, changed == "changed")))
        return 0
    if args.replay_only:
        _rewrite_section(args.out, "\n## Replay at the length", "\n## Bounded model checking", replay_section)
        return 0
    if args.reach_only:
        reach = "\n## Proofs over the reachable states"
        _rewrite_section(args.out, reach, "\n## TIME-WAIT derived by Z3", reach_section)
        return 0
    if args.induction:
        name, iss, *prop = args.induction
        print(json.dumps(measure_induction(name, iss == "any-iss", *prop)))
        return 0
    if args.z3_only:
        old = Path(args.out).read_text(encoding="utf-8")
        write_atomically(args.out, old[: old.index("\n## Bounded model checking")] + z3_sections())
        return 0
    large = []
    if not args.engines_only:
        for config in large_presets():
            for store, bits, cores in LARGE_RUNS:
                try:
                    row = _child("--spin", config.name, store, str(bits), str(cores))
                except subprocess.CalledProcessError as err:
                    print(f"spin {config.name} {store} -w{bits} {cores} core(s) failed: {err.stderr[-500:]}")
                    continue
                large.append(row)
                print(
                    f"spin {row['preset']:<15} {store:<8} -w{bits} {cores} core(s) {row['spin_states']:>11,} states "
                    f"{row['spin_seconds']:>8} s {row['spin_mb']:>8} MB",
                    flush=True,
                )
    large_section = LARGE_TEXT + large_table(large)
    if args.large_only:
        old = Path(args.out).read_text(encoding="utf-8")
        end = old.find("\n## Replay at the length")
        end = end if end >= 0 else old.index("\n## Bounded model checking")
        start = old.find("\n## SPIN at scale") if "\n## SPIN at scale" in old else end
        write_atomically(args.out, old[:start] + large_section + old[end:])
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
    spin_rows = []
    for config in presets():
        row = _child("--spin", config.name)
        spin_rows.append(row)
        print(
            f"spin {row['preset']:<15} {row['spin_states']:>9,} states {row['spin_seconds']:>8} s "
            f"{row['spin_states_per_second']:>9,} states/s {row['spin_mb']:>7} MB",
            flush=True,
        )
    live_rows = []
    for config in presets():
        row = _child("--liveness", config.name)
        live_rows.append(row)
        print(
            f"liveness {row['preset']:<20} explicit {row['explicit_seconds']:>7} s, spin {row['spin_seconds']:>6} s "
            f"({row['product_states']:,} states), agree: {row['agree']}",
            flush=True,
        )
    engines = (
        "# Benchmarks\n\n"
        "Written by `make bench`. The explicit engine explores each preset (no property checks), one fresh "
        "process per preset; peak MB is that process's maximum resident memory, and B/state its growth "
        "beyond the smallest run's, per state (shown from 10,000 states). SPIN searches the generated "
        "Promela model of the same preset (`pan` compiled with -O2 -DNOREDUCE, depth first, no property "
        "checked); its MB is pan's total (its default hash table, 2**24 slots, takes 128 MB of it), and its "
        "B/state pan's memory for the stored states. The explicit engine keeps each state as one packed "
        "integer (checks/store.py); its B/state counts that, the BFS arrays and the edges. The two engines' "
        "state counts are equal on every preset (tests/test_spin.py). Below 10,000 states both runs are "
        "start-up (pan allocating its tables, Python its first objects), so only the larger presets' rates "
        "and ratios measure speed.\n\n"
        f"Machine: {platform.machine()}, Python {platform.python_version()}, {platform.system()}.\n\n"
        + side_by_side(rows, spin_rows)
        + LIVENESS_TEXT
        + liveness_table(live_rows)
    )
    if args.engines_only:
        old = Path(args.out).read_text(encoding="utf-8")
        rest = old[old.find("\n## SPIN at scale") if "\n## SPIN at scale" in old else old.index("\n## Bounded") :]
        write_atomically(args.out, engines + rest)
        return 0
    write_atomically(args.out, engines + large_section + replay_section() + z3_sections())
    return 0


if __name__ == "__main__":
    sys.exit(main())
