"""pyhv's exceptions: every user-facing failure is one of these, with a one-line message."""


class PyhvError(Exception):
    """Base class: the CLI prints str(e) on one line and exits 1."""


class ConfigError(PyhvError):
    """A bad machine configuration (memory size, options)."""


class ImageError(PyhvError):
    """A missing, unreadable or malformed image."""


class GuestFault(PyhvError):
    """A host-side access the guest's own MMU refuses (carries the RISC-V cause)."""

    def __init__(self, message: str, cause: int):
        super().__init__(message)
        self.cause = cause


class OutOfMemory(PyhvError):
    """The host frame pool (or a VM's frame limit) is exhausted."""


class DmaError(Exception):
    """A host-side access to guest-physical memory outside the VM's RAM (a device's DMA
    aimed at nothing, or at MMIO).  Not a PyhvError: devices turn it into the guest-visible
    error their specification names."""


class Signalled(BaseException):
    """SIGTERM, SIGHUP or SIGQUIT arrived (pyhv.cli installs the handlers): like
    KeyboardInterrupt for SIGINT, it unwinds every `finally` (terminal, disks) and the
    command exits 128 + signum.  Not an Exception, so no `except Exception` swallows it."""

    def __init__(self, signum: int):
        import signal

        super().__init__(f"terminated by {signal.Signals(signum).name}")
        self.signum = signum


class UsageError(PyhvError):
    """Options that parse one by one but do not go together, or name something that does not
    exist (a benchmark workload): exit status 2, like argparse's."""
