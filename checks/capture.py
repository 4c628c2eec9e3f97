"""Captured TCP segments: read from libpcap or pcapng files (with scapy) or from the project's text format.

A :class:`Capture` is one TCP connection as an observer saw it: the two
endpoints, named A (the sender of the first SYN, else of the first segment) and
B, and the segments in the order they were seen, each with its time, its
sender, its control bits in tcpdump's letters, SEG.SEQ, SEG.ACK, its payload
length and its window.  Options, checksums and payload bytes are not kept.

The text format has one segment a line, in tcpdump's words with absolute
sequence numbers, and ``#`` comments::

    # tcpspec capture: A 127.0.0.1.40000, B 127.0.0.1.5000
    0.000000 A > B: Flags [S], seq 75417110, win 65495, length 0
    0.000022 B > A: Flags [S.], seq 21228774, ack 75417111, win 65483, length 0
    0.000041 A > B: Flags [.], ack 21228775, win 64, length 0

(``ack`` is present exactly when the ACK bit is; ``seq`` is written ``first:next``
when the segment carries data, as tcpdump does; the time and ``win`` may be
left out.)  Every mistake in a file is reported with the file, the line and
what to write instead.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: The control bits in tcpdump's order and letters (E and W, ECN, are kept as letters too).
FLAG_LETTERS = (("S", 0x02), ("F", 0x01), ("R", 0x04), ("P", 0x08), ("U", 0x20), ("E", 0x40), ("W", 0x80))
ACK_BIT = 0x10
PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"


class CaptureError(ValueError):
    """A capture that cannot be read, with a message that names the file (and line) and the fix."""


Address = tuple[str, int]  # (IP address, port)


@dataclass(frozen=True)
class Observed:
    """One segment as captured."""

    time: float  # seconds since the first segment of the connection
    sender: str  # "A" or "B"
    flags: int  # the TCP control bits
    seq: int
    ack: int | None  # SEG.ACK when the ACK bit is set, else None
    length: int  # payload octets (SEG.LEN without SYN and FIN)
    window: int | None = None

    @property
    def receiver(self) -> str:
        return "B" if self.sender == "A" else "A"

    def has(self, letter: str) -> bool:
        """Whether the control bit with tcpdump's ``letter`` (S, F, R, P, U, ., E, W) is set."""
        if letter == ".":
            return bool(self.flags & ACK_BIT)
        return any(self.flags & bit for ch, bit in FLAG_LETTERS if ch == letter)

    @property
    def letters(self) -> str:
        """tcpdump's flag letters: ``S.``, ``P.``, ``F.``, ``R``."""
        text = "".join(ch for ch, bit in FLAG_LETTERS if self.flags & bit)
        return text + ("." if self.flags & ACK_BIT else "") or "none"

    def text(self) -> str:
        """The segment in the text format (without its time): ``A > B: Flags [P.], seq 1:6, ack 1, length 5``."""
        seq = f"{self.seq}:{(self.seq + self.length) % 2**32}" if self.length else f"{self.seq}"
        parts = [f"{self.sender} > {self.receiver}: Flags [{self.letters}]", f"seq {seq}"]
        if self.ack is not None:
            parts.append(f"ack {self.ack}")
        if self.window is not None:
            parts.append(f"win {self.window}")
        parts.append(f"length {self.length}")
        return ", ".join(parts)


@dataclass
class Capture:
    """One connection's segments, in the order they were seen."""

    source: str  # the file it came from
    a: Address | None
    b: Address | None
    segments: list[Observed] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)  # the text format's header comments, kept on rewriting

    @property
    def pair(self) -> str:
        """Its endpoints, ``127.0.0.1.40000 > 127.0.0.1.5000`` (A first), or ``A > B`` when the file names none."""
        return f"{_addr(self.a)} > {_addr(self.b)}" if self.a and self.b else "A > B"

    def text(self) -> str:
        """The capture in the text format (deterministic: times to the microsecond)."""
        head = [f"# {c}" for c in self.comments]
        if self.a and self.b:
            head.insert(0, f"# tcpspec capture: A {_addr(self.a)}, B {_addr(self.b)}")
        lines = [f"{s.time:.6f} {s.text()}" for s in self.segments]
        return "\n".join(head + lines) + "\n"


def _addr(a: Address) -> str:
    return f"{a[0]}.{a[1]}"


def _letters_to_flags(letters: str) -> int:
    flags = ACK_BIT if "." in letters else 0
    for ch, bit in FLAG_LETTERS:
        if ch in letters:
            flags |= bit
    return flags


# --- pcap and pcapng ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Raw:
    time: float
    src: Address
    dst: Address
    flags: int
    seq: int
    ack: int
    length: int
    window: int


def _magic(path: Path) -> bytes:
    """The first four bytes of a file, which tell pcap, pcapng and text apart."""
    try:
        with path.open("rb") as f:
            return f.read(4)
    except OSError as err:
        raise CaptureError(f"{path}: cannot read it: {err.strerror}") from None


def _packets(path: Path) -> list[_Raw]:
    """Every TCP segment of a pcap or pcapng file (IPv4 or IPv6, any link type scapy knows)."""
    head = _magic(path)
    if head not in PCAP_MAGICS and head != PCAPNG_MAGIC:
        raise CaptureError(
            f"{path}: neither libpcap nor pcapng (first bytes {head.hex()}); give a .pcap, .pcapng or text trace"
        )
    from scapy.error import Scapy_Exception
    from scapy.layers.inet import IP, TCP
    from scapy.layers.inet6 import IPv6
    from scapy.utils import PcapNgReader, PcapReader

    reader = PcapNgReader if head == PCAPNG_MAGIC else PcapReader
    out: list[_Raw] = []
    try:
        with reader(str(path)) as packets:
            for pkt in packets:
                if TCP not in pkt:
                    continue
                tcp = pkt[TCP]
                if IP in pkt:
                    ip = pkt[IP]
                    length = ip.len - ip.ihl * 4 - tcp.dataofs * 4
                elif IPv6 in pkt:
                    ip = pkt[IPv6]
                    length = ip.plen - tcp.dataofs * 4
                else:
                    continue
                out.append(
                    _Raw(
                        float(pkt.time),
                        (str(ip.src), int(tcp.sport)),
                        (str(ip.dst), int(tcp.dport)),
                        int(tcp.flags),
                        int(tcp.seq),
                        int(tcp.ack),
                        max(0, int(length)),
                        int(tcp.window),
                    )
                )
    except (Scapy_Exception, EOFError, struct.error) as err:
        raise CaptureError(f"{path}: a damaged capture: {err}") from None
    return out


def connections(raws: Iterable[_Raw]) -> dict[frozenset[Address], int]:
    """The TCP connections (unordered pairs of addresses) in a capture, with their segment counts."""
    counts: dict[frozenset[Address], int] = {}
    for r in raws:
        key = frozenset((r.src, r.dst))
        counts[key] = counts.get(key, 0) + 1
    return counts


def _connection(source: str, mine: list[_Raw]) -> Capture:
    """One connection's segments (every incarnation on its address pair, in file order) as a Capture."""
    first_syn = next((r for r in mine if r.flags & 0x02 and not r.flags & ACK_BIT), mine[0])
    a, b = first_syn.src, first_syn.dst
    start = mine[0].time
    segments = [
        Observed(
            round(r.time - start, 6),
            "A" if r.src == a else "B",
            r.flags,
            r.seq,
            r.ack if r.flags & ACK_BIT else None,
            r.length,
            r.window,
        )
        for r in mine
    ]
    return Capture(source, a, b, segments)


def read_pcap(path: Path, port: int | None = None) -> Capture:
    """The one TCP connection of a pcap/pcapng file (or the one with ``port`` at either end)."""
    raws = _packets(path)
    if not raws:
        raise CaptureError(f"{path}: no TCP segments")
    found = connections(raws)
    if port is not None:
        found = {k: n for k, n in found.items() if any(p == port for _, p in k)}
        if not found:
            raise CaptureError(f"{path}: no TCP connection with port {port}")
    if len(found) > 1:
        listed = "; ".join(
            " <-> ".join(_addr(a) for a in sorted(k)) + f" ({n} segments)" for k, n in sorted(found.items(), key=str)
        )
        hint = "give --port to pick one" if port is None else "the port is at both ends of several; split the file"
        raise CaptureError(f"{path}: {len(found)} TCP connections ({listed}): {hint}")
    (key,) = found
    return _connection(str(path), [r for r in raws if frozenset((r.src, r.dst)) == key])


def read_connections(path: Path) -> list[Capture]:
    """Every TCP connection of a pcap, pcapng or text capture, ordered by its first segment in the file.

    A connection is one pair of addresses, both directions, every incarnation on it together (as
    :func:`read_pcap` reads one), with ``FILE [A > B]`` as its ``source``.  A text capture is one connection.
    """
    if _magic(path) not in PCAP_MAGICS + (PCAPNG_MAGIC,):
        return [read_text(path)]
    raws = _packets(path)
    if not raws:
        raise CaptureError(f"{path}: no TCP segments")
    grouped: dict[frozenset[Address], list[_Raw]] = {}
    for r in raws:
        grouped.setdefault(frozenset((r.src, r.dst)), []).append(r)
    found = [_connection(str(path), mine) for mine in grouped.values()]  # dicts keep the order of first sight
    for capture in found:
        capture.source = f"{path} [{capture.pair}]"
    return found


# --- the text format -----------------------------------------------------------------------------------

_LINE = re.compile(
    r"^(?:(?P<time>\d+(?:\.\d+)?)\s+)?(?P<sender>[AB]) > (?P<receiver>[AB]): Flags \[(?P<flags>[SFRPUEW.]+|none)\]"
    r", seq (?P<seq>\d+)(?::(?P<end>\d+))?(?:, ack (?P<ack>\d+))?(?:, win (?P<win>\d+))?, length (?P<len>\d+)$"
)
_HEADER = re.compile(r"^# tcpspec capture: A (?P<a>\S+)\.(?P<ap>\d+), B (?P<b>\S+)\.(?P<bp>\d+)$")
FORMAT_HINT = "write `[TIME] A > B: Flags [S.], seq N[:M], [ack N, ][win N, ]length N`"


def read_text(path: Path, text: str | None = None) -> Capture:
    """A capture in the text format; CaptureError names the line and what to write."""
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise CaptureError(f"{path}: cannot read it as text: {err}") from None
    cap = Capture(str(path), None, None)
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        where = f"{path}:{number}"
        if not line:
            continue
        if line.startswith("#"):
            header = _HEADER.match(line)
            if header:
                cap.a = (header["a"], int(header["ap"]))
                cap.b = (header["b"], int(header["bp"]))
            else:
                cap.comments.append(line[1:].strip())
            continue
        m = _LINE.match(line)
        if not m:
            raise CaptureError(f"{where}: cannot read {line!r}: {FORMAT_HINT}")
        if m["sender"] == m["receiver"]:
            raise CaptureError(f"{where}: a segment goes from one endpoint to the other: write A > B or B > A")
        flags = 0 if m["flags"] == "none" else _letters_to_flags(m["flags"])
        seq, length = int(m["seq"]), int(m["len"])
        if seq >= 2**32 or (m["ack"] and int(m["ack"]) >= 2**32):
            raise CaptureError(f"{where}: sequence numbers are 32-bit: at most 4294967295")
        if m["end"] is not None and (int(m["end"]) - seq) % 2**32 != length:
            raise CaptureError(
                f"{where}: seq {seq}:{m['end']} spans {(int(m['end']) - seq) % 2**32} octets, not length {length}"
            )
        if (m["ack"] is not None) != bool(flags & ACK_BIT):
            fix = "add `ack N`" if flags & ACK_BIT else "drop `ack N` or add `.` to the flags"
            raise CaptureError(f"{where}: the ACK bit and the ack field go together: {fix}")
        before = cap.segments[-1].time if cap.segments else 0.0
        time = float(m["time"]) if m["time"] is not None else before  # a line without a time: no time passed
        if cap.segments and time < cap.segments[-1].time:
            raise CaptureError(f"{where}: time {time} goes back (the line before says {cap.segments[-1].time})")
        cap.segments.append(
            Observed(
                time,
                m["sender"],
                flags,
                seq,
                int(m["ack"]) if m["ack"] else None,
                length,
                int(m["win"]) if m["win"] else None,
            )
        )
    if not cap.segments:
        raise CaptureError(f"{path}: no segments: {FORMAT_HINT}")
    return cap


def read_capture(path: Path, port: int | None = None) -> Capture:
    """A pcap, pcapng or text capture, recognised by its first bytes."""
    if _magic(path) in PCAP_MAGICS + (PCAPNG_MAGIC,):
        return read_pcap(path, port)
    if port is not None:
        raise CaptureError(f"{path}: a text trace holds one connection: --port is for pcap files")
    return read_text(path)
