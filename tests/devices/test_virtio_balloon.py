# virtio-balloon (VIRTIO 1.1 §5.5) on the virtio-mmio transport, over a real GuestMemory and FramePool: registers
# and config space, set_target's configuration change interrupt, inflate returning exactly the present frames to
# the pool (demand-zero afterwards), deflate, bad PFNs, and hypothesis playing a hostile driver.
import json
import struct

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pyhv.devices import IrqLine
from pyhv.devices.virtio_balloon import DEFLATEQ, INFLATEQ, VIRTIO_ID_BALLOON, VirtioBalloon
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
    Reg,
)
from pyhv.memory import FramePool, GuestMemory

# Guest RAM for the tests: 1 MiB (256 pages).  Queue q's parts sit in pages 4q..4q+3 (descriptor table, avail
# ring, used ring, indirect table), PFN arrays in pages 8..15; pages 16.. are the guest's memory to balloon.
RAM_BASE, RAM_PAGES = 0x8000_0000, 256
RAM_PFN = RAM_BASE >> 12
NUM = 8
PFNS_AT = RAM_BASE + 0x8000
VICTIM = 16  # first gfn the tests balloon
HOSTILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def ring(q: int) -> tuple[int, int, int, int]:
    """desc, avail, used, indirect table of queue q."""
    base = RAM_BASE + 0x4000 * q
    return base, base + 0x1000, base + 0x2000, base + 0x3000


class Driver:
    """A minimal balloon driver: §3.1.1 initialisation, both queues, one request per notify."""

    def __init__(self, dev: VirtioBalloon, mem: GuestMemory) -> None:
        self.dev, self.mem = dev, mem
        self.avail_idx, self.used_seen = [0, 0], [0, 0]

    def reg(self, r: int) -> int:
        return self.dev.read(r, 4)

    def set(self, r: int, value: int) -> None:
        self.dev.write(r, 4, value)

    def handshake(self) -> None:
        self.set(Reg.Status, 0)
        self.set(Reg.Status, ACKNOWLEDGE | DRIVER)
        self.set(Reg.DriverFeaturesSel, 0)
        self.set(Reg.DriverFeatures, 1 << VIRTIO_F_INDIRECT_DESC)
        self.set(Reg.DriverFeaturesSel, 1)
        self.set(Reg.DriverFeatures, 1 << (VIRTIO_F_VERSION_1 - 32))
        self.set(Reg.Status, ACKNOWLEDGE | DRIVER | FEATURES_OK)
        assert self.reg(Reg.Status) & FEATURES_OK
        self.mem.write(PFNS_AT, bytes(RAM_BASE + VICTIM * 4096 - PFNS_AT))  # backed now: frame counts stay exact
        for q in (INFLATEQ, DEFLATEQ):
            desc, avail, used, _ = ring(q)
            self.mem.write(desc, bytes(0x4000))
            self.set(Reg.QueueSel, q)
            self.set(Reg.QueueNum, NUM)
            for low, gpa in ((Reg.QueueDescLow, desc), (Reg.QueueDriverLow, avail), (Reg.QueueDeviceLow, used)):
                self.set(low, gpa)
            self.set(Reg.QueueReady, 1)
            assert self.reg(Reg.QueueReady) == 1
        self.set(Reg.Status, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK)

    def post(self, q: int, segments: list, *, indirect: bool = False) -> list:
        """One chain of (gpa, len, device_writable) segments on queue q; returns what came back used."""
        desc, avail, used, table = ring(q)
        at = table if indirect else desc
        for i, (gpa, n, w) in enumerate(segments):
            flags = (VIRTQ_DESC_F_WRITE if w else 0) | (VIRTQ_DESC_F_NEXT if i + 1 < len(segments) else 0)
            self.mem.write(at + 16 * i, VIRTQ_DESC.pack(gpa, n, flags, i + 1))
        if indirect:
            self.mem.write(desc, VIRTQ_DESC.pack(table, 16 * len(segments), VIRTQ_DESC_F_INDIRECT, 0))
        self.mem.write(avail + 4 + 2 * (self.avail_idx[q] % NUM), struct.pack("<H", 0))
        self.avail_idx[q] = (self.avail_idx[q] + 1) & 0xFFFF
        self.mem.write(avail + 2, struct.pack("<H", self.avail_idx[q]))
        self.set(Reg.QueueNotify, q)
        idx, out = struct.unpack("<H", self.mem.read(used + 2, 2))[0], []
        while self.used_seen[q] != idx:
            out.append(struct.unpack("<II", self.mem.read(used + 4 + 8 * (self.used_seen[q] % NUM), 8)))
            self.used_seen[q] = (self.used_seen[q] + 1) & 0xFFFF
        return out

    def send(self, q: int, pfns: list, **kw) -> list:
        """The PFNs as one le32 array in one descriptor (or as the caller splits it with `cuts`)."""
        data = struct.pack(f"<{len(pfns)}I", *pfns)
        self.mem.write(PFNS_AT, data)
        cuts = kw.pop("cuts", [len(data)])
        segs, start = [], 0
        for end in cuts:
            segs.append((PFNS_AT + start, end - start, False))
            start = end
        return self.post(q, segs, **kw)


@pytest.fixture
def board():
    pool = FramePool(size_mib=4)
    mem = GuestMemory(pool, RAM_PAGES * 4096 / 2**20)
    line = IrqLine()
    dev = VirtioBalloon(mem, line)
    drv = Driver(dev, mem)
    drv.handshake()
    return pool, mem, line, dev, drv


def touch(mem: GuestMemory, gfns) -> None:
    for gfn in gfns:
        mem.write(RAM_BASE + gfn * 4096, b"guest data %d" % gfn)


def present(mem: GuestMemory, gfn: int) -> bool:
    return mem.frame(gfn, allocate=False) is not None


def assert_spec_state(dev: VirtioBalloon, line: IrqLine) -> None:
    status = dev.read(Reg.Status, 4)
    assert status & ~(DRIVER_STATUS_BITS | DEVICE_NEEDS_RESET) == 0
    isr = dev.read(Reg.InterruptStatus, 4)
    assert isr & ~(INT_USED_BUFFER | INT_CONFIG_CHANGE) == 0 and line.level == (isr != 0)
    json.dumps(dev.state())


# -- registers and configuration space --------------------------------------------------------------


def test_identity_features_and_queues():
    dev = VirtioBalloon(GuestMemory(FramePool(size_mib=4), 1))
    assert dev.read(Reg.DeviceID, 4) == VIRTIO_ID_BALLOON == 5
    assert dev.read(Reg.MagicValue, 4) == 0x74726976 and dev.read(Reg.Version, 4) == 2
    dev.write(Reg.DeviceFeaturesSel, 4, 0)
    assert dev.read(Reg.DeviceFeatures, 4) == 1 << VIRTIO_F_INDIRECT_DESC  # no balloon feature bit (§5.5.3)
    dev.write(Reg.DeviceFeaturesSel, 4, 1)
    assert dev.read(Reg.DeviceFeatures, 4) == 1 << (VIRTIO_F_VERSION_1 - 32)
    for q, size in ((INFLATEQ, 128), (DEFLATEQ, 128), (2, 0)):  # statsq is not offered
        dev.write(Reg.QueueSel, 4, q)
        assert dev.read(Reg.QueueNumMax, 4) == size


def test_config_space_read_write(board):
    _, _, _, dev, drv = board
    dev.set_target(0x1234)
    assert (dev.read(Reg.Config, 4), dev.read(Reg.Config + 4, 4)) == (0x1234, 0)
    assert dev.read(Reg.Config, 1) == 0x34 and dev.read(Reg.Config + 1, 2) == 0x12
    drv.set(Reg.Config + 4, 77)  # the driver reports actual
    assert dev.actual_pages == 77 and dev.read(Reg.Config + 4, 4) == 77
    errors = dev.counters["guest_errors"]
    drv.set(Reg.Config, 5)  # num_pages is the device's
    dev.write(Reg.Config + 4, 2, 9)  # a 32-bit field takes 32-bit writes only
    dev.write(Reg.Config + 8, 4, 9)
    assert dev.target_pages == 0x1234 and dev.actual_pages == 77
    assert dev.counters["guest_errors"] == errors + 3
    drv.set(Reg.Status, 0)  # a reset driver holds no pages; the host's target stays
    assert (dev.target_pages, dev.actual_pages) == (0x1234, 0)


def test_set_target_raises_the_config_change_interrupt():
    line = IrqLine()
    dev = VirtioBalloon(GuestMemory(FramePool(size_mib=4), 1), line)
    gen = dev.read(Reg.ConfigGeneration, 4)
    dev.set_target(10)  # before DRIVER_OK: a new generation, no interrupt (§2.5)
    assert dev.read(Reg.ConfigGeneration, 4) == gen + 1 and not line.level
    drv = Driver(dev, dev.memory)
    drv.handshake()
    dev.set_target(20)
    assert dev.read(Reg.InterruptStatus, 4) == INT_CONFIG_CHANGE and line.level and line.raised == 1
    assert dev.read(Reg.ConfigGeneration, 4) == gen + 2 and dev.read(Reg.Config, 4) == 20
    drv.set(Reg.InterruptACK, INT_CONFIG_CHANGE)
    assert dev.read(Reg.InterruptStatus, 4) == 0 and not line.level
    for bad in (-1, 1 << 32, 1.5, "3"):
        with pytest.raises(ValueError):
            dev.set_target(bad)
    assert dev.target_pages == 20


# -- inflate and deflate ------------------------------------------------------------------------------


def test_inflate_returns_present_frames_to_the_pool(board):
    pool, mem, line, dev, drv = board
    touched, untouched = list(range(VICTIM, VICTIM + 40)), list(range(VICTIM + 40, VICTIM + 50))
    touch(mem, touched)
    free, owned = pool.frames_free, mem.frames_owned
    assert drv.send(INFLATEQ, [RAM_PFN + g for g in touched + untouched]) == [(0, 0)]
    assert pool.frames_free == free + len(touched) and mem.frames_owned == owned - len(touched)
    assert not any(present(mem, g) for g in touched + untouched)
    assert dev.counters["inflated_pages"] == 50 and dev.counters["released_frames"] == 40
    assert dev.counters["bad_pfns"] == 0 and dev.read(Reg.InterruptStatus, 4) & INT_USED_BUFFER and line.level
    # A ballooned page reads as zero, and the next touch gets a fresh zeroed frame (demand-zero).
    assert mem.read(RAM_BASE + VICTIM * 4096, 4096) == bytes(4096)
    mem.write(RAM_BASE + VICTIM * 4096 + 100, b"x")
    assert mem.read(RAM_BASE + VICTIM * 4096, 4096) == bytes(100) + b"x" + bytes(3995)
    assert pool.frames_free == free + len(touched) - 1
    assert pool.frames[mem.frame(VICTIM)].tobytes() == bytes(100) + b"x" + bytes(3995)


def test_deflate_only_counts(board):
    pool, mem, _, dev, drv = board
    touch(mem, range(VICTIM, VICTIM + 8))
    drv.send(INFLATEQ, [RAM_PFN + g for g in range(VICTIM, VICTIM + 8)])
    free = pool.frames_free
    assert drv.send(DEFLATEQ, [RAM_PFN + g for g in range(VICTIM, VICTIM + 8)]) == [(0, 0)]
    assert pool.frames_free == free and dev.counters["deflated_pages"] == 8
    touch(mem, range(VICTIM, VICTIM + 8))  # the guest's again: frames come back on touch
    assert pool.frames_free == free - 8


def test_bad_pfns_are_counted_and_ignored(board):
    pool, mem, _, dev, drv = board
    touch(mem, [VICTIM])
    free = pool.frames_free
    bad = [0, RAM_PFN - 1, RAM_PFN + RAM_PAGES, 0xFFFFFFFF, 0x10001]  # below, above RAM, MMIO
    drv.send(INFLATEQ, bad + [RAM_PFN + VICTIM])
    drv.send(DEFLATEQ, bad)
    assert dev.counters["bad_pfns"] == 2 * len(bad) and dev.counters["released_frames"] == 1
    assert pool.frames_free == free + 1 and not dev.status & DEVICE_NEEDS_RESET


def test_pfn_arrays_in_any_layout(board):
    pool, mem, _, dev, drv = board
    gfns = list(range(VICTIM, VICTIM + 12))
    touch(mem, gfns)
    free = pool.frames_free
    pfns = [RAM_PFN + g for g in gfns]
    drv.send(INFLATEQ, pfns[:4], cuts=[2, 7, 16])  # PFNs split across descriptors
    drv.send(INFLATEQ, pfns[4:8], indirect=True, cuts=[4, 16])
    data = struct.pack("<4I", *pfns[8:]) + b"\x01\x02\x03"  # trailing bytes that make no PFN
    mem.write(PFNS_AT, data)
    assert drv.post(INFLATEQ, [(PFNS_AT, len(data), False), (PFNS_AT + 0x100, 64, True)]) == [(0, 0)]
    assert pool.frames_free == free + 12 and dev.counters["inflated_pages"] == 12
    assert dev.counters["bad_pfns"] == 0


def test_a_request_reads_at_most_one_pfn_per_guest_page(board):
    """Eight descriptors naming one 32 KiB PFN array (64 Ki PFNs for a 256-page VM): the device reads the first
    256 PFNs and counts the rest unread, so reusing a buffer cannot make it read without end."""
    pool, mem, _, dev, drv = board
    touch(mem, [VICTIM, VICTIM + 1])
    free = pool.frames_free
    span = RAM_BASE + VICTIM * 4096 - PFNS_AT
    mem.write(PFNS_AT, struct.pack("<2I", RAM_PFN + VICTIM, RAM_PFN + VICTIM + 1) + bytes(span - 8))
    read = []
    real_read = mem.read
    mem.read = lambda gpa, n: read.append(n if PFNS_AT <= gpa < PFNS_AT + span else 0) or real_read(gpa, n)
    assert drv.post(INFLATEQ, [(PFNS_AT, span, False)] * NUM) == [(0, 0)]
    assert sum(read) == 4 * RAM_PAGES
    assert dev.counters["excess_pfns"] == (NUM * span - 4 * RAM_PAGES) // 4
    assert dev.counters["bad_pfns"] == RAM_PAGES - 2 and pool.frames_free == free + 2


def test_unreadable_buffer_needs_reset(board):
    _, _, line, dev, drv = board
    drv.post(INFLATEQ, [(0x1000, 64, False)])
    assert dev.status & DEVICE_NEEDS_RESET and dev.read(Reg.InterruptStatus, 4) & INT_CONFIG_CHANGE
    assert_spec_state(dev, line)


def test_state_roundtrip(board):
    _, mem, _, dev, drv = board
    dev.set_target(300)
    drv.set(Reg.Config + 4, 12)
    other = VirtioBalloon(mem)
    other.load_state(json.loads(json.dumps(dev.state())))
    assert (other.target_pages, other.actual_pages) == (300, 12) and other.state() == dev.state()
    with pytest.raises(ValueError):
        other.load_state({**dev.state(), "device": {"num_pages": -1, "actual": 0}})


# -- a hostile driver ---------------------------------------------------------------------------------

PFN_CHOICES = st.one_of(
    st.integers(RAM_PFN + VICTIM, RAM_PFN + RAM_PAGES - 1),  # the guest's memory
    st.integers(RAM_PFN, RAM_PFN + VICTIM - 1),  # its rings and PFN arrays
    st.sampled_from([0, RAM_PFN - 1, RAM_PFN + RAM_PAGES, 0xFFFFFFFF]),
)
ADDRS = st.one_of(
    st.integers(PFNS_AT, PFNS_AT + 0x2000),
    st.sampled_from([0, RAM_BASE - 4, RAM_BASE + RAM_PAGES * 4096 - 8, 1 << 40, (1 << 64) - 16]),
    st.integers(RAM_BASE, RAM_BASE + 0x10000),
)
DESCS = st.one_of(
    st.tuples(st.integers(0, 199).map(lambda i: PFNS_AT + 4 * i), st.integers(0, 200).map(lambda n: 4 * n),
              st.sampled_from([0, VIRTQ_DESC_F_NEXT]), st.integers(0, NUM - 1)),  # a plausible PFN array
    st.tuples(ADDRS, st.sampled_from([0, 1, 4, 7, 64, 256, 0x1000, 0xFFFFFFFF]), st.integers(0, 7),
              st.integers(0, 12)),
)  # fmt: skip


@HOSTILE
@given(
    pfns=st.lists(PFN_CHOICES, min_size=1, max_size=50),
    descs=st.lists(DESCS, min_size=1, max_size=NUM + 2),
    heads=st.lists(st.integers(0, NUM + 2), min_size=1, max_size=4),
    idx_jump=st.sampled_from([None, None, None, None, 0, NUM + 1, 0xFFFF]),
    queue=st.sampled_from([INFLATEQ, INFLATEQ, INFLATEQ, DEFLATEQ, 2]),
)
def test_hostile_chains_never_raise(pfns, descs, heads, idx_jump, queue):
    pool = FramePool(size_mib=4)
    mem = GuestMemory(pool, RAM_PAGES * 4096 / 2**20)
    line = IrqLine()
    dev = VirtioBalloon(mem, line)
    Driver(dev, mem).handshake()
    touch(mem, range(VICTIM, RAM_PAGES))
    pfns = (pfns * 200)[:200]  # repeated over the whole array area
    mem.write(PFNS_AT, struct.pack("<200I", *pfns))
    q = queue if queue < 2 else INFLATEQ
    desc, avail, _, _ = ring(q)
    for i, (addr, length, flags, nxt) in enumerate(descs[:NUM]):
        mem.write(desc + 16 * i, VIRTQ_DESC.pack(addr, length, flags, nxt))
    for i, head in enumerate(heads):
        mem.write(avail + 4 + 2 * i, struct.pack("<H", head))
    mem.write(avail + 2, struct.pack("<H", len(heads) if idx_jump is None else idx_jump))
    named = set(pfns)
    dev.write(Reg.QueueNotify, 4, queue)
    assert_spec_state(dev, line)
    assert pool.frames_free + mem.frames_owned == pool.nframes  # nothing leaked, nothing freed twice
    for gfn in range(VICTIM, RAM_PAGES):
        assert present(mem, gfn) or RAM_PFN + gfn in named  # only named pages ever leave
    assert dev.counters["released_frames"] <= dev.counters["inflated_pages"]
    event("needs reset" if dev.status & DEVICE_NEEDS_RESET else "completed")
    event("frames released" if dev.counters["released_frames"] else "no frame released")
