/* entry.S: the first instructions of the hello kernel.
 *
 * The BIOS enters here in S-mode with satp = 0, a0 = hartid and a1 = the
 * device tree's guest-physical address.  Clear .bss (and the U-mode stack
 * page before it), take the boot stack, and call main(hartid, dtb).
 */
#define KSTACK_SIZE 16384

.section .text.entry, "ax"
.globl _start
_start:
    la    t0, _bss_start
    la    t1, _bss_end
1:  bgeu  t0, t1, 2f
    sw    zero, 0(t0)
    addi  t0, t0, 4
    j     1b
2:  la    sp, kstack + KSTACK_SIZE
    call  main
3:  wfi                    /* main never returns; stay put if it does */
    j     3b

.section .bss
.balign 16
.globl kstack
kstack:
    .space KSTACK_SIZE
