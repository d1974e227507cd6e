# Tests of the DTB writer/reader (Devicetree Specification v0.4 ch. 5) and of the virt board tree.
import shutil
import struct
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyhv.fdt import FDT_MAGIC, Node, cells, encode_value, parse, read_header, strings, u32s, virt_dtb


def test_header_and_block_layout():
    root = Node("").prop("#address-cells", 2)
    root.child("chosen").prop("bootargs", "x")
    blob = root.to_dtb(boot_cpuid_phys=3, reservations=[(0x8000_0000, 0x1000)])
    h = read_header(blob)
    assert h["magic"] == FDT_MAGIC and blob[:4] == b"\xd0\x0d\xfe\xed"
    assert (h["version"], h["last_comp_version"], h["boot_cpuid_phys"]) == (17, 16, 3)
    assert h["totalsize"] == len(blob)
    assert h["off_mem_rsvmap"] == 40 and h["off_mem_rsvmap"] % 8 == 0
    assert h["off_dt_struct"] % 4 == 0 and h["off_dt_struct"] == 40 + 32
    assert h["off_dt_strings"] == h["off_dt_struct"] + h["size_dt_struct"]
    assert h["memreserve"] == [(0x8000_0000, 0x1000)]
    body = blob[h["off_dt_struct"] : h["off_dt_strings"]]
    assert body[:8] == struct.pack(">II", 1, 0)  # FDT_BEGIN_NODE, empty root name padded to 4
    assert body[-8:] == struct.pack(">II", 2, 9)  # FDT_END_NODE, FDT_END
    assert blob[h["off_dt_strings"] :] == b"#address-cells\0bootargs\0"


def test_strings_are_shared():
    root = Node("")
    for i in range(3):
        root.child(f"n{i}").prop("compatible", "a")
    assert read_header(root.to_dtb())["size_dt_strings"] == len(b"compatible\0")


def test_value_encodings_round_trip():
    root = Node("").prop("empty").prop("u32", 0xDEADBEEF).prop("cells", [1, 2, 3])
    root.prop("str", "okay").prop("list", ["a", "bc"]).prop("raw", b"\x01\x02\x03")
    t = parse(root.to_dtb())
    assert t["empty"] == b""
    assert u32s(t["u32"]) == [0xDEADBEEF] and u32s(t["cells"]) == [1, 2, 3]
    assert strings(t["str"]) == ["okay"] and strings(t["list"]) == ["a", "bc"]
    assert t["raw"] == b"\x01\x02\x03"
    assert cells(0x1_2345_6789, 2) == [1, 0x23456789]


@pytest.mark.parametrize(
    "mutate",
    [lambda b: b[:20], lambda b: b"\0\0\0\0" + b[4:], lambda b: b[:-8], lambda b: b[:40] + b"\xff" * (len(b) - 40)],
)
def test_parse_rejects_malformed(mutate):
    blob = Node("").prop("a", 1).to_dtb()
    with pytest.raises(ValueError):
        parse(mutate(blob))


@pytest.fixture(scope="module")
def virt():
    return parse(virt_dtb(0x8000_0000, 128 << 20, 2, "console=ttyS0 root=/dev/vda", 3))


def by_phandle(tree):
    found = {}

    def walk(node, path):
        if "phandle" in node:
            found[u32s(node["phandle"])[0]] = path
        for k, v in node.items():
            if isinstance(v, dict):
                walk(v, f"{path}/{k}")

    walk(tree, "")
    return found


def test_virt_root_chosen_memory(virt):
    assert u32s(virt["#address-cells"]) == [2] and u32s(virt["#size-cells"]) == [2]
    assert strings(virt["chosen"]["bootargs"]) == ["console=ttyS0 root=/dev/vda"]
    assert strings(virt["chosen"]["stdout-path"]) == ["/soc/serial@10000000"]
    mem = virt["memory@80000000"]
    assert strings(mem["device_type"]) == ["memory"]
    assert u32s(mem["reg"]) == [0, 0x8000_0000, 0, 128 << 20]


def test_virt_cpus(virt):
    cpus = virt["cpus"]
    assert u32s(cpus["timebase-frequency"]) == [10_000_000]
    assert (u32s(cpus["#address-cells"]), u32s(cpus["#size-cells"])) == ([1], [0])
    for hart in range(2):
        cpu = cpus[f"cpu@{hart}"]
        assert u32s(cpu["reg"]) == [hart]
        assert strings(cpu["device_type"]) == ["cpu"] and strings(cpu["compatible"]) == ["riscv"]
        assert strings(cpu["riscv,isa"]) == ["rv32ima"] and strings(cpu["mmu-type"]) == ["riscv,sv32"]
        intc = cpu["interrupt-controller"]
        assert strings(intc["compatible"]) == ["riscv,cpu-intc"]
        assert "interrupt-controller" in intc and u32s(intc["#interrupt-cells"]) == [1]


def test_virt_interrupt_wiring(virt):
    soc = virt["soc"]
    ph = by_phandle(virt)
    assert len(ph) == 4  # two hart intcs, the finisher, the PLIC
    hlic = [ph_id for ph_id, path in ph.items() if path.endswith("interrupt-controller")]
    clint = soc["clint@2000000"]
    assert strings(clint["compatible"]) == ["sifive,clint0", "riscv,clint0"]
    assert u32s(clint["reg"]) == [0, 0x200_0000, 0, 0x10000]
    assert u32s(clint["interrupts-extended"]) == [hlic[0], 3, hlic[0], 7, hlic[1], 3, hlic[1], 7]
    plic = soc["plic@c000000"]
    assert strings(plic["compatible"]) == ["sifive,plic-1.0.0", "riscv,plic0"]
    assert u32s(plic["reg"]) == [0, 0xC00_0000, 0, 0x40_0000]
    assert u32s(plic["riscv,ndev"]) == [31] and u32s(plic["#interrupt-cells"]) == [1]
    assert "interrupt-controller" in plic
    # PLIC context 2h is hart h's M-mode (mip.MEIP = 11), 2h+1 its S-mode (SEIP = 9).
    assert u32s(plic["interrupts-extended"]) == [hlic[0], 11, hlic[0], 9, hlic[1], 11, hlic[1], 9]
    plic_ph = u32s(plic["phandle"])[0]
    uart = soc["serial@10000000"]
    assert strings(uart["compatible"]) == ["ns16550a"]
    assert u32s(uart["interrupts"]) == [10] and u32s(uart["interrupt-parent"]) == [plic_ph]
    assert u32s(uart["clock-frequency"]) == [3_686_400]
    for n in range(3):
        vio = soc[f"virtio_mmio@{0x1000_1000 + n * 0x1000:x}"]
        assert strings(vio["compatible"]) == ["virtio,mmio"]
        assert u32s(vio["reg"]) == [0, 0x1000_1000 + n * 0x1000, 0, 0x1000]
        assert u32s(vio["interrupts"]) == [1 + n] and u32s(vio["interrupt-parent"]) == [plic_ph]
    assert "virtio_mmio@10004000" not in soc


def test_virt_finisher_and_syscon(virt):
    test = virt["soc"]["test@100000"]
    assert strings(test["compatible"]) == ["sifive,test1", "sifive,test0", "syscon"]
    assert u32s(test["reg"]) == [0, 0x10_0000, 0, 0x1000]
    for name, value in (("poweroff", 0x5555), ("reboot", 0x7777)):
        node = virt[name]
        assert strings(node["compatible"]) == [f"syscon-{name}"]
        assert u32s(node["regmap"]) == u32s(test["phandle"])
        assert u32s(node["value"]) == [value] and u32s(node["offset"]) == [0]


def test_virt_rejects_bad_configs():
    with pytest.raises(ValueError):
        virt_dtb(0x8000_0000, 1 << 20, 0, "", 1)
    with pytest.raises(ValueError):
        virt_dtb(0x8000_0000, 1 << 20, 1, "", 9)


def test_virt_is_deterministic():
    assert virt_dtb(0x8000_0000, 1 << 24, 1, "a", 1) == virt_dtb(0x8000_0000, 1 << 24, 1, "a", 1)


@pytest.mark.skipif(shutil.which("dtc") is None, reason="dtc (device-tree-compiler) not installed")
def test_dtc_accepts_virt_dtb(tmp_path):
    blob = virt_dtb(0x8000_0000, 256 << 20, 4, "console=ttyS0", 8, timebase_hz=1_000_000)
    src = tmp_path / "virt.dtb"
    src.write_bytes(blob)
    out = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", str(src)], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert 'stdout-path = "/soc/serial@10000000";' in out.stdout
    # dtc writes the same layout (header, rsvmap, struct, strings), so recompiling must give our bytes back.
    again = subprocess.run(
        ["dtc", "-I", "dts", "-O", "dtb", "-q"], input=out.stdout.encode(), capture_output=True, check=True
    )
    assert again.stdout == blob


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789,-@", min_size=1, max_size=12)
values = st.one_of(
    st.none(), st.integers(0, 2**32 - 1), st.lists(st.integers(0, 2**32 - 1), max_size=4),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\0"), max_size=10), st.binary(max_size=9),
)  # fmt: skip
trees = st.recursive(
    st.dictionaries(names, values, max_size=4),
    lambda kids: st.dictionaries(names, st.one_of(values, kids), max_size=4),
    max_leaves=20,
)


def build(node, spec):
    for k, v in spec.items():
        if isinstance(v, dict):
            build(node.child(k), v)
        else:
            node.prop(k, v)
    return node


def expected(spec):
    return {k: expected(v) if isinstance(v, dict) else encode_value(v) for k, v in spec.items()}


@settings(max_examples=100, deadline=None)
@given(trees)
def test_random_trees_round_trip(spec):
    assert parse(build(Node(""), spec).to_dtb()) == expected(spec)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 2**32 - 1), st.integers(0, 120))
def test_parse_survives_garbage(junk, word, where):
    blob = bytearray(virt_dtb(0x8000_0000, 1 << 20, 1, "", 1))
    blob[where * 4 : where * 4 + 4] = struct.pack(">I", word)
    for candidate in (bytes(blob), junk, b"\xd0\x0d\xfe\xed" + junk):
        try:
            parse(candidate)
        except ValueError:
            pass
