"""Part 5 inside a VM: a tinyos process holds pages full of a secret pattern while
another process names every page of the 32-bit space through system-call pointers
(scanmem); the pattern is never seen.  `scanmem self` is the control: with the pattern
in its own heap, the same scan does see it."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.isolation
TINYOS = Path(__file__).resolve().parents[2] / "guests" / "tinyos.img"


def test_a_process_never_sees_another_process_memory():
    script = b"secret 64 60000 &\nsleep 100\nscanmem\nscanmem self\nps\npoweroff\n"
    r = subprocess.run([sys.executable, "-m", "pyhv", "boot", "--snapshot", str(TINYOS)], input=script,
                       capture_output=True, timeout=300)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr
    assert "secret: 64 pages filled" in out
    results = [int(n) for n in re.findall(r"scanmem: \d+ readable pages, pattern seen (\d+) times", out)]
    assert results[0] == 0  # another process's 64 pages: never
    assert results[1] >= 1  # its own page: the scan works
    assert re.search(r"^\d+\s+1\s+SLEEPING\s+secret\s+(\d+)", out, re.M)  # the secret was alive all along
