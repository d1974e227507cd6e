# virtio-mmio transport, version 2 register layout (VIRTIO 1.2 §4.2.2), with the device status handshake (§2.1),
# feature negotiation (§2.2) and split virtqueues (§2.7) that every virtio device type shares.
# A device type (virtio_blk.py) subclasses VirtioMMIODevice and supplies DEVICE_ID, its feature bits, its config
# space and handle_chain(); guest RAM is reached only through the `memory` object (read/write, raising DmaError).
"""virtio-mmio v2 transport and split virtqueues, hardened against hostile guests.

Every malformed input ends in a defined state; nothing raises out of read()/write():

* control register access that is not 32-bit and aligned, read of a write-only register, write of a read-only
  one: ignored (reads 0) and counted as a guest error (§4.2.2.2 forbids them to the driver).
* Status bits only accumulate until a write of 0 resets the device (§2.1.2: the driver MUST NOT clear a bit);
  the driver cannot set DEVICE_NEEDS_RESET.  FEATURES_OK is not set (§2.2.1, §3.1.1) when the driver accepted
  a feature that was not offered (in any DriverFeaturesSel word) or dropped VIRTIO_F_VERSION_1; DriverFeatures
  writes after FEATURES_OK are ignored.  DRIVER_OK without FEATURES_OK sets DEVICE_NEEDS_RESET.
* QueueNum/QueueDesc*/QueueDriver*/QueueDevice* writes to a ready queue, or to a QueueSel with no queue, are
  ignored.  QueueReady=1 with a QueueNum that is 0, not a power of two or above QueueNumMax, or with a ring
  part not entirely in RAM (probed by reading it): the queue stays not ready and DEVICE_NEEDS_RESET is set.
* QueueNotify before DRIVER_OK, after FAILED/DEVICE_NEEDS_RESET, or for a queue that is not ready: ignored
  (§2.1.2: no buffer is consumed before DRIVER_OK).
* Ring damage the device cannot complete a request through sets DEVICE_NEEDS_RESET, raises a configuration
  change interrupt if DRIVER_OK is set (§2.1.2), and stops the device until reset: avail idx moved by more than
  the queue size, a head or next index >= the table size, a chain longer than the queue size (this catches
  loops) or than 2^32 bytes (§2.7.5), a device-readable descriptor after a device-writable one (§2.7.4),
  VIRTQ_DESC_F_INDIRECT when not negotiated, nested, combined with NEXT, or with a length that is 0, not a
  multiple of 16 or holds more than queue size entries (§2.7.5.3), and DmaError on a ring, table or used ring.
* DmaError on a request's data buffer is the device type's business: virtio-blk completes with
  VIRTIO_BLK_S_IOERR when its status byte can be written, else it raises VirtqueueError (DEVICE_NEEDS_RESET).

Host work per guest access is bounded, whatever the rings say.  A chain visits each descriptor at most once and at
most queue-size descriptors (a loop is ring damage: §2.7.5 forbids it, §2.7.5.3 lets the device meet it), and each
device type bounds a request's bytes (virtio_blk.py, virtio_balloon.py).  The work itself is paced by a Budget:
one QueueNotify does at most NOTIFY_BUDGET of it inside the MMIO access (requests started, bytes moved, in steps a
device type yields between); a request or a queue that needs more stays pending, the device calls ``on_work``
and the board (pyhv/machine.py) calls service() from its run loop between vCPU slices, one SERVICE_BUDGET each
time, the way a VMM's event loop processes a queue after the notify's exit.  Pending work survives nothing but
that: a device reset, QueueReady=0 or DEVICE_NEEDS_RESET drop it.
"""

from __future__ import annotations

import struct
from dataclasses import asdict, dataclass
from enum import IntEnum

from ..errors import DmaError
from . import Device, IrqLine, SetLevel, check_bool, check_int


class Reg(IntEnum):
    """Control register offsets, Table 4.1 (version 2); R = read-only, W = write-only, RW both."""

    MagicValue = 0x000  # R: 0x74726976, "virt"
    Version = 0x004  # R: 2 (1 is the legacy layout)
    DeviceID = 0x008  # R
    VendorID = 0x00C  # R
    DeviceFeatures = 0x010  # R: bits [32*DeviceFeaturesSel, +32)
    DeviceFeaturesSel = 0x014  # W
    DriverFeatures = 0x020  # W: bits [32*DriverFeaturesSel, +32)
    DriverFeaturesSel = 0x024  # W
    QueueSel = 0x030  # W: the queue the Queue* registers refer to
    QueueNumMax = 0x034  # R: 0 if QueueSel names no queue
    QueueNum = 0x038  # W
    QueueReady = 0x044  # RW
    QueueNotify = 0x050  # W: the queue index
    InterruptStatus = 0x060  # R
    InterruptACK = 0x064  # W
    Status = 0x070  # RW: device status (§2.1); writing 0 resets
    QueueDescLow = 0x080  # W: Descriptor Area (descriptor table)
    QueueDescHigh = 0x084
    QueueDriverLow = 0x090  # W: Driver Area (available ring)
    QueueDriverHigh = 0x094
    QueueDeviceLow = 0x0A0  # W: Device Area (used ring)
    QueueDeviceHigh = 0x0A4
    SHMSel = 0x0AC  # W: shared memory regions (1.2); this transport has none
    SHMLenLow = 0x0B0
    SHMLenHigh = 0x0B4
    SHMBaseLow = 0x0B8
    SHMBaseHigh = 0x0BC
    ConfigGeneration = 0x0FC  # R
    Config = 0x100  # device-specific configuration space starts here


MAGIC_VALUE = 0x74726976
VERSION = 2
VENDOR_ID = 0x554D4551  # "QEMU", as QEMU's virtio-mmio, so guests that match on it behave the same

# Device status bits (§2.1).
ACKNOWLEDGE, DRIVER, DRIVER_OK, FEATURES_OK = 1, 2, 4, 8
DEVICE_NEEDS_RESET, FAILED = 0x40, 0x80
DRIVER_STATUS_BITS = ACKNOWLEDGE | DRIVER | DRIVER_OK | FEATURES_OK | FAILED

# Reserved feature bits (§6): the transport offers both; the device type adds its own bits 0..23.
VIRTIO_F_INDIRECT_DESC = 28
VIRTIO_F_VERSION_1 = 32

# InterruptStatus bits (§4.2.2).
INT_USED_BUFFER, INT_CONFIG_CHANGE = 1, 2

# Split virtqueue layout (§2.7): 16-byte descriptors; avail = flags, idx, ring[num] of u16;
# used = flags, idx, ring[num] of (u32 id, u32 len).  No EVENT_IDX, so no used_event/avail_event.
VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, VIRTQ_DESC_F_INDIRECT = 1, 2, 4
VIRTQ_AVAIL_F_NO_INTERRUPT = 1
VIRTQ_DESC = struct.Struct("<QIHH")  # addr, len, flags, next
VIRTQ_USED_ELEM = struct.Struct("<II")  # id, len
U16 = struct.Struct("<H")
QUEUE_NUM_LIMIT = 32768  # largest Queue Size of a split virtqueue (§2.7)
DESC_COST = VIRTQ_DESC.size  # work charged per descriptor walked: its 16 bytes were read

# The 64-bit ring part addresses are written as two 32-bit halves: register -> (Virtqueue field, bit shift).
QUEUE_ADDRESS_HALVES = {
    Reg.QueueDescLow: ("desc", 0), Reg.QueueDescHigh: ("desc", 32),
    Reg.QueueDriverLow: ("driver", 0), Reg.QueueDriverHigh: ("driver", 32),
    Reg.QueueDeviceLow: ("device", 0), Reg.QueueDeviceHigh: ("device", 32),
}  # fmt: skip


class VirtqueueError(Exception):
    """A ring or descriptor chain the device cannot complete: the device enters DEVICE_NEEDS_RESET."""


@dataclass
class Budget:
    """Host work one service point may still do: requests it may start, bytes it may move.

    A request is started only while both are positive, and pauses at the first step that uses up the bytes, so
    one service point does at most ``nbytes`` plus one step of a device type (virtio_blk.CHUNK bytes at most).
    """

    requests: int
    nbytes: int

    def exhausted(self) -> bool:
        return self.requests <= 0 or self.nbytes <= 0


# What one QueueNotify may do inside the trapping store (well-behaved drivers post one or a few requests per
# notify: tinyos, hello and the BIOS are served completely here), and what each service() call from the host loop
# may do.  1 MiB is about a millisecond of host time.
NOTIFY_BUDGET = Budget(requests=8, nbytes=1 << 20)
SERVICE_BUDGET = Budget(requests=16, nbytes=1 << 20)


@dataclass
class Virtqueue:
    """One split virtqueue as the driver set it up; addresses are guest-physical."""

    num: int = 0  # QueueNum as written; validated when the queue is made ready
    ready: bool = False
    desc: int = 0
    driver: int = 0
    device: int = 0
    last_avail_idx: int = 0  # free-running u16: next avail ring slot the device consumes
    used_idx: int = 0  # free-running u16: the device is the only writer of used->idx


class DescriptorChain:
    """One request: device-readable (gpa, len) segments, then device-writable ones.

    read()/write() see each side as one byte stream, since the device MUST NOT assume a framing (§2.7.4).
    ``written`` counts bytes that reached guest memory; it becomes the used element's len.  ``work`` counts what
    the request cost the host so far (descriptors walked, bytes read and written, and whatever the device type
    adds with charge()); the transport's Budget is spent from it.
    """

    def __init__(self, memory, head: int, readable: list, writable: list, descriptors: int = 0) -> None:
        self.memory, self.head = memory, head
        self.readable, self.writable = readable, writable
        self.readable_len = sum(n for _, n in readable)
        self.writable_len = sum(n for _, n in writable)
        self.written = 0
        self.work = DESC_COST * descriptors

    def charge(self, work: int) -> None:
        """Host work the device type did for this request besides moving its bytes."""
        self.work += work

    def read(self, offset: int, n: int) -> bytes:
        data = b"".join(self.memory.read(gpa, k) for gpa, k in _pieces(self.readable, offset, n))
        self.work += len(data)
        return data

    def write(self, offset: int, data: bytes) -> None:
        view, done = memoryview(data), 0
        for gpa, k in _pieces(self.writable, offset, len(data)):
            self.memory.write(gpa, bytes(view[done : done + k]))
            done += k
            self.written += k
            self.work += k


def _pieces(segments: list, offset: int, n: int):
    """The (gpa, len) pieces holding bytes [offset, offset + n) of a segment list read as one stream."""
    for gpa, length in segments:
        if n <= 0:
            return
        if offset >= length:
            offset -= length
            continue
        k = min(length - offset, n)
        yield gpa + offset, k
        offset, n = 0, n - k


class VirtioMMIODevice(Device):
    """The transport half of a virtio-mmio device; subclasses are the device types.

    ``memory`` has ``read(gpa, n) -> bytes`` (exactly n bytes) and ``write(gpa, data)``, both raising DmaError
    for a range not entirely in RAM (and ``write`` invalidating translated code); gpa comes from the guest and
    may be any value below 2^65.  ``irq(level)`` is driven high while InterruptStatus != 0.  Queue processing
    starts inside the QueueNotify write with NOTIFY_BUDGET and goes on in service() (see the module docstring).
    """

    SIZE = 0x200  # control registers + config space, the window QEMU's virtio-mmio decodes
    ACCESS_SIZES = (1, 2, 4, 8)  # control registers take 4 only; config fields take their own width
    DEVICE_ID = 0  # 0 = reserved: a transport with no device
    NUM_QUEUES = 1

    def __init__(self, memory, irq: SetLevel | None = None, *, queue_num_max: int = 128, name: str = "") -> None:
        super().__init__()
        if not 1 <= queue_num_max <= QUEUE_NUM_LIMIT or queue_num_max & (queue_num_max - 1):
            raise ValueError(f"queue_num_max must be a power of two <= {QUEUE_NUM_LIMIT}: {queue_num_max}")
        self.name = name or self.name
        self.memory = memory
        self.irq: SetLevel = irq if irq is not None else IrqLine()
        self.queue_num_max = queue_num_max
        self.counters.update(notifies=0, used_buffers=0, needs_reset=0, deferred=0)
        self.config_generation = 0
        self.interrupt_status = 0
        self.last_error = ""  # why DEVICE_NEEDS_RESET was last set, for humans
        self.reset()

    # -- what a device type provides ------------------------------------------------------

    def device_features(self) -> int:
        """Device-type feature bits offered in addition to the transport's."""
        return 0

    def config_space(self) -> bytes:
        """The device-specific configuration space, read little-endian at Config + offset."""
        return b""

    def handle_chain(self, queue: int, chain: DescriptorChain):
        """Complete one request; return normally to put it in the used ring, or raise VirtqueueError/DmaError.

        A device type whose request can be long makes this a generator and yields between steps of bounded
        work (chain.work grows as it goes): the transport may pause the request there and resume it later."""
        raise VirtqueueError(f"device {self.DEVICE_ID} has no queue {queue}")

    def offered_features(self) -> int:
        return (1 << VIRTIO_F_VERSION_1) | (1 << VIRTIO_F_INDIRECT_DESC) | self.device_features()

    def negotiated(self, bit: int) -> bool:
        return bool(self.status & FEATURES_OK and self.driver_features >> bit & 1)

    def config_changed(self) -> None:
        """Announce a config space change (§2.5): new ConfigGeneration, interrupt once the driver runs."""
        self.config_generation = (self.config_generation + 1) & 0xFFFFFFFF
        if self.status & DRIVER_OK:
            self._set_interrupt(self.interrupt_status | INT_CONFIG_CHANGE)

    # -- registers -------------------------------------------------------------------------

    def reset(self) -> None:
        """Device reset (§2.4): what a write of 0 to Status does.  ConfigGeneration keeps counting."""
        self.status = 0
        self.device_features_sel = self.driver_features_sel = self.queue_sel = 0
        self.driver_features = 0
        self.driver_features_extra = False  # bits accepted in DriverFeaturesSel words >= 2 (none offered)
        self.queues = [Virtqueue() for _ in range(self.NUM_QUEUES)]
        self.pending: set[int] = set()  # queues that may hold work the device has not finished
        self.in_flight: dict[int, tuple] = {}  # queue -> (chain, steps) of a request paused by the budget
        self._set_interrupt(0)

    def mmio_read(self, offset: int, size: int) -> int | None:
        if offset >= Reg.Config:
            if size in (1, 2, 4, 8):
                return int.from_bytes(self.config_space()[offset - Reg.Config :][:size], "little")
            return None
        if size != 4 or offset & 3:
            return None
        q = self._selected_queue()
        if offset == Reg.MagicValue:
            return MAGIC_VALUE
        if offset == Reg.Version:
            return VERSION
        if offset == Reg.DeviceID:
            return self.DEVICE_ID
        if offset == Reg.VendorID:
            return VENDOR_ID
        if offset == Reg.DeviceFeatures:
            sel = self.device_features_sel
            return self.offered_features() >> (32 * sel) & 0xFFFFFFFF if sel < 2 else 0
        if offset == Reg.QueueNumMax:
            return self.queue_num_max if q is not None else 0
        if offset == Reg.QueueReady:
            return int(q.ready) if q is not None else 0
        if offset == Reg.InterruptStatus:
            return self.interrupt_status
        if offset == Reg.Status:
            return self.status
        if offset in (Reg.SHMLenLow, Reg.SHMLenHigh, Reg.SHMBaseLow, Reg.SHMBaseHigh):
            return 0xFFFFFFFF  # a length of -1: no such region (§4.2.2)
        if offset == Reg.ConfigGeneration:
            return self.config_generation
        return None

    def mmio_write(self, offset: int, size: int, value: int) -> bool:
        if offset >= Reg.Config or size != 4 or offset & 3:
            return False  # no writable config field is offered
        q = self._selected_queue()
        settable = q is not None and not q.ready
        if offset == Reg.DeviceFeaturesSel:
            self.device_features_sel = value
        elif offset == Reg.DriverFeaturesSel:
            self.driver_features_sel = value
        elif offset == Reg.DriverFeatures:
            return self._write_driver_features(value)
        elif offset == Reg.QueueSel:
            self.queue_sel = value
        elif offset == Reg.QueueNum and settable:
            q.num = value
        elif offset in QUEUE_ADDRESS_HALVES and settable:
            field, shift = QUEUE_ADDRESS_HALVES[offset]
            setattr(q, field, getattr(q, field) & ~(0xFFFFFFFF << shift) | value << shift)
        elif offset == Reg.QueueReady and q is not None:
            self._write_queue_ready(q, value & 1)
        elif offset == Reg.QueueNotify:
            self._notify(value)
        elif offset == Reg.InterruptACK:
            self._set_interrupt(self.interrupt_status & ~value)
        elif offset == Reg.Status:
            self._write_status(value)
        elif offset == Reg.SHMSel:
            pass
        else:
            return False
        return True

    def _selected_queue(self) -> Virtqueue | None:
        return self.queues[self.queue_sel] if self.queue_sel < len(self.queues) else None

    def _write_driver_features(self, value: int) -> bool:
        if self.status & FEATURES_OK:
            return False  # negotiation is over (§3.1.1)
        sel = self.driver_features_sel
        if sel < 2:
            self.driver_features = self.driver_features & ~(0xFFFFFFFF << 32 * sel) | value << 32 * sel
        else:
            self.driver_features_extra = bool(value)
        return True

    def _write_status(self, value: int) -> None:
        if value == 0:
            self.reset()
            return
        new = value & DRIVER_STATUS_BITS & ~self.status
        if new & FEATURES_OK and not self._features_acceptable():
            new &= ~FEATURES_OK
            self.guest_error(f"FEATURES_OK refused for driver features {self.driver_features:#x}")
        self.status |= new
        if new & DRIVER_OK:
            if not self.status & FEATURES_OK:
                self._needs_reset("DRIVER_OK before FEATURES_OK")
            elif self.status & DEVICE_NEEDS_RESET:
                self._set_interrupt(self.interrupt_status | INT_CONFIG_CHANGE)

    def _features_acceptable(self) -> bool:
        f = self.driver_features
        return not self.driver_features_extra and not f & ~self.offered_features() and bool(f >> VIRTIO_F_VERSION_1 & 1)

    def _write_queue_ready(self, q: Virtqueue, ready: int) -> None:
        if not ready:
            q.ready = False  # service() drops its pending work
            return
        if q.ready:
            return
        num = q.num
        if not 1 <= num <= self.queue_num_max or num & (num - 1):
            self._needs_reset(f"QueueNum {num} is not a power of two <= {self.queue_num_max}")
            return
        try:  # the device only ever touches these bytes of the three parts
            self.memory.read(q.desc, 16 * num)
            self.memory.read(q.driver, 4 + 2 * num)
            self.memory.read(q.device, 4 + 8 * num)
        except DmaError:
            self._needs_reset(f"virtqueue parts outside RAM: {q.desc:#x} {q.driver:#x} {q.device:#x}")
            return
        q.ready, q.last_avail_idx, q.used_idx = True, 0, 0

    # -- interrupts and errors -------------------------------------------------------------

    def _set_interrupt(self, value: int) -> None:
        was = self.interrupt_status
        self.interrupt_status = value
        if bool(was) != bool(value):
            self.irq(bool(value))

    def _needs_reset(self, reason: str) -> None:
        self.status |= DEVICE_NEEDS_RESET
        self.pending.clear()  # stopped until reset (§2.1.2): nothing is consumed any more
        self.in_flight.clear()
        self.last_error = reason
        self.counters["needs_reset"] += 1
        self.guest_error(reason)
        if self.status & DRIVER_OK:
            self._set_interrupt(self.interrupt_status | INT_CONFIG_CHANGE)

    # -- split virtqueues (§2.7) ------------------------------------------------------------

    def _live(self) -> bool:
        return self.status & (DRIVER_OK | FEATURES_OK | DEVICE_NEEDS_RESET | FAILED) == DRIVER_OK | FEATURES_OK

    def _notify(self, index: int) -> None:
        self.counters["notifies"] += 1
        if not self._live() or index >= len(self.queues) or not self.queues[index].ready:
            return
        self.pending.add(index)
        if self._serve(Budget(NOTIFY_BUDGET.requests, NOTIFY_BUDGET.nbytes)):
            self.counters["deferred"] += 1
            if self.on_work is not None:
                self.on_work(self)

    def service(self) -> bool:
        """Go on with deferred queue work, one SERVICE_BUDGET; True while some is left (call again later)."""
        return self._serve(Budget(SERVICE_BUDGET.requests, SERVICE_BUDGET.nbytes))

    def _serve(self, budget: Budget) -> bool:
        for index in sorted(self.pending):
            q = self.queues[index]
            if not self._live() or not q.ready:
                self.pending.discard(index)
                self.in_flight.pop(index, None)
                continue
            used_before = q.used_idx
            try:
                if self._drain(index, q, budget):
                    self.pending.discard(index)
            except (VirtqueueError, DmaError) as err:
                self._needs_reset(f"queue {index}: {err or type(err).__name__}")
            if q.used_idx != used_before:
                try:
                    suppressed = U16.unpack(self.memory.read(q.driver, 2))[0] & VIRTQ_AVAIL_F_NO_INTERRUPT
                except DmaError:
                    suppressed = 0
                if not suppressed:
                    self._set_interrupt(self.interrupt_status | INT_USED_BUFFER)
        return bool(self.pending)

    def _drain(self, index: int, q: Virtqueue, budget: Budget) -> bool:
        """Complete requests of queue `index` while the budget lasts; True once its avail ring is empty."""
        # avail idx is read once per call: a driver that adds more after notifying notifies again (no NO_NOTIFY).
        avail_idx = U16.unpack(self.memory.read(q.driver + 2, 2))[0]
        while True:
            if index not in self.in_flight:
                pending = (avail_idx - q.last_avail_idx) & 0xFFFF
                if pending > q.num:
                    raise VirtqueueError(f"avail idx moved by {pending}, more than the queue size {q.num}")
                if not pending:
                    return True
                if budget.exhausted():
                    return False
                budget.requests -= 1
                head = U16.unpack(self.memory.read(q.driver + 4 + 2 * (q.last_avail_idx % q.num), 2))[0]
                chain = self._walk(q, head)
                steps = self.handle_chain(index, chain)
                self.in_flight[index] = (chain, iter(steps) if steps is not None else iter(()))
                spent = 0
            else:
                spent = self.in_flight[index][0].work
            chain, steps = self.in_flight[index]
            for _ in steps:
                if chain.work - spent >= budget.nbytes:
                    budget.nbytes = 0
                    return False  # paused between two steps; the next service() resumes it
            budget.nbytes -= chain.work - spent
            del self.in_flight[index]
            # The request leaves the avail ring only now, so a snapshot taken while it is paused replays it whole.
            self.memory.write(q.device + 4 + 8 * (q.used_idx % q.num), VIRTQ_USED_ELEM.pack(chain.head, chain.written))
            q.used_idx = (q.used_idx + 1) & 0xFFFF
            q.last_avail_idx = (q.last_avail_idx + 1) & 0xFFFF
            self.memory.write(q.device + 2, U16.pack(q.used_idx))
            self.counters["used_buffers"] += 1

    def _walk(self, q: Virtqueue, head: int) -> DescriptorChain:
        """Follow a chain from ``head``, through at most one indirect table, into a DescriptorChain.

        Each descriptor is read once: one seen before (in the ring's table or in the indirect table) is a loop,
        and more than queue-size descriptors in all is a chain the driver must not make (§2.7.5.3.1); both are
        ring damage, found after at most queue-size + 1 reads of 16 bytes."""
        table, size, index = q.desc, q.num, head
        readable: list = []
        writable: list = []
        seen: set = set()
        count = total = 0
        indirect = False
        while True:
            if index >= size:
                raise VirtqueueError(f"descriptor index {index} outside a table of {size}")
            if (indirect, index) in seen:
                raise VirtqueueError(f"descriptor {index} visited twice: the chain loops")
            seen.add((indirect, index))
            addr, length, flags, nxt = VIRTQ_DESC.unpack(self.memory.read(table + 16 * index, 16))
            if flags & VIRTQ_DESC_F_INDIRECT:
                if indirect or flags & VIRTQ_DESC_F_NEXT or not self.negotiated(VIRTIO_F_INDIRECT_DESC):
                    raise VirtqueueError("VIRTQ_DESC_F_INDIRECT nested, with NEXT, or not negotiated")
                if not length or length % 16 or length // 16 > q.num:
                    raise VirtqueueError(f"indirect table of {length} bytes")
                table, size, index, indirect = addr, length // 16, 0, True
                continue
            count += 1
            total += length
            if count > q.num or total > 0xFFFFFFFF:
                raise VirtqueueError("descriptor chain longer than the queue size or 2^32 bytes")
            if flags & VIRTQ_DESC_F_WRITE:
                writable.append((addr, length))
            elif writable:
                raise VirtqueueError("device-readable descriptor after a device-writable one")
            else:
                readable.append((addr, length))
            if not flags & VIRTQ_DESC_F_NEXT:
                return DescriptorChain(self.memory, head, readable, writable, descriptors=len(seen))
            index = nxt

    # -- snapshots ---------------------------------------------------------------------------

    def device_state(self) -> dict:
        return {}

    def load_device_state(self, d: dict) -> None:
        pass

    def state(self) -> dict:
        return {
            "status": self.status, "device_features_sel": self.device_features_sel,
            "driver_features_sel": self.driver_features_sel, "driver_features": self.driver_features,
            "driver_features_extra": self.driver_features_extra, "queue_sel": self.queue_sel,
            "interrupt_status": self.interrupt_status, "config_generation": self.config_generation,
            "queues": [asdict(q) for q in self.queues], "device": self.device_state(),
        }  # fmt: skip

    def load_state(self, d: dict) -> None:
        u32, u64 = 0xFFFFFFFF, (1 << 64) - 1
        queues, device = d.get("queues"), d.get("device")
        shape_ok = isinstance(queues, list) and len(queues) == self.NUM_QUEUES and isinstance(device, dict)
        if not shape_ok or not all(isinstance(qd, dict) for qd in queues):
            raise ValueError(f"bad snapshot fields 'queues'/'device' for {self.name}")
        loaded = [self._load_queue(qd) for qd in queues]
        sels = [check_int(d, k, 0, u32) for k in ("device_features_sel", "driver_features_sel", "queue_sel")]
        status, generation = check_int(d, "status", 0, 0xFF), check_int(d, "config_generation", 0, u32)
        features, extra = check_int(d, "driver_features", 0, u64), check_bool(d, "driver_features_extra")
        interrupt = check_int(d, "interrupt_status", 0, INT_USED_BUFFER | INT_CONFIG_CHANGE)
        self.load_device_state(device)
        self.device_features_sel, self.driver_features_sel, self.queue_sel = sels
        self.status, self.config_generation = status, generation
        self.driver_features, self.driver_features_extra = features, extra
        self.queues, self.interrupt_status = loaded, interrupt
        self.in_flight.clear()  # a paused request was still in the avail ring when saved: it is replayed whole
        self.pending = {i for i, q in enumerate(loaded) if q.ready} if self._live() else set()
        self.irq(bool(interrupt))
        if self.pending and self.on_work is not None:
            self.on_work(self)

    def _load_queue(self, qd: dict) -> Virtqueue:
        q = Virtqueue(**{k: check_int(qd, k, 0, (1 << 64) - 1) for k in ("desc", "driver", "device")})
        q.num, q.ready = check_int(qd, "num", 0, 0xFFFFFFFF), check_bool(qd, "ready")
        q.last_avail_idx, q.used_idx = check_int(qd, "last_avail_idx", 0, 0xFFFF), check_int(qd, "used_idx", 0, 0xFFFF)
        if q.ready and (not 1 <= q.num <= self.queue_num_max or q.num & (q.num - 1)):
            raise ValueError(f"bad snapshot queue size {q.num}")
        return q


class EmptySlot(Device):
    """A virtio-mmio slot with no device behind it (spec 4.2.3.1.1: DeviceID 0 is a
    placeholder the driver must ignore), as QEMU's virt board fills its unused slots,
    so probing all eight slots never faults."""

    name = "virtio-empty"
    SIZE = 0x200
    ACCESS_SIZES = (4,)

    def mmio_read(self, offset: int, size: int) -> int | None:
        return {Reg.MagicValue: MAGIC_VALUE, Reg.Version: 2, Reg.DeviceID: 0, Reg.VendorID: VENDOR_ID}.get(offset, 0)

    def mmio_write(self, offset: int, size: int, value: int) -> bool:
        return True  # writes to a placeholder are ignored, not guest errors
