"""Disk images are locked as QEMU locks them (pyhv/imagelock.py): real `python -m pyhv` processes on one image.

A writer holds an exclusive lock, `--snapshot` readers a shared one; the process refused gets one line on stderr
naming the holder's PID and exits 1, before its guest runs a single instruction."""

import os
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pyhv import image

ROOT = Path(__file__).resolve().parent.parent
PROMPT = b"tinyos# "


def pyhv(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "pyhv", *args], stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout)  # fmt: skip


def one_line(stderr: bytes) -> str:
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    return lines[0]


class Holder:
    """`pyhv boot` of tinyos left at its shell prompt (stdin stays open), so it holds its disks' locks."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([sys.executable, "-m", "pyhv", "boot", *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        out = b""
        while PROMPT not in out:  # the locks are taken before the BIOS runs; the prompt says the VM is up
            ready, _, _ = select.select([self.proc.stdout], [], [], 120)  # a hang guard, not a time limit
            assert ready, out
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            assert chunk, (out, self.proc.stderr.read())
            out += chunk
        self.pid = self.proc.pid

    def poweroff(self) -> int:
        self.proc.stdin.write(b"poweroff\n")
        self.proc.stdin.close()
        self.proc.wait(timeout=120)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode


@pytest.fixture
def disk(tmp_path):
    path = tmp_path / "tinyos.img"
    shutil.copyfile(ROOT / "guests" / "tinyos.img", path)
    return str(path)


def test_a_second_writer_is_refused_naming_the_first(disk):
    first = Holder(disk)
    try:
        r = pyhv("boot", disk, "--max-insns", "50000000")  # on an unlocked image it would boot (124 at the budget)
        line = one_line(r.stderr)
        assert r.returncode == 1 and r.stdout == b""
        assert line.startswith(f"pyhv: disk image {disk} is in use by process {first.pid} (")
        assert "pyhv boot" in line and "cannot open it for writing" in line
        r = pyhv("boot", "--snapshot", disk, "--max-insns", "50000000")  # a reader must not see a writer's image
        assert r.returncode == 1 and f"process {first.pid}" in one_line(r.stderr) and r.stdout == b""
        r = pyhv("fs", "ls", disk, "/")
        assert r.returncode == 1 and f"process {first.pid}" in one_line(r.stderr)
        kernel = ROOT / "tests" / "guests" / "finish.bin"
        r = pyhv("mkimage", str(kernel), "-o", disk)  # would replace the image under the running VM
        assert r.returncode == 1 and f"process {first.pid}" in one_line(r.stderr)
    finally:
        assert first.poweroff() == 0
    assert image.read_header(disk).kernel_size > 0  # mkimage did not touch it
    r = pyhv("fs", "ls", disk, "/")  # the lock went with the VM
    assert r.returncode == 0 and b"bin" in r.stdout


def test_snapshot_readers_share_and_keep_writers_out(disk, tmp_path):
    first, second = Holder("--snapshot", disk), Holder("--snapshot", disk)
    try:
        r = pyhv("fs", "ls", disk, "/")  # readers share
        assert r.returncode == 0 and b"bin" in r.stdout
        r = pyhv("boot", disk, "--max-insns", "50000000")
        line = one_line(r.stderr)
        assert r.returncode == 1 and r.stdout == b""
        assert f"process {first.pid} " in line or f"process {second.pid} " in line
        assert "which reads it: cannot open it for writing" in line
    finally:
        assert first.poweroff() == 0 and second.poweroff() == 0


def test_an_extra_drive_is_locked_too(disk, tmp_path):
    other = tmp_path / "data.img"
    other.write_bytes(bytes(1 << 20))
    holder = Holder(disk, "--drive", str(other))
    try:
        hello = str(ROOT / "guests" / "hello.img")
        r = pyhv("boot", "--snapshot", hello, "--drive", str(other), "--max-insns", "1000")
        assert r.returncode == 1 and f"disk image {other} is in use by process {holder.pid}" in one_line(r.stderr)
    finally:
        assert holder.poweroff() == 0
    r = pyhv("boot", disk, "--drive", disk, "--max-insns", "1000")  # the same image twice in one VM
    assert r.returncode == 1 and "in use by this pyhv process already (another disk or VM" in one_line(r.stderr)


def test_pyhv_run_guests_take_the_same_locks(disk, tmp_path):
    import json

    config = tmp_path / "host.json"
    vm = {"image": disk, "mem_size_mib": 16, "snapshot": False}
    config.write_text(json.dumps({"host": {"pool_size_mib": 128}, "vms": [{"name": "a", **vm}, {"name": "b", **vm}]}))
    r = pyhv("run", str(config), "--timeout", "60")
    assert r.returncode == 1 and "in use by this pyhv process already" in one_line(r.stderr)
    holder = Holder("--snapshot", disk)
    try:
        config.write_text(json.dumps({"host": {"pool_size_mib": 64}, "vms": [{"name": "a", **vm}]}))
        r = pyhv("run", str(config), "--timeout", "60")
        assert r.returncode == 1 and f"is in use by process {holder.pid}" in one_line(r.stderr)
    finally:
        assert holder.poweroff() == 0


def test_a_refused_machine_lets_go_of_the_images_it_locked(tmp_path):
    from pyhv.devices.virtio_blk import DiskBackend
    from pyhv.imagelock import ImageInUse
    from pyhv.machine import Machine, MachineConfig

    boot, data = tmp_path / "boot.img", tmp_path / "data.img"
    shutil.copyfile(ROOT / "guests" / "hello.img", boot)
    data.write_bytes(bytes(1 << 16))
    holder = DiskBackend(data)
    with pytest.raises(ImageInUse) as refused:
        Machine(MachineConfig(image=str(boot), drives=[str(data)]))
    assert f"disk image {data} is in use by this pyhv process already" in str(refused.value)
    DiskBackend(boot).close()  # boot.img was locked first, and let go when the machine was refused
    holder.close()
