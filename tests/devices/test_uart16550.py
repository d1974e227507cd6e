# Register-level tests of the 16550A model against the PC16550D datasheet (Tables III, IV; §8).
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyhv.devices import IrqLine
from pyhv.devices.uart16550 import DLL, DLM, FCR, IER, IIR, LCR, LSR, MCR, MSR, RBR, SCR, THR, UART16550


@pytest.fixture
def uart():
    sent = bytearray()
    u = UART16550(tx=sent.extend)
    u.sent = sent
    return u


def rd(u, off):
    return u.read(off, 1)


def wr(u, off, v):
    u.write(off, 1, v)


def test_reset_values(uart):
    # Table III: IER=0, IIR=0x01, FCR=0, LCR=0, MCR=0, LSR=0x60, MSR bits 3..0 = 0.
    assert rd(uart, IER) == 0
    assert rd(uart, IIR) == 0x01
    assert rd(uart, LCR) == 0
    assert rd(uart, MCR) == 0
    assert rd(uart, LSR) == 0x60
    assert rd(uart, MSR) == 0xB0  # CTS, DSR, DCD asserted by the attached terminal
    assert uart.irq.level is False


def test_reset_restores_registers(uart):
    wr(uart, LCR, 0x03)
    wr(uart, IER, 0x0F)
    wr(uart, FCR, 0x01)
    wr(uart, MCR, 0x1F)
    uart.reset()
    assert [rd(uart, r) for r in (IER, IIR, LCR, MCR, LSR)] == [0, 0x01, 0, 0, 0x60]
    assert uart.irq.level is False


def test_dlab_switches_offsets_0_and_1_to_divisor_latch(uart):
    wr(uart, IER, 0x05)
    wr(uart, LCR, 0x83)
    wr(uart, DLL, 0x01)
    wr(uart, DLM, 0x02)
    assert (rd(uart, DLL), rd(uart, DLM)) == (0x01, 0x02)
    assert uart.sent == b""  # a DLL write is not a THR write
    wr(uart, LCR, 0x03)
    assert rd(uart, IER) == 0x05
    wr(uart, THR, ord("A"))
    assert uart.sent == b"A"
    wr(uart, LCR, 0x83)
    assert (rd(uart, DLL), rd(uart, DLM)) == (0x01, 0x02)


def test_ier_and_mcr_reserved_bits_read_zero(uart):
    wr(uart, IER, 0xFF)
    wr(uart, MCR, 0xFF)
    assert rd(uart, IER) == 0x0F
    assert rd(uart, MCR) == 0x1F


def test_scratch_register(uart):
    wr(uart, SCR, 0xA5)
    assert rd(uart, SCR) == 0xA5


def test_transmit_respects_word_length(uart):
    wr(uart, LCR, 0x03)  # 8 data bits
    for b in b"hi\xff":
        wr(uart, THR, b)
    wr(uart, LCR, 0x00)  # reset value: 5 data bits, the upper 3 bits never reach the line
    wr(uart, THR, 0xFF)
    assert uart.sent == b"hi\xff\x1f"
    assert rd(uart, LSR) & 0x60 == 0x60  # THRE and TEMT: the infinitely fast line is idle again
    assert uart.counters["tx_bytes"] == 4


def test_receive_16450_mode_and_overrun(uart):
    wr(uart, LCR, 0x03)
    assert uart.rx_space() == 1 and uart.wants_rx()
    assert uart.push_rx(b"xy") == 1  # RBR holds one character; 'y' overruns
    assert rd(uart, LSR) == 0x63  # DR | OE | THRE | TEMT
    assert rd(uart, LSR) == 0x61  # OE clears on read
    assert rd(uart, RBR) == ord("x")
    assert rd(uart, LSR) == 0x60
    assert uart.wants_rx()
    assert uart.counters["overruns"] == 1


def test_fifo_enable_order_capacity_and_overrun(uart):
    wr(uart, LCR, 0x03)
    wr(uart, FCR, 0x01)
    assert rd(uart, IIR) & 0xC0 == 0xC0
    assert uart.rx_space() == 16
    data = bytes(range(0x40, 0x51))  # 17 bytes
    assert uart.push_rx(data) == 16
    assert rd(uart, LSR) & 0x03 == 0x03
    assert bytes(rd(uart, RBR) for _ in range(16)) == data[:16]
    assert rd(uart, LSR) & 0x01 == 0


def test_fcr_resets_and_fifo_disable_clear_the_receiver(uart):
    wr(uart, FCR, 0x01)
    uart.push_rx(b"abc")
    wr(uart, FCR, 0x03)  # RCVR FIFO reset, self-clearing
    assert rd(uart, LSR) & 0x01 == 0
    uart.push_rx(b"abc")
    wr(uart, FCR, 0x00)  # back to 16450 mode empties the FIFO
    assert rd(uart, LSR) & 0x01 == 0
    assert rd(uart, IIR) & 0xC0 == 0
    assert uart.rx_capacity() == 1


def test_fcr_bits_ignored_unless_fifo_enable_is_set(uart):
    wr(uart, FCR, 0xC0)  # trigger 14 without FCR0: not programmed
    assert uart.fcr == 0
    wr(uart, FCR, 0xC1)
    assert uart.fcr == 0xC1


@pytest.mark.parametrize("fcr,trigger", [(0x01, 1), (0x41, 4), (0x81, 8), (0xC1, 14)])
def test_rx_trigger_levels_and_character_timeout(uart, fcr, trigger):
    wr(uart, FCR, fcr)
    wr(uart, IER, 0x01)
    uart.push_rx(b"z" * (trigger - 1))
    expect_below = 0xCC if trigger > 1 else 0xC1  # character timeout below the trigger level
    assert rd(uart, IIR) == expect_below
    uart.push_rx(b"z")
    assert rd(uart, IIR) == 0xC4  # received data available at the trigger level
    assert uart.irq.level
    rd(uart, RBR)
    assert rd(uart, IIR) == expect_below
    for _ in range(trigger - 1):
        rd(uart, RBR)
    assert rd(uart, IIR) == 0xC1
    assert not uart.irq.level


def test_iir_priorities(uart):
    wr(uart, LCR, 0x03)
    wr(uart, IER, 0x0F)
    uart.push_rx(b"ab")  # one received, one overrun
    uart.set_modem_inputs(cts=False)
    assert rd(uart, IIR) == 0x06  # line status first
    rd(uart, LSR)
    assert rd(uart, IIR) == 0x04  # then received data
    rd(uart, RBR)
    assert rd(uart, IIR) == 0x02  # then THR empty, which this read acknowledges
    assert rd(uart, IIR) == 0x00  # then modem status
    assert rd(uart, MSR) == 0xA1  # DCTS, DSR, DCD
    assert rd(uart, IIR) == 0x01
    assert not uart.irq.level


def test_thre_interrupt_lifecycle(uart):
    line = IrqLine()
    u = UART16550(irq=line)
    wr(u, LCR, 0x03)
    wr(u, IER, 0x02)  # enabling ETBEI while THRE = 1 interrupts at once
    assert line.level and u.read(IIR, 1) == 0x02
    assert not line.level  # acknowledged by the IIR read
    wr(u, THR, 0x41)
    assert line.level  # the holding register emptied again
    wr(u, IER, 0x00)
    assert not line.level
    assert line.raised == 2 == u.counters["irqs"]


def test_irq_callable_only_sees_level_changes():
    levels = []
    u = UART16550(irq=levels.append)
    wr(u, IER, 0x01)
    u.push_rx(b"a")
    u.push_rx(b"")
    rd(u, RBR)
    assert levels == [True, False]


def test_loopback(uart):
    wr(uart, LCR, 0x03)
    wr(uart, FCR, 0x01)
    wr(uart, MCR, 0x10)
    assert rd(uart, MSR) & 0xF0 == 0  # inputs now follow the (cleared) outputs
    assert uart.push_rx(b"host") == 0 and uart.rx_space() == 0 and not uart.wants_rx()
    wr(uart, THR, ord("L"))
    assert uart.sent == b""
    assert rd(uart, LSR) & 0x01
    assert rd(uart, RBR) == ord("L")
    rd(uart, MSR)
    wr(uart, MCR, 0x1F)  # DTR, RTS, OUT1, OUT2
    assert rd(uart, MSR) == 0xF0 | 0x0B  # CTS DSR RI DCD, deltas DCTS DDSR DDCD (RI rose: no TERI)
    wr(uart, MCR, 0x1B)  # OUT1 falls: trailing edge of RI
    assert rd(uart, MSR) == 0xB4
    wr(uart, MCR, 0x00)
    assert rd(uart, MSR) & 0xF0 == 0xB0  # out of loopback the terminal's lines are back


def test_loopback_modem_status_interrupt(uart):
    wr(uart, IER, 0x08)
    wr(uart, MCR, 0x10)  # entering loopback changes CTS/DSR/DCD as seen by MSR
    assert rd(uart, IIR) == 0x00 and uart.irq.level
    rd(uart, MSR)
    assert rd(uart, IIR) == 0x01 and not uart.irq.level


def test_loopback_overrun_when_receiver_full(uart):
    wr(uart, MCR, 0x10)
    wr(uart, THR, 1)
    wr(uart, THR, 2)
    assert rd(uart, LSR) & 0x03 == 0x03


@pytest.mark.parametrize("offset,size", [(8, 1), (0xFFF, 1), (0, 4), (4, 2), (0x1000, 1), (-1, 1)])
def test_undecoded_accesses_are_guest_errors(uart, offset, size):
    assert uart.read(offset, size) == 0
    uart.write(offset, size, 0xFF)
    assert uart.counters["guest_errors"] == 2
    assert rd(uart, IER) == 0 and uart.sent == b""


def test_lsr_msr_writes_change_nothing(uart):
    wr(uart, LSR, 0xFF)
    wr(uart, MSR, 0xFF)
    assert rd(uart, LSR) == 0x60 and rd(uart, MSR) == 0xB0
    assert uart.counters["guest_errors"] == 0


def test_state_round_trip_through_json(uart):
    wr(uart, LCR, 0x83)
    wr(uart, DLL, 0x03)
    wr(uart, LCR, 0x03)
    wr(uart, FCR, 0x81)
    wr(uart, IER, 0x03)
    uart.push_rx(b"abc")
    snap = json.loads(json.dumps(uart.state()))
    line = IrqLine()
    other = UART16550(irq=line)
    other.load_state(snap)
    assert other.state() == uart.state()
    assert line.level  # the output wire is re-driven from the restored registers
    assert bytes(rd(other, RBR) for _ in range(3)) == b"abc"


@pytest.mark.parametrize(
    "key,value", [("ier", 0x10), ("fcr", 0x02), ("rx", [1] * 17), ("rx", [256]), ("thr_ipending", 1), ("lcr", None)]
)
def test_load_state_rejects_impossible_states(uart, key, value):
    snap = uart.state()
    snap[key] = value
    with pytest.raises(ValueError):
        uart.load_state(snap)


ops = st.one_of(
    st.tuples(st.just("r"), st.integers(0, 9), st.sampled_from([1, 1, 1, 2, 4])),
    st.tuples(st.just("w"), st.integers(0, 9), st.integers(0, 0xFF)),
    st.tuples(st.just("rx"), st.binary(max_size=20)),
    st.tuples(st.just("modem"), st.booleans(), st.booleans(), st.booleans(), st.booleans()),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(ops, max_size=60))
def test_random_accesses_never_raise_or_break_invariants(seq):
    line = IrqLine()
    u = UART16550(tx=lambda b: None, irq=line)
    for op in seq:
        if op[0] == "r":
            u.read(op[1], op[2])
        elif op[0] == "w":
            u.write(op[1], 1, op[2])
        elif op[0] == "rx":
            assert u.push_rx(op[1]) <= len(op[1])
        else:
            u.set_modem_inputs(*op[1:])
        assert len(u.rx) <= u.rx_capacity() == (16 if u.fcr & 1 else 1)
        assert u.ier <= 0x0F and u.mcr <= 0x1F
        assert u.fcr & 0x06 == 0 and (u.fcr == 0 or u.fcr & 1)
        lsr = u._lsr()
        assert lsr & 0x60 == 0x60 and bool(lsr & 1) == bool(u.rx)
        assert line.level == (u._iir_id() != 0x1)
    snap = json.loads(json.dumps(u.state()))
    fresh = UART16550()
    fresh.load_state(snap)
    assert fresh.state() == u.state()
