"""Booting through the BIOS, as a user does: `pyhv boot guests/hello.img`, the BIOS's
error paths, disks that persist (or not, with --snapshot), logs, determinism."""

import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from pyhv import image
from pyhv._native import lib
from pyhv.console import Console
from pyhv.machine import Machine, MachineConfig

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "guests" / "hello.img"

HELLO_TRANSCRIPT = """\
pyhv BIOS 0.2 (rv32, SBI v2.0)
RAM: 0x80000000 +128 MiB
disk: virtio-mmio slot 0, 34 sectors
loaded kernel: 16384 bytes at 0x80200000, entry 0x80200000
hello: S-mode kernel on hart 0, dtb at 0x87ff0000
hello: bootargs ""
hello: Sv32 identity map, 128 MiB of RAM at 0x80000000
hello from U-mode
hello: U-mode task (pid 1) exited with 0
tick 1
tick 2
tick 3
hello: virtio-blk at 0x10001000, irq 1, 34 sectors
disk: pyhv disk data: the quick brown fox
hello: all done, powering off
"""


def pyhv(*args, input=b""):
    return subprocess.run([sys.executable, "-m", "pyhv", *args], input=input, capture_output=True, timeout=300)


def boot(tmp_path, disk=None, **config):
    """Boot in-process; returns (status, console text, machine counters)."""
    out = tmp_path / "console.txt"
    with open(out, "wb") as sink:
        m = Machine(MachineConfig(image=None if disk is None else str(disk), **config), console=Console(output=sink))
        try:
            status = m.run()
            info = {"insns": m.insns_total, "devices": m.vm.device_counters(), "cpu": m.cpu.counters}
        finally:
            m.close()
    return status, out.read_text(), info


def test_pyhv_boot_hello(tmp_path):
    disk = tmp_path / "hello.img"
    shutil.copy(HELLO, disk)
    r = pyhv("boot", str(disk))
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == HELLO_TRANSCRIPT
    assert r.stderr == b""
    assert disk.read_bytes() == HELLO.read_bytes()  # hello only reads


def test_boot_is_deterministic(tmp_path):
    runs = [boot(tmp_path, HELLO, snapshot=True) for _ in range(2)]
    assert runs[0][0] == runs[1][0] == 0
    assert runs[0][1] == runs[1][1] == HELLO_TRANSCRIPT
    assert runs[0][2]["insns"] == runs[1][2]["insns"]
    assert runs[0][2]["cpu"] == runs[1][2]["cpu"]


def test_what_the_boot_exercised(tmp_path):
    status, _, info = boot(tmp_path, HELLO, snapshot=True)
    cpu, devices = info["cpu"], info["devices"]
    assert status == 0
    assert cpu["interrupts"][7] >= 3  # M timer, forwarded by the BIOS as STIP
    assert cpu["exceptions"][8] >= 3 and cpu["exceptions"][9] > 10  # U syscalls, SBI calls
    assert devices["virtio-blk0"]["req_in"] >= 3  # BIOS: header + kernel; hello: header + data
    assert devices["plic"]["claims"] >= 1
    assert devices["uart16550"]["fast_reads"] > 0  # the BIOS polls LSR
    assert devices["clint"]["writes"] > 0


def test_disk_writes_persist_unless_snapshot(tmp_path):
    disk = tmp_path / "hello.img"
    shutil.copy(HELLO, disk)
    r = pyhv("boot", "--snapshot", "--append", "blkwrite", str(disk))
    assert r.returncode == 0 and b"disk: pyhv disk data: written by hello\n" in r.stdout
    assert disk.read_bytes() == HELLO.read_bytes()  # --snapshot: byte-identical
    r = pyhv("boot", "--append", "blkwrite", str(disk))
    assert r.returncode == 0 and disk.read_bytes() != HELLO.read_bytes()
    r = pyhv("boot", str(disk))  # a second boot reads what the first one wrote
    assert r.returncode == 0 and b"disk: pyhv disk data: written by hello\n" in r.stdout


def _disk(tmp_path, data: bytes) -> Path:
    path = tmp_path / "disk.img"
    path.write_bytes(data + bytes(-len(data) % 512))
    return path


def test_bios_without_a_disk(tmp_path):
    status, text, _ = boot(tmp_path, None)
    assert status == lib.PYHV_BIOS_ERR_NO_DISK
    assert "BIOS: no boot disk found" in text


def test_bios_bad_magic(tmp_path):
    status, text, _ = boot(tmp_path, _disk(tmp_path, b"\x7fELF" + bytes(2000)))
    assert status == lib.PYHV_BIOS_ERR_BAD_MAGIC and "BIOS: bad boot header magic" in text


def test_bios_bad_kernel_checksum(tmp_path):
    data = bytearray(HELLO.read_bytes())
    data[600] ^= 0xFF  # inside the kernel: the header still checks, the kernel does not
    status, text, _ = boot(tmp_path, _disk(tmp_path, bytes(data)))
    assert status == lib.PYHV_BIOS_ERR_BAD_CRC and "BIOS:" in text and "checksum" in text.lower()


def test_bios_bad_header_checksum(tmp_path):
    data = bytearray(HELLO.read_bytes())
    data[lib.PYHV_BOOT_OFF_ENTRY] ^= 4
    status, _text, _ = boot(tmp_path, _disk(tmp_path, bytes(data)))
    assert status == lib.PYHV_BIOS_ERR_BAD_CRC


def test_bios_kernel_larger_than_ram(tmp_path):
    header = bytearray(image.build(b"\x13\x00\x00\x00" * 8)[:512])
    struct.pack_into("<I", header, lib.PYHV_BOOT_OFF_KSIZE, 64 << 20)  # 64 MiB kernel, 32 MiB of RAM
    struct.pack_into("<I", header, lib.PYHV_BOOT_OFF_HCRC, zlib.crc32(header[: lib.PYHV_BOOT_OFF_HCRC]))
    status, text, _ = boot(tmp_path, _disk(tmp_path, bytes(header) + bytes(1024)), mem_size_mib=32)
    assert status == lib.PYHV_BIOS_ERR_TOO_BIG and "BIOS: kernel too large for RAM" in text


def test_trace_log(tmp_path):
    log = tmp_path / "trace.log"
    r = pyhv("boot", "--snapshot", "-d", "int,exits", "-D", str(log), str(HELLO))
    assert r.returncode == 0 and r.stderr == b""
    text = log.read_text()
    assert "int: exception 9 " in text  # SBI calls from S
    assert "int: interrupt 7 " in text and "exit idle" in text


def test_bench_boot_runs():
    r = pyhv("bench", "boot", "--json", "--scale", "0.3")
    assert r.returncode == 0, r.stderr
    import json

    figures = json.loads(r.stdout)
    assert set(figures) >= {"boot_insns", "boot_ms", "blk_mb_s"}
    assert figures["boot_insns"] > 100_000


@pytest.mark.parametrize("mem", ["1M", "2M"])
def test_too_little_ram_for_the_board_is_a_clear_error(mem):
    r = pyhv("boot", "-m", mem, str(HELLO))
    assert r.returncode == lib.PYHV_BIOS_ERR_TOO_BIG
    assert b"BIOS: kernel too large for RAM" in r.stdout and r.stderr == b""
