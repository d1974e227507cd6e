"""`pyhv` as a user runs it: exit codes, one-line errors, console through a pipe.

Booting through the BIOS is covered in test_boot.py; here a tiny M-mode kernel
(tests/guests/finish.S) is booted with --bios none, as QEMU's -bios none does."""

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyhv import image
from pyhv._native import lib

GUESTS = __import__("pathlib").Path(__file__).parent / "guests"


def pyhv(*args, input=b"", timeout=120):
    return subprocess.run([sys.executable, "-m", "pyhv", *args], input=input, capture_output=True, timeout=timeout)


@pytest.fixture(scope="module")
def finish_img(tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "finish.img"
    path.write_bytes(image.build((GUESTS / "finish.bin").read_bytes()))
    return str(path)


def one_line(stderr: bytes) -> str:
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    return lines[0]


@pytest.mark.parametrize(
    "key,status,out",
    [(b"p", 0, b"cmd?\npass\n"), (b"f", 7, b"cmd?\nfail\n"), (b"z", 1, b"cmd?\n"), (b"xp", 0, b"cmd?\n?\npass\n")],
)
def test_finisher_sets_the_exit_status(finish_img, key, status, out):
    r = pyhv("boot", finish_img, "--bios", "none", input=key)
    assert (r.returncode, r.stdout) == (status, out)
    assert r.stderr == b""


def test_reboot_and_no_reboot(finish_img):
    r = pyhv("boot", finish_img, "--bios", "none", "--no-reboot", input=b"r")
    assert (r.returncode, r.stdout) == (0, b"cmd?\nreset\n")
    # Without --no-reboot the board resets and the kernel starts over (input in flight is lost,
    # as on hardware: the UART is reset too).
    r = pyhv("boot", finish_img, "--bios", "none", "--max-insns", "3000000", input=b"r")
    assert (r.returncode, r.stdout) == (124, b"cmd?\nreset\ncmd?\n")


def test_budget_and_timeout_exit_124(finish_img):
    r = pyhv("boot", finish_img, "--bios", "none", "--max-insns", "100000", input=b"s")
    assert r.returncode == 124 and "stopped after 100000 instructions" in one_line(r.stderr)
    r = pyhv("boot", finish_img, "--bios", "none", "--timeout", "0.5", input=b"s")
    assert r.returncode == 124 and "--timeout" in one_line(r.stderr)


def test_a_guest_nothing_can_wake_is_reported(finish_img):
    r = pyhv("boot", finish_img, "--bios", "none", input=b"w")
    assert r.returncode == 1 and "no timer armed and no input left" in one_line(r.stderr)


def test_deterministic_output_and_instruction_count(finish_img, tmp_path):
    from pyhv.console import Console, StaticInput
    from pyhv.machine import Machine, MachineConfig

    counts = []
    for _ in range(2):
        out = tmp_path / "out"
        with open(out, "wb") as sink:
            machine = Machine(MachineConfig(image=finish_img, bios=None), console=Console(output=sink))
            machine.uart.line = StaticInput(b"xxp")
            assert machine.run() == 0
            counts.append((machine.insns_total, out.read_bytes()))
            machine.close()
    assert counts[0] == counts[1] and counts[0][1] == b"cmd?\n?\n?\npass\n"




@pytest.mark.parametrize(
    "args,status,message",
    [
        (["boot", "/no/such.img"], 1, "pyhv: cannot read /no/such.img: No such file or directory"),
        (["info", "/no/such.img"], 1, "pyhv: cannot read /no/such.img: No such file or directory"),
        (["boot", "x.img", "-m", "12Q"], 2, "invalid memory size '12Q'"),
        (["boot", "x.img", "-m", "4G"], 2, "memory size '4G' is out of range (1M .. 2G)"),
        (["boot", "x.img", "-m", "0"], 2, "memory size '0' is out of range"),
        (["boot", "x.img", "--smp", "9"], 2, "9 harts: the board has 1 to 8"),
        (["boot", "x.img", "--timeout", "nan"], 2, "must be a finite positive number: 'nan'"),
        (["boot", "x.img", "--timeout", "inf"], 2, "must be a finite positive number: 'inf'"),
        (["boot", "x.img", b"--append=console=\xff"], 2, "the kernel command line is not valid UTF-8"),
        (["mkimage", "x.img", "-o", "y.img", "--load", "zzz"], 2, "not an address: 'zzz' (example: 0x80200000)"),
        (["mkimage", "x.img", "-o", "y.img", "--entry", "0x1_0000_0000"], 2, "outside the 32-bit address space"),
        (["mkimage", "empty.bin", "-o", "y.img"], 1, "pyhv: the kernel is empty: an image needs code to boot"),
        (["boot", "x.img", "-d", "nonsense"], 2, "unknown -d item(s) nonsense"),
        (["boot", "x.img", "--max-insns", "-5"], 2, "must be positive"),
        (["boot"], 2, "the following arguments are required: IMAGE"),
        (["frobnicate"], 2, "invalid choice: 'frobnicate'"),
    ],
)
def test_user_errors_are_one_clear_line(tmp_path, args, status, message):
    (tmp_path / "x.img").write_bytes(image.build(b"\x13\x00\x00\x00"))
    (tmp_path / "empty.bin").write_bytes(b"")
    r = subprocess.run([sys.executable, "-m", "pyhv", *args], capture_output=True, cwd=tmp_path, timeout=60)
    assert r.returncode == status
    assert message in r.stderr.decode().strip().splitlines()[-1]
    assert b"Traceback" not in r.stderr


def test_malformed_images_are_rejected(tmp_path):
    bad = tmp_path / "bad.img"
    bad.write_bytes(b"\x7fELF" + bytes(1020))
    r = pyhv("info", str(bad))
    assert r.returncode == 1 and one_line(r.stderr) == f"pyhv: {bad}: no pyhv boot header (bad magic)"
    good = bytearray(image.build(b"\x13\x00\x00\x00" * 4))
    good[20] ^= 1  # load address: the header checksum no longer matches
    bad.write_bytes(good)
    assert "checksum mismatch" in one_line(pyhv("info", str(bad)).stderr)
    r = pyhv("boot", str(bad), "--bios", "none")
    assert r.returncode == 1 and "checksum mismatch" in one_line(r.stderr)


def test_info_fails_on_a_kernel_whose_checksum_does_not_match(tmp_path):
    bad = bytearray(image.build(b"\x13\x00\x00\x00" * 4))
    bad[image.SECTOR] ^= 1  # the kernel's first byte; its header (and header CRC) unchanged
    (tmp_path / "bad.img").write_bytes(bad)
    r = pyhv("info", str(tmp_path / "bad.img"))
    assert r.returncode == 1
    assert "kernel crc   MISMATCH" in r.stdout.decode()  # the layout is still shown
    assert one_line(r.stderr) == f"pyhv: {tmp_path / 'bad.img'}: kernel checksum mismatch (the BIOS will refuse to load it)"


def test_an_image_without_a_kernel_is_refused_before_boot(tmp_path):
    import zlib

    header = image.BootHeader(image.SECTOR, 0, lib.PYHV_KERNEL_BASE, lib.PYHV_KERNEL_BASE, zlib.crc32(b""))
    (tmp_path / "empty.img").write_bytes(header.pack() + bytes(image.SECTOR))  # made by another tool
    for args in (["boot", str(tmp_path / "empty.img")], ["info", str(tmp_path / "empty.img")]):
        r = pyhv(*args)
        assert r.returncode == 1 and one_line(r.stderr) == f"pyhv: {tmp_path / 'empty.img'}: the image has no kernel (kernel size 0)"


def test_mkimage_and_info(tmp_path):
    out = tmp_path / "k.img"
    r = pyhv("mkimage", str(GUESTS / "finish.bin"), "-o", str(out))
    assert r.returncode == 0, r.stderr
    h = image.read_header(out)
    assert (h.load_addr, h.entry, h.kernel_offset) == (lib.PYHV_KERNEL_BASE, lib.PYHV_KERNEL_BASE, 512)
    info = pyhv("info", str(out)).stdout.decode()
    assert "entry 0x80200000" in info and "kernel crc   ok" in info
    r = pyhv("mkimage", str(GUESTS / "finish.bin"), "-o", str(out), "--load", "0x80000000")
    assert r.returncode == 1 and "firmware region" in one_line(r.stderr)


@given(text=st.text() | st.from_regex(r"\s*[0-9]{1,12}\s*[kKmMgG]?[iI]?[bB]?\s*", fullmatch=True))
def test_argument_types_accept_a_valid_value_or_refuse_in_one_line(text):
    import argparse
    import math

    from pyhv import cli

    checks = {
        cli.memory_size_mib: lambda v: 1 <= v <= lib.PYHV_RAM_MAX_SIZE >> 20,
        cli.harts: lambda v: 1 <= v <= 8,
        cli.positive_int: lambda v: v > 0,
        cli.positive_float: lambda v: math.isfinite(v) and v > 0,
        cli.address: lambda v: 0 <= v < 1 << 32,
        cli.kernel_command_line: lambda v: v.encode("utf-8") is not None,
    }
    for parse, valid in checks.items():
        try:
            value = parse(text)
        except argparse.ArgumentTypeError as e:
            assert "\n" not in str(e)
        else:
            assert valid(value), (parse.__name__, text, value)
