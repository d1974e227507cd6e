/* ps.c: ps: one line per process from SYS_ps, under a header:
 *
 *     PID   PPID  STATE    NAME             PAGES  TICKS
 *     1     0     SLEEPING init                 9     12
 *
 * PAGES: physical pages the process holds; TICKS: timer ticks it has run.
 */
#include "ulib.h"

#define PS_MAX 64   /* more than the kernel's process table */

static struct procinfo procs[PS_MAX];

static const char *state_name(int state)
{
    static const char *names[] = {
        [PS_UNUSED] = "UNUSED", [PS_USED] = "USED", [PS_SLEEPING] = "SLEEPING",
        [PS_RUNNABLE] = "RUNNABLE", [PS_RUNNING] = "RUNNING", [PS_ZOMBIE] = "ZOMBIE",
    };
    if (state < 0 || state >= (int)(sizeof names / sizeof names[0]))
        return "?";
    return names[state];
}

int main(void)
{
    int n = ps(procs, PS_MAX);
    if (n < 0) {
        fprintf(2, "ps: failed\n");
        return 1;
    }
    printf("%-5s %-5s %-8s %-16s %5s %6s\n", "PID", "PPID", "STATE", "NAME", "PAGES", "TICKS");
    for (int i = 0; i < n; i++) {
        struct procinfo *p = &procs[i];
        char name[PROC_NAME_LEN + 1];
        memmove(name, p->name, PROC_NAME_LEN);
        name[PROC_NAME_LEN] = 0;
        printf("%-5d %-5d %-8s %-16s %5u %6u\n", p->pid, p->ppid, state_name(p->state), name, p->pages,
               p->ticks);
    }
    return 0;
}
