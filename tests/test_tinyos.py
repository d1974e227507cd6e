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
