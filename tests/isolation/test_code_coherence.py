"""Isolation of a frame's past: code translated from a frame never outlives its bytes.

A function's frame (tests/guests/stalecode.S) is rewritten by every route a guest or the
host has: stores through the direct map (R W, no X), through an R W X mapping, from the
other hart, host writes, page sharing with a neighbour VM and the copy-on-write break that
follows, the frame given back to the pool and a fresh one faulted in, address-space
switches, stores elsewhere in the page.  Each call (after fence.i on the calling hart,
as Zifencei requires) must return what the bytes in memory say now, whichever virtual
address it goes through: stale translated code is the previous owner's program running."""

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyhv import isolation as iso
from pyhv.memory import FramePool
from pyhv.vm import VM

pytestmark = pytest.mark.isolation
RAM = iso.RAM_BASE
FUNC_PA = RAM + 0x200000
FUNC_GFN = (FUNC_PA - RAM) >> 12
DIRECT_MAP = FUNC_PA + 0x40000000  # R W, no X
TEXT_VAS = (0x40000000, 0x40001000, 0x40002000)  # R X, R X, R W X
RWX_VA = 0x40002000
ROOTS = (0x80100000, 0x80101000)
RET, NOP = 0x00008067, 0x00000013


def li_a0(n: int) -> int:
    return 0x00000513 | n << 20


harts = st.integers(0, 1)
versions = st.integers(0, 2047)
changes = st.one_of(
    st.tuples(st.just("store"), harts, st.sampled_from([DIRECT_MAP, RWX_VA]), versions),
    st.tuples(st.just("poke"), harts, st.sampled_from([DIRECT_MAP, RWX_VA]), st.integers(1, 511)),
    st.tuples(st.just("host"), versions),
    st.tuples(st.just("switch"), harts, st.sampled_from(ROOTS)),
    st.tuples(st.just("share"), st.integers(0, 3)),
    st.tuples(st.just("reuse"), harts, versions),
)
# Each step changes something, then one hart calls the function through one of its addresses.
steps = st.lists(st.tuples(changes, harts, st.sampled_from(TEXT_VAS)), min_size=1, max_size=16)


class Harness:
    def __init__(self, programs):
        self.labels = programs.labels("stalecode", "host_write remote_write done remote_done ready svc_call svc_store")
        self.pool = FramePool(size_mib=16)
        self.vm = VM(self.pool, mem_size_mib=4, vcpus=2)
        self.neighbour = VM(self.pool, mem_size_mib=0.0625)
        self.neighbour.write_phys(RAM, bytes(range(256)) * 16 * 16)
        self.vm.load(RAM, programs.image("stalecode"))
        for hart, cpu in enumerate(self.vm.vcpus):
            cpu.pc, cpu.priv, cpu["a0"], cpu["a1"], cpu.ebreak_exits = RAM, 3, hart, 1, True
            self._stop(cpu, "ready", 0)

    def _stop(self, cpu, label, offset):
        ex = cpu.run(100_000)
        assert (ex.reason, ex.pc, cpu.priv) == ("breakpoint", self.labels[label] + offset, 1), ex

    def store(self, hart, va, first, second):
        cpu = self.vm.vcpus[hart]
        cpu.pc, cpu["a1"], cpu["a2"], cpu["a3"] = self.labels["svc_store"], va, first, second
        self._stop(cpu, "svc_store", 12)

    def call(self, hart, va):
        cpu = self.vm.vcpus[hart]
        cpu.pc, cpu["a0"] = self.labels["svc_call"], va
        self._stop(cpu, "svc_call", 8)
        return cpu["a0"]

    def close(self):
        self.vm.close()
        self.neighbour.close()


@given(steps=steps)
def test_a_call_runs_the_bytes_in_memory(programs, steps):
    h = Harness(programs)
    try:
        h.store(0, DIRECT_MAP, li_a0(1), RET)
        for op, hart, va in steps:
            kind = op[0]
            if kind == "store":
                h.store(op[1], op[2], li_a0(op[3]), RET)
            elif kind == "poke":  # elsewhere in the page: a fresh TLB entry's first store misses the code
                h.store(op[1], op[2] + 8 * op[3], NOP, NOP)
            elif kind == "host":
                h.vm.write_phys(FUNC_PA, struct.pack("<2I", li_a0(op[1]), RET))
            elif kind == "switch":  # csrw satp; sfence.vma
                cpu = h.vm.vcpus[op[1]]
                cpu["satp"] = 1 << 31 | op[2] >> 12
                cpu.flush_tlb()
            elif kind == "share":  # page sharing: the neighbour's page k becomes the function's frame
                h.vm.memory.share_into(h.neighbour.memory, FUNC_GFN, op[1])
            elif kind == "reuse":  # the frame goes back to the pool; the next store faults a fresh one in
                h.vm.memory.release(FUNC_GFN)
                h.store(op[1], DIRECT_MAP, li_a0(op[2]), RET)
            in_memory = struct.unpack("<I", h.vm.read_phys(FUNC_PA, 4))[0] >> 20
            assert h.call(hart, va) == in_memory, (op, hart, hex(va), in_memory)
        iso.check_isolation(h.pool, [h.vm, h.neighbour])
    finally:
        h.close()


def test_the_harness_sees_a_rewrite(programs):
    """A known sequence: the call returns each version in turn, through each text VA."""
    h = Harness(programs)
    try:
        for n, (hart, route) in enumerate([(0, DIRECT_MAP), (1, DIRECT_MAP), (0, RWX_VA), (1, RWX_VA)], 10):
            h.store(hart, route, li_a0(n), RET)
            assert [h.call(k % 2, va) for k, va in enumerate(TEXT_VAS)] == [n, n, n]
    finally:
        h.close()
