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

import numpy as np
import unicorn

from pyhv._native import ffi, lib
from pyhv.devices.virtio_mmio import EmptySlot
from pyhv.errors import ConfigError
from pyhv.memory import PAGE_SIZE, FramePool, GuestMemory
from pyhv.vcpu import VCpu

__all__ = ["VM", "FramePool"]


class VM:
    def __init__(self, pool: FramePool, mem_size_mib: float = 16, mmu: str = "pyhv", frame_limit=None,
                 vcpus: int = 1, pmp: bool = True):
        if mmu not in ("pyhv", "unicorn"):
            raise ConfigError(f"unknown MMU {mmu!r} (pyhv or unicorn)")
        self.mmu = mmu
        # pmp: the harts implement 16 PMP entries, enforced by the C MMU (privileged spec 3.7):
        # S and U then reach only what M-mode opened.  pmp=False models a hart without PMP.
        self.pmp = pmp
        self.memory = GuestMemory(pool, mem_size_mib, frame_limit=frame_limit)
        self.devices = []  # (base, device)
        self.clint = None
        self.rom = None
        if not 1 <= vcpus <= 8:
            raise ConfigError(f"{vcpus} vCPUs: a VM has 1 to 8 (the CLINT's harts)")
        # SMP: one engine per hart over the same stage 2; the harts of one VM never run at
        # the same instant (guest atomics are not atomic across engines: engine facts §8).
        self.vcpus = [VCpu(self, i) for i in range(vcpus)]
        self.memory.write_listeners.append(self._drop_code)
        if mmu == "unicorn":
            self._map_ram_identity()
            self.memory.pinned = True  # its engine maps every frame for good: none may change hands

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

    # ---- devices -----------------------------------------------------------------
    def add_device(self, base: int, device) -> None:
        """Map a Python device (pyhv.devices.Device protocol) at guest-physical `base`.

        Its registers are served inside Unicorn's MMIO callbacks, so an access
        completes in place and the block never re-executes (engine facts §6: never stop the
        engine from a memory hook).  A device that raises is a host bug: the vCPU
        stops at the next block boundary and run() re-raises it."""
        size = -(-device.SIZE // 4096) * 4096
        for other_base, other in self.devices:
            if base < other_base + max(other.SIZE, 4096) and other_base < base + size:
                raise ConfigError(f"device {device.name} at 0x{base:x} overlaps {other.name} at 0x{other_base:x}")
        self.memory.check_window(base, size)
        for cpu in self.vcpus:
            cpu.map_device(base, device)
        self.memory.add_window(base, size, 1 | 2)  # R|W, never executable; only once the device is there
        self.devices.append((base, device))

    def add_clint(self) -> None:
        """The CLINT at PYHV_CLINT_BASE, served in C (csrc/clint.c): msip, mtimecmp, mtime."""
        self.clint = ffi.new("struct pyhv_clint *")
        self.clint.nharts = len(self.vcpus)
        for i, cpu in enumerate(self.vcpus):
            self.clint.harts[i] = cpu.c
        self.memory.add_window(lib.PYHV_CLINT_BASE, lib.PYHV_CLINT_SIZE, 1 | 2)
        for cpu in self.vcpus:
            if lib.pyhv_clint_map(self.clint, cpu.c) != 0:
                raise ConfigError("could not map the CLINT")

    def load_rom(self, data: bytes, base: int = lib.PYHV_ROM_BASE, size: int = lib.PYHV_ROM_SIZE) -> None:
        """Read + execute-only memory at `base` (the BIOS); guest stores to it are access faults."""
        if len(data) > size:
            raise ConfigError(f"ROM image of {len(data)} bytes does not fit in {size} bytes")
        self.memory.check_window(base, size)
        self.rom = np.zeros(size, dtype=np.uint8)
        self.rom[: len(data)] = np.frombuffer(bytes(data), dtype=np.uint8)
        self.memory.add_window(base, size, 1 | 4)
        for cpu in self.vcpus:
            cpu.uc.mem_map_ptr(base, size, unicorn.UC_PROT_READ | unicorn.UC_PROT_EXEC, self.rom.ctypes.data)

    def device_counters(self) -> dict:
        out = {dev.name: dict(dev.counters) for _, dev in self.devices if not isinstance(dev, EmptySlot)}
        for entry in self.cpu._mmio:  # how many accesses the C fast path answered
            if entry.device.name in out:
                out[entry.device.name].update(entry.counters())
        if self.clint is not None:
            out["clint"] = {"reads": int(self.clint.reads), "writes": int(self.clint.writes)}
        return out

    def _drop_code(self, hfn: int, nframes: int) -> None:
        for cpu in self.vcpus:
            cpu.invalidate_frames(hfn, nframes)

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
        if self.memory.pinned:  # Unicorn-MMU mode: the engines let go of RAM first
            for cpu in self.vcpus:
                for begin, end, _ in list(cpu.uc.mem_regions()):
                    if self.memory.ram_base <= begin < self.memory.ram_base + self.memory.size_bytes:
                        cpu.uc.mem_unmap(begin, end - begin + 1)
            self.memory.pinned = False
        self.memory.release_all()

    ram_base = property(lambda self: self.memory.ram_base)
    RAM_BASE = lib.PYHV_RAM_BASE
