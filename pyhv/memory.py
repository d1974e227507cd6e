"""Host memory: the frame pool every VM draws from, and each VM's stage-2 table.

FramePool is one page-aligned anonymous mmap of 4 KiB frames (numpy view), mapped
once into every vCPU engine at ENGINE_POOL_BASE.  GuestMemory is one VM's
guest-physical RAM: a numpy stage-2 table (guest frame -> host frame | flags)
filled on first touch (demand-zero) by the C MMU or by host writes.  The
isolation invariant lives here: a VM's table only names frames the VM owns.
"""

import mmap

import numpy as np

from pyhv._native import ffi, lib
from pyhv.errors import ConfigError, DmaError, OutOfMemory

PAGE_SIZE = 4096
PAGE_SHIFT = 12
# Where the pool sits in each engine's physical space.  Unicorn's rv32 model
# truncates physical addresses to 32 bits (measured: a pool mapped at 4 GiB is
# unreachable), so the pool lives above the MMIO windows and below 4 GiB; guest
# RAM at 0x8000_0000 is reached only through stage 2, never at that address.
ENGINE_POOL_BASE = 0x2000_0000
POOL_MAX_BYTES = 0x1_0000_0000 - ENGINE_POOL_BASE

S2_V, S2_R, S2_W, S2_X, S2_COW = lib.PYHV_S2_V, lib.PYHV_S2_R, lib.PYHV_S2_W, lib.PYHV_S2_X, lib.PYHV_S2_COW
S2_RWX = S2_V | S2_R | S2_W | S2_X


class FramePool:
    """The host's RAM as 4 KiB frames; owner[hfn] is the VM id holding it, or -1."""

    def __init__(self, size_mib: int = 256):
        size = int(size_mib) * 1024 * 1024
        if size <= 0 or size > POOL_MAX_BYTES or size % PAGE_SIZE:
            raise ConfigError(f"frame pool size {size_mib} MiB is out of range (1..{POOL_MAX_BYTES >> 20} MiB)")
        self.size_bytes = size
        self.nframes = size // PAGE_SIZE
        self._mmap = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        self.frames = np.frombuffer(self._mmap, dtype=np.uint8).reshape(self.nframes, PAGE_SIZE)
        self.free_stack = np.arange(self.nframes - 1, -1, -1, dtype=np.uint32)
        self.owner = np.full(self.nframes, lib.PYHV_OWNER_FREE, dtype=np.int32)
        self.refs = np.zeros(self.nframes, dtype=np.uint32)
        self.engine_base = ENGINE_POOL_BASE
        self.c = ffi.new("struct pyhv_pool *")
        self.c.mem = ffi.cast("uint8_t *", ffi.from_buffer(self.frames))
        self.c.nframes = self.nframes
        self.c.uc_base = ENGINE_POOL_BASE
        self.c.free_stack = ffi.cast("uint32_t *", ffi.from_buffer(self.free_stack))
        self.c.nfree = self.nframes
        self.c.owner = ffi.cast("int32_t *", ffi.from_buffer(self.owner))
        self.c.refs = ffi.cast("uint32_t *", ffi.from_buffer(self.refs))
        lib.pyhv_pool_init(self.c)
        self._next_vm_id = 0

    @property
    def host_address(self) -> int:
        return int(ffi.cast("uintptr_t", self.c.mem))

    @property
    def frames_free(self) -> int:
        return int(self.c.nfree)

    def new_vm_id(self) -> int:
        self._next_vm_id += 1
        return self._next_vm_id

    def alloc(self, owner: int) -> int:
        hfn = lib.pyhv_pool_alloc(self.c, owner)
        if hfn < 0:
            raise OutOfMemory(f"host frame pool exhausted ({self.nframes} frames of 4 KiB)")
        return int(hfn)

    def free(self, hfn: int) -> None:
        """Drop one reference to hfn; the last one scrubs it and returns it to the pool."""
        if lib.pyhv_pool_free(self.c, hfn) != 0:
            raise ValueError(f"frame {hfn} is not allocated")

    def share(self, hfn: int) -> None:
        """One more read-only (copy-on-write) reference to hfn."""
        if lib.pyhv_pool_share(self.c, hfn) != 0:
            raise ValueError(f"frame {hfn} is not allocated")


class GuestMemory:
    """One VM's guest-physical RAM at ram_base: stage-2 table + identity windows."""

    def __init__(self, pool: FramePool, mem_size_mib: int, ram_base: int = lib.PYHV_RAM_BASE, frame_limit=None):
        size = int(mem_size_mib * 1024 * 1024)
        if size < PAGE_SIZE or size % PAGE_SIZE or size > lib.PYHV_RAM_MAX_SIZE:
            raise ConfigError(f"guest RAM size {mem_size_mib} MiB is out of range (4 KiB .. 2 GiB, whole pages)")
        self.pool = pool
        self.id = pool.new_vm_id()
        self.ram_base = ram_base
        self.size_bytes = size
        self.nframes = size // PAGE_SIZE
        self.s2 = np.zeros(self.nframes, dtype=np.uint32)
        self.c = ffi.new("struct pyhv_vm *")
        self.c.pool = pool.c
        self.c.id = self.id
        self.c.ram_base = ram_base
        self.c.ram_frames = self.nframes
        self.c.s2 = ffi.cast("uint32_t *", ffi.from_buffer(self.s2))
        self.c.frame_limit = self.nframes if frame_limit is None else int(frame_limit)
        # Per guest frame, a bit per hart: who may hold translated code from it and
        # writable TLB entries for it (csrc/mmu.c code_coherence keeps them).
        self.code_harts = np.zeros(self.nframes, dtype=np.uint8)
        self.write_harts = np.zeros(self.nframes, dtype=np.uint8)
        self.alias_harts = np.zeros(self.nframes, dtype=np.uint8)
        self.c.code_harts = ffi.cast("uint8_t *", ffi.from_buffer(self.code_harts))
        self.c.write_harts = ffi.cast("uint8_t *", ffi.from_buffer(self.write_harts))
        self.c.alias_harts = ffi.cast("uint8_t *", ffi.from_buffer(self.alias_harts))
        self.harts = {}  # hart id -> its struct pyhv_vcpu, alive as long as c.harts names it
        self.pinned = False  # frames fixed for good (Unicorn-MMU mode maps them into the engine once)
        self.write_listeners = []  # callables(hfn, nframes): drop translated code

    # ---- stage 2 -------------------------------------------------------
    def _check_unpinned(self) -> None:
        if self.pinned:
            raise ConfigError("this VM's frames are pinned (Unicorn-MMU mode): they cannot be released, shared or moved")

    def check_window(self, base: int, size: int) -> None:
        """A device or ROM window must not cover RAM, the pool's engine addresses, or another window."""
        lo, hi = self.pool.engine_base, self.pool.engine_base + self.pool.size_bytes
        if base < hi and lo < base + size:
            raise ConfigError(f"window 0x{base:x}+0x{size:x} overlaps the frame pool's engine addresses")
        if base < self.ram_base + self.size_bytes and self.ram_base < base + size:
            raise ConfigError(f"window 0x{base:x}+0x{size:x} overlaps guest RAM")
        for i in range(self.c.nwindows):
            w = self.c.windows[i]
            if base < w.base + w.size and w.base < base + size:
                raise ConfigError(f"window 0x{base:x}+0x{size:x} overlaps the window at 0x{w.base:x}")

    def add_window(self, base: int, size: int, perms: int) -> None:
        """Identity-map [base, base+size) of guest-physical space (ROM, MMIO)."""
        self.check_window(base, size)
        n = self.c.nwindows
        if n >= lib.PYHV_MAX_WINDOWS:
            raise ConfigError("too many device windows")
        self.c.windows[n].base, self.c.windows[n].size, self.c.windows[n].perms = base, size, perms
        self.c.nwindows = n + 1

    @property
    def frames_owned(self) -> int:
        return int(self.c.frames_owned)

    def frame(self, gfn: int, allocate: bool = True, write: bool = False):
        """Host frame number backing guest frame gfn (allocated zero on demand), or None.

        With write=True a shared (copy-on-write) frame is first copied, as a guest
        store would do, so a host write (DMA, loader) never reaches another VM (the
        C stage 2 also shoots down the VM's TLBs, csrc/mmu.c)."""
        e = int(self.s2[gfn])
        if e & S2_V and not (write and e & S2_COW):
            return e >> PAGE_SHIFT
        if e & S2_V:
            hfn, perms = ffi.new("uint32_t *"), ffi.new("uint32_t *")
            gpa = self.ram_base + (gfn << PAGE_SHIFT)
            if lib.pyhv_vm_s2_lookup(self.c, gpa, lib.PYHV_ACC_WRITE, 1, hfn, perms) != 0:
                raise OutOfMemory(f"host frame pool exhausted while copying a shared frame of VM {self.id}")
            return int(hfn[0])
        if not allocate:
            return None
        if self.c.frames_owned >= self.c.frame_limit:
            raise OutOfMemory(f"VM {self.id} reached its limit of {int(self.c.frame_limit)} frames")
        hfn = self.pool.alloc(self.id)
        self.s2[gfn] = (hfn << PAGE_SHIFT) | S2_RWX
        self.c.frames_owned += 1
        return hfn

    def s2_changed(self) -> None:
        """A stage-2 entry lost its frame or a permission: returns once no vCPU of this VM can
        use a translation made before (TLB shootdown, csrc/mmu.c pyhv_vm_s2_changed).  Only
        then may the frame it named change hands."""
        lib.pyhv_vm_s2_changed(self.c)

    def release(self, gfn: int) -> None:
        """Give guest frame gfn back to the pool (scrubbed); the next touch is demand-zero."""
        self._check_unpinned()
        hfn = self.frame(gfn, allocate=False)
        if hfn is None:
            return
        for drop in self.write_listeners:
            drop(hfn, 1)  # its translated code goes with it (frames are reused)
        self.s2[gfn] = 0
        self._forget_code(gfn)
        self.c.frames_owned -= 1
        self.s2_changed()
        self.pool.free(hfn)

    def share_into(self, other: "GuestMemory", gfn: int, other_gfn: int) -> None:
        """Page sharing (KSM): other's guest frame other_gfn becomes this VM's frame gfn,
        both mapped read-only; the first write to either side gets a private copy.
        The caller has checked the contents are equal (or wants other to see them)."""
        self._check_unpinned()
        other._check_unpinned()
        if other.pool is not self.pool:
            raise ValueError("VMs on different pools cannot share frames")
        hfn = self.frame(gfn)
        if other is self and other_gfn == gfn:
            return
        if other.frame(other_gfn, allocate=False) is not None:
            other.release(other_gfn)
        self.pool.share(hfn)
        cow = (hfn << PAGE_SHIFT) | S2_V | S2_R | S2_X | S2_COW
        self.s2[gfn] = cow
        self.s2_changed()  # no writable TLB entry outlives the downgrade before the other VM sees the frame
        other.s2[other_gfn] = cow
        other.c.frames_owned += 1

    def remap(self, src_gfn: int, dst_gfn: int) -> None:
        """Move the frame behind guest frame src_gfn to dst_gfn (src becomes untouched RAM)."""
        self._check_unpinned()
        if src_gfn == dst_gfn:
            return
        if self.frame(dst_gfn, allocate=False) is not None:
            self.release(dst_gfn)
        self.s2[dst_gfn], self.s2[src_gfn] = self.s2[src_gfn], 0
        for harts in (self.code_harts, self.write_harts, self.alias_harts):  # they follow the frame
            harts[dst_gfn], harts[src_gfn] = harts[src_gfn], 0
        self.s2_changed()

    def _forget_code(self, gfn: int) -> None:
        """Guest frame gfn no longer has its frame: no hart holds code or entries for it."""
        self.code_harts[gfn] = self.write_harts[gfn] = self.alias_harts[gfn] = 0

    def release_all(self) -> None:
        for gfn in np.flatnonzero(self.s2 & S2_V):
            self.release(int(gfn))

    # ---- host-side access by guest-physical address ----------------------
    def _spans(self, gpa: int, n: int):
        if n < 0 or gpa < self.ram_base or gpa + n > self.ram_base + self.size_bytes:
            raise DmaError(f"guest-physical range 0x{gpa:x}+{n} is outside RAM")
        off = gpa - self.ram_base
        while n > 0:
            chunk = min(n, PAGE_SIZE - (off & (PAGE_SIZE - 1)))
            yield off >> PAGE_SHIFT, off & (PAGE_SIZE - 1), chunk
            off += chunk
            n -= chunk

    def read(self, gpa: int, n: int) -> bytes:
        out = bytearray()
        for gfn, off, chunk in self._spans(gpa, n):
            hfn = self.frame(gfn, allocate=False)
            out += bytes(chunk) if hfn is None else self.pool.frames[hfn, off : off + chunk].tobytes()
        return bytes(out)

    def write(self, gpa: int, data: bytes) -> None:
        data = memoryview(bytes(data))
        pos = 0
        for gfn, off, chunk in self._spans(gpa, len(data)):
            hfn = self.frame(gfn, write=True)
            self.pool.frames[hfn, off : off + chunk] = np.frombuffer(data[pos : pos + chunk], dtype=np.uint8)
            pos += chunk
            for drop in self.write_listeners:
                drop(hfn, 1)
            self.code_harts[gfn] = 0  # every hart dropped it

    def read32(self, gpa: int):
        """For the Python MMU twin: a word of RAM, or None outside RAM."""
        if gpa < self.ram_base or gpa + 4 > self.ram_base + self.size_bytes:
            return None
        return int.from_bytes(self.read(gpa, 4), "little")

    def write32(self, gpa: int, value: int) -> None:
        self.write(gpa, int(value & 0xFFFFFFFF).to_bytes(4, "little"))
