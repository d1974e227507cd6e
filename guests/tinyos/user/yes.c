/* yes.c: yes [word...]: print the words (or "y") on a line, forever; stop it with ^C. */
#include "ulib.h"

int main(int argc, char **argv)
{
    char line[256];
    int n = 0;
    for (int i = 1; i < argc && n < (int)sizeof line - 2; i++) {
        for (const char *s = argv[i]; *s && n < (int)sizeof line - 2; s++)
            line[n++] = *s;
        if (i + 1 < argc && n < (int)sizeof line - 2)
            line[n++] = ' ';
    }
    if (argc < 2)
        line[n++] = 'y';
    line[n++] = '\n';
    for (;;)
        if (write(1, line, n) != n)
            return 1;
}
