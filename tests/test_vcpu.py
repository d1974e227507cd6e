"""The vCPU from the host's side: register access, exits, devices, threads, determinism."""

import threading
import time

import pytest

from pyhv._native import lib
from pyhv.devices import Device
from pyhv.errors import PyhvError

RESULTS = 0x8000_0000 + 0x10000


def records(vm, n):
    raw = vm.read_phys(RESULTS, 16 * n)
    return [tuple(int.from_bytes(raw[i + 4 * k : i + 4 * k + 4], "little") for k in range(4)) for i in range(0, 16 * n, 16)]


def test_registers_and_csrs_by_name(boot):
    _vm, cpu = boot("compute")
    cpu["a0"] = 0x1234_5678
    assert cpu["x10"] == cpu["a0"] == 0x1234_5678
    cpu["zero"] = 5
    assert cpu["x0"] == 0
    cpu.priv = 0  # CSRs still read and write from U: the core raises PRIV around the access
    cpu["mscratch"] = 0xCAFE
    assert cpu["mscratch"] == 0xCAFE and cpu.priv == 0
    with pytest.raises(KeyError, match="unknown register 'q7'"):
        cpu["q7"]
    with pytest.raises(ValueError, match="priv must be"):
        cpu.priv = 2
    with pytest.raises(ValueError):
        cpu.run(-1)


def test_clint_timer_software_interrupt_and_rom_protection(boot, programs):
    vm, cpu = boot("clint")
    vm.add_clint()
    vm.load_rom(b"\x13\x00\x00\x00" * 4)
    labels = programs.labels("clint", "sleep romstore done")
    ex = cpu.run(100_000)
    assert ex.reason == "idle" and ex.pc == labels["sleep"] + 4  # wfi with the timer 200 ticks away
    assert cpu.mtimecmp == cpu["a2"] + 200
    cpu.advance_idle(cpu.mtimecmp - cpu.mtime)  # what the board's idle loop does
    ex = cpu.run(100_000)
    assert ex.reason == "breakpoint" and ex.pc == labels["done"]
    rec = records(vm, 3)
    assert rec[0][:3] == (0x8000_0007, labels["sleep"] + 4, 0)  # MTI, taken after the wfi
    assert rec[1][:3] == (0x8000_0003, labels["sleep"] + 4, 0)  # MSI, as soon as mret restored MIE
    assert rec[2][:3] == (7, labels["romstore"] + 4, lib.PYHV_ROM_BASE)  # store access fault, exact mtval
    assert cpu["s2"] == 0 and cpu["s3"] == 0xFFFF_FFFF  # msip cleared, mtimecmp high written by the guest
    assert vm.device_counters()["clint"]["writes"] == 6
    assert cpu.counters["interrupts"] == {3: 1, 7: 1} and cpu.counters["exceptions"] == {7: 1}


def test_s_external_interrupt_raised_by_the_host(boot, programs):
    vm, cpu = boot("sirq")
    labels = programs.labels("sirq", "loop loop_end")
    assert cpu.run(1_000).reason == "budget"
    assert cpu.priv == 1 and cpu["s1"] > 100
    cpu.set_irq(9, True)  # SEIP: delegated, so the engine delivers it to stvec itself
    ex = cpu.run(1_000)
    assert ex.reason == "breakpoint" and cpu.priv == 1
    cause, epc, tval, tag = records(vm, 1)[0]
    assert cause == 0x8000_0009 and labels["loop"] <= epc < labels["loop_end"] and tval == 0
    assert tag == 0x0001_0101  # handler in S, SPP = S, SPIE = 1, SIE = 0


def test_masked_line_stays_pending(boot):
    _vm, cpu = boot("sirq")
    cpu.run(1_000)
    cpu["sstatus"] = cpu["sstatus"] & ~0x2  # SIE off
    cpu.set_irq(9, True)
    assert cpu.run(5_000).reason == "budget"
    assert cpu["mip"] & 0x200 and cpu.irq_pending
    cpu["sstatus"] = cpu["sstatus"] | 0x2
    assert cpu.run(5_000).reason == "breakpoint"


class Broken(Device):
    name = "broken"
    SIZE = lib.PYHV_CLINT_SIZE

    def mmio_read(self, offset, size):
        raise RuntimeError("model bug")


def test_a_device_bug_surfaces_as_an_error_not_a_crash(boot):
    vm, cpu = boot("clint")
    vm.add_device(lib.PYHV_CLINT_BASE, Broken())
    with pytest.raises(PyhvError, match="device broken failed: RuntimeError"):
        cpu.run(100_000)


def test_request_exit_from_another_thread(boot):
    _vm, cpu = boot("sirq")
    timer = threading.Timer(0.05, cpu.request_exit)
    timer.start()
    t0 = time.perf_counter()
    ex = cpu.run(10**13)  # spins forever unless stopped
    assert ex.reason == "host"
    assert time.perf_counter() - t0 < 60
    timer.join()


def test_budget_slices_are_deterministic(boot):
    _, one = boot("compute", a0=20_000)
    assert one.run(10**9).reason == "breakpoint"
    _, sliced = boot("compute", a0=20_000)
    exits = [sliced.run(997)]
    while exits[-1].reason == "budget":
        exits.append(sliced.run(997))
    assert exits[-1].reason == "breakpoint" and len(exits) > 200
    assert (sliced["a0"], sliced.insns) == (one["a0"], one.insns)
    assert all(e.pc % 4 == 0 for e in exits)


def test_trap_vector_that_faults_is_a_fatal_exit(boot):
    _vm, cpu = boot("compute")
    cpu["mtvec"] = 0x4000_0000  # nothing there
    cpu.pc = 0x4000_0000
    ex = cpu.run(10_000)
    assert ex.reason == "fatal" and "trap loop" in ex.message
    assert cpu.counters["exits"]["fatal"] == 1


def test_uart_status_polls_are_served_in_c(boot, programs):
    from pyhv.devices.uart16550 import UART16550

    vm, cpu = boot("uartpoll")
    out = bytearray()
    uart = UART16550(tx=out.extend)
    vm.add_device(lib.PYHV_UART0_BASE, uart)
    ex = cpu.run(200_000)  # prints, then polls LSR.DR with nothing to read
    assert ex.reason == "budget" and out == b"ready\n"
    uart.push_rx(b"hi pyhv\n")  # the host changes LSR: the C cache follows
    ex = cpu.run(1_000_000)
    assert ex.reason == "breakpoint" and ex.pc == programs.labels("uartpoll", "done")["done"]
    assert out == b"ready\nhi pyhv\n" and cpu["a0"] == 8
    counts = vm.device_counters()["uart16550"]
    assert counts["fast_reads"] > 1000  # the polling loop never left C
    assert counts["slow_reads"] == 8  # one RBR read per byte
    assert counts["writes"] == 2 + 6 + 8  # LCR, FCR, then each byte


@pytest.mark.parametrize("mmu", ["pyhv", "unicorn"])
def test_code_rewritten_through_another_virtual_address_runs_in_its_new_form(boot, mmu):
    """smc.S: a function run at VA 0x40000000, rewritten through the identity mapping of
    its frame (a writable TLB entry for it existed before any code), then fence.i."""
    _vm, cpu = boot("smc", mmu=mmu)
    assert cpu.run(1_000_000).reason == "breakpoint"
    assert (cpu["s1"], cpu["s2"]) == (1, 2)
