"""Files pyhv reads at run time, shipped inside the package so that an installed wheel
(pip, pipx) has them: `bios.bin` (the BIOS, firmware/), `tinyos.img` (tinyos's kernel and
base root file system, for `pyhv mkimage --tinyos`) and `hello.img`.  In a checkout they
are symlinks to the binaries the toolchain builds and commits; setuptools copies their
contents into the wheel.  Found through importlib.resources, never through a repo path."""

from importlib.resources import files
from pathlib import Path

NAMES = ("bios.bin", "tinyos.img", "hello.img")


def path(name: str) -> Path:
    """The file system path of one of NAMES (wheels and checkouts install as directories)."""
    if name not in NAMES:
        raise KeyError(f"pyhv ships no data file {name!r}")
    return Path(str(files(__name__) / name))
