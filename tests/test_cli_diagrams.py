"""The drawing commands: ``tcpspec trace``, ``tcpspec graph`` and ``tcpspec diagrams`` as users run them."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import networkx as nx
import pytest

from checks import diagrams
from checks.diagrams import Artifact
from checks.render import dot_hash, svg_stamp
from tests.test_cli import BROKEN, run


@pytest.mark.parametrize("fmt", ["text", "json", "dot", "svg", "mermaid"])
def test_trace_draws_a_scenario_in_every_format(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run("trace", "three-way-handshake", "--format", fmt, capsys=capsys)
    assert (code, err) == (0, "")
    if fmt == "text":
        assert out.startswith("Three-way handshake") and "[syn-received-ack]" in out
    elif fmt == "json":
        doc = json.loads(out)
        assert [a["fate"] for a in doc["arrows"]] == ["delivered"] * 3
    elif fmt == "dot":
        assert out.startswith("digraph") and "[S.] seq 300 ack 0" in out
    elif fmt == "svg":
        ET.fromstring(out)  # well-formed
        assert svg_stamp(out) is not None
    else:
        assert out.startswith("sequenceDiagram") and "A->>B: [S] seq 4294967295" in out


def test_trace_svg_is_stamped_with_its_dot_source(capsys: pytest.CaptureFixture[str]) -> None:
    _, dot, _ = run("trace", "lost-final-ack", "-f", "dot", capsys=capsys)
    _, svg, _ = run("trace", "lost-final-ack", "-f", "svg", capsys=capsys)
    assert svg_stamp(svg) == dot_hash(dot)


def test_trace_draws_the_counterexample_of_a_broken_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN, encoding="utf-8")
    out_file = tmp_path / "cx.mmd"
    code, out, _ = run(
        "trace", "-c", str(path), "-p", "no-deadlock", "-f", "mermaid", "-o", str(out_file), capsys=capsys
    )
    assert (code, out) == (0, "")
    text = out_file.read_text(encoding="utf-8")
    assert "no-deadlock VIOLATED" in text
    assert "A-xB: [S] seq 4294967295" in text  # the lost SYN ends in a cross
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.toml", "cx.mmd"]


def test_trace_of_a_scenario_stopped_at_a_limit_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run("trace", "lost-final-ack", "--max-states", "50", capsys=capsys)
    assert (code, out) == (3, "")
    assert err.startswith("tcpspec: nothing to draw: scenario lost-final-ack") and "limit of 50 states" in err


def test_trace_with_nothing_to_draw_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run("trace", "-c", "handshake", "-p", "handshake-sync", capsys=capsys)
    assert code == 1 and out == ""
    assert "nothing to draw" in err and "EXHAUSTED (28 states)" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trace"], "give a SCENARIO"),
        (["trace", "no-such-scenario"], "unknown scenario 'no-such-scenario'"),
        (["trace", "three-way-handshake", "-c", "handshake"], "not both"),
        (["trace", "-c", "handshake", "-p", "liveliness"], "unknown property"),
        (["trace", "three-way-handshake", "-f", "png"], "invalid choice"),
        (["trace", "three-way-handshake", "-o", "/no/such/dir/x.svg"], "cannot write /no/such/dir/x.svg"),
        (["graph", "-c", "lossy"], "add --quotient"),
        (["graph", "-c", "handshake", "--quotient", "-f", "json"], "export the whole graph"),
        (["graph"], "required"),
    ],
)
def test_drawing_commands_reject_bad_input_with_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(*args, capsys=capsys)
    assert code == 2
    assert err.startswith("tcpspec: error: ") and message in err


def test_graph_exports_read_back_with_networkx(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in ("json", "graphml"):
        target = tmp_path / f"handshake.{fmt}"
        code, _, _ = run("graph", "-c", "handshake", "-f", fmt, "-o", str(target), capsys=capsys)
        assert code == 0
        text = target.read_text(encoding="utf-8")
        g = nx.node_link_graph(json.loads(text), edges="edges") if fmt == "json" else nx.parse_graphml(text)
        assert g.number_of_nodes() == 28 and g.number_of_edges() == 37


def test_graph_draws_a_quotient_of_a_large_preset(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("graph", "-c", "lost-ack", "--quotient", capsys=capsys)
    assert code == 0 and out.startswith("digraph")
    assert "A TIME-WAIT" in out


def test_graph_stops_at_a_limit_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "g.dot"
    code, _, err = run("graph", "-c", "lifecycle", "--max-states", "10", "-o", str(target), capsys=capsys)
    assert code == 3 and "nothing written" in err
    assert not target.exists()


def test_diagrams_writes_checks_and_rewrites_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command's wiring, on two small files (`make check` runs --check on the real diagrams/)."""
    dot = 'digraph g {\n\ta -> b [label="rcv SYN / snd SYN,ACK"]\n}\n'
    items = [Artifact("x/g.dot", dot), Artifact("x/g.svg", dot=dot)]
    monkeypatch.setattr(diagrams, "artifacts", lambda progress=None: items)
    code, out, _ = run("diagrams", "--out", str(tmp_path), "--check", capsys=capsys)
    assert code == 1
    assert "run `make diagrams`" in out and "x/g.svg: missing" in out
    assert list(tmp_path.iterdir()) == []
    assert run("diagrams", "--out", str(tmp_path), capsys=capsys)[:2] == (0, f"{tmp_path}/: 2 files, 2 changed\n")
    assert run("diagrams", "--out", str(tmp_path), "--check", capsys=capsys)[:2] == (
        0,
        f"{tmp_path}/ is up to date: 2 files\n",
    )
    assert run("diagrams", "--out", str(tmp_path), capsys=capsys)[:2] == (0, f"{tmp_path}/: 2 files, 0 changed\n")
