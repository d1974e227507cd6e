/* smptest.c: an S-mode SMP test kernel for the BIOS, built on the fly by test_hsm.py
 * and booted with `pyhv boot --smp N` (N >= 2) through the BIOS.
 *
 * Hart 0 starts every other hart with SBI hart_start, then drives them through
 * a list of commands (cmd[h]) they run and acknowledge: an IPI, a read through a
 * page table whose PTE hart 0 changes and then fences remotely (RFENCE
 * sfence.vma), a retentive and a non-retentive hart_suspend woken by an IPI,
 * hart_stop, and a second hart_start.  Only hart 0 prints (one "ok"/"FAIL"
 * line per check), so the output does not depend on how the harts interleave.
 */
#include "sbitest.h"

#define MAX_HARTS 8
#define VA_TEST 0x40000000u         /* mapped to page_a, then page_b */

enum { CMD_NONE, CMD_PAGING, CMD_READ, CMD_SUSPEND, CMD_SUSPEND_NR, CMD_STOP };

static uint8_t stacks[MAX_HARTS][2048] __attribute__((aligned(16), used));  /* named by secondary_entry */
static volatile uint32_t cmd[MAX_HARTS], arrivals[MAX_HARTS], opaque_seen[MAX_HARTS], ipis[MAX_HARTS];
static volatile uint32_t result[MAX_HARTS], resumed[MAX_HARTS];
static volatile uint32_t counter;
static uint32_t root[1024] __attribute__((aligned(4096)));
static uint32_t l0[1024] __attribute__((aligned(4096)));
static uint32_t page_a[1024] __attribute__((aligned(4096)));
static uint32_t page_b[1024] __attribute__((aligned(4096)));

#define PTE_V 0x01u
#define PTE_RWX 0x0eu
#define PTE_AD 0xc0u
#define PTE(pa, flags) ((((uint32_t)(pa) >> 12) << 10) | (flags))

__attribute__((interrupt("supervisor"), aligned(4))) static void strap(void)
{
    uint32_t hart;
    __asm__ volatile("mv %0, tp" : "=r"(hart));
    if (csr_read(scause) == 0x80000001) {
        ipis[hart]++;
        csr_clear(sip, 1u << 1);
    }
}

void secondary_main(uint32_t hartid, uint32_t opaque);

/* Where hart_start and the non-retentive resume land: a0 = hartid, a1 = opaque;
 * no stack yet, so take this hart's and call C.  tp holds the hart ID. */
__attribute__((naked)) static void secondary_entry(void)
{
    __asm__ volatile("mv tp, a0\n"
                     "lui sp, %hi(stacks)\n addi sp, sp, %lo(stacks)\n"
                     "addi t0, a0, 1\n slli t0, t0, 11\n add sp, sp, t0\n"
                     "j secondary_main");
}

__attribute__((naked)) static void resume_entry(void)
{
    __asm__ volatile("lui t1, %hi(resumed)\n addi t1, t1, %lo(resumed)\n"
                     "slli t0, a0, 2\n add t1, t1, t0\n sw a1, 0(t1)\n"
                     "j secondary_entry");
}

void secondary_main(uint32_t hartid, uint32_t opaque)
{
    csr_write(stvec, (uint32_t)strap);
    csr_set(sie, 1u << 1);
    csr_set(sstatus, 1u << 1);
    opaque_seen[hartid] = opaque;
    __atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST);
    arrivals[hartid]++;
    for (;;) {
        uint32_t c = cmd[hartid];
        struct sbiret r;
        switch (c) {
        case CMD_NONE:
            continue;
        case CMD_PAGING:
            csr_write(satp, (1u << 31) | ((uint32_t)root >> 12));
            __asm__ volatile("sfence.vma" ::: "memory");
            result[hartid] = *(volatile uint32_t *)VA_TEST;
            break;
        case CMD_READ:
            result[hartid] = *(volatile uint32_t *)VA_TEST;
            break;
        case CMD_SUSPEND:
            r = sbi(SBI_EXT_HSM, 3, SBI_HSM_SUSPEND_RETENTIVE, 0, 0);
            result[hartid] = (uint32_t)r.error;
            break;
        case CMD_SUSPEND_NR:
            cmd[hartid] = CMD_NONE;
            csr_write(satp, 0);
            r = sbi(SBI_EXT_HSM, 3, SBI_HSM_SUSPEND_NON_RETENTIVE, (uint32_t)resume_entry, 0xabc0 + hartid);
            result[hartid] = (uint32_t)r.error;                 /* only on failure */
            break;
        case CMD_STOP:
            cmd[hartid] = CMD_NONE;
            csr_write(satp, 0);
            sbi(SBI_EXT_HSM, 1, 0, 0, 0);
            result[hartid] = 0xdead;                            /* hart_stop returned */
            continue;
        }
        cmd[hartid] = CMD_NONE;
    }
}

static uint32_t nharts;

static uint32_t status(uint32_t hart)
{
    return sbi(SBI_EXT_HSM, 2, hart, 0, 0).value;
}

/* Run a command on hart h and wait until it has been taken (and done). */
static void command(uint32_t h, uint32_t c)
{
    cmd[h] = c;
    while (cmd[h] != CMD_NONE)
        ;
}

static void wait_status(uint32_t h, uint32_t want)
{
    while (status(h) != want)
        ;
}

static uint32_t others(void)
{
    return ((1u << nharts) - 1) & ~1u;
}

static void test_start(void)
{
    check("hart 0 is started", status(0) == SBI_HSM_STARTED);
    check("hart 1 is stopped", status(1) == SBI_HSM_STOPPED);
    check("start at the BIOS's data -> invalid address",
          sbi(SBI_EXT_HSM, 0, 1, PYHV_RAM_BASE, 0).error == SBI_ERR_INVALID_ADDRESS);
    check("start a hart that does not exist -> invalid param",
          sbi(SBI_EXT_HSM, 0, nharts, (uint32_t)secondary_entry, 0).error == SBI_ERR_INVALID_PARAM);
    int ok = 1, again = 1;
    for (uint32_t h = 1; h < nharts; h++) {
        ok &= sbi(SBI_EXT_HSM, 0, h, (uint32_t)secondary_entry, 0x1000 + h).error == 0;
        again &= sbi(SBI_EXT_HSM, 0, h, (uint32_t)secondary_entry, 0).error == SBI_ERR_ALREADY_AVAILABLE;
    }
    check("hart_start every other hart", ok);
    check("starting one again -> already available", again);
    for (uint32_t h = 1; h < nharts; h++)
        while (!arrivals[h])
            ;
    ok = counter == nharts - 1;
    for (uint32_t h = 1; h < nharts; h++)
        ok &= opaque_seen[h] == 0x1000 + h && status(h) == SBI_HSM_STARTED;
    check("each runs once, in S, with a0 = hartid and a1 = opaque", ok);
}

static void test_ipi(void)
{
    check("send_ipi to the others", sbi(SBI_EXT_IPI, 0, others(), 0, 0).error == 0);
    int ok = 1;
    for (uint32_t h = 1; h < nharts; h++) {
        while (!ipis[h])
            ;
        ok &= ipis[h] == 1;
    }
    check("each took one S software interrupt", ok && ipis[0] == 0);
}

static void test_remote_sfence(void)
{
    page_a[0] = 0xaaaa;
    page_b[0] = 0xbbbb;
    root[PYHV_RAM_BASE >> 22] = PTE(PYHV_RAM_BASE, PTE_V | PTE_RWX | PTE_AD);     /* kernel: 4 MiB identity */
    root[VA_TEST >> 22] = PTE(l0, PTE_V);
    l0[0] = PTE(page_a, PTE_V | PTE_RWX | PTE_AD);
    int ok = 1;
    for (uint32_t h = 1; h < nharts; h++) {
        command(h, CMD_PAGING);
        ok &= result[h] == 0xaaaa;
    }
    check("the others read page A through the page table", ok);
    l0[0] = PTE(page_b, PTE_V | PTE_RWX | PTE_AD);
    check("remote sfence.vma of that page", sbi(SBI_EXT_RFENCE, 1, others(), 0, VA_TEST).error == 0);
    ok = 1;
    for (uint32_t h = 1; h < nharts; h++) {
        command(h, CMD_READ);
        ok &= result[h] == 0xbbbb;
    }
    check("after it they read page B", ok);
    check("remote fence.i", sbi(SBI_EXT_RFENCE, 0, others(), 0, 0).error == 0);
    check("remote sfence.vma_asid on all harts", sbi(SBI_EXT_RFENCE, 2, 0, 0xffffffff, 0).error == 0);
    check("remote fence to a hart that does not exist -> invalid param",
          sbi(SBI_EXT_RFENCE, 0, 1u << nharts, 0, 0).error == SBI_ERR_INVALID_PARAM);
}

static void test_suspend(void)
{
    cmd[1] = CMD_SUSPEND;
    wait_status(1, SBI_HSM_SUSPENDED);
    sbi(SBI_EXT_IPI, 0, 1u << 1, 0, 0);
    while (cmd[1] != CMD_NONE)
        ;
    check("retentive suspend: an IPI wakes it, the call returns 0",
          result[1] == 0 && ipis[1] == 2 && status(1) == SBI_HSM_STARTED);
    cmd[1] = CMD_SUSPEND_NR;
    wait_status(1, SBI_HSM_SUSPENDED);
    sbi(SBI_EXT_IPI, 0, 1u << 1, 0, 0);
    while (resumed[1] == 0)
        ;
    while (arrivals[1] != 2)
        ;
    check("non-retentive suspend: resumes at resume_addr with a1 = opaque",
          resumed[1] == 0xabc1 && status(1) == SBI_HSM_STARTED);
}

static void test_stop(void)
{
    for (uint32_t h = 1; h < nharts; h++)
        cmd[h] = CMD_STOP;
    int ok = 1;
    for (uint32_t h = 1; h < nharts; h++) {
        wait_status(h, SBI_HSM_STOPPED);
        ok &= result[h] != 0xdead;
    }
    check("hart_stop: every other hart stops", ok);
    check("send_ipi to stopped harts is a no-op", sbi(SBI_EXT_IPI, 0, others(), 0, 0).error == 0);
    uint32_t before = arrivals[1];
    check("a stopped hart starts again", sbi(SBI_EXT_HSM, 0, 1, (uint32_t)secondary_entry, 0x2001).error == 0);
    while (arrivals[1] == before)
        ;
    check("with the new opaque", opaque_seen[1] == 0x2001);
    cmd[1] = CMD_STOP;
    wait_status(1, SBI_HSM_STOPPED);
}

void kmain(uint32_t hartid, uint32_t dtb)
{
    (void)dtb;
    __asm__ volatile("mv tp, %0" : : "r"(hartid));
    for (nharts = 1; nharts < MAX_HARTS && sbi(SBI_EXT_HSM, 2, nharts, 0, 0).error == 0; nharts++)
        ;
    puts("smptest: ");
    puthex(nharts);
    puts(" harts\n");
    test_start();
    test_ipi();
    test_remote_sfence();
    test_suspend();
    test_stop();
    puts(failures ? "smptest: FAILED\n" : "smptest: all ok\n");
    sbi(SBI_EXT_SRST, 0, 0, failures ? 1 : 0, 0);
    for (;;)
        __asm__ volatile("wfi");
}

__attribute__((naked, section(".text.entry"))) void _start(void)
{
    __asm__ volatile("lui sp, %hi(stack_top)\n addi sp, sp, %lo(stack_top)\n j kmain");
}
