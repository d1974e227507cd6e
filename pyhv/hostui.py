"""`pyhv run`: a host configuration run to its end, with a table of the VMs, their failures
said in one line each, signals handled and exit statuses kept.  pyhv.cli parses the
arguments; pyhv.host does the running.

Exit status (README, `pyhv run --help`): 0 every VM finished with status 0 (with
`--until idle`: or sleeps with nothing armed); 1 a VM failed or can never finish, or a
pyhv error; 2 a usage error; 124 `--timeout` passed first; 128+N signal N ended the
run (130 SIGINT, 143 SIGTERM, 129 SIGHUP), the workers stopped and joined and the
disks closed before pyhv exits.
"""

import os
import signal
import sys
import threading
import time

from pyhv.errors import PyhvError

EXIT_FAILED, EXIT_TIMEOUT = 1, 124
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def format_table(stats: dict, elapsed_s: float) -> str:
    """The table `pyhv run` prints: one line per VM; a VM that stopped says why."""
    total = sum(s["insns"] for s in stats.values()) or 1
    width = max([2] + [len(name) for name in stats])
    header = (f"{'VM':{width}s} {'STATE':9s} {'CPU%':>6s} {'MIPS':>8s} {'EXITS/s':>8s} {'FRAMES':>7s} {'SHARED':>7s} "
              f"{'STATUS':>6s} REASON")
    lines = [header]
    for s in stats.values():
        exits = sum(s["exits"].values())
        lines.append(
            f"{s['name']:{width}s} {s['state']:9s} {100 * s['insns'] / total:6.1f} "
            f"{s['insns'] / max(elapsed_s, 1e-9) / 1e6:8.1f} {exits / max(elapsed_s, 1e-9):8.0f} "
            f"{s['frames_owned']:7d} {s['frames_shared']:7d} {'' if s['status'] is None else s['status']:>6} "
            f"{s.get('reason', '')}".rstrip()
        )
    return "\n".join(lines)


class _Table:
    """The live table: rich's in a terminal when rich is installed, plain text every
    `interval` seconds in a terminal or when asked for, else only the final one."""

    def __init__(self, host, interval, t0, attached: bool):
        self.host, self.t0 = host, t0
        self.done = threading.Event()
        self.live = None
        tty = sys.stderr.isatty() and not attached  # an attached console has the terminal
        if tty:
            try:  # rich is optional (pip install 'pyhv[ui]')
                from rich.console import Console as RichConsole
                from rich.live import Live

                self.live = Live(console=RichConsole(stderr=True), refresh_per_second=4)
            except ImportError:
                pass
        self.interval = interval if interval is not None else (1.0 if tty else None)
        self.thread = None

    def start(self) -> None:
        if self.live is not None:
            self.live.start()
        if self.interval is not None:
            self.thread = threading.Thread(target=self._loop, daemon=True, name="pyhv-table")
            self.thread.start()

    def say(self, line: str) -> None:
        if self.live is not None:
            self.live.console.print(line, markup=False, highlight=False)
        else:
            _say(line)

    def _loop(self) -> None:
        while not self.done.wait(self.interval):
            stats, elapsed = self.host.stats(), time.monotonic() - self.t0
            if self.live is None:
                print(format_table(stats, elapsed) + "\n", file=sys.stderr, flush=True)
                continue
            from rich.table import Table

            t = Table(title=f"pyhv run: {len(stats)} VMs, {elapsed:.1f} s")
            header = format_table(stats, elapsed).splitlines()[0]
            names = header.split()
            for name in names:
                t.add_column(name, justify="left" if name in ("VM", "STATE", "REASON") else "right")
            for s in stats.values():
                total = sum(x["insns"] for x in stats.values()) or 1
                t.add_row(s["name"], s["state"], f"{100 * s['insns'] / total:.1f}",
                          f"{s['insns'] / max(elapsed, 1e-9) / 1e6:.1f}",
                          f"{sum(s['exits'].values()) / max(elapsed, 1e-9):.0f}", str(s["frames_owned"]),
                          str(s["frames_shared"]), "" if s["status"] is None else str(s["status"]), s["reason"])
            self.live.update(t)

    def stop(self) -> None:
        self.done.set()
        if self.thread is not None:
            self.thread.join()
        if self.live is not None:
            self.live.stop()


def run(args) -> int:
    """`pyhv run CONFIG`: see the module docstring for what it returns."""
    import tempfile

    from pyhv.console import Console
    from pyhv.host import Host, load_config

    host_cfg, specs = load_config(args.config)  # the whole configuration is checked before anything is built
    if args.policy:
        host_cfg["policy"] = args.policy
    if args.pcpus:
        host_cfg["pcpus"] = args.pcpus
    if args.attach and args.attach not in {s.name for s in specs}:
        raise PyhvError(f"--attach {args.attach}: no VM of that name in {args.config}")
    log_dir = args.log_dir or tempfile.mkdtemp(prefix="pyhv-run-")
    try:
        os.makedirs(log_dir, exist_ok=True)
    except OSError as e:
        raise PyhvError(f"cannot create --log-dir {log_dir}: {e.strerror}") from None

    signalled = []
    host = None

    def on_signal(signum, frame):  # runs in the main thread; never raises: the run ends in order
        signalled.append(signum)
        if host is not None:
            host.stop(signal.Signals(signum).name)

    previous = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS}
    table, t0 = None, time.monotonic()
    try:
        host = Host(log_dir=log_dir, **host_cfg)
        host.check_capacity(specs)  # refuse up front what the machine cannot hold
        for spec in specs:
            if signalled:
                break
            host.add(spec, console=Console.stdio() if spec.name == args.attach else None)
        if not signalled:
            print(f"pyhv: {len(specs)} VMs on {host.pcpus} pCPUs ({host.policy.name}); consoles in {log_dir}",
                  file=sys.stderr, flush=True)
            table = _Table(host, args.interval, t0, attached=bool(args.attach))
            host.on_exit.append(lambda g: _say_exit(table, g))
            table.start()
            host.run(timeout_s=args.timeout, until=args.until)
        stats = host.stats()  # the workers are joined: read before the memory is freed
    finally:
        if table is not None:
            try:
                table.stop()
            except OSError:  # the terminal went away (SIGHUP): the run still ends in order
                pass
        if host is not None:
            host.close()  # the workers are joined first, then memory and disks are freed
        for s, handler in previous.items():
            signal.signal(s, handler)
    _say(format_table(stats, time.monotonic() - t0))
    if signalled:
        _say(f"pyhv: stopped by {signal.Signals(signalled[0]).name}")
        return 128 + signalled[0]
    unfinished = [s for s in stats.values() if s["state"] != "done" and not (args.until == "idle" and s["state"] == "idle")]
    failed = [s for s in stats.values() if s["status"] not in (None, 0)]
    for s in failed:
        _say(f"pyhv: VM {s['name']} failed (status {s['status']}): {s['reason']}")
    if host.stop_reason == "timeout" and unfinished:
        _say(f"pyhv: --timeout {args.timeout:g} s passed; {len(unfinished)} VMs had not finished")
        return EXIT_TIMEOUT
    if unfinished and host.stop_reason == "stuck":
        _say(f"pyhv: {len(unfinished)} VMs can never finish (asleep with no timer and no input): "
             f"{', '.join(s['name'] for s in unfinished)}")
    return EXIT_FAILED if failed or unfinished else 0


def _say(text: str) -> None:
    """A line on stderr, if there still is one (a hung-up terminal is no reason to fail)."""
    try:
        print(text, file=sys.stderr, flush=True)
    except OSError:
        pass


def _say_exit(table: _Table, g) -> None:
    if g.status:
        table.say(f"pyhv: VM {g.name} failed (status {g.status}): {g.reason}")
