"""tinyfs: the tinyos file system, built and read on the host.

`build` is mkfs (a directory tree -> a file-system blob for the boot image's
fs area), `entries`/`extract`/`Reader` read a blob or a whole boot image back,
replaying a committed log first exactly as the kernel does at mount, and `fsck`
checks one (`pyhv fs check`).  The kernel side is guests/tinyos/kernel/fs.h
(same table), bio.c, log.c and fs.c.

On-disk format.  Little-endian; block size BSIZE = 1024 bytes (2 disk sectors);
block numbers count from the start of the file-system area (the boot header's
fs_offset, the kernel's disk_fs_sector()); block 0 is never a data block, so an
address of 0 means "no block".

    block                    contents
    0                        superblock: 8 x u32 magic, size, nblocks, ninodes,
                             nlog, logstart, inodestart, bmapstart (rest zero)
    logstart (= 1)           log header, the commit record: u32 n, u32 block[LOGSIZE];
                             all of it in the block's first sector, so a torn
                             2-sector write cannot tear it.  n = 0: nothing to replay
    logstart+1 .. +nlog-1    log data: copy i belongs at block[i]
    inodestart ..            inodes, IPB = 16 a block, 64 bytes each:
                             i16 type, major, minor, nlink; u32 size;
                             u32 addrs[NDIRECT] direct + 1 indirect (NINDIRECT u32)
                             inode 0 unused, ROOTINO = 1 (type 0: free)
    bmapstart ..             free bitmap: bit (b % 8) of byte b / 8 is block b, 1 = in use
    bmapstart+nbmap .. size-1  data: file and directory contents, indirect blocks

A directory is a file of struct dirent records (u16 inum, char name[DIRSIZ],
30 bytes, NUL-padded; inum 0 = free slot), starting with "." and "..".  nlink
counts names: a file's directory entries; for a directory its entry in the
parent (the root: itself) plus the ".." of each subdirectory ("." not counted).

The log is a redo log: a transaction writes copies of its blocks into the log
data area, then the header with n > 0 (the commit point), then the blocks in
place, then the header with n = 0.  Whoever mounts a file system with n > 0
copies the log data into place first, so any prefix of that sequence of writes
leaves either the old or the new state of every transaction.
"""

from __future__ import annotations

import stat as _stat
import struct
from dataclasses import dataclass
from pathlib import Path

from pyhv.errors import ImageError

BSIZE = 1024
FSMAGIC = 0x53465954  # "TYFS" in little-endian bytes
NDIRECT = 12
NINDIRECT = BSIZE // 4
MAXFILE = NDIRECT + NINDIRECT  # blocks: 268 KiB
LOGSIZE = 30  # blocks one transaction may log (guests/tinyos/kernel/fs.h)
NLOG = LOGSIZE + 1  # header + copies
ROOTINO = 1
DIRSIZ = 28  # guests/tinyos/include/uabi.h
T_DIR, T_FILE, T_DEVICE = 1, 2, 3
TYPE_NAMES = {T_DIR: "dir", T_FILE: "file", T_DEVICE: "dev"}

SUPER = struct.Struct("<8I")
DINODE = struct.Struct(f"<4hI{NDIRECT + 1}I")  # 64 bytes
DIRENT = struct.Struct(f"<H{DIRSIZ}s")  # 30 bytes
IPB = BSIZE // DINODE.size
BPB = BSIZE * 8
MAXOPBLOCKS = 10  # guests/tinyos/kernel/fs.h: blocks one system call may log
MAXBMAP = MAXOPBLOCKS - 3  # bitmap blocks the kernel mounts (fs.h): 56 MiB at most
MAX_SIZE_BLOCKS = MAXBMAP * BPB
MAXINODES = 0x10000  # a dirent's inum is 16 bits

DEFAULT_SIZE_BLOCKS = 8192  # 8 MiB
DEFAULT_NINODES = 256


@dataclass(frozen=True)
class Device:
    """A device node in build()'s `files` (T_DEVICE; major as uabi.h numbers it)."""

    major: int
    minor: int = 0


@dataclass(frozen=True)
class Superblock:
    magic: int
    size: int  # blocks in the file system
    nblocks: int  # data blocks
    ninodes: int
    nlog: int  # log blocks, header included
    logstart: int
    inodestart: int
    bmapstart: int

    @property
    def datastart(self) -> int:
        return self.bmapstart + (self.size + BPB - 1) // BPB

    @classmethod
    def layout(cls, size_blocks: int, ninodes: int) -> Superblock:
        logstart = 1
        inodestart = logstart + NLOG
        bmapstart = inodestart + (ninodes + IPB - 1) // IPB
        sb = cls(FSMAGIC, size_blocks, 0, ninodes, NLOG, logstart, inodestart, bmapstart)
        return cls(FSMAGIC, size_blocks, size_blocks - sb.datastart, ninodes, NLOG, logstart, inodestart, bmapstart)

    def pack(self) -> bytes:
        fields = (self.magic, self.size, self.nblocks, self.ninodes, self.nlog, self.logstart, self.inodestart,
                  self.bmapstart)  # fmt: skip
        return SUPER.pack(*fields).ljust(BSIZE, b"\0")

    def check(self, blob_blocks: int, source: str) -> None:
        """The same sanity checks as the kernel's fsinit() (fs.c sb_problem)."""
        if self.magic != FSMAGIC:
            raise ImageError(f"{source}: no tinyfs file system (bad magic 0x{self.magic:08x})")
        if self.size > blob_blocks:
            raise ImageError(f"{source}: corrupt tinyfs superblock: {self.size} blocks, the area holds {blob_blocks}")
        if (self.size + BPB - 1) // BPB > MAXBMAP:
            raise ImageError(f"{source}: a tinyfs of {self.size} blocks is larger than tinyos mounts "
                             f"({MAX_SIZE_BLOCKS})")  # fmt: skip
        ok = (
            self.logstart == 1
            and 2 <= self.nlog <= NLOG
            and self.inodestart == self.logstart + self.nlog
            and 2 <= self.ninodes <= MAXINODES
            and self.bmapstart == self.inodestart + (self.ninodes + IPB - 1) // IPB
            and self.datastart < self.size <= blob_blocks
            and self.nblocks == self.size - self.datastart
        )
        if not ok:
            raise ImageError(f"{source}: corrupt tinyfs superblock {self}")


@dataclass(frozen=True)
class Entry:
    """One name in the tree, as `pyhv fs ls` prints it."""

    path: str
    inum: int
    type: int
    nlink: int
    size: int
    major: int = 0
    minor: int = 0

    def __str__(self) -> str:
        kind = TYPE_NAMES.get(self.type, f"type{self.type}")
        size = f"{self.major},{self.minor}" if self.type == T_DEVICE else str(self.size)
        return f"{kind:4} {self.inum:5} {self.nlink:3} {size:>8} {self.path}"


def _name_bytes(name: str, path: str) -> bytes:
    raw = name.encode()
    if name in ("", ".", "..") or b"\0" in raw:
        raise ImageError(f"{path}: invalid file name {name!r}")
    if len(raw) > DIRSIZ:
        raise ImageError(f"{path}: name {name!r} is {len(raw)} bytes, longer than DIRSIZ ({DIRSIZ})")
    return raw


def build(files: dict[str, bytes | None], size_blocks: int = DEFAULT_SIZE_BLOCKS,
          ninodes: int = DEFAULT_NINODES) -> bytes:  # fmt: skip
    """A tinyfs blob of size_blocks blocks holding `files`.

    Keys are absolute or relative paths ("/bin/sh", "etc/motd"); a value of None
    is a directory, bytes a regular file, a Device a device node.  Parent
    directories are made as needed.
    The result depends only on the arguments: inodes and blocks are handed out in
    sorted path order and the format has no timestamps.
    """
    sb = Superblock.layout(size_blocks, ninodes)
    if size_blocks > MAX_SIZE_BLOCKS:
        raise ImageError(f"a file system of {size_blocks * BSIZE // 1024} KiB is larger than tinyos mounts "
                         f"({MAX_SIZE_BLOCKS * BSIZE // 1024} KiB)")  # fmt: skip
    if sb.nblocks < 1:
        raise ImageError(f"a file system of {size_blocks} blocks is too small (metadata needs {sb.datastart + 1})")
    if ninodes > 0xFFFF:
        raise ImageError(f"{ninodes} inodes do not fit a 16-bit dirent inum")

    # The tree: path tuple -> bytes (file) or dict (directory: name -> child key).
    dirs: dict[tuple, dict[bytes, tuple]] = {(): {}}
    contents: dict[tuple, bytes | Device] = {}
    for path in sorted(files, key=lambda p: p.strip("/").split("/")):
        parts = tuple(p for p in path.split("/") if p)
        data = files[path]
        if not parts:
            if data is not None:
                raise ImageError("/: the root must be a directory")
            continue
        for i in range(len(parts)):
            key, parent = parts[: i + 1], parts[:i]
            name = _name_bytes(parts[i], "/" + "/".join(key))
            is_dir = i < len(parts) - 1 or data is None
            if key in contents or (key in dirs and not is_dir):
                raise ImageError(f"/{'/'.join(key)}: both a file and a directory")
            if is_dir:
                dirs.setdefault(key, {})
            elif isinstance(data, Device):
                contents[key] = data
            else:
                if len(data) > MAXFILE * BSIZE:
                    raise ImageError(f"/{'/'.join(key)}: {len(data)} bytes, larger than the maximum file size "
                                     f"({MAXFILE * BSIZE})")  # fmt: skip
                contents[key] = bytes(data)
            dirs[parent][name] = key

    # Inode numbers in pre-order over sorted names, root first.
    inums: dict[tuple, int] = {}
    order: list[tuple] = []

    def number(key: tuple) -> None:
        inums[key] = len(order) + ROOTINO
        order.append(key)
        for name in sorted(dirs.get(key, {})):
            number(dirs[key][name])

    number(())
    if len(order) + ROOTINO > ninodes:
        raise ImageError(f"the tree has {len(order)} files and directories, the file system {ninodes - ROOTINO} inodes")

    img = bytearray(size_blocks * BSIZE)
    next_block = sb.datastart

    def alloc() -> int:
        nonlocal next_block
        if next_block >= size_blocks:
            raise ImageError(f"the tree does not fit in a {size_blocks * BSIZE // 1024} KiB file system "
                             f"({sb.nblocks} data blocks)")  # fmt: skip
        next_block += 1
        return next_block - 1

    for key in order:
        if key in dirs:
            parent = inums[key[:-1]] if key else ROOTINO
            ents = [(b".", inums[key]), (b"..", parent)]
            ents += [(name, inums[dirs[key][name]]) for name in sorted(dirs[key])]
            data = b"".join(DIRENT.pack(inum, name) for name, inum in ents)
            kind, nlink = T_DIR, 1 + sum(1 for child in dirs[key].values() if child in dirs)
        elif isinstance(contents[key], Device):
            data, kind, nlink = b"", T_DEVICE, 1
        else:
            data, kind, nlink = contents[key], T_FILE, 1
        if len(data) > MAXFILE * BSIZE:
            raise ImageError(f"/{'/'.join(key)}: directory too large ({len(data)} bytes)")
        addrs = [0] * (NDIRECT + 1)
        nblk = (len(data) + BSIZE - 1) // BSIZE
        indirect = []
        for bn in range(nblk):
            b = alloc()
            if bn < NDIRECT:
                addrs[bn] = b
            else:
                if bn == NDIRECT:
                    addrs[NDIRECT] = alloc()
                indirect.append(b)
            img[b * BSIZE : b * BSIZE + min(BSIZE, len(data) - bn * BSIZE)] = data[bn * BSIZE : (bn + 1) * BSIZE]
        if indirect:
            at = addrs[NDIRECT] * BSIZE
            img[at : at + 4 * len(indirect)] = struct.pack(f"<{len(indirect)}I", *indirect)
        inum = inums[key]
        dev = contents.get(key)
        major, minor = (dev.major, dev.minor) if isinstance(dev, Device) else (0, 0)
        DINODE.pack_into(img, sb.inodestart * BSIZE + inum * DINODE.size, kind, major, minor, nlink, len(data),
                         *addrs)  # fmt: skip

    img[0:BSIZE] = sb.pack()
    for b in range(next_block):  # metadata and every data block handed out
        img[sb.bmapstart * BSIZE + b // 8] |= 1 << (b % 8)
    return bytes(img)


def from_directory(root, extra: dict[str, bytes | None] | None = None) -> dict[str, bytes | None]:
    """The `files` argument of build() for a host directory tree (plus `extra`).

    Only names, directories and file bytes are taken: no owners, modes or times.
    Symbolic links are followed; anything that is neither a file nor a directory
    is refused."""
    root = Path(root)
    if not root.is_dir():
        raise ImageError(f"{root}: not a directory")
    files: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        rel = "/" + path.relative_to(root).as_posix()
        try:
            mode = path.stat().st_mode
            if _stat.S_ISDIR(mode):
                files[rel] = None
            elif _stat.S_ISREG(mode):
                files[rel] = path.read_bytes()
            else:
                raise ImageError(f"{path}: neither a file nor a directory")
        except OSError as e:
            raise ImageError(f"cannot read {path}: {e.strerror}") from None
    files.update(extra or {})
    return files


def fs_blob(image_or_blob: bytes, source: str = "image") -> bytes:
    """The file-system area of a boot image (or the blob itself if it is one)."""
    from pyhv.image import SECTOR, BootHeader

    data = bytes(image_or_blob)
    if len(data) >= SECTOR and data[:8] == b"PYHVBOOT":
        h = BootHeader.unpack(data[:SECTOR], source)
        if h.fs_size == 0:
            raise ImageError(f"{source}: the image has no file system")
        if h.fs_offset + h.fs_size > len(data):
            raise ImageError(f"{source}: the file system runs past the end of the image")
        return data[h.fs_offset : h.fs_offset + h.fs_size]
    return data


class Reader:
    """A read-only view of a tinyfs blob (or a boot image holding one), with any
    committed log transaction applied, as the kernel would see it after mount."""

    def __init__(self, image_or_blob: bytes, source: str = "image"):
        blob = bytearray(fs_blob(image_or_blob, source))
        self.source = source
        if len(blob) < 2 * BSIZE:
            raise ImageError(f"{source}: too small for a tinyfs file system ({len(blob)} bytes)")
        self.sb = Superblock(*SUPER.unpack_from(blob, 0))
        self.sb.check(len(blob) // BSIZE, source)
        self.replayed = self._replay(blob)
        self.img = bytes(blob)
        problem = self.inode_problem(ROOTINO)
        if problem is None and self.inode(ROOTINO)[0] != T_DIR:
            problem = f"not a directory, type {self.inode(ROOTINO)[0]}"
        if problem is not None:
            raise ImageError(f"{source}: root inode {problem}")

    def inode_problem(self, inum: int) -> str | None:
        """Why the kernel's ilock() refuses this inode (fs.c dinode_problem), or None."""
        t, _, _, nlink, size, addrs = self.inode(inum)
        if t not in TYPE_NAMES:
            return f"free or of an impossible type, type {t}"
        if nlink < 1:
            return f"no links, nlink {nlink}"
        if size > MAXFILE * BSIZE:
            return f"size larger than the maximum file size, {size}"
        for b in addrs:
            if b and not self.sb.datastart <= b < self.sb.size:
                return f"block number outside the data area, {b}"
        return None

    def _replay(self, blob: bytearray) -> int:
        """Install a committed transaction (kernel: log.c recover_from_log); returns its size."""
        at = self.sb.logstart * BSIZE
        (n,) = struct.unpack_from("<I", blob, at)
        if n == 0:
            return 0
        if n > self.sb.nlog - 1:
            raise ImageError(f"{self.source}: corrupt log header ({n} blocks)")
        targets = struct.unpack_from(f"<{n}I", blob, at + 4)
        for i, b in enumerate(targets):
            if not self.sb.logstart + self.sb.nlog <= b < self.sb.size:
                raise ImageError(f"{self.source}: log header names block {b}, outside the file system")
            src = (self.sb.logstart + 1 + i) * BSIZE
            blob[b * BSIZE : (b + 1) * BSIZE] = blob[src : src + BSIZE]
        return n

    def block(self, b: int) -> bytes:
        if not 0 < b < self.sb.size:
            raise ImageError(f"{self.source}: block number {b} out of range")
        return self.img[b * BSIZE : (b + 1) * BSIZE]

    def inode(self, inum: int) -> tuple:
        """(type, major, minor, nlink, size, addrs)"""
        if not 0 < inum < self.sb.ninodes:
            raise ImageError(f"{self.source}: inode number {inum} out of range")
        t, major, minor, nlink, size, *addrs = DINODE.unpack_from(
            self.img, self.sb.inodestart * BSIZE + inum * DINODE.size
        )
        return t, major, minor, nlink, size, addrs

    def read(self, inum: int) -> bytes:
        _, _, _, _, size, addrs = self.inode(inum)
        if size > MAXFILE * BSIZE:
            raise ImageError(f"{self.source}: inode {inum} has impossible size {size}")
        nblk = (size + BSIZE - 1) // BSIZE
        table = addrs[:NDIRECT]
        if nblk > NDIRECT:
            table += struct.unpack("<256I", self.block(addrs[NDIRECT]))
        out = b"".join(self.block(b) if b else bytes(BSIZE) for b in table[:nblk])
        return out[:size]

    def dirents(self, inum: int) -> list[tuple[str, int]]:
        data = self.read(inum)
        out = []
        for off in range(0, len(data) - DIRENT.size + 1, DIRENT.size):
            child, raw = DIRENT.unpack_from(data, off)
            if child:
                out.append((raw.rstrip(b"\0").decode(errors="replace"), child))
        return out

    def lookup(self, path: str) -> int:
        inum = ROOTINO
        walked = ""
        for name in (p for p in path.split("/") if p):
            walked += "/" + name
            if self.inode(inum)[0] != T_DIR:
                raise ImageError(f"{self.source}:{walked}: not a directory on the way")
            found = dict(self.dirents(inum)).get(name)
            if found is None:
                raise ImageError(f"{self.source}:{walked}: no such file or directory")
            inum = found
        return inum

    def entry(self, path: str, inum: int) -> Entry:
        t, major, minor, nlink, size, _ = self.inode(inum)
        return Entry(path, inum, t, nlink, size, major, minor)

    def listdir(self, path: str = "/") -> list[Entry]:
        """The entries of the directory at `path` (without . and ..), or the file itself."""
        inum = self.lookup(path)
        if self.inode(inum)[0] != T_DIR:
            return [self.entry(path, inum)]
        base = path.rstrip("/")
        return [self.entry(f"{base}/{name}", child) for name, child in self.dirents(inum) if name not in (".", "..")]

    def walk(self, path: str = "/", _seen: set[int] | None = None) -> list[Entry]:
        """Every entry under `path`, depth first, in directory order (a directory
        a corrupt disk names twice is walked once)."""
        seen = _seen if _seen is not None else {self.lookup(path)}
        out = []
        for e in self.listdir(path):
            out.append(e)
            if e.type == T_DIR and e.path != path and e.inum not in seen:
                seen.add(e.inum)
                out += self.walk(e.path, seen)
        return out

    def check(self) -> list[str]:
        """Consistency problems, as an fsck would report them (empty: consistent).

        The kernel's own checks (fs.c: dinode_problem, bmap) and more: every
        reachable inode of a known type and possible size; every block number in
        the data area, used once and marked in the bitmap, none missing inside the
        file (the kernel gives an I/O error there) and none past its end; no other
        block marked; link counts as fs.h defines them; no allocated inode
        unreachable; "." and ".." right.  Whatever the blocks hold, this returns."""
        sb = self.sb
        problems: list[str] = []
        owner: dict[int, int] = {}
        links: dict[int, int] = {ROOTINO: 1}
        seen: set[int] = set()

        def in_data(b: int) -> bool:
            return sb.datastart <= b < sb.size

        def claim(b: int, inum: int, path: str) -> None:
            if b in owner:
                problems.append(f"{path}: block {b} also used by inode {owner[b]}")
            else:
                owner[b] = inum

        stack = [(ROOTINO, ROOTINO, "/")]
        while stack:
            inum, parent, path = stack.pop()
            if inum in seen:
                problems.append(f"{path}: directory inode {inum} reached twice")
                continue
            seen.add(inum)  # only directories can come back (a loop): files are pushed once
            problem = self.inode_problem(inum)
            if problem is not None:
                problems.append(f"{path}: inode {inum} is corrupt: {problem}")
                continue
            t, _, _, _, size, addrs = self.inode(inum)
            nblk = (size + BSIZE - 1) // BSIZE
            table = list(addrs[:NDIRECT])
            if addrs[NDIRECT]:
                claim(addrs[NDIRECT], inum, path)
                table += struct.unpack(f"<{NINDIRECT}I", self.block(addrs[NDIRECT]))
                if nblk <= NDIRECT:
                    problems.append(f"{path}: an indirect block past the end of the file")
            else:
                table += [0] * NINDIRECT
            readable = True
            for bn, b in enumerate(table):
                if b and not in_data(b):
                    problems.append(f"{path}: indirect block names block {b} outside the data area")
                    readable = False
                elif bn < nblk and not b:
                    problems.append(f"{path}: no disk block for file block {bn} (reads give an I/O error)")
                    readable = False
                elif b:
                    if bn >= nblk:
                        problems.append(f"{path}: block {b} past the end of the file")
                    claim(b, inum, path)
            if t != T_DIR or not readable:
                continue
            names = self.dirents(inum)
            if names[:2] != [(".", inum), ("..", parent)]:
                problems.append(f"{path}: bad . or .. entries {names[:2]}")
            for name, child in names[2:]:
                if not 0 < child < sb.ninodes:
                    problems.append(f"{path}{name}: inode number {child} out of range")
                    continue
                links[child] = links.get(child, 0) + 1
                if self.inode(child)[0] == T_DIR:
                    links[inum] = links.get(inum, 0) + 1  # the child's ".."
                    stack.append((child, inum, f"{path}{name}/"))
                elif links[child] == 1:  # a file: its blocks once, however many names
                    stack.append((child, inum, f"{path}{name}"))
        for inum in range(1, sb.ninodes):
            t, _, _, nlink, _, _ = self.inode(inum)
            if t and inum not in links:
                problems.append(f"inode {inum} (type {t}) allocated but unreachable")
            elif t and nlink != links[inum]:
                problems.append(f"inode {inum}: nlink {nlink}, {links[inum]} names")
        bitmap = self.img[sb.bmapstart * BSIZE : sb.datastart * BSIZE]
        wrong: list[tuple[int, bool]] = []  # (block, used in the bitmap), runs merged below
        for b in range(sb.size):
            used = bool(bitmap[b // 8] >> (b % 8) & 1)
            if used != (b < sb.datastart or b in owner):
                wrong.append((b, used))
        i = 0
        while i < len(wrong):
            j = i
            while j + 1 < len(wrong) and wrong[j + 1] == (wrong[j][0] + 1, wrong[i][1]):
                j += 1
            first, used = wrong[i]
            blocks = f"block {first}" if i == j else f"blocks {first}-{wrong[j][0]}"
            problems.append(f"{blocks}: bitmap says {'used' if used else 'free'}")
            i = j + 1
        return problems


def fsck(image_or_blob: bytes, source: str = "image") -> tuple[list[str], Reader | None]:
    """`pyhv fs check`: the problems of a blob or a boot image's file system, and the
    Reader (None when tinyos would refuse to mount it: the one problem says why).
    Raises ImageError when there is no tinyfs to check at all (no area, no magic)."""
    blob = fs_blob(image_or_blob, source)
    if len(blob) < SUPER.size or SUPER.unpack_from(blob)[0] != FSMAGIC:
        raise ImageError(f"{source}: no tinyfs file system (bad magic)")
    try:
        reader = Reader(blob, source)
    except ImageError as e:
        return [f"{e}: tinyos refuses to mount it"], None
    return reader.check(), reader


def entries(image_or_blob: bytes, path: str = "/", recursive: bool = True) -> list[Entry]:
    """The entries under `path` of a tinyfs blob or a boot image."""
    r = Reader(image_or_blob)
    return r.walk(path) if recursive else r.listdir(path)


def extract(image_or_blob: bytes, path: str) -> bytes:
    """The contents of the regular file (or device-less file) at `path`."""
    r = Reader(image_or_blob)
    inum = r.lookup(path)
    if r.inode(inum)[0] == T_DIR:
        raise ImageError(f"{path}: is a directory")
    return r.read(inum)


def extract_tree(image_or_blob: bytes, dest) -> list[Path]:
    """Copy every directory and regular file into the host directory `dest`."""
    r = Reader(image_or_blob)
    dest = Path(dest)
    written = []
    for e in r.walk("/"):
        target = dest / e.path.lstrip("/")
        if e.type == T_DIR:
            target.mkdir(parents=True, exist_ok=True)
        elif e.type == T_FILE:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(r.read(e.inum))
        written.append(target)
    return written
