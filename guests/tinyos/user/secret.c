/* secret: hold pages full of a pattern and sleep, for the isolation tests.
 *
 *   secret PAGES MS   fills PAGES pages (sbrk) with "PYHV-SECRET-PATTERN!" and
 *                     sleeps MS milliseconds (run it in the background with &)
 */
#include "ulib.h"

static const char pattern[] = "PYHV-SECRET-PATTERN!";

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(2, "usage: secret PAGES MS\n");
        return 2;
    }
    int pages = atoi(argv[1]);
    char *p = sbrk(pages * 4096);
    if (p == (char *)-1) {
        fprintf(2, "secret: sbrk failed\n");
        return 1;
    }
    for (int i = 0; i < pages * 4096; i++)
        p[i] = pattern[i % (sizeof pattern - 1)];
    printf("secret: %d pages filled\n", pages);
    sleep(atoi(argv[2]));
    return 0;
}
