"""Trace checking: is a captured connection a behaviour the spec admits?

A capture says what both endpoints sent and in what order.  Replay binds it to
a configuration (:func:`bind`): each side's user script (an OPEN or a LISTEN, one
SEND per new data segment, a CLOSE after a FIN, an ABORT after a RST), its ISS
from its SYN, and the size of each unit of data from the segment that first
carried it.  It then searches the transition system of that configuration
(:func:`replay`), breadth first, over nodes (world, segments matched, ticks
elapsed, old duplicates seen); the ticks count only when the configuration says
how long a tick of the capture's clock is.
Every segment a TCP sends in a transition must be the next segment of the
capture; what the capture cannot show is searched for: user calls, timer
expiries, segment arrivals, and the network's losses, reorderings and
duplications inside the bounds of the configuration.

The observer is taken to see every segment as it is sent, before the network
loses or delays it (as tcpdump on loopback, or on the sending host, does).  Two
liberties are taken, each listed in :data:`ABSTRACTIONS` and in the README:
a pure ACK may be withheld (delayed ACKs, RFC 9293 §3.8.6.3), and PSH is not
compared.  Nothing else is skipped: a segment that replay cannot interpret
makes the trace REJECTED with the reason, never ACCEPTED.  Segments that no
TCB of the capture sent -- old duplicates from before it began -- are admitted
only when asked for (``old_duplicates``), and shown as such.
"""

from __future__ import annotations

import gc
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from checks.capture import Capture, Observed
from spec.config import Call, Config, ConfigError, EndpointConfig
from spec.machine import NET, A, AmbiguousRules, B, IncompleteRules, Label, Machine, Transition, World
from spec.rulebook import all_rules
from spec.segment import Segment, describe
from spec.seqnum import HALF, MASK, MOD, seq_gt, seq_le, seq_lt, seq_sub
from spec.states import ACK, CLOSED, ESTABLISHED, FIN, LISTEN, PSH, RST, SYN, SYNCHRONIZED, TIME_WAIT, URG, TcpState
from spec.tcb import Endpoint
from spec.user_calls import with_reset_as_written
from spec.variants import Variant

ACCEPTED, REJECTED, UNKNOWN = "ACCEPTED", "REJECTED", "UNKNOWN"

#: The control bits compared with the model's (PSH is the sender's choice, RFC 9293 §3.9.1.2; ECN bits are ignored).
COMPARED = SYN | ACK | FIN | RST | URG
#: The model's window in replay: larger than any window a capture advertises, so that it never limits.
REPLAY_WINDOW = 1 << 30
#: Events the replay's machine remembers: a capture moves on, so old states rarely come back.
REPLAY_MEMO = 20_000
#: Nodes (world, segments matched) the search may visit before it gives up with UNKNOWN.
MAX_NODES = 2_000_000

SIDES = ("A", "B")
#: The sizes of a TCB's SENDs listed one by one; a longer list is cut short.
SIZES_SHOWN = 8

#: What replay abstracts from a real capture, and how it treats what real stacks do beyond RFC 9293's state machine.
ABSTRACTIONS: tuple[str, ...] = (
    "Compared per segment: the sender, SYN, ACK, FIN, RST and URG, SEG.SEQ, SEG.ACK (when ACK is set) and the "
    "payload length. Not compared: PSH (the sender's choice, RFC 9293 §3.9.1.2), the ECN bits, the window, "
    "options (MSS, window scale, SACK, timestamps), checksums and the payload's bytes.",
    "The observer sees every segment a TCP sends, as it is sent, before the network loses, reorders or "
    "duplicates it (tcpdump on loopback, or on the sending host). A segment lost before the capture point "
    "makes the trace REJECTED. With --at A (or B) the capture was taken at that host: its own segments are "
    "seen as it sends them, the other side's as they reach it (in the order they arrive; lost ones never), and "
    "the host processes what reached it in that order, later (a segment dropped by the host after the capture "
    "point, as iptables does, makes the trace REJECTED); the other side's events are all unseen. Each TCB of "
    "the other side is read from what reaches the host: its SYN must arrive, and data lost on the way shows "
    "as a gap in its sequence numbers, read as one unit. Only on networks that may lose any segment, without "
    "a clock.",
    "A pure ACK (no data, SYN, FIN or RST) the rules send may be withheld: TCP may delay an ACK and let a later "
    "segment carry it (RFC 9293 §3.8.6.3, delayed ACKs; Linux piggybacks the ACK of a FIN on its own FIN). "
    "To the peer a withheld ACK is as if never sent; the result counts them.",
    "Each SEND of the user is one segment of new data: a unit is as many octets as the segment that first "
    "carries it, and a retransmission must carry the same octets. Data a stack splits or merges differently "
    "on retransmission cannot be interpreted: the trace is REJECTED at that segment, with the reason.",
    "Windows are not modelled: the model's window is 2**30 octets, so flow control never holds data back. "
    "Window updates and duplicate pure ACKs that the rules do not send are REJECTED.",
    "The user's calls come from the capture: an OPEN for a bare SYN, a LISTEN (made before the capture began, "
    "or after the last connection closed) for a SYN,ACK, one SEND per new data segment, a CLOSE for a FIN, an "
    "ABORT for a RST,ACK whose SEG.SEQ is not 0 (a reset answering a segment is <SEQ=SEG.ACK><CTL=RST> or "
    "<SEQ=0><CTL=RST,ACK>, RFC 9293 §3.5.2) or for a RST without ACK at the sender's SND.NXT after it was "
    "synchronized (ABORT's reset as §3.10.5 writes it; the rules then send that form), and a CLOSE in SYN-SENT, "
    "which sends nothing (§3.10.4), for a TCB never seen synchronized that later answers with a reset from its "
    "closed port. Linux answers a close with unread data by RST: replay takes it as the user's ABORT.",
    "A segment with data and FIN (Flags [FP.]) is read as its data segment followed at once by its FIN segment "
    "(§3.3: a segment is bound to its octets and then its FIN; the receiver processes text before FIN, "
    "§3.10.7.4): a TCP may send its FIN on the last data, or add it when it retransmits that data (§3.8.6, "
    "repackaging). A FIN added to a retransmission after the FIN was sent on its own is that FIN, still in "
    "the network.",
    "A capture that begins after the handshake is replayed from ESTABLISHED on both sides, with SND.NXT and "
    "RCV.NXT bound from the first segment seen each way.",
    "Time is not compared unless the configuration says how long a tick is ([timing] tick, seconds): then a "
    "segment seen at time t must be sent in tick floor(t / tick) of a timed model, so that MSL and TIME-WAIT "
    "are held against the capture's clock (tests/captures/linux.toml: MSL 30 s, TIME-WAIT 60 s as Linux's "
    "TCP_TIMEWAIT_LEN). Without it, timers may expire at any moment. Retransmission timeouts are never read "
    'from the capture (rto = "any"): real stacks back off and adapt them.',
    "Retransmissions are bounded by the configuration's retries, at least as many as the capture shows.",
    "With --old-duplicates N, up to N observed segments may be old duplicates: sent by an incarnation before the "
    "capture began and still in the network (RFC 9293 §3.4, Figures 8 and 11). An old duplicate has a shape TCP "
    "sends (no SYN with FIN or RST, no segment without ACK but SYN and RST), a SEG.SEQ outside the sequence "
    "space its sender's current TCB has used, and an ACK of nothing its receiver sent in the capture. Each is "
    "shown as such; by default there are none.",
)


# --- binding a capture to a configuration ---------------------------------------------------------


def capture_network() -> Config:
    """The network replay assumes unless told otherwise: it may lose, delay and reorder any segment.

    It does not duplicate or crash; ``--config`` gives other bounds (its scripts are not used).
    """
    nobody = EndpointConfig(script=(), iss=((0,),))
    return Config(
        name="replay",
        description="a network that may lose, delay and reorder segments",
        a=nobody,
        b=nobody,
        reorder=True,
        loss=None,
    )


@dataclass(frozen=True)
class Incarnation:
    """One TCB of one side, as the capture shows it."""

    iss: int
    passive: bool  # it answered a SYN (its first SYN carried ACK)
    sizes: tuple[int, ...]  # octets of each unit of new data, in sequence order
    closes: bool  # it sent a FIN
    aborts: bool  # it sent a reset that answers no segment: its user's ABORT
    plain_abort: bool = False  # that reset may be ABORT's as RFC 9293 writes it, without ACK
    gives_up: bool = False  # never synchronized: its user may have closed it in SYN-SENT, unseen


@dataclass(frozen=True)
class Binding:
    """A capture bound to a configuration: the scripts, ISSs and unit sizes it implies."""

    config: Config
    initial: World
    late_start: bool
    incarnations: tuple[tuple[Incarnation, ...], tuple[Incarnation, ...]]
    uninterpretable: dict[int, str] = field(default_factory=dict)  # segment index -> why replay cannot read it

    def describe_side(self, side: int) -> str:
        """``A: active OPEN, ISS 2240075741, 1 SEND (5 octets), CLOSE``."""
        parts = []
        for k, inc in enumerate(self.incarnations[side]):
            opened = (
                "ESTABLISHED before the capture"
                if k == 0 and self.late_start
                else "LISTEN"
                if inc.passive
                else "active OPEN"
            )
            sends = f"{len(inc.sizes)} SEND{'s' if len(inc.sizes) != 1 else ''}"
            if len(set(inc.sizes)) == 1 and len(inc.sizes) > 1:
                octets = "octet" if inc.sizes[0] == 1 else "octets"
                sends += f" ({inc.sizes[0]} {octets} each)"
            elif len(inc.sizes) > SIZES_SHOWN:
                runs = [(size, len(list(group))) for size, group in itertools.groupby(inc.sizes)]
                if len(runs) <= SIZES_SHOWN:  # 1381 x 1448, 240
                    shown = ", ".join(f"{n} x {size}" if n > 1 else str(size) for size, n in runs)
                else:
                    shown = ", ".join(str(n) for n in inc.sizes[:SIZES_SHOWN]) + ", ..."
                sends += f" ({shown}: {sum(inc.sizes):,} octets)"
            elif inc.sizes:
                octets = "octet" if inc.sizes == (1,) else "octets"
                sends += f" ({', '.join(str(n) for n in inc.sizes)} {octets})"
            calls = [opened, f"ISS {inc.iss}", sends]
            calls += ["CLOSE"] * inc.closes + ["ABORT"] * inc.aborts
            calls += ["perhaps CLOSE in SYN-SENT"] * inc.gives_up
            parts.append(", ".join(calls))
        return "; then ".join(parts) if parts else "no connection (CLOSED throughout)"


def _is_syn(o: Observed) -> bool:
    return bool(o.flags & SYN)


def _incarnations(
    capture: Capture, side: str, late_start: bool, notes: dict[int, str], fill_gaps: bool = False
) -> list[Incarnation]:
    """Split one side's segments into TCBs (a SYN with a new ISS begins one) and read each one's data units
    (``fill_gaps``: the capture was taken at the other host, so data that was lost is never seen)."""
    segments = [(i, o) for i, o in enumerate(capture.segments) if o.sender == side]
    groups: list[tuple[int, bool, list[tuple[int, Observed]]]] = []
    for i, o in segments:
        if _is_syn(o) and (not groups or o.seq != groups[-1][0]):
            groups.append((o.seq, bool(o.flags & ACK), []))
        elif not groups:
            if not late_start:
                continue  # replies of an endpoint without a TCB (a RST from a closed port)
            groups.append(((o.seq - 1) & MASK, False, []))  # its SYN came before the capture: ISS = SND.NXT - 1
        groups[-1][2].append((i, o))
    found = []
    for iss, passive, members in groups:
        # The units tile the sequence space from ISS+1, each as long as the first segment seen to begin there
        # (in sequence order, not the order seen: seen at the receiving host, data may arrive out of order).
        first: dict[int, int] = {}  # offset after the ISS -> octets of the first data segment seen there
        for i, o in members:
            if o.length == 0:
                continue
            if o.flags & SYN:
                notes[i] = "data on a SYN (TCP Fast Open) is beyond the model"
                continue
            first.setdefault(seq_sub(o.seq, iss), o.length)
        # Seen at the other host, data lost on the way is never seen: the sequence numbers after it tell
        # where it ended, and each gap is read as one unit.
        marks = sorted({seq_sub(o.seq, iss) for _, o in members if not o.flags & (SYN | RST)} - {0})
        fins = [seq_sub(o.seq, iss) for _, o in members if o.flags & FIN and not o.flags & SYN]
        if fins:  # the FIN ends the data: sequence numbers after it are the FIN's own
            marks = [m for m in marks if m <= min(fins)]
        sizes: list[int] = []
        next_offset = 1
        while True:
            if next_offset in first:
                sizes.append(first[next_offset])
            elif fill_gaps and (later := [m for m in marks if m > next_offset and m < 1 << 31]):
                sizes.append(later[0] - next_offset)
            else:
                break
            next_offset += sizes[-1]
        starts = dict(zip(itertools.accumulate([1, *sizes]), sizes, strict=False))
        for i, o in members:
            offset = seq_sub(o.seq, iss)
            if o.length and not o.flags & SYN and starts.get(offset) != o.length:
                notes[i] = (
                    f"its data [{o.seq}:{(o.seq + o.length) & MASK}] does not line up with the units of this TCB: "
                    f"it begins {offset} octets after the ISS, where no unit begins, or with other octets than the "
                    f"unit there (replay maps each SEND to one segment of new data; its units tile the sequence "
                    f"space up to {next_offset} octets after the ISS)"
                )
        closes = any(o.flags & FIN for _, o in members)
        # A reset that answers a segment is <SEQ=SEG.ACK><CTL=RST> or <SEQ=0><CTL=RST,ACK> (§3.5.2); one with
        # ACK and another SEG.SEQ is the user's ABORT (<SEQ=SND.NXT>, with ACK as Linux sends it).
        aborts = any(o.flags & RST and o.flags & ACK and o.seq != 0 for _, o in members)
        # ABORT's reset as §3.10.5 writes it, <SEQ=SND.NXT><CTL=RST>, has the shape of a reset that answers a
        # segment: the user may have aborted when a synchronized TCB sends one at its SND.NXT.
        plain_abort = not aborts and _resets_at_snd_nxt(iss, members)
        # A user may CLOSE (or ABORT) in SYN-SENT: the TCB is deleted and nothing is sent (§3.10.4, §3.10.5);
        # a SYN,ACK arriving later draws a reset from the closed port, <SEQ=SEG.ACK><CTL=RST>.  Inferred only
        # from that reset: a TCB never seen synchronized that sends one.
        gives_up = not passive and not any(o.flags & ACK for _, o in members) and any(o.flags & RST for _, o in members)
        found.append(Incarnation(iss, passive, tuple(sizes), closes, aborts or plain_abort, plain_abort, gives_up))
    return found


def _resets_at_snd_nxt(iss: int, members: list[tuple[int, Observed]]) -> bool:
    """Whether a reset without ACK follows a segment with ACK and carries the sender's SND.NXT then."""
    snd_nxt: int | None = None
    for _, o in members:
        if o.flags & RST:
            if not o.flags & ACK and snd_nxt is not None and o.seq == snd_nxt:
                return True
            continue
        if o.flags & ACK:
            end = (o.seq + o.length + bool(o.flags & SYN) + bool(o.flags & FIN)) & MASK
            if snd_nxt is None or seq_gt(end, snd_nxt):
                snd_nxt = end
    return False


def _script(incs: list[Incarnation], late_start: bool, closed_first: bool) -> tuple[tuple[Call, ...], bool]:
    """The user's calls for a side's incarnations, and whether it was listening before the capture.

    A side that answered from a closed port before its first SYN,ACK listens during the capture.
    """
    script: list[Call] = []
    listening = False
    for k, inc in enumerate(incs):
        if k == 0 and late_start:
            pass  # ESTABLISHED before the capture began
        elif k == 0 and inc.passive and not closed_first:
            listening = True
        else:
            script.append(Call.LISTEN if inc.passive else Call.OPEN)
        script += [Call.SEND] * len(inc.sizes)
        script += [Call.CLOSE] * (inc.closes or inc.gives_up) + [Call.ABORT] * inc.aborts
    return tuple(script), listening


def _iss_choices(incs: list[Incarnation]) -> list[tuple[int, ...]]:
    """Each incarnation's ISS, from its SYN.

    A passive TCB that a reset sends back to LISTEN (RFC 9293 §3.10.7.4, Note 1) selects a new ISS for
    the next SYN without becoming a new incarnation, so a passive TCB may also take the ISS of the
    passive one after it; the capture cannot tell the two apart.
    """
    choices = []
    for k, inc in enumerate(incs):
        after = incs[k + 1] if k + 1 < len(incs) else None
        if after is not None and inc.passive and after.passive:
            choices.append(tuple(sorted({inc.iss, after.iss})))
        else:
            choices.append((inc.iss,))
    return choices


def _retransmissions(capture: Capture) -> int:
    """The most times any one segment of the capture was sent again."""
    seen: dict[tuple[str, int, int, int], int] = {}
    for o in capture.segments:
        key = (o.sender, o.flags & (SYN | FIN | RST), o.seq, o.length)
        if o.length or o.flags & (SYN | FIN):
            seen[key] = seen.get(key, 0) + 1
    return max(seen.values(), default=1) - 1


def _late_endpoint(capture: Capture, side: str) -> Endpoint:
    """An endpoint in ESTABLISHED with its sequence variables bound from the first segments seen each way."""
    mine = next((o for o in capture.segments if o.sender == side), None)
    theirs = next((o for o in capture.segments if o.sender != side), None)
    # What one side sends first is what the other expects next; a side that sends nothing is bound
    # from what the other acknowledges.
    snd_nxt = mine.seq if mine else (theirs.ack if theirs and theirs.ack is not None else 0)
    rcv_nxt = theirs.seq if theirs else (mine.ack if mine and mine.ack is not None else 0)
    return Endpoint(
        state=ESTABLISHED,
        inc=1,
        iss=(snd_nxt - 1) & MASK,
        irs=(rcv_nxt - 1) & MASK,
        snd_una=snd_nxt,
        snd_nxt=snd_nxt,
        rcv_nxt=rcv_nxt,
        peer_inc=1,
    )


def bind(capture: Capture, base: Config, at: str | None = None) -> Binding:
    """The configuration a capture implies: ``base`` gives the network, faults, timing and TCP options.
    ``at``: the capture was taken at that host."""
    late_start = not _is_syn(capture.segments[0])
    notes: dict[int, str] = {}
    incs = (
        _incarnations(capture, "A", late_start, notes, fill_gaps=at == "B"),
        _incarnations(capture, "B", late_start, notes, fill_gaps=at == "A"),
    )
    endpoints = []
    for side in (A, B):
        mine = [o for o in capture.segments if o.sender == SIDES[side]]
        closed_first = bool(mine) and not _is_syn(mine[0]) and not late_start
        script, listening = _script(incs[side], late_start, closed_first)
        iss = tuple(_iss_choices(incs[side])) or ((0,),)
        sizes = tuple(inc.sizes for inc in incs[side])
        endpoints.append(EndpointConfig(script=script, iss=iss, listening=listening, sizes=sizes))
    retries = max(_retransmissions(capture), 1, base.retries or 0)
    config = replace(
        base,
        name=f"{base.name} + {Path(capture.source).name}",
        description=f"the connection in {capture.source}",
        a=endpoints[A],
        b=endpoints[B],
        window=REPLAY_WINDOW,
        retries=retries,
        reach=(),
    )
    machine_initial = Machine(config).initial()
    if late_start:
        a0 = _late_endpoint(capture, "A")
        b0 = _late_endpoint(capture, "B")
        machine_initial = machine_initial._replace(a=a0, b=b0)
    return Binding(config, machine_initial, late_start, (tuple(incs[A]), tuple(incs[B])), notes)


# --- the segments replay reads --------------------------------------------------------------------


def _pieces(o: Observed) -> list[Observed]:
    """A segment with data and FIN, read as its data segment followed at once by its FIN segment.

    RFC 9293 §3.3: "each segment is bound to as many consecutive sequence numbers as there are
    octets of data and SYN or FIN flags in the segment"; a TCP sends its FIN once every preceding
    SEND is segmentized (§3.10.4), and may send it on the segment with the last data (Linux does,
    ``Flags [FP.]``, when the user closes right after the last write) or add it when that data is
    retransmitted: "the sending TCP endpoint ... may repackage segments on the retransmission
    queue" (§3.8.6).  The receiver processes the segment's text before its FIN (§3.10.7.4, sixth
    and eighth steps), just as it processes the two segments one after the other.
    """
    if not (o.length and o.flags & FIN) or o.flags & (SYN | RST):
        return [o]
    data = replace(o, flags=o.flags & ~FIN)
    fin = replace(o, flags=o.flags & ~(PSH | URG), seq=(o.seq + o.length) & MASK, length=0)
    return [data, fin]


def readings(capture: Capture) -> tuple[list[Observed], list[int]]:
    """The segments replay matches one by one (see :func:`_pieces`), and the capture's index of each.

    A FIN that a retransmission of data adds, after the FIN was sent on its own, is that FIN sent
    before: it is still in the network (the network may hold any segment), so it is not read again.
    """
    observed: list[Observed] = []
    origin: list[int] = []
    fins: set[tuple[str, int]] = set()  # (sender, SEG.SEQ of a FIN) seen
    for k, o in enumerate(capture.segments):
        pieces = _pieces(o)
        if len(pieces) == 2 and (o.sender, pieces[1].seq) in fins:
            pieces = pieces[:1]
        for piece in pieces:
            if piece.flags & FIN:
                fins.add((o.sender, piece.seq))
        observed += pieces
        origin += [k] * len(pieces)
    return observed, origin


# --- the search ---------------------------------------------------------------------------------


def matches(side: int, seg: Segment, o: Observed) -> bool:
    """Whether the model's segment, sent by ``side``, is the observed one (see :data:`ABSTRACTIONS`)."""
    return (
        o.sender == SIDES[side]
        and (o.flags & COMPARED) == (seg.flags & COMPARED)
        and o.seq == seg.seq
        and (not seg.flags & ACK or o.ack == seg.ack)
        and o.length == seg.size
    )


def is_pure_ack(seg: Segment) -> bool:
    """A segment that carries nothing but an acknowledgment (which TCP may delay)."""
    return seg.flags & COMPARED == ACK and seg.size == 0


@dataclass(frozen=True)
class Step:
    """One transition of the matched path."""

    transition: Transition
    world: World  # after it
    observed: tuple[int, ...]  # indexes of the capture's segments it sent
    withheld: tuple[Segment, ...]  # pure ACKs it withheld


@dataclass
class Replay:
    """The outcome of replaying one capture."""

    capture: Capture
    binding: Binding
    verdict: str
    path: list[Step]  # ACCEPTED: every transition of a matched path (free ones too)
    explored: int
    seconds: float
    rejected_at: int | None = None  # index of the first segment no run of the spec produces
    possible: list[tuple[TcpState, TcpState]] = field(default_factory=list)  # (A, B) states just before it
    allowed: list[tuple[int, Segment]] = field(default_factory=list)  # segments the spec could send there
    reason: str = ""

    @property
    def withheld(self) -> int:
        return sum(len(s.withheld) for s in self.path)


#: Told how many segments the search has matched, of how many.
Progress = Callable[[int, int], None]

#: A world, the segments matched so far, the ticks elapsed (0 unless timestamps are read), the old duplicates seen.
Node = tuple[World, int, int, int]


#: The kind of the pseudo-transition by which an old duplicate, in the network since before the capture, is seen.
OLD_DUPLICATE = "old-duplicate"


def _old_shape(o: Observed) -> bool:
    """Whether some TCP sends a segment of this shape: a SYN or a RST with or without ACK and no data, or
    a segment with ACK -- "once in the ESTABLISHED state, all segments must carry current acknowledgment
    information" (RFC 9293 §3.8); no segment has both SYN and FIN, or both SYN and RST."""
    flags = o.flags & COMPARED
    if flags & SYN:
        return flags in (SYN, SYN | ACK) and not o.length
    if flags & RST:
        return flags in (RST, RST | ACK) and not o.length
    return bool(flags & ACK)


def _space_holds(iss: int, end: int, n: int) -> bool:
    """Whether sequence number ``n`` lies in ``[iss, end]``."""
    return bool(seq_sub(n, iss) <= seq_sub(end, iss))


@dataclass(frozen=True)
class OldDuplicates:
    """How many observed segments may be old duplicates, and what an old duplicate may be.

    An old duplicate was sent by an incarnation before the capture (RFC 9293 §3.4): a segment of a
    shape TCP sends (:func:`_old_shape`), whose SEG.SEQ is not in the sequence space its sender's
    current TCB has used, and whose ACK acknowledges nothing any incarnation of its receiver in the
    capture sent (an earlier incarnation of the sender never saw it).
    """

    limit: int
    spaces: tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]] = ((), ())  # per side: (ISS, last seq)

    @staticmethod
    def of(binding: Binding, limit: int) -> OldDuplicates:
        spaces = tuple(
            tuple((inc.iss, (inc.iss + 1 + sum(inc.sizes) + inc.closes) & MASK) for inc in incs)
            for incs in binding.incarnations
        )
        return OldDuplicates(limit, (spaces[A], spaces[B]))

    def possible(self, world: World, o: Observed) -> bool:
        """Whether ``o`` may be an old duplicate in ``world``."""
        if not _old_shape(o):
            return False
        side = SIDES.index(o.sender)
        sender = world.endpoint(side)
        if sender.state not in (CLOSED, LISTEN) and _space_holds(sender.iss, sender.snd_nxt, o.seq):
            return False
        if o.flags & ACK and o.ack is not None:
            return not any(_space_holds((iss + 1) & MASK, end, o.ack) for iss, end in self.spaces[1 - side])
        return True

    def transition(self, machine: Machine, world: World, o: Observed) -> Transition | None:
        """The observed segment as an old duplicate: one of an earlier incarnation (ghost ``inc`` 0), now seen;
        None when it cannot be one.  It was in the network before the capture began; seen now, it goes on like
        any segment in flight."""
        if not self.possible(world, o):
            return None
        side = SIDES.index(o.sender)
        seg = Segment(o.seq, o.ack or 0, o.flags & (COMPARED | PSH), 1 if o.length else 0, 0, 0, o.length)
        chan = (*world.channel(side), seg)
        if machine.config.reorder:
            chan = tuple(sorted(chan))
        target = _with_channel(world, side, chan)
        return Transition(Label(NET, OLD_DUPLICATE, side, seg), target, sent=((side, seg),))


#: No old duplicates.
NO_OLD_DUPLICATES = OldDuplicates(0)


#: Segments TCP sends for its windows and loss recovery, which the model (without windows) leaves out.
WINDOW_UPDATE = "window-update"
WINDOW_PROBE = "window-probe"
RECOVERY = "recovery"
#: States whose TCB may send them: synchronized, before TIME-WAIT.
OPEN_STATES = SYNCHRONIZED - {TIME_WAIT}


class Unmodelled:
    """The segments a TCB may send at any moment for its window or its loss recovery, which the model (without
    windows or congestion control) leaves out -- admitted only where the capture shows their reason:

    * a window update: a pure ACK <SEQ=SND.NXT><ACK=RCV.NXT> whose window differs from the one its sender
      advertised last; "updating the window" (RFC 9293 §3.8.6.2.2) repeats the acknowledgment with a larger
      window (a repeated ACK with the same window is no update: replay takes it only where the rules send it);
    * a zero-window probe: a pure ACK at SND.UNA-1 or SND.NXT-1 while the peer's last window was zero; it
      draws an acknowledgment "showing its next expected sequence number and current window" (§3.8.6.1,
      MUST-36; Linux probes at SND.UNA-1, the shape of §3.8.4's keep-alive);
    * a retransmission of an unacknowledged unit beyond SND.UNA: "the sending TCP endpoint ... may
      repackage segments on the retransmission queue" (§3.8.6); Linux's tail loss probe (RFC 8985) sends
      the last segment again, SACK loss recovery (RFC 6675) the holes.

    Such a segment changes nothing at its sender; it goes into the network like any segment.
    """

    def __init__(self, obs: list[Observed]) -> None:
        self.window_changed: list[bool] = []  # per segment: its window differs from its sender's previous one
        self.peer_window_zero: list[bool] = []  # per segment: the last window the other side advertised is 0
        last: dict[str, int | None] = {}
        for o in obs:
            before = last.get(o.sender)
            self.window_changed.append(o.window is not None and before is not None and o.window != before)
            self.peer_window_zero.append(last.get(o.receiver) == 0)
            last[o.sender] = None if o.flags & SYN else o.window  # a SYN's window is never scaled (RFC 7323)

    def transition(self, machine: Machine, world: World, obs: list[Observed], at: int) -> Transition | None:
        """Segment ``at`` as such a segment of its sender in ``world``; None when it is none of them."""
        o = obs[at]
        side = SIDES.index(o.sender)
        ep = world.endpoint(side)
        if ep.state not in OPEN_STATES or o.flags & COMPARED & ~URG != ACK or o.ack != ep.rcv_nxt:
            return None
        if o.length == 0:
            if o.flags & URG:
                return None
            if o.seq == ep.snd_nxt and self.window_changed[at]:
                kind = WINDOW_UPDATE
            elif o.seq in ((ep.snd_una - 1) & MASK, (ep.snd_nxt - 1) & MASK) and self.peer_window_zero[at]:
                kind = WINDOW_PROBE
            else:
                return None
            seg = Segment(o.seq, o.ack, ACK, 0, ep.inc, 0, 0)
        else:
            if o.seq == ep.snd_una or not seq_lt(o.seq, ep.snd_nxt) or seq_lt(o.seq, ep.snd_una):
                return None
            own = machine.config.a if side == A else machine.config.b
            unit = own.unit_starting_at(ep.inc, seq_sub(o.seq, ep.iss))
            if not unit or own.unit_size(ep.inc, unit) != o.length:
                return None
            flags = ACK | PSH | (URG if unit in own.urgent_units else 0)
            if o.flags & URG != flags & URG:
                return None
            kind = RECOVERY
            seg = Segment(o.seq, o.ack, flags, unit, ep.inc, 0, o.length)
        chan = (*world.channel(side), seg)
        if machine.config.reorder:
            chan = tuple(sorted(chan))
        target = _with_channel(world, side, chan)
        return Transition(Label(side, kind, side, seg), target, sent=((side, seg),))


def _remove_last(chan: tuple[Segment, ...], seg: Segment) -> tuple[Segment, ...]:
    at = len(chan) - 1 - chan[::-1].index(seg)
    return chan[:at] + chan[at + 1 :]


def _observations(t: Transition, obs: list[Observed], at: int) -> Iterator[tuple[World, int, tuple[Segment, ...]]]:
    """Ways the segments ``t`` sends are the capture's next ones: (target, segments matched, ACKs withheld)."""
    for order in _orders(t):
        yield from _observe_in_order(t.target, order, obs, at)


def _orders(t: Transition) -> list[tuple[tuple[int, Segment], ...]]:
    """The orders in which an observer may see ``t``'s segments: as sent, or -- when a tick expires both
    sides' timers at once -- every interleaving that keeps each side's own order."""
    sides = [tuple(x for x in t.sent if x[0] == side) for side in (A, B)]
    if t.label.kind != "tick" or not all(sides):
        return [t.sent]

    def merge(
        p: tuple[tuple[int, Segment], ...], q: tuple[tuple[int, Segment], ...]
    ) -> list[tuple[tuple[int, Segment], ...]]:
        if not p or not q:
            return [p + q]
        return [(p[0], *rest) for rest in merge(p[1:], q)] + [(q[0], *rest) for rest in merge(p, q[1:])]

    return merge(sides[0], sides[1])


def _observe_in_order(
    target: World, sent: tuple[tuple[int, Segment], ...], obs: list[Observed], at: int
) -> list[tuple[World, int, tuple[Segment, ...]]]:
    ways: list[tuple[World, int, tuple[Segment, ...]]] = [(target, 0, ())]
    for side, seg in sent:
        grown = []
        for world, used, withheld in ways:
            k = at + used
            if k < len(obs) and matches(side, seg, obs[k]):
                grown.append((world, used + 1, withheld))
            if is_pure_ack(seg):
                chan = _remove_last(world.channel(side), seg) if seg in world.channel(side) else world.channel(side)
                world = _with_channel(world, side, chan)
                grown.append((world, used, withheld + (seg,)))
        ways = grown
    return ways


class _Node:
    """A node of the search: a world, what it has matched, and the step that reached it (a linked path)."""

    __slots__ = ("at", "clock", "olds", "parent", "pending", "step", "world")

    def __init__(
        self,
        world: World,
        at: int,
        clock: int,
        olds: int,
        parent: _Node | None,
        step: Step | None,
        pending: tuple[Segment, ...] = (),
    ) -> None:
        self.world = world
        self.at = at
        self.clock = clock
        self.olds = olds
        self.parent = parent
        self.step = step
        self.pending = pending  # --at: segments seen arriving at the host, not yet processed, in order

    @property
    def key(self) -> Node:
        return (self.world, self.at, self.clock, self.olds)

    def path(self) -> list[Step]:
        steps: list[Step] = []
        node: _Node | None = self
        while node is not None and node.step is not None:
            steps.append(node.step)
            node = node.parent
        steps.reverse()
        return steps


@dataclass
class _Outcome:
    """What a search found: the matched node, or how far it got and the worlds it could be in there."""

    done: _Node | None
    explored: int
    best: int
    frontier: list[World]
    error: str = ""
    stopped: bool = False


def _implicit_loss(config: Config) -> bool:
    """Whether the network may lose any segment at any time, so that a loss never needs to be searched for.

    Then a segment that is never delivered is as good as lost: the search leaves it in flight
    and never takes a loss transition.  A bounded loss budget, a channel capacity (a full
    channel drops what is sent) or a clock (a segment must leave the network within MSL)
    each make losses matter, and the search then takes them one by one.
    """
    return config.loss is None and config.capacity is None and not config.timed


def _contains(big: tuple[Segment, ...], small: tuple[Segment, ...], reorder: bool) -> bool:
    """Whether channel ``small`` is what ``big`` becomes once the network loses some of its segments."""
    if len(small) > len(big):
        return False
    if reorder:  # both sorted: a sub-multiset
        i = 0
        for seg in small:
            while i < len(big) and big[i] < seg:
                i += 1
            if i == len(big) or big[i] != seg:
                return False
            i += 1
        return True
    it = iter(big)  # FIFO: a subsequence
    return all(any(seg == other for other in it) for seg in small)


def _subsumes(big: World, small: World, reorder: bool) -> bool:
    """``big`` can do all ``small`` can: the same endpoints and budgets, and more in flight (extra may be lost)."""
    return (
        big.a == small.a
        and big.b == small.b
        and big[4:] == small[4:]
        and _contains(big.ab, small.ab, reorder)
        and _contains(big.ba, small.ba, reorder)
    )


def _stale(machine: Machine, world: World, channel: int, seg: Segment, old_data: bool = False) -> bool:
    """Whether ``seg`` is a pure ACK (not a probe) or, with ``old_data``, a copy of data already received, whose
    arrival now, in a synchronized state, would change nothing and draw at most a pure ACK."""
    side = 1 - channel
    before = world.endpoint(side)
    if before.state not in SYNCHRONIZED:
        return False
    if is_pure_ack(seg):
        if seq_lt(before.snd_una, seg.ack) and seq_le(seg.ack, before.snd_nxt):
            return False  # it acknowledges new data: SND.UNA advances (§3.10.7.4, fifth step)
    elif not old_data or seg.flags & COMPARED & ~URG != ACK or not seq_le((seg.seq + seg.size) & MASK, before.rcv_nxt):
        return False
    if is_pure_ack(seg) and seg.seq == (before.rcv_nxt - 1) & MASK:
        return False  # a probe just below RCV.NXT (§3.8.6.1): the ACK it draws may be seen
    return all(
        t.target.endpoint(side) == before and all(is_pure_ack(s) for _, s in t.sent)
        for t in machine.arrival(world, channel, seg)
    )


def _forget_stale(machine: Machine, world: World, old_data: bool = False) -> World:
    """``world`` after the network loses every in-flight pure ACK (and, with ``old_data``, every copy of data
    already received) whose arrival would now change nothing.

    Such ACKs pile up in the network of a long capture (each one acknowledged a little more than the
    last), and so do the unseen retransmissions of the other side when the capture was taken at one
    host; the quick search forgets them, which may lose a run that needs one later -- it never rejects.
    """
    for channel in (0, 1):
        chan = world.channel(channel)
        keep = tuple(seg for seg in chan if not _stale(machine, world, channel, seg, old_data))
        if len(keep) != len(chan):
            world = _with_channel(world, channel, keep)
    return world


def _drain(machine: Machine, node: _Node, side: int, o: Observed, reorder: bool) -> list[_Node]:
    """``node`` after ``side`` receives, in sequence order, the segments in flight to it that the ACK of ``o`` says
    it has, each arrival answered at most by pure ACKs (withheld); and the node one arrival before that, whose
    last arrival may be the one that sends ``o``.  Nothing unless that brings RCV.NXT to ``o``'s ACK.

    A long capture sends many segments before the receiver is seen again (a burst, a window's worth);
    delivering them one sequence number after another, as the next observation needs, is the
    quick search's guess for the order in which they arrived.
    """
    if not o.flags & ACK or o.ack is None:
        return []
    incoming = 1 - side
    current = node
    previous = node
    while True:
        world = current.world
        ep = world.endpoint(side)
        if ep.rcv_nxt == o.ack or ep.state not in SYNCHRONIZED:
            break
        chan = world.channel(incoming)
        ready = [seg for seg in chan if seg.seq == ep.rcv_nxt and (seg.size or seg.flags & FIN)]
        if not ready or (not reorder and chan[0] != ready[0]):
            break
        arrivals = machine.arrival(world, incoming, ready[0])
        if len(arrivals) != 1 or not all(is_pure_ack(s) for _, s in arrivals[0].sent):
            break
        t = arrivals[0]
        target, _, withheld = _observe_in_order(t.target, t.sent, [], 0)[-1]
        step = Step(t, target, (), withheld)
        previous, current = current, _Node(target, node.at, 0, node.olds, current, step, node.pending)
    if current is node or current.world.endpoint(side).rcv_nxt != o.ack:
        return []
    return [current] if previous is node else [current, previous]


#: The pseudo-transition by which a segment of the other side is seen reaching the host a capture was taken at.
REACHES = "reaches"


def _reaching(
    machine: Machine, world: World, sender: int, o: Observed, host: int
) -> list[tuple[Transition, tuple[Transition, ...]]]:
    """The segments in flight from ``sender`` that are ``o``, each leaving the network as it reaches ``host``
    (which processes it later, see :func:`_process`), with the losses it needs first (in a FIFO channel, of
    the segments ahead of it)."""
    chan = world.channel(sender)
    out: list[tuple[Transition, tuple[Transition, ...]]] = []
    for k, seg in enumerate(chan):
        if not matches(sender, seg, o) or seg in chan[:k]:
            continue
        losses: tuple[Transition, ...] = ()
        if not machine.config.reorder:
            losses = tuple(
                Transition(Label(NET, "lose", sender, chan[j]), _with_channel(world, sender, chan[j + 1 :]))
                for j in range(k)
            )
        source = losses[-1].target if losses else world
        rest = list(source.channel(sender))
        rest.remove(seg)
        target = _with_channel(source, sender, tuple(rest))
        out.append((Transition(Label(host, REACHES, sender, seg), target), losses))
    return out


def _process(machine: Machine, world: World, sender: int, seg: Segment) -> list[Transition]:
    """The host's processing of ``seg``, which reached it earlier (see :func:`_reaching`): its arrival."""
    chan = (*world.channel(sender), seg)
    return machine.arrival(
        _with_channel(world, sender, tuple(sorted(chan)) if machine.config.reorder else chan), sender, seg
    )


def _drain_pending(machine: Machine, node: _Node, host: int, o: Observed) -> list[_Node]:
    """As :func:`_drain`, at the host a capture was taken at: it processes what reached it, in order."""
    if not o.flags & ACK or o.ack is None:
        return []
    current = previous = node
    while current.pending and current.world.endpoint(host).rcv_nxt != o.ack:
        arrivals = _process(machine, current.world, 1 - host, current.pending[0])
        if len(arrivals) != 1 or not all(is_pure_ack(s) for _, s in arrivals[0].sent):
            break
        t = arrivals[0]
        target, _, withheld = _observe_in_order(t.target, t.sent, [], 0)[-1]
        step = Step(t, target, (), withheld)
        previous, current = current, _Node(target, node.at, 0, node.olds, current, step, current.pending[1:])
    if current is node or current.world.endpoint(host).rcv_nxt != o.ack:
        return []
    return [current] if previous is node else [current, previous]


def _ahead(n: int, base: int) -> int:
    """How far sequence number ``n`` lies after ``base`` (negative: before it)."""
    d: int = seq_sub(n, base)
    return d - MOD if d >= HALF else d


def _with_channel(world: World, channel: int, chan: tuple[Segment, ...]) -> World:
    """``world`` with channel ``channel`` (0 = A > B) holding ``chan``."""
    return world._replace(ab=chan) if channel == A else world._replace(ba=chan)


def _likely(chan: tuple[Segment, ...], receiver: Endpoint) -> Callable[[Segment], bool]:
    """The arrivals the quick search takes from ``chan``: every segment with SYN or RST, the segments
    with the :data:`LIKELY` lowest sequence numbers (from RCV.NXT) among those with data or FIN, the pure ACKs that
    acknowledge most.  (A long capture has many segments in flight; most arrive in order.)"""
    carrying = sorted(
        {seg.seq for seg in chan if seg.size or seg.flags & FIN}, key=lambda q: seq_sub(q, receiver.rcv_nxt)
    )
    carrying = carrying[:LIKELY]
    acks = [seg.ack for seg in chan if is_pure_ack(seg)]
    latest = max(acks, key=lambda q: _ahead(q, receiver.snd_una)) if acks else None

    def likely(seg: Segment) -> bool:
        if seg.flags & (SYN | RST):
            return True
        if seg.size or seg.flags & FIN:
            return seg.seq in carrying
        return seg.ack == latest

    return likely


#: The quick search takes arrivals of segments with data or FIN with this many lowest sequence numbers.
LIKELY = 3
#: The quick search explores at most this many nodes before one observed segment.
QUICK_CLOSURE = 256


def _absorb(machine: Machine, node: _Node, side: int) -> list[_Node]:
    """``node`` after ``side`` receives the pure ACK in flight to it that acknowledges most, when that arrival
    sends nothing but pure ACKs (withheld): the ACKs before it then change nothing and are forgotten.

    In a long one-way transfer the receiver's ACKs pile up in flight while the sender is seen sending;
    the quick search takes the latest as the one that arrived.
    """
    incoming = 1 - side
    ep = node.world.endpoint(side)
    acks = [seg for seg in node.world.channel(incoming) if is_pure_ack(seg)]
    if not acks or ep.state not in SYNCHRONIZED:
        return []
    latest = max(acks, key=lambda seg: _ahead(seg.ack, ep.snd_una))
    before = node
    if not machine.config.reorder:  # FIFO: the pure ACKs ahead of it are lost, and nothing else may be
        chan = node.world.channel(incoming)
        ahead = chan[: chan.index(latest)]
        if not all(is_pure_ack(seg) for seg in ahead):
            return []
        for j, seg in enumerate(ahead):
            loss = Transition(Label(NET, "lose", incoming, seg), _with_channel(node.world, incoming, chan[j + 1 :]))
            before = _Node(loss.target, node.at, 0, node.olds, before, Step(loss, loss.target, (), ()), node.pending)
    arrivals = machine.arrival(before.world, incoming, latest)
    if len(arrivals) != 1 or not all(is_pure_ack(s) for _, s in arrivals[0].sent):
        return []
    t = arrivals[0]
    if t.target.endpoint(side) == ep:
        return []
    target, _, withheld = _observe_in_order(t.target, t.sent, [], 0)[-1]
    return [_Node(target, node.at, 0, node.olds, before, Step(t, target, (), withheld), node.pending)]


def _promise(node: _Node) -> tuple[int, int, int]:
    """How the quick search ranks the nodes of a step, best first: fewest pure ACKs in flight (they only
    pile up), then most segments with data or FIN in flight (a delivery taken too early is an ACK the
    capture may still need), then fewest calls queued."""
    flight = node.world.ab + node.world.ba
    acks = sum(1 for seg in flight if is_pure_ack(seg))
    return (acks, acks - len(flight), node.world.a.queued + node.world.b.queued)


#: The quick search keeps this many nodes a step: those with the fewest segments in flight and calls queued.
BEAM = 4
#: The quick search takes at most this many unobserved events of an endpoint before its next segment.
BEAM_DEPTH = 4


def _layered(
    machine: Machine,
    initial: World,
    obs: list[Observed],
    max_nodes: int,
    old_duplicates: OldDuplicates,
    beam: int | None = None,
    progress: Progress | None = None,
    unmodelled: Unmodelled | None = None,
    at_host: int | None = None,
) -> _Outcome:
    """Search a run observation by observation, on a network that may lose anything (see :func:`_implicit_loss`).

    Three facts keep the search small and exact.

    * *Losses are implicit.*  A segment that is never delivered is as good as lost, so no loss
      is ever searched for; in a FIFO channel a segment may arrive once those ahead of it are lost.
    * *Each endpoint acts when it is seen.*  An event at one endpoint that sends nothing the
      capture shows (an arrival answered by a withheld ACK, a call that sends nothing, a crash)
      changes that endpoint and the channel into it, and nothing the other endpoint reads: it
      commutes with every event of the other endpoint.  So the search takes such events of an
      endpoint only just before that endpoint's next observed segment.
    * *A node that can do all another can stands for it.*  An arrival that changes nothing
      is not taken (the node before it can do all the node after it can), and of two nodes
      with the same endpoints, the one with fewer segments in flight is dropped when the
      other's in-flight segments contain them.
    """
    config = machine.config
    reorder = config.reorder
    root = _Node(initial, 0, 0, 0, None, None)
    if not obs:
        return _Outcome(root, 1, 0, [])
    layers: dict[int, list[_Node]] = {0: [root]}
    explored = 1
    best = 0
    best_worlds: list[World] = [initial]
    error = ""

    def moves(world: World, side: int) -> list[tuple[Transition, tuple[Transition, ...]]]:
        """Every event at ``side``, each with the losses it needs first: a FIFO channel's segment arrives
        once the network has lost those ahead of it.  The quick search takes only the likely arrivals."""
        incoming = 1 - side
        chan = world.channel(incoming)
        arriving = _likely(chan, world.endpoint(side)) if beam is not None else None
        out: list[tuple[Transition, tuple[Transition, ...]]] = [
            (t, ()) for t in machine.endpoint_successors(world, side, arriving)
        ]
        if world.dups > 0:
            out += [
                (t, ())
                for t in machine.successors(world)
                if t.label.kind == "duplicate" and t.label.channel == incoming
            ]
        if not reorder:
            for k in range(1, len(chan)):
                if arriving is not None and not arriving(chan[k]):
                    continue
                losses = tuple(
                    Transition(Label(NET, "lose", incoming, chan[j]), _with_channel(world, incoming, chan[j + 1 :]))
                    for j in range(k)
                )
                out.extend((t, losses) for t in machine.arrival(losses[-1].target, incoming, chan[k]))
        return out

    at = 0
    while at < len(obs):
        nodes = layers.pop(at, [])
        if not nodes:
            at += 1
            if not layers:
                break
            continue
        side = SIDES.index(obs[at].sender)
        # Seen at one host (``at_host``): the other side's segment is seen as it reaches the host, which
        # processes what reached it in order, later; the other side's events are all unseen.
        arriving_at_host = at_host is not None and side != at_host
        at_the_host = at_host is not None and side == at_host
        if beam is not None:
            for node in nodes:
                node.world = _forget_stale(machine, node.world, old_data=at_host is not None)
            nodes.sort(key=_promise)
            del nodes[beam:]
            if at_the_host:
                nodes += [d for n in nodes for d in _drain_pending(machine, n, side, obs[at])]
            else:
                nodes += [d for n in nodes for d in _drain(machine, n, side, obs[at], reorder)]
                nodes += [d for n in nodes for d in _absorb(machine, n, side)]
        # The closure of the endpoint's silent events, breadth first; a node subsumed by one seen is dropped.
        seen: dict[tuple[Endpoint, Endpoint, tuple[Segment, ...]], list[World]] = {}
        queue: deque[tuple[_Node, int]] = deque()
        for node in nodes:
            group = seen.setdefault((node.world.a, node.world.b, node.pending), [])
            if any(_subsumes(w, node.world, reorder) for w in group):
                continue
            group.append(node.world)
            queue.append((node, 0))
        closure: list[World] = []
        matched_at: int | None = None  # the depth of the first match: the quick search goes no deeper
        while queue:
            node, depth = queue.popleft()
            if beam is not None and matched_at is not None and depth > matched_at:
                break
            world = node.world
            closure.append(world)
            try:
                transitions = moves(world, side)
                if at_the_host:  # what reaches the host is seen: it processes only that, in order
                    transitions = [(t, losses) for t, losses in transitions if t.label.kind != "segment"]
                    if node.pending:
                        transitions += [(t, ()) for t in _process(machine, world, 1 - side, node.pending[0])]
            except (AmbiguousRules, IncompleteRules) as err:
                error = f"the rules fail: {err}"
                continue
            sent_unmodelled: list[Transition] = []
            if node.olds < old_duplicates.limit and (old := old_duplicates.transition(machine, world, obs[at])):
                sent_unmodelled.append(old)
            if unmodelled is not None and (extra := unmodelled.transition(machine, world, obs, at)):
                sent_unmodelled.append(extra)
            # Each: a transition, the steps before it (losses, an unmodelled send), its ways, the queue after it.
            entries: list[
                tuple[
                    Transition,
                    tuple[Transition, ...],
                    list[tuple[World, int, tuple[Segment, ...]]],
                    tuple[Segment, ...],
                ]
            ] = []
            if arriving_at_host:  # the other side's segments are unseen until they reach the host
                entries += [(t, losses, [(t.target, 0, ())], node.pending) for t, losses in transitions]
                for first in [None, *sent_unmodelled]:
                    source = world if first is None else first.target
                    for t, losses in _reaching(machine, source, side, obs[at], host=1 - side):
                        if first is not None and t.label.seg != first.label.seg:
                            continue
                        before = losses if first is None else (first, *losses)
                        assert t.label.seg is not None
                        entries.append((t, before, [(t.target, 1, ())], (*node.pending, t.label.seg)))
            else:
                processing = at_the_host and bool(node.pending)
                for t, losses in [*transitions, *((sent, ()) for sent in sent_unmodelled)]:
                    after = node.pending[1:] if processing and t.label.kind == "segment" else node.pending
                    entries.append((t, losses, list(_observations(t, obs, at)), after))
            for t, losses, ways, pending in entries:
                if t.label.kind == "lose":
                    continue
                before_node = node
                for loss in losses:  # shown on the path: the network lost them (or an unmodelled send)
                    step = Step(loss, loss.target, (), ())
                    before_node = _Node(loss.target, at, 0, node.olds, before_node, step, node.pending)
                for target, used, withheld in ways:
                    step = Step(t, target, tuple(range(at, at + used)), withheld)
                    olds = node.olds + sum(x.label.kind == OLD_DUPLICATE for x in (t, *losses))
                    if used:
                        child = _Node(target, at + used, 0, olds, before_node, step, pending)
                        layers.setdefault(at + used, []).append(child)
                        explored += 1
                        matched_at = depth if matched_at is None else matched_at
                        if at + used == len(obs):
                            return _Outcome(child, explored, len(obs), [])
                        continue
                    if (
                        t.label.kind == "segment"
                        and target.endpoint(t.label.actor) == world.endpoint(t.label.actor)
                        and not (arriving_at_host and t.sent)
                        and pending == node.pending
                    ):
                        continue  # an arrival that changes nothing: the node before it can do all it can
                    if beam is not None and (depth >= BEAM_DEPTH or len(closure) + len(queue) >= QUICK_CLOSURE):
                        continue
                    group = seen.setdefault((target.a, target.b, pending), [])
                    if any(_subsumes(w, target, reorder) for w in group):
                        continue
                    group.append(target)
                    queue.append((_Node(target, at, 0, olds, before_node, step, pending), depth + 1))
                    explored += 1
            if explored >= max_nodes:
                return _Outcome(None, explored, best, closure, error, stopped=True)
        best, best_worlds = at, closure
        if progress is not None:
            progress(at + 1, len(obs))
        at += 1
    return _Outcome(None, explored, best, best_worlds, error)


def _breadth_first(
    machine: Machine,
    initial: World,
    obs: list[Observed],
    max_nodes: int,
    old_duplicates: OldDuplicates,
    tick: float | None,
    unmodelled: Unmodelled | None = None,
) -> _Outcome:
    """Search every interleaving breadth first, losses included (for networks where losses are counted or timed)."""

    def due(k: int) -> int:
        """The tick in which segment ``k`` was sent: its time in whole ticks (0 when timestamps are not read)."""
        return int(obs[k].time // tick) if tick is not None else 0

    root = _Node(initial, 0, 0, 0, None, None)
    if not obs:
        return _Outcome(root, 1, 0, [])
    parent: set[Node] = {root.key}
    frontier = deque([root])
    best = 0
    reached: dict[int, list[World]] = {0: [initial]}
    error = ""
    while frontier:
        node = frontier.popleft()
        world, at, clock, olds = node.key
        try:
            transitions = machine.successors(world)
        except (AmbiguousRules, IncompleteRules) as err:
            error = f"the rules fail: {err}"
            continue
        if tick is not None and at < len(obs) and clock < due(at) and machine.idle(world):
            # Real time passes while nothing is timed; the model's tick then changes nothing.
            transitions = [*transitions, Transition(Label(NET, "tick"), world)]
        if (
            olds < old_duplicates.limit
            and at < len(obs)
            and (old := old_duplicates.transition(machine, world, obs[at]))
        ):
            transitions = [*transitions, old]
        if unmodelled is not None and at < len(obs) and (extra := unmodelled.transition(machine, world, obs, at)):
            transitions = [*transitions, extra]
        for t in transitions:
            later = clock + 1 if t.label.kind == "tick" else clock
            if tick is not None and t.label.kind == "tick" and (at == len(obs) or later > due(at)):
                continue  # the clock may not run past the next segment's time
            for target, used, withheld in _observations(t, obs, at):
                if any(due(k) != later for k in range(at, at + used)):
                    continue  # sent in another tick than the capture says
                child = _Node(target, at + used, later, olds + (t.label.kind == OLD_DUPLICATE), node, None)
                if child.key in parent:
                    continue
                parent.add(child.key)
                child.step = Step(t, target, tuple(range(at, at + used)), withheld)
                if at + used > best:
                    best = at + used
                reached.setdefault(at + used, []).append(target)
                if at + used == len(obs):
                    return _Outcome(child, len(parent), best, [])
                frontier.append(child)
        if len(parent) >= max_nodes:
            return _Outcome(None, len(parent), best, [], error, stopped=True)
    return _Outcome(None, len(parent), best, reached.get(best, []), error)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Run without the cyclic garbage collector: a long search keeps many objects alive, none in a cycle,
    and each full collection would walk them all (time per segment would grow with the capture)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _never_sent(binding: Binding, obs: list[Observed], k: int, exact_acks: bool) -> str:
    """Why no run of the spec sends segment ``k`` after the ones before it, when that is plain; else "".

    Its data does not line up with the units its TCB sent (see :func:`bind`); or, with one incarnation
    each side, no old duplicates and the rulebook's rules, its ACK covers octets the peer had not sent:
    every segment a TCP sends is seen (see :data:`ABSTRACTIONS`), and RCV.NXT advances only over the
    peer's SYN, text and FIN (RFC 9293 §3.10.7.4), so SEG.ACK = RCV.NXT never passes the end of the
    peer's segments seen before it.
    """
    if k >= len(obs):
        return ""
    if k in binding.uninterpretable:
        return binding.uninterpretable[k]
    o = obs[k]
    single = all(len(incs) == 1 for incs in binding.incarnations)
    if not (exact_acks and single and not binding.late_start and o.flags & ACK and o.ack is not None):
        return ""
    peer = o.receiver
    iss = binding.incarnations[SIDES.index(peer)][0].iss
    ends = [
        seq_sub((p.seq + p.length + bool(p.flags & SYN) + bool(p.flags & FIN)) & MASK, iss)
        for p in obs[:k]
        if p.sender == peer and not p.flags & RST
    ]
    reach = max(ends, default=0)
    if seq_sub(o.ack, iss) > reach:
        sent = f"up to {(iss + reach) & MASK}" if ends else "nothing"
        return f"its ACK {o.ack} acknowledges octets {peer} had not sent: {peer} had sent {sent}"
    return ""


def _search(
    machine: Machine,
    binding: Binding,
    obs: list[Observed],
    max_nodes: int,
    old_duplicates: int,
    progress: Progress | None,
    exact_acks: bool = True,
    at_host: int | None = None,
) -> _Outcome:
    """The quick search first, where the network may lose anything; when it finds no run, the exact one decides.

    The quick search keeps a few nodes a step (:data:`BEAM`), and the network loses every segment
    whose arrival would change nothing: each run it finds is a run of the spec, so its ACCEPTED is
    sound.  It may miss a run, so it rejects only where no run can go on (:func:`_never_sent`): the
    exact search does, or says UNKNOWN.  ``exact_acks``: the rules are RFC 9293's (no broken variant),
    whose RCV.NXT never passes what the peer sent.  ``at_host``: the capture was taken at that host.
    """
    tick = binding.config.tick
    olds = OldDuplicates.of(binding, old_duplicates)
    extras = Unmodelled(obs)
    if _implicit_loss(binding.config):
        found = _layered(machine, binding.initial, obs, max_nodes, olds, BEAM, progress, extras, at_host)
        if found.done is None and not found.stopped and (why := _never_sent(binding, obs, found.best, exact_acks)):
            # The quick search matched every segment before this one, and no run sends this one: REJECTED here.
            return replace(found, error=why)
        if found.done is None:
            exact = _layered(machine, binding.initial, obs, max_nodes, olds, None, progress, extras, at_host)
            found = replace(exact, explored=exact.explored + found.explored)
    elif at_host is not None:
        raise ConfigError(
            f"a capture taken at one host is replayed only on a network that may lose any segment, with no clock: "
            f"{binding.config.name} has {binding.config.bounds()}"
        )
    else:
        found = _breadth_first(machine, binding.initial, obs, max_nodes, olds, tick, extras)
    return found


def replay(
    capture: Capture,
    base: Config,
    variant: Variant | None = None,
    max_nodes: int = MAX_NODES,
    old_duplicates: int = 0,
    progress: Progress | None = None,
    at: str | None = None,
) -> Replay:
    """Search for a run of the spec (or of a broken ``variant``) that sends exactly the capture's segments, in order.

    Up to ``old_duplicates`` segments may be old duplicates instead: sent by an incarnation before the
    capture began and still in the network (RFC 9293 §3.4, Figures 8 and 11).  Raises ConfigError when
    the variant cannot apply to the configuration (short-time-wait needs a timed one).
    ``progress(matched, total)`` is told each time the search has matched one more segment.  ``at``
    ("A" or "B"): the capture was taken at that host, not on the wire (see :data:`ABSTRACTIONS`).
    """
    start = time.perf_counter()
    obs, origin = readings(capture)
    binding = bind(replace(capture, segments=obs), base, at)
    rules = all_rules()
    incarnations = binding.incarnations[A] + binding.incarnations[B]
    if any(inc.plain_abort for inc in incarnations) and all(inc.plain_abort for inc in incarnations if inc.aborts):
        rules = with_reset_as_written(rules)  # RFC-AMBIGUITY: the capture's ABORT resets without ACK
    if variant is not None:
        binding = replace(binding, config=variant.config(binding.config))
        rules = variant.rules(rules)
    machine = Machine(binding.config, rules, memo_limit=REPLAY_MEMO, ghosts=False)
    tick = binding.config.tick
    with _no_cyclic_gc():
        at_host = SIDES.index(at) if at is not None else None
        found = _search(machine, binding, obs, max_nodes, old_duplicates, progress, variant is None, at_host)
    seconds = time.perf_counter() - start
    if found.done is not None:
        path = [replace(step, observed=tuple(origin[k] for k in step.observed)) for step in found.done.path()]
        return Replay(capture, binding, ACCEPTED, path, found.explored, seconds)
    if found.stopped:
        reason = f"searched {max_nodes:,} nodes"
        return Replay(capture, binding, UNKNOWN, [], found.explored, seconds, reason=reason)
    best = found.best
    possible = sorted({(w.a.state, w.b.state) for w in found.frontier}, key=lambda p: (int(p[0]), int(p[1])))
    allowed: set[tuple[int, Segment]] = set()
    for w in found.frontier:
        try:
            for t in machine.successors(w):
                allowed.update((side, s._replace(inc=0, age=0)) for side, s in t.sent)
        except (AmbiguousRules, IncompleteRules):
            continue
    reason = binding.uninterpretable.get(best, found.error)
    rejected_at = origin[best] if best < len(obs) else len(capture.segments)
    if tick is not None and not reason and best < len(obs):
        reason = (
            f"time is read in ticks of {tick:g} s: segment {rejected_at + 1} was sent in tick "
            f"{int(obs[best].time // tick)}"
        )
    return Replay(
        capture,
        binding,
        REJECTED,
        [],
        found.explored,
        seconds,
        rejected_at=rejected_at,
        possible=possible,
        allowed=sorted(allowed),
        reason=reason,
    )


# --- rendering ------------------------------------------------------------------------------------


def _event(t: Transition) -> str:
    label = t.label
    who = SIDES[label.actor] if label.actor in (A, B) else "network"
    rules = "+".join(r.name for r in t.rules)
    what = {
        "call": "user call",
        "segment": "segment arrives",
        "output": "sends",
        "timeout": "timer expires",
        "tick": "clock ticks",
        "crash": "crashes",
        "lose": "loses",
        "duplicate": "duplicates",
        OLD_DUPLICATE: "an old duplicate, in flight since before the capture",
        REACHES: "segment reaches it (processed later, in order)",
        WINDOW_UPDATE: "sends a window update (§3.8.6.2.2)",
        WINDOW_PROBE: "sends a zero-window probe (§3.8.6.1)",
        RECOVERY: "sends an unacknowledged segment again (§3.8.6; RFC 8985, RFC 6675)",
    }.get(label.kind, label.kind)
    return f"{who}: {what}" + (f" ({rules})" if rules else "")


#: Unobserved events the text output shows between segments: the faults, and the user's calls that send nothing.
UNSEEN_SHOWN = ("crash", "lose", "duplicate", "call")


def _unseen(t: Transition) -> str:
    label = t.label
    if label.kind == "call":
        rules = "+".join(r.name for r in t.rules)
        sends = "what it sends is seen as it arrives" if t.sent else "which sends nothing"
        return f"{SIDES[label.actor]}: user call ({rules}), {sends}"
    if label.kind == "crash":
        return f"{SIDES[label.actor]} crashes and loses its TCB (§3.5.1)"
    assert label.seg is not None
    channel = f"{SIDES[label.channel]} > {SIDES[1 - label.channel]}"
    verb = "loses" if label.kind == "lose" else "duplicates"
    return f"the network {verb} {channel}: {describe(label.seg)}"


def replay_text(r: Replay) -> str:
    """The verdict, the binding, and the matched path (or where and why the spec parts from the capture)."""
    obs = r.capture.segments
    lines = [f"{r.capture.source}: {r.verdict}"]
    summary = f"{len(obs)} segments, {r.explored:,} nodes searched, {r.seconds:.2f} s"
    if r.verdict == ACCEPTED and r.withheld:
        summary += f", {r.withheld} pure ACK{'s' if r.withheld != 1 else ''} withheld (delayed ACK)"
    lines.append(f"  {summary}")
    lines.append(f"  configuration: {r.binding.config.name}: {r.binding.config.bounds()}")
    for side in (A, B):
        addr = r.capture.a if side == A else r.capture.b
        where = f" {addr[0]}.{addr[1]}" if addr else ""
        lines.append(f"  {SIDES[side]}{where}: {r.binding.describe_side(side)}")
    if r.binding.late_start:
        lines.append("  the capture begins after the handshake: both sides start in ESTABLISHED")
    if r.verdict == ACCEPTED:
        width = max((len(o.text()) for o in obs), default=0)
        digits = max(3, len(str(len(obs))))
        lines.append("")
        lines.append(f"  {'#':>{digits}}  {'time':>10}  {'segment':<{width}}  {'A':<12} {'B':<12} sent when")
        shown: set[int] = set()
        for step in r.path:
            for k in step.observed:
                a, b = step.world.a.state, step.world.b.state
                if k in shown:  # the FIN of a segment with data (see _pieces)
                    row = f"{'':>{digits}}  {'':>10}  {'  and its FIN':<{width}}"
                else:
                    row = f"{k + 1:>{digits}}  {obs[k].time:>10.6f}  {obs[k].text():<{width}}"
                shown.add(k)
                lines.append(f"  {row}  {a!s:<12} {b!s:<12} {_event(step.transition)}")
            for seg in step.withheld:
                who = SIDES[step.transition.label.actor]
                lines.append(f"  {'':>{digits + 12}}  ({who} withholds {describe(seg)}: delayed ACK)")
            if not step.observed and step.transition.label.kind in UNSEEN_SHOWN:
                lines.append(f"  {'':>{digits + 12}}  ({_unseen(step.transition)})")
        last = r.path[-1].world if r.path else r.binding.initial
        lines.append(f"  after the capture: A {last.a.state}, B {last.b.state}")
    elif r.verdict == REJECTED:
        k = r.rejected_at or 0
        lines.append("")
        if k < len(obs):
            lines.append(f"  rejected at segment {k + 1} (at {obs[k].time:.6f} s): {obs[k].text()}")
        if r.reason:
            lines.append(f"  why: {r.reason}")
        states = ", ".join(f"A {a} / B {b}" for a, b in r.possible)
        lines.append(f"  the spec could be in: {states}")
        if r.allowed:
            lines.append("  the segments it could send there:")
            for side, seg in r.allowed[:16]:
                lines.append(f"    {SIDES[side]} > {SIDES[1 - side]}: {describe(seg)}")
            if len(r.allowed) > 16:
                lines.append(f"    ... and {len(r.allowed) - 16} more")
        else:
            lines.append("  the spec could send nothing more there")
    else:
        lines.append(f"  the search stopped: {r.reason}; say --max-nodes to search further")
    return "\n".join(lines) + "\n"


def replay_json(r: Replay) -> dict[str, object]:
    """The replay as JSON: verdict, binding, and path or rejection."""
    obs = r.capture.segments
    out: dict[str, object] = {
        "capture": r.capture.source,
        "verdict": r.verdict,
        "segments": len(obs),
        "searched": r.explored,
        "seconds": round(r.seconds, 3),
        "configuration": r.binding.config.name,
        "late_start": r.binding.late_start,
        "A": r.binding.describe_side(A),
        "B": r.binding.describe_side(B),
    }
    if r.verdict == ACCEPTED:
        out["withheld_acks"] = r.withheld
        out["path"] = [
            {
                "segment": k + 1,
                "observed": obs[k].text(),
                "event": _event(step.transition),
                "rules": [rule.name for rule in step.transition.rules],
                "A": str(step.world.a.state),
                "B": str(step.world.b.state),
            }
            for step in r.path
            for k in step.observed
        ]
    elif r.verdict == REJECTED:
        k = r.rejected_at or 0
        out["rejected_at"] = k + 1
        out["observed"] = obs[k].text() if k < len(obs) else None
        out["reason"] = r.reason or None
        out["possible_states"] = [{"A": str(a), "B": str(b)} for a, b in r.possible]
        out["allowed"] = [f"{SIDES[side]} > {SIDES[1 - side]}: {describe(seg)}" for side, seg in r.allowed]
    else:
        out["reason"] = r.reason
    return out
