"""Isolation part 5, side by side: one VM fills its RAM with a secret pattern while another
(tests/guests/scan.S) reads a word of every page it can name: all 4 GiB of guest-physical space
directly from M-mode, and the rest of Sv32's 34-bit space through megapages.  The pattern is
never seen.  (Once tinyos runs processes, a process of the same tinyos joins as a scanner.)"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyhv import isolation as iso
from pyhv.memory import FramePool
from pyhv.vm import VM

pytestmark = pytest.mark.isolation
RAM = iso.RAM_BASE
ROOT = RAM + 0x8000  # the scanner's Sv32 root table
PTE_VRUA = 0x1 | 0x2 | 0x10 | 0x40


def _pair(programs, pattern):
    pool = FramePool(size_mib=8)
    secret, scanner = VM(pool, mem_size_mib=2), VM(pool, mem_size_mib=1)
    secret.write_phys(RAM, pattern.to_bytes(4, "little") * (2 << 18))  # every word of its RAM
    scanner.load(RAM, programs.image("scan"))
    return pool, secret, scanner


def _scan(programs, scanner, start, probes, pattern, stride=4096, satp=0):
    cpu = scanner.cpu
    cpu.pc, cpu.priv, cpu.ebreak_exits = RAM, 3, True
    for reg, value in zip(("a0", "a1", "a2", "a3", "a4"), (start, probes, pattern, stride, satp)):
        cpu[reg] = value
    ex = cpu.run(50 * probes + 1000)
    assert (ex.reason, ex.pc) == ("breakpoint", programs.labels("scan", "probe done")["done"] + 8)  # its ebreak
    return cpu["s0"], cpu["s1"], cpu["s2"]


def test_whole_physical_space_never_shows_the_secret(programs):
    pattern = 0x5EC2E7A5
    pool, secret, scanner = _pair(programs, pattern)
    hits, last, faults = _scan(programs, scanner, 0x7F8, 1 << 20, pattern)
    assert (hits, last) == (0, 0)
    assert faults >= (1 << 20) - 256 - 1  # all but its own RAM fault (no devices in this VM)
    iso.check_isolation(pool, [secret, scanner])


@pytest.mark.parametrize("window", [1, 2, 3])
def test_34_bit_space_through_megapages_never_shows_the_secret(programs, window):
    pattern = 0x5EC2E7A5
    pool, secret, scanner = _pair(programs, pattern)
    for i in range(1024):  # VA i << 22 -> guest-physical window << 32 | i << 22, U-readable
        scanner.write_phys(ROOT + 4 * i, ((window << 20 | i << 10) << 10 | PTE_VRUA).to_bytes(4, "little"))
    # Two pieces around the scanner's own code page: an MPRV load there reuses the TLB entry of the
    # M-mode fetch (test_regressions.py::test_mprv_load_does_not_reuse_a_fetch_tlb_entry).
    satp = 1 << 31 | ROOT >> 12
    for start, probes in ((0x7F8, 0x80000), (0x800017F8, 0x80000 - 1)):
        hits, _, faults = _scan(programs, scanner, start, probes, pattern, satp=satp)
        assert hits == 0 and faults == probes
    iso.check_isolation(pool, [secret, scanner])


@given(
    pattern=st.integers(1, 0xFFFFFFFF).filter(lambda p: p not in (0x5EC2E7A5,)),
    offset=st.integers(0, 1023).map(lambda w: 4 * w),
    region=st.sampled_from([0x0, 0x1000_0000, 0x2000_0000, 0x7F00_0000, 0x8000_0000]),
)
def test_random_offsets_in_the_interesting_regions(programs, pattern, offset, region):
    """The pool's engine addresses, MMIO, and RAM of both VMs' layout, at any word offset."""
    _pool, _secret, scanner = _pair(programs, pattern)
    own = scanner.read_phys(RAM, 4096)
    hits, last, _ = _scan(programs, scanner, region + offset, 8192, pattern)
    in_own_code = pattern.to_bytes(4, "little") in own
    assert hits == 0 or (in_own_code and RAM <= last < RAM + 4096)
