"""Results as text, as one stable JSON document, and as JUnit XML for CI."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from checks.explicit import Exploration
from checks.properties import Result
from checks.trace import TraceStep, build_trace, format_trace


@dataclass
class Run:
    """One configuration checked by one engine."""

    exploration: Exploration
    results: list[Result]
    engine: str = "explicit"

    @property
    def config_name(self) -> str:
        return self.exploration.config.name

    def trace(self, result: Result) -> list[TraceStep] | None:
        cx = result.counterexample
        if cx is None:
            return None
        return build_trace(self.exploration.machine, cx.path, cx.loop)

    @property
    def violated(self) -> bool:
        return any(r.failed for r in self.results)

    @property
    def incomplete(self) -> bool:
        return not self.exploration.complete


def summary(run: Run) -> str:
    ex = run.exploration
    rate = len(ex.states) / ex.seconds if ex.seconds > 0 else 0.0
    lines = [
        f"{ex.config.name}: {ex.config.description}",
        f"  bounds: {ex.config.bounds()}",
        f"  explored {len(ex.states):,} states, {ex.transitions:,} transitions, depth {ex.max_depth}, "
        f"in {ex.seconds:.2f} s ({rate:,.0f} states/s)" + ("" if ex.complete else f" -- INCOMPLETE: {ex.stop_reason}"),
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
    ex = run.exploration
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
        "config": ex.config.name,
        "engine": run.engine,
        "complete": ex.complete,
        "states": len(ex.states),
        "transitions": ex.transitions,
        "depth": ex.max_depth,
        "seconds": round(ex.seconds, 3),
        "results": results,
    }


def runs_json(runs: Sequence[Run], single: bool) -> str:
    doc: Any = run_json(runs[0]) if single else {"runs": [run_json(r) for r in runs]}
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def junit_xml(runs: Sequence[Run]) -> str:
    suites = ET.Element("testsuites", name="tcpspec")
    for run in runs:
        failures = sum(1 for r in run.results if r.failed)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=run.config_name,
            tests=str(len(run.results)),
            failures=str(failures),
            time=f"{run.exploration.seconds:.3f}",
        )
        for r in run.results:
            case = ET.SubElement(suite, "testcase", classname=f"tcpspec.{run.config_name}", name=r.prop.name)
            if r.failed:
                fail = ET.SubElement(case, "failure", message=f"{r.prop.name} VIOLATED", type="VIOLATED")
                steps = run.trace(r)
                msg = r.counterexample.message if r.counterexample else ""
                fail.text = msg + "\n" + (format_trace(steps) if steps else "")
            elif r.verdict not in ("EXHAUSTED", "REACHED"):
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
