/* init.c: the first user process.  Opens the console as fds 0, 1 and 2 (making
 * /dev/console first if the image lacks it), prints /etc/motd, then keeps a
 * shell running: fork, exec /bin/sh, wait, and start a new one when it exits.
 * It also reaps the orphans the kernel hands to it.
 */
#include "ulib.h"

static char *sh_argv[] = {"sh", NULL};

static void open_console(void)
{
    struct stat st;
    if (stat("/dev/console", &st) < 0) {
        if (stat("/dev", &st) < 0)
            mkdir("/dev");
        mknod("/dev/console", CONSOLE_MAJOR, 0);
    }
    if (open("/dev/console", O_RDWR) != 0)
        exit(1);   /* nowhere to say so */
    dup(0);        /* 1: stdout */
    dup(0);        /* 2: stderr */
}

/* The message of the day, if there is one. */
static void motd(void)
{
    char buf[256];
    int n, fd = open("/etc/motd", O_RDONLY);
    if (fd < 0)
        return;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        write(1, buf, n);
    close(fd);
}

int main(void)
{
    open_console();
    motd();
    for (;;) {
        int pid = fork();
        if (pid < 0) {
            fprintf(2, "init: fork failed\n");
            sleep(1000);
            continue;
        }
        if (pid == 0) {
            exec("/bin/sh", sh_argv);
            fprintf(2, "init: exec /bin/sh failed\n");
            exit(127);
        }
        int wpid, status = 0;
        while ((wpid = wait(&status)) >= 0 && wpid != pid)
            ;   /* an orphan: reaped, nothing more to do */
        if (wpid < 0 || status == 127)
            sleep(1000);   /* no shell to run: do not spin */
    }
}
