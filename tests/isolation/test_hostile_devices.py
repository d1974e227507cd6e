"""Isolation part 4, hostile device input: a virtio-blk device on a real VM (GuestMemory over the
frame pool) gets generated descriptor tables and avail rings (loops, out-of-range and overflowing
lengths, addresses at MMIO, at the pool's engine addresses of the neighbour's frames, past RAM or
past 2^32, indirect tables); and random guest loads/stores hit every device window.  The device
ends each request with a status byte or in DEVICE_NEEDS_RESET, never raises; the only bytes that
change are in buffers the guest marked device-writable and the used ring; the neighbour VM and
the free frames do not change.

Host work per guest access is bounded too: virtio-blk and virtio-balloon get rings that reuse
descriptors, heads, buffers and indirect tables (pyhv.isolation.virtqueue_rings), and every guest
access (the QueueNotify, any register access) and every service() call from the host loop moves a
bounded number of bytes (MeteredMemory); the UART takes at most a FIFO of input per access; and a
real vCPU's notify ends its slice, the rest being served every DEVICE_SERVICE_INSNS instructions,
the same on every run."""

import struct

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from pyhv import isolation as iso
from pyhv._native import lib
from pyhv.devices.finisher import Finisher
from pyhv.devices.plic import PLIC
from pyhv.devices.uart16550 import FIFO_DEPTH, UART16550
from pyhv.devices.virtio_balloon import READ_CHUNK, VirtioBalloon
from pyhv.devices.virtio_blk import CHUNK, DiskBackend, VirtioBlk
from pyhv.devices.virtio_mmio import (
    ACKNOWLEDGE,
    INT_USED_BUFFER,
    NOTIFY_BUDGET,
    SERVICE_BUDGET,
    DEVICE_NEEDS_RESET,
    DRIVER,
    DRIVER_OK,
    FEATURES_OK,
    VIRTIO_F_INDIRECT_DESC,
    VIRTIO_F_VERSION_1,
    VIRTQ_DESC,
    EmptySlot,
    Reg,
)
from pyhv.memory import FramePool
from pyhv.vm import VM

pytestmark = pytest.mark.isolation
RAM = iso.RAM_BASE
DESC, AVAIL, USED, INDIRECT, BUFS = RAM + 0x1000, RAM + 0x2000, RAM + 0x3000, RAM + 0x4000, RAM + 0x8000
VM_MIB, NUM = 0.25, 8


_open_backends = []  # the previous example's disk, closed even when that example failed midway


@pytest.fixture(autouse=True)
def _close_backends():
    yield
    while _open_backends:
        _open_backends.pop().close()


def _backend(disk):
    while _open_backends:
        _open_backends.pop().close()
    backend = DiskBackend(disk, snapshot=True)
    _open_backends.append(backend)
    return backend


@pytest.fixture(scope="module")
def disk(tmp_path_factory):
    path = tmp_path_factory.mktemp("disk") / "disk.img"
    path.write_bytes(bytes(range(256)) * 2 * 64)  # 64 sectors
    return path


def _vms():
    pool = FramePool(size_mib=2)
    vm, neighbour = VM(pool, mem_size_mib=VM_MIB), VM(pool, mem_size_mib=VM_MIB)
    neighbour.write_phys(RAM, b"neighbour secret" * 256 * 8)
    return pool, vm, neighbour


def addresses(neighbour_hfns, engine_base):
    in_ram = st.integers(0, 0x3FFF0).map(lambda o: BUFS + o)
    return st.one_of(
        in_ram, in_ram, in_ram,
        st.sampled_from([RAM + int(VM_MIB * (1 << 20)) - 8, RAM - 8, lib.PYHV_VIRTIO0_BASE, lib.PYHV_UART0_BASE,
                         lib.PYHV_CLINT_BASE, 0, 1 << 32 | RAM, (1 << 64) - 16, RAM + 0x7FFF_FFFF]),
        st.sampled_from([engine_base + (h << 12) for h in neighbour_hfns]),
        st.integers(0, (1 << 64) - 1),
    )  # fmt: skip


lengths = st.one_of(st.sampled_from([0, 1, 16, 17, 512, 513, 4096, 0x10000, 0xFFFFFFFF, 0x80000000]),
                    st.integers(0, 0xFFFFFFFF))  # fmt: skip


def _driver_up(dev, indirect, queue=0):
    w = dev.write
    w(Reg.Status, 4, 0)
    w(Reg.Status, 4, ACKNOWLEDGE | DRIVER)
    features = 1 << VIRTIO_F_VERSION_1 | (1 << VIRTIO_F_INDIRECT_DESC if indirect else 0)
    for sel in (0, 1):
        w(Reg.DriverFeaturesSel, 4, sel)
        w(Reg.DriverFeatures, 4, features >> 32 * sel & 0xFFFFFFFF)
    w(Reg.Status, 4, ACKNOWLEDGE | DRIVER | FEATURES_OK)
    w(Reg.QueueSel, 4, queue)
    w(Reg.QueueNum, 4, NUM)
    for reg, addr in ((Reg.QueueDescLow, DESC), (Reg.QueueDriverLow, AVAIL), (Reg.QueueDeviceLow, USED)):
        w(reg, 4, addr & 0xFFFFFFFF)
        w(reg + 4, 4, addr >> 32)
    w(Reg.QueueReady, 4, 1)
    w(Reg.Status, 4, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK)


@given(data=st.data())
def test_malformed_descriptor_chains(disk, data):
    pool, vm, neighbour = _vms()
    nb_hfns = [int(e) >> 12 for e in neighbour.memory.s2 if e & 1]
    addr = addresses(nb_hfns, pool.engine_base)
    desc = st.tuples(addr, lengths, st.integers(0, 7), st.one_of(st.integers(0, NUM - 1), st.integers(0, 0xFFFF)))
    indirect = data.draw(st.booleans(), label="indirect")
    table = data.draw(st.lists(desc, min_size=NUM, max_size=NUM), label="table")
    itable = data.draw(st.lists(desc, min_size=16, max_size=16), label="indirect table")
    heads = data.draw(st.lists(st.one_of(st.integers(0, NUM - 1), st.integers(0, 0xFFFF)), min_size=NUM,
                               max_size=NUM), label="heads")  # fmt: skip
    avail_idx = data.draw(st.one_of(st.integers(0, NUM), st.integers(0, 0xFFFF)), label="avail idx")
    headers = data.draw(st.lists(st.tuples(st.sampled_from([0, 1, 4, 8, 3]), st.integers(0, 70)), min_size=8,
                                 max_size=8), label="headers")  # fmt: skip
    table = [(INDIRECT, 16 * data.draw(st.integers(0, 17)), 4, 0) if indirect and i == 0 else d
             for i, d in enumerate(table)]  # fmt: skip
    backend = _backend(disk)
    dev = VirtioBlk(backend, vm.memory, queue_num_max=NUM)
    vm.add_device(lib.PYHV_VIRTIO0_BASE, dev)
    _driver_up(dev, indirect)
    vm.write_phys(DESC, b"".join(VIRTQ_DESC.pack(a & (2**64 - 1), n, f, x) for a, n, f, x in table))
    vm.write_phys(INDIRECT, b"".join(VIRTQ_DESC.pack(a & (2**64 - 1), n, f, x) for a, n, f, x in itable))
    vm.write_phys(AVAIL, struct.pack(f"<HH{NUM}H", 0, avail_idx, *heads))
    for i, (rtype, sector) in enumerate(headers):  # request headers where in-RAM buffers often start
        vm.write_phys(BUFS + 0x1000 * i, struct.pack("<IIQ", rtype, 0, sector))
    before, before_nb = iso.ram_image(vm), iso.ram_image(neighbour)

    dev.write(Reg.QueueNotify, 4, data.draw(st.sampled_from([0, 0, 1, 0xFFFFFFFF]), label="queue"))
    for _ in range(4 * NUM):  # what one notify leaves is finished by the host loop, in a bounded number of calls
        if not dev.service():
            break
    assert not dev.pending

    assert dev.status & DEVICE_NEEDS_RESET or dev.queues[0].last_avail_idx in (0, avail_idx)
    event("needs reset" if dev.status & DEVICE_NEEDS_RESET else f"{dev.counters['used_buffers']} completed")
    iso.check_isolation(pool, [vm, neighbour])
    assert not iso.changed_pages(before_nb, iso.ram_image(neighbour))
    writable = {(USED - RAM) >> 12}
    for a, n, f, _ in table + (itable if indirect else []):
        lo, hi = max(a, RAM), min(a + n, RAM + int(VM_MIB * (1 << 20)))  # the part of the buffer in RAM
        if f & 2 and lo < hi:
            writable |= set(range((lo - RAM) >> 12, ((hi - 1 - RAM) >> 12) + 1))
    changed = set(iso.changed_pages(before, iso.ram_image(vm)))
    assert changed <= writable, sorted(changed - writable)


def _board(vm, disk=None):
    """The virt board's windows on `vm`: CLINT, PLIC, UART, finisher, and virtio slots (with disk: a virtio-blk
    in slot 0 and a virtio-balloon in slot 1, over a MeteredMemory that is returned, else all empty)."""
    vm.add_clint()
    plic = PLIC(n_harts=1, ctx_irq=[lambda level: vm.cpu.set_irq(11, level), lambda level: vm.cpu.set_irq(9, level)])
    vm.add_device(lib.PYHV_PLIC_BASE, plic)
    vm.add_device(lib.PYHV_UART0_BASE, UART16550(tx=lambda b: None, irq=lambda level: None))
    vm.add_device(lib.PYHV_FINISHER_BASE, Finisher(on_request=lambda kind, code: vm.cpu.request_exit("shutdown")))
    metered = iso.MeteredMemory(vm.memory)
    slots = [VirtioBlk(_backend(disk), metered), VirtioBalloon(metered)] if disk is not None else []
    for n in range(lib.PYHV_VIRTIO_SLOTS):
        vm.add_device(lib.PYHV_VIRTIO0_BASE + n * lib.PYHV_VIRTIO_STRIDE, slots[n] if n < len(slots) else EmptySlot())
    return metered


WINDOWS = [lib.PYHV_PLIC_BASE, lib.PYHV_PLIC_BASE + 0x200000, lib.PYHV_UART0_BASE, lib.PYHV_FINISHER_BASE,
           lib.PYHV_CLINT_BASE, lib.PYHV_CLINT_BASE + 0x4000, lib.PYHV_CLINT_BASE + 0xBFF8, lib.PYHV_VIRTIO0_BASE,
           lib.PYHV_VIRTIO0_BASE + 7 * lib.PYHV_VIRTIO_STRIDE, lib.PYHV_ROM_BASE]  # fmt: skip


@given(
    code=st.lists(
        st.one_of(
            st.builds(
                iso.load, st.sampled_from(sorted(iso.LOADS)), st.integers(1, 31), st.integers(1, 8), iso.IMMEDIATES
            ),
            st.builds(
                iso.store, st.sampled_from(sorted(iso.STORES)), st.integers(0, 31), st.integers(1, 8), iso.IMMEDIATES
            ),
            st.builds(
                iso.amo, st.sampled_from(sorted(iso.AMOS)), st.integers(9, 31), st.integers(1, 8), st.integers(0, 31)
            ),
        ),
        min_size=1,
        max_size=40,
    ),
    bases=st.lists(st.sampled_from(WINDOWS + [lib.PYHV_VIRTIO0_BASE + lib.PYHV_VIRTIO_STRIDE]), min_size=8, max_size=8),
)
def test_random_mmio_from_a_guest(big_disk, code, bases):
    """M-mode guest code hammers every device window (virtio-blk and virtio-balloon in slots 0 and 1); no trap
    handler, so a fault ends in a fatal exit.  The code has no loops, so the bytes the devices moved are bounded
    by its length times what one access may cost."""
    pool, vm, neighbour = _vms()
    metered = _board(vm, big_disk)
    vm.load(RAM, struct.pack(f"<{len(code) + 1}I", *code, iso.EBREAK))
    cpu = vm.cpu
    cpu.pc, cpu.priv, cpu.ebreak_exits = RAM, 3, True
    for i, base in enumerate(bases, start=1):
        cpu[f"x{i}"] = base
    before_nb = iso.ram_image(neighbour)
    ex = cpu.run(10_000)
    assert ex.reason in ("breakpoint", "fatal", "shutdown", "budget", "host"), ex
    assert metered.bytes_moved <= len(code) * (NOTIFY_BUDGET.nbytes + CHUNK + 17 + NOTIFY_BUDGET.requests * RING_WORK)
    iso.check_isolation(pool, [vm, neighbour])
    assert not iso.changed_pages(before_nb, iso.ram_image(neighbour))


@given(
    ops=st.lists(
        st.tuples(st.booleans(), st.integers(0, 0xFFF), st.sampled_from([1, 2, 4, 8, 3]), st.integers(0, 2**64 - 1)),
        max_size=60,
    )
)
def test_random_register_accesses_to_every_device(disk, ops):
    """Every access a window can receive, straight into the device models: none raises."""
    pool, vm, neighbour = _vms()
    backend = _backend(disk)
    devices = [
        VirtioBlk(backend, vm.memory),
        EmptySlot(),
        UART16550(tx=lambda b: None, irq=lambda level: None),
        PLIC(n_harts=1, ctx_irq=[lambda level: None, lambda level: None]),
        Finisher(on_request=lambda k, c: None),
    ]
    before_nb = iso.ram_image(neighbour)
    for dev in devices:
        for is_write, offset, size, value in ops:
            if is_write:
                dev.write(offset, size, value & ((1 << 8 * size) - 1))
            else:
                dev.read(offset, size)
    status = devices[0].status
    assert status & ~(ACKNOWLEDGE | DRIVER | DRIVER_OK | FEATURES_OK | DEVICE_NEEDS_RESET | 0x80) == 0
    iso.check_isolation(pool, [vm, neighbour])
    assert not iso.changed_pages(before_nb, iso.ram_image(neighbour))


# ---- bounded host work per guest access ------------------------------------------------------------------------

RING_WORK = 16 * (2 * NUM + 2) + 32  # ring bytes one request may cost: avail, descriptors (and indirect), used
STEP = {"blk": CHUNK + 17, "balloon": READ_CHUNK}  # the largest step a device type takes between pauses


@pytest.fixture(scope="module")
def big_disk(tmp_path_factory):
    path = tmp_path_factory.mktemp("disk") / "big.img"
    path.write_bytes(bytes(range(256)) * 4 * 1024)  # 1 MiB: requests up to seg_max * size_max find data
    return path


@pytest.mark.parametrize("kind", ["blk", "balloon"])
@given(data=st.data())
def test_reused_rings_cost_bounded_work_per_access(big_disk, kind, data):
    """One QueueNotify of rings that reuse descriptors, heads, buffers and indirect tables moves at most
    NOTIFY_BUDGET (plus one step and the rings) through guest memory; each service() call at most SERVICE_BUDGET;
    the work ends after a bounded number of calls, in DEVICE_NEEDS_RESET or with every request used; and only
    this VM's device-writable buffers and used ring change."""
    pool, vm, neighbour = _vms()
    pages = st.integers(0, 0x37).map(lambda n: BUFS + 0x1000 * n)  # where the request headers are
    in_ram = st.one_of(pages, st.integers(0, 0x37FF0).map(lambda o: BUFS + o))
    buffers = st.one_of(in_ram, in_ram, st.sampled_from([BUFS, RAM - 8, lib.PYHV_UART0_BASE, 1 << 40]))
    rings = data.draw(iso.virtqueue_rings(NUM, buffers, indirect_at=INDIRECT), label="rings")
    metered = iso.MeteredMemory(vm.memory)
    if kind == "blk":
        dev, queue = VirtioBlk(_backend(big_disk), metered, queue_num_max=NUM), 0
        for i in range(0x38):  # IN/OUT headers where in-RAM buffers often start
            vm.write_phys(BUFS + 0x1000 * i, struct.pack("<IIQ", i & 1 if i > 8 else 0, 0, i))
    else:
        dev, queue = VirtioBalloon(metered, queue_num_max=NUM), data.draw(st.sampled_from([0, 1]), label="queue")
        vm.write_phys(BUFS, struct.pack("<1024I", *range(RAM >> 12, (RAM >> 12) + 1024)))  # its own PFNs, and more
    _driver_up(dev, data.draw(st.booleans(), label="indirect negotiated"), queue)
    rings.install(vm.write_phys, DESC, AVAIL, INDIRECT)
    before_nb = iso.ram_image(neighbour)

    metered.bytes_moved = 0
    dev.write(Reg.QueueNotify, 4, queue)
    assert metered.bytes_moved <= NOTIFY_BUDGET.nbytes + STEP[kind] + NOTIFY_BUDGET.requests * RING_WORK
    calls = 0
    while dev.pending:
        metered.bytes_moved = 0
        dev.service()
        calls += 1
        assert metered.bytes_moved <= SERVICE_BUDGET.nbytes + STEP[kind] + SERVICE_BUDGET.requests * RING_WORK
        assert calls <= NUM * (1 + (6 << 16) // SERVICE_BUDGET.nbytes)  # each call ends a request or moves a budget
    event(f"{kind}: {calls} service calls" if calls < 3 else f"{kind}: 3+ service calls")
    q = dev.queues[queue]
    assert dev.status & DEVICE_NEEDS_RESET or q.last_avail_idx == rings.avail_idx == q.used_idx
    assert not dev.in_flight
    if q.used_idx and not dev.status & DEVICE_NEEDS_RESET:
        assert dev.interrupt_status & INT_USED_BUFFER
    iso.check_isolation(pool, [vm, neighbour])
    assert not iso.changed_pages(before_nb, iso.ram_image(neighbour))


class CountingLine:
    """The UART's serial line (has_input, take), counting what each take hands over."""

    def __init__(self) -> None:
        self.taken: list[int] = []

    def has_input(self) -> bool:
        return True

    def take(self, n: int) -> bytes:
        self.taken.append(n)
        return bytes(n)


@given(
    ops=st.lists(
        st.tuples(st.booleans(), st.integers(0, 0x1FF), st.sampled_from([1, 2, 4]), st.integers(0, 2**32 - 1)),
        max_size=80,
    )
)
def test_every_register_access_does_bounded_work(big_disk, ops):
    """Any register access to blk, balloon or UART: at most one notify's budget through guest memory (and the
    rest deferred), at most a FIFO of input taken and one byte sent by the UART."""
    _, vm, _ = _vms()
    metered = iso.MeteredMemory(vm.memory)
    line, sent = CountingLine(), []
    uart = UART16550(tx=sent.append, irq=lambda level: None, line=line)
    devices = [VirtioBlk(_backend(big_disk), metered, queue_num_max=NUM), VirtioBalloon(metered, queue_num_max=NUM)]
    # NUM reads of 384 KiB (6 descriptors naming one 64 KiB buffer): what one notify asks is three budgets
    table = [(BUFS, 16, 1, 1)] + [(BUFS + 0x10000, 0x10000, 3, i + 2) for i in range(6)] + [(BUFS + 0x20, 1, 2, 0)]
    rings = iso.VirtqueueRings(table, NUM, [0] * NUM)
    vm.write_phys(BUFS, struct.pack("<IIQ", 0, 0, 0))
    bound = NOTIFY_BUDGET.nbytes + CHUNK + 17 + NOTIFY_BUDGET.requests * RING_WORK
    last = [(True, Reg.Status, 4, 0), (True, Reg.QueueNotify, 4, 0)]  # ... then a driver that notifies
    for n, (is_write, offset, size, value) in enumerate(ops + last):
        if n == len(ops) + 1:
            for dev in devices:
                _driver_up(dev, False)
            rings.install(vm.write_phys, DESC, AVAIL, INDIRECT)
        for dev in devices + [uart]:
            metered.bytes_moved, line.taken, sent[:] = 0, [], []
            if is_write:
                dev.write(offset, size, value & ((1 << 8 * size) - 1))
            else:
                dev.read(offset, size)
            assert metered.bytes_moved <= bound
            assert sum(line.taken) <= FIFO_DEPTH and len(sent) <= 1
    assert devices[0].pending and devices[0].counters["deferred"] == 1  # the rest is the host loop's


def _notify_trace(tmp_path):
    """A guest's one QueueNotify store (M-mode, no BIOS) naming 16 aliased 384 KiB reads; the board's steps."""
    import io

    from pyhv import image
    from pyhv.console import Console
    from pyhv.machine import Machine, MachineConfig

    t0, a0 = 5, 10
    kernel = struct.pack(
        "<4I",
        iso.lui(t0, lib.PYHV_VIRTIO0_BASE >> 12),
        iso.store("sw", 0, t0, Reg.QueueNotify),  # the one hostile access
        iso.addi(a0, a0, 1),
        iso.jal(0, -4),  # then spin
    )
    path = tmp_path / "notify.img"
    path.write_bytes(image.build(kernel, fs=bytes(range(256)) * 4 * 4096))
    machine = Machine(MachineConfig(image=str(path), bios=None, mem_size_mib=16), console=Console(output=io.BytesIO()))
    blk, mem = machine.disks[0], machine.vm.memory
    metered = blk.memory = iso.MeteredMemory(mem)
    num, desc, avail, used, buf = 16, RAM + 0x400000, RAM + 0x401000, RAM + 0x402000, RAM + 0x410000
    w = blk.write
    for value in (0, ACKNOWLEDGE, ACKNOWLEDGE | DRIVER):
        w(Reg.Status, 4, value)
    w(Reg.DriverFeaturesSel, 4, 1)
    w(Reg.DriverFeatures, 4, 1)  # VIRTIO_F_VERSION_1
    w(Reg.Status, 4, ACKNOWLEDGE | DRIVER | FEATURES_OK)
    w(Reg.QueueNum, 4, num)
    for reg, addr in ((Reg.QueueDescLow, desc), (Reg.QueueDriverLow, avail), (Reg.QueueDeviceLow, used)):
        w(reg, 4, addr)
    w(Reg.QueueReady, 4, 1)
    w(Reg.Status, 4, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK)
    mem.write(buf - 0x100, struct.pack("<IIQ", 0, 0, 0))  # IN from sector 0
    chain = [(buf - 0x100, 16, 1, 1)] + [(buf, 0x10000, 3, i + 2) for i in range(6)] + [(buf - 0x80, 1, 2, 0)]
    mem.write(desc, b"".join(VIRTQ_DESC.pack(*d) for d in chain))
    mem.write(avail, struct.pack(f"<HH{num}H", 0, num, *[0] * num))  # every slot names head 0
    trace = []
    for _ in range(40):
        busy = bool(machine.busy_devices)
        before, metered.bytes_moved = machine.insns_total, 0
        what, _ = machine.step(2_000_000)
        used_idx = struct.unpack("<H", mem.read(used + 2, 2))[0]
        trace.append((busy, machine.insns_total - before, machine.last_exit.reason, used_idx, metered.bytes_moved))
        if not machine.busy_devices and used_idx == num:
            break
    pending_irq = machine.plic.pending >> lib.PYHV_IRQ_VIRTIO0 & 1
    machine.close()
    return trace, pending_irq


def test_a_guest_notify_is_served_from_the_run_loop(tmp_path):
    """The store ends the vCPU's slice at the next block; the host loop then serves one SERVICE_BUDGET per step,
    each step at most DEVICE_SERVICE_INSNS guest instructions apart, until all 16 requests are used; the
    interrupt reaches the PLIC; and a second run takes exactly the same steps (determinism)."""
    from pyhv.machine import DEVICE_SERVICE_INSNS

    trace, pending_irq = _notify_trace(tmp_path)
    busy, ran, reason, used_idx, moved = trace[0]
    assert not busy and ran <= 4 and reason == "host"  # the slice ended right after the notifying block
    assert 0 < used_idx < 16 and moved <= NOTIFY_BUDGET.nbytes + CHUNK + 17 + NOTIFY_BUDGET.requests * 512
    for busy, ran, _, used_idx, moved in trace[1:]:
        assert busy and moved <= SERVICE_BUDGET.nbytes + CHUNK + 17 + SERVICE_BUDGET.requests * 512
        assert ran <= DEVICE_SERVICE_INSNS or used_idx == 16  # a full slice once the work is done
    assert trace[-1][3] == 16 and 3 <= len(trace) <= 16 and pending_irq
    assert _notify_trace(tmp_path)[0] == trace
