"""tinyos's console as a terminal: ^C stops the foreground program and not the shell,
^D ends a program's input, the shell edits lines itself (arrow keys, history), `help`,
and /etc/motd at boot.  Driven as a user would: `pyhv boot` with piped input (all at
once, or fed while the guest runs) and in a pseudo-terminal."""

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from test_console import read_until

ROOT = Path(__file__).resolve().parent.parent
TINYOS = ROOT / "guests" / "tinyos.img"
BOOT = [sys.executable, "-m", "pyhv", "boot", "--snapshot", str(TINYOS)]


class Piped:
    """`pyhv boot` with stdin a pipe fed while the guest runs."""

    def __init__(self):
        self.proc = subprocess.Popen(BOOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.fd = self.proc.stdout.fileno()
        self.pending = b""  # read, but past the needle of the last until()

    def send(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def until(self, needle: bytes, timeout_s: float = 120) -> bytes:
        """The output up to and including the next `needle`, however the pipe chunks it; what
        came after it waits for the next call (the deadline is a hang guard)."""
        deadline = time.monotonic() + timeout_s
        while needle not in self.pending and time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    break
                self.pending += chunk
        end = self.pending.find(needle)
        end = len(self.pending) if end < 0 else end + len(needle)
        out, self.pending = self.pending[:end], self.pending[end:]
        return out

    def close(self) -> int:
        if self.proc.poll() is None:
            self.proc.kill()
        status = self.proc.wait(timeout=60)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            f.close()
        return status


def test_motd_is_printed_before_the_first_prompt():
    r = subprocess.run(BOOT, input=b"poweroff\n", capture_output=True, timeout=300)
    out = r.stdout.decode()
    motd = (ROOT / "guests/tinyos/rootfs/etc/motd").read_text()
    assert r.returncode == 0 and motd in out
    assert out.index(motd) < out.index("tinyos# ")


def test_up_arrow_recalls_the_previous_command_from_a_pipe():
    script = b"echo first\n\x1b[A\n\x1b[A\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D-\nhistory\nhelp\npoweroff\n"
    r = subprocess.run(BOOT, input=script, capture_output=True, timeout=300)
    out = r.stdout.decode()
    assert r.returncode == 0
    assert len(re.findall(r"^first$", out, re.M)) == 2  # typed, then recalled by Up + Enter
    assert re.search(r"^-first$", out, re.M)  # Up, five times Left, then a '-' inserted there
    assert "not found" not in out and "[A" not in out
    assert re.findall(r"^\s+\d+  (.*)$", out, re.M) == ["echo first", "echo -first", "history"]
    assert "Up/Down history" in out and "^C interrupts the running program" in out


def test_ctrl_c_stops_a_foreground_program_and_the_shell_goes_on():
    vm = Piped()
    try:
        assert b"tinyos# " in vm.until(b"tinyos# ")
        vm.send(b"echo before\nyes looping\n")
        assert b"looping\nlooping\n" in vm.until(b"looping\nlooping\n")  # running, in the foreground
        vm.send(b"\x03")
        assert b"^C\n" in vm.until(b"^C\n")
        assert vm.until(b"tinyos# ").endswith(b"tinyos# ")  # the prompt is back
        vm.send(b"ps\nhistory\n")
        out = vm.until(b"4  history\n")
        table = out[out.index(b"PID") : out.index(b"tinyos# history")]
        assert re.search(rb"^2\s+1\s+SLEEPING\s+sh\s", table, re.M) and b"yes" not in table  # yes is gone ...
        assert re.search(rb"1  echo before\n\s+2  yes looping\n\s+3  ps\n", out)  # ... this is the same shell
        vm.send(b"cat\nline one\n")
        assert b"line one\n" in vm.until(b"line one\n")
        vm.send(b"\x04")  # ^D: end of cat's input
        assert vm.until(b"tinyos# ").endswith(b"tinyos# ")
        vm.send(b"poweroff\n")
        assert b"tinyos: power off" in vm.until(b"tinyos: power off")
        assert vm.proc.wait(timeout=60) == 0
    finally:
        vm.close()


def test_the_console_in_a_terminal():
    """In a pty pyhv passes ^C (0x03) to the guest: it stops `yes`; arrow keys edit and
    recall lines; ^C at the prompt drops the typed line; C-a x still leaves pyhv."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(BOOT, stdin=slave, stdout=slave, stderr=slave)
    try:
        assert b"tinyos# " in read_until(master, b"tinyos# ")
        os.write(master, b"echo one\r")
        assert b"one\r\n" in read_until(master, b"one\r\ntinyos# ")
        os.write(master, b"\x1b[A\r")  # Up, Enter: the same command again
        assert read_until(master, b"tinyos# ").count(b"one\r\n") == 2  # the recalled line and its output
        os.write(master, b"yes\r")
        assert b"y\r\ny\r\n" in read_until(master, b"y\r\ny\r\n")
        os.write(master, b"\x03")
        assert read_until(master, b"^C\r\n")
        assert read_until(master, b"tinyos# ").endswith(b"tinyos# ")
        os.write(master, b"echo never\x03")  # ^C at the prompt: the line is dropped
        out = read_until(master, b"tinyos# ")
        assert b"^C\r\n" in out and b"never\r\n" not in out
        os.write(master, b"echo still\r")
        assert b"still\r\n" in read_until(master, b"still\r\ntinyos# ")
        os.write(master, b"\x01x")
        assert b"exit requested" in read_until(master, b"exit requested")
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)
        os.close(master)
        os.close(slave)
