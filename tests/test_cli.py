"""`pyhv` as a user runs it: exit codes, one-line errors, console through a pipe.

Booting through the BIOS is covered in test_boot.py; here a tiny M-mode kernel
(tests/guests/finish.S) is booted with --bios none, as QEMU's -bios none does."""

import subprocess
import sys

import pytest

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
        (["boot", "x.img", "-m", "4G"], 1, "out of range"),
        (["boot", "x.img", "-d", "nonsense"], 2, "unknown -d item(s) nonsense"),
        (["boot", "x.img", "--max-insns", "-5"], 2, "must be positive"),
        (["boot"], 2, "the following arguments are required: IMAGE"),
        (["frobnicate"], 2, "invalid choice: 'frobnicate'"),
    ],
)
def test_user_errors_are_one_clear_line(tmp_path, args, status, message):
    (tmp_path / "x.img").write_bytes(image.build(b"\x13\x00\x00\x00"))
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
