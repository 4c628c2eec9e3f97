"""The reachable-graph drawings and exports: golden DOT files, and structure checked against the exploration."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import networkx as nx
import pytest

from checks.explicit import Exploration, explore
from checks.properties import VIOLATED, Counterexample, Result, check, proper_final, property_named
from checks.reachgraph import (
    VIOLATION_COLOR,
    graph_graphml,
    graph_json,
    quotient_dot,
    quotient_graph,
    reachable_dot,
    violating_states,
)
from spec.config import config_from_dict
from spec.machine import Label
from spec.presets import preset
from tests.conftest import assert_golden, checked

SMALL = ["handshake", "lifecycle", "simultaneous-open", "abort"]
#: A lost SYN is never sent again: deadlock (the configuration of the trace golden files).
LOST_SYN = config_from_dict(
    {
        "name": "lost-syn",
        "a": {"script": ["open", "wait-open", "send", "close"], "iss": [4294967295]},
        "b": {"script": ["wait-open", "wait-eof", "close"], "iss": [300], "listening": True},
        "faults": {"loss": 1},
    }
)

_STATEMENT = re.compile(r"^\t+(\w+) (?:-> (\w+) )?\[(.*)\]$")
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]"]+)')


def _attrs(text: str) -> dict[str, str]:
    return {k: v[1:-1] if v.startswith('"') else v for k, v in _ATTR.findall(text)}


def _parse(dot: str) -> tuple[dict[str, dict[str, str]], dict[tuple[str, str], dict[str, str]]]:
    """Nodes and edges of DOT source as written by the graphviz package (one statement per line)."""
    nodes: dict[str, dict[str, str]] = {}
    edges: dict[tuple[str, str], dict[str, str]] = {}
    for line in dot.splitlines():
        m = _STATEMENT.match(line)
        if not m or m.group(1) in ("legend", "graph", "node", "edge"):
            continue
        src, dst, attrs = m.groups()
        if dst is None:
            nodes[src] = _attrs(attrs)
        else:
            assert (src, dst) not in edges, f"edge {src} -> {dst} drawn twice"
            edges[src, dst] = _attrs(attrs)
    return nodes, edges


def _ex(name: str) -> Exploration:
    return checked(name)[0]


# --- golden files ---------------------------------------------------------------------------------


def test_handshake_full_graph_is_golden() -> None:
    assert_golden("reachgraph/handshake.dot", reachable_dot(_ex("handshake")))


def test_handshake_quotient_is_golden() -> None:
    assert_golden("reachgraph/handshake-quotient.dot", quotient_dot(_ex("handshake")))


def test_lifecycle_quotient_is_golden() -> None:
    assert_golden("reachgraph/lifecycle-quotient.dot", quotient_dot(_ex("lifecycle")))


# --- the full graph ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SMALL)
def test_full_graph_has_the_explorations_states_and_edges(name: str) -> None:
    ex = _ex(name)
    nodes, edges = _parse(reachable_dot(ex))
    assert set(nodes) == {f"s{sid}" for sid in range(len(ex.states))}
    expected = {(f"s{src}", f"s{dst}") for src in range(len(ex.states)) for dst, _ in ex.successors_of(src)}
    assert set(edges) == expected
    assert all(attrs["label"] for attrs in edges.values())


@pytest.mark.parametrize("name", SMALL)
def test_initial_is_filled_and_proper_finals_doubled(name: str) -> None:
    ex = _ex(name)
    nodes, _ = _parse(reachable_dot(ex))
    filled = {n for n, a in nodes.items() if "filled" in a.get("style", "")}
    doubled = {n for n, a in nodes.items() if a.get("peripheries") == "2"}
    assert filled == {"s0"}
    assert doubled == {f"s{sid}" for sid, w in enumerate(ex.states) if proper_final(w, ex.config)}
    assert doubled, "every small preset has a proper final state"


def test_node_labels_tell_states_apart() -> None:
    """Two states with the same endpoint states still read differently (besides their ids)."""
    for name in ("handshake", "lifecycle"):
        nodes, _ = _parse(reachable_dot(_ex(name)))
        texts = [a["label"].split("\\n", 1)[1] for a in nodes.values()]
        assert len(set(texts)) == len(texts)


def test_network_events_are_labelled_by_kind() -> None:
    ex = explore(LOST_SYN)
    _, edges = _parse(reachable_dot(ex))
    labels = {a["label"] for a in edges.values()}
    assert "lose A>B [S]" in labels
    assert all(a.get("style") == "dashed" for a in edges.values() if a["label"].startswith("lose "))


def test_violations_turn_exactly_those_nodes_red() -> None:
    ex = _ex("handshake")
    marked = {5: "first problem", 17: "second problem"}
    nodes, _ = _parse(reachable_dot(ex, marked))
    red = {n for n, a in nodes.items() if a.get("color") == VIOLATION_COLOR}
    assert red == {"s5", "s17"}
    assert nodes["s17"]["tooltip"] == "second problem"
    plain, _ = _parse(reachable_dot(ex))
    assert not any(a.get("color") == VIOLATION_COLOR for a in plain.values())


def test_violating_states_from_a_real_violation() -> None:
    ex, results = check(LOST_SYN, [property_named("no-deadlock")])
    marked = violating_states(results)
    cx = results[0].counterexample
    assert results[0].failed and cx is not None
    assert marked == {cx.path[-1][0]: f"no-deadlock: {cx.message}"}
    nodes, _ = _parse(reachable_dot(ex, marked))
    assert {n for n, a in nodes.items() if a.get("color") == VIOLATION_COLOR} == {f"s{cx.path[-1][0]}"}


def test_violating_states_skips_liveness_empty_and_passing() -> None:
    prop = property_named("no-deadlock")
    step = Label(0, "call")
    results = [
        Result(prop, VIOLATED, counterexample=Counterexample([(1, step), (4, step)], [], message="stuck")),
        Result(prop, VIOLATED, counterexample=Counterexample([(2, step)], [(3, step)], message="loops")),
        Result(prop, VIOLATED, counterexample=Counterexample([], [], message="initial")),
        Result(prop, "EXHAUSTED"),
        Result(prop, VIOLATED),
    ]
    assert violating_states(results) == {4: "no-deadlock: stuck"}


def test_size_limit_refuses_big_graphs() -> None:
    ex = _ex("handshake")
    with pytest.raises(ValueError, match="quotient"):
        reachable_dot(ex, limit=len(ex.states) - 1)
    assert reachable_dot(ex, limit=len(ex.states))


def _number(pattern: str, text: str) -> int:
    """The number ``pattern`` finds in ``text`` (0 if absent)."""
    m = re.search(pattern, text)
    return int(m.group(1).replace(",", "")) if m else 0


# --- the quotient -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SMALL)
def test_quotient_counts_every_transition_once(name: str) -> None:
    ex = _ex(name)
    nodes, edges = _parse(quotient_dot(ex))
    assert 0 < len(nodes) <= 121
    between = sum(_number(r"^×([\d,]+)$", a["label"]) for a in edges.values())
    inside = sum(_number(r"([\d,]+) inside", a["label"]) for a in nodes.values())
    assert between + inside == ex.transitions
    assert sum(_number(r"\\n([\d,]+) states?", a["label"]) for a in nodes.values()) == len(ex.states)


@pytest.mark.parametrize("name", SMALL)
def test_quotient_graph_matches_the_exploration(name: str) -> None:
    ex = _ex(name)
    g = quotient_graph(ex)
    cells = {(w.a.state, w.b.state) for w in ex.states}
    assert set(g.nodes) == cells
    pairs = {
        ((ex.states[s].a.state, ex.states[s].b.state), (ex.states[d].a.state, ex.states[d].b.state))
        for s in range(len(ex.states))
        for d, _ in ex.successors_of(s)
    }
    assert set(g.edges) == {(c, d) for c, d in pairs if c != d}
    initial = [c for c, data in g.nodes(data=True) if data["initial"]]
    assert initial == [(ex.states[0].a.state, ex.states[0].b.state)]
    nodes, _ = _parse(quotient_dot(ex))
    assert [n for n, a in nodes.items() if "filled" in a.get("style", "")] == [
        f"{initial[0][0].name}__{initial[0][1].name}"
    ]


# --- exports ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["handshake", "lifecycle"])
def test_json_parses_back(name: str) -> None:
    ex = _ex(name)
    g = nx.node_link_graph(json.loads(graph_json(ex)), edges="edges")
    assert g.is_directed() and g.is_multigraph()
    assert g.number_of_nodes() == len(ex.states)
    assert g.number_of_edges() == ex.transitions
    init = g.nodes[0]
    assert init["initial"] and init["depth"] == 0 and init["a"] == str(ex.states[0].a.state)
    assert sum(1 for _, d in g.nodes(data=True) if d["initial"]) == 1
    assert {d for _, d in g.nodes(data="final")} == {True, False}
    assert all(label for _, _, label in g.edges(data="label"))


@pytest.mark.parametrize("name", ["handshake", "lifecycle"])
def test_graphml_parses_back(name: str) -> None:
    ex = _ex(name)
    g = nx.parse_graphml(graph_graphml(ex))
    assert g.number_of_nodes() == len(ex.states)
    assert g.number_of_edges() == ex.transitions
    assert g.nodes["0"]["initial"] is True
    assert {g.nodes[str(sid)]["depth"] for sid in range(len(ex.states))} == set(ex.depth)


# --- determinism --------------------------------------------------------------------------------------


@pytest.mark.parametrize("render", [reachable_dot, quotient_dot, graph_json, graph_graphml])
def test_same_graph_same_bytes(render: Callable[[Exploration], str]) -> None:
    """Twice from the same exploration, and once from a fresh exploration of the same preset."""
    ex = _ex("lifecycle")
    first = render(ex)
    assert render(ex) == first
    assert render(explore(preset("lifecycle"))) == first
