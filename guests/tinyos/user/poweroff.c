/* poweroff.c: poweroff: shut the machine down (SYS_poweroff); returns only on failure. */
#include "ulib.h"

int main(void)
{
    poweroff();
    fprintf(2, "poweroff: failed\n");
    return 1;
}
