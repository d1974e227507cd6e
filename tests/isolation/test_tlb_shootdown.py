"""Isolation: TLB shootdown across the vCPUs of one VM (issue 9, item 1).

A frame merged by page sharing (KSM) belongs to two VMs.  When vCPU A of VM 1 breaks the sharing
(a store, the page walker's A/D write, a host write, a release), vCPU B of VM 1 may still hold a
TLB entry to the shared frame; once VM 2 takes that frame back as its private page and writes its
secret into it, the stale entry would read VM 2's data.  Every stage-2 change must reach every vCPU
of the VM before it executes another instruction: vCPUs interleaved on one thread, a vCPU running
on another thread, and a loop that always hits its TLB."""

import struct
import threading

import pytest

from pyhv import isolation as iso
from pyhv.memory import FramePool
from pyhv.vm import VM

pytestmark = pytest.mark.isolation
RAM = iso.RAM_BASE
G, H, ROOT = 3, 5, 7  # VM 1's shared page and page-table page; VM 2's half of the merge is H
PUBLIC, SECRET = 0x4C425550, 0x5EC2E7A5
READ_AT, LOOP_AT, STORE_AT, S_CODE_AT = 0x8000, 0x9000, 0xA000, 0xB000  # code pages of VM 1
LEAF = 0x1 | 0x2 | 0x4 | 0x8  # V R W X, A and D clear: the first walk writes A
VA = 0x40000000  # S-mode megapage onto RAM through VM 1's root table at page ROOT


def _code(vm, at, code):
    vm.write_phys(RAM + at, struct.pack(f"<{len(code) + 1}I", *code, iso.EBREAK))


def _run(cpu, at, priv=3, budget=10_000, **regs):
    cpu.pc, cpu.priv, cpu.ebreak_exits = at, priv, True
    for name, value in regs.items():
        cpu[name] = value
    return cpu.run(budget)


def _vms(nvcpus=2):
    """VM 1 (two vCPUs) and VM 2 with page G of VM 1 and page H of VM 2 merged, as ksm_scan does."""
    pool = FramePool(size_mib=1)
    # a hart without PMP (VM(pmp=False)): S-mode reaches all of RAM, as these tests are about stage 2
    vm1 = VM(pool, mem_size_mib=0.0625, vcpus=nvcpus, pmp=False)
    vm2 = VM(pool, mem_size_mib=0.0625, pmp=False)
    _code(vm1, READ_AT, [iso.load("lw", 10, 5, 0)])  # a0 = *t0
    # loop: s1 += 1; a0 = *t0; s0 += (a0 == t1); forever
    _code(vm1, LOOP_AT, [iso.addi(9, 9, 1), iso.load("lw", 10, 5, 0), iso.branch(1, 10, 6, 8),
                         iso.addi(8, 8, 1), iso.jal(0, -16)])  # fmt: skip
    _code(vm1, STORE_AT, [iso.store("sw", 6, 5, 0)])  # *t0 = t1
    _code(vm1, S_CODE_AT, [iso.load("lw", 10, 5, 0)])  # S-mode, through the root table: a0 = *t0
    _code(vm2, 0, [iso.store("sw", 6, 5, 0)])
    root = struct.pack("<I", (RAM >> 12) << 10 | LEAF).rjust(4 * (VA >> 22) + 4, b"\0")
    page = (root + struct.pack("<I", PUBLIC) * 1024)[:4096]  # a page table whose tail is data
    for vm, gfn in ((vm1, G), (vm2, H)):
        vm.write_phys(RAM + gfn * 4096, page)
    vm1.memory.share_into(vm2.memory, G, H)
    return pool, vm1, vm2


def _public_addr():
    return RAM + G * 4096 + 4 * ((VA >> 22) + 1)  # the first data word after the root PTE


def _break_by_store(vm1, a):
    assert _run(a, RAM + STORE_AT, t0=RAM + G * 4096 + 0xFFC, t1=0x1111).reason == "breakpoint"


def _break_by_page_walk(vm1, a):
    """A walks page G as its root table in S-mode: setting the leaf's A bit is a write at stage 2."""
    a["satp"] = 1 << 31 | (RAM + G * 4096) >> 12
    assert _run(a, VA + S_CODE_AT, priv=1, t0=VA + 0x100).reason == "breakpoint"
    assert vm1.read_phys(RAM + G * 4096 + 4 * (VA >> 22), 4)[0] & 0x40  # A set in VM 1's own copy


def _break_by_host_write(vm1, a):
    vm1.write_phys(RAM + G * 4096 + 0xFFC, b"\x11\x11\x00\x00")


def _break_by_release(vm1, a):
    vm1.memory.release(G)  # a balloon inflating: the page reads zero from now on


BREAKS = [_break_by_store, _break_by_page_walk, _break_by_host_write, _break_by_release]


def _vm2_takes_the_frame(vm2):
    """VM 2 writes its secret into its half of the merge: the frame becomes its private page."""
    assert _run(vm2.cpu, RAM, t0=RAM + H * 4096 + (_public_addr() & 0xFFF), t1=SECRET).reason == "breakpoint"


@pytest.mark.parametrize("how", BREAKS, ids=lambda f: f.__name__[len("_break_by_"):])
def test_interleaved_vcpus_do_not_keep_the_old_frame(how):
    pool, vm1, vm2 = _vms()
    a, b = vm1.vcpus
    assert _run(b, RAM + READ_AT, t0=_public_addr()).reason == "breakpoint" and b["a0"] == PUBLIC
    how(vm1, a)
    _vm2_takes_the_frame(vm2)
    assert _run(b, RAM + READ_AT, t0=_public_addr()).reason == "breakpoint"
    assert b["a0"] != SECRET, "vCPU B read VM 2's secret through a stale TLB entry"
    assert b["a0"] == int.from_bytes(vm1.read_phys(_public_addr(), 4), "little")
    iso.check_isolation(pool, [vm1, vm2])


@pytest.mark.parametrize("how", BREAKS, ids=lambda f: f.__name__[len("_break_by_"):])
def test_a_loop_that_always_hits_its_tlb_sees_the_change(how):
    """B's loop resumes in the middle (no new fill, no sfence): its next block must not use the old frame."""
    pool, vm1, vm2 = _vms()
    a, b = vm1.vcpus
    assert _run(b, RAM + LOOP_AT, budget=2_000, t0=_public_addr(), t1=SECRET).reason == "budget"
    fills = b.counters["tlb_fills"]
    assert _run(b, b.pc, budget=2_000).reason == "budget"
    assert b.counters["tlb_fills"] <= fills + 1  # TLB hits only (+ emu_start's probe of its stop address)
    how(vm1, a)
    _vm2_takes_the_frame(vm2)
    assert b.run(2_000).reason == "budget"
    assert b["s0"] == 0, f"the loop saw VM 2's secret {b['s0']} times"
    assert b["a0"] == int.from_bytes(vm1.read_phys(_public_addr(), 4), "little")
    iso.check_isolation(pool, [vm1, vm2])


def _spin_until(cond, what):
    for _ in range(200_000):
        if cond():
            return
        threading.Event().wait(0.0005)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("how", [_break_by_store, _break_by_host_write, _break_by_release],
                         ids=["store", "host_write", "release"])  # fmt: skip
def test_a_vcpu_running_on_another_thread_flushes_before_the_frame_moves(how):
    """B loops on its own thread (a pCPU) while A, or the host, breaks the sharing on this one."""
    pool, vm1, vm2 = _vms()
    a, b = vm1.vcpus
    b.pc, b.priv, b.ebreak_exits, b["t0"], b["t1"] = RAM + LOOP_AT, 3, True, _public_addr(), SECRET
    exits = []
    worker = threading.Thread(target=lambda: exits.append(b.run(10**12)))
    worker.start()
    try:
        _spin_until(lambda: b.insns > 50_000, "vCPU B to start looping")
        how(vm1, a)
        _vm2_takes_the_frame(vm2)
        seen = b.insns
        _spin_until(lambda: b.insns > seen + 200_000, "vCPU B to loop on")
    finally:
        b.request_exit()
        worker.join(timeout=60)
    assert exits and exits[0].reason == "host"
    assert b["s0"] == 0, f"the loop saw VM 2's secret {b['s0']} times"
    assert b["a0"] == int.from_bytes(vm1.read_phys(_public_addr(), 4), "little")
    iso.check_isolation(pool, [vm1, vm2])
