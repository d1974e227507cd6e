"""SMP guests: harts of one VM share RAM, wake each other with CLINT IPIs, and run
interleaved on one thread, so guest atomics (amoadd, lr/sc) stay atomic."""

import subprocess
import sys
from pathlib import Path

import pytest

from pyhv import fdt, image
from pyhv.machine import Machine, MachineConfig

GUESTS = Path(__file__).parent / "guests"


@pytest.fixture(scope="module")
def smp_img(tmp_path_factory):
    path = tmp_path_factory.mktemp("smp") / "smp.img"
    path.write_bytes(image.build((GUESTS / "smp.bin").read_bytes()))
    return str(path)


def test_two_harts_ipi_and_atomics(smp_img):
    m = Machine(MachineConfig(image=smp_img, bios=None, smp=2, mem_size_mib=8))
    try:
        assert m.run() == 0
        counter = m.vm.read_phys(0x80200000 + (GUESTS / "smp.bin").stat().st_size - 4, 4)
        assert int.from_bytes(counter, "little") == 2000  # 1000 amoadd on hart 0 + 1000 lr/sc on hart 1
        h0, h1 = m.harts
        assert h0["a0"] == 0 and h1["a0"] == 1
        assert h1.counters["exits"]["idle"] >= 1  # hart 1 slept until the IPI
        assert abs(h0.mtime - h1.mtime) <= 2_000  # one VM, one clock (within a quantum)
        cpus = fdt.parse(m.vm.read_phys(m.dtb_addr, 4096))["cpus"]
        assert {"cpu@0", "cpu@1"} <= set(cpus)
    finally:
        m.close()


def test_smp_runs_are_deterministic(smp_img):
    counts = []
    for _ in range(2):
        m = Machine(MachineConfig(image=smp_img, bios=None, smp=2, mem_size_mib=8))
        assert m.run() == 0
        counts.append([h.insns for h in m.harts])
        m.close()
    assert counts[0] == counts[1]


def test_smp_flag(smp_img):
    r = subprocess.run([sys.executable, "-m", "pyhv", "boot", "--bios", "none", "--smp", "2", smp_img],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "pyhv", "boot", "--bios", "none", "--smp", "9", smp_img],
                       capture_output=True, timeout=60)
    assert r.returncode == 2 and b"9 harts: the board has 1 to 8" in r.stderr  # a usage error
