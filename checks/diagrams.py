"""Everything in ``diagrams/``: generated from the spec and the explored graphs, never drawn by hand.

:func:`artifacts` computes every file in memory -- DOT, Mermaid, JSON and
GraphML as text, and for each drawing the DOT source its SVG is rendered
from -- in a fixed order with fixed names, so that two runs give the same
bytes.  :func:`write` puts them on disk (SVGs rendered by Graphviz, each stamped
with the hash of its DOT source; files no longer generated are removed);
:func:`stale` says which committed files differ from what the spec gives now,
without running Graphviz: an SVG is current when its stamp is the hash of the
current DOT source (see :mod:`checks.render`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from checks.catalogue import cases, run_case
from checks.claims import check_claim, claims
from checks.derive import derive_time_wait
from checks.explain import case_chart, chart_stem, why_page
from checks.explicit import Exploration, explore
from checks.properties import check
from checks.reachgraph import DRAWN_LIMIT, graph_graphml, graph_json, quotient_dot, reachable_dot, violating_states
from checks.render import dot_hash, svg_from_dot, svg_stamp
from checks.report import write_atomically
from checks.scenarios import Scenario, find_run, scenarios
from checks.sequence import ENGINE as CHART_ENGINE
from checks.sequence import Chart, chart_dot, chart_from_counterexample, chart_from_path, chart_mermaid
from checks.statechart import ChangeCollector, state_edges, statechart_dot
from spec.config import Config
from spec.machine import Machine
from spec.presets import preset, presets
from spec.rulebook import all_rules


@dataclass(frozen=True)
class Artifact:
    """One generated file: its path under ``diagrams/`` and its text, or the DOT source of an SVG."""

    path: str
    text: str = ""
    dot: str | None = None  # for an SVG: the DOT source it is drawn from
    engine: str = "dot"  # the Graphviz engine that draws it

    def render(self) -> str:
        return self.text if self.dot is None else svg_from_dot(self.dot, self.engine)


@dataclass(frozen=True)
class Published:
    """A sequence chart to publish: its file stem, a caption, and the chart."""

    stem: str
    caption: str
    chart: Chart


def _drawing(stem: str, dot: str, engine: str = "dot") -> list[Artifact]:
    return [Artifact(f"{stem}.dot", dot), Artifact(f"{stem}.svg", dot=dot, engine=engine)]


def scenario_chart(s: Scenario) -> Chart:
    """The chart of a canonical scenario: its shortest run, replayed through the rules."""
    machine = Machine(s.config)
    return chart_from_path(machine, find_run(s, machine), title=f"{s.title}: {s.shows}")


def counterexample_charts() -> list[Published]:
    """Charts of the counterexamples the spec itself produces: TIME-WAIT shorter than the derived bound."""
    derivation = derive_time_wait(preset("incarnations"))
    below, bound = derivation.below, derivation.bound
    if below is None or below.result.counterexample is None or bound is None:
        raise RuntimeError("tcpspec derive time-wait found no bound: run it to see why")
    title = (
        f"TIME-WAIT of {below.ticks} tick(s), below the derived {bound.ticks} (2 MSL): "
        f"{below.result.counterexample.message or 'an old duplicate is accepted'}"
    )
    chart = chart_from_counterexample(Machine(below.config), below.result.counterexample, title)
    return [
        Published("time-wait-too-short", "TIME-WAIT shorter than 2 MSL: an old duplicate is accepted as new", chart)
    ]


def _explorations() -> tuple[list[tuple[Config, Exploration, dict[int, str]]], ChangeCollector]:
    """Each preset explored (the small ones also checked, for their violating states), and the changes taken."""
    collector = ChangeCollector()
    out = []
    for config in presets():
        ex = explore(config, [collector])
        violations: dict[int, str] = {}
        if ex.complete and len(ex.states) <= DRAWN_LIMIT:
            ex, results = check(config)
            violations = violating_states(results)
        out.append((config, ex, violations))
    return out, collector


def artifacts(progress: Callable[[str], None] | None = None) -> list[Artifact]:
    """Every file of ``diagrams/``, sorted by path."""
    say = progress or (lambda _text: None)
    out: list[Artifact] = []
    say("exploring the presets")
    explored, collector = _explorations()
    edges = state_edges(all_rules(), collector)
    title = "TCP endpoint state machine (RFC 9293 Figure 5), every edge derived from the rules in spec/"
    out += _drawing("endpoint/state-machine", statechart_dot(edges, title, abnormal_ends=False))
    out += _drawing("endpoint/state-machine-all", statechart_dot(edges, title + ", with resets, ABORT and timeouts"))
    for config, ex, violations in explored:
        out += _drawing(f"reachable/{config.name}-quotient", quotient_dot(ex))
        if len(ex.states) <= DRAWN_LIMIT and ex.complete:
            out += _drawing(f"reachable/{config.name}", reachable_dot(ex, violations))
            out.append(Artifact(f"reachable/{config.name}.json", graph_json(ex)))
            out.append(Artifact(f"reachable/{config.name}.graphml", graph_graphml(ex)))
    say("searching the scenarios")
    charts = [Published(s.name, s.title, scenario_chart(s)) for s in scenarios()]
    say("deriving TIME-WAIT for its counterexample")
    charts += counterexample_charts()
    for c in charts:
        out += _drawing(f"sequence/{c.stem}", chart_dot(c.chart), CHART_ENGINE)
        out.append(Artifact(f"sequence/{c.stem}.mmd", chart_mermaid(c.chart)))
    out.append(Artifact("README.md", readme(charts, explored)))
    say("running the catalogue of broken variants and the claims")
    out += why_artifacts()
    return sorted(out, key=lambda a: a.path)


def why_artifacts() -> list[Artifact]:
    """``why.md``, ``why.ko.md`` and the chart of every case of the catalogue under ``why/``."""
    explained = [run_case(c) for c in cases()]
    verdicts = [check_claim(c) for c in claims()]
    out = []
    for e in explained:
        chart = case_chart(e)
        out += _drawing(f"why/{chart_stem(e)}", chart_dot(chart), CHART_ENGINE)
        out.append(Artifact(f"why/{chart_stem(e)}.mmd", chart_mermaid(chart)))
    out.append(Artifact("why.md", why_page(explained, verdicts, "en")))
    out.append(Artifact("why.ko.md", why_page(explained, verdicts, "ko")))
    return out


def readme(charts: Sequence[Published], explored: Sequence[tuple[Config, Exploration, dict[int, str]]]) -> str:
    """``diagrams/README.md``: what each drawing is, with the sequence charts in Mermaid."""
    lines = [
        "# Diagrams",
        "",
        "Generated by `make diagrams` (`tcpspec diagrams`) from the rules in `spec/` and the explored state graphs;",
        "never edit them by hand. `make check` fails when one of them is out of date. Each SVG is drawn by",
        "Graphviz from the `.dot` file beside it and carries the hash of that source.",
        "",
        "Why each mechanism of TCP exists, shown by what breaks without it: [why.md](why.md) ([한국어](why.ko.md)).",
        "",
        "## The endpoint state machine",
        "",
        "In the layout of RFC 9293 Figure 5. Every edge is `event / action`, derived from a rule's metadata",
        "(`on=`, `sends=`, `to=`) or from a state change exploration took; solid edges are Figure 5's own,",
        "dashed ones are changes the RFC's text describes but the figure leaves out, dotted ones are declared",
        "by a rule but taken by no preset.",
        "",
        "- [state-machine.svg](endpoint/state-machine.svg): as Figure 5, without the resets, ABORTs and",
        "  timeouts to CLOSED (Note 3);",
        "- [state-machine-all.svg](endpoint/state-machine-all.svg): every state change of the model.",
        "",
        "![endpoint state machine](endpoint/state-machine.svg)",
        "",
        "## Sequence charts",
        "",
        "Each is a shortest run of the model through the scenario's milestones, found by search and replayed",
        "through the rules (`tcpspec trace NAME --format svg|dot|mermaid|json|text`). Time goes down; a",
        "segment's arrow slants by the time it spends in flight; a lost segment ends in a red cross.",
        "",
    ]
    for c in charts:
        lines += [
            f"### {c.caption}",
            "",
            f"{c.chart.title}",
            "",
            f"[SVG](sequence/{c.stem}.svg) · [DOT](sequence/{c.stem}.dot) · [Mermaid](sequence/{c.stem}.mmd)",
            "",
            "```mermaid",
            chart_mermaid(c.chart).rstrip("\n"),
            "```",
            "",
        ]
    lines += [
        "## Reachable state graphs",
        "",
        "Nodes are global states (both endpoints and both channels), ranked by breadth-first depth: the",
        "initial state filled, proper final states doubled, violating states red. Presets too large to draw",
        "are shown as the quotient by the pair of endpoint states (at most 121 cells), edges counting the",
        "transitions between cells. The full graphs of the small presets are also exported as JSON",
        "(networkx node-link) and GraphML; for any preset, `tcpspec graph -c NAME --format json|graphml`",
        "writes them.",
        "",
        "| preset | states | transitions | drawings |",
        "|---|---:|---:|---|",
    ]
    for config, ex, _violations in explored:
        links = [f"[quotient](reachable/{config.name}-quotient.svg)"]
        if len(ex.states) <= DRAWN_LIMIT and ex.complete:
            links.insert(0, f"[full](reachable/{config.name}.svg)")
            links += [f"[JSON](reachable/{config.name}.json)", f"[GraphML](reachable/{config.name}.graphml)"]
        lines.append(f"| {config.name} | {len(ex.states):,} | {ex.transitions:,} | {' · '.join(links)} |")
    return "\n".join(lines) + "\n"


def write(out: Path, items: Sequence[Artifact], progress: Callable[[str], None] | None = None) -> list[str]:
    """Write ``items`` under ``out`` (each file atomically); remove files there that are no longer generated."""
    say = progress or (lambda _text: None)
    written = []
    for item in items:
        target = out / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        text = item.render()
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            write_atomically(target, text)
            written.append(item.path)
            say(f"wrote {item.path}")
    wanted = {item.path for item in items}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and rel not in wanted:
            path.unlink()
            written.append(rel)
            say(f"removed {rel}")
    return written


def stale(out: Path, items: Sequence[Artifact]) -> list[str]:
    """The files under ``out`` that differ from ``items``, are missing, or are no longer generated."""
    problems = []
    for item in items:
        target = out / item.path
        if not target.is_file():
            problems.append(f"{item.path}: missing")
            continue
        current = target.read_text(encoding="utf-8")
        if item.dot is not None:
            if svg_stamp(current) != dot_hash(item.dot):
                problems.append(f"{item.path}: drawn from an older DOT source")
        elif current != item.text:
            problems.append(f"{item.path}: differs from what the spec gives now")
    wanted = {item.path for item in items}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and rel not in wanted:
            problems.append(f"{rel}: no longer generated")
    return problems
