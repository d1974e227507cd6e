# Device protocol shared by every MMIO device model of the virt board.
# A device sees only offsets inside its own window; the bus (not here) maps
# guest-physical addresses to (device, offset).  Interrupt wires are IrqLine
# objects or plain callables taking a level; the board connects them.
"""MMIO device protocol: Device (registers, state, counters) and IrqLine (a wire)."""

from __future__ import annotations

from collections.abc import Callable

SetLevel = Callable[[bool], None]


class IrqLine:
    """A level-sensitive interrupt wire.

    The board points ``sink`` at the receiver (e.g. ``lambda lv: plic.set_source(10, lv)``);
    without a sink the line just records its level, which is what unit tests inspect.

    >>> line = IrqLine()
    >>> line(True); line.level, line.raised
    (True, 1)
    """

    def __init__(self, sink: SetLevel | None = None) -> None:
        self.level = False
        self.raised = 0
        self.sink = sink

    def set_level(self, level: bool) -> None:
        level = bool(level)
        if level and not self.level:
            self.raised += 1
        self.level = level
        if self.sink is not None:
            self.sink(level)

    __call__ = set_level


class Device:
    """Base of every MMIO device model (the Firecracker shape: registers, state, metrics).

    Subclasses implement ``mmio_read``/``mmio_write`` for in-window offsets and
    return ``None``/``False`` for an offset or width the hardware does not decode;
    the base class turns those into a guest error (read 0, write dropped), so a
    guest can never make a device raise.
    """

    name: str = "device"
    SIZE: int = 0
    ACCESS_SIZES = (1, 2, 4, 8)

    def __init__(self) -> None:
        self.counters: dict[str, int] = {"reads": 0, "writes": 0, "guest_errors": 0}
        self.on_guest_error: Callable[[str], None] | None = None
        # Deferred work: a device that could not finish what a guest access asked within its per-access budget
        # calls on_work(self); the board (pyhv/machine.py) then calls service() between vCPU slices until it
        # returns False, so no guest access makes the host work for long inside the trapping instruction.
        self.on_work: Callable[[Device], None] | None = None
        self.status_watchers: list[Callable[[], None]] = []  # C caches of FAST_STATUS (pyhv/vcpu.py)

    def read(self, offset: int, size: int) -> int:
        self.counters["reads"] += 1
        if size in self.ACCESS_SIZES and 0 <= offset and offset + size <= self.SIZE:
            value = self.mmio_read(offset, size)
            if value is not None:
                return value & ((1 << (8 * size)) - 1)
        self.guest_error(f"read offset={offset:#x} size={size}")
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        self.counters["writes"] += 1
        in_window = size in self.ACCESS_SIZES and 0 <= offset and offset + size <= self.SIZE
        if in_window and self.mmio_write(offset, size, value & ((1 << (8 * size)) - 1)):
            return
        self.guest_error(f"write offset={offset:#x} size={size} value={value:#x}")

    # A register the guest polls, served from a cache in C (csrc/mmio.c) while its value
    # has none of `slow_bits` set: (offset, slow_bits), or None.  A device that declares it
    # also defines fast_status(), the register's value read without side effects, and
    # calls status_changed() whenever the host (not a guest access) changes that value.
    FAST_STATUS: tuple[int, int] | None = None

    def status_changed(self) -> None:
        for refresh in self.status_watchers:
            refresh()

    def guest_error(self, what: str) -> None:
        """Count (and optionally report, for ``-d guest_errors``) a guest misuse."""
        self.counters["guest_errors"] += 1
        if self.on_guest_error is not None:
            self.on_guest_error(f"{self.name}: {what}")

    def mmio_read(self, offset: int, size: int) -> int | None:
        return None

    def mmio_write(self, offset: int, size: int, value: int) -> bool:
        return False

    def service(self) -> bool:
        """Go on with deferred work, a bounded amount; True while some is left."""
        return False

    def reset(self) -> None:
        """Return every register to its reset value; counters are metrics and survive."""

    def state(self) -> dict:
        """Guest-visible state as JSON-serialisable plain data (for snapshots)."""
        return {}

    def load_state(self, d: dict) -> None:
        """Restore ``state()`` output; raises ValueError on a malformed snapshot."""


def check_int(d: dict, key: str, lo: int, hi: int) -> int:
    """Fetch ``d[key]`` as an int in [lo, hi] or raise ValueError (snapshots are untrusted input)."""
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ValueError(f"bad snapshot field {key!r}: {v!r}")
    return v


def check_bool(d: dict, key: str) -> bool:
    """Fetch ``d[key]`` as a bool or raise ValueError."""
    v = d.get(key)
    if v is not True and v is not False:
        raise ValueError(f"bad snapshot field {key!r}: {v!r}")
    return v


def check_int_list(d: dict, key: str, n: int, lo: int, hi: int) -> list[int]:
    """Fetch ``d[key]`` as a list of exactly n ints in [lo, hi] or raise ValueError."""
    v = d.get(key)
    if not isinstance(v, list) or len(v) != n:
        raise ValueError(f"bad snapshot field {key!r}: {v!r}")
    return [check_int({key: x}, key, lo, hi) for x in v]
