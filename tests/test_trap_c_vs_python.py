"""The C trap entry (csrc/trap.c) and its Python twin (pyhv/trap.py) leave the hart in
the same state for every cause, privilege, delegation and tvec mode."""

from hypothesis import given, settings
from hypothesis import strategies as st

from pyhv import trap
from pyhv._native import lib
from pyhv.memory import FramePool
from pyhv.vm import VM

STATE = ("mstatus", "mtvec", "stvec", "medeleg", "mideleg", "mepc", "mcause", "mtval", "sepc", "scause", "stval")
POOL = FramePool(size_mib=4)
CPU = VM(POOL, mem_size_mib=1).cpu

word = st.integers(0, 0xFFFFFFFF)
tvec = st.builds(lambda base, mode: (base & ~3) | mode, word, st.sampled_from([0, 1]))


def hart_state(cpu):
    state = {name: cpu[name] for name in STATE}
    state.update(pc=cpu.pc, priv=cpu.priv)
    return state


@settings(max_examples=300, deadline=None)
@given(
    priv=st.sampled_from([0, 1, 3]),
    mstatus=st.integers(0, 0x1FFF),
    mtvec=tvec,
    stvec=tvec,
    medeleg=st.integers(0, 0xFFFF),
    mideleg=st.sampled_from([0, 0x222, 0x2, 0x20, 0x200]),
    interrupt=st.booleans(),
    code=st.integers(0, 15),
    epc=word.map(lambda x: x & ~1),
    tval=word,
)
def test_c_trap_entry_matches_python_twin(priv, mstatus, mtvec, stvec, medeleg, mideleg, interrupt, code, epc, tval):
    cpu = CPU
    cpu.priv = 3
    for name, value in dict(mstatus=mstatus, mtvec=mtvec, stvec=stvec, medeleg=medeleg, mideleg=mideleg).items():
        cpu[name] = value
    cpu.priv = priv
    cpu.pc = epc
    before = hart_state(cpu)  # what the engine kept of each WARL CSR is the real input
    cause = code | (1 << 31 if interrupt else 0)
    lib.pyhv_vcpu_take_trap(cpu.c, cause, epc, tval)
    after = hart_state(cpu)
    expected = trap.take_trap(before, code, tval, interrupt)
    assert after == expected
