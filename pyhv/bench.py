"""`pyhv bench`: benchmarks that measure pyhv against its own baselines, side by side
in one run (ratios, never wall-clock limits; benchmarks are not tests).

core: guest MIPS vs raw Unicorn on the same code; U->S ecall round trips with the
C trap entry vs the Python twin; TLB fills with the C walker vs the Python twin.
cpu: six compiled-C workloads on raw Unicorn, pyhv and QEMU (pyhv/bench_cpu.py).
"""

import json
import os
import time
from pathlib import Path

import unicorn
from unicorn import riscv_const as rc

from pyhv import twin
from pyhv.memory import FramePool
from pyhv.vm import VM

RAM_BASE = 0x8000_0000
HELLO = Path(__file__).resolve().parent.parent / "guests" / "hello.img"
PROGRAMS = Path(__file__).resolve().parent.parent / "tests" / "guests"
EBREAK = (0x00100073).to_bytes(4, "little")


def _program(name: str) -> bytes:
    path = PROGRAMS / f"{name}.bin"
    try:
        return path.read_bytes()
    except OSError as e:
        raise SystemExit(f"pyhv bench: cannot read benchmark program {path}: {e.strerror}") from None


def _pyhv_run(program: bytes, a0: int):
    vm = VM(FramePool(size_mib=64), mem_size_mib=8)
    vm.load(RAM_BASE, program)
    cpu = vm.cpu
    cpu.pc, cpu["a0"], cpu.ebreak_exits = RAM_BASE, a0, True
    t0 = time.perf_counter()
    ex = cpu.run(budget_insns=10**12)
    dt = time.perf_counter() - t0
    if ex.reason != "breakpoint":
        raise SystemExit(f"pyhv bench: program did not finish: {ex}")
    return cpu, dt


def _raw_run(program: bytes, a0: int, until: int, setup=None, tlb_virtual=False):
    uc = twin.flat_engine(RAM_BASE, 8 << 20, program, tlb_virtual=tlb_virtual)
    uc.reg_write(rc.UC_RISCV_REG_A0, a0)
    extra = setup(uc) if setup else None
    t0 = time.perf_counter()
    try:
        uc.emu_start(RAM_BASE, until)
    except unicorn.UcError:  # the final ebreak, with no hook for it, ends emu_start (engine facts §2)
        pass
    dt = time.perf_counter() - t0
    pc = uc.reg_read(rc.UC_RISCV_REG_PC)
    if uc.mem_read(pc, 4) != EBREAK:
        raise SystemExit(f"pyhv bench: baseline run stopped at 0x{pc:08x}, not at the program's ebreak")
    return uc, dt, extra


def bench_core(scale: float = 1.0) -> dict:
    out = {}
    # 1. compute loop: pyhv (block hook, C MMU, stage 2) vs raw Unicorn, one emu_start, no hooks
    prog = _program("compute")
    iters = max(1, int(5_000_000 * scale))
    cpu, t_pyhv = _pyhv_run(prog, iters)
    insns = cpu.insns
    ebreak_at = RAM_BASE + prog.index(EBREAK)
    uc, t_raw, _ = _raw_run(prog, iters, until=ebreak_at)
    if uc.reg_read(rc.UC_RISCV_REG_A0) != cpu["a0"]:
        raise SystemExit("pyhv bench: raw and pyhv runs of compute disagree")
    out["mips_pyhv"] = insns / t_pyhv / 1e6
    out["mips_raw"] = insns / t_raw / 1e6
    out["mips_ratio"] = out["mips_pyhv"] / out["mips_raw"]
    # 2. U -> S ecall + sret round trips: C trap entry vs the Python twin as the INTR hook
    prog = _program("syscall")
    n_c, n_py = max(1, int(400_000 * scale)), max(1, int(20_000 * scale))
    cpu, t_c = _pyhv_run(prog, n_c)
    uc, t_py, _ = _raw_run(prog, n_py, until=0xFFFF_FFFF, setup=twin.install_trap_twin)
    out["syscalls_per_s_c"] = cpu["s1"] / t_c
    out["syscalls_per_s_python"] = uc.reg_read(rc.UC_RISCV_REG_S1) / t_py
    out["syscall_ratio"] = out["syscalls_per_s_c"] / out["syscalls_per_s_python"]
    # 3. TLB fills on a page-hopping loop: C walker vs the Python twin as the fill hook
    prog = _program("pagehop")
    r_c, r_py = max(1, int(2_000 * scale)), max(1, int(100 * scale))
    cpu, t_c = _pyhv_run(prog, r_c)
    fills_c = cpu.counters["tlb_fills"]

    def mmu_twin(uc):
        return twin.install_mmu_twin(uc, RAM_BASE, 8 << 20)

    uc, t_py, stats = _raw_run(prog, r_py, until=0xFFFF_FFFF, setup=mmu_twin, tlb_virtual=True)
    out["tlb_fills_per_s_c"] = fills_c / t_c
    out["tlb_fills_per_s_python"] = stats["fills"] / t_py
    out["tlb_fill_ratio"] = out["tlb_fills_per_s_c"] / out["tlb_fills_per_s_python"]
    return {k: round(v, 3) for k, v in out.items()}


class _TimedConsole:
    """A console sink that notes the wall time at which each output line completes."""

    def __init__(self):
        self.text = bytearray()
        self.lines = []  # (time, line)

    def write(self, data: bytes) -> None:
        self.text += data
        while b"\n" in self.text:
            line, _, rest = bytes(self.text).partition(b"\n")
            self.lines.append((time.perf_counter(), line.decode(errors="replace")))
            self.text = bytearray(rest)

    def flush(self) -> None:
        pass


def _boot_hello(bootargs: str = ""):
    from pyhv.console import Console
    from pyhv.machine import Machine, MachineConfig

    sink = _TimedConsole()
    machine = Machine(MachineConfig(image=str(HELLO), bootargs=bootargs, snapshot=True), console=Console(output=sink))
    try:
        status = machine.run()
        if status != 0:
            raise SystemExit(f"pyhv bench: hello ({bootargs or 'default'}) exited with status {status}")
        return machine.insns_total, sink.lines
    finally:
        machine.close()


def bench_boot(scale: float = 1.0) -> dict:
    """boot_insns: reset to hello's power-off; boot_ms: the whole `pyhv boot` process, wall;
    blk_mb_s: what hello's bench=blk mode reads per wall second (the device model is host time)."""
    import subprocess
    import sys

    insns, _ = _boot_hello()
    runs = max(1, int(3 * scale))
    walls = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "pyhv", "boot", "--snapshot", str(HELLO)], capture_output=True)
        walls.append(time.perf_counter() - t0)
        if r.returncode != 0:
            raise SystemExit(f"pyhv bench: `pyhv boot {HELLO}` exited with status {r.returncode}")
    _, lines = _boot_hello("bench=blk")
    start = next(t for t, line in lines if line.startswith("blk:") and "requests" in line)
    end, done = next((t, line) for t, line in lines if line.startswith("blk: read"))
    nbytes = int(done.split()[2])
    return {
        "boot_insns": insns,
        "boot_ms": round(1000 * min(walls), 1),
        "blk_mb_s": round(nbytes / (end - start) / 1e6, 1),
        "blk_bytes": nbytes,
    }


def _rss_mib() -> float:
    """Resident set size of this process (Linux /proc; elsewhere the peak from getrusage)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _spin_image() -> str:
    import tempfile

    from pyhv import image

    path = os.path.join(tempfile.mkdtemp(prefix="pyhv-bench-"), "spin.img")
    with open(path, "wb") as f:
        f.write(image.build((PROGRAMS / "spin.bin").read_bytes()))
    return path


def bench_density(scale: float = 1.0, max_vms: int = 600) -> dict:
    """vms_idle: hello VMs booted to their idle wfi in one process with a 2 GiB pool (until
    the pool refuses or max_vms); mib_per_idle_vm: resident host memory per idle VM;
    sched_scaling: 8 busy VMs on all host cores vs one busy VM's speed times the cores."""
    from pyhv.errors import OutOfMemory
    from pyhv.host import GuestSpec, Host

    target = max(8, int(max_vms * scale))
    host = Host(pool_size_mib=2048, slice_insns=1_000_000)
    rss0 = _rss_mib()
    count, reason = 0, "max_vms"
    while count < target:
        batch = min(50, target - count)
        try:
            for i in range(batch):
                host.add(GuestSpec(f"idle{count + i}", image=str(HELLO), mem_size_mib=16, boot_args="idle"))
        except OutOfMemory:
            reason = "pool exhausted"
            break
        count += batch
        host.run(timeout_s=600, until="idle")
    booted = sum(1 for g in host.guests if g.state == "idle")
    rss = _rss_mib() - rss0
    frames = host.pool.nframes - host.pool.frames_free
    host.close()

    spin = _spin_image()
    cores = os.cpu_count() or 1
    seconds = max(0.5, 2.0 * scale)

    def busy_mips(n_vms: int, pcpus: int) -> float:
        h = Host(pool_size_mib=256, pcpus=pcpus, slice_insns=1_000_000)
        for i in range(n_vms):
            h.add(GuestSpec(f"busy{i}", image=spin, bios=None, mem_size_mib=4))
        t0 = time.perf_counter()
        h.run(timeout_s=seconds)
        elapsed = time.perf_counter() - t0
        insns = sum(g.insns for g in h.guests)
        h.close()
        return insns / elapsed / 1e6

    one = busy_mips(1, 1)
    eight = busy_mips(8, cores)
    return {
        "vms_idle": booted,
        "vms_idle_limit": reason,
        "mib_per_idle_vm": round(rss / max(booted, 1), 2),
        "frames_per_idle_vm": round(frames / max(booted, 1), 1),
        "sched_scaling": round(eight / (one * cores), 3),
        "mips_one_vm": round(one, 1),
        "mips_eight_vms": round(eight, 1),
        "host_cores": cores,
    }


TINYOS = Path(__file__).resolve().parent.parent / "guests" / "tinyos.img"




def bench_os(scale: float = 1.0) -> dict:
    """tinyos: boot_insns and boot_ms from reset to the first shell prompt; then osbench's
    getpid, fork+exec+wait and pipe ping-pong loops, in virtual time (the guest's uptime)
    and wall time (the host's clock around the same two output lines)."""
    from pyhv.console import Console, StaticInput
    from pyhv.machine import Machine, MachineConfig

    n_sys, n_fork, n_ctx = (max(10, int(k * scale)) for k in (20_000, 200, 2_000))
    script = f"osbench syscall {n_sys}\nosbench forkexec {n_fork}\nosbench ctxsw {n_ctx}\npoweroff\n".encode()
    sink = _TimedConsole()
    t0 = time.perf_counter()
    machine = Machine(MachineConfig(image=str(TINYOS), snapshot=True), console=Console(output=sink))
    prompt = {}

    def write(data: bytes, _write=sink.write) -> None:
        _write(data)
        if not prompt and b"tinyos# " in sink.text:
            # inside the UART's MMIO callback: the vCPU's count is current to this block
            prompt.update(insns=machine.insns_total, wall=time.perf_counter())

    sink.write = write
    machine.uart.line = StaticInput(script)
    try:
        status = machine.run()
    finally:
        machine.close()
    if status != 0 or not prompt:
        raise SystemExit(f"pyhv bench: tinyos did not reach its prompt and power off (status {status})")
    starts, done = {}, {}
    for t, line in sink.lines:  # a line may begin with the shell's prompt
        words = line[line.find("osbench:"):].split() if "osbench:" in line else []
        if words[1:2] == ["start"]:
            starts[words[2]] = t
        elif words[1:2] == ["done"]:
            done[words[2]] = (t - starts[words[2]], int(words[3]), int(words[4]))

    def per_op_us(mode, ops_per_iter=1):
        wall, n, ms = done[mode]
        return round(1e6 * wall / (n * ops_per_iter), 3), round(1000 * ms / (n * ops_per_iter), 3)

    fork_wall, fork_virtual = per_op_us("forkexec")
    ctx_wall, ctx_virtual = per_op_us("ctxsw", 2)
    sys_wall, sys_virtual = per_op_us("syscall")
    return {
        "boot_insns": prompt["insns"],
        "boot_ms": round(1000 * (prompt["wall"] - t0), 1),
        "fork_exec_wait_us": {"virtual": fork_virtual, "wall": fork_wall},
        "syscall_ns": round(1000 * sys_wall, 1),
        "syscall_ns_virtual": round(1000 * sys_virtual, 1),
        "ctx_switch_us": ctx_wall,
        "ctx_switch_us_virtual": ctx_virtual,
    }


def bench_cpu(scale: float = 1.0, reps: int = 3, workloads: str | None = None) -> dict:
    """Six compiled-C workloads on raw Unicorn, pyhv (bare and Sv32, both MMUs) and QEMU TCG
    (pyhv/bench_cpu.py says what each figure measures)."""
    from pyhv import bench_cpu as cpu

    names = [w.strip() for w in workloads.split(",") if w.strip()] if workloads else None
    return cpu.bench_cpu(scale, reps, names)


BENCHES = {"core": bench_core, "boot": bench_boot, "density": bench_density, "os": bench_os, "cpu": bench_cpu}


def main(name: str, as_json: bool, scale: float = 1.0, reps: int = 3, workloads: str | None = None) -> int:
    if name == "cpu":
        from pyhv.bench_cpu import format_table

        result = bench_cpu(scale, reps, workloads)
        print(json.dumps(result) if as_json else format_table(result))
        return 0
    result = BENCHES[name](scale)
    if as_json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:24s} {value}")
    return 0
