"""The `pyhv` command line: argument parsing and exit codes only, no emulation logic.

Exit status: 0 success, 1 pyhv error (one line on stderr), 2 usage error.
"""

import argparse
import sys

from pyhv.errors import PyhvError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pyhv", description="A type-2 hypervisor for RISC-V rv32 guests, in Python + C.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    b = sub.add_parser("bench", help="run a benchmark and print its figures")
    b.add_argument("name", choices=["core"], help="core: vCPU core ratios against raw Unicorn and the Python twins")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.add_argument("--scale", type=float, default=1.0, help="work multiplier (default 1.0)")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "bench":
            from pyhv import bench

            if args.scale <= 0:
                print("pyhv: --scale must be positive", file=sys.stderr)
                return 2
            return bench.main(args.name, args.json, args.scale)
    except PyhvError as e:
        print(f"pyhv: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pyhv: interrupted", file=sys.stderr)
        return 130
    return 0
