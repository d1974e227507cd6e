"""Two-stage address translation in pure Python: the guest's Sv32 walk, then the VM's stage-2 table.

The readable twin of the C TLB-fill path in csrc/ and its oracle in the tests (Privileged Spec
v1.12, 4.3). The walker sees guest memory only through read32/write32; allocating frames and
building stage-2 tables belongs to the memory manager, MMIO and ROM windows to the VM.
"""

from dataclasses import dataclass

import numpy as np

from pyhv.trap import (
    CAUSE_FETCH_ACCESS,
    CAUSE_FETCH_PAGE_FAULT,
    CAUSE_LOAD_ACCESS,
    CAUSE_LOAD_PAGE_FAULT,
    CAUSE_STORE_ACCESS,
    CAUSE_STORE_PAGE_FAULT,
    MSTATUS_MPP_SHIFT,
    PRIV_M,
    PRIV_S,
    PRIV_U,
)

# What the TLB miss is for.
ACC_READ, ACC_WRITE, ACC_FETCH = 0, 1, 2

# Fault causes indexed by ACC_*.
PAGE_FAULT = (CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT, CAUSE_FETCH_PAGE_FAULT)
ACCESS_FAULT = (CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS, CAUSE_FETCH_ACCESS)

# Sv32 page-table entry (spec 4.3.1, figure 4.18):
#   31          20 19          10 9   8   7   6   5   4   3   2   1   0
#  |   PPN[1]     |   PPN[0]     | RSW | D | A | G | U | X | W | R | V |
# R=W=X=0 points to the next level; anything else is a leaf. PPN is 22 bits, so a
# guest-physical address has 34 bits.
PTE_V = 0x01
PTE_R = 0x02
PTE_W = 0x04
PTE_X = 0x08
PTE_U = 0x10
PTE_G = 0x20
PTE_A = 0x40
PTE_D = 0x80
PTE_PPN_SHIFT = 10

# Permissions handed to the TLB; the same values as Unicorn's UC_PROT_READ/WRITE/EXEC.
PROT_R = 1
PROT_W = 2
PROT_X = 4
PROT_RWX = PROT_R | PROT_W | PROT_X

# mstatus (spec 3.1.6.3): MPRV makes M-mode loads and stores use the privilege in MPP (bits 12:11,
# MSTATUS_MPP_SHIFT); SUM lets S-mode load and store on U pages; MXR lets loads read executable pages.
MSTATUS_MPRV = 1 << 17
MSTATUS_SUM = 1 << 18
MSTATUS_MXR = 1 << 19

# satp (spec 4.1.11): MODE in bit 31 (1 = Sv32, 0 = Bare), ASID in 30:22, root table PPN in 21:0.
SATP_MODE_SV32 = 1 << 31
SATP_PPN = 0x3FFFFF

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PAGE_MASK = 0xFFFFFFFF & ~(PAGE_SIZE - 1)


@dataclass(frozen=True)
class Translation:
    """Outcome of a stage-1 walk. On success gpa is the guest-physical address of the 4 KiB page
    holding vaddr and perms the PROT_* bits the TLB may cache for that page at this privilege;
    on failure cause is the exception code to raise."""

    ok: bool
    gpa: int
    perms: int
    cause: int


def _fault(cause: int) -> Translation:
    return Translation(False, 0, 0, cause)


# ---- physical memory protection (spec 3.7) --------------------------------------------------
# pmpNcfg:  7 L | 6..5 0 | 4..3 A | 2 X | 1 W | 0 R;  pmpaddrN: bits 33..2 of a physical address.
PMP_ENTRIES = 16
PMP_L = 0x80
PMP_OFF, PMP_TOR, PMP_NA4, PMP_NAPOT = 0, 1, 2, 3


@dataclass(frozen=True)
class PMP:
    """A hart's PMP registers: cfg[i] (8 bits) and addr[i] (32 bits) for each implemented entry
    (none: a hart without PMP, where every access passes)."""

    cfg: tuple = ()
    addr: tuple = ()

    def range(self, i: int) -> tuple[int, int] | None:
        """[lo, hi) of the bytes entry i matches (3.7.1.3), None if it matches nothing."""
        a, y = (self.cfg[i] >> 3) & 3, self.addr[i]
        if a == PMP_TOR:
            lo, hi = (self.addr[i - 1] << 2 if i else 0), y << 2
            return (lo, hi) if lo < hi else None  # pmpaddr[i-1] >= pmpaddr[i]: matches nothing
        if a == PMP_NA4:
            return y << 2, (y << 2) + 4
        if a == PMP_NAPOT:
            ones = 0  # pmpaddr = base/4 | (size/8 - 1): k trailing ones, 2^(k+3) bytes
            while ones < 32 and y >> ones & 1:
                ones += 1
            size = 1 << (ones + 3)
            lo = (y << 2) & ~(size - 1)
            return lo, lo + size
        return None

    def entry_perms(self, i: int, priv: int) -> int:
        """R/W/X of entry i (the PROT_* bits); M-mode ignores an unlocked entry (3.7.1.2)."""
        if priv == PRIV_M and not self.cfg[i] & PMP_L:
            return PROT_RWX
        return self.cfg[i] & PROT_RWX

    def default(self, priv: int) -> int:
        """No entry matches: M may; S and U may not once any entry is implemented (3.7.1)."""
        return PROT_RWX if priv == PRIV_M or not self.cfg else 0

    def perms(self, priv: int, addr: int, length: int) -> int:
        """PROT_* bits for an access of `length` bytes at addr: the lowest-numbered entry that
        matches any byte decides, and it must match every byte or the access fails."""
        for i in range(len(self.cfg)):
            r = self.range(i)
            if r is None or addr + length <= r[0] or addr >= r[1]:
                continue
            return self.entry_perms(i, priv) if r[0] <= addr and addr + length <= r[1] else 0
        return self.default(priv)

    def page(self, priv: int, page: int) -> int | None:
        """PROT_* bits valid for every byte of the 4 KiB page at `page`, or None when an entry
        boundary cuts the page (a region finer than a page: each access is checked alone)."""
        for i in range(len(self.cfg)):
            r = self.range(i)
            if r is None or page + PAGE_SIZE <= r[0] or page >= r[1]:
                continue
            return self.entry_perms(i, priv) if r[0] <= page and page + PAGE_SIZE <= r[1] else None
        return self.default(priv)


NO_PMP = PMP()


def translate(read32, write32, satp: int, mstatus: int, priv: int, vaddr: int, access: int,
              pmp: PMP = NO_PMP) -> Translation:
    """Translate vaddr for one access by a hart at privilege priv (spec 4.3.2).

    read32(gpa) returns the 32-bit word at a guest-physical address, or None if no RAM is there
    (an access fault); write32(gpa, value) stores a PTE back when the walk sets A or D.  The
    walk's own accesses are S-mode accesses for `pmp` (3.7.1); a refused one is an access fault.
    """
    if access != ACC_FETCH and priv == PRIV_M and mstatus & MSTATUS_MPRV:
        priv = (mstatus >> MSTATUS_MPP_SHIFT) & 3
    if priv == PRIV_M or not satp & SATP_MODE_SV32:
        return Translation(True, vaddr & PAGE_MASK, PROT_RWX, -1)

    # Steps 1-4: at most two levels; VPN[1] = vaddr[31:22], VPN[0] = vaddr[21:12].
    a = (satp & SATP_PPN) << PAGE_SHIFT
    i = 1
    while True:
        pte_addr = a + ((vaddr >> (PAGE_SHIFT + 10 * i)) & 0x3FF) * 4
        pte = read32(pte_addr) if pmp.perms(PRIV_S, pte_addr, 4) & PROT_R else None
        if pte is None:
            return _fault(ACCESS_FAULT[access])
        if not pte & PTE_V or (not pte & PTE_R and pte & PTE_W):
            return _fault(PAGE_FAULT[access])
        if pte & (PTE_R | PTE_X):
            break
        # A pointer. Its D, A and U bits are reserved for the future; they are ignored here.
        if i == 0:
            return _fault(PAGE_FAULT[access])
        a = (pte >> PTE_PPN_SHIFT) << PAGE_SHIFT
        i = 0

    # Step 5: a leaf. May this privilege use the page at all, and for this access?
    user_page = pte & PTE_U
    if user_page:
        if priv == PRIV_S and (access == ACC_FETCH or not mstatus & MSTATUS_SUM):
            return _fault(PAGE_FAULT[access])
    elif priv == PRIV_U:
        return _fault(PAGE_FAULT[access])
    readable = bool(pte & PTE_R or (mstatus & MSTATUS_MXR and pte & PTE_X))
    allowed = (readable, pte & PTE_W, pte & PTE_X)[access]
    if not allowed:
        return _fault(PAGE_FAULT[access])

    # Step 6: a megapage must be aligned to 4 MiB.
    ppn = pte >> PTE_PPN_SHIFT
    if i == 1 and ppn & 0x3FF:
        return _fault(PAGE_FAULT[access])

    # Step 7: the spec lets hardware set A and D itself instead of faulting; we do.
    new = pte | PTE_A | (PTE_D if access == ACC_WRITE else 0)
    if new != pte:
        if not pmp.perms(PRIV_S, pte_addr, 4) & PROT_W:
            return _fault(ACCESS_FAULT[access])
        write32(pte_addr, new)
        pte = new

    # Step 8: a megapage takes PPN[1] from the PTE and PPN[0] from the virtual address.
    if i == 1:
        gpa = ((ppn >> 10) << 22) | (vaddr & 0x3FF000)
    else:
        gpa = ppn << PAGE_SHIFT

    # What the TLB may cache. W only once D is set, so the first store comes back to set it.
    perms = PROT_R if readable else 0
    perms |= PROT_W if pte & PTE_W and pte & PTE_D else 0
    perms |= PROT_X if pte & PTE_X else 0
    if user_page and priv == PRIV_S:
        perms &= ~PROT_X
    return Translation(True, gpa, perms, -1)


# Stage-2 entry: host frame number and flags, like a PTE of a one-level table.
#   31                    12 11    4   3   2   1   0
#  |   hfn (host frame)     |   0   | X | W | R | V |
# An entry with V clear (normally 0) is not present: the frame is allocated on first touch.
S2_V = 0x1
S2_R = 0x2
S2_W = 0x4
S2_X = 0x8


class Stage2:
    """One VM's stage-2 table: guest frame number (relative to ram_base) -> host frame (docs/architecture.md §3).

    Only guest RAM goes through it; ROM and MMIO windows are identity-mapped by the VM.
    """

    def __init__(self, table: np.ndarray, ram_base: int):
        if table.dtype != np.uint32 or table.ndim != 1:
            raise ValueError("stage-2 table must be a 1-D numpy uint32 array")
        self.table = table
        self.ram_base = ram_base

    def in_ram(self, gpa: int) -> bool:
        return 0 <= gpa - self.ram_base < len(self.table) * PAGE_SIZE

    def lookup(self, gpa: int, access: int) -> tuple[int | None, int]:
        """(hfn, PROT_* perms) for the frame holding gpa; (None, 0) outside RAM or when the
        frame is not present yet. The caller checks access against perms."""
        if not self.in_ram(gpa):
            return None, 0
        entry = int(self.table[(gpa - self.ram_base) >> PAGE_SHIFT])
        if not entry & S2_V:
            return None, 0
        return entry >> PAGE_SHIFT, (entry >> 1) & PROT_RWX  # S2_R/W/X sit one bit above PROT_R/W/X


def translate_2stage(
    read32, write32, satp: int, mstatus: int, priv: int, vaddr: int, access: int, stage2: Stage2
) -> tuple[Translation, int | None, int]:
    """Both stages for one TLB fill: (stage-1 result, hfn, perms).

    read32/write32 address guest-physical memory as in translate (the page-table words themselves
    go through stage 2 inside them). hfn and perms then read:
      stage-1 fault            -> None, 0: raise t.cause in the guest;
      gpa outside RAM          -> None, t.perms: a ROM or MMIO window, identity-mapped by the VM;
      RAM frame not present    -> None, 0: allocate a zero frame, then fill again;
      RAM frame present        -> hfn, t.perms & stage-2 perms; an access outside these perms
                                  is the hypervisor's business (copy-on-write, dirty logging).
    """
    t = translate(read32, write32, satp, mstatus, priv, vaddr, access)
    if not t.ok:
        return t, None, 0
    if not stage2.in_ram(t.gpa):
        return t, None, t.perms
    hfn, perms = stage2.lookup(t.gpa, access)
    return t, hfn, t.perms & perms
