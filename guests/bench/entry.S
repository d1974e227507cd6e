/* entry.S: first instruction of every CPU benchmark, and its parameter block.
 *
 * The harness (pyhv/bench_cpu.py) patches the four words after the jump in the
 * flat binary, identically for every engine (QEMU passes a0 = hartid, a1 = dtb,
 * so the mode cannot come from registers):
 *   +4  magic    0x48435442 ("BTCH"), how the harness finds the block
 *   +8  mode     0 bare (M-mode, no paging), 1 sv32 (S-mode, 4 KiB pages, data not X)
 *   +12 reps     how many times the workload runs (0: start-up only)
 *   +16 expected the checksum each repetition must produce
 * The committed defaults are bare mode, one repetition, checksum 0 (so an unpatched
 * binary fails its check and says so).
 */
    .section .text.entry, "ax"
    .globl _start
_start:
    j 1f
    .globl bench_params
bench_params:
    .word 0x48435442
    .word 0
    .word 1
    .word 0
1:  la sp, _stack_top
    call bench_start
2:  j 2b
