"""`pyhv bench cpu`: six compiled-C bare-metal workloads (guests/bench/) on pyhv and its peers.

Every workload binary runs, interleaved and repeated, on:
  raw       raw Unicorn: RAM from plain mem_map, one emu_start, no hooks (the engine's own speed)
  pyhv      pyhv's VM (C MMU in UC_TLB_VIRTUAL mode, block hook, C trap entry)
  pyhv-ummu pyhv's VM with mmu="unicorn" (Unicorn's own Sv32 walker over identity-mapped RAM)
  qemu      qemu-system-riscv32 TCG, `-M virt -bios none -kernel`, when it is on PATH; each run
            is a whole process, less the median start-up of the same binary with 0 repetitions
in two modes, chosen by a word the harness patches into the binary (guests/bench/entry.S):
  bare      M-mode, no paging, RAM readable, writable and executable
  sv32      S-mode under the program's own Sv32 table: 4 KiB pages, code R+X, data R+W (not X)
Each repetition of a workload returns a checksum that the program compares with the value
computed here in Python (the `reference` functions), so an engine that computes wrong cannot win.
Instructions are counted once per workload and mode, by pyhv (rv32ima: no compressed code, so
the count is exact), and checked equal between pyhv's two MMU modes; MIPS for every engine is
that count over its median time.  Times are medians of N runs with their spread
((max - min) / median), never the minimum.
"""

import math
import os
import resource
import shutil
import statistics
import struct
import subprocess
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import unicorn
from unicorn import riscv_const as rc

from pyhv.errors import PyhvError, UsageError

RAM_BASE = 0x8000_0000  # PYHV_RAM_BASE, csrc/abi.h
FINISHER_BASE = 0x0010_0000  # PYHV_FINISHER_BASE
FINISHER_PASS, FINISHER_FAIL = 0x5555, 0x3333  # (code << 16) | FAIL
RAM_MIB = 16
EBREAK = (0x00100073).to_bytes(4, "little")
BENCH_DIR = Path(__file__).resolve().parent.parent / "guests" / "bench"
PARAMS_OFFSET, PARAMS_MAGIC = 4, 0x48435442  # guests/bench/entry.S
MODES = {"bare": 0, "sv32": 1}
ENGINES = ("raw", "pyhv", "pyhv-ummu", "qemu")
QEMU = "qemu-system-riscv32"
M32 = 0xFFFF_FFFF


def _lcg(seed: int, n: int) -> np.ndarray:
    """n outputs of guests/bench/bench.h's lcg() from `seed` (x' = 1664525 x + 1013904223)."""
    out = np.empty(n, dtype=np.uint32)
    x = seed
    for i in range(n):
        x = (x * 1664525 + 1013904223) & M32
        out[i] = x
    return out


def ref_crc32() -> int:
    return zlib.crc32(_lcg(1, 256 * 1024 // 4).astype("<u4").tobytes())


def ref_qsort() -> int:
    a = np.sort(_lcg(2, 50_000)).astype(np.uint64)
    return int((a * np.arange(1, len(a) + 1, dtype=np.uint64) % 2**32).sum() % 2**32)


def ref_matmul() -> int:
    pairs = (_lcg(3, 2 * 96 * 96) >> 24).astype(np.int64).reshape(96, 96, 2)
    c = (pairs[:, :, 0] @ pairs[:, :, 1]).ravel()
    h = 0
    for v in c.tolist():
        h = (h * 31 + v) & M32
    return h


def ref_chase() -> int:
    n = 65536
    x = 4
    value = []
    for _ in range(n):
        x = (x * 1664525 + 1013904223) & M32
        value.append(x >> 8)
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        x = (x * 1664525 + 1013904223) & M32
        j = x % i
        order[i], order[j] = order[j], order[i]
    nxt = [0] * n
    for i in range(n):
        nxt[order[i]] = order[(i + 1) % n]
    p, total = 0, 0
    for _ in range(4 * n):
        total += value[p]
        p = nxt[p]
    return total & M32


def ref_interp() -> int:
    acc = 1
    for i in range(20_000, 0, -1):
        acc = (acc * 31 + i) & M32
        acc ^= acc >> 7
    return acc


def ref_memops() -> int:
    words = 1 << 18
    a = np.zeros(words, dtype=np.uint32)
    b = a
    for k in range(4):
        a = np.full(words, 0x11 * (k + 1) * 0x01010101, dtype=np.uint32)
        a[4099 * k] ^= np.uint32((0x9E3779B9 * k) & M32)
        b = a.copy()
        a[: words - 1024] = b[1024:]
    return int((a[::16].astype(np.uint64).sum() + b[::16].astype(np.uint64).sum()) % 2**32)


# name -> (what one repetition does, repetitions at scale 1, Python reference of its checksum)
WORKLOADS = {
    "crc32": ("CRC-32 (zlib's) over 256 KiB, byte-wise table", 40, ref_crc32),
    "qsort": ("quicksort of 50,000 32-bit ints", 8, ref_qsort),
    "matmul": ("96x96 integer matrix product", 12, ref_matmul),
    "chase": ("linked-list pointer chase over 1 MiB (65,536 nodes, 262,144 steps)", 10, ref_chase),
    "interp": ("switch-dispatch bytecode interpreter, 360,000 bytecodes", 12, ref_interp),
    "memops": ("memset + 2 memcpy of 1 MiB, 4 rounds", 4, ref_memops),
}


class BenchError(PyhvError):
    """A benchmark run that did not end as it must (wrong checksum, wrong exit): one line."""


def program(name: str, mode: str, reps: int, expected: int) -> bytes:
    """The committed binary of workload `name` with its parameter block patched."""
    path = BENCH_DIR / f"{name}.bin"
    try:
        image = bytearray(path.read_bytes())
    except OSError as e:
        raise BenchError(f"cannot read {path}: {e.strerror}") from None
    magic, *_ = struct.unpack_from("<I", image, PARAMS_OFFSET)
    if magic != PARAMS_MAGIC:
        raise BenchError(f"{path} has no parameter block")
    struct.pack_into("<III", image, PARAMS_OFFSET + 4, MODES[mode], reps, expected)
    return bytes(image)


class _Clock:
    """Wall seconds (the headline) and CPU seconds of this thread, or of reaped child processes
    (less sensitive to a loaded host: time spent waiting for a core is not counted)."""

    def __init__(self, children: bool = False):
        self.children = children

    def _cpu(self) -> float:
        if self.children:
            r = resource.getrusage(resource.RUSAGE_CHILDREN)
            return r.ru_utime + r.ru_stime
        return time.thread_time()

    def __enter__(self):
        self.cpu0, self.wall0 = self._cpu(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall0, self._cpu() - self.cpu0

    @property
    def seconds(self) -> tuple[float, float]:
        return self.wall, self.cpu


def _check(engine: str, name: str, a0: int, finisher_word: int, expected: int) -> None:
    """The program's own verdict (the finisher word) and its checksum (a0 at the ebreak)."""
    if finisher_word != FINISHER_PASS or a0 != expected:
        raise BenchError(f"{name} on {engine}: finisher word 0x{finisher_word:x}, checksum 0x{a0:08x}, "
                         f"expected 0x{expected:08x}")


def run_raw(image: bytes, name: str, expected: int) -> float:
    """Raw Unicorn: RAM and the finisher page from plain mem_map, one emu_start, no hooks;
    the program's ebreak ends emu_start (no hook for it: engine engine facts §2)."""
    uc = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV32)
    uc.mem_map(RAM_BASE, RAM_MIB << 20)
    uc.mem_map(FINISHER_BASE, 0x1000)
    uc.mem_write(RAM_BASE, image)
    with _Clock() as clock:
        try:
            uc.emu_start(RAM_BASE, 0)
        except unicorn.UcError:
            pass
    pc = uc.reg_read(rc.UC_RISCV_REG_PC)
    if uc.mem_read(pc, 4) != EBREAK:
        raise BenchError(f"{name} on raw Unicorn stopped at 0x{pc:08x}, not at the program's ebreak")
    finisher = struct.unpack("<I", uc.mem_read(FINISHER_BASE, 4))[0]  # plain RAM: the word the program wrote
    _check("raw Unicorn", name, uc.reg_read(rc.UC_RISCV_REG_A0) & M32, finisher, expected)
    return clock.seconds


def run_pyhv(image: bytes, name: str, expected: int, mmu: str) -> tuple[float, int]:
    """pyhv's VM with the sifive_test finisher at its address; (seconds in run(), instructions)."""
    from pyhv.devices.finisher import Finisher
    from pyhv.memory import FramePool
    from pyhv.vm import VM

    vm = VM(FramePool(size_mib=RAM_MIB + 8), mem_size_mib=RAM_MIB, mmu=mmu)
    try:
        finisher = Finisher()
        vm.add_device(FINISHER_BASE, finisher)
        vm.load(RAM_BASE, image)
        cpu = vm.cpu
        cpu.pc, cpu.priv, cpu.ebreak_exits = RAM_BASE, 3, True
        with _Clock() as clock:
            ex = cpu.run(budget_insns=10**13)
        if ex.reason != "breakpoint":
            raise BenchError(f"{name} on pyhv ({mmu} MMU) did not reach its ebreak: {ex}")
        kind, code = finisher.last_request or ("none", 0)
        word = {"poweroff": FINISHER_PASS, "fail": code << 16 | FINISHER_FAIL}.get(kind, 0)
        _check(f"pyhv ({mmu} MMU)", name, cpu["a0"], word, expected)
        return clock.seconds, cpu.insns
    finally:
        vm.close()


def run_qemu(image: bytes, name: str, workdir: str) -> float:
    """A whole qemu-system-riscv32 process (TCG, no -icount) on the same flat binary; it exits
    through the finisher with status 0 when every repetition's checksum matched."""
    path = os.path.join(workdir, "bench.bin")
    with open(path, "wb") as f:
        f.write(image)
    cmd = [QEMU, "-nographic", "-M", "virt", "-bios", "none", "-m", "128M", "-kernel", path, "-monitor", "none"]
    with _Clock(children=True) as clock:
        try:
            r = subprocess.run(cmd, capture_output=True, timeout=600, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise BenchError(f"{name} on QEMU did not exit within 600 s") from None
    if r.returncode != 0:
        err = r.stderr.decode(errors="replace").strip().splitlines()
        raise BenchError(f"{name} on QEMU exited with status {r.returncode}" + (f": {err[-1]}" if err else ""))
    return clock.seconds


def _figures(runs: list[tuple[float, float]], insns: int, startup: tuple[float, float]) -> dict:
    """Median and spread ((max - min) / median, in %) of wall and CPU seconds, less `startup`;
    MIPS from the wall median.  A median that start-up swallows is reported as None."""
    out = {}
    for k, prefix in ((0, ""), (1, "cpu_")):
        ts = [run[k] - startup[k] for run in runs]
        med = statistics.median(ts)
        ok = med > 0
        out[f"{prefix}median_s"] = med if ok else None
        out[f"{prefix}spread_pct"] = 100 * (max(ts) - min(ts)) / med if ok else None
    out["mips"] = insns / out["median_s"] / 1e6 if out["median_s"] else None
    return out


def _geomean(values: list) -> float | None:
    if not values or any(v is None or v <= 0 for v in values):
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def bench_cpu(scale: float = 1.0, reps: int = 3, workloads: list[str] | None = None) -> dict:
    names = workloads or list(WORKLOADS)
    for name in names:
        if name not in WORKLOADS:
            raise UsageError(f"unknown workload {name!r} (known: {', '.join(WORKLOADS)})")
    qemu = shutil.which(QEMU)
    engines = [e for e in ENGINES if e != "qemu" or qemu]
    expected = {name: WORKLOADS[name][2]() for name in names}
    work_reps = {name: max(1, round(WORKLOADS[name][1] * scale)) for name in names}
    times = {(n, m, e): [] for n in names for m in MODES for e in engines}
    startup = {m: [] for m in MODES}
    insns = {}
    with tempfile.TemporaryDirectory(prefix="pyhv-bench-cpu-") as workdir:
        for _ in range(reps):  # interleaved: every (workload, mode, engine) once per round
            if qemu:
                for mode in MODES:
                    startup[mode].append(run_qemu(program(names[0], mode, 0, 0), "start-up", workdir))
            for name in names:
                for mode in MODES:
                    image = program(name, mode, work_reps[name], expected[name])
                    for engine in engines:
                        if engine == "raw":
                            dt = run_raw(image, name, expected[name])
                        elif engine == "qemu":
                            dt = run_qemu(image, name, workdir)
                        else:
                            dt, count = run_pyhv(image, name, expected[name], "pyhv" if engine == "pyhv" else "unicorn")
                            seen = insns.setdefault((name, mode), count)
                            if count != seen:
                                raise BenchError(f"{name} ({mode}): {engine} retired {count} instructions, "
                                                 f"another run {seen}")
                        times[(name, mode, engine)].append(dt)
    # start-up of an empty run (0 repetitions) of the same mode, wall and CPU, subtracted from QEMU
    qemu_startup = {m: tuple(statistics.median(t[k] for t in startup[m]) for k in (0, 1)) for m in MODES} \
        if qemu else None
    table = []
    for name in names:
        row = {"workload": name, "what": WORKLOADS[name][0], "repetitions": work_reps[name],
               "checksum": f"0x{expected[name]:08x}", "modes": {}}
        for mode in MODES:
            count = insns[(name, mode)]
            per_engine = {}
            for engine in ENGINES:
                per_engine[engine] = None if engine not in engines else \
                    _figures(times[(name, mode, engine)], count, qemu_startup[mode] if engine == "qemu" else (0, 0))
            row["modes"][mode] = {"insns": count, "engines": per_engine}
        table.append(row)

    def ratio(mode, peer, engine="pyhv", key="median_s"):
        vals = []
        for row in table:
            e = row["modes"][mode]["engines"]
            if e[peer] is None or e[peer][key] is None:
                return None
            vals.append(e[peer][key] / e[engine][key])
        return _geomean(vals)

    def geomeans(key):
        return {
            "pyhv_over_raw_bare": ratio("bare", "raw", key=key),
            "pyhv_over_raw_sv32": ratio("sv32", "raw", key=key),
            "pyhv_over_qemu_bare": ratio("bare", "qemu", key=key),
            "pyhv_over_qemu_sv32": ratio("sv32", "qemu", key=key),
            "pyhv_ummu_over_raw_bare": ratio("bare", "raw", "pyhv-ummu", key=key),
            "pyhv_ummu_over_raw_sv32": ratio("sv32", "raw", "pyhv-ummu", key=key),
        }

    geomean, geomean_cpu = geomeans("median_s"), geomeans("cpu_median_s")
    return {
        "workloads": table,
        "geomean": geomean,
        "geomean_cpu": geomean_cpu,
        "reps": reps,
        "scale": scale,
        "qemu": _qemu_version(qemu) if qemu else "peer not installed",
        "qemu_startup_s": {m: qemu_startup[m][0] for m in MODES} if qemu else None,
        "qemu_startup_cpu_s": {m: qemu_startup[m][1] for m in MODES} if qemu else None,
        "unicorn": unicorn.__version__,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "method": "speed ratios are peer time / pyhv time (above 1: pyhv faster); medians of `reps` "
                  "interleaved runs; spread = (max - min) / median; instructions counted by pyhv; wall time is "
                  "the headline, CPU time (this thread, or QEMU's whole process) the cross-check on a loaded host",
    }


def _qemu_version(path: str) -> str:
    r = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    return r.stdout.splitlines()[0] if r.returncode == 0 and r.stdout else path


def format_table(result: dict) -> str:
    """The human-readable table: per workload and mode, each engine's median wall time with its
    spread and MIPS, and the median CPU time with its spread; then the geomeans of both."""
    lines = [f"{'':23s}" + "".join(f"  {e:>36s}" for e in ENGINES),
             f"{'workload':8s} {'mode':5s} {'Minsns':>8s}" + f"  {'wall s (spread)  MIPS | cpu s (spread)':>36s}" * 4]
    for row in result["workloads"]:
        for mode, m in row["modes"].items():
            line = f"{row['workload']:8s} {mode:5s} {m['insns'] / 1e6:8.1f}"
            for e in ENGINES:
                s = m["engines"][e]
                if s is None:
                    cell = "peer not installed"
                elif s["median_s"] is None:
                    cell = "within start-up time"
                else:
                    cell = f"{s['median_s']:.3f} ({s['spread_pct']:3.0f}%) {s['mips']:5.0f}"
                    if s["cpu_median_s"] is not None:
                        cell += f" | {s['cpu_median_s']:.3f} ({s['cpu_spread_pct']:3.0f}%)"
                line += f"  {cell:>36s}"
            lines.append(line)
    lines.append("")
    lines.append(f"{'geomean speed ratio':26s} {'wall':>8s} {'cpu':>8s}")
    for key, value in result["geomean"].items():
        missing = "peer not installed" if result["qemu"] == "peer not installed" and "qemu" in key else "n/a"
        cpu = result["geomean_cpu"][key]
        lines.append(f"{key:26s} {missing if value is None else f'{value:8.3f}'} "
                     f"{'' if cpu is None else f'{cpu:8.3f}'}")
    lines.append(f"{'qemu':26s} {result['qemu']}")
    if result["qemu_startup_s"]:
        startup = ", ".join(f"{m} {t:.3f} s wall, {result['qemu_startup_cpu_s'][m]:.3f} s cpu"
                            for m, t in result["qemu_startup_s"].items())
        lines.append(f"{'qemu start-up subtracted':26s} {startup}")
    lines.append(f"{'load average':26s} {' '.join(f'{x:.2f}' for x in result['load_average'] or [])}")
    return "\n".join(lines)
