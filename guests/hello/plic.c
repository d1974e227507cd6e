/* plic.c: the platform-level interrupt controller, from this hart's S-mode
 * context (RISC-V PLIC specification 1.0.0).
 *
 * Register map from PYHV_PLIC_BASE (csrc/abi.h):
 *   0x000000 + 4*src            priority of source src (0 = never)
 *   0x002000 + 0x80*ctx         enable bits, source src at word src/32, bit src%32
 *   0x200000 + 0x1000*ctx       priority threshold
 *   0x200004 + 0x1000*ctx       claim (read) / complete (write)
 * Contexts on the virt board: 2*hart is M-mode, 2*hart + 1 is S-mode.
 */
#include "abi.h"
#include "defs.h"

#define PLIC_PRIORITY(src)    (PYHV_PLIC_BASE + 4 * (src))
#define PLIC_ENABLE(ctx, src) (PYHV_PLIC_BASE + 0x2000 + 0x80 * (ctx) + 4 * ((src) / 32))
#define PLIC_THRESHOLD(ctx)   (PYHV_PLIC_BASE + 0x200000 + 0x1000 * (ctx))
#define PLIC_CLAIM(ctx)       (PLIC_THRESHOLD(ctx) + 4)

#define REG(a) (*(volatile uint32 *)(a))

static uint32 plic_ctx;

void plic_init(uint32 hartid)
{
    plic_ctx = 2 * hartid + 1;
    REG(PLIC_THRESHOLD(plic_ctx)) = 0;  /* every priority above 0 gets through */
}

void plic_enable(uint32 src)
{
    REG(PLIC_PRIORITY(src)) = 1;
    REG(PLIC_ENABLE(plic_ctx, src)) |= 1u << (src % 32);
}

/* An external interrupt: claim the source, let its driver handle it, complete. */
void plic_intr(void)
{
    uint32 src = REG(PLIC_CLAIM(plic_ctx));
    if (src == 0)
        return;  /* another context claimed it first, or it went away */
    if (src == vblk_irq()) {
        vblk_intr();
    } else if (src == vballoon_irq()) {
        vballoon_intr();
    } else {
        printf("hello: unexpected interrupt from PLIC source %u\n", src);
        sbi_shutdown(1);
    }
    REG(PLIC_CLAIM(plic_ctx)) = src;
}
