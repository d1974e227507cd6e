/* entry.S: the first instructions of tinyos.
 *
 * The BIOS enters here in S-mode with satp = 0 (bare), a0 = hartid and a1 = the
 * device tree's physical address.  Clear .bss, take the boot stack (which the
 * scheduler keeps using afterwards), and call main(hartid, dtb).
 */
#define BOOT_STACK_SIZE 8192

.section .text.entry, "ax"
.globl _start
_start:
    la    t0, _bss_start
    la    t1, _bss_end
1:  bgeu  t0, t1, 2f
    sw    zero, 0(t0)
    sw    zero, 4(t0)
    sw    zero, 8(t0)
    sw    zero, 12(t0)
    addi  t0, t0, 16
    j     1b
2:  la    sp, boot_stack + BOOT_STACK_SIZE
    call  main
3:  wfi                    /* main never returns; stay put if it does */
    j     3b

.section .bss
.balign 16
boot_stack:
    .space BOOT_STACK_SIZE
