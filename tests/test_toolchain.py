"""pyhv.toolchain: the target table, the CLI's failure modes, and (with the
pinned ziglang installed, marker `toolchain`) deterministic builds that match
the committed binaries."""

import subprocess
import sys
from pathlib import Path

import pytest

from pyhv import toolchain


def test_target_table_is_consistent():
    names = [t.name for t in toolchain.TARGETS]
    outputs = [t.output for t in toolchain.TARGETS]
    assert len(set(names)) == len(names)
    assert len(set(outputs)) == len(outputs)
    for t in toolchain.TARGETS:
        for path in (*t.sources, t.linker_script or ""):
            assert path == "" or (toolchain.ROOT / path).is_file(), f"{t.name}: {path} missing"
        assert t.sources or t.post, f"{t.name}: neither sources nor a post-step"
        assert set(t.deps) <= set(names)


def test_every_test_program_is_a_target():
    sources = {s for t in toolchain.TARGETS for s in t.sources}
    for path in sorted((toolchain.ROOT / "tests" / "guests").glob("*.S")):
        assert str(path.relative_to(toolchain.ROOT)) in sources


def test_missing_ziglang_is_one_clear_line(monkeypatch, capsys):
    monkeypatch.setattr(toolchain, "installed_zig_version", lambda: None)
    assert toolchain.main(["check"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "pip install ziglang==0.15.1" in err


def test_wrong_ziglang_version_is_refused(monkeypatch, capsys):
    monkeypatch.setattr(toolchain, "installed_zig_version", lambda: "0.11.0")
    assert toolchain.main(["build", "test-selfmod"]) == 1
    assert "0.11.0 found, 0.15.1 required" in capsys.readouterr().err


def test_unknown_target_is_one_clear_line(capsys):
    assert toolchain.main(["build", "no-such-target"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "unknown target 'no-such-target'" in err


@pytest.mark.toolchain
def test_build_is_deterministic(tmp_path):
    first = toolchain.build(["test-selfmod"], tmp_path / "a")["test-selfmod"].read_bytes()
    second = toolchain.build(["test-selfmod"], tmp_path / "b")["test-selfmod"].read_bytes()
    assert first == second
    assert first == (toolchain.ROOT / "tests/guests/selfmod.bin").read_bytes()


@pytest.mark.toolchain
def test_committed_binaries_match_sources():
    proc = subprocess.run(
        [sys.executable, "-m", "pyhv.toolchain", "check"],
        cwd=toolchain.ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = proc.stdout.splitlines()
    committed = [t.name for t in toolchain.TARGETS if t.committed]  # intermediates are not compared
    assert sorted(lines) == sorted(f"ok {name}" for name in committed), proc.stdout + proc.stderr
    assert proc.returncode == 0


@pytest.mark.toolchain
def test_post_step_sees_its_dependencies(tmp_path, monkeypatch):
    """A target without sources, built by a Python post-step from another target."""

    def concat_twice(out: Path, built):
        out.write_bytes(built["test-selfmod"].read_bytes() * 2)

    image = toolchain.Target(name="twice", output="out/twice.img", deps=("test-selfmod",), post=concat_twice)
    monkeypatch.setattr(toolchain, "TARGETS", (*toolchain.TARGETS, image))
    built = toolchain.build(["twice"], tmp_path)
    assert list(built) == ["test-selfmod", "twice"]
    assert built["twice"].read_bytes() == built["test-selfmod"].read_bytes() * 2
