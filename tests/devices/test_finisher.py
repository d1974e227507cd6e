# Tests of the sifive_test finisher against QEMU hw/misc/sifive_test.c semantics.
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyhv.devices.finisher import Finisher


@pytest.fixture
def fin():
    f = Finisher(on_request=lambda kind, code: f.seen.append((kind, code)))
    f.seen = []
    return f


@pytest.mark.parametrize(
    "value,expected",
    [(0x5555, ("poweroff", 0)), (0x0003_3333, ("fail", 3)), (0xFFFF_3333, ("fail", 0xFFFF)),
     (0x3333, ("fail", 0)), (0x7777, ("reset", 0)), (0x1234_5555, ("poweroff", 0))],
)  # fmt: skip
def test_commands(fin, value, expected):
    fin.write(0, 4, value)
    assert fin.seen == [expected] and fin.last_request == expected
    assert fin.counters["requests"] == 1 and fin.counters["guest_errors"] == 0


def test_halfword_store_is_accepted(fin):
    fin.write(0, 2, 0x5555)
    assert fin.seen == [("poweroff", 0)]


@pytest.mark.parametrize("offset,size,value", [(0, 4, 0x1234), (0, 4, 0), (0, 1, 0x55), (4, 4, 0x5555), (2, 2, 0x5555)])
def test_anything_else_is_a_guest_error(fin, offset, size, value):
    fin.write(offset, size, value)
    assert fin.seen == [] and fin.counters["guest_errors"] == 1


def test_reads_return_zero(fin):
    assert fin.read(0, 4) == 0 and fin.read(0, 2) == 0
    assert fin.counters["guest_errors"] == 0
    assert fin.read(8, 4) == 0 and fin.counters["guest_errors"] == 1


def test_without_callback_the_request_is_recorded():
    f = Finisher()
    f.write(0, 4, 0x7777)
    assert f.last_request == ("reset", 0)
    assert f.state() == {}


def test_exit_status():
    assert Finisher.exit_status("poweroff", 0) == 0
    assert Finisher.exit_status("fail", 7) == 7
    assert Finisher.exit_status("fail", 0) == 1  # a failure must never exit 0


@settings(max_examples=200, deadline=None)
@given(st.integers(-8, 0x1010), st.sampled_from([1, 2, 4, 8]), st.integers(0, 2**64 - 1))
def test_random_accesses_never_raise(offset, size, value):
    f = Finisher()
    assert f.read(offset, size) == 0
    f.write(offset, size, value)
    ok = offset == 0 and size in (2, 4) and value & 0xFFFF in (0x3333, 0x5555, 0x7777)
    assert (f.last_request is not None) == ok
    assert f.counters["guest_errors"] == (0 if offset == 0 and size in (2, 4) else 1) + (not ok)
