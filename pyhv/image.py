"""Boot disk images: the boot header in sector 0 (format in csrc/abi.h), the kernel,
and an optional file-system blob.  `pyhv mkimage` writes them, `pyhv info` reads
them back; the BIOS (firmware/) checks the same magic and CRC-32s before loading.
"""

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from pyhv._native import lib
from pyhv.errors import ImageError

SECTOR = 512
_FIELDS = struct.Struct("<10I")  # magic0 magic1 version koff ksize load entry kcrc fsoff fssize


@dataclass(frozen=True)
class BootHeader:
    kernel_offset: int
    kernel_size: int
    load_addr: int
    entry: int
    kernel_crc32: int
    fs_offset: int = 0
    fs_size: int = 0
    version: int = lib.PYHV_BOOT_VERSION

    def pack(self) -> bytes:
        head = _FIELDS.pack(
            lib.PYHV_BOOT_MAGIC0, lib.PYHV_BOOT_MAGIC1, self.version, self.kernel_offset, self.kernel_size,
            self.load_addr, self.entry, self.kernel_crc32, self.fs_offset, self.fs_size,
        )
        body = head + bytes(lib.PYHV_BOOT_OFF_HCRC - len(head))
        return body + struct.pack("<I", zlib.crc32(body))

    @classmethod
    def unpack(cls, sector: bytes, source: str = "image") -> "BootHeader":
        if len(sector) < SECTOR:
            raise ImageError(f"{source}: too short for a boot header ({len(sector)} bytes)")
        m0, m1, version, koff, ksize, load, entry, kcrc, fsoff, fssize = _FIELDS.unpack_from(sector)
        if (m0, m1) != (lib.PYHV_BOOT_MAGIC0, lib.PYHV_BOOT_MAGIC1):
            raise ImageError(f"{source}: no pyhv boot header (bad magic)")
        (hcrc,) = struct.unpack_from("<I", sector, lib.PYHV_BOOT_OFF_HCRC)
        if zlib.crc32(sector[: lib.PYHV_BOOT_OFF_HCRC]) != hcrc:
            raise ImageError(f"{source}: boot header checksum mismatch")
        if version != lib.PYHV_BOOT_VERSION:
            raise ImageError(f"{source}: boot header version {version} is not supported")
        return cls(koff, ksize, load, entry, kcrc, fsoff, fssize, version)


def build(kernel: bytes, load_addr: int = lib.PYHV_KERNEL_BASE, entry=None, fs: bytes = b"") -> bytes:
    """A bootable disk: header sector, kernel (sector-aligned), then the file system."""
    if not kernel:
        raise ImageError("the kernel is empty: an image needs code to boot")
    if load_addr < lib.PYHV_KERNEL_BASE:
        raise ImageError(f"load address 0x{load_addr:x} is below 0x{lib.PYHV_KERNEL_BASE:x} (firmware region)")
    entry = load_addr if entry is None else entry
    if not load_addr <= entry < load_addr + max(len(kernel), 1):
        raise ImageError(f"entry 0x{entry:x} is outside the kernel")
    kpad = -len(kernel) % SECTOR
    fs_offset = SECTOR + len(kernel) + kpad if fs else 0
    header = BootHeader(SECTOR, len(kernel), load_addr, entry, zlib.crc32(kernel), fs_offset, len(fs))
    out = header.pack() + kernel + bytes(kpad) + fs
    return out + bytes(-len(out) % SECTOR)


def read_header(path) -> BootHeader:
    path = Path(path)
    try:
        with path.open("rb") as f:
            sector = f.read(SECTOR)
            size = path.stat().st_size
    except OSError as e:
        raise ImageError(f"cannot read {path}: {e.strerror}") from None
    header = BootHeader.unpack(sector, str(path))
    if header.kernel_size == 0:
        raise ImageError(f"{path}: the image has no kernel (kernel size 0)")
    if header.kernel_offset + header.kernel_size > size or header.fs_offset + header.fs_size > size:
        raise ImageError(f"{path}: header points past the end of the image ({size} bytes)")
    return header


def kernel_crc_ok(path, h: BootHeader) -> bool:
    """Does the kernel match the CRC-32 its header records (what the BIOS checks before loading)?"""
    with open(path, "rb") as f:
        f.seek(h.kernel_offset)
        return zlib.crc32(f.read(h.kernel_size)) == h.kernel_crc32


def describe(path) -> str:
    """What `pyhv info` prints."""
    h = read_header(path)
    size = Path(path).stat().st_size
    lines = [
        f"image        {path} ({size} bytes, {size // SECTOR} sectors)",
        f"boot header  version {h.version}, checksum ok",
        f"kernel       offset {h.kernel_offset}, {h.kernel_size} bytes, crc32 0x{h.kernel_crc32:08x}",
        f"load         0x{h.load_addr:08x}..0x{h.load_addr + h.kernel_size:08x}, entry 0x{h.entry:08x}",
        "file system  " + (f"offset {h.fs_offset}, {h.fs_size} bytes" if h.fs_size else "none"),
    ]
    lines.append("kernel crc   " + ("ok" if kernel_crc_ok(path, h) else "MISMATCH"))
    return "\n".join(lines)


def tinyos_files() -> tuple[bytes, dict]:
    """tinyos's kernel and its base root file system ({path: bytes, or None for a directory}),
    read back from the tinyos.img pyhv ships (pyhv/data), device nodes as tinyfs.Device: what `pyhv mkimage --tinyos` starts
    from, so a user's image boots to the same shell with the user's files added."""
    from pyhv import data, tinyfs

    path = data.path("tinyos.img")
    try:
        disk = path.read_bytes()
    except OSError as e:
        raise ImageError(f"cannot read the shipped tinyos image {path}: {e.strerror}") from None
    h = BootHeader.unpack(disk[:SECTOR], str(path))
    kernel = disk[h.kernel_offset : h.kernel_offset + h.kernel_size]
    reader = tinyfs.Reader(disk, str(path))
    files: dict[str, bytes | tinyfs.Device | None] = {}
    for entry in reader.walk("/"):
        if entry.type == tinyfs.T_DEVICE:  # /dev/console ships in the image: booting writes nothing
            files[entry.path] = tinyfs.Device(entry.major, entry.minor)
        else:
            files[entry.path] = None if entry.type == tinyfs.T_DIR else reader.read(entry.inum)
    return kernel, files
