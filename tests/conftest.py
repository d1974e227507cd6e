"""Shared fixtures: load a test program from tests/guests/ into a fresh VM.

The programs and their conventions (entry at RAM base in M-mode, label table
at 0x80000004, results area at 0x80010000) are described in
tests/guests/testguest.h.
"""

import struct
from pathlib import Path

import pytest

GUESTS = Path(__file__).parent / "guests"
RAM_BASE = 0x80000000  # PYHV_RAM_BASE, csrc/abi.h
RESULTS = 0x80010000  # RESULTS, tests/guests/testguest.h


class Programs:
    """Reads the committed test programs and boots them into VMs."""

    def image(self, name: str) -> bytes:
        return (GUESTS / f"{name}.bin").read_bytes()

    def labels(self, name: str, names: str) -> dict[str, int]:
        """The program's label table (count, then addresses) keyed by `names`."""
        image = self.image(name)
        (count,) = struct.unpack_from("<I", image, 4)
        keys = names.split()
        assert count == len(keys), f"{name}.bin has {count} labels, test expects {len(keys)}"
        return dict(zip(keys, struct.unpack_from(f"<{count}I", image, 8)))

    def boot(self, name: str, mmu: str = "pyhv", a0: int = 0, ebreak_exits: bool = True, mem_size_mib: int = 4):
        """A fresh VM with the program at RAM base; vCPU at its entry in M-mode."""
        from pyhv.vm import VM, FramePool

        vm = VM(FramePool(size_mib=64), mem_size_mib=mem_size_mib, mmu=mmu)
        vm.load(RAM_BASE, self.image(name))
        cpu = vm.cpu
        cpu.pc = RAM_BASE
        cpu.priv = 3
        cpu["a0"] = a0
        cpu.ebreak_exits = ebreak_exits
        return vm, cpu


@pytest.fixture(scope="session")
def programs() -> Programs:
    return Programs()


@pytest.fixture
def boot(programs):
    """programs.boot, closing every VM it made when the test ends."""
    vms = []

    def _boot(*args, **kwargs):
        vm, cpu = programs.boot(*args, **kwargs)
        vms.append(vm)
        return vm, cpu

    yield _boot
    for vm in vms:
        vm.close()


# Hypothesis profiles (docs/threat-model.md, how the promises are checked).  "ci", the default, is quick and derandomized: every run
# tries the same examples.  "thorough" is opt-in and random:
#     python -m pytest -m isolation --hypothesis-profile=thorough
# (the hypothesis pytest plugin loads a profile named on the command line after this file).
from hypothesis import settings as _hypothesis_settings

_hypothesis_settings.register_profile("ci", derandomize=True, max_examples=50, deadline=None, print_blob=True)
_hypothesis_settings.register_profile("thorough", derandomize=False, max_examples=2000, deadline=None, print_blob=True)
_hypothesis_settings.load_profile("ci")
