/* forkbomb.c: forkbomb: forks until fork fails (the process limit, or memory),
 * then lets the children go and reaps them:
 *
 *     forkbomb: fork failed after N children
 *     forkbomb: reaped N children
 *
 * Each child blocks reading a pipe whose write end only the parent holds; when
 * the parent closes it every child reads end-of-file and exits 0. */
#include "ulib.h"

int main(void)
{
    int p[2];
    if (pipe(p) < 0) {
        fprintf(2, "forkbomb: pipe failed\n");
        return 1;
    }
    int children = 0;
    for (;;) {
        int pid = fork();
        if (pid < 0)
            break;
        if (pid == 0) {
            char c;
            close(p[1]);
            read(p[0], &c, 1);
            exit(0);
        }
        children++;
    }
    printf("forkbomb: fork failed after %d children\n", children);
    close(p[1]);
    int reaped = 0, status;
    while (wait(&status) >= 0)
        reaped++;
    printf("forkbomb: reaped %d children\n", reaped);
    return reaped == children ? 0 : 1;
}
