/* host.c: the C-library half of the file-system harness (glue.c is the kernel's
 * half).  Runs a script of file operations against a tinyfs blob through the
 * kernel's own code, printing one line per operation; `crash N` powers the
 * "disk" off during its N+1st write, letting only that write's first sector
 * land, to check the log's promise (tests/test_tinyfs.py).  Exit status: 0, 2
 * for a usage error, 3 for a kernel panic, 4 when the kernel refuses to mount,
 * 42 for the simulated power failure.  A write to block 0 (the superblock, which
 * only mkfs writes) is a panic too.
 *
 *   harness BLOB [crash N] boot OP...
 *   OP: write|append PATH DATA, mkdir PATH, rm PATH, link OLD NEW, cd PATH,
 *       mknod PATH MAJOR MINOR, cat PATH, ls PATH, stat PATH, pipe, sync
 *   DATA: text, or #N:S for N bytes of the pattern (i * S + i / 7) & 0xff
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uabi.h"  /* tinyos O_* flags: no <fcntl.h> here */

void fs_boot(void);
int fs_call(int num, uint32_t a0, uint32_t a1, uint32_t a2);
#define P(x) ((uint32_t)(uintptr_t)(x))

static int disk_fd;
static uint32_t disk_sectors;
static long writes, crash_at = -1;

void host_vprintf(const char *fmt, va_list ap) { vfprintf(stderr, fmt, ap); }

void host_panic(const char *msg)
{
    printf("panic: %s\n", msg);
    fflush(stdout);
    _exit(3);
}

void host_disk_rw(uint32_t sector, void *data, uint32_t nbytes, int write)
{
    if (nbytes % 512 || sector + nbytes / 512 > disk_sectors)
        host_panic("host_disk_rw: bad request");
    off_t at = (off_t)sector * 512;
    if (write && sector < 2)
        host_panic("host_disk_rw: the kernel wrote the superblock");
    if (!write) {
        if (pread(disk_fd, data, nbytes, at) != (ssize_t)nbytes)
            host_panic("host_disk_rw: read failed");
        return;
    }
    if (writes++ == crash_at) {  /* power fails: the first sector lands, the rest does not */
        if (pwrite(disk_fd, data, 512, at) != 512)
            host_panic("host_disk_rw: write failed");
        printf("crash after %ld writes\n", writes - 1);
        fflush(stdout);
        _exit(42);
    }
    if (pwrite(disk_fd, data, nbytes, at) != (ssize_t)nbytes)
        host_panic("host_disk_rw: write failed");
}

void host_unmountable(void)
{
    printf("unmountable\n");
    fflush(stdout);
    _exit(4);
}

uint32_t host_disk_sectors(void) { return disk_sectors; }
void *host_page_alloc(void) { return aligned_alloc(4096, 4096); }
void host_page_free(void *p) { free(p); }
void host_console_write(const char *s, int n) { fwrite(s, 1, n, stdout); }

/* The bytes DATA stands for, in a malloc'd buffer. */
static char *data_of(const char *spec, int *len)
{
    int n, seed;
    if (sscanf(spec, "#%d:%d", &n, &seed) == 2) {
        char *buf = malloc(n + 1);
        for (int i = 0; i < n; i++)
            buf[i] = (char)((i * seed + i / 7) & 0xff);
        *len = n;
        return buf;
    }
    *len = strlen(spec);
    return strdup(spec);
}

static void put(const char *path, const char *spec, int flags)
{
    int n, fd = fs_call(SYS_open, P(path), flags, 0);
    char *buf = data_of(spec, &n);
    int r = fd < 0 ? -1 : fs_call(SYS_write, fd, P(buf), n);
    if (fd >= 0)
        fs_call(SYS_close, fd, 0, 0);
    printf("%s %s %d\n", flags & O_APPEND ? "append" : "write", path, r);
    free(buf);
}

static void cat(const char *path)
{
    char buf[700];  /* not a divisor of the block size: reads cross blocks */
    int fd = fs_call(SYS_open, P(path), O_RDONLY, 0), n;
    if (fd < 0) {
        printf("cat %s -1\n", path);
        return;
    }
    while ((n = fs_call(SYS_read, fd, P(buf), sizeof(buf))) > 0)
        fwrite(buf, 1, n, stdout);
    fs_call(SYS_close, fd, 0, 0);
}

static void ls(const char *path)
{
    struct dirent de;
    struct stat st;
    char name[DIRSIZ + 1], full[MAXPATH];
    int fd = fs_call(SYS_open, P(path), O_RDONLY, 0);
    if (fd < 0) {
        printf("ls %s -1\n", path);
        return;
    }
    while (fs_call(SYS_read, fd, P(&de), sizeof(de)) == sizeof(de)) {
        if (de.inum == 0)
            continue;
        memcpy(name, de.name, DIRSIZ);
        name[DIRSIZ] = 0;
        snprintf(full, sizeof(full), "%s/%s", path, name);
        if (fs_call(SYS_stat, P(full), P(&st), 0) < 0)
            printf("%s ? stat failed\n", name);
        else
            printf("%s %u %d %d %u\n", name, st.ino, st.type, st.nlink, st.size);
    }
    fs_call(SYS_close, fd, 0, 0);
}

static void pipe_test(void)
{
    int fds[2];
    char buf[600];
    int r = fs_call(SYS_pipe, P(fds), 0, 0);
    int w = fs_call(SYS_write, fds[1], P("through the pipe"), 16);
    int full = fs_call(SYS_write, fds[1], P(buf), 496);  /* exactly fills PIPESIZE */
    int d = fs_call(SYS_dup, fds[0], 0, 0);
    int n = fs_call(SYS_read, d, P(buf), 16);
    fs_call(SYS_close, fds[1], 0, 0);
    int rest = fs_call(SYS_read, fds[0], P(buf + 16), sizeof(buf) - 16);
    int eof = fs_call(SYS_read, fds[0], P(buf + 16), sizeof(buf) - 16);
    fs_call(SYS_close, fds[0], 0, 0);
    fs_call(SYS_close, d, 0, 0);
    printf("pipe %d %d %d %d %d %.16s %d %d\n", r, w, full, d, n, buf, rest, eof);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: harness BLOB [crash N] boot OP...\n");
        return 2;
    }
    FILE *disk = fopen(argv[1], "r+b");
    if (disk == 0) {
        perror(argv[1]);
        return 2;
    }
    disk_fd = fileno(disk);
    disk_sectors = lseek(disk_fd, 0, SEEK_END) / 512;
    setvbuf(stdout, 0, _IONBF, 0);
    for (int i = 2; i < argc; i++) {
        const char *op = argv[i], *a = i + 1 < argc ? argv[i + 1] : "", *b = i + 2 < argc ? argv[i + 2] : "";
        if (!strcmp(op, "crash")) {
            crash_at = atol(a), i++;
        } else if (!strcmp(op, "boot")) {
            fs_boot();
        } else if (!strcmp(op, "write")) {
            put(a, b, O_CREATE | O_WRONLY | O_TRUNC), i += 2;
        } else if (!strcmp(op, "append")) {
            put(a, b, O_CREATE | O_WRONLY | O_APPEND), i += 2;
        } else if (!strcmp(op, "mkdir")) {
            printf("mkdir %s %d\n", a, fs_call(SYS_mkdir, P(a), 0, 0)), i++;
        } else if (!strcmp(op, "rm")) {
            printf("rm %s %d\n", a, fs_call(SYS_unlink, P(a), 0, 0)), i++;
        } else if (!strcmp(op, "link")) {
            printf("link %s %s %d\n", a, b, fs_call(SYS_link, P(a), P(b), 0)), i += 2;
        } else if (!strcmp(op, "cd")) {
            printf("cd %s %d\n", a, fs_call(SYS_chdir, P(a), 0, 0)), i++;
        } else if (!strcmp(op, "mknod")) {
            printf("mknod %s %d\n", a, fs_call(SYS_mknod, P(a), atoi(b), atoi(argv[i + 3]))), i += 3;
        } else if (!strcmp(op, "cat")) {
            cat(a), i++;
        } else if (!strcmp(op, "ls")) {
            ls(a), i++;
        } else if (!strcmp(op, "stat")) {
            struct stat st;
            int r = fs_call(SYS_stat, P(a), P(&st), 0);
            if (r < 0)
                printf("stat %s -1\n", a);
            else
                printf("stat %s %d %d %u\n", a, st.type, st.nlink, st.size);
            i++;
        } else if (!strcmp(op, "pipe")) {
            pipe_test();
        } else {
            fprintf(stderr, "harness: unknown operation %s\n", op);
            return 2;
        }
    }
    fprintf(stderr, "writes %ld\n", writes);
    return 0;
}
