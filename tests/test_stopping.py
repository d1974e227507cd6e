"""Stopping is safe: every signal ends `pyhv boot` with 128 + signum (130 for SIGINT), the
terminal restored and the disks closed, and an exception raised inside any engine callback
(a device's MMIO, a Python hook) stops the vCPU and is raised by its run loop.

The guest is tests/guests/finish.S: key `m` makes it read a virtio-mmio register forever,
so nearly all of the host's time is spent inside the Python MMIO callback, where a
signal's exception used to be dropped."""

import os
import pty
import signal
import subprocess
import sys
import termios

import pytest
import unicorn

from pyhv import image
from pyhv._native import lib
from pyhv.devices import Device
from pyhv.errors import PyhvError

from test_console import read_until

GUESTS = __import__("pathlib").Path(__file__).parent / "guests"
SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT]
MESSAGE = {signal.SIGINT: b"pyhv: interrupted"}


def _reap(proc) -> None:
    """However the test ended: the process is gone and its pipes are closed."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    for f in (proc.stdin, proc.stdout, proc.stderr):
        if f is not None:
            f.close()


@pytest.fixture
def finish_img(tmp_path):
    path = tmp_path / "finish.img"
    path.write_bytes(image.build((GUESTS / "finish.bin").read_bytes()))
    return path


def expected_message(sig) -> bytes:
    return MESSAGE.get(sig, f"pyhv: terminated by {sig.name}".encode())


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_signal_during_mmio_ends_boot_with_its_status(finish_img, sig):
    proc = subprocess.Popen([sys.executable, "-m", "pyhv", "boot", "--bios", "none", str(finish_img)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(b"m")
        proc.stdin.flush()
        assert proc.stdout.read(10) == b"cmd?\nmmio\n"  # the guest is in its MMIO loop
        os.kill(proc.pid, sig)
        status = proc.wait(timeout=60)
        stderr = proc.stderr.read()
    finally:
        _reap(proc)
    assert status == 128 + sig
    assert stderr.strip() == expected_message(sig)


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
@pytest.mark.parametrize("key", [b"m", b"w"], ids=["mmio", "idle"])
def test_a_signal_restores_the_terminal(finish_img, sig, key):
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    proc = subprocess.Popen([sys.executable, "-m", "pyhv", "boot", "--bios", "none", str(finish_img)],
                            stdin=slave, stdout=slave, stderr=slave)
    try:
        read_until(master, b"cmd?")
        assert termios.tcgetattr(slave)[3] & termios.ICANON == 0  # raw while the guest owns it
        os.write(master, key)
        if key == b"m":
            read_until(master, b"mmio")
        os.kill(proc.pid, sig)
        status = proc.wait(timeout=60)
        out = read_until(master, expected_message(sig), timeout_s=5)
        after = termios.tcgetattr(slave)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        os.close(slave)
    assert status == 128 + sig
    assert expected_message(sig) in out
    assert after == before


def test_a_signal_leaves_written_disk_data_in_the_file(tmp_path):
    """The disks are closed on the way out: what the guest wrote before the signal is in the file."""
    img = tmp_path / "tinyos.img"
    img.write_bytes((GUESTS.parent.parent / "guests" / "tinyos.img").read_bytes())
    proc = subprocess.Popen([sys.executable, "-m", "pyhv", "boot", str(img)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(b"echo kept > /keep\ncat /keep\n")  # the input is echoed: "kept\n" is cat's
        proc.stdin.flush()
        out = b""
        while b"kept\n" not in out.replace(b"\r", b""):
            chunk = proc.stdout.read1(4096)
            assert chunk, out
            out += chunk
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        _reap(proc)
    r = subprocess.run([sys.executable, "-m", "pyhv", "fs", "get", str(img), "/keep"], capture_output=True, timeout=60)
    assert (r.returncode, r.stdout) == (0, b"kept\n")


class Interrupting(Device):
    """A device whose register read is where a signal's exception happens to be raised."""

    name = "interrupting"
    SIZE = lib.PYHV_CLINT_SIZE

    def __init__(self, error):
        super().__init__()
        self.error = error

    def mmio_read(self, offset, size):
        raise self.error


@pytest.mark.parametrize("error", [KeyboardInterrupt(), SystemExit(3)], ids=["KeyboardInterrupt", "SystemExit"])
def test_a_base_exception_in_an_mmio_callback_is_raised_by_run(boot, error):
    vm, cpu = boot("clint")
    vm.add_device(lib.PYHV_CLINT_BASE, Interrupting(error))
    with pytest.raises(type(error)) as caught:
        cpu.run(100_000)
    assert caught.value is error
    assert cpu.insns < 100_000  # stopped at the next block, not at the end of the budget


@pytest.mark.parametrize("error", [RuntimeError("hook bug"), KeyboardInterrupt()], ids=["RuntimeError", "KeyboardInterrupt"])
@pytest.mark.parametrize("direct", [False, True], ids=["cpu.hook_add", "uc.hook_add"])
def test_an_exception_in_a_python_hook_is_raised_by_run(boot, error, direct):
    _vm, cpu = boot("compute", a0=1_000_000)
    blocks = []

    def on_block(uc, address, size, _):
        blocks.append(address)
        if len(blocks) == 3:
            raise error

    (cpu.uc if direct else cpu).hook_add(unicorn.UC_HOOK_BLOCK, on_block)
    with pytest.raises(type(error)) as caught:
        cpu.run(5_000_000)
    assert caught.value is error
    if not direct:  # ours stop at the next block boundary
        assert len(blocks) <= 4
    # the next run is clean: the error was handed over once
    assert cpu.run(1000).reason != "fatal"


def test_a_device_bug_is_still_one_pyhv_error(boot):
    vm, cpu = boot("clint")
    vm.add_device(lib.PYHV_CLINT_BASE, Interrupting(ZeroDivisionError("model bug")))
    with pytest.raises(PyhvError, match="device interrupting failed: ZeroDivisionError"):
        cpu.run(100_000)
