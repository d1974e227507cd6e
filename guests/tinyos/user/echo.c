/* echo.c: echo [-n] [args...]: the arguments separated by one space, then a
 * newline (none with -n). */
#include "ulib.h"

int main(int argc, char **argv)
{
    int i = 1, newline = 1;
    if (argc > 1 && strcmp(argv[1], "-n") == 0)
        newline = 0, i++;
    for (int first = i; i < argc; i++)
        printf("%s%s", i > first ? " " : "", argv[i]);
    if (newline)
        printf("\n");
    return 0;
}
