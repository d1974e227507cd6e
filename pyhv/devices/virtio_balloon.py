# Traditional memory balloon device (VIRTIO 1.1 §5.5) on the virtio-mmio transport (virtio_mmio.py): the host
# sets a target size, the driver hands guest pages over on inflateq and takes them back on deflateq.  Inflated
# pages go back to the host frame pool through GuestMemory.release(); rings, chains and interrupts are the
# transport's, the reclaim policy (who sets the target, and when) belongs to the board's host.
"""virtio-balloon: num_pages/actual configuration, inflateq and deflateq.

Queues (§5.5.2): 0 inflateq, 1 deflateq; statsq is not offered.  Features (§5.5.3): no device-type bit is
offered (the transport adds VIRTIO_F_VERSION_1 and VIRTIO_F_INDIRECT_DESC).  Without
VIRTIO_BALLOON_F_MUST_TELL_HOST the driver may reuse a deflated page before telling the device (§5.5.6.1),
which is safe here: a released guest frame is demand-zero, so the next touch gets a fresh zeroed frame.

A buffer is an array of le32 page frame numbers, guest-physical address = pfn << 12 (§5.5.6).  A PFN outside
the VM's RAM is counted in ``bad_pfns`` and ignored, as are trailing bytes that do not make a whole PFN and any
device-writable descriptors (used length 0).  An unreadable buffer (DmaError) follows the transport's rule for
ring damage: DEVICE_NEEDS_RESET, after the PFNs already read have been handled.

The spec sets no size for a request; this device reads at most as many PFNs as the VM has pages (a longer
array names some page twice), counts the rest in ``excess_pfns`` unread, and works in READ_CHUNK steps the
transport may pause between: a step costs its bytes, STEP_COST, and FRAME_COST per frame it returns to the pool.
"""

from __future__ import annotations

import struct

import numpy as np

from ..memory import S2_V
from . import SetLevel, check_int
from .virtio_mmio import DescriptorChain, Reg, VirtioMMIODevice

VIRTIO_ID_BALLOON = 5
INFLATEQ, DEFLATEQ = 0, 1
PFN_SHIFT = 12  # VIRTIO_BALLOON_PFN_SHIFT: balloon pages are 4 KiB whatever the guest's page size
# struct virtio_balloon_config (§5.5.4), the fields without a feature: le32 num_pages (the host's target, in
# pages), le32 actual (written by the driver: the pages it has in the balloon).
BALLOON_CONFIG = struct.Struct("<II")
CONFIG_ACTUAL = 4
READ_CHUNK = 1024  # bytes of PFNs read per step (256 PFNs, at most 256 frames released: about 1 MiB of work)
FRAME_COST = 4096  # work charged per frame returned to the pool: it is scrubbed, its code and TLB entries dropped
STEP_COST = 16 * 1024  # work charged per step besides its bytes: a step's Python and numpy calls cost about as much


class VirtioBalloon(VirtioMMIODevice):
    """virtio-balloon over a GuestMemory (``release(gfn)``, ``ram_base``, ``nframes``, ``read``, ``write``).

    >>> from pyhv.memory import FramePool, GuestMemory
    >>> b = VirtioBalloon(GuestMemory(FramePool(size_mib=4), 1))
    >>> b.set_target(16); b.target_pages, b.actual_pages
    (16, 0)
    """

    name = "virtio-balloon"
    DEVICE_ID = VIRTIO_ID_BALLOON
    NUM_QUEUES = 2

    def __init__(self, memory, irq: SetLevel | None = None, *, queue_num_max: int = 128, name: str = "") -> None:
        self.num_pages = 0  # the target, set by the host; kept across device resets
        super().__init__(memory, irq, queue_num_max=queue_num_max, name=name)
        self.counters.update(inflated_pages=0, deflated_pages=0, released_frames=0, bad_pfns=0, excess_pfns=0)

    # -- host API ------------------------------------------------------------------------------

    def set_target(self, pages: int) -> None:
        """Ask the driver to hold `pages` 4 KiB pages in the balloon (§5.5.6.2: a configuration change)."""
        if not isinstance(pages, int) or not 0 <= pages <= 0xFFFFFFFF:
            raise ValueError(f"balloon target must be 0..0xffffffff pages: {pages!r}")
        self.num_pages = pages
        self.config_changed()

    @property
    def target_pages(self) -> int:
        return self.num_pages

    @property
    def actual_pages(self) -> int:
        return self.actual

    # -- device type ---------------------------------------------------------------------------

    def reset(self) -> None:
        super().reset()
        self.actual = 0  # a reset driver has no pages in the balloon: every page is the guest's again

    def config_space(self) -> bytes:
        return BALLOON_CONFIG.pack(self.num_pages, self.actual)

    def mmio_write(self, offset: int, size: int, value: int) -> bool:
        if offset < Reg.Config:
            return super().mmio_write(offset, size, value)
        if offset - Reg.Config == CONFIG_ACTUAL and size == 4:
            self.actual = value  # the only driver-writable field; num_pages is the device's
            return True
        return False

    def handle_chain(self, queue: int, chain: DescriptorChain):
        """A generator: one step per READ_CHUNK of PFNs (see the module docstring)."""
        mem = self.memory
        lo = mem.ram_base >> PFN_SHIFT
        length = min(chain.readable_len & ~3, 4 * mem.nframes)
        self.counters["excess_pfns"] += (chain.readable_len & ~3) // 4 - length // 4
        for at in range(0, length, READ_CHUNK):
            pfns = np.frombuffer(chain.read(at, min(READ_CHUNK, length - at)), dtype="<u4").astype(np.int64)
            good = pfns[(pfns >= lo) & (pfns < lo + mem.nframes)] - lo
            self.counters["bad_pfns"] += len(pfns) - len(good)
            if queue == DEFLATEQ:
                self.counters["deflated_pages"] += len(good)  # nothing to do: the next touch is demand-zero
            else:
                self.counters["inflated_pages"] += len(good)
                present = np.unique(good[mem.s2[good] & S2_V != 0])  # only these cost more than a look
                for gfn in present.tolist():
                    mem.release(gfn)
                self.counters["released_frames"] += len(present)
                chain.charge(FRAME_COST * len(present))
            chain.charge(STEP_COST)
            yield

    # -- snapshots -----------------------------------------------------------------------------

    def device_state(self) -> dict:
        return {"num_pages": self.num_pages, "actual": self.actual}

    def load_device_state(self, d: dict) -> None:
        self.num_pages, self.actual = check_int(d, "num_pages", 0, 0xFFFFFFFF), check_int(d, "actual", 0, 0xFFFFFFFF)
