"""Isolation, hostile compressed code: generated code mixing 2-byte and 4-byte instructions
(pyhv.isolation.hostile_rvc_code) runs in M, S or U with mtvec and stvec pointing into it, at
compressed instructions too (iso.trap_vectors), next to a neighbour VM holding a secret.

Whatever it does (c.j . loops, trap loops through a vector that faults or is illegal, jumps
into the middle of a word), a run with a budget returns: instructions are counted one each,
2-byte or 4-byte, so the budget and the virtual clock always advance; the count is
deterministic; the neighbour and the free frames do not change."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyhv import isolation as iso
from pyhv.memory import FramePool
from pyhv.vm import VM

pytestmark = pytest.mark.isolation
CODE = iso.RAM_BASE + 0x1000
BUDGET = 20_000
MAX_BLOCK = 512 * 4  # instructions in one translated block at most (QEMU TCG_MAX_INSNS), 4 KiB of code
registers = st.lists(st.one_of(st.sampled_from([0, CODE, CODE + 2, iso.RAM_BASE, 0x10000000, 0xFFFFFFFF]),
                               st.integers(0, 0xFFFFFFFF)), min_size=31, max_size=31)  # fmt: skip


def _run(code: bytes, mtvec: int, stvec: int, priv: int, regs: list[int]):
    pool = FramePool(size_mib=4)
    vm, neighbour = VM(pool, mem_size_mib=1), VM(pool, mem_size_mib=0.25)
    neighbour.write_phys(iso.RAM_BASE, bytes(range(256)) * 64)
    vm.load(CODE, code + iso.EBREAK.to_bytes(4, "little"))
    before_nb, free_before = iso.ram_image(neighbour), pool.frames_free
    cpu = vm.cpu
    for i, value in enumerate(regs, start=1):
        cpu[f"x{i}"] = value
    cpu["mtvec"], cpu["stvec"], cpu["medeleg"], cpu["mideleg"] = mtvec, stvec, 0xB3FF, 0x222
    cpu.pc, cpu.priv, cpu.ebreak_exits = CODE, priv, True
    ex = cpu.run(BUDGET)
    outcome = (ex.reason, ex.pc, cpu.insns, cpu.mtime, tuple(cpu[f"x{i}"] for i in range(1, 32)))
    iso.check_isolation(pool, [vm, neighbour])
    assert not iso.changed_pages(before_nb, iso.ram_image(neighbour)), "the neighbour's RAM changed"
    assert pool.frames_free >= free_before - vm.memory.c.ram_frames
    vm.close()
    neighbour.close()
    return outcome


@given(code=iso.hostile_rvc_code(), data=st.data(), priv=st.sampled_from([0, 1, 3]), regs=registers)
def test_compressed_hostile_code_is_counted_and_stops(code, data, priv, regs):
    m_off, m_mode = data.draw(iso.trap_vectors(len(code)), label="mtvec")
    s_off, s_mode = data.draw(iso.trap_vectors(len(code)), label="stvec")
    outcome = _run(code, CODE + m_off | m_mode, CODE + s_off | s_mode, priv, regs)
    reason, _pc, insns, mtime, _regs = outcome
    assert reason in ("budget", "breakpoint", "fatal", "idle"), outcome[:3]
    if reason == "budget":
        assert BUDGET <= insns < BUDGET + MAX_BLOCK
    else:
        assert insns < BUDGET + MAX_BLOCK
    assert mtime == insns // 10  # the virtual clock saw every instruction
    assert _run(code, CODE + m_off | m_mode, CODE + s_off | s_mode, priv, regs) == outcome  # deterministic


@pytest.mark.parametrize("vector_insn", [iso.C_SELF_LOOP, iso.C_ILLEGAL, iso.c_cr(0b1000, 1, 0)],
                         ids=["c.j .", "c.unimp", "c.jr ra"])
def test_a_trap_vector_on_a_compressed_instruction_spends_the_budget(vector_insn):
    """The code faults at once; its trap vector is a 2-byte instruction that loops, traps again
    (illegal) or jumps to a faulting address: the budget still ends the run."""
    code = iso.C_ILLEGAL.to_bytes(2, "little") * 2 + vector_insn.to_bytes(2, "little") + b"\x01\x00"
    reason, _pc, insns, mtime, _ = _run(code, CODE + 4, CODE + 4, 3, [0] * 31)
    assert (reason, insns, mtime) == ("budget", BUDGET, BUDGET // 10)
