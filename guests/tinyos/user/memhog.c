/* memhog.c: memhog [hold]: a memory hog.  Grows its heap with sbrk (64 KiB at a
 * time, then 4 KiB, from the first page boundary above the break) until the
 * kernel refuses, writing to every page it gets so the pages are really
 * allocated, then prints
 *
 *     memhog: got N KiB (P pages) before sbrk failed
 *
 * and exits 0, which gives everything back.  With `hold` it keeps the memory and
 * sleeps instead (try `memhog hold &`, then `free`, `ps` and `kill`). */
#include "ulib.h"

#define PAGE 4096

static unsigned int grab(int step)
{
    unsigned int got = 0;
    char *p;
    while ((p = sbrk(step)) != (char *)-1) {
        for (int off = 0; off < step; off += PAGE)
            p[off] = 1;
        got += step;
    }
    return got;
}

int main(int argc, char **argv)
{
    int hold = argc > 1 && strcmp(argv[1], "hold") == 0;
    sbrk(-(unsigned int)sbrk(0) & (PAGE - 1));   /* whole pages only: skip to a page boundary */
    unsigned int got = grab(16 * PAGE);
    got += grab(PAGE);
    printf("memhog: got %u KiB (%u pages) before sbrk failed\n", got / 1024, got / PAGE);
    while (hold)
        sleep(1000);
    return 0;
}
