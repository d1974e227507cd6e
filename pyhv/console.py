"""The host side of the serial console: guest bytes to stdout, keyboard or pipe to the UART.

Guest output goes to stdout raw and flushed; pyhv's own messages go to stderr.  A
terminal is put in raw mode (restored on every exit path) with QEMU's escapes:
C-a x exits, C-a h prints help, C-a C-a sends C-a.  A pipe or file is read by a
background thread and its bytes are handed to the UART as the guest drains it;
EOF on stdin does not stop the guest.
"""

import os
import sys
import threading
import time
from collections import deque

CTRL_A = 0x01
HELP = "C-a h    print this help\r\nC-a x    exit pyhv\r\nC-a C-a  send C-a to the guest\r\n"


class Console:
    """Bytes in and out of the guest's UART.  `input` None means no input at all."""

    def __init__(self, output=None, input=None, interactive: bool = False):
        self.output = output if output is not None else sys.stdout.buffer
        self._pending = deque()
        self._lock = threading.Condition()
        self._eof = input is None
        self.quit_requested = False
        self.interactive = interactive
        self._escape = False
        self.input_listeners = []  # called (from the reader thread) when input arrives
        if input is not None:
            threading.Thread(target=self._reader, args=(input,), daemon=True, name="pyhv-stdin").start()

    @classmethod
    def stdio(cls) -> "Console":
        stdin = sys.stdin
        if stdin is None or stdin.closed:
            return cls()
        try:
            fd = stdin.fileno()
        except (OSError, ValueError):
            return cls()
        return cls(input=fd, interactive=os.isatty(fd))

    # ---- output ------------------------------------------------------------
    def write(self, data: bytes) -> None:
        try:
            self.output.write(data)
            self.output.flush()
        except BrokenPipeError:
            self.output = open(os.devnull, "wb")

    # ---- input ---------------------------------------------------------------
    def _reader(self, fd: int) -> None:
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            with self._lock:
                if not chunk:
                    self._eof = True
                else:
                    self._accept(chunk)
                self._lock.notify_all()
            if not chunk:
                return
            for listener in self.input_listeners:
                listener()

    def _accept(self, chunk: bytes) -> None:
        """Apply the C-a escapes (terminals only) and queue what is for the guest."""
        if not self.interactive:
            self._pending.append(chunk)
            return
        out = bytearray()
        for b in chunk:
            if self._escape:
                self._escape = False
                if b == ord("x"):
                    self.quit_requested = True
                elif b == ord("h"):
                    sys.stderr.write(HELP)
                    sys.stderr.flush()
                elif b == CTRL_A:
                    out.append(CTRL_A)
            elif b == CTRL_A:
                self._escape = True
            else:
                out.append(b)
        if out:
            self._pending.append(bytes(out))

    @property
    def at_eof(self) -> bool:
        with self._lock:
            return self._eof and not self._pending

    def has_input(self) -> bool:
        with self._lock:
            return bool(self._pending)

    def take(self, n: int) -> bytes:
        """Up to n queued input bytes."""
        with self._lock:
            out = bytearray()
            while self._pending and len(out) < n:
                chunk = self._pending.popleft()
                take = chunk[: n - len(out)]
                out += take
                if len(take) < len(chunk):
                    self._pending.appendleft(chunk[len(take) :])
            return bytes(out)

    def wait(self, timeout_s) -> bool:
        """Block until input is queued, EOF, or C-a x (True), or timeout_s passes (False)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._lock:
            while not (self._pending or self._eof or self.quit_requested):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._lock.wait(left if left is None else min(left, 0.25))
            return True


class StaticInput:
    """A serial line whose input is all there from the start (tests, benchmarks, notebooks):
    the UART's `line` protocol, has_input() and take(n).  With it, what the guest reads does
    not depend on host timing at all.

    >>> line = StaticInput(b"ls\\n")
    >>> line.take(1), line.has_input()
    (b'l', True)
    """

    def __init__(self, data: bytes):
        self.data = bytearray(data)

    def has_input(self) -> bool:
        return bool(self.data)

    def take(self, n: int) -> bytes:
        out = bytes(self.data[:n])
        del self.data[:n]
        return out


class RawTerminal:
    """Context manager: the terminal in raw mode while the guest owns it."""

    def __init__(self, fd: int):
        self.fd = fd
        self.saved = None

    def __enter__(self):
        import termios
        import tty

        self.saved = termios.tcgetattr(self.fd)
        tty.setraw(self.fd)
        # Keep output processing so a guest's "\n" still returns the carriage.
        attrs = termios.tcgetattr(self.fd)
        attrs[1] |= termios.OPOST | termios.ONLCR
        termios.tcsetattr(self.fd, termios.TCSADRAIN, attrs)
        return self

    def __exit__(self, *exc):
        import termios

        if self.saved is not None:
            try:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
            except (termios.error, OSError):  # the terminal is gone (hung up): nothing to restore
                pass
        return False
