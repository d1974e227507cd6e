# 16550A UART at 0x1000_0000 (PLIC source 10), byte registers at offsets 0..7 (reg-shift 0).
# Follows the National PC16550D datasheet (June 1995): §8 register descriptions, Table II
# (register summary), Table III (reset configuration), Table IV (interrupt control).
# The host side (console, pipes) lives in the board: it gets TX bytes through `tx` and
# feeds RX bytes with push_rx() as the guest drains the receiver (rx_space/wants_rx).
"""PC16550D UART model: RBR/THR, IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR, DLL/DLM."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from . import Device, IrqLine, SetLevel, check_bool, check_int

# Register offsets (Table II); DLL/DLM replace RBR-THR/IER while LCR.DLAB = 1.
RBR = THR = DLL = 0
IER = DLM = 1
IIR = FCR = 2
LCR, MCR, LSR, MSR, SCR = 3, 4, 5, 6, 7

IER_ERBFI, IER_ETBEI, IER_ELSI, IER_EDSSI = 0x01, 0x02, 0x04, 0x08
# IIR bits 3..0 (Table IV): bit 0 is 0 while an interrupt is pending.
IIR_NONE, IIR_RLS, IIR_RDA, IIR_CTI, IIR_THRE, IIR_MS = 0x1, 0x6, 0x4, 0xC, 0x2, 0x0
IIR_FIFOS = 0xC0  # bits 7..6 read 1 while FCR0 = 1
FCR_FIFO_EN, FCR_RX_RESET, FCR_TX_RESET, FCR_DMA_MODE = 0x01, 0x02, 0x04, 0x08
RX_TRIGGER = (1, 4, 8, 14)  # FCR bits 7..6
LCR_WLS, LCR_DLAB = 0x03, 0x80
MCR_DTR, MCR_RTS, MCR_OUT1, MCR_OUT2, MCR_LOOP = 0x01, 0x02, 0x04, 0x08, 0x10
LSR_DR, LSR_OE, LSR_PE, LSR_FE, LSR_BI, LSR_THRE, LSR_TEMT = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40
LSR_ERRORS = LSR_OE | LSR_PE | LSR_FE | LSR_BI
MSR_DCTS, MSR_DDSR, MSR_TERI, MSR_DDCD = 0x01, 0x02, 0x04, 0x08
MSR_CTS, MSR_DSR, MSR_RI, MSR_DCD = 0x10, 0x20, 0x40, 0x80
FIFO_DEPTH = 16


class UART16550(Device):
    """A PC16550D whose serial line is infinitely fast.

    A byte written to THR is on the wire (``tx``) before the write returns, so the
    transmitter FIFO and shift register are always empty: THRE and TEMT read 1 and
    the THRE interrupt re-arms after every write, as it would once the byte moved
    on to the shift register.  The line carries no parity, framing or break events, so PE/FE/BI and
    LSR bit 7 stay 0; OE happens when the host pushes more than ``rx_space()``.
    The character timeout (IIR 0xC) elapses at once: it is reported whenever the
    RX FIFO holds data below the trigger level.
    """

    name = "uart16550"
    SIZE = 0x1000  # PYHV_UART0_SIZE
    ACCESS_SIZES = (1,)  # reg-io-width 1: wider accesses are not decoded
    DEFAULT_MODEM_INPUTS = MSR_CTS | MSR_DSR | MSR_DCD  # a terminal is attached
    FAST_STATUS = (LSR, LSR_ERRORS)  # polled before every byte; reading it clears only the error bits

    def __init__(self, tx: Callable[[bytes], None] | None = None, irq: SetLevel | None = None, line=None) -> None:
        super().__init__()
        self.tx = tx
        # The host end of the serial line (pyhv.console.Console: has_input(), take(n)).  Its
        # bytes arrive when the guest reads RBR or LSR with an empty receiver, so a guest
        # that configures the UART late loses nothing, and what it sees does not depend on
        # when the host happened to read its input.
        self.line = line
        self.irq: SetLevel = irq if irq is not None else IrqLine()
        self.counters.update(tx_bytes=0, rx_bytes=0, overruns=0, irqs=0)
        self._irq_level = False
        self._modem_in = self.DEFAULT_MODEM_INPUTS
        self.dll, self.dlm = 0x0C, 0x00  # not touched by MR (Table III); 9600 baud at 1.8432 MHz
        self.scr = 0
        self.reset()

    def reset(self) -> None:
        """Master reset values per Table III."""
        self.ier = self.fcr = self.lcr = self.mcr = 0
        self.rbr = 0
        self.rx: deque[int] = deque()
        self.lsr_errors = 0
        self.msr_delta = 0
        self.thr_ipending = False
        self._update_irq()
        self.status_changed()

    # -- host side ---------------------------------------------------------------

    def rx_capacity(self) -> int:
        return FIFO_DEPTH if self.fcr & FCR_FIFO_EN else 1

    def rx_space(self) -> int:
        """Bytes the receiver can take without an overrun (0 in loopback: SIN is disconnected)."""
        return 0 if self.mcr & MCR_LOOP else self.rx_capacity() - len(self.rx)

    def wants_rx(self) -> bool:
        """True once the guest has drained the receiver: the host should feed more input."""
        return not self.rx and not self.mcr & MCR_LOOP

    def push_rx(self, data: bytes) -> int:
        """Receive ``data`` from the line; returns how many bytes reached RBR/FIFO.

        Bytes beyond ``rx_space()`` overrun and are lost (§8.4 OE), exactly as on a
        wire, so a host that must not lose input feeds at most ``rx_space()``.
        """
        if self.mcr & MCR_LOOP:
            return 0
        taken = sum(self._receive(b) for b in data)
        self._update_irq()
        self.status_changed()
        return taken

    def fast_status(self) -> int | None:
        """LSR for the C cache; None while input waits on the line (the next read must pull it)."""
        if self.line is not None and not self.rx and self.rx_space() and self.line.has_input():
            return None
        return self._lsr()

    def rx_interrupts_enabled(self) -> bool:
        """The driver waits for RX interrupts (IER.ERBFI): the host may push input unasked."""
        return bool(self.ier & IER_ERBFI)

    def set_modem_inputs(self, cts: bool = True, dsr: bool = True, ri: bool = False, dcd: bool = True) -> None:
        """Drive the CTS/DSR/RI/DCD input pins (as MSR bits 4..7 see them, i.e. asserted = 1)."""
        old = self._msr_lines()
        self._modem_in = (MSR_CTS * cts) | (MSR_DSR * dsr) | (MSR_RI * ri) | (MSR_DCD * dcd)
        self._note_msr_change(old)
        self._update_irq()

    # -- guest side --------------------------------------------------------------

    def pull(self) -> None:
        """Take input waiting on the line into an empty receiver."""
        if self.line is not None and not self.rx and self.rx_space() and self.line.has_input():
            self.push_rx(self.line.take(self.rx_space()))

    def mmio_read(self, offset: int, size: int) -> int | None:
        dlab = self.lcr & LCR_DLAB
        if offset in (RBR, LSR) and not dlab:
            self.pull()
        if offset == RBR:
            return self.dll if dlab else self._read_rbr()
        if offset == IER:
            return self.dlm if dlab else self.ier
        if offset == IIR:
            iid = self._iir_id()
            if iid == IIR_THRE:
                self.thr_ipending = False  # reading IIR is how the THRE interrupt is acknowledged
                self._update_irq()
            return iid | (IIR_FIFOS if self.fcr & FCR_FIFO_EN else 0)
        if offset == LCR:
            return self.lcr
        if offset == MCR:
            return self.mcr
        if offset == LSR:
            value = self._lsr()
            self.lsr_errors = 0  # OE/PE/FE/BI clear on read (§8.4)
            self._update_irq()
            return value
        if offset == MSR:
            value = self._msr_lines() | self.msr_delta
            self.msr_delta = 0  # delta bits clear on read (§8.9)
            self._update_irq()
            return value
        if offset == SCR:
            return self.scr
        return None

    def mmio_write(self, offset: int, size: int, value: int) -> bool:
        dlab = self.lcr & LCR_DLAB
        if offset == THR:
            if dlab:
                self.dll = value
            else:
                self._transmit(value)
        elif offset == IER:
            if dlab:
                self.dlm = value
            else:
                self._write_ier(value & 0x0F)  # bits 7..4 are always 0 (§8.7)
        elif offset == FCR:
            self._write_fcr(value)
        elif offset == LCR:
            self.lcr = value
        elif offset == MCR:
            old = self._msr_lines()
            self.mcr = value & 0x1F  # bits 7..5 are always 0 (§8.8)
            self._note_msr_change(old)
        elif offset in (LSR, MSR):
            pass  # writable only for factory test (§8.4); a write changes nothing here
        elif offset == SCR:
            self.scr = value
        else:
            return False
        self._update_irq()
        return True

    # -- internals ---------------------------------------------------------------

    def _word_mask(self) -> int:
        return (1 << (5 + (self.lcr & LCR_WLS))) - 1  # WLS: 5..8 data bits (§8.1)

    def _receive(self, byte: int) -> bool:
        if len(self.rx) >= self.rx_capacity():
            self.lsr_errors |= LSR_OE
            self.counters["overruns"] += 1
            return False
        self.rx.append(byte & self._word_mask())
        self.counters["rx_bytes"] += 1
        return True

    def _read_rbr(self) -> int:
        if self.rx:
            self.rbr = self.rx.popleft()
            self._update_irq()
        return self.rbr

    def _transmit(self, value: int) -> None:
        byte = value & self._word_mask()
        self.counters["tx_bytes"] += 1
        if self.mcr & MCR_LOOP:
            self._receive(byte)  # §8.8: TSR output is looped back to the receiver input
        elif self.tx is not None:
            self.tx(bytes((byte,)))
        self.thr_ipending = True  # the holding register is empty again at once

    def _write_ier(self, value: int) -> None:
        if value & IER_ETBEI and not self.ier & IER_ETBEI:
            self.thr_ipending = True  # enabling ETBEI with THRE = 1 interrupts at once
        self.ier = value

    def _write_fcr(self, value: int) -> None:
        if (value ^ self.fcr) & FCR_FIFO_EN:
            self.rx.clear()  # switching between 16450 and FIFO mode empties both FIFOs (§8.5)
            if value & FCR_FIFO_EN:
                self.thr_ipending = True  # the first TX interrupt after enabling FIFOs is immediate
        if not value & FCR_FIFO_EN:
            self.fcr = 0  # other bits are only programmed while FCR0 = 1 (§8.5)
            return
        if value & FCR_RX_RESET:
            self.rx.clear()
        self.fcr = value & (FCR_FIFO_EN | FCR_DMA_MODE | 0xC0)  # bits 1, 2 self-clear

    def _lsr(self) -> int:
        return (LSR_DR if self.rx else 0) | self.lsr_errors | LSR_THRE | LSR_TEMT

    def _msr_lines(self) -> int:
        if not self.mcr & MCR_LOOP:
            return self._modem_in
        m = self.mcr  # §8.8 loopback: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD
        return (
            (MSR_CTS if m & MCR_RTS else 0)
            | (MSR_DSR if m & MCR_DTR else 0)
            | (MSR_RI if m & MCR_OUT1 else 0)
            | (MSR_DCD if m & MCR_OUT2 else 0)
        )

    def _note_msr_change(self, old: int) -> None:
        new = self._msr_lines()
        changed = old ^ new
        self.msr_delta |= (
            (MSR_DCTS if changed & MSR_CTS else 0)
            | (MSR_DDSR if changed & MSR_DSR else 0)
            | (MSR_TERI if old & MSR_RI and not new & MSR_RI else 0)  # trailing edge of ring only
            | (MSR_DDCD if changed & MSR_DCD else 0)
        )

    def _rx_trigger(self) -> int:
        return RX_TRIGGER[self.fcr >> 6] if self.fcr & FCR_FIFO_EN else 1

    def _iir_id(self) -> int:
        """Highest-priority pending interrupt (Table IV: line status > RX data/timeout > THRE > modem)."""
        if self.ier & IER_ELSI and self.lsr_errors:
            return IIR_RLS
        if self.ier & IER_ERBFI and self.rx:
            return IIR_RDA if len(self.rx) >= self._rx_trigger() else IIR_CTI
        if self.ier & IER_ETBEI and self.thr_ipending:
            return IIR_THRE
        if self.ier & IER_EDSSI and self.msr_delta:
            return IIR_MS
        return IIR_NONE

    def _update_irq(self, force: bool = False) -> None:
        level = self._iir_id() != IIR_NONE
        if level != self._irq_level or force:
            if level and not self._irq_level:
                self.counters["irqs"] += 1
            self._irq_level = level
            self.irq(level)

    # -- snapshots ---------------------------------------------------------------

    def state(self) -> dict:
        return {
            "rbr": self.rbr, "ier": self.ier, "fcr": self.fcr, "lcr": self.lcr, "mcr": self.mcr,
            "scr": self.scr, "dll": self.dll, "dlm": self.dlm, "lsr_errors": self.lsr_errors,
            "msr_delta": self.msr_delta, "modem_in": self._modem_in,
            "thr_ipending": self.thr_ipending, "rx": list(self.rx),
        }  # fmt: skip

    def load_state(self, d: dict) -> None:
        regs = {k: check_int(d, k, 0, 0xFF) for k in ("rbr", "lcr", "scr", "dll", "dlm")}
        ier, mcr = check_int(d, "ier", 0, 0x0F), check_int(d, "mcr", 0, 0x1F)
        fcr = check_int(d, "fcr", 0, 0xFF)
        if fcr & ~(FCR_FIFO_EN | FCR_DMA_MODE | 0xC0) or (fcr and not fcr & FCR_FIFO_EN):
            raise ValueError(f"bad snapshot field 'fcr': {fcr!r}")
        lsr_errors = check_int(d, "lsr_errors", 0, LSR_ERRORS)
        if lsr_errors & ~LSR_ERRORS:
            raise ValueError(f"bad snapshot field 'lsr_errors': {lsr_errors!r}")
        msr_delta = check_int(d, "msr_delta", 0, 0x0F)
        modem_in = check_int(d, "modem_in", 0, 0xFF)
        if modem_in & 0x0F:
            raise ValueError(f"bad snapshot field 'modem_in': {modem_in!r}")
        rx = d.get("rx")
        capacity = FIFO_DEPTH if fcr & FCR_FIFO_EN else 1
        if not isinstance(rx, list) or len(rx) > capacity:
            raise ValueError(f"bad snapshot field 'rx': {rx!r}")
        rx = [check_int({"rx": b}, "rx", 0, 0xFF) for b in rx]
        thr_ipending = check_bool(d, "thr_ipending")
        for k, v in regs.items():
            setattr(self, k, v)
        self.ier, self.mcr, self.fcr = ier, mcr, fcr
        self.lsr_errors, self.msr_delta, self._modem_in = lsr_errors, msr_delta, modem_in
        self.thr_ipending = thr_ipending
        self.rx = deque(rx)
        self._update_irq(force=True)
        self.status_changed()

