/* reboot.c: reboot: restart the machine (SYS_reboot); returns only on failure. */
#include "ulib.h"

int main(void)
{
    reboot();
    fprintf(2, "reboot: failed\n");
    return 1;
}
