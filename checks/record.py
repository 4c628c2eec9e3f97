"""Record this machine's own kernel TCP on loopback, for replay against the spec.

Each :class:`Recording` drives real sockets (``socket`` from Python's standard
library) through one scenario -- a handshake with data, a close by either side,
a half-close, a connect to a closed port, an abort, a simultaneous open or
close, a lost SYN, a lost final ACK -- while ``tcpdump`` (Debian's package)
captures the segments.  Every recording runs in a network namespace of its own
(``ip netns add``), so nothing but its own loopback traffic is seen and the
ports are fixed; segments are dropped there with ``iptables`` rules (this
kernel has no netem), and the kernel's retransmissions are recorded.  The
namespace is deleted afterwards, whatever happened.

Recording needs root, ``ip``, ``iptables`` and ``tcpdump``; :func:`unavailable`
says plainly what is missing.  The scenario code itself runs inside the
namespace as ``python -m checks.record --run NAME``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from checks.capture import Capture, Observed, read_pcap

SERVER_PORT = 5000
CLIENT_PORT = 40000
PEER_PORT = 40001  # the second active opener of a simultaneous open
LOOPBACK = "127.0.0.1"
SCENARIO_SECONDS = 20.0  # no scenario takes longer; a hung one is killed


class CaptureUnavailable(Exception):
    """This machine cannot record (not root, or a tool is missing): the message says what to install."""


@dataclass(frozen=True)
class Recording:
    """A scenario for the kernel: what it shows, the segments dropped, the socket program, the quiet after."""

    name: str
    shows: str
    run: Callable[[], None]
    drops: tuple[tuple[str, ...], ...] = ()  # iptables rules (arguments after `iptables`) set before it runs
    settle: float = 0.3  # seconds to keep capturing after the program ends (retransmissions, TIME-WAIT ACKs)
    wanted: Callable[[Capture], bool] | None = None  # a race: record again until the capture shows it
    attempts: int = 1
    setup: tuple[tuple[str, ...], ...] = ()  # commands run in the namespace first (``sysctl -w ...``)
    seconds: float = SCENARIO_SECONDS  # the socket program is killed after this long
    snaplen: int = 256  # octets of each packet tcpdump keeps (the long captures keep the headers only)


# --- the socket programs (run inside the namespace) ---------------------------------------------------


def _listener(port: int = SERVER_PORT) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((LOOPBACK, port))
    s.listen(1)
    return s


def _client(port: int = CLIENT_PORT) -> socket.socket:
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    c.bind((LOOPBACK, port))
    return c


def _recv_all(s: socket.socket) -> bytes:
    """Read until the peer's FIN."""
    data = b""
    while chunk := s.recv(4096):
        data += chunk
    return data


def _serve(handler: Callable[[socket.socket], None]) -> tuple[socket.socket, threading.Thread]:
    listener = _listener()

    def accept() -> None:
        conn, _ = listener.accept()
        with conn:
            handler(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    return listener, thread


def client_closes() -> None:
    """Handshake, data both ways, the client closes first; the server closes after the client's FIN."""

    def server(conn: socket.socket) -> None:
        assert conn.recv(5) == b"hello"
        conn.sendall(b"world")
        _recv_all(conn)

    listener, thread = _serve(server)
    with _client() as c:
        c.connect((LOOPBACK, SERVER_PORT))
        c.sendall(b"hello")
        assert c.recv(5) == b"world"
    thread.join(5)
    listener.close()


def server_closes() -> None:
    """Handshake, data both ways, the server closes first."""

    def server(conn: socket.socket) -> None:
        assert conn.recv(5) == b"hello"
        conn.sendall(b"world")

    listener, thread = _serve(server)
    with _client() as c:
        c.connect((LOOPBACK, SERVER_PORT))
        c.sendall(b"hello")
        assert _recv_all(c) == b"world"
    thread.join(5)
    listener.close()


def half_close() -> None:
    """The client sends and shuts down its side; the server keeps sending after the client's FIN, then closes.

    What the blog post says is lost (data sent after the peer's FIN) arrives: the program checks it.
    """

    def server(conn: socket.socket) -> None:
        assert _recv_all(conn) == b"request"
        conn.sendall(b"first")
        time.sleep(0.05)
        conn.sendall(b"second")

    listener, thread = _serve(server)
    with _client() as c:
        c.connect((LOOPBACK, SERVER_PORT))
        c.sendall(b"request")
        c.shutdown(socket.SHUT_WR)
        assert _recv_all(c) == b"firstsecond"
    thread.join(5)
    listener.close()


def closed_port() -> None:
    """A connect to a port nobody listens on: the kernel answers the SYN with RST,ACK."""
    with _client() as c, contextlib.suppress(ConnectionRefusedError):
        c.connect((LOOPBACK, SERVER_PORT))
        raise AssertionError("connected to a closed port")


def refused_twice() -> None:
    """Connect to a closed port, then again from the same port: a new SYN, with a new ISS, and a RST again."""
    for _ in range(2):
        with _client() as c, contextlib.suppress(ConnectionRefusedError):
            c.connect((LOOPBACK, SERVER_PORT))
            raise AssertionError("connected to a closed port")
        time.sleep(0.05)


def data_overtaken() -> None:
    """The client sends twice and closes; its second segment is dropped, so its FIN arrives before that data.

    The server must hold the FIN until the data is retransmitted and has arrived; the program checks the data.
    """

    def server(conn: socket.socket) -> None:
        assert _recv_all(conn) == FIRST + SECOND

    listener, thread = _serve(server)
    with _client() as c:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.connect((LOOPBACK, SERVER_PORT))
        c.sendall(FIRST)
        time.sleep(0.05)
        c.sendall(SECOND)
    thread.join(5)
    listener.close()


FIRST, SECOND = b"first", b"second!"
#: IPv4 total length of the client's SECOND segment on loopback: 20 (IP) + 32 (TCP with timestamps) + 7.
SECOND_IP_LENGTH = 20 + 32 + len(SECOND)


def _connect_and_abort() -> None:
    """Connect, send, then close with SO_LINGER 0: the kernel deletes the TCB and sends RST."""
    c = _client()
    c.connect((LOOPBACK, SERVER_PORT))
    c.sendall(b"hello")
    time.sleep(0.05)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def abort() -> None:
    """The client aborts an open connection (SO_LINGER 0, then close): RST."""

    def server(conn: socket.socket) -> None:
        with contextlib.suppress(ConnectionResetError):
            _recv_all(conn)

    listener, thread = _serve(server)
    _connect_and_abort()
    thread.join(5)
    listener.close()


def simultaneous_open() -> None:
    """Two bound sockets connect to each other; their first SYNs are dropped, so the retransmissions cross."""
    a, b = _client(CLIENT_PORT), _client(PEER_PORT)
    errors: list[BaseException] = []

    def connect(s: socket.socket, port: int) -> None:
        try:
            s.connect((LOOPBACK, port))
        except OSError as err:
            errors.append(err)

    threads = [
        threading.Thread(target=connect, args=(a, PEER_PORT)),
        threading.Thread(target=connect, args=(b, CLIENT_PORT)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    if errors:
        raise errors[0]
    a.sendall(b"a")
    assert b.recv(1) == b"a"
    a.close()
    assert _recv_all(b) == b""
    b.close()


def simultaneous_close() -> None:
    """Both sides close at once: two processes on separate cores wait at a barrier, then shut down together."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    listener = _listener()

    def side(port: int, cpu: int) -> None:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {cpu % (os.cpu_count() or 1)})
        if port == SERVER_PORT:
            s, _ = listener.accept()
        else:
            s = _client()
            s.connect((LOOPBACK, SERVER_PORT))
        s.sendall(b"x")
        assert s.recv(1) == b"x"
        barrier.wait(5)
        s.shutdown(socket.SHUT_WR)
        _recv_all(s)
        s.close()

    procs = [ctx.Process(target=side, args=(SERVER_PORT, 0)), ctx.Process(target=side, args=(CLIENT_PORT, 1))]
    for p in procs:
        p.start()
    for p in procs:
        p.join(10)
        if p.exitcode != 0:
            raise RuntimeError(f"a side of the simultaneous close failed (exit code {p.exitcode})")
    listener.close()


def fins_cross(capture: Capture) -> bool:
    """Each side sent its FIN before it had received the other's: neither FIN acknowledges the other."""
    fins: dict[str, Observed] = {}
    for s in capture.segments:
        if s.has("F"):
            fins.setdefault(s.sender, s)  # the first FIN of each side
    if set(fins) != {"A", "B"}:
        return False
    a, b = fins["A"], fins["B"]
    return a.ack == b.seq and b.ack == a.seq


INPUT_TCP = ("-A", "INPUT", "-i", "lo", "-p", "tcp")  # iptables: segments arriving on loopback, after tcpdump saw them
ONCE = ("-m", "statistic", "--mode", "nth", "--every", "100000", "--packet", "0")  # the first match only


def _drop_first(*match: str) -> tuple[str, ...]:
    """An iptables rule that drops the first segment arriving that matches ``match`` (tcpdump still sees it)."""
    return (*INPUT_TCP, *match, *ONCE, "-j", "DROP")


def _never_sent(*match: str) -> tuple[str, ...]:
    """An iptables rule that stops the first segment leaving that matches ``match`` before tcpdump sees it."""
    return ("-A", "OUTPUT", "-o", "lo", "-p", "tcp", *match, *ONCE, "-j", "DROP")


def _note(name: str, *match: str) -> tuple[str, ...]:
    """An iptables rule that notes, in the ``recent`` list ``name``, that a segment matching ``match`` arrived."""
    return (*INPUT_TCP, *match, "-m", "recent", "--name", name, "--set")


SYN_ONLY = ("--tcp-flags", "SYN,ACK,FIN,RST", "SYN")
PURE_ACK = ("--tcp-flags", "SYN,ACK,FIN,RST,PSH", "ACK")
FIN_SET = ("--tcp-flags", "FIN", "FIN")


def recordings() -> tuple[Recording, ...]:
    """Every scenario, in the order the issue of real captures lists them."""
    return (
        Recording("client-closes", "handshake, data both ways, the client closes first", client_closes),
        Recording("server-closes", "handshake, data both ways, the server closes first", server_closes),
        Recording(
            "half-close",
            "the client shuts down its side; the server sends twice after the client's FIN; the data arrives",
            half_close,
        ),
        Recording("closed-port", "connect to a closed port: RST,ACK", closed_port),
        Recording(
            "refused-twice",
            "connect to a closed port twice from the same port: two SYNs with different ISSs, each answered by RST",
            refused_twice,
        ),
        Recording("abort", "SO_LINGER 0 and close: the client resets the connection", abort),
        Recording(
            "data-overtaken",
            "the client's second data segment is dropped, so its FIN arrives first; the server holds the FIN until "
            "the retransmitted data has arrived",
            data_overtaken,
            drops=(_drop_first("--dport", str(SERVER_PORT), "-m", "length", "--length", str(SECOND_IP_LENGTH)),),
            settle=1.0,
        ),
        Recording(
            "simultaneous-open",
            "two sockets connect to each other; both first SYNs are dropped, the retransmitted ones cross",
            simultaneous_open,
            drops=(
                _drop_first("--dport", str(PEER_PORT), *SYN_ONLY),
                _drop_first("--dport", str(CLIENT_PORT), *SYN_ONLY),
            ),
        ),
        Recording(
            "simultaneous-close",
            "both sides shut down at once, from two processes on two cores; the first FIN each way is dropped, so "
            "each side sends its FIN before it has the other's (on loopback the two FINs otherwise never cross)",
            simultaneous_close,
            drops=tuple(
                _drop_first("--dport", str(port), "--tcp-flags", "FIN", "FIN") for port in (SERVER_PORT, CLIENT_PORT)
            ),
            settle=1.0,
            wanted=fins_cross,
            attempts=3,
        ),
        Recording(
            "lost-syn",
            "the first SYN is dropped; the kernel sends it again after its retransmission timeout",
            client_closes,
            drops=(_drop_first("--dport", str(SERVER_PORT), *SYN_ONLY),),
        ),
        Recording(
            "lost-final-ack",
            "the client's last ACK is dropped; the server retransmits its FIN and the client, in TIME-WAIT, "
            "acknowledges it again",
            server_closes_last,
            drops=LOSE_FINAL_ACK,
            settle=1.5,
        ),
        Recording(
            "half-open",
            "the client's host crashes (its RST never leaves) and connects again: the server's challenge ACK, the "
            "client's RST, and the SYN sent again is accepted (RFC 9293 Figure 10)",
            half_open,
            drops=(_never_sent("--sport", str(CLIENT_PORT), "--tcp-flags", "RST", "RST"),),
            settle=0.5,
        ),
        Recording(
            "late-fin",
            f"as lost-final-ack, with a minimum RTO of {LATE_RTO_SECONDS} s (tcp_rto_min_us, Linux 6.11 on): the "
            "server's FIN comes again after Linux's MSL (30 s) and the client, still in TIME-WAIT (60 s), "
            "acknowledges it",
            late_fin,
            drops=LOSE_FINAL_ACK,
            setup=(("sysctl", "-w", f"net.ipv4.tcp_rto_min_us={LATE_RTO_SECONDS * 1_000_000}"),),
            seconds=LATE_RTO_SECONDS + 20,
            settle=1.0,
        ),
        Recording(
            "close-in-syn-sent",
            "the SYN,ACK is dropped and the client closes in SYN-SENT (no segment); the server's SYN,ACK sent "
            "again draws a RST from the closed port",
            close_in_syn_sent,
            drops=(_drop_first("--dport", str(CLIENT_PORT), "--tcp-flags", "SYN,ACK,FIN,RST", "SYN,ACK"),),
            settle=0.2,
        ),
        Recording(
            "bulk",
            f"{BULK_OCTETS:,} octets each way in MSS-sized segments (loopback MTU {BULK_MTU}); the server closes "
            "right after its last write, so its FIN rides on its last data",
            bulk,
            setup=BULK_SETUP,
            snaplen=HEADERS_ONLY,
            seconds=60,
        ),
        Recording(
            "bulk-drop",
            "as bulk, with the client's 500th full-sized segment dropped: duplicate ACKs, SACK blocks, the "
            "segment sent again",
            bulk,
            drops=(_drop_nth(500, "--dport", str(SERVER_PORT), "-m", "length", "--length", str(FULL_SEGMENT)),),
            setup=BULK_SETUP,
            snaplen=HEADERS_ONLY,
            seconds=60,
        ),
        Recording(
            "slow-reader",
            f"{BULK_OCTETS // 4:,} octets each way; the server reads only after a second, so the client meets a "
            "zero window: window probes, then window updates",
            slow_reader,
            setup=BULK_SETUP,
            snaplen=HEADERS_ONLY,
            seconds=60,
        ),
    )


#: iptables rules that drop the first pure ACK arriving at the server after its FIN: the client's last ACK.
LOSE_FINAL_ACK = (
    _note("fin", "--sport", str(SERVER_PORT), *FIN_SET),
    _drop_first("--dport", str(SERVER_PORT), *PURE_ACK, "-m", "recent", "--name", "fin", "--rcheck"),
)


def server_closes_last(wait: float = 1.0) -> None:
    """The client closes first and the server closes right after (its FIN is the one whose ACK gets lost).

    The program then waits ``wait`` seconds: the server's FIN comes again after its RTO (200 ms at least).
    """

    def server(conn: socket.socket) -> None:
        assert conn.recv(5) == b"hello"
        _recv_all(conn)

    listener, thread = _serve(server)
    with _client() as c:
        c.connect((LOOPBACK, SERVER_PORT))
        c.sendall(b"hello")
        time.sleep(0.05)
    thread.join(5)
    listener.close()
    time.sleep(wait)


#: The minimum retransmission timeout the late-fin recording sets on loopback's route: more than Linux's
#: MSL (half of its 60 s TIME-WAIT), less than its TIME-WAIT.
LATE_RTO_SECONDS = 35


def late_fin() -> None:
    """As lost-final-ack, but the server's FIN is sent again only after LATE_RTO_SECONDS: A is still in TIME-WAIT."""
    server_closes_last(wait=LATE_RTO_SECONDS + 2)


def half_open() -> None:
    """The client's host "crashes": its TCB is gone and nothing reaches the wire; it connects again from the port.

    The crash is an abort (SO_LINGER 0) whose RST never leaves (dropped on OUTPUT, before tcpdump). The
    server, still ESTABLISHED, answers the new SYN with a challenge ACK; the client resets it (RFC 9293
    Figure 10, half-open connection discovery); the client's SYN, sent again, reaches the listener.
    """
    listener = _listener()

    def serve() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            with conn, contextlib.suppress(ConnectionResetError):
                _recv_all(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    _connect_and_abort()
    time.sleep(0.05)
    with _client() as again:
        again.connect((LOOPBACK, SERVER_PORT))
        again.sendall(b"again")
    thread.join(5)
    listener.close()


def close_in_syn_sent() -> None:
    """The client connects and closes before the (dropped) SYN,ACK arrives: in SYN-SENT the TCB is deleted
    and nothing is sent (RFC 9293 §3.10.4); the server's SYN,ACK sent again meets a closed port: a RST."""
    listener = _listener()
    c = _client()
    c.setblocking(False)
    with contextlib.suppress(BlockingIOError):
        c.connect((LOOPBACK, SERVER_PORT))
    time.sleep(0.1)
    c.close()
    time.sleep(1.5)  # the server's retransmission timeout (1 s for a SYN,ACK)
    listener.close()


# --- long captures: bulk transfers on a loopback with an Ethernet MTU ------------------------------------

#: Octets the bulk transfers send each way.
BULK_OCTETS = 2_000_000
#: Loopback's MTU in the bulk recordings, and the largest packet GSO may build: segments are MSS-sized
#: (1448 octets with timestamps), as on an Ethernet path, instead of loopback's 64 KiB.
BULK_MTU = 1500
#: What tcpdump keeps of each packet in the long recordings: the link, IPv4 and TCP headers (options too).
HEADERS_ONLY = 80
#: IPv4 total length of an MSS-sized segment in the bulk recordings: 20 (IP) + 32 (TCP with timestamps) + 1448.
FULL_SEGMENT = BULK_MTU
#: Setup of every bulk recording.
BULK_SETUP = (
    ("ip", "link", "set", "lo", "mtu", str(BULK_MTU)),
    ("ip", "link", "set", "lo", "gso_max_size", str(BULK_MTU)),
)


def _recv_count(s: socket.socket, until: int | None = None) -> int:
    """Read ``until`` octets (or until the peer's FIN) and return how many were read."""
    got = 0
    while until is None or got < until:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        got += len(chunk)
    return got


def bulk(octets: int = BULK_OCTETS, pause: float = 0.0) -> None:
    """The client writes ``octets`` and the server, once it has read them all, writes as many back and closes
    at once: its FIN rides on its last data (``Flags [FP.]``).  The client reads to the FIN and closes.

    With ``pause``, the server sleeps that long before it reads: the client fills the server's receive
    window (zero window, window probes, window updates).  Both ends run on one CPU: loopback then hands
    each segment over, and tcpdump records it, on the CPU that sent it, in the order it was sent
    (on two CPUs a sender's segments can be recorded out of order).
    """
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    def server(conn: socket.socket) -> None:
        time.sleep(pause)
        assert _recv_count(conn, octets) == octets
        conn.sendall(b"y" * octets)

    listener, thread = _serve(server)
    with _client() as c:
        c.connect((LOOPBACK, SERVER_PORT))
        c.sendall(b"x" * octets)
        assert _recv_count(c) == octets
    thread.join(10)
    listener.close()


def slow_reader() -> None:
    """A bulk transfer whose server does not read for a second: the client meets a zero window."""
    bulk(BULK_OCTETS // 4, pause=1.0)


def _drop_nth(n: int, *match: str) -> tuple[str, ...]:
    """An iptables rule that drops the ``n``-th segment (from 1) arriving that matches ``match``."""
    return (
        *INPUT_TCP,
        *match,
        "-m",
        "statistic",
        "--mode",
        "nth",
        "--every",
        "1000000",
        "--packet",
        str(n - 1),
        "-j",
        "DROP",
    )


def recording_named(name: str) -> Recording:
    """The recording called ``name`` (ValueError naming them otherwise)."""
    for r in recordings():
        if r.name == name:
            return r
    raise ValueError(f"unknown recording {name!r}; the recordings are {', '.join(r.name for r in recordings())}")


# --- running one in a namespace -------------------------------------------------------------------------------


def unavailable() -> str | None:
    """Why this machine cannot record, or None if it can."""
    if os.geteuid() != 0:
        return "recording needs root (network namespaces and iptables)"
    missing = [tool for tool in ("ip", "iptables", "tcpdump") if shutil.which(tool) is None]
    if missing:
        return f"recording needs {', '.join(missing)}: apt-get install iproute2 iptables tcpdump"
    return None


@contextlib.contextmanager
def namespace(name: str) -> Iterator[str]:
    """A fresh network namespace with its loopback up; deleted on the way out."""
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True, capture_output=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _in(ns: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


def record(name: str, out: Path) -> int:
    """Record scenario ``name`` into the pcap file ``out`` (written whole or not at all); the attempts it took.

    A race (the FINs of a simultaneous close crossing) is recorded again until the capture shows it.
    """
    reason = unavailable()
    if reason:
        raise CaptureUnavailable(reason)
    r = recording_named(name)
    with tempfile.TemporaryDirectory(prefix="tcpspec-record-") as tmp:
        pcap = Path(tmp) / "capture.pcap"
        for attempt in range(1, r.attempts + 1):
            _record_once(r, pcap)
            if r.wanted is None or r.wanted(read_pcap(pcap)):
                out.parent.mkdir(parents=True, exist_ok=True)
                staged = out.with_name(f".{out.name}.tmp")
                shutil.copyfile(pcap, staged)
                os.replace(staged, out)
                return attempt
    raise RuntimeError(f"recording {name}: the race it needs did not happen in {r.attempts} attempts")


def _record_once(r: Recording, pcap: Path) -> None:
    """Run the scenario once in a fresh namespace with tcpdump capturing into ``pcap``."""
    ns = f"tcpspec-{os.getpid()}-{r.name}"[:30]
    with namespace(ns):
        for command in r.setup:
            done = subprocess.run(_in(ns, *command), capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"recording {r.name}: {' '.join(command)} failed: {done.stderr.strip()}")
        for rule in r.drops:
            subprocess.run(_in(ns, "iptables", *rule), check=True, capture_output=True)
        dump = subprocess.Popen(
            _in(
                ns, "tcpdump", "-i", "lo", "-n", "-U", "--immediate-mode", "-s", str(r.snaplen), "-w", str(pcap), "tcp"
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_listening(dump)
            program = subprocess.run(
                _in(ns, sys.executable, "-m", "checks.record", "--run", r.name),
                capture_output=True,
                text=True,
                timeout=r.seconds,
                cwd=Path(__file__).resolve().parent.parent,
            )
            time.sleep(r.settle)
        finally:
            dump.terminate()
            dump.communicate(timeout=10)
    if program.returncode != 0:
        raise RuntimeError(f"recording {r.name}: the socket program failed:\n{program.stderr.strip()}")


def _wait_listening(dump: subprocess.Popen[str]) -> None:
    """tcpdump says "listening on lo" once it captures; wait for that line."""
    assert dump.stderr is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        line = dump.stderr.readline()
        if "listening on" in line:
            return
        if dump.poll() is not None:
            raise RuntimeError(f"tcpdump did not start: {line.strip()}")
    raise RuntimeError("tcpdump did not start within 10 s")


def kernel() -> str:
    """The kernel the recordings come from: ``uname -sr``."""
    return f"{os.uname().sysname} {os.uname().release}"


def main(argv: list[str]) -> int:
    """``python -m checks.record --run NAME``: the socket program of one scenario (inside its namespace)."""
    if len(argv) != 2 or argv[0] != "--run":
        print("usage: python -m checks.record --run NAME (run inside the scenario's namespace)", file=sys.stderr)
        return 2
    recording_named(argv[1]).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
