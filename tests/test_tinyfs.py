"""tinyfs (pyhv/tinyfs.py, guests/tinyos/kernel/fs.h): mkfs round trips, the
limits it refuses, log replay on the host, `pyhv mkimage --root` and `pyhv fs`,
and (marker `toolchain`) the kernel's own file-system code run on the host by
tests/fsharness/, including power failing at every disk write."""

import platform
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyhv import image, tinyfs
from pyhv.errors import ImageError

ROOT = Path(__file__).resolve().parent.parent
SMALL = 1024  # blocks: a 1 MiB file system keeps tests fast


def pattern(n: int, seed: int) -> bytes:
    """What the harness's "#N:S" data stands for (tests/fsharness/host.c)."""
    return bytes((i * seed + i // 7) & 0xFF for i in range(n))


def tree(r: tinyfs.Reader) -> dict:
    """path -> (type, nlink, contents or None): the whole visible state."""
    return {e.path: (e.type, e.nlink, r.read(e.inum) if e.type == tinyfs.T_FILE else None) for e in r.walk("/")}


# ---- mkfs and reading back ---------------------------------------------------------


def test_round_trip_with_nested_directories():
    files = {
        "/etc/motd": b"hello\n",
        "etc/hostname": b"tinyos\n",
        "/a/b/c/deep": b"deep file",
        "/empty": b"",
        "/dev": None,
        "/a/b/sibling": None,
    }
    blob = tinyfs.build(files, size_blocks=SMALL)
    assert len(blob) == SMALL * tinyfs.BSIZE
    r = tinyfs.Reader(blob)
    assert r.check() == []
    paths = [e.path for e in tinyfs.entries(blob)]
    assert paths == sorted(paths) == ["/a", "/a/b", "/a/b/c", "/a/b/c/deep", "/a/b/sibling", "/dev", "/empty",
                                      "/etc", "/etc/hostname", "/etc/motd"]  # fmt: skip
    assert tinyfs.extract(blob, "/etc/hostname") == b"tinyos\n"
    assert tinyfs.extract(blob, "a/b/c/deep") == b"deep file"
    assert tinyfs.extract(blob, "/empty") == b""
    root = {e.path: e for e in tinyfs.entries(blob, "/", recursive=False)}
    assert set(root) == {"/a", "/dev", "/empty", "/etc"}
    assert root["/a"].type == tinyfs.T_DIR and root["/a"].nlink == 2  # its name + b's ".."
    assert r.dirents(tinyfs.ROOTINO)[:2] == [(".", 1), ("..", 1)]
    with pytest.raises(ImageError, match="is a directory"):
        tinyfs.extract(blob, "/a")
    with pytest.raises(ImageError, match="no such file"):
        tinyfs.extract(blob, "/a/nope")
    with pytest.raises(ImageError, match="not a directory"):
        tinyfs.extract(blob, "/empty/x")


def test_big_files_go_through_the_indirect_block():
    biggest = pattern(tinyfs.MAXFILE * tinyfs.BSIZE, 7)
    files = {"/max": biggest, "/just-indirect": pattern(tinyfs.NDIRECT * tinyfs.BSIZE + 1, 3), "/small": b"s"}
    blob = tinyfs.build(files, size_blocks=SMALL)
    r = tinyfs.Reader(blob)
    assert r.check() == []
    for path, data in files.items():
        assert tinyfs.extract(blob, path) == data
    *_, addrs = r.inode(r.lookup("/just-indirect"))
    assert addrs[tinyfs.NDIRECT] != 0
    with pytest.raises(ImageError, match="larger than the maximum file size"):
        tinyfs.build({"/huge": bytes(tinyfs.MAXFILE * tinyfs.BSIZE + 1)}, size_blocks=SMALL)


def test_build_is_deterministic_and_order_independent(tmp_path):
    files = {f"/d{i % 3}/f{i}": pattern(100 * i, i) for i in range(20)}
    a = tinyfs.build(files, size_blocks=SMALL)
    b = tinyfs.build(dict(reversed(list(files.items()))), size_blocks=SMALL)
    assert a == b
    for path, data in files.items():
        (tmp_path / path.lstrip("/")).parent.mkdir(exist_ok=True)
        (tmp_path / path.lstrip("/")).write_bytes(data)
    assert tinyfs.build(tinyfs.from_directory(tmp_path), size_blocks=SMALL) == a


@pytest.mark.parametrize(
    "files,kwargs,message",
    [
        ({"/" + "n" * 29: b""}, {}, "longer than DIRSIZ"),
        ({"/d/" + "é" * 15: b""}, {}, "longer than DIRSIZ"),  # 30 bytes in UTF-8
        ({"/big": bytes(200 * 1024)}, {"size_blocks": 100}, "does not fit"),
        ({f"/f{i}": b"" for i in range(20)}, {"ninodes": 16}, "16 files and directories|inodes"),
        ({"/x": b"file", "/x/y": b"under a file"}, {}, "both a file and a directory"),
        ({"/ok": b""}, {"size_blocks": 40}, "too small"),
        ({"/": b"root file"}, {}, "root must be a directory"),
    ],
)
def test_inputs_that_do_not_fit_are_refused(files, kwargs, message):
    kwargs.setdefault("size_blocks", SMALL)
    with pytest.raises(ImageError, match=message):
        tinyfs.build(files, **kwargs)


def test_a_name_of_exactly_dirsiz_bytes_fits():
    name = "n" * tinyfs.DIRSIZ
    blob = tinyfs.build({f"/{name}": b"full name"}, size_blocks=SMALL)
    assert tinyfs.extract(blob, f"/{name}") == b"full name"


def test_unmountable_blobs_are_refused_clearly():
    blob = bytearray(tinyfs.build({"/f": b"x"}, size_blocks=SMALL))
    with pytest.raises(ImageError, match="bad magic"):
        tinyfs.Reader(bytes(SMALL * tinyfs.BSIZE))
    bad = bytearray(blob)
    struct.pack_into("<I", bad, 4, SMALL * 2)  # size larger than the blob
    with pytest.raises(ImageError, match="corrupt tinyfs superblock"):
        tinyfs.Reader(bytes(bad))
    with pytest.raises(ImageError, match="too small"):
        tinyfs.Reader(b"\0" * 100)


# ---- the log, read on the host -----------------------------------------------------------


def _logged(blob: bytes, path: str, new: bytes, commit: bool) -> bytes:
    """blob with a transaction that rewrites path's first block sitting in the log:
    committed (header n = 1) or not (copy written, header still 0)."""
    r = tinyfs.Reader(blob)
    *_, addrs = r.inode(r.lookup(path))
    out = bytearray(blob)
    slot = (r.sb.logstart + 1) * tinyfs.BSIZE
    out[slot : slot + tinyfs.BSIZE] = new.ljust(tinyfs.BSIZE, b"\0")
    if commit:
        struct.pack_into("<II", out, r.sb.logstart * tinyfs.BSIZE, 1, addrs[0])
    return bytes(out)


def test_a_committed_log_is_replayed_when_reading():
    blob = tinyfs.build({"/etc/motd": b"old text"}, size_blocks=SMALL)
    r = tinyfs.Reader(_logged(blob, "/etc/motd", b"new text", commit=True))
    assert r.replayed == 1
    assert r.read(r.lookup("/etc/motd")) == b"new text"
    assert r.check() == []


def test_an_uncommitted_log_is_ignored():
    blob = tinyfs.build({"/etc/motd": b"old text"}, size_blocks=SMALL)
    r = tinyfs.Reader(_logged(blob, "/etc/motd", b"new text", commit=False))
    assert r.replayed == 0
    assert r.read(r.lookup("/etc/motd")) == b"old text"


def test_a_corrupt_log_header_is_refused():
    blob = bytearray(tinyfs.build({"/f": b"x"}, size_blocks=SMALL))
    struct.pack_into("<II", blob, tinyfs.BSIZE, 1, 0)  # would overwrite the superblock
    with pytest.raises(ImageError, match="outside the file system"):
        tinyfs.Reader(bytes(blob))
    struct.pack_into("<I", blob, tinyfs.BSIZE, tinyfs.LOGSIZE + 1)
    with pytest.raises(ImageError, match="corrupt log header"):
        tinyfs.Reader(bytes(blob))


def test_the_file_system_of_a_boot_image_is_found_through_its_header():
    blob = tinyfs.build({"/f": b"in an image"}, size_blocks=SMALL)
    disk = image.build(b"\x13\x00\x00\x00" * 100, fs=blob)
    assert tinyfs.extract(disk, "/f") == b"in an image"
    with pytest.raises(ImageError, match="no file system"):
        tinyfs.Reader(image.build(b"\x13\x00\x00\x00"))


# ---- the command line ------------------------------------------------------------------


def pyhv(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "pyhv", *args], capture_output=True, timeout=timeout, check=False)


def test_cli_mkimage_root_then_fs_ls_and_get(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "motd").write_bytes(b"welcome\n")
    (root / "bin").mkdir()
    (root / "bin" / "prog").write_bytes(pattern(40000, 5))
    kernel = tmp_path / "kernel.bin"
    kernel.write_bytes(b"\x13\x00\x00\x00" * 64)
    img = tmp_path / "disk.img"
    r = pyhv("mkimage", str(kernel), "-o", str(img), "--root", str(root), "--size-mib", "2")
    assert r.returncode == 0, r.stderr
    assert image.read_header(img).fs_size == 2 * 1024 * 1024

    r = pyhv("fs", "ls", str(img))
    assert r.returncode == 0 and r.stdout.decode().split() == [
        "dir", "2", "1", "90", "/bin", "dir", "4", "1", "90", "/etc",
    ]  # fmt: skip
    r = pyhv("fs", "ls", str(img), "/", "-R")
    assert [line.split()[-1] for line in r.stdout.decode().splitlines()] == ["/bin", "/bin/prog", "/etc", "/etc/motd"]
    assert pyhv("fs", "get", str(img), "/etc/motd").stdout == b"welcome\n"
    out = tmp_path / "prog"
    assert pyhv("fs", "get", str(img), "/bin/prog", "-o", str(out)).returncode == 0
    assert out.read_bytes() == pattern(40000, 5)


@pytest.mark.parametrize(
    "args,message",
    [
        (("fs", "get", "{img}", "/nope"), "no such file or directory"),
        (("fs", "get", "{img}", "/etc"), "is a directory"),
        (("fs", "ls", "{tmp}/missing.img"), "cannot read"),
        (("mkimage", "{kernel}", "-o", "{tmp}/x.img", "--root", "{tmp}/toobig", "--size-mib", "1"), "does not fit"),
        (("mkimage", "{kernel}", "-o", "{tmp}/x.img", "--root", "{tmp}/longname"), "longer than DIRSIZ"),
        (("mkimage", "{kernel}", "-o", "{tmp}/x.img", "--root", "{tmp}/nodir"), "not a directory"),
    ],
)
def test_cli_errors_are_one_line_and_status_1(tmp_path, args, message):
    kernel = tmp_path / "kernel.bin"
    kernel.write_bytes(b"\x13\x00\x00\x00" * 64)
    (tmp_path / "root" / "etc").mkdir(parents=True)
    img = tmp_path / "disk.img"
    img.write_bytes(image.build(kernel.read_bytes(), fs=tinyfs.build({"/etc/motd": b"m"}, size_blocks=SMALL)))
    (tmp_path / "toobig").mkdir()
    for i in range(5):
        (tmp_path / "toobig" / f"f{i}").write_bytes(bytes(250 * 1024))
    (tmp_path / "longname").mkdir()
    (tmp_path / "longname" / ("x" * 40)).write_bytes(b"")
    subst = {"img": img, "tmp": tmp_path, "kernel": kernel}
    r = pyhv(*(a.format(**subst) for a in args))
    assert r.returncode == 1
    lines = r.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines


# ---- the kernel's code, on the host (tests/fsharness/) -----------------------------------

KERNEL_FILES = ("bio", "log", "fs", "file", "pipe", "sysfile")
RENAMES = ("printf", "panic", "sleep", "exit", "fork", "wait", "kill", "memset", "memmove", "memcpy", "memcmp",
           "strlen", "strncmp", "strncpy")  # fmt: skip


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    """tests/fsharness/ + the kernel's file-system files, a 32-bit x86 Linux program."""
    from pyhv import toolchain

    if toolchain.installed_zig_version() != toolchain.ZIG_VERSION:
        pytest.skip("needs the pinned ziglang")
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "i686", "i386"):
        pytest.skip("the harness is built for x86 Linux")
    out = tmp_path_factory.mktemp("harness")
    kdir, inc = "guests/tinyos/kernel", "guests/tinyos/include"
    flags = ["-target", "x86-linux-musl", "-O1", "-Wall", "-Wextra", "-Werror", "-I", kdir, "-I", inc]
    kflags = [*flags, "-fno-builtin", *(f"-D{n}=k{n}" for n in RENAMES)]
    objs = []
    sources = [(f"{kdir}/{f}.c", kflags) for f in KERNEL_FILES]
    sources += [("tests/fsharness/glue.c", kflags), ("tests/fsharness/host.c", flags)]
    for src, fl in sources:
        obj = out / (Path(src).stem + ".o")
        cmd = [sys.executable, "-m", "ziglang", "cc", *fl, "-c", src, "-o", str(obj)]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        objs.append(str(obj))
    exe = out / "harness"
    cmd = [sys.executable, "-m", "ziglang", "cc", "-target", "x86-linux-musl", *objs, "-o", str(exe)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return exe


def run(harness, blob: Path, *ops, crash=None):
    args = [str(harness), str(blob)] + (["crash", str(crash)] if crash is not None else []) + ["boot", *ops]
    return subprocess.run(args, capture_output=True, timeout=60, check=False)


@pytest.mark.toolchain
def test_kernel_operations_agree_with_the_host_reader(harness, tmp_path):
    blob = tmp_path / "fs.img"
    blob.write_bytes(tinyfs.build({"/etc/motd": b"hello\n", "/dev": None}, size_blocks=SMALL))
    ops = ["cat", "/etc/motd", "write", "/f", "hi", "append", "/f", " there", "mkdir", "/d", "mkdir", "/d/e",
           "write", "/d/big", "#200000:13", "link", "/f", "/d/g", "rm", "/d", "write", "/d/e/x", "#5000:3",
           "write", "/tmp-file", "gone", "rm", "/tmp-file", "mknod", "/dev/console", "1", "0",
           "write", "/dev/console", "<console>", "stat", "/d/g", "pipe", "write", "/" + "n" * 29, "x",
           "write", "/nodir/x", "x", "mkdir", "/d", "rm", "/d/e/.."]  # fmt: skip
    r = run(harness, blob, *ops)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.decode().splitlines() == [
        "hello", "write /f 2", "append /f 6", "mkdir /d 0", "mkdir /d/e 0", "write /d/big 200000",
        "link /f /d/g 0", "rm /d -1", "write /d/e/x 5000", "write /tmp-file 4", "rm /tmp-file 0",
        "mknod /dev/console 0", "<console>write /dev/console 9", "stat /d/g 2 2 8",
        "pipe 0 16 496 2 16 through the pipe 496 0", "write /" + "n" * 29 + " -1", "write /nodir/x -1",
        "mkdir /d -1", "rm /d/e/.. -1",
    ]  # fmt: skip
    reader = tinyfs.Reader(blob.read_bytes())
    assert reader.replayed == 0 and reader.check() == []
    t = tree(reader)
    assert t["/f"] == (tinyfs.T_FILE, 2, b"hi there") and t["/d/g"] == t["/f"]
    assert t["/d/big"][2] == pattern(200000, 13) and t["/d/e/x"][2] == pattern(5000, 3)
    assert t["/d"][:2] == (tinyfs.T_DIR, 2) and "/tmp-file" not in t
    assert t["/dev/console"][0] == tinyfs.T_DEVICE

    # The next boot sees it all: read back through the kernel, then tear it down again.
    r = run(harness, blob, "cat", "/d/g", "rm", "/d/big", "rm", "/d/e/x", "rm", "/d/e", "rm", "/d/g", "rm", "/d",
            "rm", "/f", "ls", "/")  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines[0] == "hi thererm /d/big 0" and all(line.endswith(" 0") for line in lines[1:6])  # cat adds no newline
    assert [line.split()[0] for line in lines[6:]] == [".", "..", "dev", "etc"]
    reader = tinyfs.Reader(blob.read_bytes())
    assert reader.check() == []
    fresh = tinyfs.Reader(tinyfs.build({"/etc/motd": b"hello\n", "/dev": None}, size_blocks=SMALL))

    def used(rd):
        return sum(b.bit_count() for b in rd.img[rd.sb.bmapstart * tinyfs.BSIZE : rd.sb.datastart * tinyfs.BSIZE])

    assert used(reader) == used(fresh)  # every block freed


CRASH_OPS = ["write", "/f", "first", "mkdir", "/d", "write", "/d/g", "#3000:11", "link", "/d/g", "/h",
             "append", "/f", " second", "rm", "/d/g", "mkdir", "/d/e", "rm", "/f"]  # fmt: skip


@pytest.mark.toolchain
def test_power_failing_at_any_disk_write_leaves_old_or_new_state(harness, tmp_path):
    base = tinyfs.build({"/etc/motd": b"hello\n"}, size_blocks=SMALL)
    blob = tmp_path / "fs.img"
    # The states a crash may leave: after each prefix of the operations, and for a
    # write also between its open (create/truncate: one transaction) and its write
    # (another: the data are under WRITE_CHUNK), which writing "" reproduces.
    states = []
    for i, op in enumerate(CRASH_OPS + ["end"]):
        if op not in ("write", "mkdir", "link", "append", "rm", "end"):
            continue
        prefixes = [CRASH_OPS[:i]] + ([CRASH_OPS[:i] + [op, CRASH_OPS[i + 1], ""]] if op in ("write", "append") else [])
        for prefix in prefixes:
            blob.write_bytes(base)
            assert run(harness, blob, *prefix).returncode == 0
            states.append(tree(tinyfs.Reader(blob.read_bytes())))
    blob.write_bytes(base)
    r = run(harness, blob, *CRASH_OPS)
    total = int(r.stderr.decode().split("writes ")[-1])
    assert total > 30
    for n in range(total):
        blob.write_bytes(base)
        r = run(harness, blob, *CRASH_OPS, crash=n)
        assert r.returncode == 42, r.stdout + r.stderr
        reader = tinyfs.Reader(blob.read_bytes())  # the host mounts it ...
        assert reader.check() == [], f"crash after {n} writes"
        assert tree(reader) in states, f"crash after {n} writes: a state no prefix of the operations gives"
        r = run(harness, blob, "ls", "/")  # ... and so does the kernel, replaying the log itself
        assert r.returncode == 0 and b"panic" not in r.stdout, r.stdout
        after = tinyfs.Reader(blob.read_bytes())
        assert after.replayed == 0 and after.check() == [] and tree(after) == tree(reader)


@pytest.mark.toolchain
def test_the_kernel_refuses_a_disk_without_tinyfs(harness, tmp_path):
    blob = tmp_path / "zero.img"
    blob.write_bytes(bytes(SMALL * tinyfs.BSIZE))
    r = run(harness, blob)
    assert r.returncode == 4 and r.stdout == b"unmountable\n"
    assert r.stderr.decode().splitlines() == [
        "tinyos: cannot mount the file system: no tinyfs on the disk (bad superblock magic)"
    ]


# ---- untrusted disks: what a corrupt or hostile file system can make the kernel do -----------

# A small file system with something of everything: nested directories, a file
# through the indirect block, a device, several names for one file.
HOSTILE_BASE = {
    "/etc/motd": b"welcome\n",
    "/etc/hostname": b"box\n",
    "/a/b/deep": pattern(3000, 5),
    "/big": pattern((tinyfs.NDIRECT + 3) * tinyfs.BSIZE + 100, 9),
    "/dev/console": tinyfs.Device(1),
    "/empty": b"",
}
HOSTILE_OPS = ["ls", "/", "ls", "/a/b", "cat", "/etc/motd", "cat", "/a/b/deep", "cat", "/big", "stat", "/dev/console",
               "write", "/new", "#5000:3", "append", "/etc/motd", "more", "write", "/big", "#14000:2",
               "mkdir", "/d", "link", "/new", "/d/n", "rm", "/etc/hostname", "rm", "/a/b/deep", "rm", "/a/b",
               "cd", "/a", "ls", ".", "rm", "/empty", "write", "/d/x", "#20000:7", "ls", "/d"]  # fmt: skip


def hostile_image() -> tuple[bytes, tinyfs.Reader]:
    blob = tinyfs.build(HOSTILE_BASE, size_blocks=SMALL, ninodes=64)
    return blob, tinyfs.Reader(blob)


_HOSTILE = hostile_image()


def put32(blob: bytearray, at: int, value: int) -> None:
    struct.pack_into("<I", blob, at, value & 0xFFFFFFFF)


@pytest.mark.toolchain
def test_the_kernel_refuses_a_corrupt_superblock_or_log_header(harness, tmp_path):
    base, r = hostile_image()
    cases = [
        (4 * 3, 1 << 20, "corrupt superblock (inconsistent layout)"),  # ninodes
        (4 * 1, SMALL * 4, "corrupt superblock (the file system is larger than the disk area)"),  # size
        (tinyfs.BSIZE, tinyfs.LOGSIZE + 5, "corrupt log header (more blocks than the log holds)"),
        (tinyfs.BSIZE + 4, 0, "corrupt log header (a block outside the inodes, bitmap and data)"),
    ]
    for at, value, message in cases:
        blob = bytearray(base)
        put32(blob, at, value)
        if at == tinyfs.BSIZE + 4:
            put32(blob, tinyfs.BSIZE, 1)  # one committed block, aimed at the superblock
        (tmp_path / "fs.img").write_bytes(blob)
        out = run(harness, tmp_path / "fs.img", "ls", "/")
        assert out.returncode == 4 and out.stdout == b"unmountable\n", out
        assert out.stderr.decode().splitlines() == [f"tinyos: cannot mount the file system: {message}"]
        assert (tmp_path / "fs.img").read_bytes() == blob  # refused: nothing written
        problems, reader = tinyfs.fsck(bytes(blob))
        assert reader is None and len(problems) == 1


@pytest.mark.toolchain
def test_impossible_inodes_give_io_errors_not_panics(harness, tmp_path):
    base, r = hostile_image()
    blob = bytearray(base)
    motd, deep, big = r.lookup("/etc/motd"), r.lookup("/a/b/deep"), r.lookup("/big")
    inode_at = lambda inum: r.sb.inodestart * tinyfs.BSIZE + inum * tinyfs.DINODE.size  # noqa: E731
    put32(blob, inode_at(motd) + 8, 0xFFFFFFFF)  # size past the maximum file size
    put32(blob, inode_at(deep) + 12, 3)  # addrs[0]: a log block
    *_, addrs = r.inode(big)
    put32(blob, addrs[tinyfs.NDIRECT] * tinyfs.BSIZE + 4, 0)  # the second indirect entry: a hole
    (tmp_path / "fs.img").write_bytes(blob)
    out = run(harness, tmp_path / "fs.img", "cat", "/etc/motd", "cat", "/a/b/deep", "cat", "/big", "rm", "/a/b/deep",
              "write", "/etc/motd", "x", "ls", "/")  # fmt: skip
    assert out.returncode == 0, out
    head = b"cat /etc/motd -1\ncat /a/b/deep -1\n" + HOSTILE_BASE["/big"][: (tinyfs.NDIRECT + 1) * tinyfs.BSIZE]
    assert out.stdout.startswith(head)  # /big up to its hole
    lines = out.stdout[len(head) :].decode().splitlines()
    hole = f"fs: inode {big} is corrupt: no disk block for file block {tinyfs.NDIRECT + 1}"
    assert out.stderr.decode().splitlines()[1:-1] == [  # between the mount line and the write count
        f"fs: inode {motd} is corrupt: size larger than the maximum file size, 4294967295",
        f"fs: inode {deep} is corrupt: block number outside the data area, 3",
        hole,  # the read that reaches the hole returns what came before it ...
        hole,  # ... and the next one fails
        f"fs: inode {deep} is corrupt: block number outside the data area, 3",  # rm: the lookup's ilock
        f"fs: inode {motd} is corrupt: size larger than the maximum file size, 4294967295",
    ]
    assert lines[:2] == ["rm /a/b/deep -1", "write /etc/motd -1"]
    assert [line.split()[0] for line in lines[2:]] == [".", "..", "a", "big", "dev", "empty", "etc"]
    assert (tmp_path / "fs.img").read_bytes()[: tinyfs.BSIZE] == blob[: tinyfs.BSIZE]


@pytest.mark.toolchain
def test_a_bitmap_that_frees_the_metadata_never_gets_it_allocated(harness, tmp_path):
    base, r = hostile_image()
    blob = bytearray(base)
    at = r.sb.bmapstart * tinyfs.BSIZE
    blob[at : at + r.sb.datastart // 8] = bytes(r.sb.datastart // 8)  # every metadata block "free"
    (tmp_path / "fs.img").write_bytes(blob)
    out = run(harness, tmp_path / "fs.img", "write", "/new", "#20000:3", "mkdir", "/d", "write", "/d/f", "x")
    assert out.returncode == 0 and out.stdout.decode().splitlines() == ["write /new 20000", "mkdir /d 0",
                                                                         "write /d/f 1"]  # fmt: skip
    after = tinyfs.Reader((tmp_path / "fs.img").read_bytes())
    for path, data in HOSTILE_BASE.items():  # the inodes of every old file survived
        if isinstance(data, bytes):
            assert after.read(after.lookup(path)) == data
    assert after.read(after.lookup("/new")) == pattern(20000, 3)
    # fsck finds the bitmap's lie about the metadata blocks it could not fix, and nothing else
    assert all(p.endswith("bitmap says free") for p in after.check())


# Where a corruption lands: a field of the metadata, with values at the edges.
def _corruptions(r: tinyfs.Reader):
    sb, B = r.sb, tinyfs.BSIZE
    used_inodes = [e.inum for e in r.walk("/")] + [tinyfs.ROOTINO]
    dir_blocks = [r.inode(e.inum)[5][0] for e in r.walk("/") if e.type == tinyfs.T_DIR] + [r.inode(1)[5][0]]
    indirect = r.inode(r.lookup("/big"))[5][tinyfs.NDIRECT]
    interesting = [0, 1, 2, sb.inodestart, sb.bmapstart, sb.datastart - 1, sb.datastart, sb.size - 1, sb.size,
                   sb.size + 1, sb.ninodes - 1, sb.ninodes, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
                   tinyfs.MAXFILE * B, tinyfs.MAXFILE * B + 1, 0x7FFFFFFF, 0xFFFFFFFF]  # fmt: skip
    values = st.one_of(st.sampled_from(interesting), st.integers(0, 0xFFFFFFFF))
    places = st.one_of(
        st.integers(0, 7).map(lambda i: (4 * i, 4)),  # superblock fields
        st.integers(0, tinyfs.LOGSIZE).map(lambda i: (B + 4 * i, 4)),  # log header
        st.tuples(st.sampled_from(used_inodes), st.integers(0, 4 + tinyfs.NDIRECT)).map(
            lambda t: (sb.inodestart * B + t[0] * 64 + (2 * t[1] if t[1] < 4 else 8 + 4 * (t[1] - 4)),
                       2 if t[1] < 4 else 4)),  # an inode field  # fmt: skip
        st.tuples(st.sampled_from(dir_blocks), st.integers(0, 8)).map(lambda t: (t[0] * B + 30 * t[1], 2)),  # inum
        st.integers(0, 15).map(lambda i: (indirect * B + 4 * i, 4)),  # indirect entries
        st.integers(0, sb.datastart // 8 + 8).map(lambda i: (sb.bmapstart * B + i, 1)),  # bitmap bytes
        st.integers(0, sb.datastart * B - 1).map(lambda at: (at, 1)),  # any metadata byte
    )
    return st.lists(st.tuples(places, values), min_size=1, max_size=4)


@pytest.mark.toolchain
def test_random_corruptions_never_panic_the_kernel(harness, tmp_path):
    base, r = hostile_image()
    disk = tmp_path / "fs.img"

    @settings(max_examples=max(300, settings().max_examples))  # each example is one harness run
    @given(st.data())
    def check(data):
        blob = bytearray(base)
        for (at, width), value in data.draw(_corruptions(r)):
            blob[at : at + width] = (value & ((1 << 8 * width) - 1)).to_bytes(width, "little")
        disk.write_bytes(blob)
        out = run(harness, disk, *HOSTILE_OPS)
        # 0: ran every operation (some may fail); 4: refused to mount with one line.  Never
        # 3 (a panic, a write to the superblock, or a sleep-lock self-deadlock) or a crash.
        assert out.returncode in (0, 4), (out.stdout[-300:], out.stderr[-300:])
        if out.returncode == 4:
            assert len(out.stderr.splitlines()) == 1 and bytes(blob) == disk.read_bytes()
            if blob[:4] == base[:4]:  # the host refuses it too (without a magic there is nothing to check)
                assert tinyfs.fsck(bytes(blob))[1] is None
            return
        _, reader = tinyfs.fsck(disk.read_bytes())  # whatever the kernel left, fsck reports without crashing
        for path in ("/new", "/d/x") if reader else ():  # made in this run: blocks from balloc
            try:
                inum = reader.lookup(path)
            except ImageError:
                continue
            *_, addrs = reader.inode(inum)
            blocks = [b for b in addrs if b]
            if reader.sb.datastart <= addrs[tinyfs.NDIRECT] < reader.sb.size:
                blocks += [b for b in struct.unpack("<256I", reader.block(addrs[tinyfs.NDIRECT])) if b]
            assert all(b >= reader.sb.datastart for b in blocks), (path, blocks)  # never a metadata block

    check()


def test_cli_fs_check_reports_like_fsck(tmp_path):
    """`pyhv fs check`: 0 and a summary for a clean file system, one line per problem and
    4 for a corrupt one (nothing repaired), 8 when there is nothing to check."""
    base, r = hostile_image()
    img = tmp_path / "disk.img"
    img.write_bytes(image.build(b"\x13\x00\x00\x00" * 64, fs=base))
    out = pyhv("fs", "check", str(img))
    assert out.returncode == 0, out.stderr
    data_blocks = 5 + 3 + 17 + 2  # 5 directories, /a/b/deep, /big and its indirect block, two small files
    summary = f"11/63 inodes, {r.sb.datastart + data_blocks}/{SMALL} blocks"
    assert out.stdout.decode().splitlines() == [f"{img}: clean, {summary}"]

    blob = bytearray(base)
    motd = r.lookup("/etc/motd")
    put32(blob, r.sb.inodestart * tinyfs.BSIZE + motd * 64 + 8, 1 << 30)  # size
    blob[r.sb.bmapstart * tinyfs.BSIZE] = 0  # blocks 0-7 "free"
    (tmp_path / "bad.img").write_bytes(blob)
    out = pyhv("fs", "check", str(tmp_path / "bad.img"))
    assert out.returncode == 4, out.stderr
    assert out.stdout.decode().splitlines() == [
        f"/etc/motd: inode {motd} is corrupt: size larger than the maximum file size, {1 << 30}",
        "blocks 0-7: bitmap says free",
        f"block {r.inode(motd)[5][0]}: bitmap says used",  # no longer reachable through the inode
        f"{tmp_path / 'bad.img'}: 3 problems, 11/63 inodes, {r.sb.datastart + data_blocks - 8}/{SMALL} blocks",
    ]

    put32(blob, 12, 7)  # ninodes: the layout no longer adds up
    (tmp_path / "bad.img").write_bytes(blob)
    out = pyhv("fs", "check", str(tmp_path / "bad.img"))
    assert out.returncode == 4 and out.stdout.decode().splitlines()[-1] == f"{tmp_path / 'bad.img'}: not mountable"
    assert "corrupt tinyfs superblock" in out.stdout.decode()

    for path in (tmp_path / "missing.img", ROOT / "README.md"):
        out = pyhv("fs", "check", str(path))
        assert out.returncode == 8 and out.stdout == b""
        assert len(out.stderr.decode().splitlines()) == 1


@given(data=st.data())
@settings(max_examples=max(300, settings().max_examples))
def test_fsck_reports_any_corruption_without_crashing(data):
    """The host checker is the kernel's twin for what it refuses: it never raises on a
    mounted file system, and a problem-free verdict means every file reads back."""
    base, r = _HOSTILE
    blob = bytearray(base)
    for (at, width), value in data.draw(_corruptions(r)):
        blob[at : at + width] = (value & ((1 << 8 * width) - 1)).to_bytes(width, "little")
    try:
        problems, reader = tinyfs.fsck(bytes(blob))
    except ImageError as e:
        assert "bad magic" in str(e)
        return
    if reader is not None and not problems:
        for e in reader.walk("/"):
            if e.type == tinyfs.T_FILE:
                reader.read(e.inum)
