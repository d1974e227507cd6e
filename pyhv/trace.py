"""`pyhv boot -d ITEMS`: QEMU-style logs.  int and mmu events are recorded by the C
hooks into a ring (csrc/vcpu.c trace_event) and printed here after each run; in_asm
disassembles each newly seen block with capstone (a Python block hook: debug only).
"""

import numpy as np

from pyhv._native import ffi, lib

PRIV = {0: "U", 1: "S", 3: "M"}
ACCESS = {0: "read", 1: "write", 2: "fetch"}
RING_EVENTS = 4096
EVENT = np.dtype([(n, "<u4") for n in ("kind", "cause", "pc", "value", "priv_from", "priv_to")])


def _perms(p: int) -> str:
    return "".join(c if p & b else "-" for c, b in (("r", 1), ("w", 2), ("x", 4)))


class Tracer:
    def __init__(self, cpu, items: set, log):
        self.cpu, self.log = cpu, log
        mask = (lib.PYHV_TRACE_INT if "int" in items else 0) | (lib.PYHV_TRACE_MMU if "mmu" in items else 0)
        self._ring = ffi.new("struct pyhv_trace_event[]", RING_EVENTS)
        self._view = np.frombuffer(ffi.buffer(self._ring), dtype=EVENT)
        cpu.c.trace = self._ring
        cpu.c.trace_cap = RING_EVENTS
        cpu.c.trace_len = 0
        cpu.c.trace_mask = mask
        self._seen_blocks = set()
        if "in_asm" in items:
            self._start_in_asm()

    def drain(self) -> None:
        n = int(self.cpu.c.trace_len)
        for e in self._view[:n]:
            self.log.write(self.format(e) + "\n")
        self.cpu.c.trace_len = 0
        if n:
            self.log.flush()

    @staticmethod
    def format(e) -> str:
        kind, cause, pc, value, pfrom, pto = (int(x) for x in e)
        if kind == lib.PYHV_TRACE_INT:
            what = f"interrupt {cause & 0x7FFFFFFF}" if cause >> 31 else f"exception {cause}"
            return f"int: {what} epc=0x{pc:08x} tval=0x{value:08x} {PRIV.get(pfrom, pfrom)}->{PRIV.get(pto, pto)}"
        if cause == lib.PYHV_TRACE_MMU_FLUSH:
            return f"mmu: tlb flush (stage-2 generation {value})"
        if cause & 0x100:
            return f"mmu: {PRIV.get(pfrom, pfrom)} va=0x{pc:08x} fault cause {cause & 0xFF}"
        return f"mmu: {PRIV.get(pfrom, pfrom)} {ACCESS.get(cause, cause)} va=0x{pc:08x} -> 0x{value:08x} {_perms(pto)}"

    def _start_in_asm(self) -> None:
        try:
            import capstone
        except ImportError:
            from pyhv.errors import ConfigError

            raise ConfigError("-d in_asm needs capstone: pip install 'pyhv[debug]'") from None
        import unicorn

        md = capstone.Cs(capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV32)

        def on_block(uc, address, size, _):
            key = (address, size, self.cpu.priv)
            if key in self._seen_blocks:
                return
            self._seen_blocks.add(key)
            try:
                code = uc.mem_read(address, size) if self.cpu.vm.mmu == "unicorn" else self.cpu.read_virt(address, size)
            except Exception:
                return
            self.log.write(f"IN: {PRIV.get(self.cpu.priv, '?')}-mode block 0x{address:08x}\n")
            for insn in md.disasm(bytes(code), address):
                self.log.write(f"0x{insn.address:08x}:  {insn.bytes.hex():8s}  {insn.mnemonic} {insn.op_str}\n")
            self.log.write("\n")

        self.cpu.hook_add(unicorn.UC_HOOK_BLOCK, on_block)
