# virtio block device (VIRTIO 1.2 §5.2) on the virtio-mmio transport (virtio_mmio.py), and DiskBackend, the raw
# disk image behind it: read-write, read-only, or copy-on-write in memory (QEMU -snapshot).  Requests are IN,
# OUT, FLUSH and GET_ID; the transport owns rings, chains and interrupts, this file only the request bodies.
"""virtio-blk device model and raw image backend.

A request is a 16-byte device-readable header (le32 type, le32 reserved, le64 sector), data, and a device-
writable status byte, the last byte of the chain (§5.2.6).  Error choices: a header shorter than 16 bytes, a
data length that is not a multiple of 512, a sector range past the capacity, more data than seg_max * size_max
(the largest request the configuration space allows, §5.2.4), an OUT on a read-only disk, a data buffer outside
RAM (DmaError) or a host I/O error complete with VIRTIO_BLK_S_IOERR (after whatever data already moved); unknown
types with VIRTIO_BLK_S_UNSUPP.  GET_ID writes min(20, data length) bytes of the id.  A chain with no
device-writable byte, or whose status byte is outside RAM, cannot report anything: VirtqueueError, so the
transport sets DEVICE_NEEDS_RESET.  Data moves in CHUNK steps the transport may pause between (its Budget).
"""

from __future__ import annotations

import os
import struct

from .. import imagelock
from ..errors import ImageError
from . import SetLevel
from .virtio_mmio import DescriptorChain, DmaError, VirtioMMIODevice, VirtqueueError

VIRTIO_ID_BLOCK = 2
SECTOR_SIZE = 512  # the unit of capacity and of the request's sector field, whatever blk_size says

# Feature bits (§5.2.3).
VIRTIO_BLK_F_SIZE_MAX = 1
VIRTIO_BLK_F_SEG_MAX = 2
VIRTIO_BLK_F_RO = 5
VIRTIO_BLK_F_BLK_SIZE = 6
VIRTIO_BLK_F_FLUSH = 9

VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID = 0, 1, 4, 8
VIRTIO_BLK_S_OK, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_UNSUPP = 0, 1, 2
VIRTIO_BLK_ID_BYTES = 20

REQ_HEADER = struct.Struct("<IIQ")  # type, reserved, sector
# struct virtio_blk_config up to num_queues (§5.2.4): capacity, size_max, seg_max, geometry (cylinders, heads,
# sectors), blk_size, topology (physical_block_exp, alignment_offset, min_io_size, opt_io_size), writeback,
# unused0, num_queues.  Fields of features not offered read 0.
BLK_CONFIG = struct.Struct("<QIIHBBIBBHIBBH")
CHUNK = 64 * 1024  # bytes moved per backend call (and per step): bounds host memory whatever the guest claims
# size_max: the largest segment the device takes, as the BIOS and hello use it.  With seg_max = QueueNumMax - 2
# a request moves at most seg_max * SIZE_MAX bytes (7.9 MiB on the board's 128-entry queue); the request's
# data as a whole is checked, a driver may cut it into segments as it likes.
SIZE_MAX = 64 * 1024
REQUEST_COUNTERS = {
    VIRTIO_BLK_T_IN: "req_in",
    VIRTIO_BLK_T_OUT: "req_out",
    VIRTIO_BLK_T_FLUSH: "req_flush",
    VIRTIO_BLK_T_GET_ID: "req_get_id",
}


class DiskError(ImageError):
    """A disk image that cannot be opened, read or written; the message is one line."""


class DiskBackend:
    """A raw image file seen as 512-byte sectors; trailing bytes past the last whole sector are not visible.

    ``snapshot=True`` keeps every write in an in-memory overlay, so the file is never modified;
    ``read_only=True`` refuses writes (the device then offers VIRTIO_BLK_F_RO).  The image is locked while the
    backend is open, as QEMU locks it: exclusively when it may be written, shared by readers otherwise
    (pyhv.imagelock.ImageInUse when another open conflicts).
    """

    def __init__(self, path: str | os.PathLike, *, snapshot: bool = False, read_only: bool = False) -> None:
        self.path = os.fspath(path)
        self.read_only = read_only
        self.snapshot = snapshot and not read_only
        try:
            # The file stays open for the backend's lifetime (close() ends it), hence no context manager.
            self._file = open(self.path, "rb" if read_only or snapshot else "r+b")  # noqa: SIM115
            size = os.fstat(self._file.fileno()).st_size
        except OSError as err:
            raise DiskError(f"cannot open disk image {self.path}: {err.strerror or err}") from err
        try:  # exclusive for a writer, shared for readers (pyhv/imagelock.py), held until close()
            imagelock.lock(self._file, self.path, write=not (read_only or snapshot))
        except imagelock.ImageInUse:
            self._file.close()
            raise
        self.capacity_sectors = size // SECTOR_SIZE
        self._overlay: dict[int, bytes] = {}  # sector -> contents, snapshot mode only

    def read(self, sector: int, count: int) -> bytes:
        self._check_range(sector, count)
        self._file.seek(sector * SECTOR_SIZE)
        data = self._file.read(count * SECTOR_SIZE)
        if len(data) != count * SECTOR_SIZE:
            raise DiskError(f"disk image {self.path} shrank under the VM")
        if not self._overlay:
            return data
        out = bytearray(data)
        for i in range(count):
            patch = self._overlay.get(sector + i)
            if patch is not None:
                out[i * SECTOR_SIZE : (i + 1) * SECTOR_SIZE] = patch
        return bytes(out)

    def write(self, sector: int, data: bytes) -> None:
        count, rest = divmod(len(data), SECTOR_SIZE)
        if self.read_only or rest:
            raise DiskError(f"disk image {self.path}: refused write of {len(data)} bytes")
        self._check_range(sector, count)
        if self.snapshot:
            for i in range(count):
                self._overlay[sector + i] = bytes(data[i * SECTOR_SIZE : (i + 1) * SECTOR_SIZE])
            return
        self._file.seek(sector * SECTOR_SIZE)
        self._file.write(data)

    def flush(self) -> None:
        """Make completed writes stable: os.fsync in read-write mode, nothing to do otherwise."""
        if not self.read_only and not self.snapshot:
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check_range(self, sector: int, count: int) -> None:
        if sector < 0 or count < 0 or sector + count > self.capacity_sectors:
            raise DiskError(f"disk image {self.path}: sectors {sector}+{count} past {self.capacity_sectors}")


class VirtioBlk(VirtioMMIODevice):
    """virtio-blk with one request queue over a DiskBackend.

    ``serial`` is the GET_ID string (ASCII, at most 20 bytes).  Offers BLK_SIZE (512), FLUSH, SEG_MAX
    (QueueNumMax - 2: header and status may each take a descriptor, any chain within the queue size is served),
    SIZE_MAX (SIZE_MAX) and RO for a read-only backend.  Without FLUSH negotiated every OUT is made stable before it
    completes (§5.2.6.2: FLUSH offered but not negotiated).
    """

    name = "virtio-blk"
    DEVICE_ID = VIRTIO_ID_BLOCK
    NUM_QUEUES = 1

    def __init__(
        self,
        backend: DiskBackend,
        memory,
        irq: SetLevel | None = None,
        *,
        serial: str = "pyhv-virtio-blk",
        queue_num_max: int = 128,
        name: str = "",
    ) -> None:
        ident = serial.encode("ascii")
        if len(ident) > VIRTIO_BLK_ID_BYTES or queue_num_max < 4:
            raise ValueError(f"serial longer than {VIRTIO_BLK_ID_BYTES} bytes or queue_num_max < 4")
        self.backend = backend
        self.ident = ident.ljust(VIRTIO_BLK_ID_BYTES, b"\0")  # NUL-padded; no NUL when exactly 20 bytes
        super().__init__(memory, irq, queue_num_max=queue_num_max, name=name)
        self.max_request_bytes = (queue_num_max - 2) * SIZE_MAX  # seg_max * size_max
        self._config = BLK_CONFIG.pack(
            backend.capacity_sectors, SIZE_MAX, queue_num_max - 2, 0, 0, 0, SECTOR_SIZE, 0, 0, 0, 0, 0, 0, 0
        )
        self.counters.update({c: 0 for c in REQUEST_COUNTERS.values()})
        self.counters.update(req_unsupported=0, bytes_read=0, bytes_written=0, errors=0)

    def device_features(self) -> int:
        bits = 1 << VIRTIO_BLK_F_SIZE_MAX | 1 << VIRTIO_BLK_F_SEG_MAX | 1 << VIRTIO_BLK_F_BLK_SIZE
        bits |= 1 << VIRTIO_BLK_F_FLUSH
        return bits | (1 << VIRTIO_BLK_F_RO if self.backend.read_only else 0)

    def config_space(self) -> bytes:
        return self._config

    def handle_chain(self, queue: int, chain: DescriptorChain):
        """A generator: one step per CHUNK of data, so the transport can pause a long request between them."""
        if not chain.writable_len:
            raise VirtqueueError("virtio-blk request without a status byte")
        try:
            status = yield from self._execute(chain)
        except (DmaError, OSError, DiskError):
            status = VIRTIO_BLK_S_IOERR
        if status == VIRTIO_BLK_S_IOERR:
            self.counters["errors"] += 1
        try:
            chain.write(chain.writable_len - 1, bytes([status]))
        except DmaError as err:
            raise VirtqueueError("virtio-blk status byte outside RAM") from err

    def _execute(self, chain: DescriptorChain):
        if chain.readable_len < REQ_HEADER.size:
            return VIRTIO_BLK_S_IOERR
        rtype, _, sector = REQ_HEADER.unpack(chain.read(0, REQ_HEADER.size))
        if rtype not in REQUEST_COUNTERS:
            self.counters["req_unsupported"] += 1
            return VIRTIO_BLK_S_UNSUPP
        self.counters[REQUEST_COUNTERS[rtype]] += 1
        if rtype == VIRTIO_BLK_T_IN:
            return (yield from self._read(chain, sector, chain.writable_len - 1))
        if rtype == VIRTIO_BLK_T_OUT:
            return (yield from self._write(chain, sector, chain.readable_len - REQ_HEADER.size))
        if rtype == VIRTIO_BLK_T_FLUSH:
            self.backend.flush()
            return VIRTIO_BLK_S_OK
        chain.write(0, self.ident[: min(VIRTIO_BLK_ID_BYTES, chain.writable_len - 1)])
        return VIRTIO_BLK_S_OK

    def _in_range(self, sector: int, length: int) -> bool:
        return (
            length % SECTOR_SIZE == 0
            and length <= self.max_request_bytes
            and sector + length // SECTOR_SIZE <= self.backend.capacity_sectors
        )

    def _read(self, chain: DescriptorChain, sector: int, length: int):
        if not self._in_range(sector, length):
            return VIRTIO_BLK_S_IOERR
        for done in range(0, length, CHUNK):
            n = min(CHUNK, length - done)
            chain.write(done, self.backend.read(sector + done // SECTOR_SIZE, n // SECTOR_SIZE))
            self.counters["bytes_read"] += n
            yield
        return VIRTIO_BLK_S_OK

    def _write(self, chain: DescriptorChain, sector: int, length: int):
        if self.backend.read_only or not self._in_range(sector, length):
            return VIRTIO_BLK_S_IOERR
        for done in range(0, length, CHUNK):
            n = min(CHUNK, length - done)
            self.backend.write(sector + done // SECTOR_SIZE, chain.read(REQ_HEADER.size + done, n))
            self.counters["bytes_written"] += n
            yield
        if not self.negotiated(VIRTIO_BLK_F_FLUSH):
            self.backend.flush()
        return VIRTIO_BLK_S_OK
