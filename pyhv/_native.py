"""The one door to the compiled core: pyhv._core's ffi/lib, bound to the libunicorn
that the `unicorn` package loaded (so one copy of the engine lives in the process).

Also the only place that reaches into the Unicorn binding's private handle
(`Uc._uch`), covered by tests/test_native.py so that an upgrade breaking it fails loudly.
"""

import ctypes

import unicorn.unicorn_py3.unicorn as _ucmod

from pyhv._core import ffi, lib

# Order matches struct uc_api in csrc/core.h.
_UC_FUNCTIONS = (
    "uc_emu_start",
    "uc_emu_stop",
    "uc_reg_read",
    "uc_reg_write",
    "uc_hook_add",
    "uc_ctl",
    "uc_context_alloc",
    "uc_context_save",
    "uc_vmem_read",
    "uc_strerror",
    "uc_mmio_map",
)


def _bind():
    addrs = [ctypes.cast(getattr(_ucmod.uclib, name), ctypes.c_void_p).value for name in _UC_FUNCTIONS]
    table = ffi.new("void *[]", [ffi.cast("void *", a) for a in addrs])
    if lib.pyhv_api_init(table, len(addrs)) != 0:
        raise ImportError("pyhv._core: the Unicorn function table does not match csrc/core.h")


def uc_handle(uc) -> int:
    """The raw uc_engine* of a unicorn.Uc (a private attribute of the binding)."""
    return uc._uch.value


_bind()

__all__ = ["ffi", "lib", "uc_handle"]
