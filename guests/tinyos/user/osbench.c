/* osbench: the micro-benchmarks behind `pyhv bench os`.
 *
 *   osbench syscall N    N getpid() round trips
 *   osbench forkexec N   N times: fork, the child execs /bin/true, the parent waits
 *   osbench ctxsw N      N ping-pongs of one byte between two processes over pipes
 *                        (each one is two context switches)
 * Each prints "osbench: start MODE" before and "osbench: done MODE N MS" after, MS in
 * virtual milliseconds (uptime()); the host times the same two lines on its clock.
 */
#include "ulib.h"

static void bench_syscall(int n)
{
    for (int i = 0; i < n; i++)
        getpid();
}

static void bench_forkexec(int n)
{
    for (int i = 0; i < n; i++) {
        int pid = fork();
        if (pid == 0) {
            char *argv[] = {"true", 0};
            exec("/bin/true", argv);
            exit(127);
        }
        if (pid < 0 || wait(0) != pid) {
            fprintf(2, "osbench: fork/exec/wait failed\n");
            exit(1);
        }
    }
}

static void bench_ctxsw(int n)
{
    int ping[2], pong[2];
    char b = 'x';
    if (pipe(ping) < 0 || pipe(pong) < 0) {
        fprintf(2, "osbench: pipe failed\n");
        exit(1);
    }
    int pid = fork();
    if (pid == 0) {
        for (int i = 0; i < n; i++) {
            read(ping[0], &b, 1);
            write(pong[1], &b, 1);
        }
        exit(0);
    }
    for (int i = 0; i < n; i++) {
        write(ping[1], &b, 1);
        read(pong[0], &b, 1);
    }
    wait(0);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(2, "usage: osbench syscall|forkexec|ctxsw N\n");
        return 2;
    }
    int n = atoi(argv[2]);
    void (*run)(int) = 0;
    if (strcmp(argv[1], "syscall") == 0)
        run = bench_syscall;
    else if (strcmp(argv[1], "forkexec") == 0)
        run = bench_forkexec;
    else if (strcmp(argv[1], "ctxsw") == 0)
        run = bench_ctxsw;
    if (!run || n <= 0) {
        fprintf(2, "usage: osbench syscall|forkexec|ctxsw N\n");
        return 2;
    }
    printf("osbench: start %s\n", argv[1]);
    int t0 = uptime();
    run(n);
    printf("osbench: done %s %d %d\n", argv[1], n, uptime() - t0);
    return 0;
}
