"""Real captures: the committed recordings read back, the text format, bad input, and recording afresh.

The fixtures under tests/captures/ were recorded by ``tcpspec record`` on the kernel named in
tests/captures/KERNEL.  Their segment patterns are pinned here (sender and tcpdump flags of every
segment), so a change of the reader shows at once.  Where this machine can record (root, ip,
iptables, tcpdump: CI installs them), the scenarios are recorded again and must show the same
pattern; where it cannot, the test says why.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from checks.capture import CaptureError, Observed, read_capture, read_text
from checks.record import fins_cross, record, recording_named, recordings, unavailable
from tests.test_cli import run

CAPTURES = Path(__file__).parent / "captures"

#: Per recording: the sender and tcpdump flags of each segment, in the order captured.
PATTERNS = {
    "abort": "AS BS. A. AP. B. AR.",
    "client-closes": "AS BS. A. AP. B. BP. A. AF. BF. A.",
    "close-in-syn-sent": "AS BS. BS. AR",
    "closed-port": "AS BR.",
    "data-overtaken": "AS BS. A. AP. B. AP. AF. B. AP. B. BF. A.",
    "half-close": "AS BS. A. AP. B. AF. BP. A. BP. A. BF. A.",
    "half-open": "AS BS. A. AP. B. AS B. AR AS BS. A. AP. B. AF. BF. A.",
    "late-fin": "AS BS. A. AP. B. AF. BF. A. BF. A.",
    "lost-final-ack": "AS BS. A. AP. B. AF. BF. A. BF. A.",
    "lost-syn": "AS AS BS. A. AP. B. BP. A. AF. BF. A.",
    "refused-twice": "AS BR. AS BR.",
    "server-closes": "AS BS. A. AP. B. BP. A. BF. AF. B.",
    "simultaneous-close": "AS BS. A. AP. B. BP. A. AF. BF. BF. AF. A. B.",
    "simultaneous-open": "AS BS BS AS AS. BS. B. A. AP. B. AF. BF. A.",
}


#: The long recordings (headers only, thousands of segments): how each begins and ends, and what it must show.
LONG = {
    "bulk": ("AS BS. A.", "BFP. A. AF. B."),
    "bulk-drop": ("AS BS. A.", "BFP. A. AF. B."),
    "slow-reader": ("AS BS. A.", "BF. AF. B."),
}


def pattern(segments: list[Observed]) -> str:
    return " ".join(s.sender + s.letters for s in segments)


def test_every_recording_has_a_fixture_and_a_kernel() -> None:
    assert sorted([*PATTERNS, *LONG]) == sorted(r.name for r in recordings())
    assert sorted(p.stem for p in CAPTURES.glob("*.pcap")) == sorted([*PATTERNS, *LONG])
    assert (CAPTURES / "KERNEL").read_text().startswith("Linux ")


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_a_fixture_reads_back_with_its_pattern(name: str) -> None:
    capture = read_capture(CAPTURES / f"{name}.pcap")
    assert pattern(capture.segments) == PATTERNS[name]
    assert capture.a is not None and capture.a[1] == 40000  # A sent the first SYN
    assert capture.segments[0].time == 0.0
    assert all(b.time >= a.time for a, b in itertools.pairwise(capture.segments))


@pytest.mark.parametrize("name", sorted(LONG))
def test_a_long_fixture_is_a_bulk_transfer_in_mss_sized_segments(name: str) -> None:
    """Thousands of segments, each of at most one MSS (1448 octets with timestamps: the MTU is 1500), kept as
    headers only (the payload length is read from the IP header)."""
    capture = read_capture(CAPTURES / f"{name}.pcap")
    first, last = LONG[name]
    assert pattern(capture.segments[:3]) == first and pattern(capture.segments).endswith(last)
    assert len(capture.segments) > 500
    assert max(s.length for s in capture.segments) == 1448
    assert (CAPTURES / f"{name}.pcap").stat().st_size < 120 * len(capture.segments)


def test_the_long_fixtures_show_what_they_are_for() -> None:
    """bulk-drop: a segment sent twice (the dropped one); slow-reader: a zero window, and probes into it."""
    drop = read_capture(CAPTURES / "bulk-drop.pcap").segments
    data = [(s.sender, s.seq) for s in drop if s.length]
    assert len(data) > len(set(data))
    slow = read_capture(CAPTURES / "slow-reader.pcap").segments
    assert any(s.window == 0 for s in slow)
    sent, probes = 0, 0
    for s in slow:
        if s.sender == "A" and s.length:
            sent = (s.seq + s.length) % 2**32
        elif s.sender == "A" and s.flags == 0x10 and s.seq == (sent - 1) % 2**32:
            probes += 1  # a pure ACK one below SND.NXT: Linux's zero-window probe
    assert probes >= 1


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_the_text_fixture_is_the_pcap_in_the_text_format(name: str) -> None:
    pcap = read_capture(CAPTURES / f"{name}.pcap")
    text = read_capture(CAPTURES / f"{name}.txt")
    assert text.segments == pcap.segments
    assert (text.a, text.b) == (pcap.a, pcap.b)
    assert text.text() == (CAPTURES / f"{name}.txt").read_text()


def test_sequence_numbers_advance_by_the_payload() -> None:
    """What the model will rely on: a payload of n octets advances SEG.SEQ by n; SYN and FIN by one."""
    capture = read_capture(CAPTURES / "half-close.pcap")
    for side in "AB":
        mine = [s for s in capture.segments if s.sender == side]
        for before, after in itertools.pairwise(mine):
            step = before.length + int(before.has("S")) + int(before.has("F"))
            assert after.seq == (before.seq + step) % 2**32


def test_the_half_close_delivers_data_sent_after_the_peers_fin() -> None:
    """The blog says such data is lost; the kernel acknowledges both segments B sent after A's FIN."""
    segs = read_capture(CAPTURES / "half-close.pcap").segments
    fin = next(i for i, s in enumerate(segs) if s.sender == "A" and s.has("F"))
    after = [s for s in segs[fin:] if s.sender == "B" and s.length]
    assert [s.length for s in after] == [5, 6]
    last = after[-1]
    assert any(s.sender == "A" and s.ack == (last.seq + last.length) % 2**32 for s in segs[fin:])


def test_the_simultaneous_close_fins_cross() -> None:
    assert fins_cross(read_capture(CAPTURES / "simultaneous-close.pcap"))
    assert not fins_cross(read_capture(CAPTURES / "client-closes.pcap"))


# --- the text format and bad input --------------------------------------------------------------------------------

GOOD = """# a hand-written trace
A > B: Flags [S], seq 4294967295, length 0
B > A: Flags [S.], seq 300, ack 0, length 0
0.5 A > B: Flags [P.], seq 0:1, ack 301, length 1
"""


def test_a_hand_written_trace() -> None:
    capture = read_text(Path("hand.txt"), GOOD)
    assert pattern(capture.segments) == "AS BS. AP."
    assert capture.segments[2].seq == 0 and capture.segments[2].length == 1  # seq 0:1 wraps nothing
    assert capture.comments == ["a hand-written trace"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A > B: Flags [S], seq 1\n", "hand.txt:1: cannot read"),
        ("A > A: Flags [S], seq 1, length 0\n", "hand.txt:1: a segment goes from one endpoint to the other"),
        ("A > B: Flags [S.], seq 1, length 0\n", "hand.txt:1: the ACK bit and the ack field go together: add"),
        ("A > B: Flags [S], seq 1, ack 2, length 0\n", "the ACK bit and the ack field go together: drop"),
        ("A > B: Flags [P.], seq 1:3, ack 2, length 1\n", "spans 2 octets, not length 1"),
        ("A > B: Flags [S], seq 4294967296, length 0\n", "32-bit"),
        ("2 A > B: Flags [S], seq 1, length 0\n1 B > A: Flags [R.], seq 0, ack 2, length 0\n", "hand.txt:2: time 1"),
        ("# nothing\n", "no segments"),
    ],
)
def test_bad_text_is_reported_at_its_line(text: str, message: str) -> None:
    with pytest.raises(CaptureError, match=message.replace("[", r"\[").replace(".", r"\.")):
        read_text(Path("hand.txt"), text)


def test_files_that_are_no_capture(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="cannot read it"):
        read_capture(tmp_path / "missing.pcap")
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\xff\xfe\x00\x01garbage")
    with pytest.raises(CaptureError, match="cannot read it as text"):
        read_capture(binary)


def test_a_capture_of_several_connections_needs_a_port(tmp_path: Path) -> None:
    from scapy.layers.inet import IP, TCP
    from scapy.utils import wrpcap

    path = tmp_path / "two.pcap"
    wrpcap(
        str(path),
        [
            IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1111, dport=80, flags="S", seq=7),
            IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=2222, dport=80, flags="S", seq=9),
        ],
    )
    with pytest.raises(CaptureError, match=r"2 TCP connections .*give --port"):
        read_capture(path)
    assert read_capture(path, port=2222).segments[0].seq == 9
    with pytest.raises(CaptureError, match="no TCP connection with port 3333"):
        read_capture(path, port=3333)
    udp = tmp_path / "udp.pcap"
    from scapy.layers.inet import UDP

    wrpcap(str(udp), [IP() / UDP()])
    with pytest.raises(CaptureError, match="no TCP segments"):
        read_capture(udp)


def test_record_lists_and_refuses_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("record", capsys=capsys)
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == [r.name for r in recordings()]
    code, _, err = run("record", "nope", "--out", "x.pcap", capsys=capsys)
    assert code == 2 and "unknown recording 'nope'" in err
    code, _, err = run("record", "abort", capsys=capsys)
    assert code == 2 and "--out FILE.pcap" in err


# --- recording afresh ---------------------------------------------------------------------------------------------

CANNOT = unavailable()


@pytest.mark.skipif(CANNOT is not None, reason=f"this machine cannot record: {CANNOT}; the fixtures are read instead")
@pytest.mark.parametrize("name", ["client-closes", "half-close", "lost-final-ack", "simultaneous-close"])
def test_recording_again_gives_the_same_pattern(name: str, tmp_path: Path) -> None:
    """The same segments again; for a race (which FIN goes first), the same segments in some order, and the race."""
    out = tmp_path / f"{name}.pcap"
    record(name, out)
    capture = read_capture(out)
    wanted = recording_named(name).wanted
    if wanted is None:
        assert pattern(capture.segments) == PATTERNS[name]
    else:
        assert wanted(capture)
        assert sorted(pattern(capture.segments).split()) == sorted(PATTERNS[name].split())
