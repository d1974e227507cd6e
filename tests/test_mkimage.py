"""Building your own image: `pyhv mkimage --tinyos --add HOST:GUEST` gives a tinyos image that
boots to the same shell with the user's files in it; `pyhv --version`."""

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyhv import cli, image, tinyfs

ROOT = Path(__file__).resolve().parent.parent
TINYOS = ROOT / "guests" / "tinyos.img"


def pyhv(*args, input=b"", cwd=None):
    return subprocess.run([sys.executable, "-m", "pyhv", *args], input=input, capture_output=True, cwd=cwd, timeout=300)


def test_mkimage_tinyos_alone_rebuilds_the_shipped_image_byte_for_byte(tmp_path):
    r = pyhv("mkimage", "--tinyos", "-o", str(tmp_path / "base.img"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "base.img").read_bytes() == TINYOS.read_bytes()


def test_a_tinyos_image_with_added_files_boots_to_the_shell_and_shows_them(tmp_path):
    (tmp_path / "hello.txt").write_bytes(b"hello from the host\n")
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "sub" / "deep.txt").write_bytes(b"deep file\n")
    r = pyhv("mkimage", "--tinyos", "--add", "hello.txt:/hello.txt", "--add", "tree:/opt", "-o", "my.img", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = pyhv("boot", "my.img", input=b"cat /hello.txt\ncat /opt/sub/deep.txt\nls /bin\npoweroff\n", cwd=tmp_path)
    out = r.stdout.replace(b"\r", b"")
    assert r.returncode == 0, r.stderr
    assert b"hello from the host\n" in out and b"deep file\n" in out  # (the input echo has neither)
    assert b"no init" not in out and b"\nsh " in out  # the base root file system is there


def test_a_bare_root_tree_still_builds_what_it_is_given(tmp_path):
    """Without --tinyos, --root is the whole file system (no /bin added behind the user's back)."""
    (tmp_path / "root" / "etc").mkdir(parents=True)
    (tmp_path / "root" / "etc" / "motd").write_bytes(b"hi\n")
    kernel = tmp_path / "k.bin"
    kernel.write_bytes(b"\x13\x00\x00\x00" * 4)
    r = pyhv("mkimage", str(kernel), "--root", str(tmp_path / "root"), "-o", str(tmp_path / "k.img"))
    assert r.returncode == 0, r.stderr
    paths = [e.path for e in tinyfs.entries((tmp_path / "k.img").read_bytes())]
    assert paths == ["/etc", "/etc/motd"]


@pytest.mark.parametrize(
    "args,status,message",
    [
        (["mkimage", "-o", "x.img"], 2, "pyhv mkimage: error: give a KERNEL, or --tinyos for the tinyos kernel"),
        (["mkimage", "k.bin", "--tinyos", "-o", "x.img"], 2, "pyhv mkimage: error: --tinyos brings its own kernel; give no KERNEL"),
        (["mkimage", "--tinyos", "--fs", "k.bin", "-o", "x.img"], 2, "--fs (a ready-made blob) excludes"),
        (["mkimage", "--tinyos", "--add", "k.bin", "-o", "x.img"], 2, "expected HOST:GUEST with an absolute GUEST path"),
        (["mkimage", "--tinyos", "--add", "k.bin:rel", "-o", "x.img"], 2, "expected HOST:GUEST"),
        (["mkimage", "--tinyos", "--add", "nope:/nope", "-o", "x.img"], 1, "pyhv: cannot read nope: No such file"),
    ],
)
def test_mkimage_usage_errors_are_one_line(tmp_path, args, status, message):
    (tmp_path / "k.bin").write_bytes(b"\x13\x00\x00\x00")
    r = pyhv(*args, cwd=tmp_path)
    assert r.returncode == status
    assert message in r.stderr.decode().strip().splitlines()[-1]
    assert b"Traceback" not in r.stderr and not (tmp_path / "x.img").exists()


def test_version():
    import importlib.metadata

    import unicorn

    r = pyhv("--version")
    assert r.returncode == 0
    assert r.stdout.decode().startswith(f"pyhv {importlib.metadata.version('pyhv')} (unicorn {unicorn.__version__}, ")


_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=12).filter(
    lambda n: n not in (".", "..")
)


@settings(max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(added=st.dictionaries(st.lists(_names, min_size=1, max_size=3).map(lambda p: "/x/" + "/".join(p)),
                             st.binary(max_size=3000), max_size=5))
def test_the_image_holds_the_base_tree_plus_exactly_the_added_files(tmp_path_factory, added):
    # Files only at leaves: a path that is a prefix of another would have to be both.
    added = {p: b for p, b in added.items() if not any(q.startswith(p + "/") for q in added)}
    tmp = tmp_path_factory.mktemp("add")
    args = ["mkimage", "--tinyos", "-o", str(tmp / "my.img")]
    for n, (path, contents) in enumerate(sorted(added.items())):
        (tmp / f"f{n}").write_bytes(contents)
        args += ["--add", f"{tmp / f'f{n}'}:{path}"]
    assert cli.main(args) == 0
    disk = (tmp / "my.img").read_bytes()
    _, base = image.tinyos_files()
    reader = tinyfs.Reader(disk)
    def contents(e):
        if e.type == tinyfs.T_DEVICE:
            return tinyfs.Device(e.major, e.minor)
        return None if e.type == tinyfs.T_DIR else reader.read(e.inum)

    got = {e.path: contents(e) for e in reader.walk("/")}
    dirs = {"/".join(p.split("/")[:i]): None for p in added for i in range(2, p.count("/") + 1)}
    assert got == {**base, **dirs, **added}
    assert image.read_header(tmp / "my.img").kernel_size == len(image.tinyos_files()[0])
