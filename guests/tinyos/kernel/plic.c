/* plic.c: the platform-level interrupt controller, from this hart's S-mode
 * context (RISC-V PLIC specification 1.0.0).
 *
 * Register map from the PLIC's base (DTB /soc/plic@...):
 *   0x000000 + 4*src            priority of source src (0 = never)
 *   0x002000 + 0x80*ctx         enable bits, source src at word src/32, bit src%32
 *   0x200000 + 0x1000*ctx       priority threshold
 *   0x200004 + 0x1000*ctx       claim (read) / complete (write)
 * Contexts on the virt board: 2*hart is M-mode, 2*hart + 1 is S-mode.  Only the
 * three pages this context uses are mapped, in the device window (vm.c).
 */
#include "abi.h"
#include "defs.h"

#define REG(a) (*(volatile uint32 *)(a))

static struct {
    uint32 priority;   /* virtual address of the priority array (source 0) */
    uint32 enable;     /* this context's enable words */
    uint32 context;    /* this context's threshold; claim at +4 */
} plic;

void plic_init(uint32 pa, uint32 hartid)
{
    uint32 ctx = 2 * hartid + 1;
    plic.priority = kdevmap(pa);
    plic.enable = kdevmap(pa + 0x2000 + 0x80 * ctx);
    plic.context = kdevmap(pa + 0x200000 + 0x1000 * ctx);
    REG(plic.context) = 0;  /* threshold 0: every priority above 0 gets through */
}

void plic_enable(uint32 src)
{
    if (src == 0 || src >= PYHV_PLIC_NSOURCES)
        panic("plic_enable: no such source");
    REG(plic.priority + 4 * src) = 1;
    REG(plic.enable + 4 * (src / 32)) |= 1u << (src % 32);
}

/* The highest-priority pending source, now claimed; 0 if none. */
uint32 plic_claim(void)
{
    return REG(plic.context + 4);
}

void plic_complete(uint32 src)
{
    REG(plic.context + 4) = src;
}
