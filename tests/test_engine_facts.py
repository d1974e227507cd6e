"""The Unicorn behaviours pyhv's core is built on, pinned on a bare engine.

Each test is one fact of docs/engine-facts.md, checked against the unicorn package that is
installed, with no pyhv code in between: if an upgrade of the engine changes one of them, the
test that names it fails before anything subtler does.  Instructions are encoded by hand (the
helpers below) so the file needs no toolchain.
"""

import unicorn
from unicorn import riscv_const as rc

RAM = 0x8000_0000
DATA = RAM + 0x4000

A0, A1, A2 = 10, 11, 12


def i_type(opcode, rd, funct3, rs1, imm):
    return ((imm & 0xFFF) << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode


def csrrw(rd, csr, rs1):
    return i_type(0x73, rd, 1, rs1, csr)


def csrrs(rd, csr, rs1):
    return i_type(0x73, rd, 2, rs1, csr)


def addi(rd, rs1, imm):
    return i_type(0x13, rd, 0, rs1, imm)


def lw(rd, rs1, imm=0):
    return i_type(0x03, rd, 2, rs1, imm)


def amoadd_w(rd, rs2, rs1):
    return (rs2 << 20) | (rs1 << 15) | (2 << 12) | (rd << 7) | 0x2F


ECALL, EBREAK, WFI, SFENCE_VMA = 0x00000073, 0x00100073, 0x10500073, 0x12000073
C_J_SELF = 0xA001  # c.j . (a 2-byte instruction)
CSR_TIME, CSR_SATP = 0xC01, 0x180


def engine(words, tlb_virtual=False) -> unicorn.Uc:
    """RAM at 0x8000_0000 holding `words` (ints: 32-bit; bytes: raw), PC there, M-mode."""
    uc = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV32)
    if tlb_virtual:
        uc.ctl_set_tlb_mode(unicorn.UC_TLB_VIRTUAL)
    uc.mem_map(RAM, 0x10000)
    code = b"".join(w if isinstance(w, bytes) else w.to_bytes(4, "little") for w in words)
    uc.mem_write(RAM, code)
    uc.reg_write(rc.UC_RISCV_REG_PC, RAM)
    return uc


def csr(uc, reg, value=None):
    """Read (or write) a CSR with PRIV = 3 for the access (the rule of fact 0)."""
    priv = uc.reg_read(rc.UC_RISCV_REG_PRIV)
    uc.reg_write(rc.UC_RISCV_REG_PRIV, 3)
    if value is not None:
        uc.reg_write(reg, value)
    out = uc.reg_read(reg) & 0xFFFFFFFF
    uc.reg_write(rc.UC_RISCV_REG_PRIV, priv)
    return out


def intr_log(uc) -> list:
    """Record (intno, pc) for each UC_HOOK_INTR call and stop the engine."""
    calls = []

    def hook(uc, intno, _):
        calls.append((intno, uc.reg_read(rc.UC_RISCV_REG_PC)))
        uc.emu_stop()

    uc.hook_add(unicorn.UC_HOOK_INTR, hook)
    return calls


def test_fact0_csr_writes_below_machine_mode_are_dropped():
    uc = engine([ECALL])
    csr(uc, rc.UC_RISCV_REG_MEPC, 0x1234)
    uc.reg_write(rc.UC_RISCV_REG_PRIV, 1)
    uc.reg_write(rc.UC_RISCV_REG_MEPC, 0x5678)  # no error, no effect
    assert csr(uc, rc.UC_RISCV_REG_MEPC) == 0x1234


def test_fact1_ecall_is_intno_8_in_every_mode_with_pc_past_it():
    for priv in (0, 1, 3):
        uc = engine([ECALL])
        uc.reg_write(rc.UC_RISCV_REG_PRIV, priv)
        calls = intr_log(uc)
        uc.emu_start(RAM, RAM + 0x100, count=1)
        assert calls == [(8, RAM + 4)], priv


def test_fact2_illegal_instruction_is_intno_2_and_rdtime_is_illegal():
    uc = engine([csrrs(A0, CSR_TIME, 0)])
    calls = intr_log(uc)
    uc.emu_start(RAM, RAM + 0x100, count=1)
    assert calls == [(2, RAM + 4)]


def test_fact2_ebreak_bypasses_the_intr_hook():
    uc = engine([EBREAK])
    calls = intr_log(uc)
    try:
        uc.emu_start(RAM, RAM + 0x100)
        raised = None
    except unicorn.UcError as e:
        raised = e.errno
    assert raised == unicorn.UC_ERR_INSN_INVALID and calls == []
    assert uc.reg_read(rc.UC_RISCV_REG_PC) == RAM


def test_fact2_misaligned_amo_is_intno_4_with_badaddr_in_the_context():
    uc = engine([amoadd_w(A0, A1, A2)])
    uc.reg_write(A2 + rc.UC_RISCV_REG_X0, DATA + 2)
    calls = intr_log(uc)
    uc.emu_start(RAM, RAM + 0x100, count=1)
    assert calls == [(4, RAM + 4)]
    ctx = bytes(uc.context_save())
    assert int.from_bytes(ctx[440:444], "little") == DATA + 2  # 40-byte header + env->badaddr at 400


def test_fact2_misaligned_loads_are_performed_without_a_trap():
    uc = engine([lw(A0, A1)])
    uc.mem_write(DATA, bytes(range(16)))
    uc.reg_write(rc.UC_RISCV_REG_A1, DATA + 1)
    calls = intr_log(uc)
    uc.emu_start(RAM, RAM + 4)
    assert calls == [] and uc.reg_read(rc.UC_RISCV_REG_A0) == 0x04030201


def test_fact3_wfi_returns_from_emu_start_past_the_instruction():
    uc = engine([WFI, addi(A0, 0, 7)])
    calls = intr_log(uc)
    uc.emu_start(RAM, RAM + 0x100)  # returns by itself, without reaching `until`
    assert calls == [] and uc.reg_read(rc.UC_RISCV_REG_PC) == RAM + 4
    assert uc.reg_read(rc.UC_RISCV_REG_A0) == 0


def test_fact4_only_s_level_bits_of_mip_are_writable():
    uc = engine([ECALL])
    assert csr(uc, rc.UC_RISCV_REG_MIP, 0xAAA) == 0x222  # SSIP, STIP, SEIP; MSIP/MTIP/MEIP dropped


def test_fact4_the_engine_delivers_s_level_interrupts_itself():
    handler = RAM + 0x100
    uc = engine([addi(A0, 0, 1)] * 4)
    calls = intr_log(uc)
    csr(uc, rc.UC_RISCV_REG_MIDELEG, 0x20)
    csr(uc, rc.UC_RISCV_REG_MIE, 0x20)
    csr(uc, rc.UC_RISCV_REG_STVEC, handler)
    csr(uc, rc.UC_RISCV_REG_MSTATUS, 0x2)  # SIE
    uc.reg_write(rc.UC_RISCV_REG_PRIV, 1)
    csr(uc, rc.UC_RISCV_REG_MIP, 0x20)  # STIP
    uc.emu_start(RAM, handler)
    assert uc.reg_read(rc.UC_RISCV_REG_PC) == handler and calls == []  # no hook saw it
    assert csr(uc, rc.UC_RISCV_REG_SCAUSE) == 0x8000_0005


def test_fact5_satp_ppn_change_keeps_the_tlb_and_sfence_vma_flushes_it():
    code = [
        lw(A0, A1),                      # fill 1
        csrrw(0, CSR_SATP, A2),          # mode Sv32, new PPN: no flush
        lw(A0, A1),                      # hit
        SFENCE_VMA,
        lw(A0, A1),                      # fill 2
    ]
    uc = engine(code, tlb_virtual=True)
    csr(uc, rc.UC_RISCV_REG_SATP, 0x8000_0001)
    uc.reg_write(rc.UC_RISCV_REG_A1, DATA)
    uc.reg_write(rc.UC_RISCV_REG_A2, 0x8000_0002)
    fills = []

    def on_fill(uc, vaddr, access, entry, _):
        if vaddr == DATA:
            fills.append(access)
        entry.paddr, entry.perms = vaddr, 7
        return True

    uc.hook_add(unicorn.UC_HOOK_TLB_FILL, on_fill)
    uc.emu_start(RAM, RAM + 4 * len(code))
    assert len(fills) == 2


def test_fact8_host_writes_do_not_invalidate_translated_code():
    uc = engine([addi(A0, 0, 1), WFI])  # the wfi ends each run (fact 3)
    uc.emu_start(RAM, RAM + 0x100)
    uc.mem_write(RAM, addi(A0, 0, 2).to_bytes(4, "little"))
    uc.emu_start(RAM, RAM + 0x100)
    assert uc.reg_read(rc.UC_RISCV_REG_A0) == 1  # the old translation ran
    uc.ctl_remove_cache(RAM, RAM + 4)
    uc.emu_start(RAM, RAM + 0x100)
    assert uc.reg_read(rc.UC_RISCV_REG_A0) == 2


def test_fact9_compressed_instructions_are_on_and_a_block_can_be_two_bytes():
    uc = engine([C_J_SELF.to_bytes(2, "little")])
    sizes = []

    def on_block(uc, address, size, _):
        sizes.append(size)
        if len(sizes) == 3:
            uc.emu_stop()

    uc.hook_add(unicorn.UC_HOOK_BLOCK, on_block)
    uc.emu_start(RAM, RAM + 0x100)
    assert sizes == [2, 2, 2]  # byte size / 4 would count this loop as zero instructions


def test_fact10_writing_pc_in_a_block_hook_skips_the_block():
    skip_to = RAM + 8
    uc = engine([addi(A0, 0, 1), 0x0000006F, addi(A1, 0, 5)])  # li a0,1; j . ; li a1,5
    seen = []

    def on_block(uc, address, size, _):
        seen.append(address)
        if address == RAM:
            uc.reg_write(rc.UC_RISCV_REG_PC, skip_to)

    uc.hook_add(unicorn.UC_HOOK_BLOCK, on_block)
    uc.emu_start(RAM, RAM + 12)
    assert uc.reg_read(rc.UC_RISCV_REG_A0) == 0 and uc.reg_read(rc.UC_RISCV_REG_A1) == 5
    assert seen[:2] == [RAM, skip_to]


def test_fact6_stopping_inside_an_mmio_callback_repeats_the_access():
    mmio = 0x1000_0000
    sw = (0 << 25) | (A1 << 20) | (A2 << 15) | (2 << 12) | (0 << 7) | 0x23  # sw a1, 0(a2)
    uc = engine([addi(A0, A0, 1), sw, WFI])
    uc.reg_write(rc.UC_RISCV_REG_A2, mmio)
    writes = []

    def on_write(uc, offset, size, value, _):
        writes.append(value)
        if len(writes) == 1:
            uc.emu_stop()

    uc.mmio_map(mmio, 0x1000, None, None, on_write, None)
    uc.emu_start(RAM, RAM + 0x100)
    assert uc.reg_read(rc.UC_RISCV_REG_PC) == RAM + 4  # left at the store, not past it
    uc.emu_start(uc.reg_read(rc.UC_RISCV_REG_PC), RAM + 0x100)
    assert writes == [0, 0] and uc.reg_read(rc.UC_RISCV_REG_A0) == 1  # the device saw the store twice


def test_fact11_pmp_writes_are_kept_in_the_engine_state():
    from pyhv.vcpu import pmp_context_offset

    assert pmp_context_offset() > 0  # found by writing pmpaddr0/1 and pmpcfg0 on a bare engine
