"""A wheel works: what `pip install .`, pipx or a package index gives a user carries every
file pyhv reads at run time (pyhv/data: the BIOS, tinyos.img for `mkimage --tinyos`), and
`pyhv boot` runs from that install with no checkout in sight.  (.ci/run does the same in a
fresh venv with the wheel's declared dependencies.)"""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory):
    """The wheel built from this tree, installed into a bare directory (its dependencies are
    this interpreter's: numpy, cffi, unicorn)."""
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp / "dist"), str(ROOT)], check=True, capture_output=True, timeout=600)
    (wheel,) = (tmp / "dist").glob("pyhv-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(tmp / "site"),
                    str(wheel)], check=True, capture_output=True, timeout=600)
    return wheel, tmp / "site"


def test_the_wheel_carries_the_run_time_files(installed_wheel):
    wheel, _ = installed_wheel
    with zipfile.ZipFile(wheel) as z:
        assert z.read("pyhv/data/bios.bin") == (ROOT / "firmware" / "bios.bin").read_bytes()
        assert z.read("pyhv/data/tinyos.img") == (ROOT / "guests" / "tinyos.img").read_bytes()
        assert any(name.startswith("pyhv/_core") for name in z.namelist())  # the C core is built in


def test_pyhv_boots_tinyos_from_the_installed_wheel(installed_wheel, tmp_path):
    _, site = installed_wheel
    shutil.copy(ROOT / "guests" / "tinyos.img", tmp_path / "tinyos.img")
    env = dict(os.environ, PYTHONPATH=str(site))
    where = subprocess.run([sys.executable, "-c", "import pyhv, pyhv.machine as m; print(pyhv.__file__, m.DEFAULT_BIOS)"],
                           capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    module, bios = where.stdout.split()
    assert Path(module).is_relative_to(site) and Path(bios).is_relative_to(site)
    r = subprocess.run([sys.executable, "-m", "pyhv", "boot", "tinyos.img"], input=b"poweroff\n",
                       capture_output=True, cwd=tmp_path, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert b"pyhv BIOS" in r.stdout and b"tinyos# " in r.stdout
    r = subprocess.run([sys.executable, "-m", "pyhv", "mkimage", "--tinyos", "-o", "mine.img"], capture_output=True,
                       cwd=tmp_path, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "mine.img").read_bytes() == (ROOT / "guests" / "tinyos.img").read_bytes()
