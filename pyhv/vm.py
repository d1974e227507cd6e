"""A virtual machine: guest RAM (stage 2 over the host frame pool) plus its vCPUs.

This is the hypervisor-facing object the board (pyhv.machine) builds on; tests
and notebooks use it directly to run bare guest programs:

    >>> pool = FramePool(size_mib=16)
    >>> vm = VM(pool, mem_size_mib=1)
    >>> vm.load(0x80000000, bytes.fromhex("13055000" "73001000"))   # li a0,5; ebreak
    >>> vm.cpu.pc, vm.cpu.ebreak_exits = 0x80000000, True
    >>> vm.cpu.run().reason, vm.cpu["a0"]
    ('breakpoint', 5)
"""

import unicorn

from pyhv._native import lib
from pyhv.errors import ConfigError
from pyhv.memory import PAGE_SIZE, FramePool, GuestMemory
from pyhv.vcpu import VCpu

__all__ = ["VM", "FramePool"]


class VM:
    def __init__(self, pool: FramePool, mem_size_mib: float = 16, mmu: str = "pyhv", frame_limit=None):
        if mmu not in ("pyhv", "unicorn"):
            raise ConfigError(f"unknown MMU {mmu!r} (pyhv or unicorn)")
        self.mmu = mmu
        self.memory = GuestMemory(pool, mem_size_mib, frame_limit=frame_limit)
        self.vcpus = [VCpu(self, 0)]
        self.memory.write_listeners.append(self._drop_code)
        self.memory.tlb_listeners.append(self._flush_tlbs)
        if mmu == "unicorn":
            self._map_ram_identity()

    @property
    def cpu(self) -> VCpu:
        return self.vcpus[0]

    def _map_ram_identity(self):
        """Unicorn-MMU mode: back all of RAM now and map it at its guest-physical address."""
        mem, frames = self.memory, self.memory.pool.frames
        hfns = [mem.frame(g) for g in range(mem.nframes)]
        start = 0
        for i in range(1, len(hfns) + 1):
            if i == len(hfns) or hfns[i] != hfns[i - 1] + 1:
                ptr = frames[hfns[start]].ctypes.data
                for cpu in self.vcpus:
                    cpu.uc.mem_map_ptr(mem.ram_base + start * PAGE_SIZE, (i - start) * PAGE_SIZE,
                                       unicorn.UC_PROT_ALL, ptr)
                start = i

    def _drop_code(self, hfn: int, nframes: int) -> None:
        for cpu in self.vcpus:
            cpu.invalidate_frames(hfn, nframes)

    def _flush_tlbs(self) -> None:
        for cpu in self.vcpus:
            cpu.flush_tlb()

    # ---- guest-physical memory -------------------------------------------------
    def load(self, gpa: int, data: bytes) -> None:
        """Host write of an image into guest RAM (translated code for it is dropped)."""
        self.memory.write(gpa, data)

    def read_phys(self, gpa: int, n: int) -> bytes:
        return self.memory.read(gpa, n)

    def write_phys(self, gpa: int, data: bytes) -> None:
        self.memory.write(gpa, data)

    def close(self) -> None:
        """Return every frame to the pool (scrubbed)."""
        self.memory.release_all()

    ram_base = property(lambda self: self.memory.ram_base)
    RAM_BASE = lib.PYHV_RAM_BASE
