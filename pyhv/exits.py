"""Why a vCPU's run returned: the exit reasons of csrc/pyhv_core.h as a small record."""

from dataclasses import dataclass

from pyhv._native import lib

REASONS = {
    lib.PYHV_EXIT_NONE: "none",
    lib.PYHV_EXIT_BUDGET: "budget",
    lib.PYHV_EXIT_IDLE: "idle",
    lib.PYHV_EXIT_BREAKPOINT: "breakpoint",
    lib.PYHV_EXIT_SHUTDOWN: "shutdown",
    lib.PYHV_EXIT_FATAL: "fatal",
    lib.PYHV_EXIT_HOST: "host",
    lib.PYHV_EXIT_OOM: "oom",
}
CODES = {name: code for code, name in REASONS.items()}


@dataclass(frozen=True)
class Exit:
    """reason: budget | idle | breakpoint | shutdown | fatal | host | oom; pc: where the guest stands."""

    reason: str
    pc: int
    message: str = ""

    def __str__(self) -> str:
        text = f"{self.reason} at pc=0x{self.pc:08x}"
        return f"{text}: {self.message}" if self.message else text
