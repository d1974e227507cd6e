"""The hypervisor proper: many VMs on one host.  A frame pool is the host's RAM, N
worker threads are its pCPUs, and a policy (pyhv.scheduler) decides which vCPU runs
next.  Each VM is a pyhv.machine.Machine; its vCPU runs one slice at a time through
Machine.step() (the engine releases the GIL, so VMs on different pCPUs run in
parallel).  A vCPU sleeping in wfi is parked until its timer is due, costing no host
CPU.  Everything observable is plain data: per-VM statistics and a per-pCPU timeline.

    host = Host(pool_size_mib=512, pcpus=2, policy="credit")
    host.add(GuestSpec("a", image="guests/hello.img", weight=512))
    host.add(GuestSpec("b", image="guests/hello.img"))
    results = host.run(timeout_s=30)          # until every guest is done

A guest's life cycle (all transitions under Host._lock):

    runnable --pick--> running --slice ends--> runnable | idle (timer or none) | done
    idle --timer due / notify()--> runnable;   a notify() while running is kept in
    `kicked`, so the idle exit that follows does not park (no lost wake-up).
    `held` (KSM scan) is orthogonal: a held guest is never picked, but its timers and
    wake-ups still change its state, so a scan loses none of them.

Any exception in one guest's slice ends that guest (status 1, `reason` says why); the
others go on.  Every history (timeline, memory samples, credit periods) is a ring of
bounded length, so a long run stays flat.
"""

import heapq
import os
import re
import resource
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pyhv._native import lib
from pyhv.console import Console
from pyhv.errors import ConfigError, OutOfMemory, PyhvError
from pyhv.machine import KICK_S, Machine, MachineConfig
from pyhv.memory import POOL_MAX_BYTES, FramePool
from pyhv.scheduler import POLICIES

DEFAULT_SLICE_INSNS = 1_000_000  # 10 ms of the 100 MIPS virtual hart
SLICE_INSNS_RANGE = (1_000, 1_000_000_000)  # below: the host spends more than the guest; above: 10 s slices
MAX_PCPUS = 256
MAX_VCPUS = 8
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")  # a VM's name is its log file's name
TIMELINE_ENTRIES = 20_000  # slices kept in Host.timeline (about 10 s of two busy pCPUs)
MEMORY_SAMPLES = 600  # Host.memory_timeline: ten minutes at one sample a second
# Admission: resident host memory a VM costs besides its guest frames (Unicorn engine and
# its translation cache, devices, stage-2 table), per vCPU.  Measured with /tmp-free
# hello VMs of 4 MiB booted to idle: 3.1-3.3 MiB each (`pyhv bench density`'s
# mib_per_idle_vm); rounded up.
HOST_MIB_PER_VCPU = 3.5
BUILD_FRAMES = 8  # frames a VM touches while it is built (DTB, a small kernel); checked before building


def _int(value, lo, hi, what: str, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        null = " or null" if optional else ""
        raise ConfigError(f"{what} must be an integer {lo}..{hi}{null}, not {value!r}")


def _typed(value, kinds, what: str, expected: str) -> None:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        raise ConfigError(f"{what} must be {expected}, not {value!r}")


def _readable(path: str, what: str) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        raise ConfigError(f"{what}: cannot read {path}: {e.strerror}") from None


def check_host(pool_size_mib=1, pcpus=None, policy="credit", slice_insns=DEFAULT_SLICE_INSNS) -> None:
    """The host's own settings (a configuration's "host" table, Host's arguments)."""
    if not isinstance(policy, str) or policy not in POLICIES:
        raise ConfigError(f"unknown scheduling policy {policy!r} (known: {', '.join(POLICIES)})")
    _int(pool_size_mib, 1, POOL_MAX_BYTES >> 20, "pool_size_mib")
    _int(pcpus, 1, MAX_PCPUS, "pcpus", optional=True)
    _int(slice_insns, *SLICE_INSNS_RANGE, "slice_insns")


def mem_available_mib() -> float | None:
    """The machine's available memory (Linux /proc/meminfo MemAvailable), None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


@dataclass
class GuestSpec:
    """One VM in a host configuration (Firecracker-style keys with units)."""

    name: str
    image: str | None = None
    bios: str | None = "default"  # "default" = firmware/bios.bin, None = --bios none
    mem_size_mib: int = 64
    mem_limit_mib: int | None = None  # host frames it may hold; None: all of its RAM
    weight: int = 256  # Xen's default weight
    cap_percent: int = 0  # 0: no cap; else at most this percent of one pCPU
    boot_args: str = ""
    snapshot: bool = True
    drives: list = field(default_factory=list)
    vcpu_count: int = 1
    balloon: bool = False  # a virtio-balloon device the host can reclaim memory through

    def validate(self, check_files: bool = True) -> None:
        """Types, ranges and names, before anything is built; ConfigError (one line) if not."""
        if not isinstance(self.name, str) or not NAME_RE.match(self.name):
            raise ConfigError(f"VM name {self.name!r} is not a safe file name "
                              "(letters, digits, '.', '_', '-'; at most 64; not starting with '.' or '-')")
        vm = f"vm {self.name!r}"
        _int(self.mem_size_mib, 1, lib.PYHV_RAM_MAX_SIZE >> 20, f"{vm}: mem_size_mib")
        _int(self.mem_limit_mib, 1, lib.PYHV_RAM_MAX_SIZE >> 20, f"{vm}: mem_limit_mib", optional=True)
        _int(self.weight, 1, 65535, f"{vm}: weight")
        _int(self.cap_percent, 0, 100, f"{vm}: cap_percent")
        _int(self.vcpu_count, 1, MAX_VCPUS, f"{vm}: vcpu_count")
        _typed(self.boot_args, str, f"{vm}: boot_args", "a string")
        _typed(self.snapshot, bool, f"{vm}: snapshot", "true or false")
        _typed(self.balloon, bool, f"{vm}: balloon", "true or false")
        _typed(self.image, (str, type(None)), f"{vm}: image", "a path")
        _typed(self.bios, (str, type(None)), f"{vm}: bios", "a path, \"default\" or null")
        _typed(self.drives, list, f"{vm}: drives", "a list of paths")
        for d in self.drives:
            _typed(d, str, f"{vm}: drives", "a list of paths")
        if len(self.drives) + (self.image is not None) + self.balloon > lib.PYHV_VIRTIO_SLOTS:
            raise ConfigError(f"{vm}: at most {lib.PYHV_VIRTIO_SLOTS} virtio devices (disks and balloon)")
        if self.bios is None and not self.image:
            raise ConfigError(f"{vm}: \"bios\": null needs an image to boot")
        if not check_files:
            return
        for d in self.drives:
            _readable(d, f"{vm}: drive")
        if self.bios not in ("default", None):
            _readable(self.bios, f"{vm}: bios")
        if self.image and self.bios in ("default", None):  # the BIOS and --bios none need a boot header
            from pyhv.image import read_header

            _readable(self.image, f"{vm}: image")
            try:
                read_header(self.image)  # what the BIOS (or --bios none) needs: refused now, not at boot
            except PyhvError as e:
                raise ConfigError(f"{vm}: {e}") from None

    def host_cost_mib(self) -> float:
        """Host memory this VM may hold besides the shared frame pool (see HOST_MIB_PER_VCPU)."""
        return HOST_MIB_PER_VCPU * self.vcpu_count

    def frames_max(self) -> int:
        return min(self.mem_size_mib, self.mem_limit_mib or self.mem_size_mib) * 256

    def machine_config(self) -> MachineConfig:
        cfg = MachineConfig(image=self.image, drives=list(self.drives), mem_size_mib=self.mem_size_mib,
                            mem_limit_mib=self.mem_limit_mib, snapshot=self.snapshot, bootargs=self.boot_args,
                            smp=self.vcpu_count, balloon=self.balloon)
        if self.bios != "default":
            cfg.bios = self.bios
        return cfg


class _Tail:
    """A file-like writer that forwards to a sink and keeps the last line written (bounded),
    so a guest's last words and pyhv's last message about it can be shown as its reason."""

    def __init__(self, sink, text: bool):
        self.sink, self.text = sink, text
        self._tail = b""

    def write(self, data):
        raw = data.encode(errors="replace") if isinstance(data, str) else bytes(data)
        self.sink.write(raw)
        self._tail = (self._tail + raw)[-512:]
        return len(data)

    @property
    def last_line(self) -> str:
        lines = [ln.strip() for ln in self._tail.replace(b"\r", b"\n").split(b"\n") if ln.strip()]
        return lines[-1][-160:].decode(errors="replace") if lines else ""

    def forget(self) -> None:
        self._tail = b""

    def flush(self):
        self.sink.flush()


class Guest:
    """A VM under the host: its Machine, scheduling state and statistics."""

    def __init__(self, spec: GuestSpec, machine: Machine):
        self.spec, self.name, self.machine = spec, spec.name, machine
        self.weight, self.cap_percent = spec.weight, spec.cap_percent
        self.state = "runnable"  # runnable | running | idle | done
        self.held = 0  # pausers (a KSM scan): never picked while > 0
        self.kicked = False  # notified while running: do not park on this slice's idle exit
        self.pcpu = None  # the pCPU running it
        self.status = None  # exit status once done
        self.reason = ""  # why it stopped, one line ("" while alive, or done with status 0)
        self.wake_ticks = None  # the timer it sleeps until (virtual ticks)
        self.wake_seq = 0  # its current entry in the host's sleeper heap (older ones are stale)
        self.oom_waits = 0
        self.insns = 0
        self.slices = 0
        self.cpu_s = 0.0  # wall time its vCPU ran
        self.exits = {}
        self.console_tail = None  # the _Tail over its console output, if the host made it
        self.log_tail = None  # the _Tail over pyhv's messages about it

    runnable = property(lambda self: self.state == "runnable" and not self.held)
    alive = property(lambda self: self.state != "done")

    def stats(self) -> dict:
        mem = self.machine.vm.memory
        shared = int((self.machine.pool.owner[(mem.s2[mem.s2 & 1 != 0] >> 12)] == lib.PYHV_OWNER_SHARED).sum())
        state = "paused" if self.held and self.state in ("runnable", "idle") else self.state
        return {
            "name": self.name, "state": state, "status": self.status, "reason": self.reason, "weight": self.weight,
            "cap_percent": self.cap_percent, "insns": self.insns, "slices": self.slices,
            "cpu_s": round(self.cpu_s, 4), "frames_owned": mem.frames_owned - shared, "frames_shared": shared,
            "exits": dict(self.exits),
        }


class Host:
    def __init__(self, pool_size_mib: int = 2048, pcpus: int | None = None, policy: str = "credit",
                 slice_insns: int = DEFAULT_SLICE_INSNS, log_dir: str | None = None, pool: FramePool | None = None,
                 ksm_on_oom: bool = True, clock=time.monotonic):
        check_host(pool_size_mib=pool_size_mib if pool is None else 1, pcpus=pcpus, policy=policy,
                   slice_insns=slice_insns)
        self.pool = pool or FramePool(size_mib=pool_size_mib)
        self.pcpus = pcpus if pcpus is not None else os.cpu_count() or 1
        self.slice_insns = slice_insns
        self.policy = POLICIES[policy](slice_insns, self.pcpus)
        self.log_dir = log_dir
        self.ksm_on_oom = ksm_on_oom  # merge identical pages when the pool runs dry
        self.clock = clock  # wall time for timers and the timeline (a model clock in the tests)
        self.guests: list[Guest] = []
        self.timeline = deque(maxlen=TIMELINE_ENTRIES)  # (pcpu, guest name, start_s, end_s, insns)
        self._memory_samples = deque(maxlen=MEMORY_SAMPLES)  # (time_s, VM names, int32 [VM, (owned, shared)])
        self.on_exit = []  # callables(guest), called (under the lock) when a guest is done
        self._lock = threading.Condition()
        self._sleepers = []  # heap of (wake time, seq, guest); an entry whose seq is not the guest's is stale
        self._seq = 0
        self._t0 = clock()
        self._sinks = []  # console log files the host opened
        self._last_sample = -1.0
        self._workers = []
        self._stop, self._until, self._deadline = False, "done", None
        self.stop_reason = None  # why the last run() ended: done, idle, stuck, timeout, stopped, signal name, error
        self.failure = None  # a host bug that ended the last run (one line), None if none
        self._closed = False

    # ---- admission ---------------------------------------------------------------
    def check_capacity(self, specs) -> None:
        """Refuse up front what the host cannot hold: the VMs' engines plus the guest frames
        they may touch must fit in the machine's available memory, their files in the open-file
        limit (raised to the hard limit if need be).  OutOfMemory or PyhvError (one line)."""
        specs = list(specs)
        engines = sum(s.host_cost_mib() for s in specs)
        frames_mib = min(self.pool.frames_free, sum(s.frames_max() for s in specs)) / 256
        available = mem_available_mib()
        if available is not None and engines + frames_mib > available:
            raise OutOfMemory(
                f"cannot hold {len(specs)} VMs: they need about {engines + frames_mib:.0f} MiB of host memory "
                f"({HOST_MIB_PER_VCPU} MiB per vCPU + up to {frames_mib:.0f} MiB of guest frames) and the "
                f"machine has {available:.0f} MiB available")
        fds = sum(1 + len(s.drives) + (s.image is not None) for s in specs) + len(self._sinks) + 64
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and fds > soft:
            if hard != resource.RLIM_INFINITY and fds > hard:
                raise PyhvError(f"cannot hold {len(specs)} VMs: they need about {fds} open files and the limit is "
                                f"{hard} (ulimit -n)")
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else fds, hard))
        if len(specs) * BUILD_FRAMES > self.pool.frames_free:
            raise OutOfMemory(f"cannot hold {len(specs)} VMs: the frame pool has {self.pool.frames_free} free frames, "
                              f"each VM needs at least {BUILD_FRAMES} to be built")

    # ---- guests --------------------------------------------------------------
    def add(self, spec: GuestSpec, console: Console | None = None) -> Guest:
        """Build and admit one VM, or refuse it (ConfigError, OutOfMemory) leaving nothing behind."""
        spec.validate()
        if any(g.name == spec.name for g in self.guests):
            raise ConfigError(f"two VMs named {spec.name!r}")
        self.check_capacity([spec])
        sink = None
        if console is None:
            path = os.path.join(self.log_dir, f"{spec.name}.log") if self.log_dir else os.devnull
            try:
                sink = open(path, "wb")
            except OSError as e:
                raise ConfigError(f"cannot open {path}: {e.strerror}") from None
            console = Console(output=_Tail(sink, text=False))
        own = sink if sink is not None else os.fdopen(os.dup(2), "wb", buffering=0)  # attached: messages on stderr
        cfg = spec.machine_config()
        cfg.log = log = _Tail(own, text=True)
        try:
            machine = Machine(cfg, console=console, pool=self.pool)
        except BaseException as e:
            own.close()
            if isinstance(e, OutOfMemory):
                raise OutOfMemory(f"cannot start VM {spec.name}: {e}") from None
            raise
        guest = Guest(spec, machine)
        guest.console_tail = console.output if isinstance(console.output, _Tail) else None
        guest.log_tail = log
        machine.on_oom = lambda m, g=guest: self._reclaim(g)
        console.input_listeners.append(lambda g=guest: self.notify(g))  # typing wakes a parked guest
        self._sinks.append(own)
        return self._admit(guest)

    def _admit(self, guest: Guest) -> Guest:
        with self._lock:
            self.guests.append(guest)
            self.policy.add(guest)
            self._lock.notify_all()
        return guest

    def guest(self, name: str) -> Guest:
        for g in self.guests:
            if g.name == name:
                return g
        raise KeyError(name)

    # ---- the life cycle (everything below runs under self._lock) -----------------------
    def _wake_due(self, now: float) -> None:
        while self._sleepers and self._sleepers[0][0] <= now:
            _, seq, g = heapq.heappop(self._sleepers)
            if g.state == "idle" and g.wake_seq == seq:
                try:
                    g.machine.advance_idle(g.wake_ticks)
                except Exception as e:  # this guest's problem, nobody else's
                    self._end(g, 1, f"internal error: {e!r}")
                    continue
                self._wake(g)

    def _wake(self, g: Guest) -> None:
        g.state, g.wake_ticks, g.wake_seq = "runnable", None, 0
        self._policy_call(g, self.policy.woke, g)

    def notify(self, g: Guest) -> None:
        """Something outside the guest raised one of its interrupts (a device the host drove,
        console input): a parked vCPU must look again."""
        with self._lock:
            if g.state == "idle":
                self._wake(g)
            elif g.state == "running":
                g.kicked = True  # its slice may be ending in wfi right now: it must look again
            self._lock.notify_all()

    def _park(self, g: Guest, ticks) -> None:
        g.state, g.wake_ticks, g.wake_seq = "idle", ticks, 0
        if ticks is not None:  # no timer: it waits for notify()
            self._seq += 1
            g.wake_seq = self._seq
            heapq.heappush(self._sleepers, (self.clock() + ticks / lib.PYHV_TIMEBASE_HZ, self._seq, g))
            if len(self._sleepers) > 4 * len(self.guests) + 64:  # stale entries of guests woken early
                self._sleepers = [e for e in self._sleepers if e[2].state == "idle" and e[2].wake_seq == e[1]]
                heapq.heapify(self._sleepers)

    def _end(self, g: Guest, status: int, reason: str = "") -> None:
        g.state, g.status, g.reason = "done", status, reason
        g.wake_seq = 0
        try:
            self.policy.remove(g)
        except Exception:  # noqa: S110 - the policy's own bug; the guest is done whatever it says
            pass
        if reason and g.log_tail is not None:
            g.log_tail.write(f"pyhv: VM {g.name} stopped with status {status}: {reason}\n")
        for callback in self.on_exit:
            callback(g)

    def _policy_call(self, g: Guest, fn, *args) -> None:
        """A policy callback about one guest: if it fails, that guest stops, nobody else."""
        try:
            fn(*args)
        except Exception as e:
            if g.state == "running":
                g.kicked = False
            self._end(g, 1, f"internal error in the {self.policy.name} scheduler: {e!r}")

    def _pick(self, pcpu: int):
        """Wake due sleepers and take the next guest for this pCPU (None: nothing to run)."""
        self._wake_due(self.clock())
        g = self.policy.pick()
        if g is None:
            return None
        if g.state != "runnable" or g.held or g.pcpu is not None:
            raise RuntimeError(f"the {self.policy.name} policy picked {g.name}, which is {g.state}")
        g.state, g.pcpu = "running", pcpu
        return g

    def _slice(self, g: Guest):
        """Run one slice of g (outside the lock).  Any exception ends g only."""
        start = self.clock()
        before = g.machine.insns_total
        if g.log_tail is not None:
            g.log_tail.forget()  # what pyhv says about this slice is its reason if it ends the guest
        try:
            what, value = g.machine.step(self.slice_insns)
        except PyhvError as e:  # a device bug in this VM stops this VM only
            what, value = "failed", str(e)
        except Exception as e:  # a pyhv bug met by this VM: the same, and said plainly
            what, value = "failed", f"internal error: {e!r}"
        try:
            ran = g.machine.insns_total - before
        except Exception:
            ran = 0
        return what, value, ran, start, self.clock()

    def _account(self, pcpu: int, g: Guest, what: str, value, ran: int, start: float, end: float) -> None:
        """g's slice on this pCPU ended with (what, value) from Machine.step (or "failed", reason)."""
        g.pcpu = None
        g.insns += ran
        g.slices += 1
        g.cpu_s += end - start
        reason = g.machine.last_exit.reason if g.machine.last_exit else "none"
        g.exits[reason] = g.exits.get(reason, 0) + 1
        self.timeline.append((pcpu, g.name, start - self._t0, end - self._t0, ran))
        kicked, g.kicked = g.kicked, False
        if what == "failed":
            self._end(g, 1, value)
        elif what == "done":
            self._end(g, value, self._why(g, value))
        elif what == "idle" and not kicked and not self._stop:
            self._park(g, value)
        else:
            g.state = "runnable"
        if g.alive:
            self._policy_call(g, self.policy.ran, g, ran)
        self._lock.notify_all()

    @staticmethod
    def _why(g: Guest, status: int) -> str:
        """A guest powered off with `status`: pyhv's message about it, else its own last words."""
        if status == 0:
            return ""
        said = g.log_tail.last_line.removeprefix("pyhv: ") if g.log_tail is not None else ""
        if said:
            return said
        last = g.console_tail.last_line if g.console_tail is not None else ""
        return f"the guest failed (finisher code {status})" + (f"; its last line: {last}" if last else "")

    def _finished(self, now: float) -> bool:
        """Stop when every guest is done; when none can ever run again (until="done": all
        asleep with no timer and no input to come; until="idle": asleep with no timer);
        on stop(); or at the deadline."""
        if self._stop:
            return True
        reason = None
        if self._deadline is not None and now >= self._deadline:
            reason = "timeout"
        elif all(not g.alive for g in self.guests):
            reason = "done"
        elif not self._sleepers and all(g.state in ("idle", "done") for g in self.guests):
            if self._until == "idle":
                reason = "idle"
            elif not any(g.state == "idle" and not g.machine.console.at_eof for g in self.guests):
                reason = "stuck"  # nothing can wake them: waiting would be forever
        if reason is None:
            return False
        self._stop, self.stop_reason = True, reason
        return True

    def _next(self, pcpu: int):
        """The next guest for this pCPU, waiting while there is none; None when the run is over."""
        with self._lock:
            while True:
                now = self.clock()
                if self._finished(now):
                    self._lock.notify_all()
                    return None
                g = self._pick(pcpu)
                if g is not None:
                    return g
                if self.policy.throttled():  # idle on purpose for one slice's worth of time
                    self._lock.wait(self._slice_wall_s())
                    self.policy.idle_slot()
                    continue
                wait = 0.05 if not self._sleepers else max(0.0, self._sleepers[0][0] - now)
                if self._deadline is not None:
                    wait = min(wait, max(0.0, self._deadline - now))
                self._lock.wait(wait)

    def _worker(self, pcpu: int) -> None:
        g = None
        try:
            while True:
                g = self._next(pcpu)
                if g is None:
                    return
                result = self._slice(g)
                with self._lock:
                    self._account(pcpu, g, *result)
                    self._sample(result[-1])
                g = None
        except BaseException as e:  # a host bug: this run ends, said plainly, and no guest is left "running"
            with self._lock:
                if g is not None and g.state == "running":
                    g.pcpu = None
                    self._end(g, 1, f"internal error on pCPU {pcpu}: {e!r}")
                self.failure = self.failure or f"internal error on pCPU {pcpu}: {e!r}"
                self._stop, self.stop_reason = True, "error"
                self._lock.notify_all()

    def _slice_wall_s(self) -> float:
        slices = sum(g.slices for g in self.guests)
        return sum(g.cpu_s for g in self.guests) / slices if slices else 0.002

    def run(self, timeout_s: float | None = None, until: str = "done") -> dict:
        """Run the guests until all are done (until="idle": or asleep with nothing armed to
        wake them), timeout_s passes, or stop() is called.  Returns the per-VM statistics;
        `stop_reason` says why it ended.  Raises PyhvError if a host bug ended it."""
        if until not in ("done", "idle"):
            raise ValueError("until is 'done' or 'idle'")
        if self._closed:
            raise PyhvError("this host is closed")
        with self._lock:  # a stop() that came before this run ends it at once
            self._deadline = None if timeout_s is None else self.clock() + timeout_s
            self._until, self.failure = until, None
            if not self._stop:
                self.stop_reason = None
            self._workers = [threading.Thread(target=self._worker, args=(i,), name=f"pcpu{i}")
                             for i in range(self.pcpus)]
        for w in self._workers:
            w.start()
        try:
            for w in self._workers:
                while w.is_alive():
                    w.join(KICK_S)
                    self._kick()
        finally:  # interrupted while joining: the workers stop before anything else happens
            self._join()
            with self._lock:
                self._stop = False
        if self.failure:
            raise PyhvError(self.failure)
        return self.stats()

    def _kick(self) -> None:
        """Once the run is stopping (stop(), or the deadline passed), stop the slices still
        running inside the engine, whatever their guests execute (Machine.stop); the joining
        thread calls this every KICK_S until the workers have returned."""
        with self._lock:
            if not self._stop and self._deadline is not None and self.clock() >= self._deadline:
                self._stop, self.stop_reason = True, "timeout"
                self._lock.notify_all()
            running = [g for g in self.guests if g.state == "running"] if self._stop else []
        for g in running:
            g.machine.stop()

    def stop(self, reason: str = "stopped") -> None:
        """End the current run() soon, or the next one at once if none is running (thread-safe,
        and safe from a signal handler): running vCPUs are stopped inside the engine and the
        workers return."""
        with self._lock:
            if not self._stop:
                self._stop, self.stop_reason = True, reason
            self._lock.notify_all()
        self._kick()

    def _join(self) -> None:
        if any(w.is_alive() for w in self._workers):
            self.stop()
        for w in self._workers:
            while w.is_alive():
                w.join(KICK_S)
                self._kick()
        self._workers = []

    def stats(self) -> dict:
        with self._lock:
            return {g.name: g.stats() for g in self.guests}

    # ---- memory: KSM and reclaim ------------------------------------------------------
    def _hold(self) -> list:
        """Pause every guest that is not running (a KSM scan reads their memory)."""
        with self._lock:
            guests = [g for g in self.guests if g.alive and g.state != "running"]
            for g in guests:
                g.held += 1
            return guests

    def _release(self, guests: list) -> None:
        with self._lock:
            for g in guests:
                g.held -= 1
            self._lock.notify_all()

    def ksm_scan(self) -> dict:
        """Kernel samepage merging: find guest frames with equal contents across (and within)
        the VMs that are not running, and map them to one read-only frame each; the first
        write to a merged page copies it back (copy-on-write, csrc/mmu.c).  Returns counts."""
        import hashlib

        guests = self._hold()
        try:
            first = {}  # digest -> (memory, gfn) of the frame the others merge into
            merged = 0
            frames = self.pool.frames
            for g in guests:
                mem = g.machine.vm.memory
                for gfn in np.flatnonzero((mem.s2 & 1) != 0):
                    e = int(mem.s2[gfn])
                    if e & lib.PYHV_S2_COW:
                        continue  # already shared
                    digest = hashlib.blake2b(frames[e >> 12].tobytes(), digest_size=16).digest()
                    keeper = first.get(digest)
                    if keeper is None:
                        first[digest] = (mem, int(gfn))
                        continue
                    kmem, kgfn = keeper
                    if frames[int(kmem.s2[kgfn]) >> 12].tobytes() != frames[e >> 12].tobytes():
                        continue  # a hash collision: never merge unequal pages
                    kmem.share_into(mem, kgfn, int(gfn))
                    merged += 1
            return {"merged": merged, "frames_free": self.pool.frames_free}
        finally:
            self._release(guests)

    OOM_PATIENCE = 50  # 10 ms retries a guest waits for a balloon before it gives up

    def _reclaim(self, g: Guest):
        """A guest needs a frame and the pool is empty: merge identical pages (KSM) now, and
        ask ballooned guests to give pages back.  True: retry now; None: retry soon; False: give up."""
        if self.pool.frames_free == 0 and self.ksm_on_oom:
            self.ksm_scan()
        if self.pool.frames_free > 0 and g.machine.vm.memory.frames_owned < g.machine.vm.memory.c.frame_limit:
            g.oom_waits = 0
            return True
        balloons = [o for o in self.guests if o is not g and o.alive and o.machine.balloon is not None]
        g.oom_waits += 1
        if balloons and g.oom_waits <= self.OOM_PATIENCE and self.pool.frames_free == 0:
            for o in balloons:
                o.machine.balloon.set_target(o.machine.balloon.target_pages + 256)  # 1 MiB more from each
                self.notify(o)
            return None
        return False

    def _sample(self, now: float) -> None:
        """Frames owned and shared per VM over time (for plots), every second of wall time."""
        if now - self._last_sample < 1.0:
            return
        self._last_sample = now
        names = tuple(g.name for g in self.guests)
        if self._memory_samples and self._memory_samples[-1][1] == names:
            names = self._memory_samples[-1][1]  # one tuple shared by the samples: 8 bytes a VM a sample
        frames = np.array([(s["frames_owned"], s["frames_shared"]) for s in map(Guest.stats, self.guests)],
                          dtype=np.int32).reshape(-1, 2)
        self._memory_samples.append((now - self._t0, names, frames))

    @property
    def memory_timeline(self) -> list:
        """[(time_s, {VM: (frames owned, frames shared)})], one a second over the last MEMORY_SAMPLES."""
        with self._lock:
            samples = list(self._memory_samples)
        return [(t, {n: (int(o), int(sh)) for n, (o, sh) in zip(names, frames)}) for t, names, frames in samples]

    def shares(self) -> dict:
        """Each guest's fraction of the instructions executed so far."""
        total = sum(g.insns for g in self.guests) or 1
        return {g.name: g.insns / total for g in self.guests}

    def close(self) -> None:
        """Stop and join the workers, then free the guests (their disks flushed and closed)."""
        self._join()
        if self._closed:
            return
        self._closed = True
        for g in self.guests:
            g.machine.close()
        for sink in self._sinks:
            sink.close()
        self._sinks.clear()


# ---- configuration files ------------------------------------------------------------
HOST_KEYS = {"pool_size_mib", "pcpus", "policy", "slice_insns"}
VM_KEYS = {"name", "image", "bios", "mem_size_mib", "mem_limit_mib", "weight", "balloon", "cap_percent", "boot_args",
           "snapshot", "drives", "vcpu_count"}


def load_config(path: str) -> tuple[dict, list[GuestSpec]]:
    """A host configuration, JSON or TOML:

        {"host": {"pool_size_mib": 512, "pcpus": 2, "policy": "credit"},
         "vms": [{"name": "web", "image": "guests/hello.img", "mem_size_mib": 64, "weight": 512}]}

    Relative image, drive and BIOS paths are relative to the configuration file.  The whole
    configuration is checked (types, ranges, names, files) before anything is built; any
    error is one line (ConfigError) naming the file and the VM."""
    import json

    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from None
    try:
        if path.endswith(".toml"):
            import tomllib

            data = tomllib.loads(raw.decode())
        else:
            data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise ConfigError(f"{path}: not valid {'TOML' if path.endswith('.toml') else 'JSON'}: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("vms"), list) or not data["vms"]:
        raise ConfigError(f"{path}: needs a non-empty \"vms\" list")
    unknown = set(data) - {"host", "vms"}
    if unknown:
        raise ConfigError(f"{path}: unknown top-level keys {sorted(unknown)} (known: ['host', 'vms'])")
    host = data.get("host", {})
    if not isinstance(host, dict):
        raise ConfigError(f"{path}: \"host\" must be a table of settings")
    if set(host) - HOST_KEYS:
        raise ConfigError(f"{path}: unknown host keys {sorted(set(host) - HOST_KEYS)} (known: {sorted(HOST_KEYS)})")
    try:
        check_host(**host)
    except ConfigError as e:
        raise ConfigError(f"{path}: host: {e}") from None
    base = os.path.dirname(os.path.abspath(path))
    specs, names = [], set()
    for i, vm in enumerate(data["vms"]):
        if not isinstance(vm, dict) or "name" not in vm:
            raise ConfigError(f"{path}: vms[{i}] needs a name")
        unknown = set(vm) - VM_KEYS
        if unknown:
            raise ConfigError(f"{path}: vm {vm['name']!r}: unknown keys {sorted(unknown)} (known: {sorted(VM_KEYS)})")
        vm = dict(vm)
        for key in ("image", "bios"):
            if isinstance(vm.get(key), str) and vm[key] != "default" and not os.path.isabs(vm[key]):
                vm[key] = os.path.join(base, vm[key])
        if isinstance(vm.get("drives"), list):
            vm["drives"] = [os.path.join(base, d) if isinstance(d, str) and not os.path.isabs(d) else d
                            for d in vm["drives"]]
        spec = GuestSpec(**vm)
        try:
            spec.validate()
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}") from None
        if spec.name in names:
            raise ConfigError(f"{path}: two VMs named {spec.name!r}")
        names.add(spec.name)
        specs.append(spec)
    return host, specs
