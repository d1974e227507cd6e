"""`pyhv bench cpu`: the six compiled-C workloads (guests/bench/) compute the checksums their
Python references compute, on every engine and in both modes; pyhv's two MMU modes retire
exactly the same instructions; a wrong checksum fails the run; the CLI's JSON has the promised
shape, with null QEMU ratios and "peer not installed" when QEMU is absent.  No timings asserted.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from pyhv import bench_cpu as bc
from pyhv.toolchain import BENCH_WORKLOADS

WORKLOADS = list(bc.WORKLOADS)


@pytest.fixture(scope="module")
def expected():
    return {name: bc.WORKLOADS[name][2]() for name in WORKLOADS}


def test_every_workload_is_built_by_the_toolchain():
    assert tuple(WORKLOADS) == BENCH_WORKLOADS


@pytest.mark.parametrize("name", WORKLOADS)
@pytest.mark.parametrize("mode", ["bare", "sv32"])
def test_checksums_and_instruction_counts_agree(name, mode, expected):
    image = bc.program(name, mode, 2, expected[name])
    _, insns_pyhv = bc.run_pyhv(image, name, expected[name], "pyhv")
    _, insns_ummu = bc.run_pyhv(image, name, expected[name], "unicorn")
    bc.run_raw(image, name, expected[name])  # raises unless the raw engine gets the same checksum
    assert insns_pyhv == insns_ummu
    _, insns_one = bc.run_pyhv(bc.program(name, mode, 1, expected[name]), name, expected[name], "pyhv")
    assert 0 < insns_one < insns_pyhv  # a repetition is real work, counted once per run


def test_sv32_mode_really_pages(expected):
    """sv32 differs from bare only by the table set-up: a few thousand instructions, same checksum."""
    counts = {mode: bc.run_pyhv(bc.program("interp", mode, 1, expected["interp"]), "interp", expected["interp"],
                                "pyhv")[1] for mode in ("bare", "sv32")}
    assert counts["bare"] < counts["sv32"] < counts["bare"] + 50_000


@pytest.mark.parametrize("engine", ["raw", "pyhv", "unicorn"])
def test_a_wrong_checksum_fails_the_run(engine, expected):
    image = bc.program("crc32", "sv32", 1, expected["crc32"] ^ 1)
    with pytest.raises(bc.BenchError, match="finisher word 0x13333"):
        if engine == "raw":
            bc.run_raw(image, "crc32", expected["crc32"] ^ 1)
        else:
            bc.run_pyhv(image, "crc32", expected["crc32"] ^ 1, engine)


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "pyhv", "bench", "cpu", *args], capture_output=True, text=True,
                          timeout=900, env=env)


def test_cli_json_shape_without_qemu():
    env = dict(os.environ, PATH=os.path.dirname(sys.executable))  # no qemu-system-riscv32 on PATH
    r = _cli("--json", "--scale", "0.05", "--reps", "2", "--workloads", "interp,crc32", env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [w["workload"] for w in out["workloads"]] == ["interp", "crc32"]
    assert out["qemu"] == "peer not installed" and out["reps"] == 2
    for key in ("pyhv_over_raw_bare", "pyhv_over_raw_sv32"):
        assert out["geomean"][key] > 0
    for key in ("pyhv_over_qemu_bare", "pyhv_over_qemu_sv32"):
        assert out["geomean"][key] is None and out["geomean_cpu"][key] is None
    for row in out["workloads"]:
        assert row["what"] and row["repetitions"] == max(1, round(bc.WORKLOADS[row["workload"]][1] * 0.05))
        assert row["checksum"] == f"0x{bc.WORKLOADS[row['workload']][2]():08x}"
        for mode in ("bare", "sv32"):
            engines = row["modes"][mode]["engines"]
            assert row["modes"][mode]["insns"] > 0 and engines["qemu"] is None
            for engine in ("raw", "pyhv", "pyhv-ummu"):
                assert set(engines[engine]) == {"median_s", "spread_pct", "mips", "cpu_median_s", "cpu_spread_pct"}
                assert engines[engine]["median_s"] > 0 and engines[engine]["cpu_median_s"] > 0
    text = _cli("--scale", "0.05", "--reps", "1", "--workloads", "interp", env=env)
    assert text.returncode == 0 and "peer not installed" in text.stdout


def test_cli_rejects_unknown_workload():
    r = _cli("--workloads", "crc32,nope")
    assert r.returncode == 2 and r.stderr.startswith("pyhv bench: error: unknown workload 'nope'") and "Traceback" not in r.stderr


@pytest.mark.skipif(shutil.which(bc.QEMU) is None,
                    reason="qemu-system-riscv32 not on PATH (Debian: apt-get install qemu-system-misc)")
@pytest.mark.parametrize("mode", ["bare", "sv32"])
def test_qemu_runs_the_same_binaries(mode, expected, tmp_path):
    for name in WORKLOADS:
        bc.run_qemu(bc.program(name, mode, 1, expected[name]), name, str(tmp_path))  # exit 0: checksum matched
    with pytest.raises(bc.BenchError, match="exited with status 1"):
        bc.run_qemu(bc.program("interp", mode, 1, expected["interp"] ^ 1), "interp", str(tmp_path))
