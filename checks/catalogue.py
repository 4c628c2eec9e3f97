"""Why each mechanism exists: every broken variant, where it fails, and its shortest counterexample explained.

A :class:`Case` puts a variant of :mod:`spec.variants` in the configuration
where its fault shows, names the property it violates, and says which step of
the counterexample is the one where things go wrong (:class:`Culprit`).  The
counterexample is not stored: :func:`run_case` explores the variant
breadth-first, so the trace is a shortest one, computed anew every time.  The
explanation (English and Korean) is a text with the trace's own numbers filled
in: the step where it goes wrong and what happened there (the violation itself
is printed beside it, in the property's own words).

The same configuration with the correct rules satisfies the property; the tests
check that for every case, and pin each trace's length.  The explanations are
data, in ``checks/explanations.toml``, so that a translator edits no code.
"""

from __future__ import annotations

import textwrap
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from checks.properties import Counterexample, Limits, Property, Result, check, property_named
from checks.trace import TraceStep, build_trace
from spec.config import Call, Config, EndpointConfig
from spec.machine import Machine
from spec.presets import WRAP, preset
from spec.rulebook import all_rules
from spec.rules import Rule
from spec.variants import Variant, variant_named

LANGUAGES = ("en", "ko")

OPEN, LISTEN, SEND, CLOSE = Call.OPEN, Call.LISTEN, Call.SEND, Call.CLOSE
WAIT_OPEN, WAIT_EOF, WAIT_CLOSED = Call.WAIT_OPEN, Call.WAIT_EOF, Call.WAIT_CLOSED


@dataclass(frozen=True)
class Culprit:
    """Which step of a trace is the one where things go wrong: the first or last step that applies one of
    ``rules`` (names as the trace prints them, ``~broken`` for a changed rule), or is of ``kind``."""

    which: str  # "first" or "last"
    rules: tuple[str, ...] = ()
    kind: str = ""  # a label kind: "lose", "call", ...

    def find(self, steps: Sequence[TraceStep], labels: Sequence[str]) -> int:
        """The 1-based number of the culprit step (the last step if none matches)."""
        hits = [
            s.number
            for s, kind in zip(steps, labels, strict=True)
            if (self.kind and kind == self.kind) or any(r in self.rules for r in s.rules)
        ]
        if not hits:
            return steps[-1].number
        return hits[0] if self.which == "first" else hits[-1]


@dataclass(frozen=True)
class Case:
    """A variant in the configuration where its fault shows, the property it violates, and the explanation."""

    name: str  # "no-time-wait" or "no-time-wait/old-duplicate"
    variant: Variant
    config: Config  # before the variant's own change (see Variant.config)
    prop: Property
    culprit: Culprit
    explanation: Mapping[str, str] = field(default_factory=dict, compare=False)  # per language, see EXPLANATIONS

    @property
    def title(self) -> str:
        return f"without {self.variant.mechanism}: {self.variant.summary}"


@dataclass
class Explained:
    """A case run: its counterexample, the steps as the trace prints them, and the culprit step."""

    case: Case
    config: Config  # the variant's configuration
    rules: tuple[Rule, ...]
    result: Result
    correct: Result  # the same property, the same configuration, the correct rules
    steps: list[TraceStep]
    culprit: int

    @property
    def counterexample(self) -> Counterexample:
        assert self.result.counterexample is not None
        return self.result.counterexample

    def text(self, lang: str = "en") -> str:
        """The explanation in ``lang``, with this trace's numbers."""
        step = self.steps[self.culprit - 1]
        return self.case.explanation[lang].format(
            step=self.culprit,
            event=f"{step.actor}: {step.event}",
        )


def _ep(script: tuple[Call, ...], *iss: tuple[int, ...], listening: bool = False) -> EndpointConfig:
    return EndpointConfig(script=script, iss=tuple(iss), listening=listening)


def _configs() -> dict[str, Config]:
    """The configurations of the cases that no preset already is."""
    old_syn = Config(
        name="old-duplicate-syn",
        description="A opens and closes one connection; B listens again; the network may hold a copy of a segment",
        a=_ep((OPEN, WAIT_OPEN, CLOSE, WAIT_CLOSED), (WRAP,)),
        b=_ep((WAIT_OPEN, WAIT_EOF, CLOSE, WAIT_CLOSED, LISTEN, WAIT_OPEN), (300,), (700,), listening=True),
        reorder=True,
        duplicate=1,
    )
    two_incarnations = replace(
        old_syn,
        name="two-connections",
        description="A opens, closes and opens again; B listens twice; any delay, one copy of a segment",
        a=_ep((OPEN, WAIT_OPEN, CLOSE, WAIT_CLOSED, OPEN, WAIT_OPEN), (WRAP,), (1000,)),
    )
    reused_iss = replace(
        preset("incarnations"),
        name="half-close-twice",
        description="two connections; B sends data after A's FIN; B's second connection selects its first ISS again",
        a=_ep((OPEN, WAIT_OPEN, CLOSE, WAIT_CLOSED, OPEN, WAIT_OPEN, CLOSE), (WRAP,), (0,)),
        b=_ep(
            (LISTEN, WAIT_OPEN, WAIT_EOF, SEND, CLOSE, WAIT_CLOSED, LISTEN, WAIT_OPEN, WAIT_EOF, SEND, CLOSE),
            (300,),
            (300,),
        ),
        reach=(),
    )
    reordering = replace(
        preset("lifecycle"),
        name="reordering",
        description="open, one unit of data each way, A closes first; the network reorders, MSL = 1 tick",
        reorder=True,
        msl=1,
        reach=(),
    )
    return {c.name: c for c in (old_syn, two_incarnations, reused_iss, reordering)}


#: The explanations of the cases, one TOML table per case with a text per language.
EXPLANATIONS = Path(__file__).with_name("explanations.toml")


@cache
def explanations(table: str) -> dict[str, dict[str, str]]:
    """The texts of ``explanations.toml``'s ``table`` (``case`` or ``claim``): per name, per language."""
    with EXPLANATIONS.open("rb") as f:
        data: dict[str, dict[str, dict[str, str]]] = tomllib.load(f)
    return data[table]


def cases() -> tuple[Case, ...]:
    """Every case, in the order of :func:`spec.variants.variants`, with its explanations."""
    texts = explanations("case")
    for case in _cases():
        missing = [lang for lang in LANGUAGES if lang not in texts.get(case.name, {})]
        if missing:
            raise ValueError(f"{EXPLANATIONS}: case {case.name} needs a text in {', '.join(missing)}")
    return tuple(replace(case, explanation=texts[case.name]) for case in _cases())


def _cases() -> tuple[Case, ...]:
    c = _configs()
    return (
        Case(
            "two-way-handshake",
            variant_named("two-way-handshake"),
            c["old-duplicate-syn"],
            property_named("one-connection-per-open"),
            Culprit("last", ("listen-syn~broken",)),
        ),
        Case(
            "no-time-wait",
            variant_named("no-time-wait"),
            preset("lossy"),
            property_named("graceful-close"),
            Culprit("first", ("fin-fin-wait-2~broken", "closing-ack-of-fin~broken")),
        ),
        Case(
            "no-time-wait/old-duplicate",
            variant_named("no-time-wait"),
            c["half-close-twice"],
            property_named("stream-integrity"),
            Culprit("first", ("fin-fin-wait-2~broken", "closing-ack-of-fin~broken")),
        ),
        Case(
            "short-time-wait",
            variant_named("short-time-wait"),
            preset("incarnations"),
            property_named("no-old-duplicates"),
            Culprit("first", ("time-wait-timeout",)),
        ),
        Case(
            "fin-out-of-order",
            variant_named("fin-out-of-order"),
            c["reordering"],
            property_named("graceful-close"),
            Culprit("first", ("fin-established~broken", "fin-fin-wait-1~broken", "fin-fin-wait-2~broken")),
        ),
        Case(
            "no-retransmission",
            variant_named("no-retransmission"),
            preset("lossy"),
            property_named("no-deadlock"),
            Culprit("first", kind="lose"),
        ),
        Case(
            "any-ack-in-syn-sent",
            variant_named("any-ack-in-syn-sent"),
            c["two-connections"],
            property_named("one-connection-per-open"),
            Culprit("last", ("syn-sent-syn-ack",)),
        ),
        Case(
            "fixed-iss",
            variant_named("fixed-iss"),
            c["two-connections"],
            property_named("no-old-duplicates"),
            Culprit("last", kind="segment"),
        ),
        Case(
            "rst-ignored",
            variant_named("rst-ignored"),
            preset("handshake"),
            property_named("no-deadlock"),
            Culprit("first", ("syn-sent-reset~broken",)),
        ),
    )


def case_named(name: str) -> Case:
    """The case called ``name`` (ValueError naming the cases otherwise)."""
    for c in cases():
        if c.name == name:
            return c
    raise ValueError(f"unknown case {name!r}; the cases are {', '.join(c.name for c in cases())}")


@dataclass(frozen=True)
class OnTheWire:
    """Where a variant's fault shows in a real capture: the recording whose replay the variant fails."""

    capture: str | None  # the recording (``tcpspec record NAME``) the variant is REJECTED on, or None
    network: str | None = None  # the replay configuration under tests/captures/, when not replay's default
    segment: int = 0  # the segment it is rejected at
    why_not: str = ""  # when no recording shows the fault: why


def on_the_wire() -> dict[str, OnTheWire]:
    """Each variant and the real capture that rejects it (tests/test_replay.py replays every one)."""
    return {
        "two-way-handshake": OnTheWire("client-closes", segment=3),
        "no-time-wait": OnTheWire("lost-final-ack", segment=8),
        "short-time-wait": OnTheWire("late-fin", network="linux.toml", segment=10),
        "fin-out-of-order": OnTheWire("data-overtaken", network="loopback.toml", segment=8),
        "no-retransmission": OnTheWire("lost-syn", segment=2),
        "any-ack-in-syn-sent": OnTheWire("half-open", network="crash.toml", segment=9),
        "fixed-iss": OnTheWire("refused-twice", segment=3),
        "rst-ignored": OnTheWire("refused-twice", segment=3),
    }


def cases_of(variant: str) -> list[Case]:
    """The cases of the variant called ``variant`` (ValueError if there is no such variant)."""
    variant_named(variant)
    return [c for c in cases() if c.variant.name == variant]


def run_case(case: Case, limits: Limits | None = None) -> Explained:
    """Explore the case's variant and the correct rules in its configuration; explain the counterexample.

    Raises :class:`NotViolated` when the variant does not violate the property there (a search cut short
    by ``limits``, or a catalogue whose claim about the case is false).
    """
    config = case.variant.config(case.config)
    rules = case.variant.rules(all_rules())
    _, results = check(config, [case.prop], limits, rules=rules)
    _, correct = check(case.config, [case.prop], limits)
    return explain(case, results[0], correct[0])


class NotViolated(Exception):
    """The variant did not violate the case's property: there is no counterexample to explain."""

    def __init__(self, case: Case, result: Result) -> None:
        super().__init__(
            f"{case.variant.name} does not violate {case.prop.name} in {case.config.name}: {result.verdict_text}"
        )
        self.result = result


def explain(case: Case, result: Result, correct: Result) -> Explained:
    """The explanation of ``result``, the variant's counterexample to the case's property."""
    cx = result.counterexample
    if cx is None:
        raise NotViolated(case, result)
    config = case.variant.config(case.config)
    rules = case.variant.rules(all_rules())
    steps = build_trace(Machine(config, rules), cx.path, cx.loop)
    kinds = [label.kind for _, label in cx.path] + [label.kind for _, label in cx.loop]
    return Explained(case, config, rules, result, correct, steps, case.culprit.find(steps, kinds))


#: The variants' one-line summaries in Korean (the English ones are in spec/variants.py).
SUMMARY_KO = {
    "two-way-handshake": "passive OPEN이 SYN을 받자마자 ESTABLISHED로 넘어가고, 능동 쪽은 세 번째 ACK를 보내지 않는다",
    "no-time-wait": "먼저 닫은 쪽이 상대의 FIN에 ACK를 보내자마자 TCB를 지운다",
    "short-time-wait": "TIME-WAIT가 2 MSL이 아니라 1 MSL 동안만 유지된다",
    "fin-out-of-order": "FIN이 아직 받지 못한 데이터보다 앞서 도착해도 바로 처리한다",
    "no-retransmission": "재전송 타이머가 없어 유실된 세그먼트를 다시 보내지 않는다",
    "any-ack-in-syn-sent": "SYN-SENT가 무엇을 확인하든 SYN,ACK를 받아들인다",
    "fixed-iss": "한 endpoint의 모든 연결이 같은 ISS를 고른다",
    "rst-ignored": "받아들일 수 있는 RST가 와도 아무것도 바뀌지 않는다",
}

#: The mechanisms in Korean (the English ones are in spec/variants.py).
MECHANISM_KO = {
    "two-way-handshake": "3-way handshake",
    "no-time-wait": "TIME-WAIT",
    "short-time-wait": "TIME-WAIT의 2 MSL",
    "fin-out-of-order": "FIN을 sequence 순서대로 처리하는 규칙",
    "no-retransmission": "재전송",
    "any-ack-in-syn-sent": "SYN-SENT에서 ACK의 수용 가능성 검사",
    "fixed-iss": "연결마다 새 ISS를 고르는 규칙",
    "rst-ignored": "RST 처리",
}

_GENERIC = {
    "en": (
        "Without {mechanism} ({summary}), {prop} is violated in {config}. Things go wrong at step {step} "
        "({event}), {where}. RFC 9293 §{section} asks for {mechanism}."
    ),
    "ko": (
        "{variant} 변형({summary})에서는 {config} 구성에서 {prop} 속성이 깨진다. 문제는 {step}번째 단계({event})에서 "
        "시작되며, {where}. 이 변형이 없애는 메커니즘은 RFC 9293 §{section}이 요구하는 것이다."
    ),
}
_WHERE = {
    "en": ("the first step where a changed rule applies", "the step where the violation shows"),
    "ko": ("바뀐 규칙이 처음 적용되는 단계다", "위반이 드러나는 단계다"),
}


def wrap(text: str, lang: str, indent: str = "") -> str:
    """``text`` in lines a terminal shows whole (Hangul is twice as wide), names never broken at a hyphen."""
    width = 100 if lang == "en" else 60
    return textwrap.fill(
        text, width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False, break_long_words=False
    )


def summary(variant: Variant, lang: str) -> str:
    """The variant's one-line summary in ``lang``."""
    return SUMMARY_KO[variant.name] if lang == "ko" else variant.summary


def mechanism(variant: Variant, lang: str) -> str:
    """The mechanism the variant takes away, in ``lang``."""
    return MECHANISM_KO[variant.name] if lang == "ko" else variant.mechanism


def generic_case(variant: Variant, config: Config, prop: Property) -> Case:
    """A case for a configuration of the user's: the culprit is the first step of a changed rule, if any."""
    changed = variant.changed_rules
    texts = {}
    for lang in LANGUAGES:
        where = _WHERE[lang][0 if changed else 1]
        texts[lang] = _GENERIC[lang].format(
            mechanism=variant.mechanism,
            summary=summary(variant, lang),
            prop=prop.name,
            config=config.name,
            step="{step}",
            event="{event}",
            where=where,
            section=variant.section,
            variant=variant.name,
        )
    return Case(variant.name, variant, config, prop, Culprit("first", changed), texts)
