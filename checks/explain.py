"""The catalogue as people read it: a variant's explanation with its trace, in English or Korean.

:func:`explained_text` is what ``tcpspec trace --variant NAME`` prints: which
mechanism is taken away and how, the explanation (with the step where things go
wrong), the violation, what the correct rules give in the same configuration,
and the trace.  :func:`explained_json` is the same as data, with the sequence
chart; :func:`variants_text` is ``tcpspec explain``.
"""

from __future__ import annotations

from typing import Any

from checks.catalogue import Explained, cases_of, explanations, mechanism, on_the_wire, summary, wrap
from checks.claims import Verdict
from checks.sequence import Chart, chart_from_path, chart_json
from checks.trace import format_trace
from spec.machine import Machine
from spec.variants import VARIANT_MARK, Variant, variants

_WORDS = {
    "en": {
        "takes": "takes away {mechanism} (RFC 9293 §{section})",
        "changed": "changed rules",
        "configured": "changed bound",
        "violated": "violated",
        "correct": "the correct rules, same configuration",
        "trace": "shortest trace ({steps} steps; things go wrong at step {step})",
        "cases": "fails in",
        "where": "{prop} in {config}",
        "wire": "on a real capture: REJECTED at segment {segment} of {capture}",
        "not_on_wire": "on the real captures: not rejected by any, because {why}",
    },
    "ko": {
        "takes": "없애는 메커니즘: {mechanism} (RFC 9293 §{section})",
        "changed": "바뀐 규칙",
        "configured": "바뀐 설정",
        "violated": "위반된 속성",
        "correct": "같은 구성에서 올바른 규칙",
        "trace": "가장 짧은 trace ({steps}단계, 문제가 시작되는 곳: {step}번째 단계)",
        "cases": "실패하는 구성",
        "where": "{config} 구성의 {prop}",
        "wire": "실제 캡처: {capture}의 {segment}번째 segment에서 REJECTED",
        "not_on_wire": "실제 캡처: 어느 캡처에서도 REJECTED되지 않음 (이유, 영어로: {why})",
    },
}


def _changes(variant: Variant, lang: str) -> list[str]:
    """One line per distinct change: the rules it changes (as traces name them), and what they now do."""
    words = _WORDS[lang]
    by_why: dict[str, list[str]] = {}
    for c in variant.changes:
        by_why.setdefault(c.why, []).append(c.rule)
    lines = [f"  {words['changed']}: {', '.join(rules)} (~{VARIANT_MARK}): {why}" for why, rules in by_why.items()]
    if variant.configure_text:
        lines.append(f"  {words['configured']}: {variant.configure_text}")
    return lines


def explained_text(e: Explained, lang: str = "en") -> str:
    """The case's explanation, violation and trace, as ``tcpspec trace --variant`` prints them."""
    words = _WORDS[lang]
    v = e.case.variant
    lines = [
        f"{e.case.name}: {summary(v, lang)}",
        "  " + words["takes"].format(mechanism=mechanism(v, lang), section=v.section),
        *_changes(v, lang),
        "",
        wrap(e.text(lang), lang),
        "",
        f"  {words['violated']}: {words['where'].format(prop=e.case.prop.name, config=e.config.name)} -- "
        f"{e.counterexample.message}",
        f"  {words['correct']}: {e.case.prop.name} {e.correct.verdict_text}",
        "  " + words["trace"].format(steps=len(e.steps), step=e.culprit),
        format_trace(e.steps).rstrip("\n"),
    ]
    return "\n".join(lines) + "\n"


def explained_json(e: Explained, lang: str = "en") -> dict[str, Any]:
    """The case as data: the variant, the explanation, the verdicts and the sequence chart."""
    v = e.case.variant
    cx = e.counterexample
    chart = case_chart(e, lang)
    return {
        "case": e.case.name,
        "variant": v.name,
        "mechanism": v.mechanism,
        "section": v.section,
        "summary": summary(v, lang),
        "changes": [{"rule": c.rule, "why": c.why} for c in v.changes],
        "configured": v.configure_text or None,
        "config": e.config.name,
        "property": e.case.prop.name,
        "message": cx.message,
        "correct": e.correct.verdict_text,
        "culprit_step": e.culprit,
        "lang": lang,
        "explanation": e.text(lang),
        "steps": [s.to_json() for s in e.steps],
        "chart": chart_json(chart),
    }


def case_chart(e: Explained, lang: str = "en") -> Chart:
    """The case's counterexample as a sequence chart, replayed through the variant's rules."""
    cx = e.counterexample
    path, loop = [label for _, label in cx.path], [label for _, label in cx.loop]
    return chart_from_path(Machine(e.config, e.rules), path, loop, case_chart_title(e, lang))


def case_chart_title(e: Explained, lang: str = "en") -> str:
    """The title of a case's sequence chart: the case, what it violates, and where it goes wrong."""
    if lang == "ko":
        return (
            f"{e.case.name}: {summary(e.case.variant, lang)}. {e.case.prop.name} 위반 ({e.culprit}번째 단계에서 시작)"
        )
    return f"{e.case.name}: {e.case.title}. {e.case.prop.name} VIOLATED (goes wrong at step {e.culprit})"


def variants_text(lang: str = "en") -> str:
    """``tcpspec explain``: one variant a line, the name first, then where it fails."""
    width = max(len(v.name) for v in variants())
    lines = []
    for v in variants():
        where = ", ".join(
            _WORDS[lang]["where"].format(prop=c.prop.name, config=c.config.name) for c in cases_of(v.name)
        )
        lines.append(f"{v.name:<{width}}  {summary(v, lang)} (RFC 9293 §{v.section}); {_WORDS[lang]['cases']}: {where}")
    return "\n".join(lines) + "\n"


def variant_text(variant: Variant, lang: str = "en") -> str:
    """``tcpspec explain NAME``: the variant, its changes, and the cases where it fails (nothing is run)."""
    words = _WORDS[lang]
    lines = [
        f"{variant.name}: {summary(variant, lang)}",
        "  " + words["takes"].format(mechanism=mechanism(variant, lang), section=variant.section),
        *_changes(variant, lang),
    ]
    for c in cases_of(variant.name):
        where = words["where"].format(prop=c.prop.name, config=c.config.name)
        lines.append(f"  {words['cases']}: {where} ({c.config.description})")
    wire = on_the_wire()[variant.name]
    if wire.capture is None:
        lines.append("  " + words["not_on_wire"].format(why=wire.why_not))
    else:
        lines.append("  " + words["wire"].format(segment=wire.segment, capture=wire.capture))
        config = f" -c tests/captures/{wire.network}" if wire.network else ""
        lines.append(f"  tcpspec replay tests/captures/{wire.capture}.pcap{config} --variant {variant.name}")
    lines.append(f"  tcpspec trace --variant {variant.name} --lang {lang}")
    return "\n".join(lines) + "\n"


def chart_stem(e: Explained) -> str:
    """The file name (without suffix) of a case's chart under ``diagrams/why/``."""
    return e.case.name.replace("/", "--")


def why_page(explained: list[Explained], verdicts: list[Verdict], lang: str = "en") -> str:
    """``diagrams/why.md`` (or ``why.ko.md``): every case with its explanation and chart, then the claims."""
    words = explanations("page")[lang]
    lines = [f"# {words['title']}", "", words["intro"], ""]
    for e in explained:
        v = e.case.variant
        stem = chart_stem(e)
        lines += [
            f"## {e.case.name}: {summary(v, lang)}",
            "",
            e.text(lang),
            "",
            f"- {words['violated']}: "
            + _WORDS[lang]["where"].format(prop=f"`{e.case.prop.name}`", config=f"`{e.config.name}`")
            + f" -- {e.counterexample.message}",
            f"- {words['correct']}: `{e.case.prop.name}` {e.correct.verdict_text}",
            f"- {words['run']}: `tcpspec trace --variant {e.case.name}" + (" --lang ko`" if lang == "ko" else "`"),
            "",
            f"![{e.case.name}](why/{stem}.svg)",
            "",
            f"[SVG](why/{stem}.svg) · [DOT](why/{stem}.dot) · [Mermaid](why/{stem}.mmd)",
            "",
        ]
    lines += [f"## {words['claims']}", "", words["claims_intro"], ""]
    for verdict in verdicts:
        lines.append(f"- **{verdict.claim.name}: {verdict.verdict}.** {verdict.claim.text(lang)}")
        lines += [f"  - {line}" for line in verdict.lines]
    return "\n".join(lines) + "\n"
