/* ulib.h: the tinyos user library: system calls (usys.c), strings and line input
 * (ulib.c), formatted output (printf.c) and the heap (malloc.c).
 * The numbers and structures that cross into the kernel live in uabi.h.
 */
#ifndef TINYOS_ULIB_H
#define TINYOS_ULIB_H

#include <stdarg.h>
#include "uabi.h"

#define NULL ((void *)0)
typedef unsigned int size_t;

/* ---- system calls (usys.c): results < 0 are errors ------------------------ */
int fork(void);
void exit(int status) __attribute__((noreturn));
int wait(int *status);
int pipe(int fd[2]);
int read(int fd, void *buf, int n);
int kill(int pid);
int exec(const char *path, char **argv);
int fstat(int fd, struct stat *st);
int chdir(const char *path);
int dup(int fd);
int getpid(void);
char *sbrk(int n);
int sleep(int ms);
int uptime(void);
int open(const char *path, int flags);
int write(int fd, const void *buf, int n);
int mknod(const char *path, short major, short minor);
int unlink(const char *path);
int link(const char *old, const char *new);
int mkdir(const char *path);
int close(int fd);
int ps(struct procinfo *buf, int max);
int gethostname(char *buf, int len);
int sethostname(const char *name, int len);
int uname(struct utsname *u);
int meminfo(struct meminfo *m);
int poweroff(void);
int reboot(void);
int stat(const char *path, struct stat *st);
int setpgid(int pid, int pgid);
int tcsetpgrp(int fd, int pgid);
int ttymode(int fd, int mode);

/* ---- strings and memory (ulib.c) ------------------------------------------ */
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strcpy(char *dst, const char *src);
char *strchr(const char *s, int c);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
int atoi(const char *s);

/* One line from fd (up to and including '\n', NUL-terminated, at most max-1
 * bytes), read a byte at a time so nothing past the line is consumed (a child
 * that inherits the fd sees the rest).  Returns its length; 0 at end of file. */
int getline(int fd, char *buf, int max);
char *gets(char *buf, int max);   /* getline from fd 0; NULL at end of file */

/* ---- formatted output (printf.c): %d %u %x %s %c %p %%, flags '-' '0', width */
int printf(const char *fmt, ...);
int fprintf(int fd, const char *fmt, ...);
int vfprintf(int fd, const char *fmt, va_list ap);
int snprintf(char *buf, int size, const char *fmt, ...);
int puts(const char *s);          /* s and a newline on fd 1 */

/* ---- heap (malloc.c) -------------------------------------------------------- */
void *malloc(size_t n);
void free(void *p);

#endif
