"""The pyhv "virt" board: QEMU virt's memory map (csrc/abi.h) populated with devices,
the BIOS in ROM, a device tree in RAM, and the run loop that handles vCPU exits.

    Machine(MachineConfig(image="guests/hello.img")).run()  -> exit status

Exit status follows `pyhv boot`: finisher pass 0, finisher fail N -> N (0 -> 1),
guest fatal error 1, --max-insns / --timeout 124.
"""

import contextlib
import os
import select
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pyhv import data, fdt
from pyhv._native import lib
from pyhv.console import Console
from pyhv.devices.finisher import Finisher
from pyhv.devices.plic import PLIC
from pyhv.devices.uart16550 import UART16550
from pyhv.devices.virtio_balloon import VirtioBalloon
from pyhv.devices.virtio_blk import DiskBackend, VirtioBlk
from pyhv.devices.virtio_mmio import EmptySlot
from pyhv.errors import ConfigError, ImageError, Signalled
from pyhv.image import read_header
from pyhv.memory import FramePool
from pyhv.vm import VM

DEFAULT_BIOS = data.path("bios.bin")  # firmware/bios.bin, shipped as package data
SLICE_INSNS = 2_000_000  # instructions per vCPU run between host checks (20 ms of virtual time)
SMP_QUANTUM = 20_000  # instructions one hart runs before the next hart of the VM gets its turn
# While a device has deferred work (a virtio queue longer than one notify's budget): instructions the guest runs
# between two service points.  Counted in instructions, so where the work happens is deterministic.
DEVICE_SERVICE_INSNS = 10_000
MTIME_NEVER = (1 << 64) - 1
EXIT_TIMEOUT = 124
KICK_S = 0.02  # how often a wall-clock stop is repeated until the vCPU has returned


@dataclass
class MachineConfig:
    """A board configuration; field names carry units (Firecracker style)."""

    image: str | None = None  # boot disk (virtio slot 0)
    drives: list = field(default_factory=list)  # more disks, slots 1..
    balloon: bool = False  # a virtio-balloon in the first slot after the disks
    mem_size_mib: int = 128
    mem_limit_mib: int | None = None  # host frames this VM may hold (None: its RAM size)
    smp: int = 1  # harts; they share RAM and run interleaved on the calling thread
    bios: str | None = str(DEFAULT_BIOS)  # None: no firmware, the kernel starts in M-mode (QEMU -bios none)
    snapshot: bool = False  # disk writes go to a throw-away overlay
    bootargs: str = ""
    no_reboot: bool = False
    max_insns: int | None = None
    timeout_s: float | None = None
    trace: set = field(default_factory=set)  # -d items
    log = None  # file object for -d output (default stderr)


class Machine:
    def __init__(self, config: MachineConfig, console: Console | None = None, pool: FramePool | None = None):
        self.config = config
        self.console = console if console is not None else Console(output=None)
        self.log = config.log or sys.stderr
        if not 1 <= config.mem_size_mib <= lib.PYHV_RAM_MAX_SIZE >> 20:
            raise ConfigError(f"memory size {config.mem_size_mib} MiB is out of range (1 MiB .. 2 GiB)")
        disks = ([config.image] if config.image else []) + list(config.drives)
        if len(disks) + config.balloon > lib.PYHV_VIRTIO_SLOTS:
            raise ConfigError(f"at most {lib.PYHV_VIRTIO_SLOTS - config.balloon} disks")
        self.backends = []  # each holds its image's lock (pyhv/imagelock.py) until close()
        try:
            for path in disks:
                self.backends.append(DiskBackend(path, snapshot=config.snapshot))
            if config.bios is None and config.image:
                self.boot_header = read_header(config.image)  # checked here: there is no BIOS to complain
            self.bios = self._read_bios(config.bios)
            self.pool = pool or FramePool(size_mib=config.mem_size_mib + 16)
            self.resets = 0
            self.last_exit = None
            # callable(machine) -> True (memory is back: retry now), None (reclaim under way: retry
            # soon) or False (give up: the VM stops with a clear message).  pyhv.host sets it.
            self.on_oom = None
            self.stopping = False  # stop() was called during this step(): return at once
            self._build()
        except BaseException:
            # a board that cannot be built gives back what it took: frames, and the images it
            # locked (a refused lock included)
            self.close()
            raise

    @staticmethod
    def _read_bios(path):
        if path is None:
            return None
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise ImageError(f"cannot read BIOS {path}: {e.strerror}") from None
        if not data or len(data) > lib.PYHV_ROM_SIZE:
            raise ImageError(f"BIOS {path} is {len(data)} bytes; the ROM holds 1..{lib.PYHV_ROM_SIZE}")
        return data

    # ---- building the board -----------------------------------------------------
    def _build(self) -> None:
        cfg = self.config
        limit = None if cfg.mem_limit_mib is None else cfg.mem_limit_mib * 256
        self.vm = vm = VM(self.pool, mem_size_mib=cfg.mem_size_mib, frame_limit=limit, vcpus=cfg.smp)
        self.harts = vm.vcpus
        cpu = self.cpu = vm.cpu
        vm.add_clint()
        ctx_irq = []  # PLIC context 2h drives hart h's MEIP, 2h+1 its SEIP
        for hart in self.harts:
            ctx_irq += [lambda level, h=hart: h.set_irq(11, level), lambda level, h=hart: h.set_irq(9, level)]
        self.plic = PLIC(n_harts=cfg.smp, ctx_irq=ctx_irq)
        self.uart = UART16550(tx=self.console.write, irq=lambda level: self.plic.set_source(lib.PYHV_IRQ_UART0, level),
                              line=self.console)
        self.console.input_listeners[:] = [self.uart.status_changed]  # the LSR cache must look again
        self.finisher = Finisher(on_request=self._on_finisher)
        self.request = None
        vm.add_device(lib.PYHV_FINISHER_BASE, self.finisher)
        vm.add_device(lib.PYHV_PLIC_BASE, self.plic)
        vm.add_device(lib.PYHV_UART0_BASE, self.uart)
        self.disks = []
        for n, backend in enumerate(self.backends):
            irq = lib.PYHV_IRQ_VIRTIO0 + n
            blk = VirtioBlk(backend, vm.memory, irq=lambda level, irq=irq: self.plic.set_source(irq, level),
                            name=f"virtio-blk{n}")
            vm.add_device(lib.PYHV_VIRTIO0_BASE + n * lib.PYHV_VIRTIO_STRIDE, blk)
            self.disks.append(blk)
        self.balloon = None
        if cfg.balloon:
            slot = len(self.backends)
            irq = lib.PYHV_IRQ_VIRTIO0 + slot
            self.balloon = VirtioBalloon(vm.memory, irq=lambda level: self.plic.set_source(irq, level))
            vm.add_device(lib.PYHV_VIRTIO0_BASE + slot * lib.PYHV_VIRTIO_STRIDE, self.balloon)
        for n in range(len(self.backends) + cfg.balloon, lib.PYHV_VIRTIO_SLOTS):
            vm.add_device(lib.PYHV_VIRTIO0_BASE + n * lib.PYHV_VIRTIO_STRIDE, EmptySlot())
        self.busy_devices = []  # devices with deferred work, in the order they asked (see service_devices)
        for _, dev in vm.devices:
            dev.on_guest_error = self._guest_error
            dev.on_work = self._device_has_work
        self.tracer = None
        if cfg.trace & {"int", "mmu", "in_asm"}:
            from pyhv.trace import Tracer

            self.tracer = Tracer(cpu, cfg.trace, self.log)
        ram_end = lib.PYHV_RAM_BASE + cfg.mem_size_mib * 1024 * 1024
        self.dtb_addr = ram_end - lib.PYHV_DTB_MAX
        dtb = fdt.virt_dtb(
            lib.PYHV_RAM_BASE, cfg.mem_size_mib * 1024 * 1024, cfg.smp, cfg.bootargs, lib.PYHV_VIRTIO_SLOTS,
            timebase_hz=lib.PYHV_TIMEBASE_HZ,
            reservations=[(lib.PYHV_RAM_BASE, lib.PYHV_FW_RESERVED), (self.dtb_addr, lib.PYHV_DTB_MAX)],
        )
        vm.write_phys(self.dtb_addr, dtb)
        for hart in self.harts:  # reset: a0 = hartid, a1 = the DTB (QEMU virt's reset vector does the same)
            hart["a0"], hart["a1"] = hart.hart_id, self.dtb_addr
            hart.priv = 3
        if self.bios is not None:
            vm.load_rom(self.bios)
            for hart in self.harts:
                hart.pc = lib.PYHV_ROM_BASE
        else:
            self._load_kernel_directly()

    def _load_kernel_directly(self) -> None:
        """--bios none: pyhv does the BIOS's loading and starts the kernel in M-mode (QEMU -bios none)."""
        if not self.config.image:
            raise ConfigError("--bios none needs an image to boot")
        h = self.boot_header
        with open(self.config.image, "rb") as f:
            f.seek(h.kernel_offset)
            kernel = f.read(h.kernel_size)
        ram_end = lib.PYHV_RAM_BASE + self.config.mem_size_mib * 1024 * 1024
        if h.load_addr < lib.PYHV_RAM_BASE or h.load_addr + len(kernel) > self.dtb_addr:
            raise ImageError(f"{self.config.image}: kernel does not fit in RAM below 0x{min(ram_end, self.dtb_addr):x}")
        self.vm.load(h.load_addr, kernel)
        for hart in self.harts:
            hart.pc = h.entry

    def _on_finisher(self, kind: str, code: int) -> None:
        self.request = (kind, code)
        for hart in self.harts:  # whichever hart wrote it is the one running
            hart.request_exit("shutdown")

    def _device_has_work(self, dev) -> None:
        """A device deferred work (pyhv.devices.Device.on_work): end the slice at the next block boundary, and
        serve it from the run loop every DEVICE_SERVICE_INSNS instructions (or at once if the harts sleep)."""
        if dev not in self.busy_devices:
            self.busy_devices.append(dev)
        for hart in self.harts:
            hart.request_exit("host")

    def service_devices(self) -> None:
        """One budget of deferred work for each busy device (each bounds its own, e.g. virtio_mmio.SERVICE_BUDGET)."""
        self.busy_devices = [dev for dev in self.busy_devices if dev.service()]

    def _guest_error(self, message: str) -> None:
        if "guest_errors" in self.config.trace:
            print(f"pyhv: guest error: {message}", file=self.log)

    def reset(self) -> None:
        """System reset (finisher 0x7777, SBI SRST reboot): a fresh board, the same disks."""
        self.vm.close()
        self.resets += 1
        self._build()

    # ---- running --------------------------------------------------------------------
    def _feed_uart(self, idle: bool = False) -> None:
        """Push waiting input to a driver that takes it by interrupt (or a hart that sleeps).
        A polling driver pulls it itself when it reads the UART."""
        if idle or self.uart.rx_interrupts_enabled():
            self.uart.pull()

    def _sleep(self, ticks) -> bool:
        """The hart sleeps in wfi, its timer `ticks` away (None: not armed).  Let the time
        pass, or wait for input.  Returns False if nothing can ever wake it."""
        console = self.console
        if not console.at_eof and self.uart.wants_rx():
            # Input may still come: let virtual time pass at wall-clock pace while waiting,
            # so timers and typing interleave as a user expects.  Input already queued
            # (a pipe or file) is taken before any time passes, which keeps runs deterministic.
            t0 = time.monotonic()
            got = console.wait(None if ticks is None else ticks / lib.PYHV_TIMEBASE_HZ)
            if got:
                waited = int((time.monotonic() - t0) * lib.PYHV_TIMEBASE_HZ)
                if console.interactive and waited and ticks is not None:
                    self.advance_idle(min(waited, ticks))
                self._feed_uart(idle=True)
                return True
        if ticks is None:
            return False
        self.advance_idle(ticks)
        return True

    def _step_hart(self, cpu, budget: int):
        """One slice of one hart, and the handling of what stopped it (see step())."""
        self._feed_uart()
        if self.busy_devices:
            self.service_devices()
            if self.busy_devices:
                budget = min(budget, DEVICE_SERVICE_INSNS)
        ex = cpu.run(budget)
        self.last_exit = ex
        if self.tracer is not None:
            self.tracer.drain()
        if "exits" in self.config.trace:
            print(f"pyhv: exit {ex} hart={cpu.hart_id} insns={cpu.insns}", file=self.log)
        if self.request is not None:
            kind, code = self.request
            self.request = None
            if kind == "reset" and not self.config.no_reboot:
                self.insns_before_reset = self.insns_total
                self.reset()
                return ("run", None)
            return ("done", 0 if kind == "reset" else Finisher.exit_status(kind, code))
        if ex.reason == "fatal":
            print(f"pyhv: the guest cannot continue: {ex.message} (pc=0x{ex.pc:08x})", file=self.log)
            return ("done", 1)
        if ex.reason == "breakpoint":
            print(f"pyhv: guest breakpoint (ebreak) at pc=0x{ex.pc:08x}", file=self.log)
            return ("done", 1)
        if ex.reason == "oom":
            answer = self.on_oom(self) if self.on_oom is not None else False
            if answer:
                return ("run", None)  # memory came back: the access is retried
            if answer is None:  # reclaim under way (a balloon inflating): sleep 10 ms, then retry
                return ("idle", lib.PYHV_TIMEBASE_HZ // 100)
            mem = self.vm.memory
            why = (f"it reached its limit of {int(mem.c.frame_limit)} frames" if mem.frames_owned >= mem.c.frame_limit
                   else f"the host frame pool ({self.pool.nframes} frames of 4 KiB) is exhausted")
            print(f"pyhv: out of memory: the guest needs a new page and {why}", file=self.log)
            return ("done", 1)
        if ex.reason == "idle":
            self._feed_uart(idle=True)
            if cpu.irq_pending or self.busy_devices:
                return ("run", None)  # a busy device is served before the next slice: its interrupt may wake the hart
            cmp = cpu.mtimecmp
            return ("idle", cmp - cpu.mtime if cmp != MTIME_NEVER and cmp > cpu.mtime else None)
        return ("run", None)

    def step(self, budget: int = SLICE_INSNS):
        """Run the VM for up to `budget` instructions and handle what stopped it.

        Returns ("run", None) to go on, ("idle", ticks) when every hart sleeps in wfi
        (ticks until the first timer fires, None if none is armed), or ("done", status)
        once the guest has powered off, failed or crashed.  pyhv's own run loop and
        the hypervisor's scheduler (pyhv.host) both drive the board through this.
        With several harts, each runs SMP_QUANTUM instructions in turn (one thread, so
        guest atomics stay atomic); a hart in wfi sits out until it has an interrupt."""
        self.stopping = False  # a stop() from now on ends this step (the caller repeats it)
        if len(self.harts) == 1:
            return self._step_hart(self.cpu, budget)
        start = self.insns_total
        while self.insns_total - start < budget and not self.stopping:
            awake = 0
            for hart in self.harts:
                if hart.sleeping and not hart.irq_pending:
                    continue
                hart.sleeping = False
                awake += 1
                what, value = self._step_hart(hart, min(SMP_QUANTUM, budget))
                if what == "done" or (what == "run" and self.harts[0] is not self.cpu):
                    return (what, value)  # done, or the board was reset (new harts)
                hart.sleeping = what == "idle"
            self._sync_clocks()
            if not awake or all(h.sleeping for h in self.harts):
                timers = [h.mtimecmp - h.mtime for h in self.harts if h.mtimecmp != MTIME_NEVER and h.mtimecmp > h.mtime]
                return ("idle", min(timers) if timers else None)
        return ("run", None)

    def _sync_clocks(self) -> None:
        """One VM, one time: a hart that slept (or ran less) catches up with the others."""
        now = max(h.mtime for h in self.harts)
        for h in self.harts:
            if h.mtime < now:
                h.advance_idle(now - h.mtime)

    def advance_idle(self, ticks: int) -> None:
        """Virtual time passes while every hart sleeps."""
        for h in self.harts:
            h.advance_idle(ticks)
        for h in self.harts:
            h.sleeping = False

    # ---- stopping from outside (wall clock, signals, the hypervisor) -----------------------
    def stop(self) -> None:
        """Thread-safe: make the running step() return soon, whatever the guest executes (the
        vCPUs are stopped inside the engine, pyhv_vcpu_stop).  Repeat until step() returned."""
        self.stopping = True
        for hart in self.harts:
            hart.stop()

    @contextlib.contextmanager
    def watchdog(self, deadline: float | None):
        """While the block runs: from `deadline` (time.monotonic()) on, stop the vCPUs every
        KICK_S until the block is left.  Runs that end before it never see it."""
        if deadline is None:
            yield
            return
        done = threading.Event()

        def watch():
            if done.wait(max(0.0, deadline - time.monotonic())):
                return
            while not done.is_set():
                self.stop()
                done.wait(KICK_S)

        thread = threading.Thread(target=watch, name="pyhv-watchdog", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    @contextlib.contextmanager
    def stop_on_signals(self, signals=(signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)):
        """`pyhv boot`: a stop signal ends run() within a bounded time whatever the guest
        executes.  Python runs signal handlers in the main thread only between bytecodes, never
        inside the engine, so a watcher thread learns of the signal through signal.set_wakeup_fd
        and stops the vCPUs until the handler has run.  The handler is the one installed before
        (pyhv.cli's raises Signalled or KeyboardInterrupt); with none, SIGINT raises
        KeyboardInterrupt and the others Signalled."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        r, w = os.pipe()
        os.set_blocking(w, False)
        handled = threading.Event()
        old = {}

        def on_signal(signum, frame):
            handled.set()
            prev = old.get(signum)
            if callable(prev):
                return prev(signum, frame)
            if prev == signal.SIG_IGN:
                return None
            if signum == signal.SIGINT:
                raise KeyboardInterrupt()
            raise Signalled(signum)

        def watch():
            while True:
                select.select([r], [], [])
                data = os.read(r, 64)
                if not data or b"\0" in data:
                    return
                while not handled.is_set():
                    self.stop()
                    handled.wait(KICK_S)
                handled.clear()

        old.update({sig: signal.signal(sig, on_signal) for sig in signals})
        old_fd = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
        thread = threading.Thread(target=watch, name="pyhv-signals", daemon=True)
        thread.start()
        try:
            yield
        finally:
            signal.set_wakeup_fd(old_fd)
            for sig, handler in old.items():
                signal.signal(sig, handler)
            handled.set()
            os.write(w, b"\0")  # the watcher returns
            thread.join()
            os.close(r)
            os.close(w)

    def run(self) -> int:
        """Boot and run until the guest powers off; returns the exit status."""
        deadline = None if self.config.timeout_s is None else time.monotonic() + self.config.timeout_s
        with self.watchdog(deadline):
            return self._run(deadline)

    def _run(self, deadline) -> int:
        cfg = self.config
        while True:
            if self.console.quit_requested:
                print("pyhv: exit requested (C-a x)", file=self.log)
                return 0
            budget = SLICE_INSNS
            if cfg.max_insns is not None:
                left = cfg.max_insns - self.insns_total
                if left <= 0:
                    print(f"pyhv: stopped after {self.insns_total} instructions (--max-insns)", file=self.log)
                    return EXIT_TIMEOUT
                budget = min(budget, left)
            if deadline is not None and time.monotonic() >= deadline:
                print(f"pyhv: stopped after {cfg.timeout_s:g} s (--timeout)", file=self.log)
                return EXIT_TIMEOUT
            what, value = self.step(budget)
            if what == "done":
                return value
            if what == "idle" and not self._sleep(value):
                if self.console.at_eof:
                    print("pyhv: the guest sleeps with no timer armed and no input left to wake it; stopping",
                          file=self.log)
                    return 1
                self.console.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))

    insns_before_reset = 0

    @property
    def insns_total(self) -> int:
        return self.insns_before_reset + sum(h.insns for h in self.harts)

    def close(self) -> None:
        if getattr(self, "vm", None) is not None:
            self.vm.close()
        for backend in self.backends:
            backend.close()
