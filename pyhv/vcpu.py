"""One virtual hart: a Unicorn rv32 engine plus the C core's hooks (csrc/).

The engine runs in UC_TLB_VIRTUAL mode with the C MMU (mmu="pyhv"), or with
Unicorn's own Sv32 walker over RAM mapped at its guest-physical address
(mmu="unicorn", for differential tests).  Registers and CSRs by name, virtual
memory access through the guest's MMU, run(budget) -> Exit, counters as data.
"""

import struct
import weakref

import unicorn
from unicorn import riscv_const as rc

from pyhv._native import ffi, lib, uc_handle
from pyhv.errors import GuestFault, PyhvError
from pyhv.exits import REASONS, Exit


ABI_NAMES = "zero ra sp gp tp t0 t1 t2 s0 s1 a0 a1 a2 a3 a4 a5 a6 a7 s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 t3 t4 t5 t6".split()
REGISTERS = {name: rc.UC_RISCV_REG_X0 + i for i, name in enumerate(ABI_NAMES)}
REGISTERS.update({f"x{i}": rc.UC_RISCV_REG_X0 + i for i in range(32)}, fp=rc.UC_RISCV_REG_X8)
CSRS = {
    name.lower(): getattr(rc, f"UC_RISCV_REG_{name}")
    for name in (
        "MSTATUS MISA MEDELEG MIDELEG MIE MTVEC MCOUNTEREN MSCRATCH MEPC MCAUSE MTVAL MIP "
        "SSTATUS SIE STVEC SCOUNTEREN SSCRATCH SEPC SCAUSE STVAL SIP SATP MHARTID"
    ).split()
    if hasattr(rc, f"UC_RISCV_REG_{name}")
}
ACCESS = {"read": lib.PYHV_ACC_READ, "write": lib.PYHV_ACC_WRITE, "fetch": lib.PYHV_ACC_FETCH}
# Unicorn's context blob: 40-byte header + CPURISCVState, badaddr at +400 (engine facts §2).
_CTX_BADADDR = 440
_pmp_off = None


def pmp_context_offset() -> int:
    """Where the engine keeps pmpaddr0/pmp0cfg in a saved context, found once per process.

    Unicorn stores the guest's csrw pmpcfg/pmpaddr but has no register IDs for them, so
    the C MMU reads them from a context (csrc/mmu.c pmp_load).  The layout is private to
    the engine build: a throw-away engine writes known values and we look for them,
    addr_reg then cfg_reg, 8 bytes per entry (QEMU's pmp_entry_t); 0 if not found."""
    global _pmp_off
    if _pmp_off is None:
        uc = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV32)
        uc.mem_map(0x1000, 0x1000)
        # csrw pmpaddr0, a1; csrw pmpaddr1, a2; csrw pmpcfg0, a3 (M-mode, nothing locked)
        code = [0x3B059073, 0x3B161073, 0x3A069073]
        uc.mem_write(0x1000, b"".join(struct.pack("<I", c) for c in code))
        addr0, addr1, cfg = 0x1234567, 0x2345678, 0x0A08  # entry 0 TOR ---, entry 1 TOR -W-
        uc.reg_write(rc.UC_RISCV_REG_A1, addr0)
        uc.reg_write(rc.UC_RISCV_REG_A2, addr1)
        uc.reg_write(rc.UC_RISCV_REG_A3, cfg)
        uc.emu_start(0x1000, 0x1000 + 4 * len(code))
        ctx = bytes(uc.context_save())
        want = struct.pack("<IBxxxIB", addr0, cfg & 0xFF, addr1, cfg >> 8)
        _pmp_off = max(ctx.find(want), 0)
    return _pmp_off


class VCpu:
    """A hart of `vm`.  Created by VM; use vm.cpu."""

    def __init__(self, vm, hart_id: int = 0):
        self.vm = vm
        self.uc = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV32)
        mode = lib.PYHV_MMU_UNICORN if vm.mmu == "unicorn" else lib.PYHV_MMU_PYHV
        if mode == lib.PYHV_MMU_PYHV:
            self.uc.ctl_set_tlb_mode(unicorn.UC_TLB_VIRTUAL)
            pool = vm.memory.pool
            self.uc.mem_map_ptr(pool.engine_base, pool.size_bytes, unicorn.UC_PROT_ALL, pool.host_address)
        self.c = ffi.new("struct pyhv_vcpu *")
        self.c.uc = ffi.cast("void *", uc_handle(self.uc))
        self.c.vm = vm.memory.c
        self.c.mmu_mode = mode
        self.c.hart_id = hart_id
        self.c.badaddr_off = _CTX_BADADDR
        if mode == lib.PYHV_MMU_PYHV and vm.pmp:
            self.c.pmp_off = pmp_context_offset()
            if not self.c.pmp_off:  # never run a guest without the PMP it was promised
                raise PyhvError(f"this Unicorn build ({unicorn.__version__}) keeps the PMP registers where "
                                "pyhv cannot find them; VM(pmp=False) runs without PMP")
            self.c.pmp.nentries = lib.PYHV_PMP_ENTRIES
        rc_ = lib.pyhv_vcpu_attach(self.c)
        if rc_ != 0:
            raise PyhvError(f"could not attach the C core to the engine (step {-rc_})")
        vm.memory.harts[hart_id] = vm.memory.c.harts[hart_id] = self.c  # reached by other harts' fills (mmu.c)
        weakref.finalize(self, lib.pyhv_vcpu_release, self.c)  # the C table of translated blocks
        self._device_error = None
        self._mmio = []  # keeps the windows (and their handles) alive
        # mhartid reads 0 on every engine (Unicorn has one CPU per engine and drops writes to
        # it): a hart learns its id from a0 at reset, the QEMU/OpenSBI convention pyhv follows.
        self.hart_id = hart_id
        self.sleeping = False  # in wfi with nothing pending (SMP scheduling inside a Machine)

    @property
    def pmp(self):
        """This hart's PMP registers as the engine holds them (an mmu.PMP; empty without PMP)."""
        from pyhv.mmu import PMP

        if not self.c.pmp_off:
            return PMP()
        ctx, off = bytes(self.uc.context_save()), int(self.c.pmp_off)  # the layout C reads (mmu.c pmp_load)
        entries = [struct.unpack_from("<IB", ctx, off + 8 * i) for i in range(lib.PYHV_PMP_ENTRIES)]
        return PMP(tuple(cfg for _, cfg in entries), tuple(addr for addr, _ in entries))

    # ---- registers ---------------------------------------------------------
    def __getitem__(self, name: str) -> int:
        if name == "pc":
            return self.uc.reg_read(rc.UC_RISCV_REG_PC)
        if name == "priv":
            return self.uc.reg_read(rc.UC_RISCV_REG_PRIV)
        if name in REGISTERS:
            return self.uc.reg_read(REGISTERS[name]) & 0xFFFFFFFF
        if name in CSRS:
            out = ffi.new("uint32_t *")
            lib.pyhv_vcpu_csr_read(self.c, CSRS[name], out)
            return int(out[0])
        raise KeyError(f"unknown register {name!r}")

    def __setitem__(self, name: str, value: int) -> None:
        value = int(value) & 0xFFFFFFFF
        if name == "pc":
            self.uc.reg_write(rc.UC_RISCV_REG_PC, value)
        elif name == "priv":
            if value not in (0, 1, 3):
                raise ValueError("priv must be 0 (U), 1 (S) or 3 (M)")
            self.uc.reg_write(rc.UC_RISCV_REG_PRIV, value)
        elif name in REGISTERS:
            if name not in ("zero", "x0"):
                self.uc.reg_write(REGISTERS[name], value)
        elif name in CSRS:
            lib.pyhv_vcpu_csr_write(self.c, CSRS[name], value)
        else:
            raise KeyError(f"unknown register {name!r}")

    pc = property(lambda self: self["pc"], lambda self, v: self.__setitem__("pc", v))
    priv = property(lambda self: self["priv"], lambda self, v: self.__setitem__("priv", v))

    def regs(self) -> dict:
        """All 32 GPRs by ABI name, plus pc and priv."""
        out = {name: self[name] for name in ABI_NAMES}
        out.update(pc=self.pc, priv=self.priv)
        return out

    # ---- running -----------------------------------------------------------
    @property
    def ebreak_exits(self) -> bool:
        return bool(self.c.ebreak_exits)

    @ebreak_exits.setter
    def ebreak_exits(self, value: bool) -> None:
        self.c.ebreak_exits = 1 if value else 0

    def run(self, budget_insns: int = 10_000_000) -> Exit:
        """Run until about budget_insns more instructions have run or the host must act."""
        if budget_insns < 0:
            raise ValueError("budget_insns must be >= 0")
        reason = lib.pyhv_vcpu_run(self.c, budget_insns)
        # A Python hook added straight to self.uc: Unicorn's binding keeps its exception
        # and stops the engine, but only its own emu_start re-raises it; ours is in C.
        hook_error = getattr(self.uc, "_hook_exception", None)
        if hook_error is not None and self._device_error is None:
            self.uc._hook_exception = None
            self._device_error = hook_error
        if self._device_error is not None:
            error, self._device_error = self._device_error, None
            raise error
        message = ffi.string(self.c.message).decode(errors="replace")
        return Exit(REASONS.get(reason, str(reason)), int(self.c.exit_pc), message)

    def step(self) -> Exit:
        """Run one translated block (the finest grain the block hook sees)."""
        return self.run(1)

    def request_exit(self, reason: str = "host") -> None:
        """Ask the running vCPU to stop at its next block boundary (thread-safe)."""
        from pyhv.exits import CODES

        lib.pyhv_vcpu_request_exit(self.c, CODES[reason])

    def stop(self, reason: str = "host") -> None:
        """The wall-clock backstop, from any thread: request_exit, and also stop the engine
        itself, so run() returns whatever the guest executes.  Repeat it until run() has
        returned (a kick that lands just before the engine starts is lost).  A run that is
        never stopped keeps its exact instruction counts."""
        from pyhv.exits import CODES

        lib.pyhv_vcpu_stop(self.c, CODES[reason])

    @property
    def insns(self) -> int:
        return int(self.c.insns)

    # ---- time and interrupts ------------------------------------------------
    @property
    def mtime(self) -> int:
        return int(lib.pyhv_vcpu_mtime(self.c))

    @property
    def mtimecmp(self) -> int:
        return int(self.c.mtimecmp)

    @mtimecmp.setter
    def mtimecmp(self, value: int) -> None:
        lib.pyhv_vcpu_set_mtimecmp(self.c, int(value) & 0xFFFFFFFFFFFFFFFF)

    def advance_idle(self, ticks: int) -> None:
        """Let virtual time pass while the hart idles (wfi): mtime += ticks."""
        lib.pyhv_vcpu_advance_idle(self.c, int(ticks))

    def set_irq(self, bit: int, level: bool) -> None:
        """Drive an interrupt line: 3 MSIP, 7 MTIP, 11 MEIP (kept by pyhv), 1 SSIP, 5 STIP, 9 SEIP (engine mip)."""
        if bit not in (1, 3, 5, 7, 9, 11):
            raise ValueError(f"no interrupt line {bit}")
        lib.pyhv_vcpu_set_irq(self.c, bit, 1 if level else 0)

    @property
    def irq_pending(self) -> bool:
        """True if wfi would wake now: some interrupt pending and enabled in mie."""
        return bool(lib.pyhv_vcpu_irq_pending(self.c))

    # ---- memory through the guest's MMU ----------------------------------------
    def translate(self, vaddr: int, access: str = "read") -> int:
        """Guest-physical address of vaddr for the hart's current privilege and satp."""
        out = ffi.new("uint64_t *")
        rc_ = lib.pyhv_vcpu_translate(self.c, vaddr & 0xFFFFFFFF, ACCESS[access], out)
        if rc_ < 0:
            cause = -rc_ - 1
            raise GuestFault(f"{access} of 0x{vaddr:08x} faults with cause {cause}", cause)
        return int(out[0])

    def read_virt(self, vaddr: int, n: int) -> bytes:
        out = bytearray()
        while n > 0:
            chunk = min(n, 4096 - (vaddr & 0xFFF))
            out += self.vm.read_phys(self.translate(vaddr, "read"), chunk)
            vaddr, n = vaddr + chunk, n - chunk
        return bytes(out)

    def write_virt(self, vaddr: int, data: bytes) -> None:
        data = bytes(data)
        pos = 0
        while pos < len(data):
            chunk = min(len(data) - pos, 4096 - (vaddr & 0xFFF))
            self.vm.write_phys(self.translate(vaddr, "write"), data[pos : pos + chunk])
            vaddr, pos = vaddr + chunk, pos + chunk

    # ---- devices --------------------------------------------------------------------
    def map_device(self, base: int, device) -> None:
        """Serve [base, base + device.SIZE) with the device's read/write inside the MMIO callback
        (csrc/mmio.c), its FAST_STATUS register, if any, from a cache in C."""
        window = ffi.new("struct pyhv_mmio_py *")
        entry = _MmioEntry(self, device, window)
        window.handle = entry.handle
        if device.FAST_STATUS is not None:
            window.fast_offset, window.fast_slow_bits = device.FAST_STATUS
            device.status_watchers.append(entry.refresh)
            entry.refresh()
        size = -(-device.SIZE // 4096) * 4096  # Unicorn maps whole pages; the rest reads as unmapped registers
        if lib.pyhv_mmio_map_py(self.c, base, size, window) != 0:
            raise PyhvError(f"could not map device {device.name} at 0x{base:08x}")
        self._mmio.append(entry)

    def hook_add(self, kind: int, callback, *args) -> None:
        """A Python Unicorn hook (debugging, tracing) whose exceptions stop the vCPU at the
        next block boundary and are re-raised by run(), as a device's are."""

        def guarded(uc, *hook_args):
            try:
                return callback(uc, *hook_args)
            except BaseException as e:
                self.fail(e)

        self.uc.hook_add(kind, guarded, *args)

    def fail(self, error: BaseException, device=None) -> None:
        """An exception inside an engine callback (MMIO or hook): callbacks return into C,
        which cannot unwind Python, so it is kept, the engine stops at the next block
        boundary, and run() raises it.  A signal's exception (KeyboardInterrupt, a
        pyhv.errors.Signalled) is raised as it is; a device's bug names the device."""
        if self._device_error is None:
            if isinstance(error, Exception) and device is not None:
                self._device_error = PyhvError(f"device {device.name} failed: {error!r}")
                self._device_error.__cause__ = error
            else:
                self._device_error = error
        self.request_exit("host")

    # ---- engine caches -----------------------------------------------------------
    def invalidate_frames(self, hfn: int, nframes: int = 1) -> None:
        lib.pyhv_vcpu_invalidate(self.c, hfn, nframes)

    def flush_tlb(self) -> None:
        lib.pyhv_vcpu_flush_tlb(self.c)

    # ---- counters ----------------------------------------------------------------
    @property
    def counters(self) -> dict:
        c = self.c.counters
        return {
            "exits": {REASONS[i]: int(c[lib.PYHV_CNT_EXIT + i]) for i in range(1, lib.PYHV_EXIT_KINDS)},
            "exceptions": {i: int(c[lib.PYHV_CNT_EXC + i]) for i in range(16) if c[lib.PYHV_CNT_EXC + i]},
            "interrupts": {i: int(c[lib.PYHV_CNT_IRQ + i]) for i in range(16) if c[lib.PYHV_CNT_IRQ + i]},
            "tlb_fills": int(c[lib.PYHV_CNT_TLB_FILL]),
            "tlb_faults": int(c[lib.PYHV_CNT_TLB_FAULT]),
            "demand_zero_frames": int(c[lib.PYHV_CNT_DEMAND_ZERO]),
            "counter_reads": int(c[lib.PYHV_CNT_RDTIME]),
            "wfi": int(c[lib.PYHV_CNT_WFI]),
            "engine_entries": int(c[lib.PYHV_CNT_EMU_START]),
            "tlb_flushes": int(c[lib.PYHV_CNT_TLB_FLUSH]),
            "tb_invalidated_pages": int(c[lib.PYHV_CNT_TB_INVAL]),
            "insns": self.insns,
        }


class _MmioEntry:
    """One Python device mapped into one engine: what the C callbacks reach through `handle`."""

    def __init__(self, cpu: VCpu, device, window):
        self.cpu, self.device, self.window = cpu, device, window
        self.handle = ffi.new_handle(self)

    def refresh(self) -> None:
        value = self.device.fast_status()
        self.window.fast_valid = 0
        if value is not None:
            self.window.fast_value = value
            self.window.fast_valid = 1

    def counters(self) -> dict:
        w = self.window
        return {"fast_reads": int(w.fast_reads), "slow_reads": int(w.slow_reads), "writes": int(w.writes)}


def _mmio_onerror(exc_type, error, tb):
    """cffi's last resort, for an exception raised where the callbacks' own handlers cannot
    see it (a signal arriving between two of their bytecodes): the callback's frame still
    holds its handle, so the vCPU is stopped all the same (cffi: "def_extern onerror")."""
    frame = tb.tb_frame if tb is not None else None
    handle = frame.f_locals.get("handle") if frame is not None else None
    if handle is not None:
        entry = ffi.from_handle(handle)
        entry.cpu.fail(error, entry.device)
    return None


@ffi.def_extern(onerror=_mmio_onerror)
def pyhv_py_mmio_read(handle, offset, size):
    entry = ffi.from_handle(handle)
    try:
        value = entry.device.read(offset, size)
        if entry.device.FAST_STATUS is not None:
            entry.refresh()
        return value
    except BaseException as e:  # a host bug or a signal: stop cleanly, re-raise from run()
        entry.cpu.fail(e, entry.device)
        return 0


@ffi.def_extern(onerror=_mmio_onerror)
def pyhv_py_mmio_write(handle, offset, size, value):
    entry = ffi.from_handle(handle)
    try:
        entry.device.write(offset, size, value)
        if entry.device.FAST_STATUS is not None:
            entry.refresh()
    except BaseException as e:
        entry.cpu.fail(e, entry.device)
