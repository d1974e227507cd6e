"""The BIOS (firmware/bios.bin) on the virt board: boot messages and failure codes,
the SBI functions (through the S-mode test kernel sbitest.c), delegation, and what
the BIOS leaves in RAM.

The test kernel is built on the fly
with the pinned ziglang (marker `toolchain`); the committed bios.bin is the one
under test.
"""

import io
import struct
import subprocess
import sys
import zlib

import pytest

from pyhv import fdt, image, toolchain
from pyhv._native import lib
from pyhv.console import Console, StaticInput
from pyhv.devices.uart16550 import UART16550
from pyhv.devices.virtio_blk import DiskBackend, VirtioBlk
from pyhv.devices.virtio_mmio import VirtioMMIODevice
from pyhv.machine import Machine, MachineConfig
from pyhv.vm import VM, FramePool

pytestmark = pytest.mark.toolchain

HERE = toolchain.ROOT / "tests" / "firmware"
MIB = 1 << 20


def build_kernel(tmp_path, end: int = 0, source: str = "sbitest") -> bytes:
    """sbitest.c (or smptest.c) as a flat binary at PYHV_KERNEL_BASE; `end` picks how sbitest stops."""
    toolchain.require_zig()
    elf, flat = tmp_path / f"{source}{end}.elf", tmp_path / f"{source}{end}.bin"
    cc = [sys.executable, "-m", "ziglang", "cc", *toolchain.ZIG_TARGET, *toolchain.COMMON_FLAGS, "-Os", "-Wall",
          "-Wextra", "-Werror", f"-DEND={end}", "-T", str(HERE / "sbitest.ld"), "-o", str(elf),
          str(HERE / f"{source}.c")]  # fmt: skip
    subprocess.run(cc, check=True, cwd=toolchain.ROOT)
    toolchain.flatten_elf(elf.read_bytes(), flat)
    return flat.read_bytes()


KERNEL = b"\x73\x00\x10\x00" * 300  # ebreak...: the kernel for tests that stop at its entry




class Run:
    def __init__(self, status, output, machine):
        self.status, self.output, self.machine = status, output, machine


@pytest.fixture
def boot(tmp_path):
    """boot(disk, input=b"", setup=None, **config): run the board with `disk` (None: no disk)
    until it stops.  The machine stays open for inspection until the test ends."""
    machines = []

    def run(disk: bytes | None, input: bytes = b"", setup=None, **config) -> Run:
        path = None
        if disk is not None:
            path = tmp_path / f"disk{len(machines)}.img"
            path.write_bytes(disk)
        config.setdefault("max_insns", 20_000_000)
        config.setdefault("no_reboot", True)
        out = io.BytesIO()
        m = Machine(
            MachineConfig(image=str(path) if path else None, snapshot=True, **config), console=Console(output=out)
        )
        machines.append(m)
        m.uart.line = StaticInput(input)
        if setup is not None:
            setup(m)
        status = m.run()
        return Run(status, out.getvalue().decode(errors="replace"), m)

    yield run
    for m in machines:
        m.close()


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kernels")
    return {end: build_kernel(tmp, end) for end in range(6)}


def header(kernel: bytes, **fields) -> bytes:
    """A boot header for `kernel` at sector 1 with some fields overridden, CRC recomputed."""
    h = {
        "kernel_offset": 512,
        "kernel_size": len(kernel),
        "load_addr": lib.PYHV_KERNEL_BASE,
        "entry": lib.PYHV_KERNEL_BASE,
        "kernel_crc32": zlib.crc32(kernel),
        "version": lib.PYHV_BOOT_VERSION,
    }
    h.update(fields)
    return image.BootHeader(**h).pack()


def test_boot_messages_and_sbi(boot, kernels):
    r = boot(image.build(kernels[0]), input=b"ab", mem_size_mib=64)
    lines = r.output.splitlines()
    assert lines[:4] == [
        "pyhv BIOS 0.2 (rv32, SBI v2.0)",
        "RAM: 0x80000000 +64 MiB",
        f"disk: virtio-mmio slot 0, {len(image.build(kernels[0])) // 512} sectors",
        f"loaded kernel: {len(kernels[0])} bytes at 0x80200000, entry 0x80200000",
    ]
    assert lines[4] == f"sbitest: hart 0x00000000, dtb 0x{r.machine.dtb_addr:08x}"
    assert [line for line in lines if line.startswith("FAIL")] == []
    assert "sbitest: all ok" in lines and r.status == 0
    assert r.machine.finisher.last_request == ("poweroff", 0)


@pytest.mark.parametrize(
    "end,status,request_",
    [(1, 1, ("fail", 1)), (2, 0, ("reset", 0)), (3, 0, ("poweroff", 0))],
    ids=["srst-failure", "srst-reboot", "legacy-shutdown"],
)
def test_ways_to_stop(boot, kernels, end, status, request_):
    r = boot(image.build(kernels[end]), input=b"ab")
    assert "sbitest: all ok" in r.output and "still running" not in r.output
    assert r.status == status and r.machine.finisher.last_request == request_


def test_reboot_starts_the_bios_again(boot, kernels):
    r = boot(image.build(kernels[2]), input=b"ab", no_reboot=False, max_insns=600_000)
    assert r.machine.resets >= 1 and r.output.count("pyhv BIOS 0.2") == r.machine.resets + 1


def test_kernel_cannot_write_the_bios_data(boot, kernels):
    """PMP (hsm.c pmp_setup): an S-mode store into the BIOS's resident data is a store access
    fault, which stays in M and ends the machine, reported with the exact address."""
    r = boot(image.build(kernels[5]), input=b"ab")
    assert "sbitest: all ok" in r.output
    last = r.output.splitlines()[-1]
    assert last.startswith("BIOS: unexpected trap mcause=0x7 mepc=0x802") and last.endswith("mtval=0x80008ff0")
    assert r.status == 1


def test_unexpected_trap_is_reported(boot, kernels):
    r = boot(image.build(kernels[4]), input=b"ab")
    last = r.output.splitlines()[-1]
    assert last.startswith("BIOS: unexpected trap mcause=0x5 mepc=0x802") and last.endswith("mtval=0x40000000")
    assert r.status == 1


def test_no_disk(boot):
    r = boot(None)
    assert r.output.splitlines()[-1] == "BIOS: no boot disk found"
    assert r.status == lib.PYHV_BIOS_ERR_NO_DISK


def test_disk_found_in_a_later_slot(tmp_path):
    """Empty transports (DeviceID 0) in slots 0..4 are skipped; the disk is in slot 5.
    Built from the VM API, since the board puts its first disk in slot 0."""
    path = tmp_path / "slot5.img"
    path.write_bytes(image.build(KERNEL))
    vm = VM(FramePool(size_mib=64), mem_size_mib=16)
    backend = DiskBackend(path, snapshot=True)
    try:
        vm.add_clint()
        vm.load_rom((toolchain.ROOT / "firmware" / "bios.bin").read_bytes())
        out = bytearray()
        vm.add_device(lib.PYHV_UART0_BASE, UART16550(tx=out.extend))
        for slot in range(6):
            base = lib.PYHV_VIRTIO0_BASE + slot * lib.PYHV_VIRTIO_STRIDE
            vm.add_device(base, VirtioBlk(backend, vm.memory) if slot == 5 else VirtioMMIODevice(vm.memory))
        dtb_addr = lib.PYHV_RAM_BASE + 16 * MIB - lib.PYHV_DTB_MAX
        vm.write_phys(dtb_addr, fdt.virt_dtb(lib.PYHV_RAM_BASE, 16 * MIB, 1, "", 6))
        cpu = vm.cpu
        cpu.pc, cpu["a0"], cpu["a1"], cpu.ebreak_exits = lib.PYHV_ROM_BASE, 0, dtb_addr, True
        ex = cpu.run(5_000_000)
    finally:
        vm.close()
        backend.close()
    assert ex.reason == "breakpoint" and ex.pc == lib.PYHV_KERNEL_BASE
    assert bytes(out).decode().splitlines()[2:] == [
        "disk: virtio-mmio slot 5, 4 sectors",
        f"loaded kernel: {len(KERNEL)} bytes at 0x80200000, entry 0x80200000",
    ]


def _flip(data: bytes, offset: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= 0x01
    return bytes(out)


@pytest.mark.parametrize(
    "disk,message,code",
    [
        (_flip(image.build(KERNEL), 0), "bad boot header magic", "BAD_MAGIC"),
        (_flip(image.build(KERNEL), 5), "bad boot header magic", "BAD_MAGIC"),
        (_flip(image.build(KERNEL), 20), "bad boot header checksum", "BAD_CRC"),
        (_flip(image.build(KERNEL), 510), "bad boot header checksum", "BAD_CRC"),
        (header(KERNEL, version=2) + KERNEL, "unsupported boot header version", "BAD_CRC"),
        (_flip(image.build(KERNEL), 600), "kernel checksum mismatch", "BAD_CRC"),
        (header(KERNEL, kernel_offset=513) + KERNEL, "bad boot header: kernel offset is not sector-aligned", "BAD_CRC"),
        (header(KERNEL, entry=0x80300000) + KERNEL, "bad boot header: entry point outside the kernel", "BAD_CRC"),
        (header(KERNEL, load_addr=0x80100000, entry=0x80100000) + KERNEL, "kernel too large for RAM", "TOO_BIG"),
        (header(KERNEL, kernel_size=127 * MIB) + KERNEL, "kernel too large for RAM", "TOO_BIG"),
        (header(KERNEL, load_addr=0x87FF0000, entry=0x87FF0000) + KERNEL, "kernel too large for RAM", "TOO_BIG"),
        (header(KERNEL, kernel_size=64 * 1024) + KERNEL, "kernel extends past the end of the disk", "DISK_IO"),
    ],
    ids=[
        "magic0",
        "magic1",
        "header-crc",
        "header-crc-itself",
        "version",
        "kernel-crc",
        "offset",
        "entry",
        "below-kernel-base",
        "larger-than-ram",
        "over-the-dtb",
        "past-disk-end",
    ],
)
def test_boot_failures(boot, disk, message, code):
    r = boot(disk + bytes(-len(disk) % 512))
    assert r.output.splitlines()[-1] == f"BIOS: {message}"
    assert r.status == getattr(lib, f"PYHV_BIOS_ERR_{code}")
    assert r.machine.finisher.last_request == ("fail", r.status)


def test_kernel_that_just_fits_below_the_dtb(boot):
    """The last partial sector goes through a buffer: nothing past the kernel is written."""
    size = 4 * MIB - lib.PYHV_DTB_MAX - lib.PYHV_KERNEL_BASE + lib.PYHV_RAM_BASE - 100
    kernel = KERNEL[:4] + bytes(size - 4)
    disk = header(kernel) + kernel + b"\xff" * (-len(kernel) % 512)
    r = boot(disk, mem_size_mib=4, max_insns=60_000_000, setup=lambda m: setattr(m.cpu, "ebreak_exits", True))
    assert r.output.splitlines()[-1] == f"loaded kernel: {size} bytes at 0x80200000, entry 0x80200000"
    dtb = r.machine.dtb_addr
    assert r.machine.vm.read_phys(dtb - 100, 100) == bytes(100)
    assert r.machine.vm.read_phys(dtb, 4) == b"\xd0\x0d\xfe\xed"


def test_state_handed_to_the_kernel(boot):
    """At the kernel's first instruction: S-mode, a0/a1, delegation, counters, device reset."""
    kernel = KERNEL + bytes(20 * 1024 - len(KERNEL))
    r = boot(image.build(kernel), setup=lambda m: setattr(m.cpu, "ebreak_exits", True))
    cpu = r.machine.cpu
    assert r.status == 1 and cpu.pc == lib.PYHV_KERNEL_BASE
    assert (cpu.priv, cpu["a0"], cpu["a1"]) == (1, 0, r.machine.dtb_addr)
    cpu.priv = 3
    assert cpu["medeleg"] == 0xB15D
    assert cpu["mideleg"] == 0x222
    assert cpu["mie"] == 0x88
    assert cpu["mcounteren"] == 7
    assert cpu["satp"] == 0 and cpu["mscratch"] == lib.PYHV_RAM_BASE + 0x9000  # top of hart 0's M stack
    pmp = cpu.pmp  # ROM and devices R W -, the BIOS's 64 KiB - - -, the rest R W X (hsm.c pmp_setup)
    assert pmp.cfg[:4] == (0x0B, 0x08, 0x1F, 0)
    assert pmp.addr[:3] == (lib.PYHV_RAM_BASE >> 2, (lib.PYHV_RAM_BASE + 0x10000) >> 2, 0xFFFFFFFF)
    assert cpu["mstatus"] & 0xA == 0  # MIE, SIE: the kernel enables its own interrupts
    assert r.machine.disks[0].status == 0
    print(f"instructions from reset to kernel entry ({len(kernel)} byte kernel): {r.machine.insns_total}")


def test_firmware_ram_stays_in_its_map(boot, kernels):
    """After a full run, the firmware region beyond the BIOS's 64 KiB is untouched."""
    r = boot(image.build(kernels[0]), input=b"ab")
    assert r.status == 0
    ram = r.machine.vm.read_phys(lib.PYHV_RAM_BASE + 0x10000, lib.PYHV_FW_RESERVED - 0x10000)
    assert ram == bytes(len(ram))


def test_runs_are_deterministic(boot, kernels):
    runs = [boot(image.build(kernels[0]), input=b"ab") for _ in range(2)]
    assert runs[0].output == runs[1].output
    assert runs[0].machine.insns_total == runs[1].machine.insns_total


def test_bios_image_layout():
    """The ROM image holds code and constants only, and starts with the reset code."""
    bios = (toolchain.ROOT / "firmware" / "bios.bin").read_bytes()
    assert 0 < len(bios) <= lib.PYHV_ROM_SIZE
    (first,) = struct.unpack_from("<I", bios)
    assert first & 0x7F == 0x37  # lui t0, %hi(mtrapvec): the trap vector goes in first


@pytest.fixture(scope="module")
def smp_image(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("smptest")
    path = tmp / "smptest.img"
    path.write_bytes(image.build(build_kernel(tmp, source="smptest")))
    return path


@pytest.mark.parametrize("harts", [2, 4])
def test_smp_guest_through_the_bios(smp_image, harts):
    """`pyhv boot --smp N` through the BIOS: the kernel starts the other harts with SBI HSM,
    interrupts them, fences their TLBs remotely, suspends, stops and restarts them (smptest.c).
    Two runs give the same bytes."""
    runs = [subprocess.run([sys.executable, "-m", "pyhv", "boot", "--smp", str(harts), "-m", "16M",
                            "--max-insns", "200000000", str(smp_image)],
                           capture_output=True, timeout=300) for _ in range(2)]  # fmt: skip
    out = runs[0].stdout.decode()
    assert runs[0].returncode == 0, out + runs[0].stderr.decode()
    assert f"smptest: 0x{harts:08x} harts" in out and "smptest: all ok" in out and "FAIL" not in out
    assert out.count("\nok   ") == 21
    assert runs[1].stdout == runs[0].stdout and runs[1].returncode == 0
