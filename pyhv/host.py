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
"""

import heapq
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pyhv._native import lib
from pyhv.console import Console
from pyhv.errors import ConfigError, OutOfMemory, PyhvError
from pyhv.machine import KICK_S, Machine, MachineConfig
from pyhv.memory import FramePool
from pyhv.scheduler import POLICIES

DEFAULT_SLICE_INSNS = 1_000_000  # 10 ms of the 100 MIPS virtual hart


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

    def machine_config(self) -> MachineConfig:
        cfg = MachineConfig(image=self.image, drives=list(self.drives), mem_size_mib=self.mem_size_mib,
                            mem_limit_mib=self.mem_limit_mib, snapshot=self.snapshot, bootargs=self.boot_args,
                            smp=self.vcpu_count, balloon=self.balloon)
        if self.bios != "default":
            cfg.bios = self.bios
        return cfg


class Guest:
    """A VM under the host: its Machine, scheduling state and statistics."""

    def __init__(self, spec: GuestSpec, machine: Machine):
        self.spec, self.name, self.machine = spec, spec.name, machine
        self.weight, self.cap_percent = spec.weight, spec.cap_percent
        self.state = "runnable"  # runnable | running | idle | done
        self.status = None  # exit status once done
        self.wake_ticks = None  # the timer it sleeps until (virtual ticks)
        self.insns = 0
        self.slices = 0
        self.cpu_s = 0.0  # wall time its vCPU ran
        self.exits = {}

    runnable = property(lambda self: self.state == "runnable")
    alive = property(lambda self: self.state != "done")

    def stats(self) -> dict:
        mem = self.machine.vm.memory
        shared = int((self.machine.pool.owner[(mem.s2[mem.s2 & 1 != 0] >> 12)] == lib.PYHV_OWNER_SHARED).sum())
        return {
            "name": self.name, "state": self.state, "status": self.status, "weight": self.weight,
            "cap_percent": self.cap_percent, "insns": self.insns, "slices": self.slices,
            "cpu_s": round(self.cpu_s, 4), "frames_owned": mem.frames_owned - shared, "frames_shared": shared,
            "exits": dict(self.exits),
        }


class Host:
    def __init__(self, pool_size_mib: int = 2048, pcpus: int | None = None, policy: str = "credit",
                 slice_insns: int = DEFAULT_SLICE_INSNS, log_dir: str | None = None, pool: FramePool | None = None,
                 ksm_on_oom: bool = True):
        if policy not in POLICIES:
            raise ConfigError(f"unknown scheduling policy {policy!r} (known: {', '.join(POLICIES)})")
        self.pool = pool or FramePool(size_mib=pool_size_mib)
        self.pcpus = pcpus or os.cpu_count() or 1
        if self.pcpus < 1:
            raise ConfigError("a host needs at least one pCPU")
        self.slice_insns = slice_insns
        self.policy = POLICIES[policy](slice_insns, self.pcpus)
        self.log_dir = log_dir
        self.ksm_on_oom = ksm_on_oom  # merge identical pages when the pool runs dry
        self.guests: list[Guest] = []
        self.timeline = []  # (pcpu, guest name, start_s, end_s, insns)
        self._lock = threading.Condition()
        self._sleepers = []  # heap of (wake time, seq, guest)
        self._seq = 0
        self._t0 = time.monotonic()
        self._sinks = []  # console log files the host opened
        self.memory_timeline = []  # (time_s, {VM: (frames owned, frames shared)})
        self._last_sample = -1.0

    # ---- guests --------------------------------------------------------------
    def add(self, spec: GuestSpec, console: Console | None = None) -> Guest:
        if any(g.name == spec.name for g in self.guests):
            raise ConfigError(f"two VMs named {spec.name!r}")
        if console is None:
            sink = open(os.path.join(self.log_dir, f"{spec.name}.log"), "wb") if self.log_dir else open(os.devnull, "wb")
            self._sinks.append(sink)
            console = Console(output=sink)
        try:
            machine = Machine(spec.machine_config(), console=console, pool=self.pool)
        except OutOfMemory as e:
            raise OutOfMemory(f"cannot start VM {spec.name}: {e}") from None
        guest = Guest(spec, machine)
        machine.on_oom = lambda m, g=guest: self._reclaim(g)
        console.input_listeners.append(lambda g=guest: self.notify(g))  # typing wakes a parked guest
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

    # ---- running ---------------------------------------------------------------
    def _wake_due(self, now: float) -> None:
        while self._sleepers and self._sleepers[0][0] <= now:
            _, _, g = heapq.heappop(self._sleepers)
            if g.state == "idle" and g.wake_ticks is not None:
                g.machine.advance_idle(g.wake_ticks)
                g.state = "runnable"
                self.policy.woke(g)

    def notify(self, g: Guest) -> None:
        """Something outside the guest raised one of its interrupts (a device the host drove,
        console input): a parked vCPU must look again."""
        with self._lock:
            self._notify_locked(g)

    def _notify_locked(self, g: Guest) -> None:
        if g.state == "idle":
            g.state, g.wake_ticks = "runnable", None  # a stale heap entry is ignored when due
            self.policy.woke(g)
            self._lock.notify_all()

    def _park(self, g: Guest, ticks) -> None:
        g.state, g.wake_ticks = "idle", ticks
        if ticks is not None:  # a sleeper with no timer waits for an outside event (none yet): forever
            self._seq += 1
            heapq.heappush(self._sleepers, (time.monotonic() + ticks / lib.PYHV_TIMEBASE_HZ, self._seq, g))

    def _finished(self, now: float, deadline) -> bool:
        """Stop when every guest is done, or (until="idle") when none can run again on its own:
        all done or asleep with no timer armed; or at the deadline."""
        if self._stop or (deadline is not None and now >= deadline):
            return True
        if all(not g.alive for g in self.guests):
            return True
        if self._until == "idle":
            return not self._sleepers and all(g.state in ("idle", "done") for g in self.guests)
        return False

    def _worker(self, pcpu: int, deadline) -> None:
        while True:
            with self._lock:
                while True:
                    now = time.monotonic()
                    self._wake_due(now)
                    if self._finished(now, deadline):
                        self._stop = True
                        self._lock.notify_all()
                        return
                    g = self.policy.pick()
                    if g is not None:
                        break
                    if self.policy.throttled():  # idle on purpose for one slice's worth of time
                        self._lock.wait(self._slice_wall_s())
                        self.policy.idle_slot()
                        continue
                    wait = 0.05 if not self._sleepers else max(0.0, self._sleepers[0][0] - now)
                    if deadline is not None:
                        wait = min(wait, max(0.0, deadline - now))
                    self._lock.wait(wait)
            g.state = "running"
            start = time.monotonic()
            before = g.machine.insns_total
            try:
                what, value = g.machine.step(self.slice_insns)
            except PyhvError as e:  # a device bug in this VM stops this VM only
                what, value = "done", 1
                g.error = str(e)
            end = time.monotonic()
            ran = g.machine.insns_total - before
            with self._lock:
                g.insns += ran
                g.slices += 1
                g.cpu_s += end - start
                reason = g.machine.last_exit.reason if g.machine.last_exit else "none"
                g.exits[reason] = g.exits.get(reason, 0) + 1
                self.timeline.append((pcpu, g.name, start - self._t0, end - self._t0, ran))
                self._sample(end)
                if what == "done":
                    g.state, g.status = "done", value
                    self.policy.remove(g)
                elif what == "idle":
                    self._park(g, value)
                else:
                    g.state = "runnable"
                self.policy.ran(g, ran)
                self._lock.notify_all()

    def _slice_wall_s(self) -> float:
        slices = sum(g.slices for g in self.guests)
        return sum(g.cpu_s for g in self.guests) / slices if slices else 0.002

    def run(self, timeout_s: float | None = None, until: str = "done") -> dict:
        """Run the guests until all are done (until="idle": or asleep with nothing armed to
        wake them), or timeout_s passes.  Returns the per-VM statistics."""
        if until not in ("done", "idle"):
            raise ValueError("until is 'done' or 'idle'")
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        self._stop, self._until = False, until
        workers = [threading.Thread(target=self._worker, args=(i, deadline), name=f"pcpu{i}") for i in range(self.pcpus)]
        for w in workers:
            w.start()
        for w in workers:
            while w.is_alive():
                w.join(None if deadline is None else max(KICK_S, deadline - time.monotonic()))
                if deadline is not None and time.monotonic() >= deadline:
                    self._stop_running()
        return self.stats()

    def _stop_running(self) -> None:
        """The deadline passed: end the slices still running, whatever their guests execute
        (Machine.stop stops the engine itself); called again every KICK_S until they return."""
        with self._lock:
            self._stop = True
            self._lock.notify_all()
            running = [g for g in self.guests if g.state == "running"]
        for g in running:
            g.machine.stop()

    def stats(self) -> dict:
        with self._lock:
            return {g.name: g.stats() for g in self.guests}

    def ksm_scan(self) -> dict:
        """Kernel samepage merging: find guest frames with equal contents across (and within)
        the VMs that are not running, and map them to one read-only frame each; the first
        write to a merged page copies it back (copy-on-write, csrc/mmu.c).  Returns counts."""
        import hashlib

        with self._lock:
            guests = [g for g in self.guests if g.alive and g.state != "running"]
            for g in guests:
                g.state, g.saved_state = "ksm", g.state
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
            with self._lock:
                for g in guests:
                    g.state = g.saved_state
                self._lock.notify_all()

    OOM_PATIENCE = 50  # 10 ms retries a guest waits for a balloon before it gives up

    def _reclaim(self, g: Guest):
        """A guest needs a frame and the pool is empty: merge identical pages (KSM) now, and
        ask ballooned guests to give pages back.  True: retry now; None: retry soon; False: give up."""
        if self.pool.frames_free == 0 and self.ksm_on_oom:
            self.ksm_scan()
        if self.pool.frames_free > 0 and g.machine.vm.memory.frames_owned < g.machine.vm.memory.c.frame_limit:
            g.oom_waits = 0
            return True
        balloons = [o.machine.balloon for o in self.guests if o is not g and o.alive and o.machine.balloon is not None]
        g.oom_waits = getattr(g, "oom_waits", 0) + 1
        if balloons and g.oom_waits <= self.OOM_PATIENCE and self.pool.frames_free == 0:
            for o in self.guests:
                if o is not g and o.alive and o.machine.balloon is not None:
                    o.machine.balloon.set_target(o.machine.balloon.target_pages + 256)  # 1 MiB more from each
                    self.notify(o)
            return None
        return False

    def _sample(self, now: float) -> None:
        """Frames owned and shared per VM over time (for plots), every 100 ms of wall time."""
        if now - self._last_sample < 0.1:
            return
        self._last_sample = now
        self.memory_timeline.append((now - self._t0, {g.name: (s["frames_owned"], s["frames_shared"])
                                                      for g in self.guests for s in (g.stats(),)}))

    def shares(self) -> dict:
        """Each guest's fraction of the instructions executed so far."""
        total = sum(g.insns for g in self.guests) or 1
        return {g.name: g.insns / total for g in self.guests}

    def close(self) -> None:
        for g in self.guests:
            g.machine.close()
        for sink in self._sinks:
            sink.close()
        self._sinks.clear()


# ---- configuration files ------------------------------------------------------------
HOST_KEYS = {"pool_size_mib", "pcpus", "policy", "slice_insns"}
VM_KEYS = {"name", "image", "bios", "mem_size_mib", "mem_limit_mib", "weight", "balloon", "cap_percent", "boot_args", "snapshot", "drives",
           "vcpu_count"}


def load_config(path: str) -> tuple[dict, list[GuestSpec]]:
    """A host configuration, JSON or TOML:

        {"host": {"pool_size_mib": 512, "pcpus": 2, "policy": "credit"},
         "vms": [{"name": "web", "image": "guests/hello.img", "mem_size_mib": 64, "weight": 512}]}

    Relative image paths are relative to the configuration file.  Errors are one line."""
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
    except (ValueError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid {'TOML' if path.endswith('.toml') else 'JSON'}: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("vms"), list) or not data["vms"]:
        raise ConfigError(f"{path}: needs a non-empty \"vms\" list")
    host = data.get("host", {})
    if not isinstance(host, dict) or set(host) - HOST_KEYS:
        raise ConfigError(f"{path}: unknown host keys {sorted(set(host) - HOST_KEYS)} (known: {sorted(HOST_KEYS)})")
    base = os.path.dirname(os.path.abspath(path))
    specs = []
    for i, vm in enumerate(data["vms"]):
        if not isinstance(vm, dict) or "name" not in vm:
            raise ConfigError(f"{path}: vms[{i}] needs a name")
        unknown = set(vm) - VM_KEYS
        if unknown:
            raise ConfigError(f"{path}: vm {vm['name']!r}: unknown keys {sorted(unknown)} (known: {sorted(VM_KEYS)})")
        smp = vm.pop("vcpu_count", 1)
        if not isinstance(smp, int) or not 1 <= smp <= 8:
            raise ConfigError(f"{path}: vm {vm['name']!r}: vcpu_count must be 1..8")
        vm["vcpu_count"] = smp
        for key in ("image",):
            if vm.get(key) and not os.path.isabs(vm[key]):
                vm[key] = os.path.join(base, vm[key])
        weight, cap = vm.get("weight", 256), vm.get("cap_percent", 0)
        if not isinstance(weight, int) or not 1 <= weight <= 65535:
            raise ConfigError(f"{path}: vm {vm['name']!r}: weight must be 1..65535")
        if not isinstance(cap, int) or not 0 <= cap <= 100:
            raise ConfigError(f"{path}: vm {vm['name']!r}: cap_percent must be 0..100")
        specs.append(GuestSpec(**vm))
    return host, specs


def format_table(stats: dict, elapsed_s: float) -> str:
    """The live table `pyhv run` prints: one line per VM."""
    total = sum(s["insns"] for s in stats.values()) or 1
    lines = [f"{'VM':12s} {'STATE':9s} {'CPU%':>6s} {'MIPS':>8s} {'EXITS/s':>8s} {'FRAMES':>7s} {'SHARED':>7s} STATUS"]
    for s in stats.values():
        exits = sum(s["exits"].values())
        lines.append(
            f"{s['name'][:12]:12s} {s['state']:9s} {100 * s['insns'] / total:6.1f} "
            f"{s['insns'] / max(elapsed_s, 1e-9) / 1e6:8.1f} {exits / max(elapsed_s, 1e-9):8.0f} "
            f"{s['frames_owned']:7d} {s['frames_shared']:7d} {'' if s['status'] is None else s['status']}"
        )
    return "\n".join(lines)
