# RISC-V PLIC at 0x0c00_0000: level-triggered gateways, priorities, per-context enables,
# thresholds and claim/complete.  Follows the RISC-V Platform-Level Interrupt Controller
# Specification 1.0.0 with the SiFive/QEMU virt register layout and context numbering
# (context 2h = hart h M-mode, 2h+1 = hart h S-mode).  Delivering EIP into mip/sip is
# the vCPU's job: this device only drives one wire per context (ctx_irq).
"""RISC-V PLIC model (riscv-plic-spec 1.0.0)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from . import Device, IrqLine, SetLevel, check_int_list

# Register blocks (spec "Memory Map"); each register is 32 bits, accessed with LW/SW.
PRIORITY_BASE = 0x000000  # + 4 * source
PENDING_BASE = 0x001000  # bit (N mod 32) of word N / 32
ENABLE_BASE = 0x002000  # + 0x80 * context, packed like the pending bits
ENABLE_STRIDE = 0x80
CONTEXT_BASE = 0x200000  # + 0x1000 * context: threshold at +0, claim/complete at +4
CONTEXT_STRIDE = 0x1000
CLAIM_COMPLETE = 0x4


def _bits(mask: int) -> Iterator[int]:
    """Set bit numbers of ``mask``, lowest first (so scans see IDs in tie-break order)."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


class PLIC(Device):
    """Platform-Level Interrupt Controller with ``n_sources`` IDs (0 is "no interrupt").

    Gateways are level-sensitive (spec "Interrupt Gateways"): the first assertion of
    a source becomes a request (its IP bit); no further request is forwarded until
    the target completes that ID, and then only if the level is still asserted.  A
    request is never retracted, even if the source drops its level before the claim.
    """

    name = "plic"
    SIZE = 0x400000  # PYHV_PLIC_SIZE
    ACCESS_SIZES = (4,)
    PRIORITY_BITS = 3  # QEMU virt: priorities 0..7; WARL, so a write keeps the low 3 bits

    def __init__(self, n_harts: int = 1, n_sources: int = 32, ctx_irq: Sequence[SetLevel] | None = None) -> None:
        super().__init__()
        n_contexts = 2 * n_harts
        if not 2 <= n_sources <= 1024:
            raise ValueError(f"n_sources must be 2..1024, got {n_sources}")
        if not 1 <= n_harts or n_contexts > (self.SIZE - CONTEXT_BASE) // CONTEXT_STRIDE:
            raise ValueError(f"n_harts {n_harts} does not fit the {self.SIZE:#x}-byte window")
        self.n_sources, self.n_contexts = n_sources, n_contexts
        self.n_words = (n_sources + 31) // 32
        self.ctx_irq: list[SetLevel] = list(ctx_irq) if ctx_irq is not None else [IrqLine() for _ in range(n_contexts)]
        if len(self.ctx_irq) != n_contexts:
            raise ValueError(f"need {n_contexts} ctx_irq outputs, got {len(self.ctx_irq)}")
        self.valid_ids = ((1 << n_sources) - 1) & ~1  # ID 0 is hardwired to zero everywhere
        self.max_priority = (1 << self.PRIORITY_BITS) - 1
        self.counters.update(claims=0, spurious_claims=0, completions=0, ignored_completions=0)
        self.level = 0  # gateway inputs, bit per source: wires, so reset() leaves them alone
        self._eip = [False] * n_contexts
        self.reset()

    def reset(self) -> None:
        self.priority = [0] * self.n_sources
        self.pending = 0  # IP bits in the PLIC core
        self.in_flight = 0  # gateways that forwarded a request and await its completion
        self.enable = [0] * self.n_contexts
        self.threshold = [0] * self.n_contexts
        self._forward(self.level)
        self._update()

    # -- interrupt sources (the board wires device IrqLines here) -----------------------

    def set_source(self, src: int, level: bool) -> None:
        if not 1 <= src < self.n_sources:
            raise ValueError(f"PLIC source {src} out of range 1..{self.n_sources - 1}")
        bit = 1 << src
        self.level = self.level | bit if level else self.level & ~bit
        if level and not self.in_flight & bit:
            self._forward(bit)
            self._update()

    def _forward(self, bits: int) -> None:
        self.pending |= bits
        self.in_flight |= bits

    # -- targets ----------------------------------------------------------------------------

    def claim(self, ctx: int) -> int:
        """Spec "Interrupt Claim Process": the threshold does not filter a claim."""
        best, best_prio = 0, 0
        for src in _bits(self.pending & self.enable[ctx]):
            if self.priority[src] > best_prio:  # ascending IDs, so ties go to the lowest ID
                best, best_prio = src, self.priority[src]
        if best:
            self.pending &= ~(1 << best)
            self.counters["claims"] += 1
            self._update()
        else:
            self.counters["spurious_claims"] += 1
        return best

    def complete(self, ctx: int, src: int) -> None:
        """Spec "Interrupt Completion": IDs not enabled for ``ctx`` are silently ignored."""
        bit = 1 << src if 0 <= src < self.n_sources else 0
        if not bit & self.enable[ctx]:
            self.counters["ignored_completions"] += 1
            return
        self.counters["completions"] += 1
        self.in_flight &= ~bit
        if self.level & bit:
            self._forward(bit)
        self._update()

    def eip(self, ctx: int) -> bool:
        """The context's notification: an enabled pending source with priority above threshold."""
        t = self.threshold[ctx]
        return any(self.priority[s] > t for s in _bits(self.pending & self.enable[ctx]))

    def _update(self, force: bool = False) -> None:
        for ctx in range(self.n_contexts):
            level = self.eip(ctx)
            if level != self._eip[ctx] or force:
                self._eip[ctx] = level
                self.ctx_irq[ctx](level)

    # -- registers --------------------------------------------------------------------------

    def _decode(self, offset: int) -> tuple[str, int, int] | None:
        """Map an offset to (block, context-or-source, word); None where nothing is decoded."""
        if offset & 3:
            return None
        if offset < PENDING_BASE:
            src = offset >> 2
            return ("priority", src, 0) if 1 <= src < self.n_sources else None
        if offset < ENABLE_BASE:
            word = (offset - PENDING_BASE) >> 2
            return ("pending", 0, word) if word < self.n_words else None
        if offset < CONTEXT_BASE:
            ctx, rel = divmod(offset - ENABLE_BASE, ENABLE_STRIDE)
            return ("enable", ctx, rel >> 2) if ctx < self.n_contexts and rel >> 2 < self.n_words else None
        ctx, rel = divmod(offset - CONTEXT_BASE, CONTEXT_STRIDE)
        if ctx >= self.n_contexts or rel not in (0, CLAIM_COMPLETE):
            return None
        return ("threshold" if rel == 0 else "claim", ctx, 0)

    def mmio_read(self, offset: int, size: int) -> int | None:
        reg = self._decode(offset)
        if reg is None:
            return None
        block, idx, word = reg
        if block == "priority":
            return self.priority[idx]
        if block == "pending":
            return (self.pending >> (32 * word)) & 0xFFFFFFFF
        if block == "enable":
            return (self.enable[idx] >> (32 * word)) & 0xFFFFFFFF
        if block == "threshold":
            return self.threshold[idx]
        return self.claim(idx)

    def mmio_write(self, offset: int, size: int, value: int) -> bool:
        reg = self._decode(offset)
        if reg is None or reg[0] == "pending":  # IP bits change only through gateways and claims
            return False
        block, idx, word = reg
        if block == "priority":
            self.priority[idx] = value & self.max_priority
        elif block == "enable":
            mask = 0xFFFFFFFF << (32 * word)
            self.enable[idx] = (self.enable[idx] & ~mask) | ((value << (32 * word)) & mask & self.valid_ids)
        elif block == "threshold":
            self.threshold[idx] = value & self.max_priority
        else:
            self.complete(idx, value)
            return True
        self._update()
        return True

    # -- snapshots --------------------------------------------------------------------------

    def _words(self, mask: int) -> list[int]:
        return [(mask >> (32 * w)) & 0xFFFFFFFF for w in range(self.n_words)]

    def _load_mask(self, key: str, words: object) -> int:
        words = check_int_list({key: words}, key, self.n_words, 0, 0xFFFFFFFF)
        mask = sum(w << (32 * i) for i, w in enumerate(words))
        if mask & ~self.valid_ids:
            raise ValueError(f"bad snapshot field {key!r}: bits outside sources 1..{self.n_sources - 1}")
        return mask

    def state(self) -> dict:
        return {
            "priority": list(self.priority),
            "pending": self._words(self.pending),
            "in_flight": self._words(self.in_flight),
            "level": self._words(self.level),
            "enable": [self._words(e) for e in self.enable],
            "threshold": list(self.threshold),
        }

    def load_state(self, d: dict) -> None:
        priority = check_int_list(d, "priority", self.n_sources, 0, self.max_priority)
        threshold = check_int_list(d, "threshold", self.n_contexts, 0, self.max_priority)
        if priority[0]:
            raise ValueError("bad snapshot field 'priority': source 0 does not exist")
        pending, in_flight, level = (self._load_mask(k, d.get(k)) for k in ("pending", "in_flight", "level"))
        rows = d.get("enable")
        if not isinstance(rows, list) or len(rows) != self.n_contexts:
            raise ValueError("bad snapshot field 'enable'")
        enable = [self._load_mask("enable", row) for row in rows]
        self.priority, self.threshold, self.enable = priority, threshold, enable
        self.pending, self.in_flight, self.level = pending, in_flight, level
        self._update(force=True)
