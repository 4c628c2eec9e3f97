"""Units of several octets, and the retransmission timer of any duration in a timed model (what replay needs)."""

from __future__ import annotations

import dataclasses

import pytest

from checks.explicit import explore
from checks.properties import check
from spec.config import Call, Config, ConfigError, EndpointConfig, config_from_dict
from spec.machine import Machine
from spec.segment import Segment
from spec.states import ACK, CLOSED, ESTABLISHED, PSH, TIME_WAIT
from spec.tcb import TIMER_OFF, Endpoint

OPEN, LISTEN, SEND, CLOSE = Call.OPEN, Call.LISTEN, Call.SEND, Call.CLOSE


def sized(**changes: object) -> Config:
    a = EndpointConfig(script=(OPEN, SEND, SEND, CLOSE), iss=((4294967290,),), sizes=((5, 3),))
    b = EndpointConfig(script=(SEND, CLOSE), iss=((300,),), listening=True, sizes=((1460,),))
    base = Config(name="sized", description="units of 5, 3 and 1460 octets", a=a, b=b, window=1 << 20, retries=1)
    return dataclasses.replace(base, **changes)


def established(snd_nxt: int, rcv_nxt: int, iss: int = 4294967290, **fields: object) -> Endpoint:
    return Endpoint(
        state=ESTABLISHED, pc=1, inc=1, iss=iss, irs=rcv_nxt - 1, snd_una=snd_nxt, snd_nxt=snd_nxt, rcv_nxt=rcv_nxt
    )._replace(**fields)


def test_unit_sizes_per_incarnation_and_where_each_unit_begins() -> None:
    ep = EndpointConfig(script=(OPEN, SEND, SEND), iss=((0,),), sizes=((5, 3), (7,)))
    assert [ep.unit_size(1, u) for u in (1, 2, 3)] == [5, 3, 1]  # a unit not sized has one octet
    assert [ep.unit_size(2, u) for u in (1, 2)] == [7, 1]
    assert ep.unit_size(3, 1) == 7  # the last incarnation's sizes repeat
    assert [ep.unit_starting_at(1, off) for off in (1, 6, 9, 2, 0)] == [1, 2, 0, 0, 0]
    assert not ep.one_octet_units and EndpointConfig(script=(), iss=((0,),)).one_octet_units


def test_a_send_advances_snd_nxt_by_the_units_octets_and_wraps() -> None:
    """§3.10.2: the unit goes out as one segment of 5 octets; SND.NXT moves by 5, modulo 2**32."""
    m = Machine(sized())
    r = m.react(0, established(4294967294, 301, pc=1), "call", call=SEND)
    assert r is not None
    (seg,) = r.sent
    assert (seg.seq, seg.size, seg.len, seg.flags) == (4294967294, 5, 5, ACK | PSH)
    assert r.endpoint.snd_nxt == 3  # 4294967294 + 5 wraps to 3


def test_the_receiver_takes_the_whole_unit() -> None:
    """§3.10.7.4, seventh step: RCV.NXT advances over the segment's 1460 octets, and the ACK says so."""
    m = Machine(sized())
    a = established(4294967291, 301)
    data = Segment(301, 4294967291, ACK | PSH, 1, 1, 0, 1460)
    r = m.react(0, a, "segment", seg=data)
    assert r is not None
    assert r.endpoint.rcv_nxt == 301 + 1460
    assert r.sent[-1].ack == 301 + 1460
    assert r.endpoint.delivered == ((1, 1),)


def test_a_retransmission_resends_the_unit_at_snd_una_with_its_octets() -> None:
    """§3.10.8: the oldest unacknowledged unit is unit 2 (3 octets), after unit 1's 5 octets."""
    m = Machine(sized())
    iss = 4294967290
    ep = established((iss + 9) % 2**32, 301, snd_una=(iss + 6) % 2**32, sent=2, pc=3, timer=0)
    r = m.react(0, ep, "timeout")
    assert r is not None
    (seg,) = r.sent
    assert (seg.seq, seg.data, seg.size) == ((iss + 6) % 2**32, 2, 3)


def small(a_sizes: tuple[tuple[int, ...], ...], b_sizes: tuple[tuple[int, ...], ...], **changes: object) -> Config:
    """Open, one SEND each way, A closes first (as the lifecycle preset), with the units' sizes given."""
    a = EndpointConfig(script=(OPEN, SEND, CLOSE), iss=((4294967290,),), sizes=a_sizes)
    b = EndpointConfig(script=(SEND, CLOSE), iss=((300,),), listening=True, sizes=b_sizes)
    return dataclasses.replace(Config(name="small", description="", a=a, b=b, window=1 << 20), **changes)


def test_a_sized_configuration_is_explored_and_its_properties_hold() -> None:
    ex, results = check(small(((5,),), ((1460,),)))
    assert ex.complete
    assert all(r.verdict != "VIOLATED" for r in results), [r for r in results if r.verdict == "VIOLATED"]
    assert any(w.a.state is TIME_WAIT for w in ex.states)


def test_one_octet_sizes_change_nothing() -> None:
    """Sizes of one octet are the default: the same reachable states."""
    assert len(explore(small((), ())).states) == len(explore(small(((1,),), ((1,),))).states)


@pytest.mark.parametrize(
    ("sizes", "message"),
    [([0], "at least 1"), ("five", "list of octet counts"), ([[5], [True]], "must be an integer"), ([2**31], "add up")],
)
def test_bad_sizes_are_reported(sizes: object, message: str) -> None:
    data = {"a": {"script": ["open", "send"], "sizes": sizes}, "b": {"script": ["listen"]}}
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data, "x.toml")


# --- rto = "any": the retransmission timer of any duration, in a timed model ----------------------------


def timed(rto: int | None) -> Config:
    a = EndpointConfig(script=(OPEN, CLOSE), iss=((100,),))
    b = EndpointConfig(script=(CLOSE,), iss=((300,),), listening=True)
    return Config(name="timed", description="", a=a, b=b, msl=2, rto=rto, retries=1, loss=1)


def test_rto_any_lets_the_retransmission_timer_expire_between_ticks() -> None:
    m = Machine(timed(None))
    syn_sent = m.react(0, Endpoint(), "call", call=OPEN)
    assert syn_sent is not None and syn_sent.endpoint.timer == 0  # "may expire at any moment"
    world = m.initial()._replace(a=syn_sent.endpoint, ab=())
    kinds = [t.label.kind for t in m.successors(world)]
    assert "timeout" in kinds
    assert "tick" not in kinds  # nothing counts down: time passing changes nothing
    assert m.idle(world)


def test_rto_in_ticks_expires_only_on_a_tick() -> None:
    m = Machine(timed(1))
    syn_sent = m.react(0, Endpoint(), "call", call=OPEN)
    assert syn_sent is not None and syn_sent.endpoint.timer == 1
    world = m.initial()._replace(a=syn_sent.endpoint)
    kinds = [t.label.kind for t in m.successors(world)]
    assert "timeout" not in kinds and "tick" in kinds


def test_time_wait_still_lasts_its_ticks_when_rto_is_any() -> None:
    m = Machine(timed(None))
    tw = Endpoint(state=TIME_WAIT, pc=2, inc=1, iss=100, irs=300, snd_una=102, snd_nxt=102, rcv_nxt=302, timer=0)
    world = m.initial()._replace(a=tw)
    kinds = [t.label.kind for t in m.successors(world)]
    assert "timeout" not in kinds and "tick" in kinds  # TIME-WAIT ends at a tick, 2 * MSL after it began
    tick = next(t for t in m.successors(world) if t.label.kind == "tick")
    assert tick.target.a.state is CLOSED and tick.target.a.timer == TIMER_OFF


def test_rto_any_and_tick_in_a_file() -> None:
    data = {
        "a": {"script": ["open"]},
        "b": {"script": ["listen"]},
        "timing": {"msl": 30, "rto": "any", "tick": 1.0, "retries": 1},
    }
    c = config_from_dict(data, "x.toml")
    assert c.rto is None and c.rto_any and c.tick == 1.0 and c.time_wait_ticks == 60
    assert "RTO = any" in c.bounds() and "a tick = 1 s" in c.bounds()
    for timing, message in [
        ({"tick": 1.0}, "tick needs msl"),
        ({"msl": 2, "tick": 0}, "number of seconds"),
        ({"msl": 2, "rto": "soon"}, "rto"),
    ]:
        with pytest.raises(ConfigError, match=message):
            config_from_dict({**data, "timing": timing}, "x.toml")
