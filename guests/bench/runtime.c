/* runtime.c: the freestanding runtime of the CPU benchmarks.  Reads the parameter
 * block (entry.S), in sv32 mode builds an identity Sv32 table with 4 KiB pages
 * (code R+X, data and stack R+W, the finisher R+W) and drops to S-mode, runs the
 * workload `reps` times checking each checksum, then reports through the sifive_test
 * finisher and stops at an ebreak (QEMU exits at the finisher store; pyhv and raw
 * Unicorn stop at the ebreak).  At the ebreak: a0 = last checksum, a1 = finisher word.
 * No interrupts, no traps: a trap here is an engine bug and hangs or faults visibly.
 */
#include "bench.h"

#define FINISHER_BASE 0x00100000u  /* PYHV_FINISHER_BASE, csrc/abi.h; QEMU virt's sifive_test */
#define FINISHER_PASS 0x5555u
#define FINISHER_FAIL 0x3333u      /* (code << 16) | FAIL */

#define MODE_SV32 1

/* Sv32 PTE bits (privileged spec 4.3.1): V R W X U G A D, PPN from bit 10. */
#define PTE_V (1u << 0)
#define PTE_R (1u << 1)
#define PTE_W (1u << 2)
#define PTE_X (1u << 3)
#define PTE_A (1u << 6)
#define PTE_D (1u << 7)
#define SATP_SV32 (1u << 31)
#define MSTATUS_MPP_S (1u << 11)

struct bench_params {
    uint32_t magic, mode, reps, expected;
};
extern volatile struct bench_params bench_params;
extern char _text_end[], _stack_top[];

/* Root table plus leaf tables, handed out in order; A and D preset so no engine's
 * hardware A/D update (optional in the spec) changes the instruction stream. */
#define PT_LEAVES 4
static uint32_t pt_root[1024] __attribute__((aligned(4096)));
static uint32_t pt_leaf[PT_LEAVES][1024] __attribute__((aligned(4096)));
static int pt_used;

static void map_page(uint32_t va, uint32_t flags)
{
    uint32_t *pte1 = &pt_root[va >> 22];
    if (!(*pte1 & PTE_V)) {
        uint32_t *leaf = pt_leaf[pt_used++];
        for (int i = 0; i < 1024; i++)
            leaf[i] = 0;
        *pte1 = ((uint32_t)leaf >> 12 << 10) | PTE_V;
    }
    uint32_t *leaf = (uint32_t *)(*pte1 >> 10 << 12);
    leaf[(va >> 12) & 1023] = (va >> 12 << 10) | flags | PTE_V | PTE_A;
}

static void __attribute__((noreturn)) finish(uint32_t checksum, uint32_t word)
{
    *(volatile uint32_t *)FINISHER_BASE = word;
    register uint32_t a0 asm("a0") = checksum;
    register uint32_t a1 asm("a1") = word;
    for (;;)
        asm volatile("ebreak" : : "r"(a0), "r"(a1));
}

static void __attribute__((noreturn)) bench_run(void)
{
    uint32_t reps = bench_params.reps, expected = bench_params.expected, sum = 0;
    for (uint32_t i = 0; i < reps; i++) {
        sum = workload();
        if (sum != expected)
            finish(sum, ((i + 1) << 16) | FINISHER_FAIL);  /* code: the failing repetition */
    }
    finish(sum, FINISHER_PASS);
}

void __attribute__((noreturn)) bench_start(void)
{
    if (bench_params.mode != MODE_SV32)
        bench_run();
    pt_used = 0;  /* .bss is not cleared by this runtime: workloads initialise their data */
    for (int i = 0; i < 1024; i++)
        pt_root[i] = 0;
    for (uint32_t va = 0x80000000u; va < (uint32_t)_text_end; va += 4096)
        map_page(va, PTE_R | PTE_X);
    for (uint32_t va = (uint32_t)_text_end; va < (uint32_t)_stack_top; va += 4096)
        map_page(va, PTE_R | PTE_W | PTE_D);
    map_page(FINISHER_BASE, PTE_R | PTE_W | PTE_D);
    /* PMP: one TOR entry over the whole address space, RWX, so S-mode may access
     * memory on harts that implement PMP (privileged spec 3.7.1: with PMP entries
     * implemented and none matching, S/U accesses fail). */
    asm volatile("csrw pmpaddr0, %0" : : "r"(0xffffffffu));
    asm volatile("csrw pmpcfg0, %0" : : "r"(0x0fu));  /* A=TOR, X, W, R */
    asm volatile("csrw satp, %0" : : "r"(SATP_SV32 | ((uint32_t)pt_root >> 12)));
    asm volatile("sfence.vma");
    asm volatile("csrw mstatus, %0" : : "r"(MSTATUS_MPP_S));
    asm volatile("csrw mepc, %0; mret" : : "r"(bench_run));
    __builtin_unreachable();
}

/* Word-at-a-time when both ends are aligned: the library routines a real program links. */
void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    if ((((uintptr_t)d | n) & 3) == 0) {
        uint32_t w = (uint8_t)c * 0x01010101u;
        uint32_t *p = (uint32_t *)d, *end = (uint32_t *)(d + n);
        while (p + 4 <= end) {
            p[0] = w; p[1] = w; p[2] = w; p[3] = w;
            p += 4;
        }
        while (p < end)
            *p++ = w;
        return dst;
    }
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if ((((uintptr_t)d | (uintptr_t)s | n) & 3) == 0) {
        uint32_t *p = (uint32_t *)d, *end = (uint32_t *)(d + n);
        const uint32_t *q = (const uint32_t *)s;
        while (p + 4 <= end) {
            uint32_t a = q[0], b = q[1], e = q[2], f = q[3];
            p[0] = a; p[1] = b; p[2] = e; p[3] = f;
            p += 4, q += 4;
        }
        while (p < end)
            *p++ = *q++;
        return dst;
    }
    while (n--)
        *d++ = *s++;
    return dst;
}
