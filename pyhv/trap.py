"""Trap entry and interrupt selection of one RISC-V hart, as pure functions over a dict of CSRs.

The readable twin of the C trap-entry hook in csrc/ and its oracle in the tests (Privileged Spec
v1.12: 3.1.6.1, 3.1.8, 3.1.9, 3.3.1, 3.3.3, 4.1.1). Moving the state in and out of the engine is
the engine glue's job, not this module's.
"""

MASK32 = 0xFFFFFFFF

PRIV_U, PRIV_S, PRIV_M = 0, 1, 3

# Exception codes: mcause/scause with bit 31 clear (spec 3.1.15, table 3.6).
CAUSE_MISALIGNED_FETCH = 0
CAUSE_FETCH_ACCESS = 1
CAUSE_ILLEGAL_INSTRUCTION = 2
CAUSE_BREAKPOINT = 3
CAUSE_MISALIGNED_LOAD = 4
CAUSE_LOAD_ACCESS = 5
CAUSE_MISALIGNED_STORE = 6  # also misaligned AMO
CAUSE_STORE_ACCESS = 7  # also AMO access fault
CAUSE_USER_ECALL = 8
CAUSE_SUPERVISOR_ECALL = 9
CAUSE_MACHINE_ECALL = 11
CAUSE_FETCH_PAGE_FAULT = 12
CAUSE_LOAD_PAGE_FAULT = 13
CAUSE_STORE_PAGE_FAULT = 15  # also AMO page fault

# Interrupt numbers: the cause code when mcause bit 31 is set, and the bit position of the
# interrupt in mip, mie and mideleg (spec 3.1.9).
IRQ_S_SOFT = 1
IRQ_M_SOFT = 3
IRQ_S_TIMER = 5
IRQ_M_TIMER = 7
IRQ_S_EXT = 9
IRQ_M_EXT = 11
CAUSE_INTERRUPT = 1 << 31

# Among interrupts that trap to the same mode, the first of these wins (spec 3.1.9).
IRQ_PRIORITY = (IRQ_M_EXT, IRQ_M_SOFT, IRQ_M_TIMER, IRQ_S_EXT, IRQ_S_SOFT, IRQ_S_TIMER)

# mstatus trap-stack fields (spec 3.1.6.1; sstatus, 4.1.1, is a view of the S ones):
#   12 11  10 9   8    7    6  5    4  3   2  1   0
#  | MPP  |    | SPP | MPIE |  | SPIE |  | MIE |  | SIE |  |
# xIE is the global enable of mode x, xPIE its value before the trap, xPP the mode trapped from.
MSTATUS_SIE = 1 << 1
MSTATUS_MIE = 1 << 3
MSTATUS_SPIE = 1 << 5
MSTATUS_MPIE = 1 << 7
MSTATUS_SPP = 1 << 8
MSTATUS_MPP_SHIFT = 11
MSTATUS_MPP = 3 << MSTATUS_MPP_SHIFT

# tvec (spec 3.1.7): BASE in bits 31:2, MODE in bits 1:0; in vectored mode interrupts jump to
# BASE + 4 * cause, exceptions still to BASE.
TVEC_VECTORED = 1


def take_trap(state: dict, cause: int, tval: int, is_interrupt: bool) -> dict:
    """Enter the trap handler for `cause` (spec 3.3.1) and return the new state; `state` is not changed.

    state['pc'] is the address of the faulting or interrupted instruction; it becomes xepc.
    The trap goes to S when it comes from S or U and its bit is set in medeleg (exceptions) or
    mideleg (interrupts) (spec 3.1.8); otherwise to M. A trap never lowers the privilege.
    """
    s = dict(state)
    old = s["priv"]
    pc = s["pc"] & MASK32
    xcause = (cause | CAUSE_INTERRUPT if is_interrupt else cause) & MASK32
    deleg = s["mideleg"] if is_interrupt else s["medeleg"]
    ms = s["mstatus"]

    if old <= PRIV_S and (deleg >> cause) & 1:
        s.update(sepc=pc, scause=xcause, stval=tval & MASK32, priv=PRIV_S)
        ms &= ~(MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE)
        ms |= MSTATUS_SPP if old == PRIV_S else 0
        ms |= MSTATUS_SPIE if state["mstatus"] & MSTATUS_SIE else 0
        tvec = s["stvec"]
    else:
        s.update(mepc=pc, mcause=xcause, mtval=tval & MASK32, priv=PRIV_M)
        ms &= ~(MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE)
        ms |= old << MSTATUS_MPP_SHIFT
        ms |= MSTATUS_MPIE if state["mstatus"] & MSTATUS_MIE else 0
        tvec = s["mtvec"]

    s["mstatus"] = ms & MASK32
    pc = tvec & ~3
    if is_interrupt and tvec & 3 == TVEC_VECTORED:
        pc += 4 * cause
    s["pc"] = pc & MASK32
    return s


def pending_interrupt(mip: int, mie: int, mideleg: int, mstatus: int, priv: int) -> int | None:
    """The interrupt the hart takes now, or None (spec 3.1.9).

    An interrupt not delegated in mideleg goes to M and is enabled when the hart runs below M,
    or in M with mstatus.MIE set. A delegated one goes to S and is enabled in U, or in S with
    mstatus.SIE set; it is never taken in M. Interrupts for M come before interrupts for S;
    within one mode IRQ_PRIORITY decides.
    """
    pending = mip & mie
    m_enabled = priv < PRIV_M or mstatus & MSTATUS_MIE
    s_enabled = priv < PRIV_S or (priv == PRIV_S and mstatus & MSTATUS_SIE)
    to_m = pending & ~mideleg if m_enabled else 0
    to_s = pending & mideleg if s_enabled else 0
    for bits in (to_m, to_s):
        for irq in IRQ_PRIORITY:
            if (bits >> irq) & 1:
                return irq
    return None


def wfi_wakes(mip: int, mie: int) -> bool:
    """Whether a wfi resumes: some interrupt is pending and locally enabled, whatever the
    global enables and delegation say (spec 3.3.3)."""
    return (mip & mie & MASK32) != 0
