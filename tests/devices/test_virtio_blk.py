# virtio-mmio transport and virtio-blk (VIRTIO 1.2 §2.1, §2.2, §2.7, §4.2.2, §5.2) through their registers: a small
# driver written here does the handshake and sets up a queue in FakeGuestMemory; hypothesis then plays a hostile
# guest (rings, descriptor tables, register writes) and checks that nothing escapes, no byte lands outside the
# buffers the guest marked device-writable, and the device always ends in a state the spec defines.
import hashlib
import itertools
import json
import os
import random
import re
import struct

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pyhv.devices import Device, IrqLine
from pyhv.devices.virtio_blk import (
    VIRTIO_BLK_F_BLK_SIZE,
    VIRTIO_BLK_F_FLUSH,
    VIRTIO_BLK_F_RO,
    VIRTIO_BLK_F_SEG_MAX,
    VIRTIO_BLK_F_SIZE_MAX,
    VIRTIO_BLK_S_IOERR,
    VIRTIO_BLK_S_OK,
    VIRTIO_BLK_S_UNSUPP,
    VIRTIO_BLK_T_FLUSH,
    VIRTIO_BLK_T_GET_ID,
    VIRTIO_BLK_T_IN,
    VIRTIO_BLK_T_OUT,
    DiskBackend,
    DiskError,
    VirtioBlk,
)
from pyhv.devices.virtio_mmio import (
    ACKNOWLEDGE,
    DEVICE_NEEDS_RESET,
    DRIVER,
    DRIVER_OK,
    DRIVER_STATUS_BITS,
    FEATURES_OK,
    INT_CONFIG_CHANGE,
    INT_USED_BUFFER,
    VIRTIO_F_INDIRECT_DESC,
    VIRTIO_F_VERSION_1,
    VIRTQ_DESC,
    VIRTQ_DESC_F_INDIRECT,
    VIRTQ_DESC_F_NEXT,
    VIRTQ_DESC_F_WRITE,
    DmaError,
    Reg,
)
from pyhv.errors import ImageError

# Guest RAM for the tests, and where the driver puts things in it.
RAM_BASE, RAM_SIZE = 0x8000_0000, 0x20000
RAM_END = RAM_BASE + RAM_SIZE
DESC_AT, AVAIL_AT, USED_AT = RAM_BASE, RAM_BASE + 0x1000, RAM_BASE + 0x2000
TABLES_AT = RAM_BASE + 0x3000  # four indirect tables of 16 descriptors, 0x100 bytes each
DATA_AT = RAM_BASE + 0x4000  # request headers, data and status bytes; never read as ring structures
CAP = 64  # disk image size in sectors
SERIAL = "pyhv-test-disk"
HOSTILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class FakeGuestMemory:
    """Guest RAM [base, base + size): raises DmaError for any range not entirely inside, records every write."""

    def __init__(self, base: int, size: int) -> None:
        self.base, self.size = base, size
        self.ram = bytearray(size)
        self.writes: list[tuple[int, int]] = []

    def _at(self, gpa: int, n: int) -> int:
        if n < 0 or gpa < self.base or gpa + n > self.base + self.size:
            raise DmaError(f"{gpa:#x}+{n:#x} outside RAM")
        return gpa - self.base

    def read(self, gpa: int, n: int) -> bytes:
        at = self._at(gpa, n)
        return bytes(self.ram[at : at + n])

    def write(self, gpa: int, data: bytes) -> None:
        at = self._at(gpa, len(data))
        self.ram[at : at + len(data)] = data
        self.writes.append((gpa, len(data)))

    def poke(self, gpa: int, data: bytes) -> None:
        """A write by the guest itself (not recorded)."""
        at = self._at(gpa, len(data))
        self.ram[at : at + len(data)] = data


class Driver:
    """A minimal virtio-blk driver: the initialisation of §3.1.1/§4.2.3 and one request per notify."""

    def __init__(self, dev: VirtioBlk, mem: FakeGuestMemory, num: int = 8) -> None:
        self.dev, self.mem, self.num = dev, mem, num
        self.avail_idx = self.used_seen = 0

    def reg(self, r: int) -> int:
        return self.dev.read(r, 4)

    def set(self, r: int, value: int) -> None:
        self.dev.write(r, 4, value)

    def offered(self) -> int:
        words = []
        for sel in (0, 1):
            self.set(Reg.DeviceFeaturesSel, sel)
            words.append(self.reg(Reg.DeviceFeatures))
        return words[0] | words[1] << 32

    def handshake(self, accept: int | None = None, *, drop: int = 0) -> None:
        self.set(Reg.Status, 0)
        self.set(Reg.Status, ACKNOWLEDGE)
        self.set(Reg.Status, ACKNOWLEDGE | DRIVER)
        accept = (self.offered() if accept is None else accept) & ~drop
        for sel in (0, 1):
            self.set(Reg.DriverFeaturesSel, sel)
            self.set(Reg.DriverFeatures, accept >> 32 * sel & 0xFFFFFFFF)
        self.set(Reg.Status, ACKNOWLEDGE | DRIVER | FEATURES_OK)
        assert self.reg(Reg.Status) & FEATURES_OK
        self.mem.poke(RAM_BASE, bytes(0x3000))
        self.set(Reg.QueueSel, 0)
        assert self.reg(Reg.QueueReady) == 0 and self.reg(Reg.QueueNumMax) >= self.num
        self.set(Reg.QueueNum, self.num)
        for low, gpa in ((Reg.QueueDescLow, DESC_AT), (Reg.QueueDriverLow, AVAIL_AT), (Reg.QueueDeviceLow, USED_AT)):
            self.set(low, gpa & 0xFFFFFFFF)
            self.set(low + 4, gpa >> 32)
        self.set(Reg.QueueReady, 1)
        assert self.reg(Reg.QueueReady) == 1
        self.set(Reg.Status, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK)
        self.avail_idx = self.used_seen = 0

    def post(self, segments: list, *, indirect: bool = False, notify: bool = True) -> None:
        """Make one chain of (gpa, len, device_writable) segments available, from descriptor 0."""
        table = TABLES_AT if indirect else DESC_AT
        for i, (gpa, n, w) in enumerate(segments):
            flags = (VIRTQ_DESC_F_WRITE if w else 0) | (VIRTQ_DESC_F_NEXT if i + 1 < len(segments) else 0)
            self.mem.poke(table + 16 * i, VIRTQ_DESC.pack(gpa, n, flags, i + 1))
        if indirect:
            self.mem.poke(DESC_AT, VIRTQ_DESC.pack(TABLES_AT, 16 * len(segments), VIRTQ_DESC_F_INDIRECT, 0))
        self.mem.poke(AVAIL_AT + 4 + 2 * (self.avail_idx % self.num), struct.pack("<H", 0))
        self.avail_idx = (self.avail_idx + 1) & 0xFFFF
        self.mem.poke(AVAIL_AT + 2, struct.pack("<H", self.avail_idx))
        if notify:
            self.set(Reg.QueueNotify, 0)

    def used(self) -> list[tuple[int, int]]:
        idx = struct.unpack("<H", self.mem.read(USED_AT + 2, 2))[0]
        out = []
        while self.used_seen != idx:
            out.append(struct.unpack("<II", self.mem.read(USED_AT + 4 + 8 * (self.used_seen % self.num), 8)))
            self.used_seen = (self.used_seen + 1) & 0xFFFF
        return out

    def request(self, rtype, sector=0, out=b"", in_len=0, *, split=1, indirect=False, at=DATA_AT):
        """One request; returns (status, data read, used len).  Data is split over ``split`` descriptors."""
        hdr, status_at, data_at = at, at + 0x20, at + 0x200
        self.mem.poke(hdr, struct.pack("<IIQ", rtype, 0, sector))
        self.mem.poke(status_at, b"\xee")
        data, writable = (out, False) if out else (bytes(in_len), True)
        self.mem.poke(data_at, data if out else bytes(in_len))
        cuts = sorted({0, len(data), *(len(data) * k // split for k in range(1, split))})
        segs = [(hdr, 16, False)] + [(data_at + a, b - a, writable) for a, b in itertools.pairwise(cuts)]
        self.post(segs + [(status_at, 1, True)], indirect=indirect)
        ((head, length),) = self.used()
        assert head == 0
        return self.mem.read(status_at, 1)[0], self.mem.read(data_at, in_len), length


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("virtio") / "disk.img"
    path.write_bytes(random.Random(1).randbytes(CAP * 512))
    return str(path)


def contents(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def digest(path: str) -> str:
    return hashlib.sha256(contents(path)).hexdigest()


OPENED: list[DiskBackend] = []


@pytest.fixture(autouse=True)
def close_backends():
    yield
    while OPENED:
        OPENED.pop().close()


def backend(path, **args) -> DiskBackend:
    OPENED.append(DiskBackend(path, **args))
    return OPENED[-1]


def make(path: str, *, num: int = 8, queue_num_max: int = 128, accept=None, drop=0, **backend_args):
    mem = FakeGuestMemory(RAM_BASE, RAM_SIZE)
    line = IrqLine()
    dev = VirtioBlk(backend(path, **backend_args), mem, line, serial=SERIAL, queue_num_max=queue_num_max)
    drv = Driver(dev, mem, num)
    drv.handshake(accept, drop=drop)
    return dev, mem, line, drv


def assert_spec_state(dev: VirtioBlk, line: IrqLine) -> None:
    """What the spec allows a device to look like, whatever the guest did."""
    status = dev.read(Reg.Status, 4)
    assert status & ~(DRIVER_STATUS_BITS | DEVICE_NEEDS_RESET) == 0
    isr = dev.read(Reg.InterruptStatus, 4)
    assert isr & ~(INT_USED_BUFFER | INT_CONFIG_CHANGE) == 0
    assert line.level == (isr != 0)
    if status & FEATURES_OK:
        assert dev.driver_features >> VIRTIO_F_VERSION_1 & 1 and not dev.driver_features & ~dev.offered_features()
    for q in dev.queues:
        assert not q.ready or (1 <= q.num <= dev.queue_num_max and q.num & (q.num - 1) == 0)
    json.dumps(dev.state())


# -- a well-behaved driver ------------------------------------------------------------------------


def test_io_roundtrip_readwrite_file(tmp_path):
    path = tmp_path / "rw.img"
    path.write_bytes(bytes(range(256)) * 2 * CAP)
    dev, _, line, drv = make(str(path))
    st_, data, n = drv.request(VIRTIO_BLK_T_IN, 1, in_len=1024)
    assert (st_, n) == (VIRTIO_BLK_S_OK, 1025) and data == path.read_bytes()[512:1536]
    assert line.level and dev.read(Reg.InterruptStatus, 4) == INT_USED_BUFFER
    drv.set(Reg.InterruptACK, INT_USED_BUFFER)
    assert not line.level and dev.read(Reg.InterruptStatus, 4) == 0
    payload = bytes([7]) * 512 + bytes([9]) * 512
    assert drv.request(VIRTIO_BLK_T_OUT, 3, out=payload, split=3)[::2] == (VIRTIO_BLK_S_OK, 1)
    assert drv.request(VIRTIO_BLK_T_FLUSH)[0] == VIRTIO_BLK_S_OK
    assert path.read_bytes()[3 * 512 : 5 * 512] == payload
    assert drv.request(VIRTIO_BLK_T_IN, 3, in_len=1024, indirect=True, split=4)[:2] == (VIRTIO_BLK_S_OK, payload)
    st_, ident, n = drv.request(VIRTIO_BLK_T_GET_ID, in_len=20)
    assert (st_, ident, n) == (VIRTIO_BLK_S_OK, SERIAL.encode().ljust(20, b"\0"), 21)
    c = dev.counters
    assert (c["req_in"], c["req_out"], c["req_flush"], c["req_get_id"], c["errors"]) == (2, 1, 1, 1, 0)
    assert (c["bytes_read"], c["bytes_written"]) == (2048, 1024)
    dev.backend.close()


def test_any_layout_header_data_status_share_descriptors(image):
    _, mem, _, drv = make(image, snapshot=True)
    want = contents(image)[5 * 512 : 6 * 512]
    mem.poke(DATA_AT, struct.pack("<IIQ", VIRTIO_BLK_T_IN, 0, 5))
    # header split 3+13 bytes, then data and status in one writable descriptor
    drv.post([(DATA_AT, 3, False), (DATA_AT + 3, 13, False), (DATA_AT + 0x100, 513, True)])
    assert drv.used() == [(0, 513)]
    assert mem.read(DATA_AT + 0x100, 513) == want + bytes([VIRTIO_BLK_S_OK])


def test_request_errors_complete_with_status(image):
    dev, mem, line, drv = make(image, snapshot=True)
    assert drv.request(11)[0] == VIRTIO_BLK_S_UNSUPP  # DISCARD is not offered
    assert drv.request(VIRTIO_BLK_T_IN, CAP - 1, in_len=1024)[0] == VIRTIO_BLK_S_IOERR
    assert drv.request(VIRTIO_BLK_T_IN, 2**64 - 1, in_len=512)[0] == VIRTIO_BLK_S_IOERR
    assert drv.request(VIRTIO_BLK_T_OUT, 0, out=bytes(100))[0] == VIRTIO_BLK_S_IOERR
    mem.writes.clear()
    # data buffer outside RAM, status byte inside: IOERR, and nothing else written
    mem.poke(DATA_AT, struct.pack("<IIQ", VIRTIO_BLK_T_IN, 0, 0))
    drv.post([(DATA_AT, 16, False), (RAM_END - 256, 512, True), (DATA_AT + 0x20, 1, True)])
    assert drv.used() == [(0, 1)] and mem.read(DATA_AT + 0x20, 1)[0] == VIRTIO_BLK_S_IOERR
    assert [gpa for gpa, _ in mem.writes] == [DATA_AT + 0x20, USED_AT + 4 + 8 * 4, USED_AT + 2]
    # header shorter than 16 bytes
    drv.post([(DATA_AT, 8, False), (DATA_AT + 0x20, 1, True)])
    assert drv.used() == [(0, 1)] and mem.read(DATA_AT + 0x20, 1)[0] == VIRTIO_BLK_S_IOERR
    assert dev.counters["errors"] == 5 and not dev.read(Reg.Status, 4) & DEVICE_NEEDS_RESET
    assert_spec_state(dev, line)


@pytest.mark.parametrize(
    "chain",
    [
        [(DATA_AT, 16, False)],  # no status byte at all
        [(DATA_AT, 16, False), (RAM_END, 1, True)],  # status byte outside RAM
        [(DATA_AT, 16, False), (0x1000_1000, 1, True)],  # status byte in MMIO
    ],
)
def test_request_without_reachable_status_needs_reset(image, chain):
    dev, mem, line, drv = make(image, snapshot=True)
    mem.poke(DATA_AT, struct.pack("<IIQ", VIRTIO_BLK_T_FLUSH, 0, 0))
    drv.post(chain)
    assert drv.used() == []
    assert dev.read(Reg.Status, 4) & DEVICE_NEEDS_RESET
    assert dev.read(Reg.InterruptStatus, 4) == INT_CONFIG_CHANGE and line.level
    drv.handshake()  # a reset brings it back
    assert drv.request(VIRTIO_BLK_T_FLUSH)[0] == VIRTIO_BLK_S_OK


@pytest.mark.parametrize("how", ["loop", "next_oob", "avail_jump", "head_oob", "readable_after_writable"])
def test_broken_rings_set_device_needs_reset(image, how):
    dev, mem, line, drv = make(image, snapshot=True, num=4)
    mem.poke(DATA_AT, struct.pack("<IIQ", VIRTIO_BLK_T_IN, 0, 0))
    n = VIRTQ_DESC_F_NEXT
    table = {
        "loop": [(DATA_AT, 16, n, 1), (DATA_AT + 0x200, 1, n | VIRTQ_DESC_F_WRITE, 2), (DATA_AT + 0x300, 1, n | 2, 1)],
        "next_oob": [(DATA_AT, 16, n, 4)],
        "readable_after_writable": [(DATA_AT + 0x20, 1, n | VIRTQ_DESC_F_WRITE, 1), (DATA_AT, 16, 0, 0)],
    }.get(how, [(DATA_AT, 16, n, 1), (DATA_AT + 0x20, 1, VIRTQ_DESC_F_WRITE, 0)])
    for i, d in enumerate(table):
        mem.poke(DESC_AT + 16 * i, VIRTQ_DESC.pack(*d))
    mem.poke(AVAIL_AT + 4, struct.pack("<H", 7 if how == "head_oob" else 0))
    mem.poke(AVAIL_AT + 2, struct.pack("<H", 5 if how == "avail_jump" else 1))
    mem.writes.clear()
    drv.set(Reg.QueueNotify, 0)
    assert dev.read(Reg.Status, 4) & DEVICE_NEEDS_RESET and dev.last_error
    assert dev.read(Reg.InterruptStatus, 4) == INT_CONFIG_CHANGE and line.level
    assert mem.writes == []  # no request completed, the used ring was not touched
    drv.set(Reg.QueueNotify, 0)  # ignored from now on
    assert dev.counters["needs_reset"] == 1
    assert_spec_state(dev, line)


def test_indirect_not_negotiated_is_refused(image):
    dev, mem, _, drv = make(image, snapshot=True, drop=1 << VIRTIO_F_INDIRECT_DESC)
    mem.poke(DATA_AT, struct.pack("<IIQ", VIRTIO_BLK_T_FLUSH, 0, 0))
    drv.post([(DATA_AT, 16, False), (DATA_AT + 0x20, 1, True)], indirect=True)
    assert drv.used() == [] and dev.read(Reg.Status, 4) & DEVICE_NEEDS_RESET


def test_no_interrupt_flag_suppresses_used_buffer_notification(image):
    dev, mem, line, drv = make(image, snapshot=True)
    mem.poke(AVAIL_AT, struct.pack("<H", 1))  # VIRTQ_AVAIL_F_NO_INTERRUPT
    assert drv.request(VIRTIO_BLK_T_FLUSH)[0] == VIRTIO_BLK_S_OK
    assert dev.read(Reg.InterruptStatus, 4) == 0 and not line.level


# -- registers ---------------------------------------------------------------------------------------


def test_identity_features_and_config(image):
    dev = VirtioBlk(backend(image, snapshot=True), FakeGuestMemory(RAM_BASE, RAM_SIZE), queue_num_max=64)
    assert isinstance(dev, Device) and dev.name == "virtio-blk"
    assert [dev.read(r, 4) for r in (Reg.MagicValue, Reg.Version, Reg.DeviceID, Reg.VendorID)] == [
        0x74726976, 2, 2, 0x554D4551,
    ]  # fmt: skip
    drv = Driver(dev, dev.memory)
    offered = drv.offered()
    want = {VIRTIO_F_VERSION_1, VIRTIO_F_INDIRECT_DESC, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_SEG_MAX,
            VIRTIO_BLK_F_SIZE_MAX}  # fmt: skip
    assert offered == sum(1 << b for b in want) and not offered >> VIRTIO_BLK_F_RO & 1
    drv.set(Reg.DeviceFeaturesSel, 2)
    assert drv.reg(Reg.DeviceFeatures) == 0
    assert dev.read(Reg.Config, 8) == CAP and dev.read(Reg.Config, 4) == CAP and dev.read(Reg.Config + 4, 4) == 0
    assert dev.read(Reg.Config + 12, 4) == 62 and dev.read(Reg.Config + 20, 4) == 512  # seg_max, blk_size
    assert dev.read(Reg.Config + 8, 4) == 64 * 1024  # size_max
    assert dev.read(Reg.Config + 0x100, 4) == 0 and dev.read(Reg.ConfigGeneration, 4) == 0
    drv.set(Reg.QueueSel, 0)
    assert drv.reg(Reg.QueueNumMax) == 64
    drv.set(Reg.QueueSel, 1)  # no such queue
    assert drv.reg(Reg.QueueNumMax) == 0
    drv.set(Reg.QueueReady, 1)
    assert drv.reg(Reg.QueueReady) == 0
    errors = dev.counters["guest_errors"]
    assert dev.read(Reg.MagicValue, 2) == 0 and dev.read(Reg.MagicValue + 1, 4) == 0 and dev.read(Reg.QueueNum, 4) == 0
    dev.write(Reg.MagicValue, 4, 1)
    dev.write(Reg.Status, 1, ACKNOWLEDGE)
    assert dev.counters["guest_errors"] == errors + 5 and drv.reg(Reg.Status) == 0


@pytest.mark.parametrize(
    "accept",
    [
        "drop_version_1",
        "unoffered_bit",
        "word_2",
    ],
)
def test_features_ok_refused(image, accept):
    dev = VirtioBlk(backend(image, snapshot=True), FakeGuestMemory(RAM_BASE, RAM_SIZE))
    drv = Driver(dev, dev.memory)
    drv.set(Reg.Status, ACKNOWLEDGE | DRIVER)
    features = drv.offered()
    features = {"drop_version_1": features & ~(1 << 32), "unoffered_bit": features | 1 << 7}.get(accept, features)
    for sel in (0, 1):
        drv.set(Reg.DriverFeaturesSel, sel)
        drv.set(Reg.DriverFeatures, features >> 32 * sel & 0xFFFFFFFF)
    if accept == "word_2":
        drv.set(Reg.DriverFeaturesSel, 2)
        drv.set(Reg.DriverFeatures, 1)
    drv.set(Reg.Status, ACKNOWLEDGE | DRIVER | FEATURES_OK)
    assert drv.reg(Reg.Status) == ACKNOWLEDGE | DRIVER
    drv.set(Reg.Status, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK)  # a driver that does not check
    assert drv.reg(Reg.Status) == ACKNOWLEDGE | DRIVER | DRIVER_OK | DEVICE_NEEDS_RESET
    drv.handshake()  # after a reset, a correct negotiation succeeds
    assert drv.reg(Reg.Status) == ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK


def test_status_bits_accumulate_and_zero_resets(image):
    dev, _, line, drv = make(image, snapshot=True)
    drv.set(Reg.Status, ACKNOWLEDGE | DEVICE_NEEDS_RESET)  # clearing bits and setting NEEDS_RESET: both ignored
    assert drv.reg(Reg.Status) == ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK
    drv.set(Reg.DriverFeaturesSel, 0)
    drv.set(Reg.DriverFeatures, 0)  # after FEATURES_OK: ignored
    assert dev.driver_features >> VIRTIO_BLK_F_FLUSH & 1
    drv.request(VIRTIO_BLK_T_FLUSH)
    assert line.level
    drv.set(Reg.Status, 0)
    assert drv.reg(Reg.Status) == 0 and drv.reg(Reg.InterruptStatus) == 0 and not line.level
    drv.set(Reg.QueueSel, 0)
    assert drv.reg(Reg.QueueReady) == 0 and dev.queues[0].num == 0


@pytest.mark.parametrize(
    "num, desc",
    [(3, DESC_AT), (256, DESC_AT), (0, DESC_AT), (8, 0), (8, RAM_END - 64), (8, 0x1000_1000)],
)
def test_queue_ready_refused(image, num, desc):
    dev = VirtioBlk(backend(image, snapshot=True), FakeGuestMemory(RAM_BASE, RAM_SIZE), IrqLine())
    drv = Driver(dev, dev.memory)
    drv.set(Reg.Status, ACKNOWLEDGE | DRIVER)
    drv.set(Reg.DriverFeaturesSel, 1)
    drv.set(Reg.DriverFeatures, 1)
    drv.set(Reg.Status, ACKNOWLEDGE | DRIVER | FEATURES_OK)
    drv.set(Reg.QueueNum, num)
    drv.set(Reg.QueueDescLow, desc & 0xFFFFFFFF)
    drv.set(Reg.QueueDriverLow, AVAIL_AT & 0xFFFFFFFF)
    drv.set(Reg.QueueDeviceLow, USED_AT & 0xFFFFFFFF)
    drv.set(Reg.QueueReady, 1)
    assert drv.reg(Reg.QueueReady) == 0 and drv.reg(Reg.Status) & DEVICE_NEEDS_RESET
    assert drv.reg(Reg.InterruptStatus) == 0  # no DRIVER_OK yet: no notification
    drv.set(Reg.Status, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK)
    assert drv.reg(Reg.InterruptStatus) == INT_CONFIG_CHANGE


def test_queue_registers_frozen_while_ready(image):
    dev, _, _, drv = make(image, snapshot=True)
    drv.set(Reg.QueueNum, 2)
    drv.set(Reg.QueueDescLow, 0)
    assert dev.queues[0].num == 8 and dev.queues[0].desc == DESC_AT
    drv.set(Reg.QueueReady, 0)
    drv.set(Reg.QueueNotify, 0)  # not ready: nothing happens
    assert drv.reg(Reg.QueueReady) == 0 and drv.reg(Reg.Status) & DEVICE_NEEDS_RESET == 0


def test_state_roundtrip(image):
    dev, mem, _, drv = make(image, snapshot=True)
    drv.request(VIRTIO_BLK_T_IN, 0, in_len=512)
    snap = json.loads(json.dumps(dev.state()))
    twin_line = IrqLine()
    twin = VirtioBlk(dev.backend, mem, twin_line)
    twin.load_state(snap)
    assert twin.state() == snap and twin_line.level
    drv.dev = twin
    assert drv.request(VIRTIO_BLK_T_GET_ID, in_len=20)[0] == VIRTIO_BLK_S_OK
    for bad in ({**snap, "status": -1}, {**snap, "queues": [{**snap["queues"][0], "num": 3}]}, {}):
        with pytest.raises(ValueError):
            twin.load_state(bad)


# -- backends --------------------------------------------------------------------------------------


def test_snapshot_leaves_file_identical(image):
    before = digest(image)
    dev, _, _, drv = make(image, snapshot=True)
    payload = bytes(range(256)) * 4
    assert drv.request(VIRTIO_BLK_T_OUT, 10, out=payload)[0] == VIRTIO_BLK_S_OK
    assert drv.request(VIRTIO_BLK_T_FLUSH)[0] == VIRTIO_BLK_S_OK
    disk = contents(image)
    assert (
        drv.request(VIRTIO_BLK_T_IN, 9, in_len=2048)[1]
        == disk[9 * 512 : 10 * 512] + payload + disk[12 * 512 : 13 * 512]
    )
    dev.backend.close()
    assert digest(image) == before


def test_read_only_offers_ro_and_rejects_out(image):
    before = digest(image)
    dev, _, _, drv = make(image, read_only=True)
    assert dev.driver_features >> VIRTIO_BLK_F_RO & 1
    assert drv.request(VIRTIO_BLK_T_OUT, 0, out=bytes(512))[0] == VIRTIO_BLK_S_IOERR
    assert drv.request(VIRTIO_BLK_T_IN, 0, in_len=512)[:2] == (VIRTIO_BLK_S_OK, contents(image)[:512])
    assert drv.request(VIRTIO_BLK_T_FLUSH)[0] == VIRTIO_BLK_S_OK
    assert dev.counters["errors"] == 1 and dev.counters["bytes_written"] == 0
    assert digest(image) == before
    with pytest.raises(DiskError):
        dev.backend.write(0, bytes(512))


def test_writes_are_stable_before_completion_without_flush_feature(tmp_path, monkeypatch):
    path = tmp_path / "wt.img"
    path.write_bytes(bytes(CAP * 512))
    synced = []
    monkeypatch.setattr(os, "fsync", synced.append)
    _, _, _, drv = make(str(path), drop=1 << VIRTIO_BLK_F_FLUSH)
    drv.request(VIRTIO_BLK_T_OUT, 0, out=b"\1" * 512)
    assert len(synced) == 1
    drv.handshake()
    drv.request(VIRTIO_BLK_T_OUT, 0, out=b"\2" * 512)
    assert len(synced) == 1  # FLUSH negotiated: the driver decides when
    drv.request(VIRTIO_BLK_T_FLUSH)
    assert len(synced) == 2 and path.read_bytes()[:512] == b"\2" * 512


def test_missing_or_unreadable_image(tmp_path):
    with pytest.raises(DiskError, match="cannot open disk image .*nope.img") as err:
        DiskBackend(tmp_path / "nope.img")
    assert isinstance(err.value, ImageError) and "\n" not in str(err.value)
    with pytest.raises(DiskError):
        DiskBackend(tmp_path)  # a directory
    odd = tmp_path / "odd.img"
    odd.write_bytes(bytes(1000))
    with DiskBackend(odd, read_only=True) as disk:
        assert disk.capacity_sectors == 1  # the partial last sector is not visible


# -- hostile guests (hypothesis) --------------------------------------------------------------------

U16 = st.integers(0, 0xFFFF)
U32 = st.integers(0, 0xFFFFFFFF)
LENGTHS = st.one_of(st.sampled_from([0, 1, 15, 16, 17, 511, 512, 513, 4096, 2**31, 2**32 - 1]), U32)
ADDRS = st.one_of(
    st.integers(DATA_AT, RAM_END - 1),
    st.sampled_from([RAM_END - 1, RAM_END - 16, RAM_END, RAM_BASE - 1, 0, 0x1000_1000, 2**64 - 8, 2**64 - 1]),
    st.integers(0, 2**64 - 1),
)
TABLE_ADDRS = st.one_of(st.sampled_from([TABLES_AT + 0x100 * k for k in range(4)]), st.sampled_from([0, RAM_END - 8]))


def confine(desc: tuple, tables: list[int]) -> tuple:
    """Keep the oracle exact: buffers in RAM lie in the data area, indirect tables at the generated tables."""
    addr, length, flags, nxt = desc
    if flags & VIRTQ_DESC_F_INDIRECT and RAM_BASE <= addr < RAM_END and addr not in tables:
        addr = tables[addr % 4]
    elif not flags & VIRTQ_DESC_F_INDIRECT and RAM_BASE <= addr < DATA_AT:
        addr -= RAM_BASE
    return addr, length, flags, nxt


@st.composite
def hostile_queue(draw):
    """A mostly well-formed queue of requests, then a few hostile edits to descriptors, avail ring and headers."""
    num = draw(st.sampled_from([4, 8, 16]))
    tables_at = [TABLES_AT + 0x100 * k for k in range(4)]
    main = [(0, 0, 0, 0)] * num
    tables = [[(0, 0, 0, 0)] * 16 for _ in range(4)]
    headers, heads, free, free_table = {}, [], 0, 0
    for r in range(draw(st.integers(1, num))):
        rtype = draw(st.sampled_from([VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, 11]))
        sectors, pieces = draw(st.integers(0, 7)), draw(st.integers(1, 3))
        region = DATA_AT + 0x1000 * r
        headers[region] = (rtype, draw(st.sampled_from([0, CAP - 1, CAP, 2**64 - 1]) | st.integers(0, CAP)))
        w = 0 if rtype == VIRTIO_BLK_T_OUT else VIRTQ_DESC_F_WRITE
        data_len = 20 if rtype == VIRTIO_BLK_T_GET_ID else 512 * sectors
        cuts = [data_len * k // pieces for k in range(pieces + 1)]
        segs = [(region, 16, 0)] + [(region + 0x200 + a, b - a, w) for a, b in itertools.pairwise(cuts)]
        segs.append((region + 0x20, 1, VIRTQ_DESC_F_WRITE))
        if draw(st.booleans()) and free_table < 4 and free < num:
            tables[free_table] = [
                (a, n, f | (VIRTQ_DESC_F_NEXT if i + 1 < len(segs) else 0), i + 1) for i, (a, n, f) in enumerate(segs)
            ] + tables[free_table][len(segs) :]
            main[free] = (tables_at[free_table], 16 * len(segs), VIRTQ_DESC_F_INDIRECT, 0)
            heads.append(free)
            free, free_table = free + 1, free_table + 1
        elif free + len(segs) <= num:
            for i, (a, n, f) in enumerate(segs):
                main[free + i] = (a, n, f | (VIRTQ_DESC_F_NEXT if i + 1 < len(segs) else 0), free + i + 1)
            heads.append(free)
            free += len(segs)
    avail_flags, avail_idx = draw(st.sampled_from([0, 0, 1])), len(heads)
    ring = heads + [0] * (num - len(heads))
    for _ in range(draw(st.integers(0, 6))):
        what = draw(st.sampled_from(["addr", "len", "flags", "next", "idx", "ring", "header"]))
        t = draw(st.integers(-1, 3))
        target = main if t < 0 else tables[t]
        i = draw(st.integers(0, len(target) - 1))
        a, n, f, nx = target[i]
        if what == "addr":
            a = draw(st.one_of(ADDRS, TABLE_ADDRS))
        elif what == "len":
            n = draw(LENGTHS | st.sampled_from([16 * k for k in range(18)]))
        elif what == "flags":
            f = draw(st.integers(0, 7) | U16)
        elif what == "next":
            nx = draw(st.integers(0, num + 1) | U16)
        elif what == "idx":
            avail_idx = draw(st.integers(0, num + 1) | U16)
        elif what == "ring":
            ring[draw(st.integers(0, num - 1))] = draw(st.integers(0, num + 1) | U16)
        else:
            headers[DATA_AT + 0x1000 * draw(st.integers(0, num - 1))] = (draw(U32), draw(st.integers(0, 2**64 - 1)))
        target[i] = (a, n, f, nx)
    main = [confine(d, tables_at) for d in main]
    tables = [[confine(d, tables_at) for d in t] for t in tables]
    return num, main, tables, avail_flags, avail_idx, ring, headers


def allowed_ranges(num: int, main: list, tables: list) -> list[tuple[int, int]]:
    """Where the device may write: used->idx and used->ring, and every buffer the guest marked device-writable."""
    spans = [(USED_AT + 2, USED_AT + 4 + 8 * num)]
    for addr, length, flags, _ in main + [d for t in tables for d in t]:
        if flags & VIRTQ_DESC_F_WRITE and not flags & VIRTQ_DESC_F_INDIRECT:
            spans.append((addr, addr + length))
    return spans


@HOSTILE
@given(scenario=hostile_queue())
def test_hostile_queue(image, scenario):
    num, main, tables, avail_flags, avail_idx, ring, headers = scenario
    dev, mem, line, drv = make(image, snapshot=True, num=num, queue_num_max=16)
    try:
        for region, (rtype, sector) in headers.items():
            mem.poke(region, struct.pack("<IIQ", rtype, 0, sector))
        for i, d in enumerate(main):
            mem.poke(DESC_AT + 16 * i, VIRTQ_DESC.pack(*d))
        for k, table in enumerate(tables):
            for i, d in enumerate(table):
                mem.poke(TABLES_AT + 0x100 * k + 16 * i, VIRTQ_DESC.pack(*d))
        mem.poke(AVAIL_AT, struct.pack(f"<HH{num}H", avail_flags, avail_idx, *ring))
        mem.writes.clear()
        drv.set(Reg.QueueNotify, 0)

        spans = allowed_ranges(num, main, tables)
        for gpa, n in mem.writes:
            assert any(lo <= gpa and gpa + n <= hi for lo, hi in spans), f"stray write {gpa:#x}+{n}"
        assert_spec_state(dev, line)
        status, q = dev.read(Reg.Status, 4), dev.queues[0]
        used = drv.used()
        assert all(head < num for head, _ in used) and len(used) == dev.counters["used_buffers"]
        event(re.sub(r"\d+", "N", dev.last_error) if status & DEVICE_NEEDS_RESET else "no DEVICE_NEEDS_RESET")
        event(f"completed {min(len(used), 2)}+, IOERR {min(dev.counters['errors'], 1)}+")
        if status & DEVICE_NEEDS_RESET:
            assert dev.read(Reg.InterruptStatus, 4) & INT_CONFIG_CHANGE
        else:
            assert q.last_avail_idx == avail_idx and len(used) == avail_idx
            assert bool(dev.read(Reg.InterruptStatus, 4)) == (bool(used) and not avail_flags)

        drv.handshake()  # whatever happened, a reset and a clean start give a working disk
        assert drv.request(VIRTIO_BLK_T_IN, 1, in_len=512)[:2] == (VIRTIO_BLK_S_OK, dev.backend.read(1, 1))
    finally:
        dev.backend.close()


REGISTER_OFFSETS = st.one_of(st.sampled_from(list(Reg)), st.integers(0, 0x1FF), st.integers(0x1F8, 0x1100))
VALUES = st.one_of(
    st.sampled_from([0, 1, 2, 3, 4, 8, 16, 0x40, 0x80, 0xFF, 0xFFFFFFFF]),
    st.sampled_from([a & 0xFFFFFFFF for a in (DESC_AT, AVAIL_AT, USED_AT, DATA_AT, RAM_END - 8)]),
    U32,
)
OPS = st.lists(
    st.tuples(st.booleans(), REGISTER_OFFSETS, st.sampled_from([4, 4, 4, 1, 2, 8, 3]), VALUES),
    max_size=40,
)


FLAGS = [0, 1, 1, 2, 3, 3, 3, 4, 7]  # mostly plain chains, some indirect and invalid ones


def random_ram(seed: int, tame: bool) -> bytes:
    """Random guest RAM; tamed, its queue at DESC_AT/AVAIL_AT has small indices and addresses in RAM, so the
    device walks long random chains instead of stopping at the first out-of-range index."""
    rng = random.Random(seed)
    ram = bytearray(rng.randbytes(RAM_SIZE))
    if tame:
        for i in range(16):
            desc = (RAM_BASE + rng.randrange(RAM_SIZE), rng.randrange(0x1000), rng.choice(FLAGS), rng.randrange(16))
            ram[16 * i : 16 * i + 16] = VIRTQ_DESC.pack(*desc)
        ring = [rng.randrange(16) for _ in range(16)]
        ram[0x1000 : 0x1000 + 36] = struct.pack("<HH16H", rng.randrange(2), rng.randrange(17), *ring)
    return bytes(ram)


@HOSTILE
@given(start=st.sampled_from(["reset", "driver_ok", "driver_ok+tame", "driver_ok+tame"]), seed=U32, ops=OPS)
def test_hostile_registers_over_random_memory(image, start, seed, ops):
    mem = FakeGuestMemory(RAM_BASE, RAM_SIZE)
    line = IrqLine()
    dev = VirtioBlk(backend(image, snapshot=True), mem, line, queue_num_max=16)
    try:
        if start != "reset":
            Driver(dev, mem, 16).handshake()
        mem.poke(RAM_BASE, random_ram(seed, "tame" in start))
        dev.write(Reg.QueueNotify, 4, 0)
        event(f"buffers used: {min(dev.counters['used_buffers'], 2)}+, DEVICE_NEEDS_RESET: {bool(dev.last_error)}")
        assert_spec_state(dev, line)
        for is_write, offset, size, value in ops:
            if is_write:
                dev.write(offset, size, value)
            else:
                dev.read(offset, size)
            assert_spec_state(dev, line)
        dev.write(Reg.QueueNotify, 4, 0)
        assert_spec_state(dev, line)
        assert all(RAM_BASE <= gpa and gpa + n <= RAM_END for gpa, n in mem.writes)
        dev.write(Reg.Status, 4, 0)
        assert dev.read(Reg.Status, 4) == 0 and not line.level
    finally:
        dev.backend.close()


@settings(max_examples=60, deadline=None)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["read", "write", "write", "flush", "get_id"]),
            st.integers(0, CAP + 2),
            st.integers(0, 6),
            st.integers(1, 4),
            st.booleans(),
        ),
        max_size=10,
    )
)
def test_io_matches_a_model_disk(image, ops):
    model = bytearray(contents(image))
    dev, _, _, drv = make(image, snapshot=True)
    try:
        for kind, sector, count, split, indirect in ops:
            fits = sector + count <= CAP
            if kind == "read":
                status, data, _ = drv.request(
                    VIRTIO_BLK_T_IN, sector, in_len=512 * count, split=split, indirect=indirect
                )
                assert status == (VIRTIO_BLK_S_OK if fits else VIRTIO_BLK_S_IOERR)
                if fits:
                    assert data == model[sector * 512 : (sector + count) * 512]
            elif kind == "write":
                out = bytes((sector * 7 + i) & 0xFF for i in range(512 * count))
                status = drv.request(VIRTIO_BLK_T_OUT, sector, out=out, split=split, indirect=indirect)[0]
                assert status == (VIRTIO_BLK_S_OK if fits else VIRTIO_BLK_S_IOERR)
                if fits:
                    model[sector * 512 : (sector + count) * 512] = out
            elif kind == "flush":
                assert drv.request(VIRTIO_BLK_T_FLUSH)[0] == VIRTIO_BLK_S_OK
            else:
                assert drv.request(VIRTIO_BLK_T_GET_ID, in_len=20, indirect=indirect)[1] == SERIAL.encode().ljust(
                    20, b"\0"
                )
        assert dev.backend.read(0, CAP) == bytes(model)
    finally:
        dev.backend.close()


# -- bounded host work per guest access (hostile guests: one notify must not make the host work for long) --------


class CountingMemory(FakeGuestMemory):
    """FakeGuestMemory that counts descriptor-table reads and bytes moved."""

    def __init__(self, base: int, size: int) -> None:
        super().__init__(base, size)
        self.desc_reads = self.moved = 0

    def read(self, gpa: int, n: int) -> bytes:
        self.desc_reads += DESC_AT <= gpa < AVAIL_AT
        self.moved += n
        return super().read(gpa, n)

    def write(self, gpa: int, data: bytes) -> None:
        self.moved += len(data)
        super().write(gpa, data)


def test_a_descriptor_loop_is_found_at_the_first_revisit(image):
    """0 -> 1 -> 2 -> 1 in a 128-entry queue: three descriptor reads, not queue-size + 1 (§2.7.5.3: handle loops)."""
    mem = CountingMemory(RAM_BASE, RAM_SIZE)
    dev = VirtioBlk(backend(image, snapshot=True), mem, IrqLine())
    drv = Driver(dev, mem, num=128)
    drv.handshake()
    mem.poke(DATA_AT, struct.pack("<IIQ", VIRTIO_BLK_T_IN, 0, 0))
    mem.poke(DESC_AT, VIRTQ_DESC.pack(DATA_AT, 16, VIRTQ_DESC_F_NEXT, 1))
    mem.poke(DESC_AT + 16, VIRTQ_DESC.pack(DATA_AT + 0x200, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2))
    mem.poke(DESC_AT + 32, VIRTQ_DESC.pack(DATA_AT + 0x400, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1))
    mem.poke(AVAIL_AT + 2, struct.pack("<H", 1))
    mem.desc_reads = 0
    drv.set(Reg.QueueNotify, 0)
    assert dev.read(Reg.Status, 4) & DEVICE_NEEDS_RESET and "twice" in dev.last_error
    assert mem.desc_reads == 3 and mem.writes == []


def test_one_notify_of_reused_chains_does_bounded_work(tmp_path):
    """The avail ring names one head NUM times; its chain reads the whole disk into one buffer named by every
    data descriptor.  The notify does at most NOTIFY_BUDGET (plus one CHUNK step), the rest is done by service()
    calls of at most SERVICE_BUDGET each, and every request completes, in order, with the right data."""
    from pyhv.devices.virtio_blk import CHUNK
    from pyhv.devices.virtio_mmio import NOTIFY_BUDGET, SERVICE_BUDGET

    num, segs, seg_len = 16, 4, 0x10000  # 4 x 64 KiB = 256 KiB per request, 4 MiB for the 16 of one notify
    path = tmp_path / "big.img"
    disk = random.Random(2).randbytes(segs * seg_len)
    path.write_bytes(disk)
    mem = CountingMemory(RAM_BASE, 0x80000)
    line = IrqLine()
    dev = VirtioBlk(backend(str(path)), mem, line, queue_num_max=num)
    dev.on_work = lambda d: deferred.append(d)
    deferred: list = []
    drv = Driver(dev, mem, num)
    drv.handshake()
    buf, hdr, status = RAM_BASE + 0x10000, DATA_AT, DATA_AT + 0x20
    mem.poke(hdr, struct.pack("<IIQ", VIRTIO_BLK_T_IN, 0, 0))
    chain = [(hdr, 16, VIRTQ_DESC_F_NEXT)] + [(buf, seg_len, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE)] * segs
    chain.append((status, 1, VIRTQ_DESC_F_WRITE))
    for i, (gpa, n, flags) in enumerate(chain):
        mem.poke(DESC_AT + 16 * i, VIRTQ_DESC.pack(gpa, n, flags, i + 1))
    mem.poke(AVAIL_AT + 2, struct.pack("<H", num))  # every ring slot holds head 0
    ring_work = 4 + 16 * len(chain) + 12  # avail reads, descriptors, used element and idx, per request

    mem.moved = 0
    drv.set(Reg.QueueNotify, 0)
    assert mem.moved <= NOTIFY_BUDGET.nbytes + CHUNK + NOTIFY_BUDGET.requests * ring_work
    assert deferred == [dev] and dev.counters["deferred"] == 1
    done_in_notify = len(drv.used())
    assert done_in_notify < num
    calls = 0
    while True:
        mem.moved = 0
        more = dev.service()
        calls += 1
        assert mem.moved <= SERVICE_BUDGET.nbytes + CHUNK + SERVICE_BUDGET.requests * ring_work
        if not more:
            break
        assert calls < num * segs
    used = drv.used()
    assert [head for head, _ in used] == [0] * (num - done_in_notify)
    assert all(n == segs * seg_len + 1 for _, n in used)
    assert mem.read(buf, seg_len) == disk[-seg_len:] and mem.read(status, 1)[0] == VIRTIO_BLK_S_OK
    assert dev.counters["bytes_read"] == num * segs * seg_len and line.level
    assert dev.service() is False  # nothing left


def test_deferred_work_survives_a_snapshot(tmp_path):
    """state() taken while a request is paused: the restored device asks for service and replays that request
    whole (it never left the avail ring), so every request completes exactly once."""
    path = tmp_path / "big.img"
    path.write_bytes(random.Random(3).randbytes(4 << 16))
    mem = FakeGuestMemory(RAM_BASE, 0x80000)
    dev = VirtioBlk(backend(str(path), snapshot=True), mem, IrqLine(), queue_num_max=16)
    drv = Driver(dev, mem, 16)
    drv.handshake()
    mem.poke(DATA_AT, struct.pack("<IIQ", VIRTIO_BLK_T_IN, 0, 0))
    chain = [(DATA_AT, 16, VIRTQ_DESC_F_NEXT)] + [(RAM_BASE + 0x10000, 0x10000, 3)] * 4 + [(DATA_AT + 0x20, 1, 2)]
    for i, (gpa, n, flags) in enumerate(chain):
        mem.poke(DESC_AT + 16 * i, VIRTQ_DESC.pack(gpa, n, flags, i + 1))
    mem.poke(AVAIL_AT + 2, struct.pack("<H", 16))
    drv.set(Reg.QueueNotify, 0)
    assert dev.pending and dev.in_flight  # paused in the middle of a request
    saved = json.loads(json.dumps(dev.state()))
    woken = []
    again = VirtioBlk(backend(str(path), snapshot=True), mem, IrqLine(), queue_num_max=16)
    again.on_work = woken.append
    again.load_state(saved)
    assert woken == [again] and again.pending and not again.in_flight
    while again.service():
        pass
    used = drv.used()
    assert len(used) == 16 and all(n == (4 << 16) + 1 for _, n in used)
    assert again.queues[0].last_avail_idx == 16


def test_a_request_larger_than_seg_max_times_size_max_fails_without_moving_data(tmp_path):
    path = tmp_path / "d.img"
    path.write_bytes(bytes(8 << 20))
    dev, mem, _, drv = make(str(path), queue_num_max=8)  # seg_max 6: at most 6 x 64 KiB per request
    assert dev.read(Reg.Config + 12, 4) * dev.read(Reg.Config + 8, 4) == dev.max_request_bytes == 6 << 16
    mem.poke(DATA_AT, struct.pack("<IIQ", VIRTIO_BLK_T_IN, 0, 0))
    seg = (RAM_BASE + 0x10000, 1 << 16, True)  # every data descriptor names this one buffer
    drv.post([(DATA_AT, 16, False)] + [seg] * 5 + [(RAM_BASE + 0x8000, 0x10200, True), (DATA_AT + 0x20, 1, True)])
    assert drv.used() == [(0, 1)] and mem.read(DATA_AT + 0x20, 1)[0] == VIRTIO_BLK_S_IOERR  # one sector too many
    assert dev.counters["bytes_read"] == 0
    drv.post([(DATA_AT, 16, False)] + [seg] * 6 + [(DATA_AT + 0x20, 1, True)])
    assert drv.used() == [(0, (6 << 16) + 1)] and mem.read(DATA_AT + 0x20, 1)[0] == VIRTIO_BLK_S_OK
