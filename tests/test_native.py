"""The C core is bound to the very libunicorn the `unicorn` package loaded, and the
private handle it relies on still exists (style guide 8.4.7)."""

import ctypes
from pathlib import Path

import pytest
import unicorn
import unicorn.unicorn_py3.unicorn as ucmod

from pyhv import _native
from pyhv._native import lib


def test_uc_handle_is_the_binding_engine():
    uc = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV32)
    handle = _native.uc_handle(uc)
    assert isinstance(handle, int) and handle != 0
    # The same handle answers through the binding's own library.
    assert ucmod.uclib.uc_errno(ctypes.c_void_p(handle)) == unicorn.UC_ERR_OK


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
def test_one_copy_of_libunicorn():
    maps = Path("/proc/self/maps").read_text().splitlines()
    libs = {line.split()[-1] for line in maps if "libunicorn" in line}
    assert len(libs) == 1, libs


def test_abi_constants_reach_python():
    assert lib.PYHV_RAM_BASE == 0x8000_0000
    assert lib.PYHV_UART0_BASE == 0x1000_0000
    assert lib.PYHV_VIRTIO0_BASE == 0x1000_1000
    assert lib.PYHV_INSNS_PER_TICK * lib.PYHV_TIMEBASE_HZ == 100_000_000
