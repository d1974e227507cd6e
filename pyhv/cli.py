"""The `pyhv` command line: argument parsing and exit codes only, no emulation logic.

Exit status: 0 success, 1 pyhv error (one line on stderr), 2 usage error,
124 --max-insns/--timeout reached; `pyhv boot` returns the guest's finisher code.
"""

import argparse
import os
import re
import sys

from pyhv.errors import PyhvError

TRACE_ITEMS = ("int", "mmu", "exits", "guest_errors", "in_asm")


def memory_size_mib(text: str) -> int:
    """QEMU's -m: a number with an optional K/M/G suffix; a bare number is MiB."""
    m = re.fullmatch(r"\s*(\d+)\s*([kKmMgG]?)[iI]?[bB]?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"invalid memory size {text!r} (examples: 128M, 1G, 64)")
    value, unit = int(m.group(1)), m.group(2).upper() or "M"
    kib = value * {"K": 1, "M": 1024, "G": 1024 * 1024}[unit]
    if kib % 1024:
        raise argparse.ArgumentTypeError(f"memory size {text!r} is not a whole number of MiB")
    return kib // 1024


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
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints the usage too)
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="pyhv", description="A type-2 hypervisor for RISC-V rv32 guests, in Python + C.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    b = sub.add_parser("boot", help="boot a disk image on the virt board (console on stdin/stdout)",
                       description="Boot IMAGE: BIOS in ROM, IMAGE as the first virtio-blk disk. "
                       "Press C-a x to exit, C-a h for help.")
    b.add_argument("image", metavar="IMAGE", help="boot disk image (see `pyhv info`)")
    b.add_argument("-m", "--memory", type=memory_size_mib, default=128, metavar="SIZE",
                   help="guest RAM, with K/M/G suffix (default 128M)")
    b.add_argument("--bios", default=None, metavar="PATH|none", help="firmware for the ROM (default firmware/bios.bin)")
    b.add_argument("--smp", type=positive_int, default=1, metavar="N", help="harts (1..8), interleaved on one thread")
    b.add_argument("--drive", action="append", default=[], metavar="FILE", help="another raw disk (repeatable)")
    b.add_argument("--snapshot", action="store_true", help="never write to the disk images (throw-away overlay)")
    b.add_argument("--balloon", action="store_true", help="add a virtio-balloon device after the disks")
    b.add_argument("--append", default="", metavar="ARGS", help="kernel command line (DTB /chosen/bootargs)")
    b.add_argument("--max-insns", type=positive_int, metavar="N", help="stop with status 124 after N instructions")
    b.add_argument("--timeout", type=positive_float, metavar="SECONDS", help="stop with status 124 after SECONDS")
    b.add_argument("-d", dest="trace", type=trace_items, default=set(), metavar="ITEMS",
                   help=f"log items, comma-separated: {', '.join(TRACE_ITEMS)}")
    b.add_argument("-D", dest="logfile", metavar="FILE", help="write -d logs to FILE instead of stderr")
    b.add_argument("--no-reboot", action="store_true", help="exit instead of rebooting")
    b.add_argument("-nographic", action="store_true", help=argparse.SUPPRESS)

    i = sub.add_parser("info", help="print the boot header and layout of an image")
    i.add_argument("image", metavar="IMAGE")

    k = sub.add_parser("mkimage", help="build a boot disk image from a kernel binary")
    k.add_argument("kernel", metavar="KERNEL", help="flat kernel binary")
    k.add_argument("-o", "--output", required=True, metavar="IMAGE")
    k.add_argument("--load", type=lambda s: int(s, 0), default=None, metavar="ADDR", help="load address (default 0x80200000)")
    k.add_argument("--entry", type=lambda s: int(s, 0), default=None, metavar="ADDR", help="entry (default: load address)")
    k.add_argument("--fs", metavar="FILE", help="file-system blob to append")
    k.add_argument("--root", metavar="DIR", help="build a tinyfs file system from the tree DIR (pyhv/tinyfs.py)")
    k.add_argument("--size-mib", type=positive_int, default=8, metavar="N", help="with --root: file-system size (default 8)")

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

    r = sub.add_parser("run", help="run several VMs on one host (a JSON or TOML configuration)",
                       description="Run the VMs of CONFIG on one host: a frame pool, pCPU worker threads and a "
                       "scheduler.  Each VM's console goes to LOG_DIR/NAME.log; --attach NAME puts one VM on the "
                       "terminal instead.  Prints a table of the VMs while they run.")
    r.add_argument("config", metavar="CONFIG", help="host configuration (.json or .toml)")
    r.add_argument("--attach", metavar="NAME", help="connect this VM's console to stdin/stdout")
    r.add_argument("--log-dir", default=None, metavar="DIR", help="where per-VM console logs go (default: a temp dir)")
    r.add_argument("--policy", choices=["rr", "credit"], help="override the configuration's scheduling policy")
    r.add_argument("--pcpus", type=positive_int, help="override the number of pCPU worker threads")
    r.add_argument("--timeout", type=positive_float, metavar="SECONDS", help="stop after SECONDS (exit 124)")
    r.add_argument("--until", choices=["done", "idle"], default="done",
                   help="stop when every VM is done (default), or when none can run again on its own")
    r.add_argument("--interval", type=positive_float, default=1.0, metavar="SECONDS", help="table refresh period")

    bench = sub.add_parser("bench", help="run a benchmark and print its figures")
    bench.add_argument("name", choices=["core", "boot", "density", "os"],
                       help="core: vCPU core ratios against raw Unicorn and the Python twins; "
                       "boot: hello's boot instructions and time, virtio-blk throughput; "
                       "density: idle VMs per host process, memory per idle VM, scheduler scaling; "
                       "os: tinyos boot to prompt, fork+exec+wait, getpid, context switch")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--scale", type=positive_float, default=1.0, help="work multiplier (default 1.0)")
    return p


def _boot(args) -> int:
    from pyhv.console import Console, RawTerminal
    from pyhv.machine import DEFAULT_BIOS, Machine, MachineConfig, Terminated

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
        with machine.stop_on_signals():  # SIGINT/SIGTERM end the run even inside the engine
            if console.interactive:
                print("pyhv: press C-a x to exit, C-a h for help", file=sys.stderr)
                with RawTerminal(sys.stdin.fileno()):
                    return machine.run()
            return machine.run()
    except Terminated:
        print("pyhv: terminated", file=sys.stderr)
        return 143
    finally:
        machine.close()
        if log:
            log.close()
        sys.stdout.flush()


def _run(args) -> int:
    import tempfile
    import threading
    import time

    from pyhv.console import Console
    from pyhv.host import Host, format_table, load_config

    host_cfg, specs = load_config(args.config)
    if args.policy:
        host_cfg["policy"] = args.policy
    if args.pcpus:
        host_cfg["pcpus"] = args.pcpus
    log_dir = args.log_dir or tempfile.mkdtemp(prefix="pyhv-run-")
    os.makedirs(log_dir, exist_ok=True)
    if args.attach and args.attach not in {s.name for s in specs}:
        raise PyhvError(f"--attach {args.attach}: no VM of that name in {args.config}")
    host = Host(log_dir=log_dir, **host_cfg)
    for spec in specs:
        host.add(spec, console=Console.stdio() if spec.name == args.attach else None)
    print(f"pyhv: {len(specs)} VMs on {host.pcpus} pCPUs ({host.policy.name}); consoles in {log_dir}", file=sys.stderr)
    t0 = time.monotonic()
    done = threading.Event()

    def table():
        while not done.wait(args.interval):
            print(format_table(host.stats(), time.monotonic() - t0) + "\n", file=sys.stderr, flush=True)

    def rich_table(live, rich_table_cls):
        while not done.wait(args.interval):
            stats, elapsed = host.stats(), time.monotonic() - t0
            t = rich_table_cls(title=f"pyhv run: {len(stats)} VMs, {elapsed:.1f} s")
            header, *rows = format_table(stats, elapsed).splitlines()
            for name in header.split():
                t.add_column(name, justify="right" if name not in ("VM", "STATE") else "left")
            for row in rows:
                t.add_row(*row.split(maxsplit=len(header.split()) - 1))
            live.update(t)

    live = None
    if not args.attach and sys.stderr.isatty():
        try:  # rich is optional (pip install rich): a live-updating table in a terminal
            from rich.console import Console as RichConsole
            from rich.live import Live
            from rich.table import Table

            live = Live(console=RichConsole(stderr=True), refresh_per_second=4)
            live.start()
            threading.Thread(target=rich_table, args=(live, Table), daemon=True).start()
        except ImportError:
            live = None
    if not args.attach and live is None:
        threading.Thread(target=table, daemon=True).start()
    try:
        stats = host.run(timeout_s=args.timeout, until=args.until)
    finally:
        done.set()
        if live is not None:
            live.stop()
        host.close()
    print(format_table(stats, time.monotonic() - t0), file=sys.stderr)
    if args.timeout and any(s["state"] not in ("done", "idle") for s in stats.values()):
        return 124
    failed = [s for s in stats.values() if s["status"] not in (None, 0)]
    return 1 if failed else 0


def _mkimage(args) -> int:
    from pathlib import Path

    from pyhv import image
    from pyhv._native import lib

    if args.fs and args.root:
        raise PyhvError("mkimage: --fs and --root are exclusive")
    try:
        kernel = Path(args.kernel).read_bytes()
        fs = Path(args.fs).read_bytes() if args.fs else b""
    except OSError as e:
        raise PyhvError(f"cannot read {e.filename}: {e.strerror}") from None
    if args.root:
        from pyhv import tinyfs

        fs = tinyfs.build(tinyfs.from_directory(args.root), size_blocks=args.size_mib * 1024 * 1024 // tinyfs.BSIZE)
    data = image.build(kernel, load_addr=args.load or lib.PYHV_KERNEL_BASE, entry=args.entry, fs=fs)
    try:
        Path(args.output).write_bytes(data)
    except OSError as e:
        raise PyhvError(f"cannot write {args.output}: {e.strerror}") from None
    print(image.describe(args.output))
    return 0


def _fs(args) -> int:
    from pathlib import Path

    from pyhv import tinyfs

    try:
        data = Path(args.image).read_bytes()
    except OSError as e:
        raise PyhvError(f"cannot read {args.image}: {e.strerror}") from None
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


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "boot":
            return _boot(args)
        if args.command == "info":
            from pyhv import image

            print(image.describe(args.image))
            return 0
        if args.command == "run":
            return _run(args)
        if args.command == "mkimage":
            return _mkimage(args)
        if args.command == "fs":
            return _fs(args)
        if args.command == "bench":
            from pyhv import bench

            return bench.main(args.name, args.json, args.scale)
    except PyhvError as e:
        print(f"pyhv: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pyhv: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a pyhv bug: still one line, unless asked for the traceback
        if os.environ.get("PYHV_DEBUG"):
            raise
        print(f"pyhv: internal error: {e!r} (set PYHV_DEBUG=1 for a traceback)", file=sys.stderr)
        return 1
    return 0
