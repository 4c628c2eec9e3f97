"""Configurations: who calls what, how the network misbehaves, how time passes.

A configuration fixes every bound of the model, so that its reachable state
graph is finite.  Named presets live in :mod:`spec.presets`; users write their
own in TOML (see README, "Writing a configuration").  Every mistake in a file is
reported as a :class:`ConfigError` that names the file, the key and the fix.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import Any

from spec.segment import UNIT
from spec.seqnum import MASK
from spec.states import TcpState


class ConfigError(ValueError):
    """A configuration that cannot be used, with a message saying how to fix it."""


class Call(Enum):
    """What a user's script can do: RFC 9293 §3.9.1 calls, and waits for TCP's signals."""

    OPEN = "open"  # active OPEN (RFC 9293 §3.10.1)
    LISTEN = "listen"  # passive OPEN (RFC 9293 §3.10.1)
    SEND = "send"  # SEND one unit of data (RFC 9293 §3.10.2)
    SEND_URGENT = "send-urgent"  # SEND one unit with the URGENT flag (RFC 9293 §3.10.2)
    CLOSE = "close"  # CLOSE (RFC 9293 §3.10.4)
    ABORT = "abort"  # ABORT (RFC 9293 §3.10.5)
    WAIT_OPEN = "wait-open"  # block until the OPEN completes or fails
    WAIT_EOF = "wait-eof"  # block until the peer's FIN is received or the connection fails
    WAIT_CLOSED = "wait-closed"  # block until the TCB is deleted

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class EndpointConfig:
    """One endpoint: the user's script, the ISS values its TCBs may pick, the size of each SEND."""

    script: tuple[Call, ...]
    iss: tuple[tuple[int, ...], ...]  # choices per incarnation; the last entry repeats
    listening: bool = False  # the endpoint starts in LISTEN: its passive OPEN came before everything else
    sizes: tuple[tuple[int, ...], ...] = ()  # per incarnation, octets of unit 1, 2, ...; the last entry repeats

    def iss_choices(self, incarnation: int) -> tuple[int, ...]:
        """The ISS values the TCB of ``incarnation`` (1, 2, ...) may select (RFC 9293 §3.4.1)."""
        return self.iss[min(incarnation, len(self.iss)) - 1]

    def unit_size(self, incarnation: int, unit: int) -> int:
        """Octets of data unit ``unit`` (1, 2, ...) of ``incarnation``: what the user's SEND of it handed to TCP.

        A unit the configuration does not size has one octet.
        """
        if not self.sizes:
            return UNIT
        sizes = self.sizes[min(max(incarnation, 1), len(self.sizes)) - 1]
        return sizes[unit - 1] if 0 < unit <= len(sizes) else UNIT

    def unit_starting_at(self, incarnation: int, offset: int) -> int:
        """The unit of ``incarnation`` whose first octet lies ``offset`` octets after the ISS, or 0 if none does.

        The SYN occupies the ISS, so unit 1 begins at offset 1 and each further unit
        right after the octets of the one before (RFC 9293 §3.4).
        """
        index = min(max(incarnation, 1), len(self.sizes)) - 1 if self.sizes else -1
        return self._unit_starts[index].get(offset, 0)

    @cached_property
    def _unit_starts(self) -> dict[int, dict[int, int]]:
        """Per entry of ``sizes`` (-1: none given), the offset after the ISS where each unit begins -> the unit."""
        units = max([self.sends, *map(len, self.sizes)])
        table: dict[int, dict[int, int]] = {}
        for index in range(len(self.sizes)) if self.sizes else (-1,):
            incarnation = index + 1 if index >= 0 else 1
            starts: dict[int, int] = {}
            start = 1
            for unit in range(1, units + 1):
                starts.setdefault(start, unit)
                start += self.unit_size(incarnation, unit)
            table[index] = starts
        return table

    @property
    def one_octet_units(self) -> bool:
        """Every unit of data is one octet (what the Z3 encodings assume)."""
        return all(size == UNIT for sizes in self.sizes for size in sizes)

    @property
    def opens(self) -> int:
        """TCBs the user's script can create: one per OPEN or LISTEN, one more if already listening."""
        return sum(1 for c in self.script if c in (Call.OPEN, Call.LISTEN)) + int(self.listening)

    @property
    def incarnations(self) -> range:
        """Incarnation numbers 1, 2, ...: every TCB the script can create, and every entry of ``iss``."""
        return range(1, max(len(self.iss), self.opens) + 1)

    @cached_property
    def sends(self) -> int:
        """Units of data the script SENDs."""
        return sum(1 for c in self.script if c in (Call.SEND, Call.SEND_URGENT))

    def urgent(self, unit: int) -> bool:
        """Whether data unit ``unit`` (1, 2, ...) was sent with the URGENT flag."""
        return unit in self.urgent_units

    @cached_property
    def urgent_units(self) -> frozenset[int]:
        """The data units (1, 2, ...) the user sent with the URGENT flag."""
        sends = [c for c in self.script if c in (Call.SEND, Call.SEND_URGENT)]
        return frozenset(unit for unit, call in enumerate(sends, 1) if call is Call.SEND_URGENT)


@dataclass(frozen=True)
class Config:
    """A finite instance of the model: two endpoints, a network, a clock."""

    name: str
    description: str
    a: EndpointConfig
    b: EndpointConfig
    window: int = 2  # RCV.WND = SND.WND, in octets, fixed
    reorder: bool = False  # the network may reorder: channels are bags, not FIFOs
    capacity: int | None = None  # segments a channel holds; a send into a full channel is dropped
    loss: int | None = 0  # segments the network may lose; None = any number
    duplicate: int = 0  # segments the network may duplicate
    crash: int = 0  # times a host may crash and lose its TCB (RFC 9293 §3.5.1)
    msl: int | None = None  # maximum segment lifetime in ticks; None = untimed model
    rto: int | None = 1  # retransmission timeout in ticks; None = at any moment, also when timed
    time_wait: int | None = None  # TIME-WAIT duration in ticks; default 2 * msl (RFC 9293 §3.6.1)
    retries: int | None = None  # retransmissions before giving up (R2); None = no retransmission timer
    tick: float | None = None  # seconds of a capture's time per tick, for replay (None: timestamps not read)
    rfc5961: bool = True  # RST/SYN mitigations of RFC 5961 (RFC 9293 §3.10.7.4), as Linux does
    rfc1337: bool = False  # TIME-WAIT ignores RST (RFC 1337; Linux net.ipv4.tcp_rfc1337 = 1)
    reach: tuple[str, ...] = field(default=())  # coverage: what this configuration must reach

    @property
    def timed(self) -> bool:
        """Time passes in ticks (segments age, timers count down)."""
        return self.msl is not None

    @property
    def rto_any(self) -> bool:
        """The retransmission timer may expire at any moment, even though time is timed (real RTOs vary)."""
        return self.timed and self.rto is None

    @property
    def time_wait_ticks(self) -> int:
        """Ticks TIME-WAIT lasts: 2 * MSL unless configured otherwise (MUST-13)."""
        if self.time_wait is not None:
            return self.time_wait
        return 2 * self.msl if self.msl is not None else 0

    def endpoint(self, side: int) -> EndpointConfig:
        """Endpoint 0 (A) or 1 (B)."""
        return self.a if side == 0 else self.b

    def bounds(self) -> str:
        """The bounds, for printing beside a verdict."""
        parts = [
            f"window {self.window}",
            "any order" if self.reorder else "FIFO",
            f"capacity {self.capacity}" if self.capacity is not None else "unbounded channels",
            "loss: any" if self.loss is None else f"loss <= {self.loss}",
            f"duplication <= {self.duplicate}",
        ]
        if self.crash:
            parts.append(f"crashes <= {self.crash}")
        if self.rfc1337:
            parts.append("TIME-WAIT ignores RST (RFC 1337)")
        if not self.rfc5961:
            parts.append("RFC 793 RST and SYN processing (no RFC 5961)")
        if self.retries is None:
            parts.append("no retransmission")
        else:
            parts.append(f"retransmissions <= {self.retries} per segment")
        if self.timed:
            rto = "any" if self.rto is None else self.rto
            parts.append(f"MSL = {self.msl} ticks, RTO = {rto}, TIME-WAIT = {self.time_wait_ticks}")
            if self.tick is not None:
                parts.append(f"a tick = {self.tick:g} s of a capture")
        else:
            parts.append("untimed")
        return ", ".join(parts)


# ---------------------------------------------------------------------------
# Reading configurations from TOML

_TOP_KEYS = {"name", "description", "a", "b", "network", "faults", "timing", "tcp", "reach"}
_ENDPOINT_KEYS = {"script", "iss", "listening", "sizes"}
#: Octets all of one endpoint's data may occupy: well inside half the sequence space (RFC 9293 §3.4).
MAX_STREAM_OCTETS = 1 << 30
_NETWORK_KEYS = {"order", "capacity"}
_FAULT_KEYS = {"loss", "duplicate", "crash"}
_TIMING_KEYS = {"msl", "rto", "time_wait", "retries", "tick"}
_TCP_KEYS = {"window", "rfc5961", "rfc1337"}


def load_config(path: str | Path) -> Config:
    """Read a configuration file; raise :class:`ConfigError` saying what to fix."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{p}: cannot read the configuration: {err.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{p}: not valid TOML: {err}") from None
    return config_from_dict(data, source=str(p), default_name=p.stem)


def config_from_dict(data: dict[str, Any], source: str = "<config>", default_name: str = "custom") -> Config:
    """Build and validate a :class:`Config` from parsed TOML."""
    where = source
    _only(data, _TOP_KEYS, where, "the top level")
    for key in ("a", "b"):
        if key not in data:
            raise ConfigError(f"{where}: missing table [{key}] (each endpoint needs a script)")
    network = _table(data, "network", where)
    faults = _table(data, "faults", where)
    timing = _table(data, "timing", where)
    tcp = _table(data, "tcp", where)
    _only(network, _NETWORK_KEYS, where, "[network]")
    _only(faults, _FAULT_KEYS, where, "[faults]")
    _only(timing, _TIMING_KEYS, where, "[timing]")
    _only(tcp, _TCP_KEYS, where, "[tcp]")

    order = network.get("order", "fifo")
    if order not in ("fifo", "any"):
        raise ConfigError(f'{where}: [network] order = {order!r}: write "fifo" or "any"')
    loss_raw = faults.get("loss", 0)
    if loss_raw is True:
        loss: int | None = None
    elif loss_raw is False:
        loss = 0
    else:
        loss = _int(loss_raw, where, "[faults] loss (a count, or true for any number)", low=0)
    reach = data.get("reach", [])
    if not isinstance(reach, list) or not all(isinstance(r, str) for r in reach):
        raise ConfigError(f'{where}: reach must be a list of strings such as ["TIME-WAIT"]')
    config = Config(
        name=_str(data.get("name", default_name), where, "name"),
        description=_str(data.get("description", ""), where, "description"),
        a=_endpoint(data["a"], where, "a"),
        b=_endpoint(data["b"], where, "b"),
        window=_int(tcp.get("window", 2), where, "[tcp] window", low=1, high=64),
        rfc5961=_bool(tcp.get("rfc5961", True), where, "[tcp] rfc5961"),
        rfc1337=_bool(tcp.get("rfc1337", False), where, "[tcp] rfc1337"),
        reorder=order == "any",
        capacity=_opt_int(network.get("capacity"), where, "[network] capacity", low=1),
        loss=loss,
        duplicate=_int(faults.get("duplicate", 0), where, "[faults] duplicate", low=0),
        crash=_int(faults.get("crash", 0), where, "[faults] crash", low=0),
        msl=_opt_int(timing.get("msl"), where, "[timing] msl", low=1),
        rto=None
        if timing.get("rto", 1) == "any"
        else _int(timing.get("rto", 1), where, '[timing] rto (or "any")', low=0),
        tick=_opt_seconds(timing.get("tick"), where, "[timing] tick"),
        time_wait=_opt_int(timing.get("time_wait"), where, "[timing] time_wait", low=0),
        retries=_opt_int(timing.get("retries"), where, "[timing] retries", low=0),
        reach=tuple(reach),
    )
    validate(config, where)
    return config


def validate(config: Config, where: str = "<config>") -> None:
    """Reject configurations the model cannot run, saying why."""
    if config.time_wait is not None and config.msl is None:
        raise ConfigError(f"{where}: [timing] time_wait needs msl: TIME-WAIT is measured in ticks of MSL")
    if config.tick is not None and config.msl is None:
        raise ConfigError(f"{where}: [timing] tick needs msl: a capture's time is read in ticks of a timed model")
    for goal in config.reach:
        try:
            parse_goal(goal)
        except ValueError as err:
            raise ConfigError(f"{where}: reach: {err}") from None


@dataclass(frozen=True)
class Goal:
    """Something a configuration must reach (coverage): a state, a change of state, or a rule.

    Written ``TIME-WAIT`` (either endpoint reaches it), ``B:CLOSE-WAIT`` (that endpoint),
    ``SYN-SENT->SYN-RECEIVED`` (an endpoint moves from one to the other: a simultaneous open),
    ``rule:text-ahead`` (that rule applies somewhere: reordered data was held), or
    ``old-duplicate`` (a segment of an earlier incarnation of its sender reaches a later incarnation).
    """

    text: str
    side: int | None  # 0 = A, 1 = B, None = either
    before: TcpState | None
    after: TcpState | None
    rule: str | None = None
    old_duplicate: bool = False


def parse_goal(text: str) -> Goal:
    """Parse a coverage goal; raise ValueError naming the mistake."""
    rest = text.strip()
    side: int | None = None
    if rest[:2].upper() in ("A:", "B:"):
        side = 0 if rest[0].upper() == "A" else 1
        rest = rest[2:]
    if rest.strip().lower() == "old-duplicate":
        return Goal(text, side, None, None, old_duplicate=True)
    if rest.startswith("rule:"):
        name = rest[len("rule:") :].strip()
        from spec.rulebook import all_rules

        if name not in {r.name for r in all_rules()}:
            raise ValueError(f"no rule named {name!r} (tcpspec rules are named like 'text-ahead')")
        return Goal(text, side, None, None, name)
    if "->" in rest:
        left, right = rest.split("->", 1)
        return Goal(text, side, TcpState.parse(left), TcpState.parse(right))
    return Goal(text, side, None, TcpState.parse(rest))


def _endpoint(raw: Any, where: str, key: str) -> EndpointConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [{key}] must be a table with script and iss")
    _only(raw, _ENDPOINT_KEYS, where, f"[{key}]")
    script_raw = raw.get("script")
    if not isinstance(script_raw, list) or not script_raw:
        raise ConfigError(f'{where}: [{key}] script must be a non-empty list of calls, e.g. ["open", "close"]')
    script = []
    names = ", ".join(c.value for c in Call)
    for item in script_raw:
        try:
            script.append(Call(item))
        except ValueError:
            raise ConfigError(f"{where}: [{key}] script: unknown call {item!r}; the calls are {names}") from None
    iss_raw = raw.get("iss", [0])
    if isinstance(iss_raw, int) and not isinstance(iss_raw, bool):
        iss_raw = [iss_raw]
    if not isinstance(iss_raw, list) or not iss_raw:
        raise ConfigError(f"{where}: [{key}] iss must be a list of ISS values, or a list of such lists per incarnation")
    per_inc = iss_raw if all(isinstance(v, list) for v in iss_raw) else [iss_raw]
    iss: list[tuple[int, ...]] = []
    for choices in per_inc:
        if not choices:
            raise ConfigError(f"{where}: [{key}] iss: an incarnation has no ISS to choose from")
        values = []
        for v in choices:
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MASK:
                raise ConfigError(f"{where}: [{key}] iss: {v!r} is not a 32-bit sequence number (0 to {MASK})")
            values.append(v)
        iss.append(tuple(sorted(set(values))))
    listening = _bool(raw.get("listening", False), where, f"[{key}] listening")
    sizes_raw = raw.get("sizes", [])
    if not isinstance(sizes_raw, list):
        raise ConfigError(f"{where}: [{key}] sizes must be a list of octet counts, one per SEND, e.g. [5, 1460]")
    per_inc_sizes = sizes_raw if sizes_raw and all(isinstance(v, list) for v in sizes_raw) else [sizes_raw]
    sizes = []
    for counts in per_inc_sizes:
        octets = tuple(_int(v, where, f"[{key}] sizes: a unit's size in octets", low=1) for v in counts)
        if sum(octets) > MAX_STREAM_OCTETS:
            raise ConfigError(f"{where}: [{key}] sizes add up to {sum(octets)} octets; at most {MAX_STREAM_OCTETS} fit")
        sizes.append(octets)
    sizes = [] if sizes == [()] else sizes
    return EndpointConfig(script=tuple(script), iss=tuple(iss), listening=listening, sizes=tuple(sizes))


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key} must be a table [{key}]")
    return value


def _only(table: dict[str, Any], allowed: set[str], where: str, what: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} in {what}; the keys are {', '.join(sorted(allowed))}")


def _int(value: Any, where: str, what: str, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: {what} must be an integer, not {value!r}")
    if low is not None and value < low:
        raise ConfigError(f"{where}: {what} = {value} is too small; it must be at least {low}")
    if high is not None and value > high:
        raise ConfigError(f"{where}: {what} = {value} is too large; it must be at most {high}")
    return value


def _opt_seconds(value: Any, where: str, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 86400:
        raise ConfigError(f"{where}: {what} must be a number of seconds (more than 0, at most 86400), not {value!r}")
    return float(value)


def _opt_int(value: Any, where: str, what: str, low: int | None = None) -> int | None:
    return None if value is None else _int(value, where, what, low=low)


def _bool(value: Any, where: str, what: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {what} must be true or false, not {value!r}")
    return value


def _str(value: Any, where: str, what: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {what} must be a string")
    return value
