"""Every instruction counts, every trap is counted (issue 9, items 2 and 9).

* Compressed (2-byte) instructions count one each, exactly and deterministically: a kernel
  that is just `c.j .` (tests/guests/rvc.S) meets --max-insns, its timer ticks, --timeout,
  signals and Host.run(timeout_s) end it; mixed 2/4-byte code counts what a decoder counts.
* The wall-clock backstop (Machine.stop, the watchdog, the signal watcher) ends a run even
  inside a slice that never ends by itself, and leaves the counts of normal runs alone.
* Interrupts the engine delivers itself (S-level lines) are in counters["interrupts"] and in
  -d int, as many as the guest saw.
"""

import io
import signal
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyhv import image
from pyhv import isolation as iso
from pyhv._native import ffi, lib
from pyhv.host import GuestSpec, Host
from pyhv.memory import FramePool
from pyhv.trace import Tracer
from pyhv.vm import VM

GUESTS = __import__("pathlib").Path(__file__).parent / "guests"
RAM = 0x8000_0000
RESULTS = RAM + 0x10000


def pyhv(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "pyhv", *args], capture_output=True, timeout=timeout)


@pytest.fixture(scope="module")
def rvc_img(tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "rvc.img"
    path.write_bytes(image.build((GUESTS / "rvc.bin").read_bytes()))
    return str(path)


# ---- item 2: the c.j . kernel ---------------------------------------------------------------


def test_cj_loop_counts_one_per_iteration_and_its_timer_ticks(boot, programs):
    vm, cpu = boot("rvc", a0=0)
    vm.add_clint()
    labels = programs.labels("rvc", "spin tick strap done")
    ex = cpu.run(1_000_000)
    assert (ex.reason, ex.pc, cpu.insns) == ("budget", labels["spin"], 1_000_000)
    assert cpu.mtime == 100_000  # one tick per 10 instructions, the c.j ones included
    # the timer (every 1000 ticks) entered the compressed handler 99 times; it counted them itself
    assert cpu["s1"] == int.from_bytes(vm.read_phys(RESULTS, 4), "little") == 99
    assert cpu.counters["interrupts"] == {7: 99}


def test_boot_cj_kernel_meets_max_insns_exactly(rvc_img):
    r = pyhv("boot", rvc_img, "--bios", "none", "--max-insns", "1234567")
    assert r.returncode == 124
    assert r.stderr.decode().strip() == "pyhv: stopped after 1234567 instructions (--max-insns)"


def test_boot_cj_kernel_timeout_exits_124(rvc_img):
    r = pyhv("boot", rvc_img, "--bios", "none", "--timeout", "1", timeout=60)
    assert r.returncode == 124 and "--timeout" in r.stderr.decode()


def test_host_run_timeout_returns_with_one_pcpu(rvc_img):
    host = Host(pool_size_mib=64, pcpus=1)
    host.add(GuestSpec("cj", image=rvc_img, bios=None, mem_size_mib=4))
    try:
        stats = host.run(timeout_s=0.5)
    finally:
        host.close()
    assert stats["cj"]["state"] != "done" and stats["cj"]["insns"] > 0


def _boot_then_signal(rvc_img, sig, slice_insns=None):
    """`pyhv boot` the c.j kernel, send `sig` once the run loop has started, return (status, stderr)."""
    code = ("import sys; from pyhv import cli, machine\n"
            f"if {slice_insns!r}: machine.SLICE_INSNS = {slice_insns!r}\n"
            "run = machine.Machine.run\n"
            "def ready(self):\n    print('ready', file=sys.stderr, flush=True)\n    return run(self)\n"
            "machine.Machine.run = ready\n"
            "sys.exit(cli.main(sys.argv[1:]))\n")
    p = subprocess.Popen([sys.executable, "-c", code, "boot", rvc_img, "--bios", "none"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stderr.readline() == b"ready\n"
    p.send_signal(sig)
    _out, err = p.communicate(timeout=60)
    return p.returncode, err.decode()


@pytest.mark.parametrize("sig,status,word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated by SIGTERM")])
def test_signal_ends_a_cj_kernel(rvc_img, sig, status, word):
    returncode, err = _boot_then_signal(rvc_img, sig)
    assert returncode == status and err.strip() == f"pyhv: {word}"


# ---- the wall-clock backstop, with slices that never end by themselves -------------------------

ENDLESS = 10**15  # instructions per slice: only a stop from outside ends it


def test_timeout_watchdog_stops_an_endless_slice(rvc_img, monkeypatch):
    from pyhv import machine as machine_mod

    monkeypatch.setattr(machine_mod, "SLICE_INSNS", ENDLESS)
    m = machine_mod.Machine(machine_mod.MachineConfig(image=rvc_img, bios=None, mem_size_mib=4, timeout_s=0.3))
    try:
        assert m.run() == 124
        assert m.last_exit.reason == "host"
    finally:
        m.close()


def test_host_deadline_stops_an_endless_slice(rvc_img):
    host = Host(pool_size_mib=64, pcpus=1, slice_insns=10**9)  # the largest slice a host accepts: seconds
    host.add(GuestSpec("cj", image=rvc_img, bios=None, mem_size_mib=4))
    try:
        stats = host.run(timeout_s=0.3)
    finally:
        host.close()
    assert stats["cj"]["slices"] == 1 and stats["cj"]["exits"] == {"host": 1}


@pytest.mark.parametrize("sig,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_an_endless_slice(rvc_img, sig, status):
    returncode, err = _boot_then_signal(rvc_img, sig, slice_insns=ENDLESS)
    assert returncode == status, err


def test_the_watchdog_leaves_normal_runs_alone():
    from pyhv.machine import Machine, MachineConfig

    def run(timeout_s):
        m = Machine(MachineConfig(image="guests/hello.img", timeout_s=timeout_s))
        try:
            return m.run(), m.insns_total, m.cpu.counters
        finally:
            m.close()

    assert run(None) == run(600.0)


# ---- item 2: mixed 2-byte and 4-byte code counts what a decoder counts ----------------------------

C_REGS = st.integers(8, 15)  # the registers 3-bit compressed fields name
ALU_RD = st.integers(1, 30)  # x31 is the loop counter


def _c_alu():
    """Compressed instructions that only compute (no memory, no control flow, never illegal)."""
    return st.one_of(
        st.just(iso.C_NOP),
        st.builds(iso.c_ci, st.sampled_from([0b000, 0b010]), ALU_RD, st.integers(1, 63)),  # c.addi, c.li
        st.builds(lambda rd, sh: iso.c_ci(0b000, rd, sh, op=0b10), ALU_RD, st.integers(1, 31)),  # c.slli
        st.builds(lambda rd, rs: iso.c_cr(0b1000, rd, rs), ALU_RD, ALU_RD),  # c.mv
        st.builds(lambda rd, rs: iso.c_cr(0b1001, rd, rs), ALU_RD, ALU_RD),  # c.add
        st.builds(lambda f, rd, rs: 0b100011 << 10 | (rd - 8) << 7 | f << 5 | (rs - 8) << 2 | 0b01,
                  st.integers(0, 3), C_REGS, C_REGS),  # c.sub c.xor c.or c.and
    ).map(lambda h: h.to_bytes(2, "little"))


def _alu32():
    return st.builds(iso.addi, ALU_RD, ALU_RD, st.integers(-2048, 2047)).map(lambda w: w.to_bytes(4, "little"))


mixed_code = st.lists(st.one_of(_c_alu(), _alu32()), min_size=1, max_size=200)


def _decoded(code: bytes) -> int:
    return int(lib.pyhv_count_insns(ffi.from_buffer(code), len(code)))


def _run_code(vm, body: bytes, loops: int):
    """li x31, loops; body; addi x31, x31, -1; bnez x31, body; ebreak -> (exit, instructions run)."""
    back = -(len(body) + 4)
    code = (iso.addi(31, 0, loops).to_bytes(4, "little") + body + iso.addi(31, 31, -1).to_bytes(4, "little")
            + iso.branch(1, 31, 0, back).to_bytes(4, "little") + iso.EBREAK.to_bytes(4, "little"))
    vm.write_phys(RAM, code)
    cpu = vm.cpu
    cpu.pc, cpu.priv, cpu.ebreak_exits = RAM, 3, True
    before = cpu.insns
    ex = cpu.run(10_000_000)
    return ex, cpu.insns - before


@given(units=mixed_code, loops=st.integers(1, 40))
def test_mixed_code_counts_exactly(units, loops):
    body = b"".join(units)
    assert _decoded(body) == len(units)
    try:
        import capstone
    except ImportError:
        capstone = None
    if capstone is not None:  # an independent decoder agrees on the reference
        md = capstone.Cs(capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV32 | capstone.CS_MODE_RISCVC)
        assert len(list(md.disasm(body, RAM))) == len(units)
    for mmu in ("pyhv", "unicorn"):
        vm = VM(FramePool(size_mib=4), mem_size_mib=1, mmu=mmu)
        try:
            ex, ran = _run_code(vm, body, loops)
            assert ex.reason == "breakpoint"
            assert ran == 1 + loops * (len(units) + 2) + 1  # li, the loop, ebreak
        finally:
            vm.close()


@given(a=mixed_code, b=mixed_code)
def test_a_block_rewritten_in_place_counts_its_new_instructions(a, b):
    """The same address and size, another instruction count (code rewritten, or another address
    space): the engine's count for the old block must not be reused for the new one."""
    body_a, body_b = b"".join(a), b"".join(b)
    size = max(len(body_a), len(body_b))
    pad_a, pad_b = body_a + iso.C_NOP.to_bytes(2, "little") * ((size - len(body_a)) // 2), body_b + (
        iso.C_NOP.to_bytes(2, "little") * ((size - len(body_b)) // 2))
    vm = VM(FramePool(size_mib=4), mem_size_mib=1)
    try:
        for body in (pad_a, pad_b, pad_a, pad_b):
            ex, ran = _run_code(vm, body, 3)
            assert ex.reason == "breakpoint" and ran == 1 + 3 * (_decoded(body) + 2) + 1
    finally:
        vm.close()


def test_the_first_block_an_engine_runs_is_counted_too():
    """The engine reports every block it translates except its very first (no previous block)."""
    vm = VM(FramePool(size_mib=4), mem_size_mib=1)
    try:
        vm.write_phys(RAM, iso.C_SELF_LOOP.to_bytes(2, "little"))
        cpu = vm.cpu
        cpu.pc, cpu.priv = RAM, 3
        assert cpu.run(1000).reason == "budget" and cpu.insns == 1000
    finally:
        vm.close()


# ---- item 9: interrupts the engine delivers itself ---------------------------------------------


@pytest.mark.parametrize("vectored", [0, 1], ids=["direct", "vectored"])
def test_engine_delivered_interrupts_are_counted_and_traced(boot, programs, vectored):
    """S-mode raises its own SSIP 37 times; the engine enters the (compressed) handler itself each
    time.  counters["interrupts"] and -d int say 37, as the guest's own count does."""
    vm, cpu = boot("rvc", a0=1)
    cpu["a1"], cpu["a2"] = 37, vectored
    log = io.StringIO()
    tracer = Tracer(cpu, {"int"}, log)
    ex = cpu.run(1_000_000)
    tracer.drain()
    assert (ex.reason, ex.pc) == ("breakpoint", programs.labels("rvc", "spin tick strap done")["done"])
    assert cpu["s1"] == int.from_bytes(vm.read_phys(RESULTS + 4, 4), "little") == 37
    assert cpu.counters["interrupts"] == {1: 37}
    lines = [line for line in log.getvalue().splitlines() if line.startswith("int: interrupt")]
    assert len(lines) == 37 and all(line.startswith("int: interrupt 1 ") and line.endswith("S->S") for line in lines)


def test_boot_trace_counts_every_timer_tick_hello_prints(tmp_path):
    """hello's S-mode timer ticks arrive as STIP the BIOS sets in mip (the engine enters stvec):
    -d int shows one supervisor timer interrupt per `tick N` line the guest prints."""
    log = tmp_path / "int.log"
    r = pyhv("boot", "guests/hello.img", "-d", "int", "-D", str(log))
    assert r.returncode == 0
    ticks = [line for line in r.stdout.decode().splitlines() if line.startswith("tick ")]
    traced = [line for line in log.read_text().splitlines() if line.startswith("int: interrupt 5 ")]
    assert len(ticks) == 3 and len(traced) == len(ticks)
