/* uptime.c: uptime: time since boot, `up S.mmm s` (SYS_uptime, milliseconds). */
#include "ulib.h"

int main(void)
{
    int ms = uptime();
    if (ms < 0) {
        fprintf(2, "uptime: failed\n");
        return 1;
    }
    printf("up %d.%03d s\n", ms / 1000, ms % 1000);
    return 0;
}
