"""tinyos from the user's side: `printf 'cmd\\n' | pyhv boot guests/tinyos.img`, then
compare what the console shows.  Each test boots a fresh machine (--snapshot unless it
checks persistence)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TINYOS = ROOT / "guests" / "tinyos.img"


def has_line(out: str, text: str) -> bool:
    """`text` printed on a line of its own, maybe after the shell's prompt (typed-ahead
    input is echoed in one block after the first prompt, so prompts and output interleave)."""
    return re.search(rf"^(tinyos# )*{re.escape(text)}$", out, re.M) is not None


def session(script: str, image=TINYOS, snapshot=True, extra=()):
    args = [sys.executable, "-m", "pyhv", "boot", *(["--snapshot"] if snapshot else []), *extra, str(image)]
    r = subprocess.run(args, input=script.encode(), capture_output=True, timeout=300)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def test_boots_to_a_shell_and_powers_off():
    rc, out, err = session("poweroff\n")
    assert rc == 0, err
    assert out.startswith("pyhv BIOS 0.2")
    assert "tinyos: booting on hart 0" in out and "tinyos# " in out
    assert out.rstrip().endswith("tinyos: power off")


def test_the_issue_example():
    rc, out, _ = session("echo hi\nls /\nps\npoweroff\n")
    assert rc == 0
    assert has_line(out, "hi")
    assert re.search(r"^bin\s+dir\s+\d+\s+\d+$", out, re.MULTILINE) and re.search(r"^etc\s+dir", out, re.MULTILINE)
    assert re.search(r"PID\s+PPID\s+STATE\s+NAME\s+PAGES\s+TICKS", out)
    assert re.search(r"^(tinyos# )?1\s+0\s+SLEEPING\s+init\s+\d+\s+\d+$", out, re.MULTILINE)
    assert re.search(r"^\d+\s+\d+\s+RUNNING\s+ps\s+\d+\s+\d+$", out, re.MULTILINE)


def test_system_commands():
    rc, out, _ = session("hostname box\nhostname\nuname -a\nfree\nuptime\nsleep 200\npoweroff\n")
    assert rc == 0
    assert has_line(out, "box")
    assert re.search(r"tinyos box 0\.1 .*riscv32", out)
    assert re.search(r"total\s+used\s+free\nKiB:\s+\d+\s+\d+\s+\d+", out)
    assert re.search(r"up \d+\.\d+ s", out)


def test_files_redirection_and_pipes():
    rc, out, _ = session("mkdir /d\necho abc > /d/f\ncat < /d/f\necho x y | cat | cat\nls /d\nrm /d/f\nls /d\npoweroff\n")
    assert rc == 0
    assert has_line(out, "abc") and has_line(out, "x y")
    listings = re.findall(r"^f\s+file\s+\d+\s+4$", out, re.MULTILINE)
    assert len(listings) == 1  # listed before rm, gone after


def test_files_persist_across_boots_unless_snapshot(tmp_path):
    disk = tmp_path / "tinyos.img"
    shutil.copy(TINYOS, disk)
    rc, _, _ = session("echo kept > /keep\npoweroff\n", image=disk, snapshot=False)
    assert rc == 0
    rc, out, _ = session("cat /keep\npoweroff\n", image=disk, snapshot=False)
    assert rc == 0 and has_line(out, "kept")
    listing = subprocess.run([sys.executable, "-m", "pyhv", "fs", "ls", str(disk), "/"], capture_output=True, text=True)
    assert "keep" in listing.stdout
    rc, _, _ = session("echo gone > /gone\npoweroff\n", image=disk, snapshot=True)
    listing = subprocess.run([sys.executable, "-m", "pyhv", "fs", "ls", str(disk), "/"], capture_output=True, text=True)
    assert "gone" not in listing.stdout


@pytest.mark.parametrize(
    "how,cause",
    [("null", "load page fault"), ("kernel", "page fault"), ("illegal", "illegal instruction")],
)
def test_a_faulting_program_is_killed_and_the_shell_goes_on(how, cause):
    rc, out, _ = session(f"fault {how}\necho still here\npoweroff\n")
    assert rc == 0
    killed = re.findall(r"^tinyos: pid \d+ \(fault\) killed: (.*) at sepc=0x[0-9a-f]+ stval=0x[0-9a-f]+$", out, re.MULTILINE)
    assert len(killed) == 1 and cause in killed[0]
    assert has_line(out, "still here")


def test_a_cpu_hog_is_preempted_and_can_be_killed():
    rc, out, _ = session("hog &\nsleep 50\nps\nkill 4\nps\npoweroff\n")
    assert rc == 0
    assert re.search(r"^4\s+\d+\s+(RUNNABLE|RUNNING)\s+hog", out, re.MULTILINE)
    assert len(re.findall(r"^\d+\s+\d+\s+\w+\s+hog\s", out, re.MULTILINE)) == 1  # in the first ps only


def test_memory_hog_and_fork_bomb_are_contained():
    rc, out, _ = session("memhog\nforkbomb\nfree\necho ok\npoweroff\n")
    assert rc == 0
    assert re.search(r"memhog: got \d+ KiB \(\d+ pages\) before sbrk failed", out)
    m = re.search(r"forkbomb: fork failed after (\d+) children", out)
    assert m and 0 < int(m.group(1)) < 64  # the process-count limit stopped it
    assert has_line(out, "ok")


def test_same_input_same_output():
    script = "echo a | cat\nps\nuptime\npoweroff\n"
    first, second = session(script), session(script)
    assert first[0] == second[0] == 0
    assert first[1] == second[1]


def test_reboot():
    rc, out, _ = session("reboot\n", extra=("--no-reboot",))
    assert rc == 0 and "tinyos# " in out


def test_same_input_same_instruction_count():
    from pyhv.console import Console, StaticInput
    from pyhv.machine import Machine, MachineConfig


    runs = []
    for _ in range(2):
        sink = __import__("io").BytesIO()
        m = Machine(MachineConfig(image=str(TINYOS), snapshot=True), console=Console(output=sink))
        m.uart.line = StaticInput(b"echo x | cat\nls /bin\npoweroff\n")
        assert m.run() == 0
        runs.append((m.insns_total, sink.getvalue()))
        m.close()
    assert runs[0] == runs[1]


# ---- the image on the disk: booting writes nothing; a corrupt one is refused or gives I/O errors --


def test_booting_the_committed_image_leaves_it_unchanged(tmp_path):
    """The README's first command must leave `git status` clean: a boot, commands that
    only read, and power off write nothing (no /dev/console to make, no log header to
    clear)."""
    disk = tmp_path / "tinyos.img"
    shutil.copy(TINYOS, disk)
    rc, out, _ = session("ls /dev\ncat /etc/motd\necho hi | cat\nps\npoweroff\n", image=disk, snapshot=False)
    assert rc == 0 and re.search(r"^console\s+dev\s", out, re.M)
    assert disk.read_bytes() == TINYOS.read_bytes()


def modified_image(tmp_path, change) -> Path:
    """A copy of tinyos.img whose file-system area went through change(bytearray, Reader)."""
    from pyhv import image, tinyfs

    data = bytearray(TINYOS.read_bytes())
    header = image.read_header(TINYOS)
    fs = bytearray(data[header.fs_offset : header.fs_offset + header.fs_size])
    change(fs, tinyfs.Reader(bytes(fs)))
    data[header.fs_offset : header.fs_offset + header.fs_size] = fs
    path = tmp_path / "corrupt.img"
    path.write_bytes(data)
    return path


def _inode_at(r, inum: int) -> int:
    return r.sb.inodestart * 1024 + inum * 64


def test_a_corrupt_superblock_is_refused_at_mount_with_one_line(tmp_path):
    def change(fs, r):
        fs[12:16] = (1 << 20).to_bytes(4, "little")  # ninodes

    disk = modified_image(tmp_path, change)
    before = disk.read_bytes()
    rc, out, _ = session("ls /\n", image=disk, snapshot=False)
    assert rc != 0 and "panic" not in out
    lines = out.splitlines()
    assert lines[-2:] == ["tinyos: cannot mount the file system: corrupt superblock (inconsistent layout)",
                          "tinyos: power off"]  # fmt: skip
    assert disk.read_bytes() == before


def test_impossible_file_sizes_and_blocks_are_io_errors_for_the_shell(tmp_path):
    import struct

    def change(fs, r):
        struct.pack_into("<I", fs, _inode_at(r, r.lookup("/etc/motd")) + 8, 0xFFFFFFFF)  # size
        struct.pack_into("<I", fs, _inode_at(r, r.lookup("/bin/echo")) + 12, 2)  # addrs[0]: the log
        struct.pack_into("<I", fs, _inode_at(r, r.lookup("/bin/ps")) + 32, 0)  # addrs[5]: a hole in the text

    disk = modified_image(tmp_path, change)
    r = __import__("pyhv.tinyfs").tinyfs.Reader(TINYOS.read_bytes())
    motd, echo, ps = (r.lookup(p) for p in ("/etc/motd", "/bin/echo", "/bin/ps"))
    rc, out, _ = session("cat /etc/motd\necho hi\nps\nls /etc\npoweroff\n", image=disk)
    assert rc == 0 and "panic" not in out
    assert has_line(out, f"fs: inode {motd} is corrupt: size larger than the maximum file size, 4294967295")
    assert has_line(out, "cat: /etc/motd: cannot open")
    assert has_line(out, f"fs: inode {echo} is corrupt: block number outside the data area, 2")
    assert has_line(out, "sh: echo: not found")
    assert has_line(out, f"fs: inode {ps} is corrupt: no disk block for file block 5")
    assert has_line(out, "sh: ps: not found")
    assert re.search(r"^hostname\s+file", out, re.M)  # the rest of the file system works


def test_what_tinyos_writes_passes_fs_check(tmp_path):
    """The host's fsck and the kernel agree: the shipped image is clean, and so is what a
    session that creates, links and removes files leaves behind."""
    check = [sys.executable, "-m", "pyhv", "fs", "check"]
    r = subprocess.run([*check, str(TINYOS)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith(f"{TINYOS}: clean"), r.stdout
    disk = tmp_path / "tinyos.img"
    shutil.copy(TINYOS, disk)
    script = "mkdir /d\nmkdir /d/e\necho one > /d/f\nls /bin > /d/e/list\necho more >> /d/f\nrm /d/f\n"
    rc, _, _ = session(script + "echo two > /g\nrm /d/e/list\npoweroff\n", image=disk, snapshot=False)
    assert rc == 0
    r = subprocess.run([*check, str(disk)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith(f"{disk}: clean"), r.stdout
