"""Results as text, as one stable JSON document, and as JUnit XML for CI."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from checks.explicit import Exploration
from checks.properties import Result
from checks.trace import TraceStep, build_trace, format_trace
from spec.config import Config
from spec.machine import Machine


@dataclass
class Run:
    """One configuration checked by one engine."""

    config: Config
    machine: Machine
    results: list[Result]
    engine: str
    seconds: float
    complete: bool  # the search did all it was asked to (explicit: every state; bmc: every depth)
    search: str  # one line saying what the engine did
    stats: dict[str, Any] = field(default_factory=dict)  # states, transitions, depth (None if not counted)

    @staticmethod
    def explicit(ex: Exploration, results: list[Result]) -> Run:
        rate = len(ex.states) / ex.seconds if ex.seconds > 0 else 0.0
        search = (
            f"explored {len(ex.states):,} states, {ex.transitions:,} transitions, depth {ex.max_depth}, "
            f"in {ex.seconds:.2f} s ({rate:,.0f} states/s)"
            + ("" if ex.complete else f" -- INCOMPLETE: {ex.stop_reason}")
        )
        stats = {"states": len(ex.states), "transitions": ex.transitions, "depth": ex.max_depth}
        return Run(ex.config, ex.machine, results, "explicit", ex.seconds, ex.complete, search, stats)

    @property
    def config_name(self) -> str:
        return self.config.name

    def trace(self, result: Result) -> list[TraceStep] | None:
        cx = result.counterexample
        if cx is None:
            return None
        machine = self.machine if cx.config is None else Machine(cx.config, self.machine.rules)
        return build_trace(machine, cx.path, cx.loop)

    @property
    def violated(self) -> bool:
        return any(r.failed for r in self.results)

    @property
    def incomplete(self) -> bool:
        return not self.complete


def summary(run: Run) -> str:
    config = run.config
    engine = "" if run.engine == "explicit" else f" [{run.engine}]"
    lines = [
        f"{config.name}{engine}: {config.description}",
        f"  bounds: {config.bounds()}",
        f"  {run.search}",
    ]
    width = max(len(r.prop.name) for r in run.results) if run.results else 10
    for r in run.results:
        lines.append(f"  {r.prop.name:<{width}}  {r.prop.kind:<11}  {r.verdict_text}")
    return "\n".join(lines) + "\n"


def violations_text(run: Run) -> str:
    out = []
    for r in run.results:
        if not r.failed or r.counterexample is None:
            continue
        cx = r.counterexample
        out.append(f"\n{run.config_name}: {r.prop.name} VIOLATED -- {r.prop.statement}")
        if cx.message:
            out.append(f"  {cx.message}")
        steps = run.trace(r)
        if steps is not None and (cx.path or cx.loop):
            out.append(f"  shortest trace found ({len(steps)} steps):")
            out.append(format_trace(steps).rstrip("\n"))
        if cx.extra is not None:
            out.append(f"  then: {cx.extra.kind} at {'AB'[cx.extra.actor] if cx.extra.actor < 2 else 'network'}")
    return "\n".join(out) + ("\n" if out else "")


def run_json(run: Run) -> dict[str, Any]:
    results = []
    for r in run.results:
        steps = run.trace(r)
        results.append(
            {
                "property": r.prop.name,
                "kind": r.prop.kind,
                "verdict": r.verdict,
                "detail": r.detail,
                "message": r.counterexample.message if r.counterexample else None,
                "trace": [s.to_json() for s in steps] if steps is not None else None,
            }
        )
    return {
        "config": run.config.name,
        "engine": run.engine,
        "complete": run.complete,
        "states": run.stats.get("states"),
        "transitions": run.stats.get("transitions"),
        "depth": run.stats.get("depth"),
        "seconds": round(run.seconds, 3),
        **{k: v for k, v in run.stats.items() if k not in ("states", "transitions", "depth")},  # the engine's own
        "results": results,
    }


def runs_json(runs: Sequence[Run], single: bool, disagreements: list[str] | None = None) -> str:
    doc: Any = run_json(runs[0]) if single else {"runs": [run_json(r) for r in runs]}
    if disagreements is not None:
        doc["disagreements"] = disagreements
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def junit_xml(runs: Sequence[Run]) -> str:
    suites = ET.Element("testsuites", name="tcpspec")
    for run in runs:
        failures = sum(1 for r in run.results if r.failed)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=run.config_name if run.engine == "explicit" else f"{run.config_name} [{run.engine}]",
            tests=str(len(run.results)),
            failures=str(failures),
            time=f"{run.seconds:.3f}",
        )
        for r in run.results:
            case = ET.SubElement(suite, "testcase", classname=f"tcpspec.{run.config_name}", name=r.prop.name)
            if r.failed:
                fail = ET.SubElement(case, "failure", message=f"{r.prop.name} VIOLATED", type="VIOLATED")
                steps = run.trace(r)
                msg = r.counterexample.message if r.counterexample else ""
                fail.text = msg + "\n" + (format_trace(steps) if steps else "")
            elif r.verdict not in ("EXHAUSTED", "REACHED", "PROVED"):
                ET.SubElement(case, "skipped", message=r.verdict_text)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write_atomically(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that no half-written file is ever left behind."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=str(target.parent or Path(".")))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
