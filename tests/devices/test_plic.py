# Register-level tests of the PLIC model against riscv-plic-spec 1.0.0 (QEMU virt layout).
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyhv.devices.plic import PLIC

UART = 10


def prio(src):
    return 4 * src


def enable(ctx, word=0):
    return 0x2000 + 0x80 * ctx + 4 * word


def threshold(ctx):
    return 0x200000 + 0x1000 * ctx


def claim(ctx):
    return 0x200004 + 0x1000 * ctx


@pytest.fixture
def plic():
    return PLIC(n_harts=2)


def route(p, src, ctx=0, priority=1):
    p.write(prio(src), 4, priority)
    p.write(enable(ctx), 4, p.read(enable(ctx), 4) | 1 << src)


def test_reset_state(plic):
    assert plic.n_contexts == 4
    for src in range(1, 32):
        assert plic.read(prio(src), 4) == 0
    assert plic.read(0x1000, 4) == 0
    for ctx in range(4):
        assert plic.read(enable(ctx), 4) == 0
        assert plic.read(threshold(ctx), 4) == 0
        assert plic.read(claim(ctx), 4) == 0
        assert plic.ctx_irq[ctx].level is False
    assert plic.counters["guest_errors"] == 0


def test_priority_is_warl_three_bits(plic):
    plic.write(prio(5), 4, 0xFFFFFFFF)
    assert plic.read(prio(5), 4) == 7
    plic.write(threshold(1), 4, 0x1F)
    assert plic.read(threshold(1), 4) == 7


def test_enable_bit0_and_absent_sources_hardwired_zero():
    p = PLIC(n_sources=20)
    p.write(enable(0), 4, 0xFFFFFFFF)
    assert p.read(enable(0), 4) == 0x000FFFFE


def test_claim_complete_with_level_gateway(plic):
    route(plic, UART)
    plic.set_source(UART, True)
    assert plic.read(0x1000, 4) == 1 << UART
    assert plic.ctx_irq[0].level and not plic.ctx_irq[1].level
    assert plic.read(claim(0), 4) == UART
    assert plic.read(0x1000, 4) == 0 and not plic.ctx_irq[0].level
    plic.set_source(UART, True)  # still asserted: no new request before completion
    assert plic.read(0x1000, 4) == 0
    plic.write(claim(0), 4, UART)  # complete while still asserted: a new request
    assert plic.read(0x1000, 4) == 1 << UART and plic.ctx_irq[0].level
    assert plic.read(claim(0), 4) == UART
    plic.set_source(UART, False)
    plic.write(claim(0), 4, UART)
    assert plic.read(0x1000, 4) == 0 and not plic.ctx_irq[0].level
    assert plic.counters["claims"] == 2 and plic.counters["completions"] == 2


def test_gateway_never_retracts_a_request(plic):
    route(plic, 3)
    plic.set_source(3, True)
    plic.set_source(3, False)
    assert plic.ctx_irq[0].level
    assert plic.read(claim(0), 4) == 3


def test_threshold_masks_notification_but_not_claim(plic):
    route(plic, 4, priority=3)
    plic.write(threshold(0), 4, 3)
    plic.set_source(4, True)
    assert not plic.ctx_irq[0].level  # priority must exceed the threshold
    plic.write(threshold(0), 4, 2)
    assert plic.ctx_irq[0].level
    plic.write(threshold(0), 4, 7)
    assert not plic.ctx_irq[0].level
    assert plic.read(claim(0), 4) == 4  # spec: a claim is not affected by the threshold


def test_highest_priority_first_ties_to_lowest_id(plic):
    for src, pr in ((5, 2), (9, 6), (3, 6), (7, 1)):
        route(plic, src, priority=pr)
        plic.set_source(src, True)
    assert [plic.read(claim(0), 4) for _ in range(5)] == [3, 9, 5, 7, 0]
    assert plic.counters["spurious_claims"] == 1


def test_priority_zero_never_interrupts(plic):
    route(plic, 6, priority=0)
    plic.set_source(6, True)
    assert not plic.ctx_irq[0].level
    assert plic.read(claim(0), 4) == 0
    assert plic.read(0x1000, 4) == 1 << 6


def test_disabled_source_stays_pending(plic):
    plic.write(prio(8), 4, 1)
    plic.set_source(8, True)
    assert not any(line.level for line in plic.ctx_irq)
    assert plic.read(claim(0), 4) == 0
    plic.write(enable(0), 4, 1 << 8)
    assert plic.ctx_irq[0].level


def test_contexts_are_independent_and_multicast(plic):
    route(plic, 2, ctx=1)  # hart 0 S-mode
    route(plic, 2, ctx=3)  # hart 1 S-mode
    plic.set_source(2, True)
    assert [line.level for line in plic.ctx_irq] == [False, True, False, True]
    assert plic.read(claim(3), 4) == 2
    assert plic.read(claim(1), 4) == 0  # the other target lost the race
    assert not any(line.level for line in plic.ctx_irq)


def test_completion_for_unenabled_id_is_ignored(plic):
    route(plic, 5)
    plic.set_source(5, True)
    assert plic.read(claim(0), 4) == 5
    plic.write(claim(1), 4, 5)  # ctx 1 does not enable source 5
    plic.write(claim(0), 4, 0)
    plic.write(claim(0), 4, 999)
    assert plic.counters["ignored_completions"] == 3
    assert plic.in_flight == 1 << 5
    plic.write(claim(0), 4, 5)
    assert plic.ctx_irq[0].level  # level still high: a new request


def test_reset_reforwards_asserted_sources(plic):
    route(plic, 1)
    plic.set_source(1, True)
    plic.read(claim(0), 4)
    plic.reset()
    assert plic.read(0x1000, 4) == 1 << 1
    assert not plic.ctx_irq[0].level  # enables and priorities are back to 0


@pytest.mark.parametrize(
    "offset,size",
    [(0x0, 4), (0x80, 4), (0x1004, 4), (0x2004, 4), (0x2200, 4), (0x200008, 4), (0x204000, 4),
     (0x4, 1), (0x4, 2), (0x2, 4), (0x3FFFFC, 4), (0x400000, 4)],
)  # fmt: skip
def test_undecoded_accesses_are_guest_errors(plic, offset, size):
    assert plic.read(offset, size) == 0
    plic.write(offset, size, 0xFFFFFFFF)
    assert plic.counters["guest_errors"] == 2


def test_pending_is_read_only(plic):
    plic.write(0x1000, 4, 0xFFFFFFFF)
    assert plic.read(0x1000, 4) == 0
    assert plic.counters["guest_errors"] == 1


def test_many_sources_layout():
    p = PLIC(n_harts=1, n_sources=64)
    p.write(prio(40), 4, 1)
    p.write(enable(1, word=1), 4, 1 << (40 - 32))
    p.set_source(40, True)
    assert p.read(0x1004, 4) == 1 << 8
    assert p.ctx_irq[1].level
    assert p.read(claim(1), 4) == 40


def test_bad_construction_and_sources():
    with pytest.raises(ValueError):
        PLIC(n_harts=0)
    with pytest.raises(ValueError):
        PLIC(n_harts=257)
    with pytest.raises(ValueError):
        PLIC(ctx_irq=[print])
    with pytest.raises(ValueError):
        PLIC().set_source(0, True)
    with pytest.raises(ValueError):
        PLIC().set_source(32, True)


def test_state_round_trip(plic):
    route(plic, UART, ctx=1, priority=5)
    plic.write(threshold(1), 4, 2)
    plic.set_source(UART, True)
    plic.set_source(4, True)
    snap = json.loads(json.dumps(plic.state()))
    other = PLIC(n_harts=2)
    other.load_state(snap)
    assert other.state() == plic.state()
    assert other.ctx_irq[1].level
    assert other.read(claim(1), 4) == UART


@pytest.mark.parametrize(
    "key,value",
    [("priority", [0] * 31), ("priority", [1] + [0] * 31), ("pending", [1]), ("enable", [[0]] * 3),
     ("threshold", [8, 0, 0, 0]), ("level", ["x"])],
)  # fmt: skip
def test_load_state_rejects_impossible_states(plic, key, value):
    snap = plic.state()
    snap[key] = value
    with pytest.raises(ValueError):
        plic.load_state(snap)


ops = st.one_of(
    st.tuples(st.just("src"), st.integers(1, 31), st.booleans()),
    st.tuples(st.just("r"), st.sampled_from([0x0, 0x4, 0x28, 0x1000, 0x2000, 0x2080, 0x200000, 0x200004, 0x201004])),
    st.tuples(st.just("w"), st.sampled_from([0x4, 0x8, 0x28, 0x1000, 0x2000, 0x2080, 0x200000, 0x201000]), st.integers(0, 2**32 - 1)),
    st.tuples(st.just("complete"), st.sampled_from([0x200004, 0x201004]), st.integers(0, 40)),
    st.tuples(st.just("any"), st.integers(0, 0x3FFFFF), st.sampled_from([1, 2, 4, 8]), st.integers(0, 2**32 - 1)),
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(ops, max_size=60))
def test_random_accesses_never_raise_or_break_invariants(seq):
    p = PLIC(n_harts=1)
    for op in seq:
        if op[0] == "src":
            p.set_source(op[1], op[2])
        elif op[0] == "r":
            p.read(op[1], 4)
        elif op[0] in ("w", "complete"):
            p.write(op[1], 4, op[2])
        else:
            p.read(op[1], op[2])
            p.write(op[1], op[2], op[3])
        assert not (p.pending | p.in_flight | p.level | p.enable[0] | p.enable[1]) & ~p.valid_ids
        assert all(0 <= x <= 7 for x in p.priority + p.threshold) and p.priority[0] == 0
        for ctx in range(2):
            brute = any(
                p.pending >> s & 1 and p.enable[ctx] >> s & 1 and p.priority[s] > p.threshold[ctx] for s in range(32)
            )
            assert p.ctx_irq[ctx].level == brute
        assert p.level & ~p.in_flight == 0  # an asserted source always has a request under way
    snap = json.loads(json.dumps(p.state()))
    fresh = PLIC(n_harts=1)
    fresh.load_state(snap)
    assert fresh.state() == p.state()
