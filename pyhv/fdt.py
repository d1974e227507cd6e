# Flattened device tree: a writer and reader for the DTB format of the Devicetree
# Specification v0.4 chapter 5, and virt_dtb(), the tree pyhv hands the kernel in a1,
# describing the board the way QEMU's virt machine does (hw/riscv/virt.c).  Device
# behaviour lives in pyhv/devices/; this file only says where the devices are.
"""Devicetree blob (DTB) writer/reader and the virt board's tree."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from .devices.finisher import FINISHER_PASS, FINISHER_RESET, Finisher
from .devices.plic import PLIC
from .devices.uart16550 import UART16550

# §5.2 header: ten big-endian u32 fields.
FDT_MAGIC = 0xD00DFEED
FDT_VERSION = 17
FDT_LAST_COMP_VERSION = 16
HEADER = struct.Struct(">10I")
HEADER_FIELDS = (
    "magic", "totalsize", "off_dt_struct", "off_dt_strings", "off_mem_rsvmap",
    "version", "last_comp_version", "boot_cpuid_phys", "size_dt_strings", "size_dt_struct",
)  # fmt: skip
# §5.4.1 structure block tokens.
FDT_BEGIN_NODE, FDT_END_NODE, FDT_PROP, FDT_NOP, FDT_END = 0x1, 0x2, 0x3, 0x4, 0x9

PropValue = None | bool | int | str | bytes | list | tuple


def encode_value(value: PropValue) -> bytes:
    """Property value encodings of §2.2.4: empty, <u32 cells>, string, stringlist, bytestring."""
    if value is None or value is True:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, int):
        return struct.pack(">I", value)
    if isinstance(value, str):
        return value.encode() + b"\0"
    if all(isinstance(v, str) for v in value):
        return b"".join(v.encode() + b"\0" for v in value)
    return struct.pack(f">{len(value)}I", *value)


def cells(value: int, n: int) -> list[int]:
    """Split an address or size into n big-endian u32 cells (for #address-cells/#size-cells)."""
    return [(value >> (32 * i)) & 0xFFFFFFFF for i in reversed(range(n))]


class Node:
    """A devicetree node being built: ordered properties and children.

    >>> root = Node("")
    >>> root.child("chosen").prop("bootargs", "console=ttyS0").name
    'chosen'
    >>> parse(root.to_dtb())["chosen"]["bootargs"]
    b'console=ttyS0\\x00'
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.props: dict[str, bytes] = {}
        self.children: list[Node] = []

    def prop(self, name: str, value: PropValue = None) -> Node:
        self.props[name] = encode_value(value)
        return self

    def child(self, name: str) -> Node:
        node = Node(name)
        self.children.append(node)
        return node

    def to_dtb(self, boot_cpuid_phys: int = 0, reservations: Sequence[tuple[int, int]] = ()) -> bytes:
        return dtb(self, boot_cpuid_phys, reservations)


def _pad4(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def dtb(root: Node, boot_cpuid_phys: int = 0, reservations: Sequence[tuple[int, int]] = ()) -> bytes:
    """Serialise a tree: header, memory reservation block, structure block, strings block (§5.1)."""
    strings = bytearray()
    offsets: dict[str, int] = {}

    def name_offset(name: str) -> int:
        if name not in offsets:
            offsets[name] = len(strings)
            strings.extend(name.encode() + b"\0")
        return offsets[name]

    struct_block = bytearray()

    def emit(node: Node) -> None:
        struct_block.extend(struct.pack(">I", FDT_BEGIN_NODE) + _pad4(node.name.encode() + b"\0"))
        for name, value in node.props.items():
            struct_block.extend(struct.pack(">III", FDT_PROP, len(value), name_offset(name)) + _pad4(value))
        for c in node.children:
            emit(c)
        struct_block.extend(struct.pack(">I", FDT_END_NODE))

    emit(root)
    struct_block.extend(struct.pack(">I", FDT_END))
    # §5.3: reservation entries are (u64 address, u64 size), 8-byte aligned, ended by a zero pair.
    rsvmap = b"".join(struct.pack(">QQ", a, s) for a, s in [*reservations, (0, 0)])
    off_rsvmap = HEADER.size  # 40: already 8-byte aligned
    off_struct = off_rsvmap + len(rsvmap)  # a multiple of 8, so 4-byte aligned (§5.4)
    off_strings = off_struct + len(struct_block)
    total = off_strings + len(strings)
    header = HEADER.pack(
        FDT_MAGIC, total, off_struct, off_strings, off_rsvmap, FDT_VERSION, FDT_LAST_COMP_VERSION,
        boot_cpuid_phys, len(strings), len(struct_block),
    )  # fmt: skip
    return header + rsvmap + bytes(struct_block) + bytes(strings)


def read_header(blob: bytes) -> dict:
    """Header fields plus 'memreserve' (list of (address, size)); ValueError if malformed."""
    if len(blob) < HEADER.size:
        raise ValueError("DTB shorter than its header")
    h = dict(zip(HEADER_FIELDS, HEADER.unpack_from(blob), strict=True))
    if h["magic"] != FDT_MAGIC:
        raise ValueError(f"bad DTB magic {h['magic']:#x}")
    if h["last_comp_version"] > FDT_VERSION or h["totalsize"] > len(blob):
        raise ValueError("unsupported or truncated DTB")
    for off, size in ((h["off_dt_struct"], h["size_dt_struct"]), (h["off_dt_strings"], h["size_dt_strings"])):
        if off + size > h["totalsize"]:
            raise ValueError("DTB block outside totalsize")
    if h["off_mem_rsvmap"] % 8 or h["off_dt_struct"] % 4:
        raise ValueError("misaligned DTB block")
    reservations, off = [], h["off_mem_rsvmap"]
    while True:
        if off + 16 > h["totalsize"]:
            raise ValueError("unterminated memory reservation block")
        addr, size = struct.unpack_from(">QQ", blob, off)
        off += 16
        if addr == 0 and size == 0:
            break
        reservations.append((addr, size))
    h["memreserve"] = reservations
    return h


def parse(blob: bytes) -> dict:
    """Parse a DTB into nested dicts: property name -> raw bytes, child name -> dict.

    Raises ValueError on any malformed input (the reader must survive hostile blobs).
    """
    h = read_header(blob)
    s_off, s_end = h["off_dt_struct"], h["off_dt_struct"] + h["size_dt_struct"]
    strtab = blob[h["off_dt_strings"] : h["off_dt_strings"] + h["size_dt_strings"]]

    def u32(at: int) -> int:
        if at + 4 > s_end:
            raise ValueError("structure block truncated")
        return struct.unpack_from(">I", blob, at)[0]

    def cstr(buf: bytes, at: int, end: int) -> tuple[str, int]:
        nul = buf.find(b"\0", at, end)
        if nul < 0:
            raise ValueError("unterminated string")
        try:
            return buf[at:nul].decode(), nul + 1
        except UnicodeDecodeError as e:
            raise ValueError("non-UTF-8 name") from e

    stack: list[dict] = []
    root: dict | None = None
    pos = s_off
    while True:
        token = u32(pos)
        pos += 4
        if token == FDT_BEGIN_NODE:
            name, pos = cstr(blob, pos, s_end)
            pos = (pos + 3) & ~3
            node: dict = {}
            if stack:
                stack[-1][name] = node
            elif root is None:
                root = node
            else:
                raise ValueError("second root node")
            stack.append(node)
        elif token == FDT_PROP:
            length, nameoff = u32(pos), u32(pos + 4)
            pos += 8
            if not stack or pos + length > s_end:
                raise ValueError("property outside a node or truncated")
            name, _ = cstr(strtab, nameoff, len(strtab))
            stack[-1][name] = bytes(blob[pos : pos + length])
            pos = (pos + length + 3) & ~3
        elif token == FDT_END_NODE:
            if not stack:
                raise ValueError("FDT_END_NODE without a node")
            stack.pop()
        elif token == FDT_END:
            if stack or root is None:
                raise ValueError("FDT_END inside a node or before the root")
            return root
        elif token != FDT_NOP:
            raise ValueError(f"bad structure token {token:#x}")


def u32s(value: bytes) -> list[int]:
    """Decode a <u32 ...> property value."""
    return list(struct.unpack(f">{len(value) // 4}I", value[: len(value) // 4 * 4]))


def strings(value: bytes) -> list[str]:
    """Decode a string or stringlist property value."""
    return value.decode().split("\0")[:-1]


# ---- the virt board ------------------------------------------------------------------------
# Addresses and IRQs of the virt board (csrc/abi.h; QEMU hw/riscv/virt.c virt_memmap[]);
# window sizes come from the device models that decode them.
FINISHER_BASE, FINISHER_SIZE = 0x0010_0000, Finisher.SIZE
CLINT_BASE, CLINT_SIZE = 0x0200_0000, 0x10000
PLIC_BASE, PLIC_SIZE, PLIC_NSOURCES = 0x0C00_0000, PLIC.SIZE, 32
UART0_BASE, UART0_SIZE, UART0_IRQ, UART0_CLOCK_HZ = 0x1000_0000, UART16550.SIZE, 10, 3_686_400
VIRTIO0_BASE, VIRTIO_STRIDE, VIRTIO0_IRQ, VIRTIO_SLOTS = 0x1000_1000, 0x1000, 1, 8
# mip bit numbers that the interrupts-extended specifiers name (privileged spec, mip/mie).
IRQ_M_SOFT, IRQ_M_TIMER, IRQ_S_EXT, IRQ_M_EXT = 3, 7, 9, 11


def virt_dtb(
    mem_base: int,
    mem_size: int,
    n_harts: int,
    bootargs: str,
    virtio_slots: int,
    timebase_hz: int = 10_000_000,
    reservations: Sequence[tuple[int, int]] = (),
) -> bytes:
    """The DTB for a virt board with this RAM, hart count and number of virtio-mmio slots."""
    if n_harts < 1 or not 0 <= virtio_slots <= VIRTIO_SLOTS or mem_size <= 0:
        raise ValueError("virt_dtb: need n_harts >= 1, 0 <= virtio_slots <= 8, mem_size > 0")
    phandles = iter(range(1, 1 << 16))
    root = Node("").prop("#address-cells", 2).prop("#size-cells", 2)
    root.prop("compatible", "riscv-virtio").prop("model", "riscv-virtio,pyhv")
    root.child("chosen").prop("bootargs", bootargs).prop("stdout-path", f"/soc/serial@{UART0_BASE:x}")
    mem = root.child(f"memory@{mem_base:x}").prop("device_type", "memory")
    mem.prop("reg", cells(mem_base, 2) + cells(mem_size, 2))

    cpus = root.child("cpus").prop("#address-cells", 1).prop("#size-cells", 0)
    cpus.prop("timebase-frequency", timebase_hz)
    intc = []  # phandle of each hart's local interrupt controller (its mip bits)
    for hart in range(n_harts):
        cpu = cpus.child(f"cpu@{hart}").prop("device_type", "cpu").prop("reg", hart).prop("status", "okay")
        cpu.prop("compatible", "riscv").prop("riscv,isa", "rv32ima").prop("mmu-type", "riscv,sv32")
        intc.append(next(phandles))
        hlic = cpu.child("interrupt-controller").prop("#address-cells", 0).prop("#interrupt-cells", 1)
        hlic.prop("interrupt-controller").prop("compatible", "riscv,cpu-intc").prop("phandle", intc[-1])

    soc = root.child("soc").prop("#address-cells", 2).prop("#size-cells", 2)
    soc.prop("compatible", "simple-bus").prop("ranges")

    def reg(base: int, size: int) -> list[int]:
        return cells(base, 2) + cells(size, 2)

    test = next(phandles)
    finisher = soc.child(f"test@{FINISHER_BASE:x}").prop("compatible", ["sifive,test1", "sifive,test0", "syscon"])
    finisher.prop("reg", reg(FINISHER_BASE, FINISHER_SIZE)).prop("phandle", test)
    clint = soc.child(f"clint@{CLINT_BASE:x}").prop("compatible", ["sifive,clint0", "riscv,clint0"])
    clint.prop("reg", reg(CLINT_BASE, CLINT_SIZE))
    clint.prop("interrupts-extended", [x for p in intc for x in (p, IRQ_M_SOFT, p, IRQ_M_TIMER)])
    plic_phandle = next(phandles)
    plic = soc.child(f"plic@{PLIC_BASE:x}").prop("compatible", ["sifive,plic-1.0.0", "riscv,plic0"])
    plic.prop("reg", reg(PLIC_BASE, PLIC_SIZE)).prop("#address-cells", 0).prop("#interrupt-cells", 1)
    plic.prop("interrupt-controller").prop("riscv,ndev", PLIC_NSOURCES - 1)
    # One M-mode then one S-mode context per hart: PLIC context 2h / 2h+1 (pyhv/devices/plic.py).
    plic.prop("interrupts-extended", [x for p in intc for x in (p, IRQ_M_EXT, p, IRQ_S_EXT)])
    plic.prop("phandle", plic_phandle)
    uart = soc.child(f"serial@{UART0_BASE:x}").prop("compatible", "ns16550a").prop("reg", reg(UART0_BASE, UART0_SIZE))
    uart.prop("clock-frequency", UART0_CLOCK_HZ).prop("interrupt-parent", plic_phandle).prop("interrupts", UART0_IRQ)
    for n in range(virtio_slots):
        base = VIRTIO0_BASE + n * VIRTIO_STRIDE
        vio = soc.child(f"virtio_mmio@{base:x}").prop("compatible", "virtio,mmio").prop("reg", reg(base, VIRTIO_STRIDE))
        vio.prop("interrupt-parent", plic_phandle).prop("interrupts", VIRTIO0_IRQ + n)

    # Generic syscon drivers let Linux power off and reboot through the finisher.
    for name, value in (("poweroff", FINISHER_PASS), ("reboot", FINISHER_RESET)):
        node = root.child(name).prop("compatible", f"syscon-{name}").prop("regmap", test)
        node.prop("offset", 0).prop("value", value)
    return dtb(root, reservations=reservations)
