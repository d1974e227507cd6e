/* sbitest.h: what the S-mode test kernels for the BIOS share (sbitest.c,
 * smptest.c): CSR accessors, the SBI call, console output through DBCN and
 * one "ok"/"FAIL" line per check.  Each kernel includes it once.
 */
#ifndef SBITEST_H
#define SBITEST_H

#include <stdint.h>

#include "abi.h"

#define csr_read(csr) ({ uint32_t v_; __asm__ volatile("csrr %0, " #csr : "=r"(v_)); v_; })
#define csr_write(csr, v) __asm__ volatile("csrw " #csr ", %0" : : "r"((uint32_t)(v)))
#define csr_set(csr, v) __asm__ volatile("csrs " #csr ", %0" : : "r"((uint32_t)(v)))
#define csr_clear(csr, v) __asm__ volatile("csrc " #csr ", %0" : : "r"((uint32_t)(v)))

struct sbiret {
    int32_t error;
    uint32_t value;
};

static struct sbiret sbi(uint32_t eid, uint32_t fid, uint32_t x0, uint32_t x1, uint32_t x2)
{
    register uint32_t a0 __asm__("a0") = x0, a1 __asm__("a1") = x1, a2 __asm__("a2") = x2;
    register uint32_t a6 __asm__("a6") = fid, a7 __asm__("a7") = eid;
    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a2), "r"(a6), "r"(a7) : "memory");
    return (struct sbiret){ (int32_t)a0, a1 };
}

static uint32_t len(const char *s)
{
    uint32_t n = 0;
    while (s[n])
        n++;
    return n;
}

static void puts(const char *s)
{
    sbi(SBI_EXT_DBCN, 0, len(s), (uint32_t)s, 0);
}

static void puthex(uint32_t v)
{
    char buf[11] = "0x";
    for (int i = 0; i < 8; i++)
        buf[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 15];
    buf[10] = 0;
    puts(buf);
}

static int failures;

static void check(const char *what, int ok)
{
    puts(ok ? "ok   " : "FAIL ");
    puts(what);
    puts("\n");
    failures += !ok;
}

#endif
