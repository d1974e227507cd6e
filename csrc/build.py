"""cffi builder for pyhv._core: the C core (csrc/*.c) compiled against Unicorn's headers.

The module never links libunicorn: pyhv._native hands it the addresses of the
functions the `unicorn` package already loaded (one copy of the library per process).
cdef = pyhv_core.h + every "#define NAME value" of abi.h, so lib.PYHV_UART0_BASE
and friends come from the one header the firmware and guests include too.
"""

import os
import re

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))


def _unicorn_include():
    import unicorn

    return os.path.join(os.path.dirname(unicorn.__file__), "include")


def _abi_defines():
    with open(os.path.join(HERE, "abi.h")) as f:
        names = re.findall(r"^#define\s+(\w+)\s+\S", f.read(), re.M)
    return "".join(f"#define {n} ...\n" for n in names if n != "PYHV_ABI_H")


# Python functions the C core calls (rare paths only: a Python device's registers).
# "Python+C" makes them visible to csrc/*.c, which declare them in core.h.
CALLBACKS = """
extern "Python+C" uint64_t pyhv_py_mmio_read(void *handle, uint64_t offset, unsigned size);
extern "Python+C" void pyhv_py_mmio_write(void *handle, uint64_t offset, unsigned size, uint64_t value);
"""

ffibuilder = FFI()
with open(os.path.join(HERE, "pyhv_core.h")) as f:
    ffibuilder.cdef(f.read() + _abi_defines() + CALLBACKS)
ffibuilder.set_source(
    "pyhv._core",
    '#include "core.h"\n',
    sources=[os.path.relpath(os.path.join(HERE, n)) for n in ("vcpu.c", "mmu.c", "trap.c", "clint.c", "mmio.c")],
    include_dirs=[HERE, _unicorn_include()],
    extra_compile_args=["-O2", "-Wall", "-Werror", "-std=gnu11", "-Wno-unused-function"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
