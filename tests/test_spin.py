"""SPIN, on the Promela model generated from the rules, agrees with the explicit engine.

Every preset: the same number of reachable states (exactly: the model stores one SPIN state per
world), the same depth, the same verdict on every property it checks: the safety properties, no-deadlock, and
establishes and closes under weak fairness.  Broken rules: SPIN finds the
violation, and its trail, replayed through the explicit engine, is as short as breadth-first search's.
The C that the model computes with is held against z3 on the values where 32-bit arithmetic wraps.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import z3

from checks.catalogue import cases
from checks.cli import main
from checks.promela import CHECKED, CTerms, generate
from checks.promela_liveness import LIVENESS, property_bit
from checks.properties import PARTIAL, VIOLATED, check, property_named
from checks.spin import SPIN_CHECKS, PanReport, Search, run_spin
from checks.symbolic import Relation
from checks.terms import Term
from checks.trace import build_trace, format_trace
from spec.config import Config
from spec.machine import Machine
from spec.presets import large_presets, preset, presets
from spec.rulebook import all_rules
from spec.seqnum import seq_add, seq_le, seq_lt, seq_sub
from spec.states import FIN_WAIT_2
from spec.variants import variant_named

MANIFEST = json.loads((Path(__file__).parent / "golden" / "manifest.json").read_text())


#: The presets of more than 10,000 states (tests/test_agreement_spin_large.py checks them, on a worker of their own).
LARGE = ("lossy", "chaos", "incarnations", "lost-ack")


def assert_spin_agrees(name: str) -> None:
    """SPIN's states, depth and verdicts on preset ``name`` are the pinned ones of the explicit engine.

    The verdicts are those of every property SPIN checks: the safety properties, and the liveness
    properties under weak fairness, whose model has each state once before the premise and the
    states after it again (more states exactly when the premise holds somewhere).
    """
    run = run_spin(preset(name), list(SPIN_CHECKS))
    pinned = MANIFEST[name]
    assert run.complete
    assert run.stats["states"] == pinned["states"]
    assert run.stats["spin_states"] == pinned["states"]  # no mapping: one SPIN state per world
    assert run.stats["depth"] == pinned["depth"]
    verdicts = {r.prop.name: r.verdict_text for r in run.results}
    assert verdicts == {p.name: pinned["verdicts"][p.name] for p in SPIN_CHECKS}
    live = run.stats["liveness_states"]
    assert isinstance(live, int) and live >= pinned["states"]


@pytest.mark.parametrize("name", [c.name for c in presets() if c.name not in LARGE])
def test_spin_counts_the_states_and_gives_the_verdicts_of_the_explicit_engine(name: str) -> None:
    assert_spin_agrees(name)


def _shortest(config_name: str, prop: str, rules: tuple) -> int:  # type: ignore[type-arg]
    return _shortest_of(preset(config_name), prop, rules)


def test_a_trail_is_replayed_as_the_explicit_engine_s_own_trace() -> None:
    """no-time-wait in lifecycle: FIN-WAIT-2 -> CLOSED is no RFC edge; SPIN's trail is BFS's length."""
    variant = variant_named("no-time-wait")
    config = variant.config(preset("lifecycle"))
    rules = variant.rules(all_rules())
    run = run_spin(config, [property_named("rfc-conformance"), property_named("handshake-sync")], rules)
    verdicts = {r.prop.name: r for r in run.results}
    assert verdicts["handshake-sync"].verdict == "EXHAUSTED"
    found = verdicts["rfc-conformance"]
    assert found.verdict == VIOLATED and found.counterexample is not None
    assert "FIN-WAIT-2 -> CLOSED" in found.counterexample.message
    explicit, results = check(config, [property_named("rfc-conformance")], rules=rules)
    bfs = results[0].counterexample
    assert bfs is not None and len(found.counterexample.path) == len(bfs.path)
    steps = build_trace(Machine(config, rules), found.counterexample.path)
    assert "A FIN-WAIT-2 -> CLOSED" in format_trace(steps).splitlines()[-1]
    assert run.stats["states"] == len(explicit.states)


def test_overlapping_rules_are_a_determinism_violation_for_spin_too() -> None:
    rules = all_rules()
    listen_syn = next(r for r in rules if r.name == "listen-syn")
    twin = dataclasses.replace(listen_syn, name="listen-syn-twin")
    run = run_spin(preset("handshake"), [property_named("rules-deterministic")], (*rules, twin))
    result = run.results[0]
    assert result.verdict == VIOLATED and result.counterexample is not None
    assert "listen-syn, listen-syn-twin" in result.counterexample.message
    assert len(result.counterexample.path) == _shortest("handshake", "rules-deterministic", (*rules, twin))


def test_a_wrong_target_state_is_found_as_short_as_by_breadth_first_search() -> None:
    rules = tuple(dataclasses.replace(r, to=FIN_WAIT_2) if r.name == "closing-ack-of-fin" else r for r in all_rules())
    run = run_spin(preset("simultaneous-close"), [property_named("rfc-conformance")], rules)
    result = run.results[0]
    assert result.verdict == VIOLATED and result.counterexample is not None
    assert "CLOSING -> FIN-WAIT-2" in result.counterexample.message
    assert len(result.counterexample.path) == _shortest("simultaneous-close", "rfc-conformance", rules)


def test_a_deadlock_is_found_by_spin_s_timeout_as_short_as_by_breadth_first_search() -> None:
    """lossy without retransmission: a lost SYN leaves A in SYN-SENT for ever (the catalogue's case)."""
    variant = variant_named("no-retransmission")
    config, rules = variant.config(preset("lossy")), variant.rules(all_rules())
    run = run_spin(config, [property_named("no-deadlock"), property_named("handshake-sync")], rules)
    verdicts = {r.prop.name: r for r in run.results}
    assert verdicts["handshake-sync"].verdict == "EXHAUSTED"
    found = verdicts["no-deadlock"]
    assert found.verdict == VIOLATED and found.counterexample is not None
    assert found.counterexample.message.startswith("no event can happen: A's user waits in wait-open")
    assert len(found.counterexample.path) == _shortest_of(config, "no-deadlock", rules)
    explicit, _ = check(config, [], rules=rules)
    assert run.stats["spin_states"] == len(explicit.states)  # the timeout command adds no state


def test_a_second_connection_from_one_open_is_found_by_spin() -> None:
    """The two-way handshake: an old duplicate SYN opens a second connection (the catalogue's case)."""
    case = next(c for c in cases() if c.name == "two-way-handshake")
    config, rules = case.variant.config(case.config), case.variant.rules(all_rules())
    run = run_spin(config, [case.prop], rules)
    found = run.results[0]
    assert found.verdict == VIOLATED and found.counterexample is not None
    assert "both connected with A's incarnation 1, which opened one connection" in found.counterexample.message
    assert len(found.counterexample.path) == _shortest_of(config, case.prop.name, rules)


def _shortest_of(config: Config, prop: str, rules: tuple) -> int:  # type: ignore[type-arg]
    _, results = check(config, [property_named(prop)], rules=rules)
    cx = results[0].counterexample
    assert results[0].verdict == VIOLATED and cx is not None
    return len(cx.path)


# --- The C of the model, against z3 ----------------------------------------------------------------

EDGES = (0, 1, 2, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFE, 0xFFFFFFFF, 300, 1000)


def test_the_c_of_sequence_arithmetic_is_z3_s(tmp_path: Path) -> None:
    """seq_lt, seq_le, seq_add, seq_sub and unsigned comparison, written as C, on the values where they wrap."""
    a, b = z3.BitVec("a", 32), z3.BitVec("b", 32)
    x, y = Term(a), Term(b)
    terms = [
        seq_lt(x, y).e,
        seq_le(x, y).e,
        seq_add(x, y).e,
        seq_sub(x, y).e,
        seq_add(x, 1).e,
        z3.ULT(a, b),
        a < b,  # signed
        z3.Extract(7, 0, a + b),
        z3.ZeroExt(24, z3.Extract(7, 0, a)) + 255,
        z3.If(z3.UGT(a, b), a - b, b - a),
        z3.BitVecVal(0xFFFFFFFF, 32) * (a + b),  # each operand in parentheses
        ~(a + b) - (a - b),
        z3.Extract(31, 31, a - b) == 1,
        z3.Not(z3.And(z3.ULT(a, b), a != b)),
    ]
    c = CTerms({"a": "a", "b": "b"})
    c.prepare(terms)
    exprs = [c.expr(t) for t in terms]
    body = "\n".join("    " + line for line in c.lines)
    prints = "\n".join(f'    printf("%u\\n", (unsigned) ({e}));' for e in exprs)
    program = tmp_path / "t.c"
    program.write_text(
        "#include <stdio.h>\n#include <stdint.h>\n#include <stdlib.h>\n"
        "int main(int argc, char **argv) {\n"
        "    uint32_t a = (uint32_t) strtoul(argv[1], 0, 10), b = (uint32_t) strtoul(argv[2], 0, 10);\n"
        f"{body}\n{prints}\n    return 0;\n}}\n"
    )
    subprocess.run(["gcc", "-O0", "-o", str(tmp_path / "t"), str(program)], check=True)
    for va in EDGES:
        for vb in EDGES:
            out = subprocess.run([str(tmp_path / "t"), str(va), str(vb)], capture_output=True, text=True, check=True)
            got = [int(line) for line in out.stdout.split()]
            want = []
            for t in terms:
                v = z3.simplify(z3.substitute(t, (a, z3.BitVecVal(va, 32)), (b, z3.BitVecVal(vb, 32))))
                want.append(int(z3.is_true(v)) if z3.is_bool(v) else v.as_long())
            assert got == want, (va, vb)


# --- The export -----------------------------------------------------------------------------------


def test_the_export_is_deterministic_and_cites_the_rfc(tmp_path: Path) -> None:
    """Byte for byte the same from one run to the next (each a fresh process, as z3 orders terms by creation)."""
    first, second = tmp_path / "a.pml", tmp_path / "b.pml"
    for out in (first, second):
        command = [sys.executable, "-m", "checks.cli", "export", "promela", "-c", "handshake", "-o", str(out)]
        subprocess.run(command, check=True)
    text = first.read_text()
    assert text == second.read_text()
    assert "listen-syn (RFC 9293 §3.10.7.2, third step)" in text
    assert "int A_snd_nxt = 0;" in text and "active proctype tcp()" in text
    model = generate(preset("handshake"), relation=Relation(preset("handshake"), per_state=True))
    assert len(model.options) == text.count(":: d_step { c_expr { (B")


def test_the_liveness_export_has_the_monitor_and_says_how_to_check_it(tmp_path: Path) -> None:
    out = tmp_path / "live.pml"
    assert main(["export", "promela", "-c", "lifecycle", "--liveness", "-o", str(out)]) == 0
    text = out.read_text()
    assert "Promela liveness model of configuration 'lifecycle'" in text
    assert "accept_fair:" in text and "accept_stuck:" in text and "byte monitor = 0;" in text
    for p in LIVENESS:
        assert f"TCPSPEC_PROPERTIES={property_bit(p)} ({p.name})" in text
    safety = generate(preset("lifecycle"), relation=Relation(preset("lifecycle"), per_state=True))
    # the safety model's commands, each guarded by the monitor; and one more, the guess that starts it
    assert text.count(":: d_step { c_expr { ((now.monitor == 0 ||") == len(safety.options)
    assert text.count(":: d_step { c_expr { (now.monitor == 0 && premise() && !goal_at(") == 1


def test_the_export_refuses_what_it_cannot_encode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "big.toml"
    config.write_text(
        'name = "big"\n[a]\nscript = ["open", "send"]\niss = [1]\nsizes = [5]\n[b]\nscript = ["listen"]\niss = [2]\n'
    )
    assert main(["export", "promela", "-c", str(config)]) == 2
    assert "one-octet units" in capsys.readouterr().err
    assert main(["export", "promela", "-c", "no-such-preset"]) == 2
    assert main(["export", "promela", "-c", "handshake", "--slots", "0"]) == 2
    assert not list(tmp_path.glob("*.pml"))


# --- pan's state stores ---------------------------------------------------------------------------


def test_collapse_stores_the_same_states_with_the_same_verdicts() -> None:
    run = run_spin(preset("lifecycle"), list(CHECKED), search=Search("collapse"))
    assert run.complete and run.stats["store"] == "collapse"
    assert run.stats["states"] == MANIFEST["lifecycle"]["states"]
    assert {r.verdict for r in run.results} == {"EXHAUSTED"}


def test_a_bitstate_search_is_partial_never_exhausted(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_spin(preset("lifecycle"), list(CHECKED), search=Search("bitstate", hash_bits=20))
    assert not run.complete and run.incomplete
    factor = run.stats["hash_factor"]
    assert isinstance(factor, float) and factor == pytest.approx(2**20 / run.stats["states"], rel=0.01)
    assert {r.verdict for r in run.results} == {PARTIAL}
    assert all(f"hash factor {factor:,.1f}" in r.detail for r in run.results)
    assert main(["check", "-c", "handshake", "--engine", "spin", "--store", "bitstate"]) == 3  # exit: incomplete
    assert "PARTIAL (28 states; bitstate hash factor" in capsys.readouterr().out


def test_a_bitstate_search_still_finds_a_real_violation() -> None:
    """What bitstate hashing finds is a path of the explicit engine: VIOLATED, not PARTIAL."""
    variant = variant_named("no-time-wait")
    config, rules = variant.config(preset("lifecycle")), variant.rules(all_rules())
    run = run_spin(config, [property_named("rfc-conformance")], rules, search=Search("bitstate", "-O0", 22))
    found = run.results[0]
    assert found.verdict == VIOLATED and found.counterexample is not None
    assert "FIN-WAIT-2 -> CLOSED" in found.counterexample.message


def test_store_and_pan_opt_are_for_spin(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-c", "handshake", "--store", "bitstate"]) == 2
    assert main(["check", "-c", "handshake", "--engine", "bmc", "--pan-opt", "1"]) == 2
    assert main(["check", "-c", "handshake", "--engine", "spin", "--store", "ma"]) == 2
    assert "--engine spin" in capsys.readouterr().err


def test_the_large_presets_are_named_but_not_checked_by_default() -> None:
    names = [c.name for c in large_presets()]
    assert names and not set(names) & {c.name for c in presets()}
    assert all(preset(n).name == n for n in names)


def test_pan_s_counts_are_read_in_scientific_notation_too() -> None:
    text = " 17082759 states, stored\n95004314 states, matched\n1.1208707e+08 transitions (= stored+matched)\n"
    report = PanReport.parse(text + "hash factor: 62.8576 (best if > 100.)\n", 1.0)
    assert (report.states, report.transitions, report.hash_factor) == (17_082_759, 112_087_070, 62.8576)


def test_a_search_cut_short_by_memory_says_so() -> None:
    text = "pan: reached -DMEMLIM bound\n\t1.8e+10 bytes used\n 5000000 states, stored\n"
    report = PanReport.parse(text, 1.0)
    assert not report.complete
    assert report.stopped() == (
        "-- pan stopped before the end (5,000,000 states): out of memory (it may use three quarters of this machine's)"
    )
    assert PanReport.parse(" 28 states, stored\n", 1.0).complete


def test_a_search_gives_pan_the_flags_it_names() -> None:
    assert Search().defines[:2] == ("-DNOREDUCE", "-DBFS")  # breadth first: shortest trails
    one, two = Search().defines[2], Search(breadth_first=False, cores=2).defines[2]
    assert one.startswith("-DMEMLIM=") and int(one.split("=")[1]) > int(two.split("=")[1]) > 0
    assert Search().args == ("-E",)
    assert Search("bitstate").args == ("-E", "-w32")
    assert Search("collapse", hash_bits=26, max_depth=10_000).args == ("-E", "-w26", "-m10000")
    both = Search(breadth_first=False, cores=2)
    assert both.defines[:2] == ("-DNOREDUCE", "-DNCORE=2")
    assert both.defines[2].startswith("-DMEMLIM=") and int(both.defines[2].split("=")[1]) > 0
    assert both.describe() == "depth first, no reduction, 2 cores, gcc -O0"
    with pytest.raises(ValueError, match="depth first"):
        _ = Search(cores=2).defines
