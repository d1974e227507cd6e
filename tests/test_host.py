"""The hypervisor: many VMs on one host, the scheduler's shares and caps, isolation of
failures, page sharing (KSM), per-VM limits and overcommit, `pyhv run`.

Scheduling is accounted in guest instructions, so shares are checked against the
weights without timing the host; the runs use wall time only to bound their length."""

import io
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from pyhv import image
from pyhv._native import lib
from pyhv.console import Console, StaticInput
from pyhv.errors import ConfigError, OutOfMemory, PyhvError
from pyhv.host import Guest, GuestSpec, Host, load_config
from pyhv.machine import Machine, MachineConfig
from pyhv.memory import FramePool
from pyhv.scheduler import POLICIES

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


@pytest.fixture(params=sorted(POLICIES))
def policy(request):
    """The host tests that are not about one policy run under every scheduling policy."""
    return request.param


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


def run_periods(host, periods):
    """Run until the credit policy has closed `periods` accounting periods: a count, so
    the result does not depend on how busy the machine is."""
    for _ in range(1000):
        if len(host.policy.history) >= periods:
            return
        host.run(timeout_s=0.25)
    pytest.fail("the host stopped running")


@settings(max_examples=5, deadline=None, derandomize=True)
@given(st.lists(st.integers(1, 8), min_size=2, max_size=4))
def test_credit_shares_follow_weights(images, weights):
    # One pCPU: the policy alone decides (with two, a worker the host OS descheduled
    # mid-slice lets the other pCPU run more of the rest, whatever the policy says).
    host = Host(pool_size_mib=64, pcpus=1, policy="credit", slice_insns=50_000)
    for i, w in enumerate(weights):
        host.add(spinner(f"g{i}", images, weight=128 * w))
    run_periods(host, 40)
    expected = fair_shares({f"g{i}": w for i, w in enumerate(weights)}, 1)
    got = host.shares()
    host.close()
    for name, share in expected.items():
        assert abs(got[name] - share) <= 0.05, (weights, got, expected)


def test_credit_on_two_pcpus_is_work_conserving_and_weighted(images):
    host = Host(pool_size_mib=64, pcpus=2, policy="credit", slice_insns=100_000)
    for i, w in enumerate((1, 2, 3, 4)):
        host.add(spinner(f"g{i}", images, weight=128 * w))
    run_periods(host, 20)
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
    run_periods(host, 12)
    policy = host.policy
    limit = policy.cap_insns(host.guest("capped")) + policy.slice_insns
    used = [period.get("capped", 0) for period in policy.history]
    host.close()
    assert len(used) > 10 and max(used) <= limit


def stop_when_done(host, names):
    """Stop the host's run once the named guests are done (the others may spin forever)."""
    def check(g):
        if all(not host.guest(n).alive for n in names):
            host.stop()
    host.on_exit.append(check)


def test_a_guest_that_crashes_spins_or_faults_stops_nobody(images, tmp_path, policy):
    host = Host(pool_size_mib=128, pcpus=2, slice_insns=200_000, policy=policy)
    hello = host.add(GuestSpec("hello", image=HELLO, mem_size_mib=16))
    host.add(spinner("spin", images))
    crash = host.add(GuestSpec("crash", image=images["finish"], bios=None, mem_size_mib=4))
    crash.machine.uart.line = StaticInput(b"z")  # finisher FAIL with code 0 -> status 1
    greedy = host.add(GuestSpec("greedy", image=images["touch"], bios=None, mem_size_mib=64, mem_limit_mib=2))
    stop_when_done(host, ("hello", "crash", "greedy"))
    host.run(timeout_s=120, until="done")
    stats = host.stats()
    greedy_frames = greedy.machine.vm.memory.frames_owned
    host.close()
    assert stats["hello"]["status"] == 0 and hello.state == "done"
    assert stats["crash"]["status"] == 1 and stats["greedy"]["status"] == 1  # its own limit, its own problem
    assert stats["spin"]["state"] in ("runnable", "running") and stats["spin"]["insns"] > 0
    assert greedy_frames == 512
    assert "out of memory" in stats["greedy"]["reason"] and "limit of 512 frames" in stats["greedy"]["reason"]
    assert "finisher code 1" in stats["crash"]["reason"]
    assert stats["hello"]["reason"] == "" and stats["spin"]["reason"] == ""


def test_idle_guests_cost_no_host_cpu(policy):
    host = Host(pool_size_mib=128, pcpus=2, policy=policy)
    for i in range(4):
        host.add(GuestSpec(f"idle{i}", image=HELLO, mem_size_mib=16, boot_args="idle"))
    host.run(timeout_s=30, until="idle")
    slices = {g.name: g.slices for g in host.guests}
    assert all(g.state == "idle" for g in host.guests)
    host.run(timeout_s=0.5)  # nothing armed: nobody is scheduled again
    assert {g.name: g.slices for g in host.guests} == slices
    host.close()


def test_ksm_merges_identical_pages_and_writes_stay_private(policy):
    host = Host(pool_size_mib=128, pcpus=2, policy=policy)
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


def test_pyhv_run_config(tmp_path, images, policy):
    # hello sleeps on its timer: under rr the first wake-up killed a worker (a TypeError) and
    # the run ended with status 0 and hello's console unfinished
    config = tmp_path / "host.json"
    config.write_text(json.dumps({
        "host": {"pool_size_mib": 128, "pcpus": 2, "policy": policy},
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
        ('{"vms": [{"name": "x", "weight": 0}]}', "weight must be an integer 1..65535"),
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


def test_overcommit_reclaims_through_ksm_before_refusing(images, tmp_path, policy):
    """The VMs' RAM adds up to more than the pool; when it runs out the host merges
    identical pages (KSM) and the guest goes on; only when nothing is left is it refused."""
    host = Host(pool_size_mib=2, pcpus=1, log_dir=str(tmp_path), policy=policy)  # 512 frames for 8 x 16 MiB + 64 MiB of RAM
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


def test_overcommit_reclaims_through_the_balloon(images, tmp_path, policy):
    """A ballooned guest holds all its RAM; when another guest runs the pool dry, the
    host raises the balloon's target, the guest gives pages back, and the other goes on."""
    host = Host(pool_size_mib=24, pcpus=1, log_dir=str(tmp_path), ksm_on_oom=False, policy=policy)  # the balloon alone
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


# ---- hostile guests: a failing guest ends alone ------------------------------------------------
def test_a_guest_whose_slice_raises_ends_alone_and_says_why(images, policy):
    """Any exception in a guest's run (a pyhv bug met by that VM, not a PyhvError) ends that
    guest with status 1 and its reason; the worker lives on and the others finish."""
    host = Host(pool_size_mib=64, pcpus=2, slice_insns=100_000, policy=policy)
    bad = host.add(GuestSpec("bad", image=HELLO, mem_size_mib=16))
    host.add(GuestSpec("good", image=HELLO, mem_size_mib=16))
    calls = []

    def step(budget, real=bad.machine.step):
        calls.append(budget)
        if len(calls) == 3:
            raise RuntimeError("boom in a device model")
        return real(budget)

    bad.machine.step = step
    host.run(timeout_s=120)
    stats = host.stats()
    host.close()
    assert stats["bad"]["state"] == "done" and stats["bad"]["status"] == 1
    assert stats["bad"]["reason"] == "internal error: RuntimeError('boom in a device model')"
    assert stats["good"]["status"] == 0 and host.stop_reason == "done"


def test_a_policy_error_ends_the_guest_it_was_about(images):
    """A scheduler callback that raises for one guest (as rr's woke once did) stops that guest."""
    host = Host(pool_size_mib=64, pcpus=2, slice_insns=100_000, policy="rr")
    host.add(GuestSpec("a", image=HELLO, mem_size_mib=16))
    host.add(GuestSpec("b", image=HELLO, mem_size_mib=16))
    woke = host.policy.woke

    def picky(g):
        if g.name == "a":
            raise TypeError("woke() takes 2 positional arguments")
        woke(g)

    host.policy.woke = picky
    host.run(timeout_s=120)
    stats = host.stats()
    host.close()
    assert stats["a"]["status"] == 1 and "internal error in the rr scheduler: TypeError" in stats["a"]["reason"]
    assert stats["b"]["status"] == 0


def test_a_host_bug_ends_the_run_with_an_error_not_a_hang(images):
    host = Host(pool_size_mib=64, pcpus=2, slice_insns=100_000)
    host.add(spinner("s", images))

    def broken_pick():
        raise ValueError("policy bug")

    host.policy.pick = broken_pick
    with pytest.raises(PyhvError, match=r"internal error on pCPU \d: ValueError\('policy bug'\)"):
        host.run(timeout_s=120)
    assert host.stop_reason == "error" and host.guest("s").state == "runnable"
    host.close()


# ---- the life cycle as a state machine: two pCPUs, timers, wake-ups, KSM holds, OOM retries -------
class ModelBalloon:
    def __init__(self):
        self.target_pages = 0

    def set_target(self, pages):
        self.target_pages = pages


class ModelMemory:
    """A VM's memory as _reclaim and ksm_scan see it: no pages mapped, a frame limit."""

    def __init__(self):
        self.s2 = np.zeros(0, dtype=np.uint32)
        self.frames_owned = 0
        self.c = SimpleNamespace(frame_limit=1024)


class ModelPool:
    """A frame pool whose free count the test sets (empty: the OOM path that asks balloons)."""

    frames = np.zeros((0, 4096), dtype=np.uint8)
    frames_free = 100


class ModelMachine:
    """What the host needs of a Machine; step() returns (or raises) what the test scripts."""

    def __init__(self, balloon: bool = False):
        self.insns_total = 0
        self.last_exit = None
        self.harts = []
        self.console = Console(output=io.BytesIO())  # no input: at EOF
        self.balloon = ModelBalloon() if balloon else None
        self.vm = SimpleNamespace(memory=ModelMemory())
        self.outcome = ("run", None)
        self.slept_ticks = 0

    def step(self, budget):
        self.insns_total += budget
        if self.outcome == ("raise", None):
            raise RuntimeError("boom")
        return self.outcome

    def advance_idle(self, ticks):
        self.slept_ticks += ticks

    def close(self):
        pass


OUTCOMES = st.sampled_from([("run", None), ("idle", 1000), ("idle", 20_000), ("idle", 50_000), ("idle", None),
                            ("idle", lib.PYHV_TIMEBASE_HZ // 100),  # an OOM exit waiting for a balloon
                            ("done", 0), ("done", 3), ("raise", None)])


class HostLifeCycle(RuleBasedStateMachine):
    """The host's guest life cycle against a model: which guests are runnable, running
    (on which pCPU), idle (until when), held by a KSM scan, done.  Real Host code, model
    machines and a model clock; hypothesis interleaves the two pCPUs' picks and slice ends
    with timers, notify() wake-ups, KSM holds and OOM retries."""

    POLICY = "credit"
    PCPUS = 2

    def __init__(self):
        super().__init__()
        self.now = 0.0
        self.host = Host(pool=ModelPool(), pcpus=self.PCPUS, policy=self.POLICY, slice_insns=1000,
                         clock=lambda: self.now)
        self.on = {}  # pCPU -> guest it runs
        self.model = {}  # name -> "runnable" | "running" | ("idle", wake time or None) | "done"
        self.kicked = set()
        self.scans = []  # guests held by each KSM scan in progress

    @initialize(n=st.integers(1, 5), balloons=st.sets(st.integers(0, 4)))
    def add_guests(self, n, balloons=frozenset()):
        for i in range(n):
            g = Guest(GuestSpec(f"g{i}"), ModelMachine(balloon=i in balloons))
            self.host._admit(g)
            self.model[g.name] = "runnable"

    def _wake_due(self):
        for name, state in self.model.items():
            if isinstance(state, tuple) and state[1] is not None and state[1] <= self.now:
                self.model[name] = "runnable"

    def held(self, name):
        return sum(1 for scan in self.scans for g in scan if g.name == name)

    @rule(pcpu=st.integers(0, PCPUS - 1))
    def pick(self, pcpu):
        if pcpu in self.on:
            return
        with self.host._lock:
            g = self.host._pick(pcpu)
        self._wake_due()
        if g is None:
            assert not [n for n, s in self.model.items() if s == "runnable" and not self.held(n)], "a runnable guest was left idle"
            return
        assert self.model[g.name] == "runnable" and not self.held(g.name)
        assert g not in self.on.values(), "one guest on two pCPUs"
        self.model[g.name] = "running"
        self.on[pcpu] = g

    @rule(pcpu=st.integers(0, PCPUS - 1), outcome=OUTCOMES)
    def slice_ends(self, pcpu, outcome):
        g = self.on.pop(pcpu, None)
        if g is None:
            return
        g.machine.outcome = outcome
        result = self.host._slice(g)
        with self.host._lock:
            self.host._account(pcpu, g, *result)
        what, value = outcome
        if what in ("done", "raise"):
            self.model[g.name] = "done"
        elif what == "idle" and g.name not in self.kicked:
            self.model[g.name] = ("idle", None if value is None else self.now + value / lib.PYHV_TIMEBASE_HZ)
        else:
            self.model[g.name] = "runnable"
        self.kicked.discard(g.name)

    @rule(i=st.integers(0, 4))
    def notify(self, i):
        """An interrupt from outside (console input, a balloon target the host raised)."""
        if i >= len(self.host.guests):
            return
        g = self.host.guests[i]
        self.host.notify(g)
        if isinstance(self.model[g.name], tuple):
            self.model[g.name] = "runnable"
        elif self.model[g.name] == "running":
            self.kicked.add(g.name)

    @rule(pcpu=st.integers(0, PCPUS - 1), pool_empty=st.booleans())
    def out_of_memory(self, pcpu, pool_empty):
        """The guest on this pCPU needs a frame: the host merges pages (KSM holds everyone
        else) and, if the pool is still empty, asks the ballooned guests for pages (notify)."""
        g = self.on.get(pcpu)
        if g is None:
            return
        self.host.pool.frames_free = 0 if pool_empty else 100
        waits = g.oom_waits
        answer = self.host._reclaim(g)  # in the worker, outside the lock, during g's slice
        lenders = [o for o in self.host.guests if o is not g and o.alive and o.machine.balloon is not None]
        if not pool_empty:
            assert answer is True
            return
        assert answer is (None if lenders and waits < self.host.OOM_PATIENCE else False)
        if answer is None:
            for o in lenders:
                if isinstance(self.model[o.name], tuple):
                    self.model[o.name] = "runnable"
                elif self.model[o.name] == "running":
                    self.kicked.add(o.name)

    @rule(dt=st.sampled_from([0.0001, 0.001, 0.003, 0.01, 1.0]))
    def time_passes(self, dt):
        self.now += dt

    @rule()
    def ksm_scan_begins(self):
        if len(self.scans) < 2:
            self.scans.append(self.host._hold())

    @rule()
    def ksm_scan_ends(self):
        if self.scans:
            self.host._release(self.scans.pop(0))

    @invariant()
    def host_agrees_with_the_model(self):
        for g in self.host.guests:
            want = self.model[g.name]
            assert g.state == (want[0] if isinstance(want, tuple) else want), (g.name, g.state, want)
            assert g.held == self.held(g.name)
            assert (g.pcpu is None) == (g not in self.on.values())
            if isinstance(want, tuple) and want[1] is not None:  # its timer is armed: no wake-up lost
                live = [e for e in self.host._sleepers if e[2] is g and e[1] == g.wake_seq]
                assert len(live) == 1 and abs(live[0][0] - want[1]) < 1e-9
            if g.state == "done":
                assert g.status in (0, 1, 3) and (g.reason != "") == (g.status != 0)
        assert len(set(map(id, self.on.values()))) == len(self.on)

    def teardown(self):
        """Every guest either finishes or is still progressing: with the scans over and
        everyone woken, each guest is picked in turn until all are done."""
        try:
            while self.scans:
                self.ksm_scan_ends()
            for pcpu in list(self.on):
                self.slice_ends(pcpu, ("done", 0))
            for _ in range(10 * len(self.host.guests) + 10):
                if all(not g.alive for g in self.host.guests):
                    break
                self.now += 10.0
                for g in self.host.guests:
                    if g.state == "idle" and g.wake_ticks is None:
                        self.notify(self.host.guests.index(g))
                self.pick(0)
                self.slice_ends(0, ("done", 0))
            assert all(not g.alive for g in self.host.guests), [(g.name, g.state) for g in self.host.guests]
        finally:
            self.host.close()


class HostLifeCycleRR(HostLifeCycle):
    POLICY = "rr"


HostLifeCycle.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
HostLifeCycleRR.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
TestHostLifeCycleCredit = HostLifeCycle.TestCase
TestHostLifeCycleRR = HostLifeCycleRR.TestCase


@pytest.mark.parametrize("policy_name", sorted(POLICIES))
def test_a_stale_timer_does_not_wake_a_guest_early(policy_name):
    """A guest parked with a timer, woken by notify(), then parked again with a later timer:
    the first timer's heap entry is stale and must not wake it."""
    m = HostLifeCycle()
    m.host.policy = POLICIES[policy_name](1000, 2)
    m.add_guests(1)
    m.pick(0)
    m.slice_ends(0, ("idle", 10_000))  # due in 1 ms
    m.notify(0)
    m.pick(0)
    m.time_passes(0.0005)
    m.slice_ends(0, ("idle", 10_000))  # due 1 ms after this
    m.time_passes(0.0006)  # the first timer's moment
    m.pick(1)
    m.host_agrees_with_the_model()
    assert m.host.guests[0].state == "idle"
    m.teardown()


# ---- long runs stay flat ----------------------------------------------------------------------
def test_soak_every_history_is_bounded_and_memory_stays_flat(images, policy, monkeypatch):
    """A long run keeps a window of each history (timeline, memory samples, credit periods),
    never all of it: after the windows fill, thousands more slices allocate no more Python
    memory (tracemalloc bytes) than a few slices' worth of transient objects."""
    import tracemalloc

    from pyhv import host as host_module
    from pyhv import scheduler

    monkeypatch.setattr(host_module, "TIMELINE_ENTRIES", 300)
    monkeypatch.setattr(host_module, "MEMORY_SAMPLES", 5)
    monkeypatch.setattr(scheduler, "HISTORY_PERIODS", 5)
    host = Host(pool_size_mib=64, pcpus=2, slice_insns=2_000, policy=policy)
    for i in range(3):
        host.add(spinner(f"s{i}", images))
    host.add(GuestSpec("hello", image=HELLO, mem_size_mib=16))  # sleeps on its timer, then powers off

    def run_slices(n):
        target = sum(g.slices for g in host.guests) + n
        for _ in range(1000):  # a hang guard: each round is a fraction of a second
            if sum(g.slices for g in host.guests) >= target:
                return
            host.run(timeout_s=0.2)
        pytest.fail("the host stopped running slices")

    tracemalloc.start()
    try:
        run_slices(3000)  # the windows fill
        assert len(host.timeline) == 300 and len(host.memory_timeline) <= 5
        before, slices = tracemalloc.get_traced_memory()[0], sum(g.slices for g in host.guests)
        run_slices(6000)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    ran = sum(g.slices for g in host.guests) - slices
    assert len(host.timeline) == 300 and len(host.memory_timeline) <= 5
    assert len(getattr(host.policy, "history", ())) <= 5
    assert len(host._sleepers) <= 4 * len(host.guests) + 64
    host.close()
    assert ran >= 6000 and grown < 64 * 1024, (ran, grown)  # unbounded: >= 150 bytes a slice, 900 KB


# ---- admission control -------------------------------------------------------------------------
def test_a_vm_the_pool_cannot_hold_is_refused_whole(images, tmp_path, monkeypatch):
    """When the pool cannot hold one more VM, add() refuses it and leaves nothing behind:
    no frames taken, no guest listed, no file left open.  A kernel bigger than what the
    admission check asks for fails half-way through building and gives everything back."""
    big = tmp_path / "big.img"  # 64 KiB of kernel: 16 frames, more than BUILD_FRAMES
    big.write_bytes(image.build((GUESTS / "spin.bin").read_bytes().ljust(64 * 1024, b"\0")))
    from pyhv import host as host_module

    host = Host(pool_size_mib=1, pcpus=1, log_dir=str(tmp_path))  # 256 frames
    added = 0
    monkeypatch.setattr(host_module, "BUILD_FRAMES", 1)  # the build itself runs out
    with pytest.raises(OutOfMemory, match="cannot start VM big"):
        for i in range(64):
            free = host.pool.frames_free
            host.add(GuestSpec(f"big{i}", image=str(big), bios=None, mem_size_mib=4))
            added += 1
    assert added >= 8 and len(host.guests) == added
    assert host.pool.frames_free == free  # the refused VM took nothing
    assert len(host._sinks) == added
    monkeypatch.undo()
    with pytest.raises(OutOfMemory, match=r"the frame pool has \d+ free frames"):  # refused before building
        for i in range(64):
            host.add(spinner(f"small{i}", images))
    host.close()


@pytest.mark.parametrize("kwargs,message", [
    ({"pcpus": 0}, "pcpus must be an integer 1..256 or null, not 0"),
    ({"slice_insns": 0}, "slice_insns must be an integer 1000..1000000000, not 0"),
    ({"slice_insns": -1}, "slice_insns must be an integer"),
    ({"pool_size_mib": "64"}, "pool_size_mib must be an integer"),
    ({"policy": "fifo"}, "unknown scheduling policy 'fifo'"),
])
def test_host_arguments_are_checked(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Host(**{"pool_size_mib": 8, **kwargs})


@pytest.mark.parametrize("spec,message", [
    ({"name": "a/b"}, "not a safe file name"),
    ({"name": "../escaped"}, "not a safe file name"),
    ({"name": "x", "mem_size_mib": "64"}, "mem_size_mib must be an integer"),
    ({"name": "x", "weight": True}, "weight must be an integer"),
])
def test_guest_specs_are_checked_before_anything_is_built(tmp_path, spec, message):
    host = Host(pool_size_mib=8, log_dir=str(tmp_path))
    with pytest.raises(ConfigError, match=message):
        host.add(GuestSpec(**{"image": HELLO, **spec}))
    assert host.guests == [] and not list(tmp_path.parent.rglob("*escaped*")) and not list(tmp_path.iterdir())
    host.close()
