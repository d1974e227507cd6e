/* uname.c: uname [-snrvma]: system information from SYS_uname, the chosen
 * fields in the order sysname nodename release version machine, separated by
 * spaces.  No option: -s (the system's name); -a: all five. */
#include "ulib.h"

int main(int argc, char **argv)
{
    static const char flags[] = "snrvm";   /* one per field, in struct utsname order */
    int want = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == 0) {
            fprintf(2, "usage: uname [-snrvma]\n");
            return 1;
        }
        for (a++; *a; a++) {
            const char *f = strchr(flags, *a);
            if (*a == 'a') {
                want = 0x1f;
            } else if (f) {
                want |= 1 << (f - flags);
            } else {
                fprintf(2, "uname: -%c: unknown option\n", *a);
                return 1;
            }
        }
    }
    if (want == 0)
        want = 1;

    struct utsname u;
    if (uname(&u) < 0) {
        fprintf(2, "uname: failed\n");
        return 1;
    }
    char *field[] = {u.sysname, u.nodename, u.release, u.version, u.machine};
    int first = 1;
    for (int i = 0; i < 5; i++) {
        if (!(want & (1 << i)))
            continue;
        field[i][UTS_LEN - 1] = 0;
        printf("%s%s", first ? "" : " ", field[i]);
        first = 0;
    }
    printf("\n");
    return 0;
}
