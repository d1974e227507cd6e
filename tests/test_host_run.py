"""`pyhv run` as a user meets it: real processes, real signals, configurations with mistakes,
guests that fail, exit statuses (pyhv/hostui.py).

Wall time appears only as hang guards (`timeout=` on a subprocess) and as a pause that lets
a run get busy before it is signalled; the assertions are on statuses, lines and files."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pyhv import image
from pyhv.host import HOST_MIB_PER_VCPU, mem_available_mib

ROOT = Path(__file__).resolve().parent.parent
HELLO = str(ROOT / "guests" / "hello.img")
TINYOS = str(ROOT / "guests" / "tinyos.img")
PYHV = [sys.executable, "-m", "pyhv", "run"]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("images")
    out = {}
    for name in ("spin", "touch"):
        path = d / f"{name}.img"
        path.write_bytes(image.build((ROOT / "tests" / "guests" / f"{name}.bin").read_bytes()))
        out[name] = str(path)
    return out


def write_config(tmp_path, vms, **host):
    path = tmp_path / "host.json"
    path.write_text(json.dumps({"host": {"pool_size_mib": 128, "pcpus": 2, **host}, "vms": vms}))
    return str(path)


def start(config, *args, **kw):
    p = subprocess.Popen(PYHV + [config, *args], stderr=subprocess.PIPE, stdout=subprocess.PIPE, **kw)
    line = p.stderr.readline()  # "pyhv: N VMs on M pCPUs ...": every VM is built, the workers start
    assert b"VMs on" in line, line + p.stderr.read()
    return p


def finish(p, timeout=60):
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        pytest.fail("pyhv run did not end (hang)")
    return p.returncode, err.decode()


# ---- stopping is safe ----------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_stops_busy_guests_on_two_pcpus(tmp_path, images, sig):
    """SIGINT used to free guest memory while both workers were in the engine (a segfault)."""
    spin = {"image": images["spin"], "bios": None, "mem_size_mib": 4}
    config = write_config(tmp_path, [{"name": "a", **spin}, {"name": "b", **spin}])
    p = start(config, "--log-dir", str(tmp_path / "logs"))
    time.sleep(0.5)  # both pCPUs inside the engine
    p.send_signal(sig)
    status, err = finish(p)
    assert status == 128 + sig, err
    assert f"pyhv: stopped by {signal.Signals(sig).name}" in err and "Traceback" not in err
    assert err.count("\na ") == 1 and err.count("\nb ") == 1  # the final table, once


def test_sigint_to_an_idle_run_ends_it(tmp_path):
    """tinyos at its prompt waits for input (its console attached to a pipe that stays open):
    SIGINT used to print "interrupted" and then hang in thread shutdown."""
    config = write_config(tmp_path, [{"name": "os", "image": TINYOS, "mem_size_mib": 32}])
    p = start(config, "--attach", "os", stdin=subprocess.PIPE)
    out = b""
    while b"tinyos# " not in out:  # booted to the prompt: idle
        chunk = p.stdout.read1(4096)
        assert chunk, "tinyos stopped before its prompt"
        out += chunk
    p.send_signal(signal.SIGINT)
    status, err = finish(p)
    p.stdin.close()
    assert status == 130, err
    assert "stopped by SIGINT" in err


def test_signal_stops_and_flushes_a_writable_disk(tmp_path):
    """A guest writing its own disk (snapshot off) is stopped by SIGTERM; the image it leaves
    is a whole file system (the backend was closed after the workers stopped)."""
    from pyhv import tinyfs

    disk = tmp_path / "os.img"
    disk.write_bytes(Path(TINYOS).read_bytes())
    config = write_config(tmp_path, [{"name": "os", "image": str(disk), "mem_size_mib": 32, "snapshot": False}])
    p = start(config, "--attach", "os", stdin=subprocess.PIPE)
    p.stdin.write(b"echo persisted > /f\n")
    p.stdin.flush()
    out = b""
    while out.count(b"tinyos# ") < 2:
        chunk = p.stdout.read1(4096)
        assert chunk, out
        out += chunk
    p.send_signal(signal.SIGTERM)
    status, err = finish(p)
    p.stdin.close()
    assert status == 128 + signal.SIGTERM, err
    reader = tinyfs.Reader(disk.read_bytes(), str(disk))
    assert reader.read(reader.lookup("/f")) == b"persisted\n"


# ---- pyhv run says what happened --------------------------------------------------------------
def test_timeout_with_idle_guests_is_124_and_the_table_is_printed_once(tmp_path):
    """--help promises 124 when --timeout passes first; idle guests used to give 0.  With
    stderr not a terminal the table used to be printed every second; now once, at the end."""
    config = write_config(tmp_path, [{"name": "os", "image": TINYOS, "mem_size_mib": 32}])
    r, w = os.pipe()  # its console's input stays open: it is idle, not stuck
    p = start(config, "--attach", "os", "--timeout", "3", stdin=r)
    os.close(r)
    status, err = finish(p)
    os.close(w)
    assert status == 124, err
    assert err.count("VM ") == 1 and "--timeout 3 s passed" in err


def test_a_guest_that_can_never_finish_is_an_error_not_a_hang(tmp_path):
    config = write_config(tmp_path, [{"name": "idle", "image": HELLO, "mem_size_mib": 16, "boot_args": "idle"},
                                     {"name": "ok", "image": HELLO, "mem_size_mib": 16}])
    r = subprocess.run(PYHV + [config, "--log-dir", str(tmp_path / "logs")], capture_output=True, timeout=120)
    err = r.stderr.decode()
    assert r.returncode == 1 and "can never finish" in err and "idle" in err.splitlines()[-1]
    r = subprocess.run(PYHV + [config, "--until", "idle", "--log-dir", str(tmp_path / "logs")], capture_output=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr


def test_a_failed_guest_says_why_in_the_table_and_at_exit(tmp_path, images):
    config = write_config(tmp_path, [
        {"name": "greedy", "image": images["touch"], "bios": None, "mem_size_mib": 64, "mem_limit_mib": 2},
        {"name": "ok", "image": HELLO, "mem_size_mib": 16}])
    r = subprocess.run(PYHV + [config, "--log-dir", str(tmp_path / "logs"), "--policy", "rr"], capture_output=True,
                       timeout=120)
    err = r.stderr.decode()
    assert r.returncode == 1, err
    row = next(line for line in err.splitlines() if line.startswith("greedy "))
    assert "out of memory: the guest needs a new page and it reached its limit of 512 frames" in row
    assert "pyhv: VM greedy failed (status 1): out of memory" in err
    assert "stopped with status 1: out of memory" in (tmp_path / "logs" / "greedy.log").read_text()


BAD_VALUES = [
    ({"mem_size_mib": "64"}, "mem_size_mib must be an integer 1..2048, not '64'"),
    ({"mem_size_mib": 0}, "mem_size_mib must be an integer"),
    ({"weight": True}, "weight must be an integer 1..65535, not True"),
    ({"cap_percent": "25"}, "cap_percent must be an integer 0..100"),
    ({"mem_limit_mib": 1.5}, "mem_limit_mib must be an integer"),
    ({"vcpu_count": "2"}, "vcpu_count must be an integer 1..8"),
    ({"snapshot": "no"}, "snapshot must be true or false"),
    ({"balloon": 1}, "balloon must be true or false"),
    ({"boot_args": 7}, "boot_args must be a string"),
    ({"drives": "disk.img"}, "drives must be a list of paths"),
    ({"image": 5}, "image must be a path"),
    ({"name": "a/b"}, "VM name 'a/b' is not a safe file name"),
    ({"name": "../escaped"}, "VM name '../escaped' is not a safe file name"),
    ({"name": ""}, "is not a safe file name"),
    ({"name": 3}, "VM name 3 is not a safe file name"),
]
BAD_HOST = [
    ({"pcpus": "2"}, "pcpus must be an integer 1..256"),
    ({"pcpus": 0}, "pcpus must be an integer 1..256"),
    ({"slice_insns": -1}, "slice_insns must be an integer 1000..1000000000"),
    ({"slice_insns": 0}, "slice_insns must be an integer"),
    ({"pool_size_mib": "512"}, "pool_size_mib must be an integer"),
    ({"policy": 1}, "unknown scheduling policy 1"),
]


@pytest.mark.parametrize("vm,message", BAD_VALUES, ids=[str(v) for v, _ in BAD_VALUES])
def test_a_bad_vm_value_is_one_line_before_anything_runs(tmp_path, vm, message):
    config = write_config(tmp_path, [{"name": "x", "image": HELLO, **vm}])
    logs = tmp_path / "logs"
    r = subprocess.run(PYHV + [config, "--log-dir", str(logs)], capture_output=True, timeout=60)
    err = r.stderr.decode()
    assert r.returncode == 1 and len(err.strip().splitlines()) == 1, err
    assert message in err and "internal error" not in err and "Traceback" not in err
    assert not list(tmp_path.rglob("*.log"))  # nothing was built, nothing written (in or outside --log-dir)


@pytest.mark.parametrize("host,message", BAD_HOST, ids=[str(h) for h, _ in BAD_HOST])
def test_a_bad_host_value_is_one_line_before_anything_runs(tmp_path, host, message):
    config = write_config(tmp_path, [{"name": "x", "image": HELLO}], **host)
    r = subprocess.run(PYHV + [config, "--log-dir", str(tmp_path / "logs")], capture_output=True, timeout=60)
    err = r.stderr.decode()
    assert r.returncode == 1 and len(err.strip().splitlines()) == 1, err
    assert message in err and "internal error" not in err


def test_a_junk_image_is_refused_up_front(tmp_path):
    junk = tmp_path / "junk.img"
    junk.write_bytes(os.urandom(4096))
    config = write_config(tmp_path, [{"name": "ok", "image": HELLO}, {"name": "junk", "image": str(junk)}])
    r = subprocess.run(PYHV + [config, "--log-dir", str(tmp_path / "logs")], capture_output=True, timeout=60)
    err = r.stderr.decode()
    assert r.returncode == 1 and len(err.strip().splitlines()) == 1, err
    assert "vm 'junk':" in err and "no pyhv boot header" in err


# ---- admission control ----------------------------------------------------------------------------
def test_more_vms_than_the_machine_can_hold_are_refused_up_front(tmp_path):
    """10 000 VMs of 4 MiB used to be built one by one until the kernel's OOM killer ended
    pyhv, silently.  Now the whole configuration is weighed first and refused in one line."""
    available = mem_available_mib()
    if available is None:
        pytest.skip("no /proc/meminfo")
    n = int(available / HOST_MIB_PER_VCPU) + 200
    config = write_config(tmp_path, [{"name": f"vm{i}", "image": HELLO, "mem_size_mib": 4} for i in range(n)],
                          pool_size_mib=2048)
    r = subprocess.run(PYHV + [config, "--log-dir", str(tmp_path / "logs")], capture_output=True, timeout=120)
    err = r.stderr.decode()
    assert r.returncode == 1 and len(err.strip().splitlines()) == 1, err
    assert f"cannot hold {n} VMs: they need about" in err and "MiB available" in err
    assert not list((tmp_path / "logs").glob("*.log"))  # not one VM was built
