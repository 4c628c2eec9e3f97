"""The tcpspec command: exit codes, JSON, JUnit, and what users see on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from checks.cli import main
from checks.properties import PROPERTIES
from checks.scenarios import scenarios
from spec.presets import large_presets, presets

BROKEN = """
name = "lossy-without-retransmission"
description = "a lost segment is never sent again"
[a]
script = ["open", "wait-open", "close"]
iss = [4294967295]
[b]
script = ["listen", "wait-open", "wait-eof", "close"]
iss = [300]
[faults]
loss = 1
"""


def run(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_prints_presets_then_properties_then_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("list", capsys=capsys)
    assert code == 0
    blocks = [block.splitlines() for block in out.split("\n\n")]
    configs = (*presets(), *large_presets())
    assert [len(b) for b in blocks] == [len(configs), len(PROPERTIES), len(scenarios())]
    assert [line.split()[0] for line in blocks[0]] == [c.name for c in configs]
    assert [line.split()[0] for line in blocks[1]] == [p.name for p in PROPERTIES]
    assert [line.split()[0] for line in blocks[2]] == [s.name for s in scenarios()]


def test_check_passes_with_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("check", "--config", "handshake", capsys=capsys)
    assert code == 0
    assert "handshake-sync           invariant    EXHAUSTED (28 states)" in out
    assert "one-connection-per-open  invariant    EXHAUSTED (28 states)" in out


def test_json_document_is_stable(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("check", "-c", "simultaneous-open", "--json", capsys=capsys)
    assert code == 0
    doc = json.loads(out)
    assert list(doc)[:7] == ["config", "engine", "complete", "states", "transitions", "depth", "seconds"]
    assert doc["config"] == "simultaneous-open" and doc["engine"] == "explicit"
    assert [r["property"] for r in doc["results"]] == [p.name for p in PROPERTIES]
    for r in doc["results"]:
        assert set(r) >= {"property", "kind", "verdict", "trace"}
        assert r["verdict"] in ("EXHAUSTED", "REACHED")
        assert r["trace"] is None


def test_violation_exits_1_with_a_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN, encoding="utf-8")
    junit = tmp_path / "out" / "junit.xml"
    junit.parent.mkdir()
    code, out, _ = run("check", "-c", str(path), "--junit", str(junit), capsys=capsys)
    assert code == 1
    assert "no-deadlock VIOLATED" in out
    assert "shortest trace found (3 steps)" in out
    assert "lose A > B: Flags [S], seq 4294967295, length 0" in out
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("name") == "lossy-without-retransmission"
    failed = [case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None]
    assert "no-deadlock" in failed
    assert list(tmp_path.joinpath("out").iterdir()) == [junit]  # nothing half-written left behind


def test_violation_json_carries_the_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN, encoding="utf-8")
    code, out, _ = run("check", "-c", str(path), "-p", "no-deadlock", "--json", capsys=capsys)
    assert code == 1
    result = json.loads(out)["results"][0]
    assert result["verdict"] == "VIOLATED"
    assert [step["actor"] for step in result["trace"]] == ["A", "B", "network"]
    assert result["trace"][2]["event"].startswith("lose A > B: Flags [S]")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "-c", "no-such-preset"], "unknown configuration 'no-such-preset'"),
        (["check", "-c", "missing.toml"], "cannot read the configuration"),
        (["check", "-c", "handshake", "-p", "liveliness"], "unknown property 'liveliness'"),
        (["check", "-c", "handshake", "--max-states", "0"], "--max-states must be at least 1"),
        (["check", "-c", "handshake", "--max-seconds", "-1"], "--max-seconds must be positive"),
        (["check", "--engine", "z4"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_input_exits_2(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(*args, capsys=capsys)
    assert code == 2
    assert err.startswith("tcpspec: error: ")
    assert message in err
    assert "Traceback" not in err + out


def test_malformed_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[a]\nscript = ['open']\n[b]\nscript = ['listen', 'teleport']\n", encoding="utf-8")
    code, _, err = run("check", "-c", str(path), capsys=capsys)
    assert code == 2
    assert "unknown call 'teleport'" in err


def test_a_limit_exits_3_and_claims_no_proof(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("check", "-c", "lifecycle", "--max-states", "20", capsys=capsys)
    assert code == 3
    assert "INCOMPLETE" in out
    assert "EXHAUSTED" not in out
    assert "HOLDS TO DEPTH" in out and "UNKNOWN" in out


def test_console_script_runs_from_a_fresh_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "checks.cli", "check", "-c", "handshake", "-p", "coverage"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "coverage" in proc.stdout and "REACHED 4/4 goals" in proc.stdout


def test_bmc_engine_reports_bounded_verdicts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("check", "--engine", "bmc", "--config", "handshake", "--depth", "5", capsys=capsys)
    assert code == 0
    assert "handshake [bmc]" in out and "bmc to depth 5 of 5" in out
    assert out.count("HOLDS TO DEPTH 5") == 8  # the seven safety properties and no-deadlock, never EXHAUSTED or PROVED
    assert "EXHAUSTED" not in out and "PROVED" not in out


def test_engine_all_runs_every_engine_and_compares(capsys: pytest.CaptureFixture[str]) -> None:
    bounded = str(Path(__file__).parent.parent / "checks" / "configs" / "handshake-capacity-2.toml")
    code, out, _ = run("check", "--engine", "all", "--config", bounded, "--depth", "4", "--json", capsys=capsys)
    assert code == 0
    doc = json.loads(out)
    assert [r["engine"] for r in doc["runs"]] == ["explicit", "smt", "spin"]
    assert doc["disagreements"] == []
    assert doc["runs"][1]["states"] is None and doc["runs"][1]["depth"] == 4
    assert doc["runs"][2]["states"] == doc["runs"][0]["states"] and doc["runs"][2]["complete"]


def test_spin_refuses_a_depth_bound(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run("check", "--engine", "spin", "-c", "handshake", "--depth", "3", capsys=capsys)
    assert code == 2 and "spin searches every state" in err


@pytest.mark.parametrize(
    "args",
    [
        ["--engine", "bmc", "--depth", "-1"],
        ["--engine", "bmc", "--slots", "0"],
        ["--engine", "explicit", "--depth", "3"],
        ["--engine", "smt-of-the-future"],
        ["--engine", "bmc", "--max-seconds", "5"],
        ["--engine", "all", "--symbolic-iss"],
    ],
)
def test_bad_engine_options_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run("check", "--config", "handshake", *args, capsys=capsys)
    assert code == 2
    assert err.startswith("tcpspec: error:")


def test_an_engine_disagreement_is_reported_not_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A symbolic trace that the explicit engine cannot follow ends in exit 1 and one line, never a traceback."""
    import checks.cli
    from checks.bmc import EngineDisagreement

    def disagreeing(*args: object, **kwargs: object) -> None:
        raise EngineDisagreement("step 3: the explicit engine has no transition from w to v")

    monkeypatch.setattr(checks.cli, "run_bmc", disagreeing)
    code, _, err = run("check", "-c", "handshake", "--engine", "bmc", capsys=capsys)
    assert code == 1
    assert err == "ENGINES DISAGREE: step 3: the explicit engine has no transition from w to v\n"
