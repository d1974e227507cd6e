/* sysfile.c: the file-system system calls: argument checks, the process's file
 * descriptor table (myproc()->ofile) and transactions around each operation.
 * The work is fs.c's (inodes, directories) and file.c's (open files).
 * Every handler returns the result for a0; errors are -1 (uabi.h).
 */
#include "defs.h"
#include "file.h"

#define ERR ((uint32)-1)

/* The open file behind argument n, or -1 if it is not a valid descriptor. */
static int argfd(int n, int *pfd, struct file **pf)
{
    int fd;
    struct file *f;

    argint(n, &fd);
    if (fd < 0 || fd >= NOFILE || (f = myproc()->ofile[fd]) == 0)
        return -1;
    if (pfd)
        *pfd = fd;
    if (pf)
        *pf = f;
    return 0;
}

/* The lowest free descriptor, now naming f (whose reference it takes); -1 if none. */
static int fdalloc(struct file *f)
{
    struct proc *p = myproc();
    for (int fd = 0; fd < NOFILE; fd++) {
        if (p->ofile[fd] == 0) {
            p->ofile[fd] = f;
            return fd;
        }
    }
    return -1;
}

static int argpath(int n, char *path)
{
    return argstr(n, path, MAXPATH) < 0 ? -1 : 0;
}

uint32 sys_dup(void)
{
    struct file *f;
    int fd;

    if (argfd(0, 0, &f) < 0)
        return ERR;
    if ((fd = fdalloc(f)) < 0)
        return ERR;
    filedup(f);
    return fd;
}

uint32 sys_read(void)
{
    struct file *f;
    int n;
    uint32 addr;

    argaddr(1, &addr);
    argint(2, &n);
    if (argfd(0, 0, &f) < 0)
        return ERR;
    return fileread(f, addr, n);
}

uint32 sys_write(void)
{
    struct file *f;
    int n;
    uint32 addr;

    argaddr(1, &addr);
    argint(2, &n);
    if (argfd(0, 0, &f) < 0)
        return ERR;
    return filewrite(f, addr, n);
}

uint32 sys_close(void)
{
    int fd;
    struct file *f;

    if (argfd(0, &fd, &f) < 0)
        return ERR;
    myproc()->ofile[fd] = 0;
    fileclose(f);
    return 0;
}

uint32 sys_fstat(void)
{
    struct file *f;
    uint32 st;

    argaddr(1, &st);
    if (argfd(0, 0, &f) < 0)
        return ERR;
    return filestat(f, st);
}

uint32 sys_stat(void)
{
    char path[MAXPATH];
    uint32 addr;
    struct stat st;
    struct inode *ip;

    argaddr(1, &addr);
    if (argpath(0, path) < 0)
        return ERR;
    begin_op();     /* iput may free an inode unlinked meanwhile */
    if ((ip = namei(path)) == 0) {
        end_op();
        return ERR;
    }
    if (ilock(ip) < 0) {
        iput(ip);
        end_op();
        return ERR;
    }
    stati(ip, &st);
    iunlockput(ip);
    end_op();
    if (copyout(myproc()->pagetable, addr, (char *)&st, sizeof(st)) < 0)
        return ERR;
    return 0;
}

/* link(old, new): another name for the file old (not a directory). */
uint32 sys_link(void)
{
    char name[DIRSIZ + 1], new[MAXPATH], old[MAXPATH];
    struct inode *dp, *ip;

    if (argpath(0, old) < 0 || argpath(1, new) < 0)
        return ERR;
    begin_op();
    if ((ip = namei(old)) == 0) {
        end_op();
        return ERR;
    }
    if (ilock(ip) < 0) {
        iput(ip);
        end_op();
        return ERR;
    }
    if (ip->type == T_DIR) {
        iunlockput(ip);
        end_op();
        return ERR;
    }
    ip->nlink++;
    iupdate(ip);
    iunlock(ip);

    if ((dp = nameiparent(new, name)) == 0)
        goto bad;
    if (ilock(dp) < 0) {
        iput(dp);
        goto bad;
    }
    if (dp->dev != ip->dev || dirlink(dp, name, ip->inum) < 0) {
        iunlockput(dp);
        goto bad;
    }
    iunlockput(dp);
    iput(ip);
    end_op();
    return 0;

bad:
    ilock(ip);      /* valid since the first ilock: cannot fail */
    ip->nlink--;
    iupdate(ip);
    iunlockput(ip);
    end_op();
    return ERR;
}

/* A directory holding nothing but "." and ".." (one that cannot be read is not). */
static int isdirempty(struct inode *dp)
{
    struct dirent de;

    for (uint off = 2 * sizeof(de); off + sizeof(de) <= dp->size; off += sizeof(de)) {
        if (readi(dp, 0, (uint32)&de, off, sizeof(de)) != sizeof(de))
            return 0;
        if (de.inum != 0)
            return 0;
    }
    return 1;
}

uint32 sys_unlink(void)
{
    struct inode *ip, *dp;
    struct dirent de;
    char name[DIRSIZ + 1], path[MAXPATH];
    uint off;

    if (argpath(0, path) < 0)
        return ERR;
    begin_op();
    if ((dp = nameiparent(path, name)) == 0) {
        end_op();
        return ERR;
    }
    if (ilock(dp) < 0) {
        iput(dp);
        end_op();
        return ERR;
    }
    if (namecmp(name, ".") == 0 || namecmp(name, "..") == 0)
        goto bad;
    if ((ip = dirlookup(dp, name, &off)) == 0)
        goto bad;
    if (ip == dp) {     /* a corrupt entry naming its own directory: ilock would deadlock */
        iput(ip);
        goto bad;
    }
    if (ilock(ip) < 0) {
        iput(ip);
        goto bad;
    }
    /* nlink < 1 on a named inode only comes from a corrupt disk */
    if (ip->nlink < 1 || (ip->type == T_DIR && !isdirempty(ip))) {
        iunlockput(ip);
        goto bad;
    }
    memset(&de, 0, sizeof(de));
    if (writei(dp, 0, (uint32)&de, off, sizeof(de)) != sizeof(de)) {
        iunlockput(ip);
        goto bad;
    }
    if (ip->type == T_DIR) {
        dp->nlink--;    /* the child's ".." */
        iupdate(dp);
    }
    iunlockput(dp);
    ip->nlink--;
    iupdate(ip);
    iunlockput(ip);     /* frees it if nothing else holds it */
    end_op();
    return 0;

bad:
    iunlockput(dp);
    end_op();
    return ERR;
}

/* The inode at path, made with the given type if it does not exist; returned
 * locked.  An existing regular file or device satisfies a T_FILE request
 * (open O_CREATE); anything else existing is an error.  In a transaction. */
static struct inode *create(char *path, short type, short major, short minor)
{
    struct inode *ip, *dp;
    char name[DIRSIZ + 1];

    if ((dp = nameiparent(path, name)) == 0)
        return 0;
    if (ilock(dp) < 0) {
        iput(dp);
        return 0;
    }
    if ((ip = dirlookup(dp, name, 0)) != 0) {
        iunlockput(dp);
        if (ilock(ip) < 0) {
            iput(ip);
            return 0;
        }
        if (type == T_FILE && (ip->type == T_FILE || ip->type == T_DEVICE))
            return ip;
        iunlockput(ip);
        return 0;
    }
    if ((ip = ialloc(dp->dev, type)) == 0) {
        iunlockput(dp);
        return 0;
    }
    if (ilock(ip) < 0) {    /* ialloc just wrote a valid inode: cannot happen */
        iput(ip);
        iunlockput(dp);
        return 0;
    }
    ip->major = major;
    ip->minor = minor;
    ip->nlink = 1;
    iupdate(ip);

    if (type == T_DIR) {
        if (dirlink(ip, ".", ip->inum) < 0 || dirlink(ip, "..", dp->inum) < 0)
            goto fail;
    }
    if (dirlink(dp, name, ip->inum) < 0)
        goto fail;
    if (type == T_DIR) {
        dp->nlink++;    /* the new ".." */
        iupdate(dp);
    }
    iunlockput(dp);
    return ip;

fail:   /* a full disk: give the inode back */
    ip->nlink = 0;
    iupdate(ip);
    iunlockput(ip);
    iunlockput(dp);
    return 0;
}

uint32 sys_open(void)
{
    char path[MAXPATH];
    int omode, fd;
    struct file *f;
    struct inode *ip;

    argint(1, &omode);
    if (argpath(0, path) < 0)
        return ERR;
    int accmode = omode & 3;
    if (accmode == 3)
        return ERR;

    begin_op();
    if (omode & O_CREATE) {
        if ((ip = create(path, T_FILE, 0, 0)) == 0) {
            end_op();
            return ERR;
        }
    } else {
        if ((ip = namei(path)) == 0) {
            end_op();
            return ERR;
        }
        if (ilock(ip) < 0) {
            iput(ip);
            end_op();
            return ERR;
        }
    }
    if (ip->type == T_DIR && accmode != O_RDONLY)
        goto bad;
    if (ip->type == T_DEVICE && (ip->major < 0 || ip->major >= NDEV))
        goto bad;
    if ((f = filealloc()) == 0)
        goto bad;
    if ((fd = fdalloc(f)) < 0) {
        fileclose(f);
        goto bad;
    }
    if (ip->type == T_DEVICE) {
        f->type = FD_DEVICE;
        f->major = ip->major;
    } else {
        f->type = FD_INODE;
        f->off = 0;
    }
    f->ip = ip;
    f->readable = accmode == O_RDONLY || accmode == O_RDWR;
    f->writable = accmode == O_WRONLY || accmode == O_RDWR;
    f->append = (omode & O_APPEND) != 0;
    if ((omode & O_TRUNC) && ip->type == T_FILE && f->writable)
        itrunc(ip);
    iunlock(ip);
    end_op();
    return fd;

bad:
    iunlockput(ip);
    end_op();
    return ERR;
}

uint32 sys_mkdir(void)
{
    char path[MAXPATH];
    struct inode *ip;

    if (argpath(0, path) < 0)
        return ERR;
    begin_op();
    if ((ip = create(path, T_DIR, 0, 0)) == 0) {
        end_op();
        return ERR;
    }
    iunlockput(ip);
    end_op();
    return 0;
}

uint32 sys_mknod(void)
{
    char path[MAXPATH];
    int major, minor;
    struct inode *ip;

    argint(1, &major);
    argint(2, &minor);
    if (argpath(0, path) < 0 || major < 0 || major >= NDEV)
        return ERR;
    begin_op();
    if ((ip = create(path, T_DEVICE, major, minor)) == 0) {
        end_op();
        return ERR;
    }
    iunlockput(ip);
    end_op();
    return 0;
}

uint32 sys_chdir(void)
{
    char path[MAXPATH];
    struct inode *ip;
    struct proc *p = myproc();

    if (argpath(0, path) < 0)
        return ERR;
    begin_op();
    if ((ip = namei(path)) == 0) {
        end_op();
        return ERR;
    }
    if (ilock(ip) < 0) {
        iput(ip);
        end_op();
        return ERR;
    }
    if (ip->type != T_DIR) {
        iunlockput(ip);
        end_op();
        return ERR;
    }
    iunlock(ip);
    iput(p->cwd);
    end_op();
    p->cwd = ip;
    return 0;
}

/* The console device behind argument n, or -1. */
static int argconsole(int n)
{
    struct file *f;
    if (argfd(n, 0, &f) < 0 || f->type != FD_DEVICE || f->major != CONSOLE_MAJOR)
        return -1;
    return 0;
}

uint32 sys_tcsetpgrp(void)
{
    int pgid;
    argint(1, &pgid);
    if (argconsole(0) < 0 || pgid < 0)
        return ERR;
    console_setfg(pgid);
    return 0;
}

uint32 sys_ttymode(void)
{
    int mode;
    argint(1, &mode);
    if (argconsole(0) < 0 || (mode != TTY_COOKED && mode != TTY_RAW))
        return ERR;
    return console_setmode(mode);
}

uint32 sys_pipe(void)
{
    uint32 fdarray;
    struct file *rf, *wf;
    int fd0, fd1;
    struct proc *p = myproc();

    argaddr(0, &fdarray);
    if (pipealloc(&rf, &wf) < 0)
        return ERR;
    fd0 = -1;
    if ((fd0 = fdalloc(rf)) < 0 || (fd1 = fdalloc(wf)) < 0) {
        if (fd0 >= 0)
            p->ofile[fd0] = 0;
        fileclose(rf);
        fileclose(wf);
        return ERR;
    }
    if (copyout(p->pagetable, fdarray, (char *)&fd0, sizeof(fd0)) < 0 ||
        copyout(p->pagetable, fdarray + sizeof(fd0), (char *)&fd1, sizeof(fd1)) < 0) {
        p->ofile[fd0] = 0;
        p->ofile[fd1] = 0;
        fileclose(rf);
        fileclose(wf);
        return ERR;
    }
    return 0;
}
