"""Named configurations: each one a scenario people ask about, with the bounds that keep it finite.

ISS values include 4294967295 (2**32 - 1), so that sequence numbers wrap around
to 0 within the connection and every comparison is exercised modulo 2**32.
"""

from __future__ import annotations

from spec.config import Call, Config, ConfigError, EndpointConfig

OPEN, LISTEN, SEND, CLOSE, ABORT = Call.OPEN, Call.LISTEN, Call.SEND, Call.CLOSE, Call.ABORT
SEND_URGENT = Call.SEND_URGENT
WAIT_OPEN, WAIT_EOF, WAIT_CLOSED = Call.WAIT_OPEN, Call.WAIT_EOF, Call.WAIT_CLOSED

WRAP = 4294967295  # 2**32 - 1: the SYN takes it, data begins at 0

CLIENT = (OPEN, WAIT_OPEN, SEND, CLOSE, WAIT_CLOSED)
SERVER = (LISTEN, WAIT_OPEN, SEND, WAIT_EOF, CLOSE, WAIT_CLOSED)


def _ep(script: tuple[Call, ...], *iss: int, listening: bool = False) -> EndpointConfig:
    return EndpointConfig(script=script, iss=(tuple(sorted(iss)),), listening=listening)


def presets() -> tuple[Config, ...]:
    """Every named configuration, in the order ``tcpspec list`` prints them."""
    return (
        Config(
            name="handshake",
            description="the three-way handshake: A opens actively, B passively; reliable network",
            a=_ep((OPEN, WAIT_OPEN), WRAP, 1000),
            b=_ep((LISTEN, WAIT_OPEN), 300),
            reach=("A:SYN-SENT", "B:LISTEN", "B:SYN-RECEIVED", "ESTABLISHED"),
        ),
        Config(
            name="lifecycle",
            description="open, one unit of data each way, A closes first; reliable FIFO network",
            a=_ep(CLIENT, WRAP),
            b=_ep(SERVER, 300),
            reach=(
                "A:SYN-SENT",
                "B:SYN-RECEIVED",
                "ESTABLISHED",
                "A:FIN-WAIT-1",
                "A:FIN-WAIT-2",
                "B:CLOSE-WAIT",
                "B:LAST-ACK",
                "A:TIME-WAIT",
                "A:TIME-WAIT->CLOSED",
            ),
        ),
        Config(
            name="lossy",
            description="open, data both ways, close on a network that loses a segment; TCP retransmits",
            a=_ep((OPEN, WAIT_OPEN, SEND, CLOSE), WRAP),
            b=_ep((LISTEN, WAIT_OPEN, WAIT_EOF, SEND, CLOSE), 300),
            loss=1,
            msl=2,
            rto=1,
            retries=1,
            reach=(
                "ESTABLISHED",
                "A:TIME-WAIT",
                "B:LAST-ACK->CLOSED",
                "A:TIME-WAIT->CLOSED",
                "rule:time-wait-fin-again",
                "rule:retransmit-fin",
            ),
        ),
        Config(
            name="chaos",
            description="open and two units of data on a network that loses, duplicates, reorders and "
            "overflows; untimed: any delay, timers may expire at any moment",
            a=_ep((OPEN, WAIT_OPEN, SEND, SEND), WRAP),
            b=_ep((LISTEN, WAIT_OPEN), 300),
            reorder=True,
            capacity=2,
            loss=1,
            duplicate=1,
            retries=1,
            reach=(
                "ESTABLISHED",
                "rule:text-ahead",
                "rule:unacceptable",
                "rule:retransmit-data",
                "rule:retransmit-syn",
                "rule:give-up",
            ),
        ),
        Config(
            name="simultaneous-open",
            description="both sides OPEN actively at once (RFC 9293 Figure 7), then both close",
            a=_ep((OPEN, WAIT_OPEN, CLOSE), WRAP),
            b=_ep((OPEN, WAIT_OPEN, CLOSE), 300),
            reach=("SYN-SENT->SYN-RECEIVED", "SYN-RECEIVED->ESTABLISHED", "CLOSING", "TIME-WAIT"),
        ),
        Config(
            name="simultaneous-close",
            description="both users CLOSE at once (RFC 9293 Figure 13): FINs cross, CLOSING, two TIME-WAITs",
            a=_ep((OPEN, WAIT_OPEN, SEND, CLOSE), WRAP),
            b=_ep((LISTEN, WAIT_OPEN, CLOSE), 300),
            reach=("FIN-WAIT-1->CLOSING", "CLOSING->TIME-WAIT", "A:TIME-WAIT", "B:TIME-WAIT"),
        ),
        Config(
            name="incarnations",
            description="two incarnations of one connection, MSL and TIME-WAIT timed, old duplicates live",
            a=EndpointConfig(
                script=(OPEN, WAIT_OPEN, SEND, CLOSE, WAIT_CLOSED, OPEN, WAIT_OPEN, SEND, CLOSE),
                iss=((WRAP,), (0,)),
            ),
            b=EndpointConfig(
                script=(LISTEN, WAIT_OPEN, WAIT_EOF, CLOSE, WAIT_CLOSED, LISTEN, WAIT_OPEN, WAIT_EOF, CLOSE),
                iss=((300,), (301,)),
            ),
            duplicate=1,
            msl=1,
            rto=1,
            retries=1,
            reach=("A:TIME-WAIT", "A:TIME-WAIT->CLOSED", "B:LAST-ACK->CLOSED", "old-duplicate"),
        ),
        Config(
            name="early-close",
            description="users CLOSE while the connection is still opening: in LISTEN, SYN-SENT, SYN-RECEIVED "
            "(RFC 9293 §3.10.4); A opens by a SEND from LISTEN",
            a=_ep((LISTEN, SEND, CLOSE), WRAP),
            b=_ep((LISTEN, CLOSE), 300),
            reach=("A:LISTEN->SYN-SENT", "A:SYN-SENT->CLOSED", "B:LISTEN->CLOSED", "B:SYN-RECEIVED->FIN-WAIT-1"),
        ),
        Config(
            name="lost-ack",
            description="A closes first on a network that loses one segment: B's FIN acknowledges A's FIN when "
            "the ACK is lost (Note 2); TIME-WAIT answers B's retransmitted FIN when A's last ACK is lost",
            a=_ep((OPEN, WAIT_OPEN, CLOSE, WAIT_CLOSED), WRAP),
            b=_ep((LISTEN, WAIT_OPEN, WAIT_EOF, CLOSE, WAIT_CLOSED), 300),
            loss=1,
            msl=2,
            rto=1,
            retries=1,
            reach=("A:FIN-WAIT-2->TIME-WAIT", "rule:time-wait-fin-again", "B:LAST-ACK->CLOSED"),
        ),
        Config(
            name="half-open",
            description="B crashes and loses its TCB while A keeps sending (RFC 9293 §3.5.1, Figure 10)",
            a=_ep((OPEN, WAIT_OPEN, SEND, SEND), WRAP),
            b=_ep((LISTEN, WAIT_OPEN), 300),
            crash=1,
            reach=("ESTABLISHED", "A:ESTABLISHED->CLOSED"),
        ),
        Config(
            name="abort",
            description="A aborts an open connection: RST, and B's connection is reset (RFC 9293 §3.10.5)",
            a=_ep((OPEN, WAIT_OPEN, SEND_URGENT, ABORT), WRAP),
            b=_ep((LISTEN, WAIT_OPEN, SEND, WAIT_CLOSED), 300),
            reach=("A:ESTABLISHED->CLOSED", "B:ESTABLISHED->CLOSED"),
        ),
    )


def large_presets() -> tuple[Config, ...]:
    """Configurations too large for the explicit engine in CI's time: the spin engine checks them.

    ``tcpspec check`` with no ``--config`` leaves them out; name one to check it.
    """
    return (
        Config(
            name="chaos-close",
            description="open, data both ways and both close, on a network that loses, duplicates, reorders and "
            "overflows; untimed, so TIME-WAIT may end before old segments die (17 million states: for --engine spin)",
            a=_ep((OPEN, WAIT_OPEN, SEND, SEND, CLOSE), WRAP),
            b=_ep((LISTEN, WAIT_OPEN, SEND, CLOSE), 300),
            reorder=True,
            capacity=2,
            loss=1,
            duplicate=1,
            retries=1,
        ),
    )


def preset(name: str) -> Config:
    """The preset (or large preset) called ``name``."""
    for config in (*presets(), *large_presets()):
        if config.name == name:
            return config
    names = ", ".join(c.name for c in (*presets(), *large_presets()))
    raise ConfigError(f"unknown configuration {name!r}; the presets are {names} (or give a .toml file)")
