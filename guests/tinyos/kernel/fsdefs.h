/* fsdefs.h: what the file-system files (bio.c, log.c, fs.c, file.c, pipe.c,
 * sysfile.c) offer the rest of the kernel; included by defs.h.  Structures:
 * buf.h (struct buf), fs.h (format, struct inode), file.h (struct file, pipe). */
#ifndef TINYOS_FSDEFS_H
#define TINYOS_FSDEFS_H

struct buf;
struct file;
struct inode;
struct pipe;
struct stat;
struct superblock;

/* bio.c */
void binit(void);
struct buf *bread(uint dev, uint blockno);
void bwrite(struct buf *b);
void brelse(struct buf *b);
void bpin(struct buf *b);
void bunpin(struct buf *b);

/* log.c */
const char *initlog(uint dev, struct superblock *sb);
void begin_op(void);
void end_op(void);
void log_write(struct buf *b);

/* fs.c */
int fsinit(void);
struct inode *ialloc(uint dev, short type);
struct inode *iget(uint dev, uint inum);
struct inode *idup(struct inode *ip);
int ilock(struct inode *ip);
void iunlock(struct inode *ip);
void iput(struct inode *ip);
void iunlockput(struct inode *ip);
void iupdate(struct inode *ip);
void itrunc(struct inode *ip);
void stati(struct inode *ip, struct stat *st);
int readi(struct inode *ip, int user_dst, uint32 dst, uint off, uint n);
int writei(struct inode *ip, int user_src, uint32 src, uint off, uint n);
int namecmp(const char *s, const char *t);
struct inode *dirlookup(struct inode *dp, char *name, uint *poff);
int dirlink(struct inode *dp, char *name, uint inum);
struct inode *namei(char *path);
struct inode *nameiparent(char *path, char *name);

/* file.c */
void fileinit(void);
struct file *filealloc(void);
struct file *filedup(struct file *f);
void fileclose(struct file *f);
int filestat(struct file *f, uint32 addr);
int fileread(struct file *f, uint32 addr, int n);
int filewrite(struct file *f, uint32 addr, int n);

/* pipe.c */
int pipealloc(struct file **f0, struct file **f1);
void pipeclose(struct pipe *pi, int writable);
int piperead(struct pipe *pi, uint32 addr, int n);
int pipewrite(struct pipe *pi, uint32 addr, int n);

/* sysfile.c: system-call handlers (numbers in uabi.h) */
uint32 sys_open(void);
uint32 sys_read(void);
uint32 sys_write(void);
uint32 sys_close(void);
uint32 sys_dup(void);
uint32 sys_pipe(void);
uint32 sys_fstat(void);
uint32 sys_stat(void);
uint32 sys_mknod(void);
uint32 sys_unlink(void);
uint32 sys_link(void);
uint32 sys_mkdir(void);
uint32 sys_chdir(void);
uint32 sys_tcsetpgrp(void);
uint32 sys_ttymode(void);

#endif
