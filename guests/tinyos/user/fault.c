/* fault.c: fault null | kernel | illegal: a program that faults on purpose.
 *   null     loads from address 0 (the unmapped guard page)
 *   kernel   loads from 0x80000000 (kernel memory, not PTE_U)
 *   illegal  executes the all-zero word, an illegal instruction
 * It says what it is about to do first; the kernel should kill it.  If it is
 * still running afterwards it says so and exits 1.  Inline assembly so the
 * compiler cannot reason the access away. */
#include "ulib.h"

static unsigned int load_from(unsigned int addr)
{
    unsigned int v;
    __asm__ volatile("lw %0, 0(%1)" : "=r"(v) : "r"(addr) : "memory");
    return v;
}

int main(int argc, char **argv)
{
    const char *what = argc == 2 ? argv[1] : "";
    if (strcmp(what, "null") == 0) {
        printf("fault: loading from 0x00000000\n");
        load_from(0);
    } else if (strcmp(what, "kernel") == 0) {
        printf("fault: loading from 0x80000000\n");
        load_from(0x80000000u);
    } else if (strcmp(what, "illegal") == 0) {
        printf("fault: executing an illegal instruction\n");
        __asm__ volatile(".word 0");
    } else {
        fprintf(2, "usage: fault null|kernel|illegal\n");
        return 1;
    }
    printf("fault: still running: the kernel did not stop me\n");
    return 1;
}
