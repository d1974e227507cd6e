/* clint.c: the CLINT (SiFive Core-Local Interruptor, as on QEMU virt), in C because
 * guests poll mtime and rewrite mtimecmp on every timer tick.  Layout (SiFive
 * FU540-C000 manual, chapter 9 "CLINT"; QEMU hw/intc/riscv_aclint.c):
 *   0x0000 + 4*hart  msip      bit 0 drives the hart's MSIP
 *   0x4000 + 8*hart  mtimecmp  64-bit; mtime >= mtimecmp drives MTIP
 *   0xbff8           mtime     64-bit, the virtual clock (read-only here)
 * 32-bit halves of the 64-bit registers may be accessed separately.
 */
#include "core.h"

#define CLINT_MSIP      0x0000
#define CLINT_MTIMECMP  0x4000
#define CLINT_MTIME     0xbff8

static struct pyhv_vcpu *hart(struct pyhv_clint *c, uint64_t off, uint64_t base, unsigned stride)
{
    uint64_t i = (off - base) / stride;
    return i < c->nharts ? c->harts[i] : NULL;
}

static uint64_t clint_read(uc_engine *u, uint64_t off, unsigned size, void *data)
{
    struct pyhv_clint *c = data;
    uint64_t value = 0;
    unsigned shift = (off & 4) * 8;
    c->reads++;
    if (off < CLINT_MTIMECMP) {
        struct pyhv_vcpu *v = hart(c, off, CLINT_MSIP, 4);
        value = v && (v->vmip & MIP_MSIP) ? 1 : 0;
    } else if (off >= CLINT_MTIMECMP && off < CLINT_MTIME) {
        struct pyhv_vcpu *v = hart(c, off, CLINT_MTIMECMP, 8);
        value = v ? v->mtimecmp >> shift : 0;
    } else if (off >= CLINT_MTIME && c->nharts) {
        value = pyhv_vcpu_mtime(c->harts[0]) >> shift;
    }
    if (size < 8)
        value &= (1ull << (size * 8)) - 1;
    return value;
}

static void clint_write(uc_engine *u, uint64_t off, unsigned size, uint64_t value, void *data)
{
    struct pyhv_clint *c = data;
    c->writes++;
    if (off < CLINT_MTIMECMP) {
        struct pyhv_vcpu *v = hart(c, off, CLINT_MSIP, 4);
        if (v)
            pyhv_vcpu_set_irq(v, 3, value & 1);
    } else if (off >= CLINT_MTIMECMP && off < CLINT_MTIME) {
        struct pyhv_vcpu *v = hart(c, off & ~7ull, CLINT_MTIMECMP, 8);
        if (!v)
            return;
        uint64_t cmp = v->mtimecmp;
        if (size == 8)
            cmp = value;
        else if (off & 4)
            cmp = (cmp & 0xffffffffull) | (value << 32);
        else
            cmp = (cmp & ~0xffffffffull) | (uint32_t)value;
        pyhv_vcpu_set_mtimecmp(v, cmp);
    }
    /* mtime is read-only in pyhv: it is derived from executed instructions. */
}

int pyhv_clint_map(struct pyhv_clint *c, struct pyhv_vcpu *v)
{
    uc_err err = uc.mmio_map(v->uc, PYHV_CLINT_BASE, PYHV_CLINT_SIZE, clint_read, c, clint_write, c);
    return err == UC_ERR_OK ? 0 : -1;
}
