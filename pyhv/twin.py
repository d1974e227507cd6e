"""The pure-Python twins (pyhv.mmu, pyhv.trap) installed as Unicorn hooks.

These are what the C core would be if it were written in Python: the readable
baseline that `pyhv bench core` measures the C hooks against, and an engine-level
oracle for tests.  They run on a bare engine with RAM mapped flat at its
guest-physical address (identity stage 2); never use them for real guests.
"""

import unicorn
from unicorn import riscv_const as rc

from pyhv import mmu, trap

_STATE_CSRS = {
    "mstatus": rc.UC_RISCV_REG_MSTATUS,
    "mtvec": rc.UC_RISCV_REG_MTVEC,
    "stvec": rc.UC_RISCV_REG_STVEC,
    "medeleg": rc.UC_RISCV_REG_MEDELEG,
    "mideleg": rc.UC_RISCV_REG_MIDELEG,
    "mepc": rc.UC_RISCV_REG_MEPC,
    "mcause": rc.UC_RISCV_REG_MCAUSE,
    "mtval": rc.UC_RISCV_REG_MTVAL,
    "sepc": rc.UC_RISCV_REG_SEPC,
    "scause": rc.UC_RISCV_REG_SCAUSE,
    "stval": rc.UC_RISCV_REG_STVAL,
}


def flat_engine(ram_base: int, ram_size: int, program: bytes, tlb_virtual: bool = False) -> unicorn.Uc:
    """A bare rv32 engine with RAM at ram_base holding `program`, PC at ram_base, M-mode."""
    uc = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV32)
    if tlb_virtual:
        uc.ctl_set_tlb_mode(unicorn.UC_TLB_VIRTUAL)
    uc.mem_map(ram_base, ram_size)
    uc.mem_write(ram_base, program)
    uc.reg_write(rc.UC_RISCV_REG_PC, ram_base)
    return uc


def read_state(uc) -> dict:
    """The trap-relevant hart state, read at PRIV = 3 (Unicorn drops lower-privilege CSR reads, engine facts §0)."""
    priv = uc.reg_read(rc.UC_RISCV_REG_PRIV)
    uc.reg_write(rc.UC_RISCV_REG_PRIV, 3)
    state = {name: uc.reg_read(reg) & 0xFFFFFFFF for name, reg in _STATE_CSRS.items()}
    uc.reg_write(rc.UC_RISCV_REG_PRIV, priv)
    state["priv"] = priv
    state["pc"] = uc.reg_read(rc.UC_RISCV_REG_PC)
    return state


def write_state(uc, state: dict) -> None:
    uc.reg_write(rc.UC_RISCV_REG_PRIV, 3)
    for name, reg in _STATE_CSRS.items():
        uc.reg_write(reg, state[name])
    uc.reg_write(rc.UC_RISCV_REG_PRIV, state["priv"])
    uc.reg_write(rc.UC_RISCV_REG_PC, state["pc"])


def install_trap_twin(uc) -> None:
    """UC_HOOK_INTR in Python: ecall and friends enter the guest's handler via trap.take_trap."""

    def on_intr(uc, intno, _):
        state = read_state(uc)
        cause = intno
        if intno == 8:  # Unicorn reports 8 for ecall from every mode (engine facts §1)
            cause = {0: trap.CAUSE_USER_ECALL, 1: trap.CAUSE_SUPERVISOR_ECALL}.get(state["priv"], 11)
        state["pc"] = (state["pc"] - 4) & 0xFFFFFFFF
        write_state(uc, trap.take_trap(state, cause, 0, False))

    uc.hook_add(unicorn.UC_HOOK_INTR, on_intr)


def install_mmu_twin(uc, ram_base: int, ram_size: int) -> dict:
    """UC_HOOK_TLB_FILL in Python: the guest's Sv32 walk by mmu.translate, identity stage 2.

    Returns a dict whose "fills" and "faults" entries count the calls."""
    stats = {"fills": 0, "faults": 0}

    def read32(gpa):
        if ram_base <= gpa and gpa + 4 <= ram_base + ram_size:
            return int.from_bytes(uc.mem_read(gpa, 4), "little")
        return None

    def write32(gpa, value):
        uc.mem_write(gpa, (value & 0xFFFFFFFF).to_bytes(4, "little"))

    access_of = {unicorn.UC_MEM_FETCH: mmu.ACC_FETCH, unicorn.UC_MEM_WRITE: mmu.ACC_WRITE}

    def on_fill(uc, vaddr, mem_type, entry, _):
        stats["fills"] += 1
        priv = uc.reg_read(rc.UC_RISCV_REG_PRIV)
        uc.reg_write(rc.UC_RISCV_REG_PRIV, 3)
        satp = uc.reg_read(rc.UC_RISCV_REG_SATP)
        mstatus = uc.reg_read(rc.UC_RISCV_REG_MSTATUS)
        uc.reg_write(rc.UC_RISCV_REG_PRIV, priv)
        t = mmu.translate(read32, write32, satp, mstatus, priv, vaddr, access_of.get(mem_type, mmu.ACC_READ))
        if not t.ok:
            stats["faults"] += 1
            return False
        entry.paddr = t.gpa
        entry.perms = t.perms
        return True

    uc.hook_add(unicorn.UC_HOOK_TLB_FILL, on_fill)
    return stats
