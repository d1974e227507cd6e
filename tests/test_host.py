"""The hypervisor: many VMs on one host, the scheduler's shares and caps, isolation of
failures, page sharing (KSM), per-VM limits and overcommit, `pyhv run`.

Scheduling is accounted in guest instructions, so shares are checked against the
weights without timing the host; the runs use wall time only to bound their length."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyhv import image
from pyhv.console import StaticInput
from pyhv.errors import ConfigError
from pyhv.host import GuestSpec, Host, load_config
from pyhv.machine import Machine, MachineConfig
from pyhv.memory import FramePool

ROOT = Path(__file__).resolve().parent.parent
GUESTS = ROOT / "tests" / "guests"
HELLO = str(ROOT / "guests" / "hello.img")


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("images")
    out = {}
    for name in ("spin", "touch", "finish"):
        path = d / f"{name}.img"
        path.write_bytes(image.build((GUESTS / f"{name}.bin").read_bytes()))
        out[name] = str(path)
    return out


def spinner(name, images, **kw):
    return GuestSpec(name, image=images["spin"], bios=None, mem_size_mib=4, **kw)


def fair_shares(weights, pcpus):
    """Proportional shares of a work-conserving scheduler: nobody above one pCPU
    (1/pcpus of the host), the rest redistributed by weight (water-filling)."""
    shares, free, left = {}, dict(weights), 1.0
    while free:
        total = sum(free.values())
        over = {k for k, w in free.items() if left * w / total > 1 / pcpus}
        if not over:
            shares.update({k: left * w / total for k, w in free.items()})
            break
        for k in over:
            shares[k] = 1 / pcpus
            left -= 1 / pcpus
            del free[k]
    return shares


@settings(max_examples=5, deadline=None, derandomize=True)
@given(st.lists(st.integers(1, 8), min_size=2, max_size=4))
def test_credit_shares_follow_weights(images, weights):
    # One pCPU: the policy alone decides (with two, a worker the host OS descheduled
    # mid-slice lets the other pCPU run more of the rest, whatever the policy says).
    host = Host(pool_size_mib=64, pcpus=1, policy="credit", slice_insns=50_000)
    for i, w in enumerate(weights):
        host.add(spinner(f"g{i}", images, weight=128 * w))
    host.run(timeout_s=2)
    expected = fair_shares({f"g{i}": w for i, w in enumerate(weights)}, 1)
    got = host.shares()
    host.close()
    for name, share in expected.items():
        assert abs(got[name] - share) <= 0.05, (weights, got, expected)


def test_credit_on_two_pcpus_is_work_conserving_and_weighted(images):
    host = Host(pool_size_mib=64, pcpus=2, policy="credit", slice_insns=100_000)
    for i, w in enumerate((1, 2, 3, 4)):
        host.add(spinner(f"g{i}", images, weight=128 * w))
    host.run(timeout_s=2)
    got = host.shares()
    host.close()
    assert got["g0"] < got["g1"] < got["g2"] < got["g3"]  # the order always; the exact 10/20/30/40 % when the host is quiet


def test_round_robin_is_even(images):
    host = Host(pool_size_mib=64, pcpus=1, policy="rr", slice_insns=100_000)
    for i in range(3):
        host.add(spinner(f"g{i}", images, weight=100 * (i + 1)))  # weights mean nothing to rr
    host.run(timeout_s=1.5)
    slices = [g.slices for g in host.guests]
    host.close()
    assert max(slices) - min(slices) <= 1


@pytest.mark.parametrize("cap", [10, 30])
def test_cap_is_never_exceeded_by_more_than_one_slice(images, cap):
    host = Host(pool_size_mib=64, pcpus=2, policy="credit", slice_insns=100_000)
    host.add(spinner("capped", images, cap_percent=cap))
    host.add(spinner("free", images))
    host.run(timeout_s=2)
    policy = host.policy
    limit = policy.cap_insns(host.guest("capped")) + policy.slice_insns
    used = [period.get("capped", 0) for period in policy.history]
    host.close()
    assert len(used) > 10 and max(used) <= limit


def test_a_guest_that_crashes_spins_or_faults_stops_nobody(images, tmp_path):
    host = Host(pool_size_mib=128, pcpus=2, slice_insns=200_000)
    hello = host.add(GuestSpec("hello", image=HELLO, mem_size_mib=16))
    host.add(spinner("spin", images))
    crash = host.add(GuestSpec("crash", image=images["finish"], bios=None, mem_size_mib=4))
    crash.machine.uart.line = StaticInput(b"z")  # finisher FAIL with code 0 -> status 1
    greedy = host.add(GuestSpec("greedy", image=images["touch"], bios=None, mem_size_mib=64, mem_limit_mib=2))
    host.run(timeout_s=20, until="done")
    stats = host.stats()
    greedy_frames = greedy.machine.vm.memory.frames_owned
    host.close()
    assert stats["hello"]["status"] == 0 and hello.state == "done"
    assert stats["crash"]["status"] == 1 and stats["greedy"]["status"] == 1  # its own limit, its own problem
    assert stats["spin"]["state"] in ("runnable", "running") and stats["spin"]["insns"] > 0
    assert greedy_frames == 512




def test_idle_guests_cost_no_host_cpu():
    host = Host(pool_size_mib=128, pcpus=2)
    for i in range(4):
        host.add(GuestSpec(f"idle{i}", image=HELLO, mem_size_mib=16, boot_args="idle"))
    host.run(timeout_s=30, until="idle")
    slices = {g.name: g.slices for g in host.guests}
    assert all(g.state == "idle" for g in host.guests)
    host.run(timeout_s=0.5)  # nothing armed: nobody is scheduled again
    assert {g.name: g.slices for g in host.guests} == slices
    host.close()


def test_ksm_merges_identical_pages_and_writes_stay_private():
    host = Host(pool_size_mib=128, pcpus=2)
    a = host.add(GuestSpec("a", image=HELLO, mem_size_mib=16, boot_args="idle"))
    b = host.add(GuestSpec("b", image=HELLO, mem_size_mib=16, boot_args="idle"))
    host.run(timeout_s=30, until="idle")
    used = host.pool.nframes - host.pool.frames_free
    result = host.ksm_scan()
    assert result["merged"] > 0 and host.pool.frames_free > host.pool.nframes - used
    kernel = 0x80200000  # the same kernel page, now one frame shared read-only by both
    mem_a, mem_b = a.machine.vm.memory, b.machine.vm.memory
    gfn = (kernel - mem_a.ram_base) >> 12
    assert mem_a.frame(gfn, allocate=False) == mem_b.frame(gfn, allocate=False)
    b.machine.vm.write_phys(kernel, b"written by b")  # a host write to b's copy
    assert a.machine.vm.read_phys(kernel, 12) != b"written by b"
    assert mem_a.frame(gfn, allocate=False) != mem_b.frame(gfn, allocate=False)
    host.close()


def test_overcommit_is_refused_with_a_clear_message(images, tmp_path):
    log = tmp_path / "greedy.log"
    with open(log, "w") as sink:
        m = Machine(MachineConfig(image=images["touch"], bios=None, mem_size_mib=256), pool=FramePool(size_mib=8))
        m.log = sink
        assert m.run() == 1
        m.close()
    assert "out of memory" in log.read_text() and "host frame pool (2048 frames of 4 KiB) is exhausted" in log.read_text()


def test_pyhv_run_config(tmp_path, images):
    config = tmp_path / "host.json"
    config.write_text(json.dumps({
        "host": {"pool_size_mib": 128, "pcpus": 2, "policy": "credit"},
        "vms": [{"name": "one", "image": HELLO, "mem_size_mib": 32},
                {"name": "two", "image": HELLO, "mem_size_mib": 32, "weight": 512}],
    }))
    r = subprocess.run([sys.executable, "-m", "pyhv", "run", str(config), "--log-dir", str(tmp_path / "logs")],
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert b"one" in r.stderr and b"two" in r.stderr  # the table
    for name in ("one", "two"):
        assert "hello: all done, powering off" in (tmp_path / "logs" / f"{name}.log").read_text()


@pytest.mark.parametrize(
    "content,message",
    [
        ("{", "not valid JSON"),
        ('{"vms": []}', 'needs a non-empty "vms" list'),
        ('{"vms": [{"name": "x", "ram": 5}]}', "unknown keys ['ram']"),
        ('{"vms": [{"name": "x", "weight": 0}]}', "weight must be 1..65535"),
        ('{"host": {"cores": 2}, "vms": [{"name": "x"}]}', "unknown host keys ['cores']"),
    ],
)
def test_bad_configurations(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(str(path))
    r = subprocess.run([sys.executable, "-m", "pyhv", "run", str(path)], capture_output=True, timeout=60)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and b"Traceback" not in r.stderr


def test_overcommit_reclaims_through_ksm_before_refusing(images, tmp_path):
    """The VMs' RAM adds up to more than the pool; when it runs out the host merges
    identical pages (KSM) and the guest goes on; only when nothing is left is it refused."""
    host = Host(pool_size_mib=2, pcpus=1, log_dir=str(tmp_path))  # 512 frames for 8 x 16 MiB + 64 MiB of RAM
    for i in range(8):
        host.add(GuestSpec(f"idle{i}", image=HELLO, mem_size_mib=16, boot_args="idle"))
    host.run(timeout_s=60, until="idle")
    assert host.pool.frames_free < 512 - 8 * 30
    greedy = host.add(GuestSpec("greedy", image=images["touch"], bios=None, mem_size_mib=64))
    host.run(timeout_s=60, until="idle")
    stats = host.stats()
    touched = greedy.machine.cpu["s1"]
    host.close()
    assert stats["greedy"]["status"] == 1
    assert all(stats[f"idle{i}"]["frames_shared"] > 20 for i in range(8))  # KSM merged their pages
    assert touched > 512 - 8 * 36  # it got more than the pool had left before the merge


def test_overcommit_reclaims_through_the_balloon(images, tmp_path):
    """A ballooned guest holds all its RAM; when another guest runs the pool dry, the
    host raises the balloon's target, the guest gives pages back, and the other goes on."""
    host = Host(pool_size_mib=24, pcpus=1, log_dir=str(tmp_path), ksm_on_oom=False)  # the balloon alone
    lender = host.add(GuestSpec("lender", image=HELLO, mem_size_mib=16, boot_args="balloon", balloon=True))
    host.run(timeout_s=60, until="idle")
    held = lender.machine.vm.memory.frames_owned
    assert held > 2000 and lender.machine.balloon is not None
    free_before = host.pool.frames_free
    greedy = host.add(GuestSpec("greedy", image=images["touch"], bios=None, mem_size_mib=64, mem_limit_mib=20))
    host.run(timeout_s=120, until="idle")
    given_back = lender.machine.balloon.counters["released_frames"]
    touched = greedy.machine.cpu["s1"]
    host.close()
    assert given_back > 0
    assert touched > free_before  # it used frames the lender's balloon returned
