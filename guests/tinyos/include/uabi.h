/* uabi.h: the tinyos user/kernel ABI, shared by the kernel (guests/tinyos/kernel/)
 * and user space (guests/tinyos/user/).  Plain C: numbers, flags and the few
 * structures that cross the system-call boundary.
 *
 * System calls: `ecall` with a7 = SYS_*, arguments in a0..a5, result in a0.
 * A result < 0 is an error (-1 unless a specific E* value is given below); a bad
 * user pointer (unmapped, kernel memory, read-only for a write) gives -1, never a
 * kernel fault.
 *
 * User address space (Sv32, one per process):
 *   0x00000000 .. 0x0000ffff  unmapped (null pointer guard)
 *   0x00010000 ..             program text, data, bss (ELF32 PT_LOAD segments), then the heap (sbrk)
 *   .. USER_STACK_TOP         user stack (USER_STACK_PAGES pages, guard page below)
 *   0x80000000 ..             kernel (mapped without PTE_U: user access faults)
 */
#ifndef TINYOS_UABI_H
#define TINYOS_UABI_H

#define USER_BASE          0x00010000u   /* where user programs are linked */
#define USER_STACK_TOP     0x7fff0000u
#define USER_STACK_PAGES   4

/* ---- system call numbers ------------------------------------------------- */
#define SYS_fork        1   /* int fork(void) */
#define SYS_exit        2   /* void exit(int status) */
#define SYS_wait        3   /* int wait(int *status)  -> pid, or -1 with no children */
#define SYS_pipe        4   /* int pipe(int fd[2]) */
#define SYS_read        5   /* int read(int fd, void *buf, int n) */
#define SYS_kill        6   /* int kill(int pid): the process exits with status -1 at its next trap */
#define SYS_exec        7   /* int exec(const char *path, char **argv) */
#define SYS_fstat       8   /* int fstat(int fd, struct stat *st) */
#define SYS_chdir       9   /* int chdir(const char *path) */
#define SYS_dup        10   /* int dup(int fd) */
#define SYS_getpid     11   /* int getpid(void) */
#define SYS_sbrk       12   /* char *sbrk(int n) -> old break, or (char *)-1 */
#define SYS_sleep      13   /* int sleep(int ms) */
#define SYS_uptime     14   /* int uptime(void) -> ms since boot */
#define SYS_open       15   /* int open(const char *path, int flags) */
#define SYS_write      16   /* int write(int fd, const void *buf, int n) */
#define SYS_mknod      17   /* int mknod(const char *path, short major, short minor) */
#define SYS_unlink     18   /* int unlink(const char *path) */
#define SYS_link       19   /* int link(const char *old, const char *new) */
#define SYS_mkdir      20   /* int mkdir(const char *path) */
#define SYS_close      21   /* int close(int fd) */
#define SYS_ps         22   /* int ps(struct procinfo *buf, int max) -> number filled */
#define SYS_gethostname 23  /* int gethostname(char *buf, int len) */
#define SYS_sethostname 24  /* int sethostname(const char *name, int len) */
#define SYS_uname      25   /* int uname(struct utsname *u) */
#define SYS_meminfo    26   /* int meminfo(struct meminfo *m) */
#define SYS_poweroff   27   /* int poweroff(void): SBI system reset, shutdown */
#define SYS_reboot     28   /* int reboot(void): SBI system reset, cold reboot */
#define SYS_stat       29   /* int stat(const char *path, struct stat *st) */
#define SYS_setpgid    30   /* int setpgid(int pid, int pgid): pid 0 = the caller, pgid 0 = pid's own
                               group; pid must be the caller or its child */
#define SYS_tcsetpgrp  31   /* int tcsetpgrp(int fd, int pgid): make pgid (0: none) the console's
                               foreground process group; fd must be the console */
#define SYS_ttymode    32   /* int ttymode(int fd, int mode) -> the old mode (TTY_*); fd: the console */
#define SYS_NCALLS     33

/* ---- files --------------------------------------------------------------- */
#define O_RDONLY   0x000
#define O_WRONLY   0x001
#define O_RDWR     0x002
#define O_CREATE   0x200
#define O_TRUNC    0x400
#define O_APPEND   0x800

#define T_DIR      1   /* directory */
#define T_FILE     2   /* regular file */
#define T_DEVICE   3   /* device: major/minor */

#define CONSOLE_MAJOR  1   /* /dev/console */

/* The console's line discipline (kernel/console.c).  In both modes ^C interrupts
 * the foreground process group: each of its processes exits with status
 * EXIT_INTERRUPTED at its next return to U-mode (a sleeper is woken first), and
 * unread input is discarded.  With no foreground group, ^C ends the line being
 * typed (an empty line in TTY_COOKED, the byte 0x03 in TTY_RAW). */
#define TTY_COOKED 0   /* a line at a time, echoed, edited (backspace, ^U); ^D ends the input */
#define TTY_RAW    1   /* each byte as it comes, no echo, no editing: the program does that */
#define EXIT_INTERRUPTED 130   /* 128 + SIGINT, the status POSIX shells report for ^C */

struct stat {
    int dev;             /* file system's disk device */
    unsigned int ino;    /* inode number */
    short type;          /* T_DIR, T_FILE, T_DEVICE */
    short nlink;         /* links to the file */
    unsigned int size;   /* bytes */
};

/* A directory is a file of these records; read() on a directory fd returns them. */
#define DIRSIZ 28
struct dirent {
    unsigned short inum;   /* 0: free slot */
    char name[DIRSIZ];     /* NUL-padded, not necessarily NUL-terminated */
};

/* ---- processes and the system ----------------------------------------------- */
#define PROC_NAME_LEN 16

enum procstate { PS_UNUSED, PS_USED, PS_SLEEPING, PS_RUNNABLE, PS_RUNNING, PS_ZOMBIE };

struct procinfo {
    int pid;
    int ppid;
    int state;                  /* enum procstate */
    char name[PROC_NAME_LEN];
    unsigned int pages;         /* physical pages the process holds (user memory + page tables) */
    unsigned int ticks;         /* timer ticks it has run */
};

#define UTS_LEN 32
struct utsname {
    char sysname[UTS_LEN];      /* "tinyos" */
    char nodename[UTS_LEN];     /* the hostname */
    char release[UTS_LEN];
    char version[UTS_LEN];
    char machine[UTS_LEN];      /* "riscv32" */
};

struct meminfo {
    unsigned int total_pages;   /* pages the allocator manages */
    unsigned int free_pages;
    unsigned int page_size;     /* 4096 */
};

#define MAXARG     32    /* exec argv entries */
#define MAXPATH    128
#define NOFILE     16    /* open files per process */

#endif
