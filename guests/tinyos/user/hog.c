/* hog.c: hog [ms]: a CPU hog for scheduler tests.  Spins forever (stop it with
 * kill, or run it as `hog &`); with ms, spins until that many milliseconds of
 * uptime have passed, then exits 0.  Prints nothing. */
#include "ulib.h"

int main(int argc, char **argv)
{
    int until = argc > 1 ? uptime() + atoi(argv[1]) : -1;
    volatile unsigned int spins = 0;
    for (;;) {
        for (int i = 0; i < 100000; i++)
            spins++;
        if (until >= 0 && uptime() >= until)
            return 0;
    }
}
