/* kill.c: kill pids...: ask the kernel to end each process (it exits with
 * status -1 at its next trap). */
#include "ulib.h"

int main(int argc, char **argv)
{
    int status = 0;
    if (argc < 2) {
        fprintf(2, "usage: kill pid...\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        if (kill(atoi(argv[i])) < 0) {
            fprintf(2, "kill: %s: no such process\n", argv[i]);
            status = 1;
        }
    }
    return status;
}
