/* rm.c: rm files...: unlink each name (an empty directory too, if the kernel allows). */
#include "ulib.h"

int main(int argc, char **argv)
{
    int status = 0;
    if (argc < 2) {
        fprintf(2, "usage: rm file...\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        if (unlink(argv[i]) < 0) {
            fprintf(2, "rm: %s: failed\n", argv[i]);
            status = 1;
        }
    }
    return status;
}
