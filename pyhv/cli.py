"""The `pyhv` command line: argument parsing and exit codes only, no emulation logic.

Exit status: 0 success, 1 pyhv error (one line on stderr), 2 usage error,
124 --max-insns/--timeout reached, 130 SIGINT, 128+N signal N (SIGTERM, SIGHUP,
SIGQUIT: the terminal is restored and the disks closed first); `pyhv boot`
returns the guest's finisher code.
"""

import argparse
import math
import os
import re
import signal
import sys
import threading

from pyhv.errors import PyhvError, Signalled, UsageError

TRACE_ITEMS = ("int", "mmu", "exits", "guest_errors", "in_asm")


def memory_size_mib(text: str) -> int:
    """QEMU's -m: a number with an optional K/M/G suffix; a bare number is MiB."""
    from pyhv._native import lib

    m = re.fullmatch(r"\s*(\d+)\s*([kKmMgG]?)[iI]?[bB]?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"invalid memory size {text!r} (examples: 128M, 1G, 64)")
    value, unit = int(m.group(1)), m.group(2).upper() or "M"
    kib = value * {"K": 1, "M": 1024, "G": 1024 * 1024}[unit]
    if kib % 1024:
        raise argparse.ArgumentTypeError(f"memory size {text!r} is not a whole number of MiB")
    max_mib = lib.PYHV_RAM_MAX_SIZE >> 20
    if not 1 <= kib // 1024 <= max_mib:
        raise argparse.ArgumentTypeError(f"memory size {text!r} is out of range (1M .. {max_mib // 1024}G)")
    return kib // 1024


def harts(text: str) -> int:
    """--smp: 1 to 8 harts (the CLINT's)."""
    value = positive_int(text)
    if value > 8:
        raise argparse.ArgumentTypeError(f"{value} harts: the board has 1 to 8")
    return value


def address(text: str) -> int:
    """A 32-bit guest-physical address: decimal, or 0x hex."""
    try:
        value = int(text.replace("_", ""), 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an address: {text!r} (example: 0x80200000)") from None
    if not 0 <= value < 1 << 32:
        raise argparse.ArgumentTypeError(f"address {text!r} is outside the 32-bit address space")
    return value


def kernel_command_line(text: str) -> str:
    """--append: the DTB's /chosen/bootargs, a string the guest reads as text (UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # argv bytes that are not UTF-8 arrive as lone surrogates
        raise argparse.ArgumentTypeError("the kernel command line is not valid UTF-8") from None
    return text


def trace_items(text: str) -> set:
    items = {t.strip() for t in text.split(",") if t.strip()}
    unknown = items - set(TRACE_ITEMS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown -d item(s) {', '.join(sorted(unknown))} (known: {', '.join(TRACE_ITEMS)})")
    return items


def positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""), 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite positive number: {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints the usage too)
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def host_guest(text: str) -> tuple[str, str]:
    """--add HOST:GUEST: a host path and the absolute path it gets in the guest's file system."""
    host, sep, guest = text.rpartition(":")
    if not sep or not host or not guest.startswith("/"):
        raise argparse.ArgumentTypeError(f"expected HOST:GUEST with an absolute GUEST path, e.g. hello.txt:/hello.txt; got {text!r}")
    return host, guest


def _version() -> str:
    import importlib.metadata
    import platform

    import unicorn

    try:
        version = importlib.metadata.version("pyhv")
    except importlib.metadata.PackageNotFoundError:
        version = "(not installed)"
    return f"pyhv {version} (unicorn {unicorn.__version__}, Python {platform.python_version()})"


class _Version(argparse.Action):
    """--version, computed only when asked (it imports unicorn)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="print pyhv's version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        print(_version())
        parser.exit(0)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="pyhv", description="A type-2 hypervisor for RISC-V rv32 guests, in Python + C.")
    p.add_argument("--version", action=_Version)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    b = sub.add_parser("boot", help="boot a disk image on the virt board (console on stdin/stdout)",
                       description="Boot IMAGE: BIOS in ROM, IMAGE as the first virtio-blk disk. "
                       "Press C-a x to exit, C-a h for help.")
    b.add_argument("image", metavar="IMAGE", help="boot disk image (see `pyhv info`)")
    b.add_argument("-m", "--memory", type=memory_size_mib, default=128, metavar="SIZE",
                   help="guest RAM, with K/M/G suffix (default 128M)")
    b.add_argument("--bios", default=None, metavar="PATH|none", help="firmware for the ROM (default firmware/bios.bin)")
    b.add_argument("--smp", type=harts, default=1, metavar="N", help="harts (1..8), interleaved on one thread")
    b.add_argument("--drive", action="append", default=[], metavar="FILE", help="another raw disk (repeatable)")
    b.add_argument("--snapshot", action="store_true", help="never write to the disk images (throw-away overlay)")
    b.add_argument("--balloon", action="store_true", help="add a virtio-balloon device after the disks")
    b.add_argument("--append", type=kernel_command_line, default="", metavar="ARGS", help="kernel command line (DTB /chosen/bootargs)")
    b.add_argument("--max-insns", type=positive_int, metavar="N", help="stop with status 124 after N instructions")
    b.add_argument("--timeout", type=positive_float, metavar="SECONDS", help="stop with status 124 after SECONDS")
    b.add_argument("-d", dest="trace", type=trace_items, default=set(), metavar="ITEMS",
                   help=f"log items, comma-separated: {', '.join(TRACE_ITEMS)}")
    b.add_argument("-D", dest="logfile", metavar="FILE", help="write -d logs to FILE instead of stderr")
    b.add_argument("--no-reboot", action="store_true", help="exit instead of rebooting")
    b.add_argument("-nographic", action="store_true", help=argparse.SUPPRESS)

    i = sub.add_parser("info", help="print the boot header and layout of an image")
    i.add_argument("image", metavar="IMAGE")

    k = sub.add_parser("mkimage", help="build a boot disk image from a kernel binary, or a tinyos image with your files",
                       description="Build a boot disk: KERNEL (a flat binary) and an optional file system, or with "
                       "--tinyos the tinyos kernel and its root file system (shell and commands in /bin) with the "
                       "files of --root and --add on top.")
    k.add_argument("kernel", nargs="?", metavar="KERNEL", help="flat kernel binary (not with --tinyos)")
    k.add_argument("-o", "--output", required=True, metavar="IMAGE")
    k.add_argument("--tinyos", action="store_true", help="the tinyos kernel and base root file system shipped with pyhv")
    k.add_argument("--add", action="append", type=host_guest, default=[], metavar="HOST:GUEST",
                   help="put the host file (or directory tree) HOST at GUEST in the file system (repeatable)")
    k.add_argument("--load", type=address, default=None, metavar="ADDR", help="load address (default 0x80200000)")
    k.add_argument("--entry", type=address, default=None, metavar="ADDR", help="entry (default: load address)")
    k.add_argument("--fs", metavar="FILE", help="file-system blob to append")
    k.add_argument("--root", metavar="DIR", help="build a tinyfs file system from the tree DIR (pyhv/tinyfs.py)")
    k.add_argument("--size-mib", type=positive_int, default=8, metavar="N",
                   help="with --root, --add or --tinyos: file-system size (default 8)")

    fs = sub.add_parser("fs", help="list and extract files of a tinyfs image")
    fs_sub = fs.add_subparsers(dest="fs_command", metavar="ACTION", parser_class=_Parser)
    fs_sub.required = True
    ls = fs_sub.add_parser("ls", help="list a directory (type, inode, links, size, path)")
    ls.add_argument("image", metavar="IMAGE", help="boot image or bare file-system blob")
    ls.add_argument("path", nargs="?", default="/", metavar="PATH")
    ls.add_argument("-R", "--recursive", action="store_true", help="list subdirectories too")
    get = fs_sub.add_parser("get", help="copy a file out of the image (to stdout by default)")
    get.add_argument("image", metavar="IMAGE")
    get.add_argument("path", metavar="PATH")
    get.add_argument("-o", "--output", metavar="FILE")
    check = fs_sub.add_parser("check", help="check the file system like fsck (exit 0 clean, 4 errors, 8 not checkable)",
                              description="Check IMAGE's tinyfs read-only: superblock and log header as tinyos mounts "
                              "them, inodes, block numbers, directories, link counts, the bitmap.  One line per "
                              "problem, then a summary.  Exit status as e2fsck: 0 clean, 4 errors left uncorrected "
                              "(nothing is repaired), 8 operational error (unreadable file, no tinyfs at all).")
    check.add_argument("image", metavar="IMAGE")

    r = sub.add_parser("run", help="run several VMs on one host (a JSON or TOML configuration)",
                       description="Run the VMs of CONFIG on one host: a frame pool, pCPU worker threads and a "
                       "scheduler.  Each VM's console goes to LOG_DIR/NAME.log; --attach NAME puts one VM on the "
                       "terminal instead.  Prints a table of the VMs while they run.",
                       epilog="Exit status: 0 every VM finished with status 0 (--until idle: or sleeps with "
                       "nothing armed); 1 a VM failed or can never finish, or a pyhv error; 2 usage error; "
                       "124 --timeout passed first; 128+N signal N (130 SIGINT, 143 SIGTERM, 129 SIGHUP).")
    r.add_argument("config", metavar="CONFIG", help="host configuration (.json or .toml)")
    r.add_argument("--attach", metavar="NAME", help="connect this VM's console to stdin/stdout")
    r.add_argument("--log-dir", default=None, metavar="DIR", help="where per-VM console logs go (default: a temp dir)")
    r.add_argument("--policy", choices=["rr", "credit"], help="override the configuration's scheduling policy")
    r.add_argument("--pcpus", type=positive_int, help="override the number of pCPU worker threads")
    r.add_argument("--timeout", type=positive_float, metavar="SECONDS",
                   help="stop after SECONDS (exit 124 if a VM had not finished)")
    r.add_argument("--until", choices=["done", "idle"], default="done",
                   help="stop when every VM is done (default), or when none can run again on its own")
    r.add_argument("--interval", type=positive_float, default=None, metavar="SECONDS",
                   help="table refresh period (default: 1 s in a terminal; otherwise only the final table)")

    bench = sub.add_parser("bench", help="run a benchmark and print its figures")
    bench.add_argument("name", choices=["core", "boot", "density", "os", "cpu"],
                       help="core: vCPU core ratios against raw Unicorn and the Python twins; "
                       "boot: hello's boot instructions and time, virtio-blk throughput; "
                       "density: idle VMs per host process, memory per idle VM, scheduler scaling; "
                       "os: tinyos boot to prompt, fork+exec+wait, getpid, context switch; "
                       "cpu: six compiled-C workloads (CRC-32 over 256 KiB, quicksort of 50k ints, 96x96 integer "
                       "matmul, pointer chase over 1 MiB, switch-dispatch bytecode interpreter, 1 MiB memset/memcpy) "
                       "on raw Unicorn, pyhv (bare M-mode and Sv32 with non-executable data, both MMUs) and "
                       "qemu-system-riscv32 TCG if installed: median and spread of N interleaved runs")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--scale", type=positive_float, default=1.0, help="work multiplier (default 1.0)")
    bench.add_argument("--reps", type=positive_int, default=3, help="cpu: interleaved runs per figure (default 3)")
    bench.add_argument("--workloads", metavar="A,B", help="cpu: comma-separated subset of the workloads")
    return p


def _boot(args) -> int:
    from pyhv.console import Console, RawTerminal
    from pyhv.machine import DEFAULT_BIOS, Machine, MachineConfig

    bios = str(DEFAULT_BIOS) if args.bios is None else (None if args.bios == "none" else args.bios)
    log = None
    if args.logfile:
        try:
            log = open(args.logfile, "w")
        except OSError as e:
            raise PyhvError(f"cannot open log file {args.logfile}: {e.strerror}") from None
    from pyhv.image import read_header

    read_header(args.image)  # a missing or malformed image is one line and status 1, before anything boots
    config = MachineConfig(image=args.image, drives=args.drive, mem_size_mib=args.memory, bios=bios, smp=args.smp,
                           snapshot=args.snapshot, bootargs=args.append, no_reboot=args.no_reboot,
                           max_insns=args.max_insns, timeout_s=args.timeout, trace=args.trace, balloon=args.balloon)
    config.log = log
    console = Console.stdio()
    machine = Machine(config, console=console)
    try:
        with machine.stop_on_signals():  # a stop signal ends the run even inside the engine (main())
            if console.interactive:
                print("pyhv: press C-a x to exit, C-a h for help", file=sys.stderr)
                with RawTerminal(sys.stdin.fileno()):
                    return machine.run()
            return machine.run()
    finally:
        machine.close()
        if log:
            log.close()
        sys.stdout.flush()


def _run(args) -> int:
    from pyhv import hostui

    return hostui.run(args)


def _mkimage(args) -> int:
    from pathlib import Path

    from pyhv import image, imagelock, tinyfs
    from pyhv._native import lib

    if args.tinyos and args.kernel:
        raise UsageError("--tinyos brings its own kernel; give no KERNEL")
    if not args.tinyos and not args.kernel:
        raise UsageError("give a KERNEL, or --tinyos for the tinyos kernel")
    if args.fs and (args.root or args.add or args.tinyos):
        raise UsageError("--fs (a ready-made blob) excludes --root, --add and --tinyos")
    files = None  # a tinyfs to build: {path: bytes, or None for a directory}
    if args.tinyos:
        kernel, files = image.tinyos_files()
    else:
        kernel = _read_file(args.kernel)
    fs = _read_file(args.fs) if args.fs else b""
    if args.root or args.add:
        files = dict(files or {})
        if args.root:
            files.update(tinyfs.from_directory(args.root))
        for host, guest in args.add:
            files.update(_host_files(host, guest))
    if files is not None:
        fs = tinyfs.build(files, size_blocks=args.size_mib * 1024 * 1024 // tinyfs.BSIZE)
    data = image.build(kernel, load_addr=lib.PYHV_KERNEL_BASE if args.load is None else args.load, entry=args.entry,
                       fs=fs)
    try:
        imagelock.write_image(args.output, data)  # refused while a VM has the image open
    except OSError as e:
        raise PyhvError(f"cannot write {args.output}: {e.strerror}") from None
    print(image.describe(args.output))
    return 0


def _read_file(path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise PyhvError(f"cannot read {path}: {e.strerror}") from None


def _host_files(host: str, guest: str) -> dict:
    """--add HOST:GUEST as tinyfs.build() entries: a file, or a directory tree under GUEST."""
    from pyhv import tinyfs

    if os.path.isdir(host):
        tree = tinyfs.from_directory(host)
        out = {guest: None}
        out.update({guest.rstrip("/") + path: contents for path, contents in tree.items()})
        return out
    return {guest: _read_file(host)}


FSCK_CLEAN, FSCK_ERRORS, FSCK_OPERATIONAL = 0, 4, 8  # e2fsck's exit statuses (e2fsck(8))


def _fs_check(image: str, data: bytes) -> int:
    from pyhv import tinyfs

    try:
        problems, reader = tinyfs.fsck(data, image)
    except PyhvError as e:
        print(f"pyhv: {e}", file=sys.stderr)
        return FSCK_OPERATIONAL
    for p in problems:
        print(p)
    if reader is None:
        print(f"{image}: not mountable")
        return FSCK_ERRORS
    sb = reader.sb
    used = sum(bin(b).count("1") for b in reader.img[sb.bmapstart * tinyfs.BSIZE : sb.datastart * tinyfs.BSIZE])
    inodes = sum(1 for i in range(1, sb.ninodes) if reader.inode(i)[0])
    log = f", log replayed ({reader.replayed} blocks)" if reader.replayed else ""
    state = f"{len(problems)} problem{'s' * (len(problems) != 1)}" if problems else "clean"
    print(f"{image}: {state}, {inodes}/{sb.ninodes - 1} inodes, {used}/{sb.size} blocks{log}")
    return FSCK_ERRORS if problems else FSCK_CLEAN


def _fs(args) -> int:
    from pathlib import Path

    from pyhv import imagelock, tinyfs

    try:
        data = imagelock.read_image(args.image)  # refused while a VM writes the image
    except OSError as e:
        if args.fs_command == "check":
            print(f"pyhv: cannot read {args.image}: {e.strerror}", file=sys.stderr)
            return FSCK_OPERATIONAL
        raise PyhvError(f"cannot read {args.image}: {e.strerror}") from None
    if args.fs_command == "check":
        return _fs_check(args.image, data)
    reader = tinyfs.Reader(data, args.image)
    if args.fs_command == "ls":
        try:
            for entry in reader.walk(args.path) if args.recursive else reader.listdir(args.path):
                print(entry)
            sys.stdout.flush()
        except BrokenPipeError:  # `pyhv fs ls IMAGE | head`: the reader has seen enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    inum = reader.lookup(args.path)
    if reader.inode(inum)[0] == tinyfs.T_DIR:
        raise PyhvError(f"{args.path}: is a directory")
    contents = reader.read(inum)
    if args.output is None:
        sys.stdout.buffer.write(contents)
        sys.stdout.flush()
        return 0
    try:
        Path(args.output).write_bytes(contents)
    except OSError as e:
        raise PyhvError(f"cannot write {args.output}: {e.strerror}") from None
    return 0


# Signals that end a command: each unwinds the command's `finally` blocks (raw terminal
# restored, disks closed) and the command exits 128 + signum (130 for SIGINT).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def _on_stop_signal(signum, frame):
    for s in STOP_SIGNALS:  # one stop: a second signal must not cut the clean-up short
        signal.signal(s, signal.SIG_IGN)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Signalled(signum)


def _say(message: str) -> None:
    try:
        print(message, file=sys.stderr, flush=True)
    except OSError:  # the terminal hung up (SIGHUP): nobody is left to read it
        pass


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    saved = {}
    if threading.current_thread() is threading.main_thread():
        saved = {s: signal.signal(s, _on_stop_signal) for s in STOP_SIGNALS}
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        _say("pyhv: interrupted")
        return 128 + signal.SIGINT
    except Signalled as e:
        _say(f"pyhv: {e}")
        return 128 + e.signum
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


def _dispatch(args) -> int:
    try:
        if args.command == "boot":
            return _boot(args)
        if args.command == "info":
            from pyhv import image

            print(image.describe(args.image), flush=True)
            if not image.kernel_crc_ok(args.image, image.read_header(args.image)):
                raise PyhvError(f"{args.image}: kernel checksum mismatch (the BIOS will refuse to load it)")
            return 0
        if args.command == "run":
            return _run(args)
        if args.command == "mkimage":
            return _mkimage(args)
        if args.command == "fs":
            return _fs(args)
        if args.command == "bench":
            from pyhv import bench

            return bench.main(args.name, args.json, args.scale, reps=args.reps, workloads=args.workloads)
    except UsageError as e:
        print(f"pyhv {args.command}: error: {e}", file=sys.stderr)
        return 2
    except PyhvError as e:
        print(f"pyhv: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # a pyhv bug: still one line, unless asked for the traceback
        if os.environ.get("PYHV_DEBUG"):
            raise
        print(f"pyhv: internal error: {e!r} (set PYHV_DEBUG=1 for a traceback)", file=sys.stderr)
        return 1
    return 0
