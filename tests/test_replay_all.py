"""``tcpspec replay FILE --all``: every connection of a capture, in file order, each as if replayed alone.

The multi-connection pcaps are built from the committed recordings: each recording's packets get
ports of their own and a start time of their own, and the packets of all are merged by time.
tests/captures/multi/multi.pcap is one such file, committed for the README (outside
tests/captures/*.pcap, which holds one recording each); :data:`MULTI_PARTS` builds it again.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.capture import Observed, read_capture, read_connections, read_text
from checks.cli import main
from checks.replay import REJECTED, UNKNOWN, capture_network, replay

CAPTURES = Path(__file__).parent / "captures"
MULTI = CAPTURES / "multi" / "multi.pcap"
SERVER = "127.0.0.1.5000"  # the recordings' B; A is 127.0.0.1.40000


@dataclasses.dataclass(frozen=True)
class Part:
    """One committed recording, moved to its own ports and start time."""

    recording: str  # tests/captures/RECORDING.pcap
    client_port: int  # instead of 40000
    server_port: int = 5000
    start_us: int = 0  # microseconds after the first recording's first packet
    bump_ack_at: int | None = None  # the segment (0-based) whose SEG.ACK is raised by one


#: tests/captures/multi/multi.pcap: four connections, overlapping in time; the third has a wrong ACK in segment 5.
MULTI_PARTS = (
    Part("client-closes", 40001, start_us=0),
    Part("closed-port", 40002, 5001, start_us=60),
    Part("client-closes", 40003, start_us=120, bump_ack_at=4),
    Part("server-closes", 40004, start_us=180),
)


def build(path: Path, parts: Sequence[Part]) -> None:
    """Write the parts' packets to a pcap at ``path``, merged by time (ties: in the order of ``parts``)."""
    from scapy.layers.inet import TCP
    from scapy.layers.l2 import Ether  # noqa: F401  (reads the recordings' link layer)
    from scapy.utils import EDecimal, rdpcap, wrpcap

    base: Decimal | None = None
    merged = []
    for i, part in enumerate(parts):
        packets = rdpcap(str(CAPTURES / f"{part.recording}.pcap"))
        first = Decimal(str(packets[0].time))
        base = first if base is None else base
        for j, pkt in enumerate(packets):
            tcp = pkt[TCP]
            ports = {40000: part.client_port, 5000: part.server_port}
            tcp.sport, tcp.dport = ports[tcp.sport], ports[tcp.dport]
            if j == part.bump_ack_at:
                tcp.ack = (tcp.ack + 1) % 2**32
            del tcp.chksum  # computed again when written
            when = base + Decimal(part.start_us) / 1_000_000 + Decimal(str(pkt.time)) - first
            pkt.time = EDecimal(when)
            merged.append((when, i, j, pkt))
    merged.sort(key=lambda m: m[:3])
    wrpcap(str(path), [m[3] for m in merged])


def untimed(segments: list[Observed]) -> list[Observed]:
    """The segments without their times (which a move in time may round differently by a microsecond)."""
    return [dataclasses.replace(o, time=0.0) for o in segments]


def pair(part: Part) -> str:
    return f"127.0.0.1.{part.client_port} > 127.0.0.1.{part.server_port}"


def replay_all(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["replay", *args, "--all"])
    out, err = capsys.readouterr()
    return code, out, err


def masked(out: str) -> str:
    """The output without its timings."""
    return re.sub(r"\d+\.\d\d s\b", "S s", out)


# --- reading -----------------------------------------------------------------------------------------------------


def test_the_committed_multi_pcap_is_built_from_the_recordings(tmp_path: Path) -> None:
    build(tmp_path / "multi.pcap", MULTI_PARTS)
    again = read_connections(tmp_path / "multi.pcap")
    committed = read_connections(MULTI)
    assert [(c.a, c.b, untimed(c.segments)) for c in committed] == [(c.a, c.b, untimed(c.segments)) for c in again]
    assert [c.source for c in committed] == [f"{MULTI} [{pair(p)}]" for p in MULTI_PARTS]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    recordings=st.lists(
        st.tuples(st.sampled_from(["client-closes", "closed-port", "refused-twice", "abort"]), st.integers(0, 400)),
        min_size=1,
        max_size=4,
    ),
    ports=st.permutations(range(4)),
)
def test_every_connection_in_the_order_of_its_first_packet(
    recordings: list[tuple[str, int]], ports: list[int], tmp_path: Path
) -> None:
    parts = [Part(name, 41000 + ports[i] * 7, start_us=start) for i, (name, start) in enumerate(recordings)]
    path = tmp_path / "several.pcap"
    build(path, parts)
    found = read_connections(path)
    first = sorted(range(len(parts)), key=lambda i: (parts[i].start_us, i))  # every recording starts at its 0.0
    assert [c.pair for c in found] == [pair(parts[i]) for i in first]
    for capture, i in zip(found, first, strict=True):
        alone = read_capture(CAPTURES / f"{parts[i].recording}.pcap")
        assert untimed(capture.segments) == untimed(alone.segments)
        assert capture.segments[0].time == 0.0
        assert read_capture(path, parts[i].client_port).segments == capture.segments  # as --port reads it


def test_a_text_capture_is_one_connection() -> None:
    (capture,) = read_connections(CAPTURES / "abort.txt")
    assert capture == read_capture(CAPTURES / "abort.txt")


# --- the command -------------------------------------------------------------------------------------------------

MULTI_OUTPUT = """\
  127.0.0.1.40001 > 127.0.0.1.5000  ACCEPTED  10 segments  S s
  127.0.0.1.40002 > 127.0.0.1.5001  ACCEPTED   2 segments  S s
  127.0.0.1.40003 > 127.0.0.1.5000  REJECTED  10 segments  S s  at segment 5: B > A: Flags [.], seq 2185887281, \
ack 2240075748, win 64, length 0 (its ACK 2240075748 acknowledges octets A had not sent: A had sent up to 2240075747)
  127.0.0.1.40004 > 127.0.0.1.5000  ACCEPTED  10 segments  S s
4 connections: 3 ACCEPTED, 1 REJECTED, 0 UNKNOWN (32 segments, S s)
"""


def test_every_connection_is_reported_in_file_order(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = replay_all(str(MULTI), capsys=capsys)
    assert (code, masked(out), err) == (1, MULTI_OUTPUT, "")


def test_the_output_is_the_same_every_time(capsys: pytest.CaptureFixture[str]) -> None:
    first, second = (masked(replay_all(str(MULTI), capsys=capsys)[1]) for _ in range(2))
    assert first == second
    one, two = (json.loads(replay_all(str(MULTI), "--json", capsys=capsys)[1]) for _ in range(2))
    for out in (one, two):
        out["summary"].pop("seconds")
        for c in out["connections"]:
            c.pop("seconds")
    assert one == two


def test_each_verdict_is_the_verdict_of_the_connection_alone(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = replay_all(str(MULTI), "--json", capsys=capsys)
    together = json.loads(out)
    assert code == 1 and together["capture"] == str(MULTI)
    assert together["summary"] == {
        "connections": 4,
        "ACCEPTED": 3,
        "REJECTED": 1,
        "UNKNOWN": 0,
        "segments": 32,
        "seconds": together["summary"]["seconds"],
    }
    for part, each in zip(MULTI_PARTS, together["connections"], strict=True):
        code = main(["replay", str(MULTI), "--port", str(part.client_port), "--json"])
        alone = json.loads(capsys.readouterr().out)
        assert each["connection"] == pair(part)
        assert each["verdict"] == alone["verdict"] == ("REJECTED" if part.bump_ack_at is not None else "ACCEPTED")
        assert code == (1 if part.bump_ack_at is not None else 0)
        for key in ("segments", "path", "rejected_at", "observed", "allowed", "A", "B"):
            assert each.get(key) == alone.get(key)
    assert together["connections"][2]["rejected_at"] == 5


@pytest.mark.parametrize("at", [2, 4, 6, 8])
def test_a_wrong_ack_rejects_its_connection_there_and_no_other(
    at: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parts = [
        Part("server-closes", 40001, start_us=0),
        Part("client-closes", 40002, start_us=30, bump_ack_at=at),
        Part("closed-port", 40003, 5001, start_us=90),
    ]
    build(tmp_path / "three.pcap", parts)
    code, out, _ = replay_all(str(tmp_path / "three.pcap"), capsys=capsys)
    lines = out.splitlines()
    assert code == 1 and len(lines) == 4
    assert [line.split()[:4] for line in lines[:3]] == [
        [*pair(parts[0]).split(), "ACCEPTED"],
        [*pair(parts[1]).split(), "REJECTED"],
        [*pair(parts[2]).split(), "ACCEPTED"],
    ]
    assert f"at segment {at + 1}: " in lines[1]
    assert lines[3].startswith("3 connections: 2 ACCEPTED, 1 REJECTED, 0 UNKNOWN (22 segments, ")


def test_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build(tmp_path / "good.pcap", [Part("client-closes", 40001), Part("refused-twice", 40002, start_us=50)])
    code, out, _ = replay_all(str(tmp_path / "good.pcap"), capsys=capsys)
    assert code == 0 and out.splitlines()[-1].startswith("2 connections: 2 ACCEPTED, 0 REJECTED, 0 UNKNOWN")
    code, out, _ = replay_all(str(tmp_path / "good.pcap"), "--max-nodes", "3", capsys=capsys)
    assert code == 3 and "0 REJECTED, " in out and "UNKNOWN" in out
    assert "the search stopped: searched 3 nodes" in out
    code, out, _ = replay_all(str(CAPTURES / "abort.txt"), capsys=capsys)
    assert (code, masked(out)) == (
        0,
        "  127.0.0.1.40000 > 127.0.0.1.5000  ACCEPTED  6 segments  S s\n"
        "1 connection: 1 ACCEPTED, 0 REJECTED, 0 UNKNOWN (6 segments, S s)\n",
    )


def test_a_rejected_connection_outweighs_a_stopped_search(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mixed.pcap"
    build(path, [Part("client-closes", 40001), Part("closed-port", 40002, 5001, start_us=50, bump_ack_at=1)])
    long, wrong = read_connections(path)
    # The fewest nodes that reject the wrong RST (segment 2 of 2): too few to accept 10 segments.
    nodes = next(n for n in range(1, 1000) if replay(wrong, capture_network(), max_nodes=n).verdict == REJECTED)
    assert replay(long, capture_network(), max_nodes=nodes).verdict == UNKNOWN
    code, out, _ = replay_all(str(path), "--max-nodes", str(nodes), capsys=capsys)
    assert code == 1 and "2 connections: 0 ACCEPTED, 1 REJECTED, 1 UNKNOWN (12 segments, " in out
    assert "REJECTED   2 segments" in out and "at segment 2: B > A: Flags [R.]" in out


def bad_input(tmp_path: Path) -> dict[str, list[str]]:
    from scapy.layers.inet import IP, UDP
    from scapy.utils import wrpcap

    wrpcap(str(tmp_path / "udp.pcap"), [IP() / UDP()])
    return {
        "no TCP segments": [str(tmp_path / "udp.pcap")],
        "cannot read it": [str(tmp_path / "missing.pcap")],
        "--all and --port exclude each other": [str(MULTI), "--port", "40001"],
        "--max-nodes must be at least 1": [str(MULTI), "--max-nodes", "0"],
    }


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for message, args in bad_input(tmp_path).items():
        code, out, err = replay_all(*args, capsys=capsys)
        assert (code, out) == (2, ""), message
        assert err.startswith("tcpspec: error: ") and message in err and err.count("\n") == 1, err


def test_progress_goes_to_stderr_and_leaves_stdout_alone(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = replay_all(str(MULTI), "--progress", capsys=capsys)
    assert code == 1 and masked(out) == MULTI_OUTPUT
    # Replays this small end before the first progress line (half a second in); any line shown is erased.
    assert all(not shown.strip() or shown.startswith("  connection ") for shown in err.split("\r"))


def test_each_connection_writes_itself_in_the_text_format() -> None:
    for capture in read_connections(MULTI):
        again = read_text(Path("again.txt"), capture.text())
        assert (again.a, again.b, again.segments) == (capture.a, capture.b, capture.segments)


def test_the_readme_shows_this_output() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    shown = readme.split("$ tcpspec replay tests/captures/multi/multi.pcap --all\n")[1].split("```")[0]
    assert masked(shown) == MULTI_OUTPUT
