# sifive_test "test finisher" at 0x0010_0000: how a guest powers off, fails or reboots the board.
# Semantics of QEMU hw/misc/sifive_test.c (no public datasheet exists): one command register at
# offset 0, written with 16- or 32-bit stores; reads return 0.  What a request does (exit
# status, reboot) is the board's policy, reached through on_request.
"""SiFive test finisher model (QEMU sifive_test semantics)."""

from __future__ import annotations

from collections.abc import Callable

from . import Device

# Low half of the written word is the command, high half the failure code.
FINISHER_FAIL = 0x3333  # (code << 16) | FINISHER_FAIL
FINISHER_PASS = 0x5555
FINISHER_RESET = 0x7777

KINDS = {FINISHER_FAIL: "fail", FINISHER_PASS: "poweroff", FINISHER_RESET: "reset"}


class Finisher(Device):
    """Turns guest stores into ``on_request(kind, code)`` with kind 'poweroff', 'fail' or 'reset'.

    >>> seen = []
    >>> f = Finisher(on_request=lambda kind, code: seen.append((kind, code)))
    >>> f.write(0, 4, (3 << 16) | FINISHER_FAIL); seen
    [('fail', 3)]
    """

    name = "finisher"
    SIZE = 0x1000  # PYHV_FINISHER_SIZE
    ACCESS_SIZES = (2, 4)  # sifive_test accepts 2..4-byte accesses only

    def __init__(self, on_request: Callable[[str, int], None] | None = None) -> None:
        super().__init__()
        self.on_request = on_request
        self.last_request: tuple[str, int] | None = None
        self.counters.update(requests=0)

    def mmio_read(self, offset: int, size: int) -> int | None:
        return 0 if offset == 0 else None

    def mmio_write(self, offset: int, size: int, value: int) -> bool:
        kind = KINDS.get(value & 0xFFFF) if offset == 0 else None
        if kind is None:
            return False
        code = (value >> 16) & 0xFFFF if kind == "fail" else 0
        self.last_request = (kind, code)
        self.counters["requests"] += 1
        if self.on_request is not None:
            self.on_request(kind, code)
        return True

    @staticmethod
    def exit_status(kind: str, code: int) -> int:
        """Process exit status for a request: a 'fail' must not look like success, so code 0 maps to 1."""
        if kind == "fail":
            return code or 1
        return 0
