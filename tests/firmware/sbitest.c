/* sbitest.c: an S-mode test kernel for the BIOS, built on the fly by test_bios.py.
 *
 * Calls every SBI function the BIOS implements, checks the delegation of
 * interrupts and exceptions, prints one "ok"/"FAIL" line per check through the
 * SBI console, then ends as -DEND=n selects (see the switch at the bottom).
 */
#include "sbitest.h"

#ifndef END
#define END 0
#endif

/* A legacy call; *a1 comes back as the BIOS left it (it must not change). */
static uint32_t legacy(uint32_t eid, uint32_t x0, uint32_t *x1)
{
    register uint32_t a0 __asm__("a0") = x0, a1 __asm__("a1") = *x1, a7 __asm__("a7") = eid;
    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a7) : "memory");
    *x1 = a1;
    return a0;
}

static uint64_t rdtime(void)
{
    uint32_t hi, lo;
    do {
        hi = csr_read(timeh);
        lo = csr_read(time);
    } while (csr_read(timeh) != hi);
    return ((uint64_t)hi << 32) | lo;
}

static volatile uint32_t nticks, nipis, last_exc;

__attribute__((interrupt("supervisor"), aligned(4))) static void strap(void)
{
    uint32_t scause = csr_read(scause);
    if (scause == 0x80000005) {
        nticks++;
        sbi(SBI_EXT_TIME, 0, 0xffffffff, 0xffffffff, 0);    /* no next tick */
    } else if (scause == 0x80000001) {
        nipis++;
        csr_clear(sip, 1u << 1);
    } else {
        last_exc = scause;
        csr_write(sepc, csr_read(sepc) + 4);
    }
}

static void test_base(void)
{
    struct sbiret r = sbi(SBI_EXT_BASE, 0, 0, 0, 0);
    check("base: spec version 2.0", r.error == 0 && r.value == 0x02000000);
    r = sbi(SBI_EXT_BASE, 1, 0, 0, 0);
    check("base: impl id \"pyhv\"", r.error == 0 && r.value == 0x70796876);
    r = sbi(SBI_EXT_BASE, 2, 0, 0, 0);
    check("base: impl version 0.2", r.error == 0 && r.value == 2);
    static const uint32_t present[] = { 0, 1, 2, 8, SBI_EXT_BASE, SBI_EXT_TIME, SBI_EXT_IPI, SBI_EXT_SRST,
                                        SBI_EXT_DBCN, SBI_EXT_HSM, SBI_EXT_RFENCE };
    int all = 1;
    for (uint32_t i = 0; i < sizeof present / sizeof present[0]; i++) {
        r = sbi(SBI_EXT_BASE, 3, present[i], 0, 0);
        all &= r.error == 0 && r.value == 1;
    }
    check("base: probe finds every implemented extension", all);
    r = sbi(SBI_EXT_BASE, 3, 0x504D55, 0, 0);               /* PMU */
    check("base: probe PMU = 0", r.error == 0 && r.value == 0);
    r = sbi(SBI_EXT_BASE, 3, 0x03, 0, 0);                   /* legacy clear_ipi */
    check("base: probe legacy clear_ipi = 0", r.error == 0 && r.value == 0);
    int zeros = 1;
    for (uint32_t fid = 4; fid <= 6; fid++) {
        r = sbi(SBI_EXT_BASE, fid, 0, 0, 0);
        zeros &= r.error == 0 && r.value == 0;
    }
    check("base: mvendorid, marchid, mimpid = 0", zeros);
    check("base: unknown function -> not supported", sbi(SBI_EXT_BASE, 7, 0, 0, 0).error == SBI_ERR_NOT_SUPPORTED);
    check("unknown extension -> not supported", sbi(0x12345678, 0, 0, 0, 0).error == SBI_ERR_NOT_SUPPORTED);
    check("TIME: unknown function -> not supported", sbi(SBI_EXT_TIME, 1, 0, 0, 0).error == SBI_ERR_NOT_SUPPORTED);
}

static void test_console(void)
{
    static char buf[8];
    uint32_t a1 = 0xa1a1a1a1;
    uint32_t ret = legacy(SBI_EXT_LEGACY_PUTCHAR, 'L', &a1);
    legacy(SBI_EXT_LEGACY_PUTCHAR, '\n', &a1);
    check("legacy putchar returns 0 and leaves a1", ret == 0 && a1 == 0xa1a1a1a1);
    ret = legacy(SBI_EXT_LEGACY_GETCHAR, 0, &a1);
    check("legacy getchar reads the first input byte", ret == 'a' && a1 == 0xa1a1a1a1);
    struct sbiret r = sbi(SBI_EXT_DBCN, 1, sizeof buf, (uint32_t)buf, 0);
    check("DBCN read takes what is there", r.error == 0 && r.value == 1 && buf[0] == 'b');
    r = sbi(SBI_EXT_DBCN, 1, sizeof buf, (uint32_t)buf, 0);
    check("DBCN read, nothing waiting -> 0 bytes", r.error == 0 && r.value == 0);
    ret = legacy(SBI_EXT_LEGACY_GETCHAR, 0, &a1);
    check("legacy getchar, nothing waiting -> -1", ret == 0xffffffff);
    r = sbi(SBI_EXT_DBCN, 2, 'B', 0, 0);
    sbi(SBI_EXT_DBCN, 2, '\n', 0, 0);
    check("DBCN write_byte", r.error == 0 && r.value == 0);
    r = sbi(SBI_EXT_DBCN, 0, 6, (uint32_t)"DBCN!\n", 0);
    check("DBCN write returns the byte count", r.error == 0 && r.value == 6);
    check("DBCN write above 4 GiB -> invalid param", sbi(SBI_EXT_DBCN, 0, 1, 0x80200000, 1).error == SBI_ERR_INVALID_PARAM);
    check("DBCN write outside RAM -> invalid param", sbi(SBI_EXT_DBCN, 0, 4, PYHV_ROM_BASE, 0).error == SBI_ERR_INVALID_PARAM);
    check("DBCN write past RAM end -> invalid param", sbi(SBI_EXT_DBCN, 0, 0x1000, 0xfffff000, 0).error == SBI_ERR_INVALID_PARAM);
    check("DBCN read outside RAM -> invalid param", sbi(SBI_EXT_DBCN, 1, 4, PYHV_UART0_BASE, 0).error == SBI_ERR_INVALID_PARAM);
    check("DBCN read into the BIOS's own data -> invalid param",
          sbi(SBI_EXT_DBCN, 1, 4, PYHV_RAM_BASE + 0x8000, 0).error == SBI_ERR_INVALID_PARAM);
}

/* One hart: HSM and RFENCE answer for it alone (tests/firmware/smptest.c has more harts). */
static void test_hsm_one_hart(void)
{
    struct sbiret r = sbi(SBI_EXT_HSM, 2, 0, 0, 0);
    check("HSM: hart 0 is started", r.error == 0 && r.value == SBI_HSM_STARTED);
    check("HSM: status of hart 1 -> invalid param", sbi(SBI_EXT_HSM, 2, 1, 0, 0).error == SBI_ERR_INVALID_PARAM);
    check("HSM: start hart 0 -> already available",
          sbi(SBI_EXT_HSM, 0, 0, 0x80200000, 0).error == SBI_ERR_ALREADY_AVAILABLE);
    check("HSM: start hart 1 -> invalid param", sbi(SBI_EXT_HSM, 0, 1, 0x80200000, 0).error == SBI_ERR_INVALID_PARAM);
    check("HSM: reserved suspend type -> invalid param", sbi(SBI_EXT_HSM, 3, 1, 0, 0).error == SBI_ERR_INVALID_PARAM);
    check("RFENCE: fence.i on this hart", sbi(SBI_EXT_RFENCE, 0, 1, 0, 0).error == 0);
    check("RFENCE: sfence.vma on every hart", sbi(SBI_EXT_RFENCE, 1, 0, 0xffffffff, 0).error == 0);
    check("RFENCE: sfence.vma on hart 1 -> invalid param", sbi(SBI_EXT_RFENCE, 1, 2, 0, 0).error == SBI_ERR_INVALID_PARAM);
    check("RFENCE: hfence -> not supported", sbi(SBI_EXT_RFENCE, 3, 1, 0, 0).error == SBI_ERR_NOT_SUPPORTED);
}

static void test_timer_and_ipi(void)
{
    csr_write(stvec, (uint32_t)strap);
    csr_set(sie, (1u << 5) | (1u << 1));
    csr_set(sstatus, 1u << 1);

    uint64_t t0 = rdtime(), when = t0 + 10000;              /* 1 ms */
    struct sbiret r = sbi(SBI_EXT_TIME, 0, (uint32_t)when, (uint32_t)(when >> 32), 0);
    while (nticks == 0)
        __asm__ volatile("wfi");
    check("TIME set_timer: one S timer interrupt, not early", r.error == 0 && nticks == 1 && rdtime() >= when);
    when = rdtime() + 5000;
    uint32_t a1 = (uint32_t)(when >> 32);
    legacy(SBI_EXT_LEGACY_SET_TIMER, (uint32_t)when, &a1);
    while (nticks == 1)
        __asm__ volatile("wfi");
    check("legacy set_timer: one more", nticks == 2 && rdtime() >= when);
    when = rdtime() - 1;                                    /* in the past: at once */
    sbi(SBI_EXT_TIME, 0, (uint32_t)when, (uint32_t)(when >> 32), 0);
    __asm__ volatile("nop");
    check("set_timer in the past fires at once", nticks == 3);

    r = sbi(SBI_EXT_IPI, 0, 1, 0, 0);
    check("IPI to hart 0 -> S software interrupt", r.error == 0 && nipis == 1);
    r = sbi(SBI_EXT_IPI, 0, 0, 0xffffffff, 0);
    check("IPI to all harts", r.error == 0 && nipis == 2);
    r = sbi(SBI_EXT_IPI, 0, 2, 0, 0);
    check("IPI to hart 1 -> invalid param", r.error == SBI_ERR_INVALID_PARAM && nipis == 2);
    r = sbi(SBI_EXT_IPI, 0, 0, 0, 0);
    check("IPI to nobody", r.error == 0 && nipis == 2);
}

static void test_delegation(void)
{
    __asm__ volatile("ebreak");
    check("ebreak in S -> S (scause 3)", last_exc == 3);
    __asm__ volatile("csrr t0, mscratch" : : : "t0");
    check("M CSR from S -> illegal instruction in S (scause 2)", last_exc == 2);
    uint64_t t = rdtime();
    check("rdtime works in S", t > 0);
    check("SRST: reserved type -> invalid param", sbi(SBI_EXT_SRST, 0, 5, 0, 0).error == SBI_ERR_INVALID_PARAM);
    check("SRST: reserved reason -> invalid param", sbi(SBI_EXT_SRST, 0, 0, 7, 0).error == SBI_ERR_INVALID_PARAM);
}

void kmain(uint32_t hartid, uint32_t dtb)
{
    puts("sbitest: hart ");
    puthex(hartid);
    puts(", dtb ");
    puthex(dtb);
    puts("\n");
    check("entered in S-mode with paging off", csr_read(satp) == 0);
    test_base();
    test_console();
    test_timer_and_ipi();
    test_delegation();
    test_hsm_one_hart();
    puts(failures ? "sbitest: FAILED\n" : "sbitest: all ok\n");
    uint32_t a1 = 0;
    switch (END) {
    case 0:
        sbi(SBI_EXT_SRST, 0, 0, 0, 0);                      /* shutdown, no reason */
        break;
    case 1:
        sbi(SBI_EXT_SRST, 0, 0, 1, 0);                      /* shutdown, system failure */
        break;
    case 2:
        sbi(SBI_EXT_SRST, 0, 1, 0, 0);                      /* cold reboot */
        break;
    case 3:
        legacy(SBI_EXT_LEGACY_SHUTDOWN, 0, &a1);
        break;
    case 4:
        (void)*(volatile uint32_t *)0x40000000;            /* nothing there: access fault, not delegated */
        break;
    case 5:
        *(volatile uint32_t *)(PYHV_RAM_BASE + 0x8ff0) = 0;   /* the BIOS's M stack: PMP says no */
        break;
    }
    puts("sbitest: still running!\n");
    for (;;)
        __asm__ volatile("wfi");
}

__attribute__((naked, section(".text.entry"))) void _start(void)
{
    __asm__ volatile("lui sp, %hi(stack_top)\n addi sp, sp, %lo(stack_top)\n j kmain");
}
