"""Build every committed guest binary with the pinned Zig toolchain.

Owns the table of build targets (sources -> flat binary) and the two commands
CI needs: `build` writes the binaries into place, `check` rebuilds them into a
scratch directory and compares them with the committed bytes.  The compiler is
the `ziglang` package from PyPI, pinned below, run as `python -m ziglang`.

    python -m pyhv.toolchain build [NAMES...]
    python -m pyhv.toolchain check
    python -m pyhv.toolchain list

A target compiles its sources with `zig cc`, links them with its linker script,
turns the ELF into a flat binary with `zig objcopy -O binary`, and may finish
with a Python post-step (padding, a header, a disk image built from other
targets' outputs).  Intermediate files never land in the source tree.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ZIG_VERSION = "0.15.1"

# rv32ima, no compressed instructions: the guests' contract with the board.
# -mno-relax keeps addresses where the source puts them (.org, label tables);
# the unwind and note sections are dropped by the linker scripts as well.
ZIG_TARGET = ("-target", "riscv32-freestanding", "-mcpu=generic_rv32+m+a")
COMMON_FLAGS = (
    "-nostdlib",
    "-ffreestanding",
    "-mno-relax",
    "-g0",
    "-fno-unwind-tables",
    "-fno-asynchronous-unwind-tables",
    "-Wl,--build-id=none",
    "-I",
    "csrc",
)

# post(out, built): finish the target's output file `out` in place.  `built`
# maps every target name built so far in this run to its output path, so an
# image can be assembled from the targets named in `deps`.
PostStep = Callable[[Path, Mapping[str, Path]], None]


@dataclass(frozen=True)
class Target:
    """One committed binary.  Paths are relative to the repository root."""

    name: str
    output: str
    sources: tuple[str, ...] = ()  # empty: `post` produces the output alone
    linker_script: str | None = None
    flags: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()  # targets to build first (for `post`)
    post: PostStep | None = None
    elf: bool = False  # keep the linked ELF (user programs exec'd by a guest) instead of a flat binary
    committed: bool = True  # False: an intermediate (under a gitignored build/ folder), not checked


def _test_program(stem: str) -> Target:
    """A test program from tests/guests/: one .S file, linked at RAM base."""
    return Target(
        name=f"test-{stem}",
        sources=(f"tests/guests/{stem}.S",),
        linker_script="tests/guests/link.ld",
        output=f"tests/guests/{stem}.bin",
    )


# The CPU benchmarks (guests/bench/, `pyhv bench cpu`): one freestanding C workload each,
# linked with the shared runtime; the same flat binary runs on pyhv, raw Unicorn and QEMU.
BENCH_WORKLOADS = ("crc32", "qsort", "matmul", "chase", "interp", "memops")


def _bench_program(name: str) -> Target:
    return Target(
        name=f"bench-{name}",
        sources=("guests/bench/entry.S", "guests/bench/runtime.c", f"guests/bench/{name}.c"),
        linker_script="guests/bench/link.ld",
        flags=("-O2", "-Wall", "-Wextra", "-Werror"),
        output=f"guests/bench/{name}.bin",
    )


# The data blob of guests/hello.img: the hello kernel reads its first sector
# back through its own virtio-blk driver and prints the first line.
HELLO_DATA = b"pyhv disk data: the quick brown fox\n"
HELLO_SOURCES = tuple(
    f"guests/hello/{name}"
    for name in (
        "entry.S", "trapvec.S", "kctx.S", "main.c", "sbi.c", "printf.c", "string.c", "vm.c",
        "trap.c", "proc.c", "syscall.c", "user.c", "timer.c", "plic.c", "virtio_mmio.c", "virtio_blk.c",
        "virtio_balloon.c", "bench.c",
    )
) + ("guests/common/fdt.c",)  # fmt: skip


def _hello_image(out: Path, built: Mapping[str, Path]) -> None:
    """Turn the freshly linked hello kernel (in `out`) into a boot disk image."""
    from pyhv import image  # needs the compiled core (abi.h constants), so not imported at the top
    from pyhv._native import lib

    out.write_bytes(image.build(out.read_bytes(), load_addr=lib.PYHV_KERNEL_BASE, fs=HELLO_DATA))


# tinyos user programs (guests/tinyos/user/): static ELF32 executables at USER_BASE,
# each its own .c file plus the user library.  Intermediates: the "tinyos" image
# target copies every "tinyos-user-<prog>" output into /bin/<prog>.
TINYOS_ULIB = tuple(f"guests/tinyos/user/{name}" for name in ("crt0.S", "usys.c", "ulib.c", "printf.c", "malloc.c"))
TINYOS_USER_PROGRAMS = (
    "init", "sh", "ls", "cat", "echo", "mkdir", "rm", "ps", "kill", "sleep", "hostname", "uname", "free",
    "uptime", "poweroff", "reboot", "hog", "memhog", "forkbomb", "fault", "true", "osbench", "secret", "scanmem",
    "yes",
)  # fmt: skip


def _tinyos_user_program(prog: str) -> Target:
    """One tinyos user program: guests/tinyos/user/<prog>.c linked with the user library."""
    return Target(
        name=f"tinyos-user-{prog}",
        sources=(f"guests/tinyos/user/{prog}.c", *TINYOS_ULIB),
        linker_script="guests/tinyos/user/user.ld",
        flags=("-O2", "-Wall", "-Werror", "-I", "guests/tinyos/include", "-I", "guests/tinyos/user"),
        output=f"guests/tinyos/build/bin/{prog}",
        elf=True,
        committed=False,
    )


TARGETS: tuple[Target, ...] = (
    # The BIOS in ROM (firmware/): .text/.rodata at PYHV_ROM_BASE, .bss in the firmware region.
    Target(
        name="bios",
        sources=tuple(
            f"firmware/{name}"
            for name in (
                "entry.S", "trapvec.S", "main.c", "uart.c", "printf.c", "power.c", "clint.c", "fdt.c",
                "crc32.c", "virtio.c", "boot.c", "trap.c", "sbi.c", "hsm.c",
            )
        ),  # fmt: skip
        linker_script="firmware/bios.ld",
        flags=("-Os", "-Wall", "-Wextra", "-Werror", "-I", "guests/hello", "-I", "guests/common"),
        output="firmware/bios.bin",
    ),
    _test_program("compute"),
    _test_program("syscall"),
    _test_program("pagehop"),
    _test_program("traps"),
    _test_program("interrupts"),
    _test_program("selfmod"),
    _test_program("paging"),
    _test_program("clint"),
    _test_program("sirq"),
    _test_program("rvc"),
    _test_program("uartpoll"),
    _test_program("finish"),
    _test_program("poke"),
    _test_program("hostile"),
    _test_program("scan"),
    _test_program("spin"),
    _test_program("touch"),
    _test_program("smp"),
    _test_program("smc"),
    _test_program("stalecode"),
    *(_bench_program(name) for name in BENCH_WORKLOADS),
    _test_program("pmp"),
    Target(
        name="hello",
        sources=HELLO_SOURCES,
        linker_script="guests/hello/kernel.ld",
        # -Os keeps the kernel's text in three pages, so the boot transcript's
        # "loaded kernel: 16384 bytes" holds with the balloon driver in (-O2 needs four).
        flags=("-Os", "-Wall", "-Wextra", "-Werror", "-I", "guests/hello", "-I", "guests/common"),
        output="guests/hello.img",
        post=_hello_image,
    ),
    *(_tinyos_user_program(prog) for prog in TINYOS_USER_PROGRAMS),
    # The tinyos kernel (S-mode, at PYHV_KERNEL_BASE): every .S and .c file of
    # guests/tinyos/kernel/, so the file system's files come in by themselves.
    # An intermediate: the "tinyos" image target puts it on the boot disk.
    Target(
        name="tinyos-kernel",
        sources=tuple(
            sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "guests/tinyos/kernel").glob("*.[cS]"))
            + ["guests/common/fdt.c"]
        ),
        linker_script="guests/tinyos/kernel/kernel.ld",
        flags=("-O2", "-Wall", "-Werror", "-I", "guests/tinyos/include", "-I", "guests/tinyos/kernel", "-I",
               "guests/common"),
        output="guests/tinyos/build/kernel.bin",
        committed=False,
    ),
)


# guests/tinyos.img: the tinyos kernel, then a tinyfs file system (pyhv/tinyfs.py)
# holding guests/tinyos/rootfs/, every user program as /bin/<prog> and
# /dev/console, so booting it writes nothing to the image.  Deterministic: tinyfs
# has no timestamps and lays out files in sorted order.
TINYOS_FS_MIB = 8
TINYOS_USER_PREFIX = "tinyos-user-"


def _tinyos_image(out: Path, built: Mapping[str, Path]) -> None:
    from pyhv import image, tinyfs
    from pyhv._native import lib

    console = tinyfs.Device(major=1)  # CONSOLE_MAJOR, guests/tinyos/include/uabi.h
    extra: dict[str, bytes | tinyfs.Device | None] = {"/bin": None, "/dev/console": console}
    for name, path in sorted(built.items()):
        if name.startswith(TINYOS_USER_PREFIX):
            extra[f"/bin/{name[len(TINYOS_USER_PREFIX):]}"] = path.read_bytes()
    files = tinyfs.from_directory(ROOT / "guests/tinyos/rootfs", extra)
    fs = tinyfs.build(files, size_blocks=TINYOS_FS_MIB * 1024 * 1024 // tinyfs.BSIZE)
    kernel = built["tinyos-kernel"].read_bytes()
    out.write_bytes(image.build(kernel, load_addr=lib.PYHV_KERNEL_BASE, fs=fs))


TARGETS += (
    Target(
        name="tinyos",
        output="guests/tinyos.img",
        deps=("tinyos-kernel", *(t.name for t in TARGETS if t.name.startswith(TINYOS_USER_PREFIX))),
        post=_tinyos_image,
    ),
)


class ToolchainError(Exception):
    """A build problem worth one line to the user (no traceback)."""


def _targets_by_name() -> dict[str, Target]:
    table = {}
    for t in TARGETS:
        if t.name in table:
            raise ToolchainError(f"duplicate target name {t.name!r}")
        table[t.name] = t
    return table


def installed_zig_version() -> str | None:
    """The version of the installed ziglang package, or None if it is absent."""
    if importlib.util.find_spec("ziglang") is None:
        return None
    return importlib.metadata.version("ziglang")


def require_zig() -> None:
    """Fail with one clear line unless the pinned ziglang is installed."""
    found = installed_zig_version()
    if found is None:
        raise ToolchainError(f"ziglang is not installed; run: pip install ziglang=={ZIG_VERSION}")
    if found != ZIG_VERSION:
        raise ToolchainError(f"ziglang {found} found, {ZIG_VERSION} required (pip install ziglang=={ZIG_VERSION})")


def _zig(*args: str) -> None:
    """Run `python -m ziglang ARGS` from the repository root."""
    cmd = [sys.executable, "-m", "ziglang", *args]
    proc = subprocess.run(cmd, check=False, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolchainError(
            f"{' '.join(args[:1])} failed ({proc.returncode}):\n" + (proc.stderr or proc.stdout).rstrip()
        )


def flatten_elf(elf: bytes, out: Path) -> None:
    """The loadable bytes of an ELF32 image as one flat binary, from its PT_LOAD segments
    (what `objcopy -O binary` does).  Done here because `zig objcopy` 0.15.1 misplaces
    data when an ELF has several loaded sections (ziglang/zig#25653, measured on the BIOS)."""
    if elf[:4] != b"\x7fELF" or elf[4] != 1 or elf[5] != 1:
        raise ToolchainError("not a little-endian ELF32 file")
    phoff, = struct.unpack_from("<I", elf, 0x1C)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x2A)
    loads = []
    for i in range(phnum):
        p_type, p_offset, _vaddr, p_paddr, p_filesz = struct.unpack_from("<5I", elf, phoff + i * phentsize)
        if p_type == 1 and p_filesz:  # PT_LOAD with bytes in the file
            loads.append((p_paddr, elf[p_offset : p_offset + p_filesz]))
    if not loads:
        raise ToolchainError("ELF has nothing to load")
    base = min(addr for addr, _ in loads)
    image = bytearray(max(addr + len(data) for addr, data in loads) - base)
    for addr, data in loads:
        image[addr - base : addr - base + len(data)] = data
    out.write_bytes(bytes(image))


def _build_one(t: Target, out: Path, work: Path, built: Mapping[str, Path]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if t.sources:
        if t.linker_script is None:
            raise ToolchainError(f"{t.name}: sources need a linker script")
        elf = work / f"{t.name}.elf"
        # Sources are passed relative to ROOT (the cwd), and the prefix map
        # rewrites anything absolute, so no host path reaches the output.
        _zig(
            "cc",
            *ZIG_TARGET,
            *COMMON_FLAGS,
            f"-ffile-prefix-map={ROOT}=.",
            *t.flags,
            "-T",
            t.linker_script,
            "-o",
            str(elf),
            *t.sources,
        )
        if t.elf:
            out.write_bytes(elf.read_bytes())
        else:
            flatten_elf(elf.read_bytes(), out)
    if t.post is not None:
        t.post(out, built)
    if not out.exists():
        raise ToolchainError(f"{t.name}: nothing produced {t.output}")


def _ordered(names: list[str] | None) -> list[Target]:
    """The targets named (all if None) plus their deps, deps first."""
    table = _targets_by_name()
    wanted = list(table) if not names else names
    order: list[Target] = []
    seen: set[str] = set()

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if name not in table:
            known = ", ".join(table)
            raise ToolchainError(f"unknown target {name!r} (known: {known})")
        if name in chain:
            raise ToolchainError(f"dependency cycle: {' -> '.join(chain + (name,))}")
        if name in seen:
            return
        for dep in table[name].deps:
            visit(dep, chain + (name,))
        seen.add(name)
        order.append(table[name])

    for name in wanted:
        visit(name, ())
    return order


def build(names: list[str] | None = None, outroot: Path = ROOT) -> dict[str, Path]:
    """Build the named targets (all if None) under outroot; return their paths."""
    targets = _ordered(names)
    require_zig()
    built: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="pyhv-build-") as work:
        for t in targets:
            out = outroot / t.output
            _build_one(t, out, Path(work), built)
            built[t.name] = out
    return built


def check(names: list[str] | None = None) -> bool:
    """Rebuild into a scratch tree and compare with the committed files.

    Prints `ok NAME` or `DIFFERS NAME` per target; returns True if all match.
    """
    all_ok = True
    with tempfile.TemporaryDirectory(prefix="pyhv-check-") as scratch:
        built = build(names, Path(scratch))
        for name, fresh in built.items():
            if not _targets_by_name()[name].committed:
                continue
            committed = ROOT / _targets_by_name()[name].output
            same = committed.exists() and committed.read_bytes() == fresh.read_bytes()
            print(f"{'ok' if same else 'DIFFERS'} {name}", flush=True)
            if not same:
                why = "not committed" if not committed.exists() else "bytes differ"
                print(f"  {committed.relative_to(ROOT)}: {why}", file=sys.stderr)
            all_ok &= same
    return all_ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pyhv.toolchain", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_build = sub.add_parser("build", help="build targets into place")
    p_build.add_argument("names", nargs="*", help="target names (default: all)")
    p_check = sub.add_parser("check", help="rebuild and compare with committed bytes")
    p_check.add_argument("names", nargs="*", help="target names (default: all)")
    sub.add_parser("list", help="list the targets")
    args = parser.parse_args(argv)

    try:
        if args.command == "list":
            for t in TARGETS:
                print(f"{t.name}\t{t.output}")
            return 0
        if args.command == "build":
            for name, path in build(args.names or None).items():
                print(f"built {name} -> {path.relative_to(ROOT)}")
            return 0
        return 0 if check(args.names or None) else 1
    except ToolchainError as e:
        print(f"pyhv.toolchain: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
