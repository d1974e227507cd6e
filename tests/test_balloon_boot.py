"""The balloon on the board: `MachineConfig(balloon=True)` puts a virtio-balloon in the slot after the disks, and
hello's `balloon` mode (guests/hello/virtio_balloon.c) follows the host's target: inflating returns frames to the
host pool, deflating and touching takes them back, and the target 0xffffffff powers the guest off."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pyhv._native import lib
from pyhv.console import Console
from pyhv.errors import ConfigError
from pyhv.machine import Machine, MachineConfig

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "guests" / "hello.img"
POOL_BASE = 0x8040_0000  # VB_POOL_BASE in guests/hello/virtio_balloon.c: pool page i at POOL_BASE + i * 4 KiB
POOL_PAGES = (0x8800_0000 - 0x40_0000 - POOL_BASE) // 4096  # 128 MiB of RAM, the DTB's megapage left out
POWEROFF = 0xFFFF_FFFF  # the num_pages sentinel hello powers off on


class Booted:
    """hello in `balloon` mode on a board with a balloon, driven slice by slice through Machine.step()."""

    def __init__(self, tmp_path: Path) -> None:
        self.out = open(tmp_path / "console.txt", "wb")  # noqa: SIM115 (closed in close())
        self.path = tmp_path / "console.txt"
        config = MachineConfig(image=str(HELLO), snapshot=True, bootargs="balloon", balloon=True)
        self.m = Machine(config, console=Console(output=self.out))

    def settle(self):
        """Run until the guest sleeps with no timer (waiting for the balloon) or is done."""
        for _ in range(10_000):
            what, value = self.m.step()
            if what == "done":
                return "done", value
            if what == "idle":
                if value is None:
                    return "idle", None
                self.m.cpu.advance_idle(value)
        raise AssertionError("the guest never settled")

    def text(self) -> str:
        self.out.flush()
        return self.path.read_text()

    def pool_present(self, first: int, n: int) -> list[bool]:
        mem = self.m.vm.memory
        gfn0 = (POOL_BASE - mem.ram_base) >> 12
        return [mem.frame(gfn0 + i, allocate=False) is not None for i in range(first, first + n)]

    def close(self) -> None:
        self.m.close()
        self.out.close()


@pytest.fixture
def booted(tmp_path):
    b = Booted(tmp_path)
    yield b
    b.close()


def test_balloon_inflate_deflate_and_poweroff(booted):
    m, balloon = booted.m, booted.m.balloon
    assert booted.settle() == ("idle", None)
    assert f"pool of {POOL_PAGES} pages at 0x{POOL_BASE:x}\nballoon: 0 pages\n" in booted.text()
    assert all(booted.pool_present(0, POOL_PAGES))  # hello has used all its pool

    free = m.pool.frames_free
    balloon.set_target(1000)
    assert booted.settle() == ("idle", None)
    assert balloon.actual_pages == 1000 and m.pool.frames_free == free + 1000  # every page back to the host
    assert not any(booted.pool_present(0, 1000)) and all(booted.pool_present(1000, POOL_PAGES - 1000))
    assert balloon.counters["released_frames"] == 1000 and balloon.counters["bad_pfns"] == 0

    balloon.set_target(300)
    assert booted.settle() == ("idle", None)
    assert balloon.actual_pages == 300 and m.pool.frames_free == free + 300  # 700 taken back and touched
    assert booted.pool_present(0, 1000) == [False] * 300 + [True] * 700
    assert balloon.counters["deflated_pages"] == 700

    balloon.set_target(POOL_PAGES + 5000)  # more than the pool: hello gives what it has
    assert booted.settle() == ("idle", None)
    assert balloon.actual_pages == POOL_PAGES and m.pool.frames_free == free + POOL_PAGES

    balloon.set_target(POWEROFF)
    assert booted.settle() == ("done", 0)
    text = booted.text()
    assert text.endswith(
        f"balloon: 0 pages\nballoon: 1000 pages\nballoon: 300 pages\nballoon: {POOL_PAGES} pages\n"
        "hello: all done, powering off\n"
    )
    assert "hello: virtio-blk at 0x10001000, irq 1, 34 sectors\n" in text
    assert "hello: virtio-balloon at 0x10002000, irq 2," in text


def test_target_changes_while_the_guest_works(booted):
    """Targets set back to back: the guest ends at the last one, whatever it was doing when the others came."""
    balloon = booted.m.balloon
    assert booted.settle() == ("idle", None)
    free = booted.m.pool.frames_free
    balloon.set_target(640)
    booted.m.step(budget=2_000)
    assert 0 < balloon.actual_pages < 640  # part of the way there: the guest turns back within a batch
    balloon.set_target(64)
    assert booted.settle() == ("idle", None)
    assert balloon.actual_pages == 64 and booted.m.pool.frames_free == free + 64
    assert balloon.counters["inflated_pages"] < 640  # it never went all the way to the old target


def test_board_puts_the_balloon_after_the_disks(tmp_path):
    disk = tmp_path / "data.img"
    disk.write_bytes(bytes(4096))
    m = Machine(MachineConfig(image=str(HELLO), drives=[str(disk)], snapshot=True, balloon=True),
                console=Console(output=None))  # fmt: skip
    try:
        slots = {base: dev for base, dev in m.vm.devices}
        assert [slots[lib.PYHV_VIRTIO0_BASE + n * lib.PYHV_VIRTIO_STRIDE] for n in (0, 1)] == m.disks
        assert slots[lib.PYHV_VIRTIO0_BASE + 2 * lib.PYHV_VIRTIO_STRIDE] is m.balloon
        assert slots[lib.PYHV_VIRTIO0_BASE + 3 * lib.PYHV_VIRTIO_STRIDE].name == "virtio-empty"
        m.balloon.irq(True)
        assert m.plic.level >> (lib.PYHV_IRQ_VIRTIO0 + 2) & 1  # wired to PLIC source 1 + slot
    finally:
        m.close()
    with pytest.raises(ConfigError, match="at most 7 disks"):
        Machine(MachineConfig(image=str(HELLO), drives=[str(disk)] * 7, snapshot=True, balloon=True))
    m = Machine(MachineConfig(image=str(HELLO), snapshot=True), console=Console(output=None))
    assert m.balloon is None
    m.close()


def test_cli_balloon_leaves_the_default_run_alone(tmp_path):
    from test_boot import HELLO_TRANSCRIPT

    disk = tmp_path / "hello.img"
    shutil.copy(HELLO, disk)
    cmd = [sys.executable, "-m", "pyhv", "boot", "--balloon", str(disk)]
    r = subprocess.run(cmd, check=False, capture_output=True, timeout=300)
    assert r.returncode == 0 and r.stdout.decode() == HELLO_TRANSCRIPT and r.stderr == b""
