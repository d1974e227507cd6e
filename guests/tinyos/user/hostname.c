/* hostname.c: hostname: print the host name; hostname NAME: set it. */
#include "ulib.h"

int main(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(2, "usage: hostname [name]\n");
        return 1;
    }
    if (argc == 2) {
        if (sethostname(argv[1], strlen(argv[1])) < 0) {
            fprintf(2, "hostname: %s: cannot set (at most %d bytes)\n", argv[1], UTS_LEN - 1);
            return 1;
        }
        return 0;
    }
    char name[UTS_LEN + 1];
    memset(name, 0, sizeof name);
    if (gethostname(name, UTS_LEN) < 0) {
        fprintf(2, "hostname: failed\n");
        return 1;
    }
    printf("%s\n", name);
    return 0;
}
