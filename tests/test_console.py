"""`pyhv boot` in a terminal: raw mode, the C-a escapes, and the terminal restored."""

import os
import pty
import select
import subprocess
import sys
import termios
import time

import pytest

from pyhv import image

GUESTS = __import__("pathlib").Path(__file__).parent / "guests"


def read_until(fd: int, needle: bytes, timeout_s: float = 120) -> bytes:
    """What fd gives until `needle` shows up, or the other end closes (a hang guard, not a
    timing assertion).  The pty tests of test_stopping and test_tinyos_console use it too."""
    out = b""
    deadline = time.monotonic() + timeout_s
    while needle not in out and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


@pytest.fixture
def terminal_boot(tmp_path):
    img = tmp_path / "finish.img"
    img.write_bytes(image.build((GUESTS / "finish.bin").read_bytes()))
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    proc = subprocess.Popen([sys.executable, "-m", "pyhv", "boot", "--bios", "none", str(img)],
                            stdin=slave, stdout=slave, stderr=slave)
    yield proc, master, slave, before
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)
    os.close(master)
    os.close(slave)


def test_keys_reach_the_guest_and_terminal_is_restored(terminal_boot):
    proc, master, slave, before = terminal_boot
    assert b"cmd?" in read_until(master, b"cmd?")
    assert termios.tcgetattr(slave)[3] & termios.ICANON == 0  # raw while the guest owns it
    os.write(master, b"p")
    assert b"pass" in read_until(master, b"pass")
    assert proc.wait(timeout=60) == 0
    assert termios.tcgetattr(slave) == before


def test_ctrl_a_escapes(terminal_boot):
    proc, master, slave, before = terminal_boot
    read_until(master, b"cmd?")
    os.write(master, b"\x01h")  # C-a h: help on pyhv's side, nothing to the guest
    assert b"C-a x" in read_until(master, b"C-a x")
    os.write(master, b"\x01\x01")  # C-a C-a: a literal C-a for the guest, which answers "?"
    assert b"?" in read_until(master, b"?\r\n")
    os.write(master, b"\x01x")  # C-a x: exit
    assert b"exit requested" in read_until(master, b"exit requested")
    assert proc.wait(timeout=60) == 0
    assert termios.tcgetattr(slave) == before
