"""The pure-Python trap-entry twin (pyhv/trap.py) against Privileged Spec v1.12, 3.1.6.1, 3.1.8,
3.1.9, 3.3.1, 3.3.3 and 4.1.1.

Hand-worked traps and interrupt choices first, then hypothesis properties. The C trap entry is
compared with this model elsewhere.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyhv.trap import (
    CAUSE_BREAKPOINT,
    CAUSE_FETCH_ACCESS,
    CAUSE_ILLEGAL_INSTRUCTION,
    CAUSE_INTERRUPT,
    CAUSE_LOAD_PAGE_FAULT,
    CAUSE_MACHINE_ECALL,
    CAUSE_MISALIGNED_FETCH,
    CAUSE_STORE_PAGE_FAULT,
    CAUSE_SUPERVISOR_ECALL,
    CAUSE_USER_ECALL,
    IRQ_M_EXT,
    IRQ_M_SOFT,
    IRQ_M_TIMER,
    IRQ_PRIORITY,
    IRQ_S_EXT,
    IRQ_S_SOFT,
    IRQ_S_TIMER,
    MSTATUS_MIE,
    MSTATUS_MPIE,
    MSTATUS_MPP,
    MSTATUS_SIE,
    MSTATUS_SPIE,
    MSTATUS_SPP,
    pending_interrupt,
    take_trap,
    wfi_wakes,
)

CI = settings(max_examples=200, deadline=None)

U, S, M = 0, 1, 3
M_BITS = MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP
S_BITS = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP
XREGS = {"M": ("mepc", "mcause", "mtval"), "S": ("sepc", "scause", "stval")}
U32 = st.integers(0, 0xFFFFFFFF)


def hart(**kw):
    """A hart state with recognisable defaults, overridden by kw."""
    defaults = {"pc": 0x8000_1000, "priv": U, "mstatus": 0, "mtvec": 0x8000_0100, "stvec": 0xC000_0200}
    csrs = {name: 0 for name in ("medeleg", "mideleg", "mepc", "mcause", "mtval", "sepc", "scause", "stval")}
    return {**defaults, **csrs, **kw}


def bit(n):
    return 1 << n


# ---- exceptions ---------------------------------------------------------------


def test_constants_match_spec_table():
    assert (CAUSE_MISALIGNED_FETCH, CAUSE_FETCH_ACCESS, CAUSE_ILLEGAL_INSTRUCTION, CAUSE_BREAKPOINT) == (0, 1, 2, 3)
    assert (CAUSE_USER_ECALL, CAUSE_SUPERVISOR_ECALL, CAUSE_MACHINE_ECALL) == (8, 9, 11)
    assert (CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT) == (13, 15)
    assert (IRQ_S_SOFT, IRQ_M_SOFT, IRQ_S_TIMER, IRQ_M_TIMER, IRQ_S_EXT, IRQ_M_EXT) == (1, 3, 5, 7, 9, 11)


def test_delegated_user_ecall_goes_to_s():
    before = hart(priv=U, mstatus=MSTATUS_SIE | MSTATUS_MIE, medeleg=bit(CAUSE_USER_ECALL))
    after = take_trap(before, CAUSE_USER_ECALL, 0, False)
    assert after == hart(
        pc=0xC000_0200,
        priv=S,
        mstatus=MSTATUS_SPIE | MSTATUS_MIE,  # SPP = U = 0, SPIE = old SIE, SIE cleared, M bits untouched
        medeleg=bit(CAUSE_USER_ECALL),
        sepc=0x8000_1000,
        scause=CAUSE_USER_ECALL,
        stval=0,
    )
    assert before == hart(priv=U, mstatus=MSTATUS_SIE | MSTATUS_MIE, medeleg=bit(CAUSE_USER_ECALL))


def test_s_page_fault_delegated_records_spp_and_tval():
    after = take_trap(hart(priv=S, medeleg=bit(13)), CAUSE_LOAD_PAGE_FAULT, 0xDEAD_BEEF, False)
    assert (after["priv"], after["pc"], after["mstatus"]) == (S, 0xC000_0200, MSTATUS_SPP)
    assert (after["sepc"], after["scause"], after["stval"]) == (0x8000_1000, 13, 0xDEAD_BEEF)
    assert (after["mepc"], after["mcause"], after["mtval"]) == (0, 0, 0)


def test_undelegated_trap_goes_to_m():
    after = take_trap(hart(priv=S, mstatus=MSTATUS_MIE | MSTATUS_SIE), CAUSE_SUPERVISOR_ECALL, 0, False)
    assert after["priv"] == M and after["pc"] == 0x8000_0100
    assert after["mstatus"] == (S << 11) | MSTATUS_MPIE | MSTATUS_SIE  # MPP = S, MPIE = old MIE, MIE cleared
    assert (after["mepc"], after["mcause"], after["mtval"]) == (0x8000_1000, 9, 0)


def test_traps_from_m_stay_in_m_whatever_medeleg_says():
    after = take_trap(hart(priv=M, medeleg=0xFFFF, mstatus=MSTATUS_MPP), CAUSE_ILLEGAL_INSTRUCTION, 0x0000_0073, False)
    assert after["priv"] == M and after["mstatus"] & MSTATUS_MPP == MSTATUS_MPP and not after["mstatus"] & MSTATUS_MPIE
    assert (after["mcause"], after["mtval"], after["sepc"]) == (2, 0x73, 0)


@pytest.mark.parametrize("mode", [0, 1])
def test_exceptions_ignore_vectored_mode(mode):
    after = take_trap(hart(mtvec=0x8000_0100 | mode), CAUSE_BREAKPOINT, 0, False)
    assert after["pc"] == 0x8000_0100 and after["mtvec"] == 0x8000_0100 | mode


# ---- interrupts ----------------------------------------------------------------


def test_vectored_interrupt_jumps_to_base_plus_4_cause():
    after = take_trap(hart(priv=S, mtvec=0x8000_0101), IRQ_M_TIMER, 0, True)
    assert (after["pc"], after["mcause"], after["priv"]) == (0x8000_0100 + 4 * 7, CAUSE_INTERRUPT | 7, M)


def test_delegated_interrupt_uses_stvec_and_scause():
    after = take_trap(hart(priv=U, stvec=0xC000_0001, mideleg=bit(IRQ_S_TIMER)), IRQ_S_TIMER, 0, True)
    assert (after["pc"], after["scause"], after["priv"]) == (0xC000_0000 + 20, 0x8000_0005, S)


def test_interrupt_delegation_uses_mideleg_not_medeleg():
    after = take_trap(hart(priv=U, medeleg=bit(IRQ_S_TIMER)), IRQ_S_TIMER, 0, True)
    assert after["priv"] == M


def test_pending_interrupt_examples():
    mti, sti, ssi, sei = bit(IRQ_M_TIMER), bit(IRQ_S_TIMER), bit(IRQ_S_SOFT), bit(IRQ_S_EXT)
    assert pending_interrupt(mti, mti, 0, 0, M) is None  # MIE clear in M
    assert pending_interrupt(mti, mti, 0, MSTATUS_MIE, M) == IRQ_M_TIMER
    assert pending_interrupt(mti, mti, 0, 0, S) == IRQ_M_TIMER  # M interrupts are always on below M
    assert pending_interrupt(mti, 0, 0, MSTATUS_MIE, M) is None  # not enabled in mie
    assert pending_interrupt(sti, sti, sti, MSTATUS_MIE | MSTATUS_SIE, M) is None  # delegated: never in M
    assert pending_interrupt(sti, sti, sti, 0, S) is None  # SIE clear in S
    assert pending_interrupt(sti, sti, sti, MSTATUS_SIE, S) == IRQ_S_TIMER
    assert pending_interrupt(sti, sti, sti, 0, U) == IRQ_S_TIMER  # S interrupts are always on in U
    assert pending_interrupt(0xFFF, 0xFFF, 0, 0, U) == IRQ_M_EXT
    assert pending_interrupt(0xFFF & ~bit(11), 0xFFF, 0, 0, U) == IRQ_M_SOFT
    assert pending_interrupt(mti | sei | ssi | sti, 0xFFF, 0, 0, U) == IRQ_M_TIMER
    assert pending_interrupt(sei | ssi | sti, 0xFFF, 0, 0, U) == IRQ_S_EXT
    assert pending_interrupt(ssi | sti, 0xFFF, 0, 0, U) == IRQ_S_SOFT
    # An interrupt for M beats one for S, even when it is lower in IRQ_PRIORITY.
    assert pending_interrupt(sei | ssi, 0xFFF, sei, 0, U) == IRQ_S_SOFT
    assert pending_interrupt(sei | ssi, 0xFFF, sei | ssi, 0, U) == IRQ_S_EXT


def test_wfi_ignores_global_enables_and_delegation():
    assert wfi_wakes(bit(IRQ_M_TIMER), bit(IRQ_M_TIMER))
    assert not wfi_wakes(bit(IRQ_M_TIMER), bit(IRQ_S_TIMER))
    assert not wfi_wakes(0, 0xFFFFFFFF)


# ---- properties ------------------------------------------------------------------

irq = st.sampled_from(IRQ_PRIORITY)
exception = st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15])


@st.composite
def harts(draw):
    return hart(
        pc=draw(U32.map(lambda v: v & ~1)),
        priv=draw(st.sampled_from([U, S, M])),
        mstatus=draw(U32),
        mtvec=draw(U32),
        stvec=draw(U32),
        medeleg=draw(st.one_of(U32, st.just(0xB1FF))),
        mideleg=draw(st.one_of(U32, st.just(0x222))),
        mepc=draw(U32),
        mcause=draw(U32),
        mtval=draw(U32),
        sepc=draw(U32),
        scause=draw(U32),
        stval=draw(U32),
    )


@st.composite
def traps(draw):
    is_interrupt = draw(st.booleans())
    return draw(harts()), draw(irq if is_interrupt else exception), draw(U32), is_interrupt


def xret(state, to_s):
    """mret/sret (spec 3.3.2), just enough to undo a trap entry."""
    s, ms = dict(state), state["mstatus"]
    if to_s:
        s["priv"] = (ms & MSTATUS_SPP) >> 8
        ms = ms & ~(MSTATUS_SIE | MSTATUS_SPP) | (MSTATUS_SIE if ms & MSTATUS_SPIE else 0) | MSTATUS_SPIE
        s["pc"] = s["sepc"]
    else:
        s["priv"] = (ms & MSTATUS_MPP) >> 11
        ms = ms & ~(MSTATUS_MIE | MSTATUS_MPP) | (MSTATUS_MIE if ms & MSTATUS_MPIE else 0) | MSTATUS_MPIE
        s["pc"] = s["mepc"]
    s["mstatus"] = ms
    return s


@CI
@given(traps())
def test_trap_goes_to_the_right_mode_and_touches_only_its_registers(t):
    state, cause, tval, is_interrupt = t
    after = take_trap(state, cause, tval, is_interrupt)
    deleg = state["mideleg" if is_interrupt else "medeleg"]
    to_s = state["priv"] <= S and deleg >> cause & 1
    mine, other = ("S", "M") if to_s else ("M", "S")
    assert after["priv"] == (S if to_s else M) >= state["priv"]
    epc, xcause, xtval = (after[r] for r in XREGS[mine])
    assert (epc, xcause, xtval) == (state["pc"], cause | (CAUSE_INTERRUPT if is_interrupt else 0), tval)
    assert all(after[r] == state[r] for r in XREGS[other])
    changed = {k for k in state if after[k] != state[k]} - {"pc", "priv", "mstatus", *XREGS[mine]}
    assert changed == set()
    assert (after["mstatus"] ^ state["mstatus"]) & ~(S_BITS if to_s else M_BITS) == 0
    assert all(0 <= v <= 0xFFFFFFFF for v in after.values())


@CI
@given(traps())
def test_trap_masks_its_mode_and_jumps_to_its_vector(t):
    state, cause, tval, is_interrupt = t
    after = take_trap(state, cause, tval, is_interrupt)
    ms = after["mstatus"]
    tvec = state["stvec" if after["priv"] == S else "mtvec"]
    base = tvec & ~3
    assert after["pc"] == (base + 4 * cause if is_interrupt and tvec & 3 == 1 else base) & 0xFFFFFFFF
    if after["priv"] == S:
        assert not ms & MSTATUS_SIE and bool(ms & MSTATUS_SPIE) == bool(state["mstatus"] & MSTATUS_SIE)
        assert (ms & MSTATUS_SPP) >> 8 == state["priv"]
    else:
        assert not ms & MSTATUS_MIE and bool(ms & MSTATUS_MPIE) == bool(state["mstatus"] & MSTATUS_MIE)
        assert (ms & MSTATUS_MPP) >> 11 == state["priv"]
    assert pending_interrupt(0xFFF, 0xFFF, 0xFFFFFFFF if after["priv"] == S else 0, ms, after["priv"]) is None


@CI
@given(traps())
def test_xret_undoes_the_trap(t):
    state, cause, tval, is_interrupt = t
    after = take_trap(state, cause, tval, is_interrupt)
    back = xret(after, after["priv"] == S)
    assert back["priv"] == state["priv"] and back["pc"] == state["pc"]
    ie = MSTATUS_SIE if after["priv"] == S else MSTATUS_MIE
    assert back["mstatus"] & ie == state["mstatus"] & ie


@CI
@given(harts(), U32)
def test_trap_does_not_modify_its_argument(state, tval):
    copy = dict(state)
    take_trap(state, CAUSE_STORE_PAGE_FAULT, tval, False)
    assert state == copy


def enabled_interrupts(mip, mie, mideleg, mstatus, priv):
    """Spec 3.1.9 read literally: each interrupt i that traps now, as (destination, i)."""
    out = []
    for i in IRQ_PRIORITY:
        if not (mip & mie) >> i & 1:
            continue
        if mideleg >> i & 1:
            if priv == U or (priv == S and mstatus & MSTATUS_SIE):
                out.append((S, i))
        elif priv < M or mstatus & MSTATUS_MIE:
            out.append((M, i))
    return out


@CI
@given(U32, U32, U32, U32, st.sampled_from([U, S, M]))
def test_pending_interrupt_picks_highest_destination_then_priority(mip, mie, mideleg, mstatus, priv):
    got = pending_interrupt(mip, mie, mideleg, mstatus, priv)
    candidates = enabled_interrupts(mip, mie, mideleg, mstatus, priv)
    if not candidates:
        assert got is None
        return
    best = min(candidates, key=lambda c: (-c[0], IRQ_PRIORITY.index(c[1])))
    assert got == best[1]
    assert wfi_wakes(mip, mie)
    assert take_trap(hart(priv=priv, mideleg=mideleg, mstatus=mstatus), got, 0, True)["priv"] == best[0]


@CI
@given(U32, U32)
def test_wfi_wakes_exactly_when_something_is_pending_and_enabled(mip, mie):
    assert wfi_wakes(mip, mie) == any((mip & mie) >> i & 1 for i in range(32))
