"""The catalogue of broken variants: each violates its property where the correct rules do not.

Every case is explored twice, with the variant and with the correct rules, in the same
configuration.  The trace lengths and the step where things go wrong are pinned: a change of
the rules that makes a hazard shorter, longer or different shows here.
"""

from __future__ import annotations

import dataclasses
import json
import re
from functools import cache

import pytest

from checks.catalogue import LANGUAGES, Explained, NotViolated, case_named, cases, cases_of, run_case
from checks.explain import chart_stem, why_page
from checks.properties import EXHAUSTED, VIOLATED
from spec.config import ConfigError
from spec.presets import preset
from spec.rulebook import all_rules
from spec.states import TcpState
from spec.variants import VARIANT_MARK, Change, Variant, variant_named, variants
from tests.test_cli import run

#: case -> (steps of the shortest counterexample, the step where things go wrong)
PINNED = {
    "two-way-handshake": (15, 15),
    "no-time-wait": (23, 18),
    "no-time-wait/old-duplicate": (31, 17),
    "short-time-wait": (32, 25),
    "fin-out-of-order": (15, 8),
    "no-retransmission": (3, 3),
    "any-ack-in-syn-sent": (15, 15),
    "fixed-iss": (18, 18),
    "rst-ignored": (4, 3),
}


@cache
def explained(name: str) -> Explained:
    return run_case(case_named(name))


def test_every_variant_has_a_case_and_every_case_is_pinned() -> None:
    assert {c.variant.name for c in cases()} == {v.name for v in variants()}
    assert sorted(PINNED) == sorted(c.name for c in cases())


@pytest.mark.parametrize("name", sorted(PINNED))
def test_the_variant_violates_its_property_and_the_correct_rules_do_not(name: str) -> None:
    e = explained(name)
    assert e.result.verdict == VIOLATED
    assert e.correct.verdict == EXHAUSTED, e.correct.verdict_text
    assert (len(e.steps), e.culprit) == PINNED[name]


@pytest.mark.parametrize("name", sorted(PINNED))
def test_the_culprit_step_is_where_a_changed_rule_or_the_named_event_acts(name: str) -> None:
    e = explained(name)
    step = e.steps[e.culprit - 1]
    culprit = e.case.culprit
    named = [r for r in step.rules if r in culprit.rules]
    assert named or culprit.kind, f"step {e.culprit} applies {step.rules}, none of {culprit.rules}"
    for r in culprit.rules:
        if r.endswith(f"~{VARIANT_MARK}"):
            assert r in e.case.variant.changed_rules


@pytest.mark.parametrize("name", sorted(PINNED))
def test_the_explanations_are_filled_in_from_the_trace(name: str) -> None:
    e = explained(name)
    step = e.steps[e.culprit - 1]
    for lang in LANGUAGES:
        text = e.text(lang)
        assert "{" not in text and "}" not in text
        assert step.event in text
        assert "RFC 9293 §" in text
    assert re.search(rf"\bstep {e.culprit}\b", e.text("en"))
    assert f"{e.culprit}번째 단계" in e.text("ko")


@pytest.mark.parametrize("name", sorted(PINNED))
def test_the_korean_keeps_the_rfc_names_in_english(name: str) -> None:
    """Every RFC state name and section the English text cites, the Korean one cites too, spelt the same."""
    en, ko = case_named(name).explanation["en"], case_named(name).explanation["ko"]
    assert re.search("[\uac00-\ud7a3]", ko), "the Korean text has Hangul"
    for state in TcpState:
        if str(state) in en:
            assert str(state) in ko, f"{state} is named in English only"
    assert set(re.findall(r"§[\d.]+", en)) == set(re.findall(r"§[\d.]+", ko))


def test_a_variant_names_only_rules_that_exist() -> None:
    broken = Variant("typo", "", "", "3.5", (Change("listen-synn", {}, ""),))
    with pytest.raises(ValueError, match="changes rules that do not exist: listen-synn"):
        broken.rules(all_rules())


def test_a_changed_rule_is_marked_and_the_others_are_untouched() -> None:
    v = variant_named("no-time-wait")
    rules = v.rules(all_rules())
    assert len(rules) == len(all_rules())
    changed = [r for r, base in zip(rules, all_rules(), strict=True) if r != base]
    assert (
        sorted(r.name for r in changed)
        == sorted(v.changed_rules)
        == ["closing-ack-of-fin~broken", "fin-fin-wait-2~broken"]
    )
    assert all(r.to is TcpState.CLOSED for r in changed)


def test_short_time_wait_needs_a_clock() -> None:
    with pytest.raises(ConfigError, match="untimed"):
        variant_named("short-time-wait").config(preset("handshake"))


def test_a_variant_that_changes_nothing_has_nothing_to_explain() -> None:
    """The counterexamples come from the changes: without them the case's property holds."""
    v = dataclasses.replace(variant_named("rst-ignored"), changes=())
    with pytest.raises(NotViolated, match="does not violate no-deadlock"):
        run_case(dataclasses.replace(case_named("rst-ignored"), variant=v))


# --- the commands -------------------------------------------------------------------------------------------------


def test_explain_lists_the_variants_one_per_line_name_first(capsys: pytest.CaptureFixture[str]) -> None:
    for lang in LANGUAGES:
        code, out, _ = run("explain", "--lang", lang, capsys=capsys)
        assert code == 0
        assert [line.split()[0] for line in out.splitlines()] == [v.name for v in variants()]


def test_explain_one_variant(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("explain", "no-time-wait", capsys=capsys)
    assert code == 0
    assert "changed rules: fin-fin-wait-2 (~broken): FIN-WAIT-2: FIN: acknowledge it and enter CLOSED" in out
    assert out.count("fails in:") == len(cases_of("no-time-wait")) == 2


def test_trace_variant_prints_explanation_and_trace(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("trace", "--variant", "rst-ignored", capsys=capsys)
    assert code == 0
    assert "At step 3 (A: rcv B > A: Flags [R.]" in " ".join(out.split())  # the explanation is wrapped
    assert "no-deadlock EXHAUSTED (28 states)" in out
    assert "[syn-sent-reset~broken]" in out
    code, out, _ = run("trace", "--variant", "rst-ignored", "--lang", "ko", capsys=capsys)
    assert code == 0 and "3번째 단계" in out and "위반된 속성" in out


def test_trace_variant_json_and_charts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("trace", "--variant", "rst-ignored", "-f", "json", capsys=capsys)
    doc = json.loads(out)
    assert code == 0 and doc["culprit_step"] == 3 and len(doc["steps"]) == 4
    assert [a["fate"] for a in doc["chart"]["arrows"]] == ["delivered", "delivered"]
    code, out, _ = run("trace", "--variant", "rst-ignored", "-f", "mermaid", capsys=capsys)
    assert code == 0 and out.startswith("sequenceDiagram") and "B->>A: [R.] seq 0 ack 1001" in out


def test_a_variant_with_two_cases_needs_one_for_a_chart(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run("trace", "--variant", "no-time-wait", "-f", "svg", capsys=capsys)
    assert code == 2 and "give one to --variant" in err and "no-time-wait/old-duplicate" in err


def test_trace_variant_in_another_configuration(capsys: pytest.CaptureFixture[str]) -> None:
    """With --config, the explanation is the general one: the first step where a changed rule applies."""
    code, out, _ = run("trace", "--variant", "rst-ignored", "-c", "half-open", capsys=capsys)
    assert code == 0
    words = " ".join(out.split())
    assert "Without reset processing" in words and "the first step where a changed rule applies" in words
    assert "~broken]" in out


def test_trace_variant_that_breaks_nothing_there_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run("trace", "--variant", "fin-out-of-order", "-c", "handshake", capsys=capsys)
    assert (code, out) == (1, "") and "violates nothing in handshake" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trace", "--variant", "no-such"], "unknown variant 'no-such'"),
        (["trace", "--variant", "no-time-wait/nope"], "unknown case"),
        (["trace", "--variant", "short-time-wait", "-c", "handshake"], "untimed"),
        (["trace", "three-way-handshake", "--variant", "rst-ignored"], "not both"),
        (["trace", "three-way-handshake", "--lang", "ko"], "use it with --variant"),
        (["explain", "nope"], "unknown variant"),
        (["check", "-c", "handshake", "--variant", "nope"], "unknown variant"),
    ],
)
def test_bad_variant_input_exits_2(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(*args, capsys=capsys)
    assert code == 2 and message in err, err


def test_check_variant_fails_with_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("check", "-c", "handshake", "--variant", "rst-ignored", "-p", "no-deadlock", capsys=capsys)
    assert code == 1
    assert "handshake+rst-ignored" in out and "VIOLATED" in out


def test_the_why_pages_collect_every_case_with_its_chart() -> None:
    everything = [explained(name) for name in PINNED]
    for lang in LANGUAGES:
        page = why_page(everything, [], lang)
        for e in everything:
            assert f"## {e.case.name}: " in page
            assert f"![{e.case.name}](why/{chart_stem(e)}.svg)" in page
            assert e.text(lang) in page
    assert why_page(everything, [], "ko").startswith("# 각 메커니즘이 존재하는 이유")


def test_trace_variant_stopped_at_a_limit_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run("trace", "--variant", "fin-out-of-order", "-c", "lossy", "--max-states", "100", capsys=capsys)
    assert (code, out) == (3, "") and "before the search stopped (stopped at the limit of 100 states)" in err
    code, _, err = run("trace", "--variant", "short-time-wait", "--max-states", "100", capsys=capsys)
    assert code == 3 and "HOLDS TO DEPTH" in err
