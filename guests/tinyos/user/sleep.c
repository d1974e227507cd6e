/* sleep.c: sleep N: wait N milliseconds; `Ns` means N seconds, `Nms` is
 * milliseconds too.  Time is the kernel's (SYS_sleep), virtual under pyhv. */
#include "ulib.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(2, "usage: sleep ms | sleep Ns\n");
        return 1;
    }
    const char *s = argv[1];
    unsigned int n = 0;
    int digits = 0;
    for (; *s >= '0' && *s <= '9'; s++, digits++)
        n = n * 10 + (*s - '0');
    unsigned int scale = 1;
    if (strcmp(s, "s") == 0)
        scale = 1000;
    else if (*s && strcmp(s, "ms") != 0)
        digits = 0;
    if (digits == 0 || digits > 9 || n > 0x7fffffffu / scale) {
        fprintf(2, "sleep: %s: not a duration (ms, or Ns for seconds)\n", argv[1]);
        return 1;
    }
    return sleep((int)(n * scale)) < 0;
}
