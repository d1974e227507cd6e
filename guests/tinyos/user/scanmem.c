/* scanmem: name every page of the 32-bit address space and look for a pattern.
 *
 * A process can name any address through a system call's user pointer: for each
 * page it asks the kernel to copy 16 bytes from there into a pipe (write), and
 * reads back what arrived.  Pages the kernel refuses (unmapped, kernel, another
 * process's) give -1.  Prints "scanmem: R readable pages, pattern seen S times";
 * S must be 0 whatever other processes hold (the secret program's pattern is
 * built here at run time, so the scanner's own image does not contain it).
 */
#include "ulib.h"

int main(int argc, char **argv)
{
    char want[40], got[16];
    const char *parts[] = {"PYHV-", "SECRET-", "PATTERN!"};
    int n = 0;
    for (int i = 0; i < 3; i++)
        for (const char *c = parts[i]; *c; c++)
            want[n++] = *c;
    for (int i = 0; i < 20; i++)  /* twice over, so every rotation is a substring */
        want[20 + i] = want[i];
    if (argc > 1 && strcmp(argv[1], "self") == 0) {
        char *page = sbrk(8192);
        page = (char *)(((unsigned int)page + 4095) & ~4095u);
        for (int i = 0; i < 4096; i++)
            page[i] = want[i % 20];
    }
    int fd[2];
    if (pipe(fd) < 0) {
        fprintf(2, "scanmem: pipe failed\n");
        return 1;
    }
    unsigned int readable = 0, seen = 0;
    for (unsigned int page = 0; page < 0x100000; page++) {
        const char *addr = (const char *)(page << 12);
        if (write(fd[1], addr, 16) != 16)
            continue;
        readable++;
        read(fd[0], got, 16);
        for (int i = 0; i < 20; i++)
            if (memcmp(got, want + i, 16) == 0) {
                seen++;
                break;
            }
    }
    printf("scanmem: %u readable pages, pattern seen %u times\n", readable, seen);
    return 0;
}
