"""Disk image locks, the way QEMU takes them: whoever may write an image holds an exclusive lock on it, readers
(`--snapshot`, read-only disks, `pyhv fs`) a shared one, so two writers, or a writer and a reader, never have one
image open at once.  A conflicting open is refused at once (never waits) with a one-line ImageInUse naming the
process in the way.

Locks are flock(2) locks: they belong to the open file, so they go with its last close (or the process's end) and
a second open of the same image by the same process conflicts too (`--drive` naming the boot disk again).  Linux
lists them in /proc/locks with the holder's PID; elsewhere the message says only that the image is in use.
"""

from __future__ import annotations

import fcntl
import os

from pyhv.errors import ImageError


class ImageInUse(ImageError):
    """Another open of the image holds a lock that conflicts with the one asked for."""


def lock(file, path: str | os.PathLike, *, write: bool) -> None:
    """Lock the open `file` (the image at `path`): exclusive for a writer, shared for a reader."""
    try:
        fcntl.flock(file.fileno(), (fcntl.LOCK_EX if write else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ImageInUse(_refusal(file, os.fspath(path), write)) from None


def _refusal(file, path: str, write: bool) -> str:
    st = os.fstat(file.fileno())
    others = holders(st.st_dev, st.st_ino)
    how = "for writing" if write else "for reading (--snapshot)"
    hint = "" if write else "; readers share an image only with other readers"
    if not others:
        who = "another process"
    elif others[0][0] == os.getpid():
        who = "this pyhv process already (another disk or VM of it has it open)"
    else:
        pid, kind = others[0]
        who = f"process {pid}{_command(pid)}, which {'writes' if kind == 'WRITE' else 'reads'} it"
    return f"disk image {path} is in use by {who}: cannot open it {how}{hint}"


def holders(dev: int, ino: int) -> list[tuple[int, str]]:
    """(pid, "WRITE" | "READ") of the flock holders of the file (dev, ino), from /proc/locks (Linux)."""
    want = f"{os.major(dev):02x}:{os.minor(dev):02x}:{ino}"
    out = []
    try:
        with open("/proc/locks") as f:
            for line in f:
                # "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234 0 EOF"; waiters have "->" after the number
                fields = line.split()
                if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == want and fields[4].isdigit():
                    out.append((int(fields[4]), fields[3]))
    except OSError:
        pass
    return out


def _command(pid: int) -> str:
    """`: python -m pyhv boot IMAGE` for a PID whose command line can be read, else ''."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return ""
    text = " ".join(a.decode(errors="replace") for a in argv if a)
    return f" ({text[:100]})" if text else ""


def read_image(path: str | os.PathLike) -> bytes:
    """The whole image, read under a shared lock (no VM writes it meanwhile); OSError as open() raises it."""
    with open(path, "rb") as f:
        lock(f, path, write=False)
        return f.read()


def write_image(path: str | os.PathLike, data: bytes) -> None:
    """Replace the image's contents under an exclusive lock: taken before the file is truncated, so an image
    a VM has open is refused, not emptied under it."""
    with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o666), "wb") as f:
        lock(f, path, write=True)
        f.truncate()
        f.write(data)
