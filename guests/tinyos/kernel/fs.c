/* fs.c: tinyfs in the kernel: superblock and mount checks, the block bitmap,
 * inodes (on disk and the in-memory cache), file contents, directories and path
 * names.  Format: fs.h.  Blocks come from bio.c; every change goes through the
 * log (log_write, inside the caller's begin_op/end_op); open files are file.c's.
 *
 * Inode life cycle: iget() gives a referenced, unlocked inode (maybe not read
 * yet); ilock() reads it and locks it; iunlock(); iput() drops the reference and,
 * for the last reference to an inode no directory names, frees it on the disk
 * (so iput must run inside a transaction).
 *
 * The disk is not trusted.  Mount refuses an inconsistent superblock or log
 * header; ilock() refuses (-1, one console line) an inode whose type, size or
 * block numbers are impossible; a block number read from an indirect block is
 * checked before use; balloc() hands out data-area blocks only, whatever the
 * bitmap says about the metadata.  So a corrupt disk gives I/O errors, never a
 * panic, and the kernel writes nothing but the log, inodes it validated, the
 * bitmap and the data area.
 */
#include "defs.h"
#include "buf.h"

static struct superblock sb;
static uint datastart;      /* first data block: after the bitmap */

/* One console line about corruption found on the disk (the operation then fails). */
static void fs_corrupt(uint inum, const char *what, uint value)
{
    printf("fs: inode %d is corrupt: %s %u\n", (int)inum, what, value);
}

/* A block number from the disk that should name a data block. */
static int data_block_ok(uint b)
{
    return b >= datastart && b < sb.size;
}

/* ---- mount ------------------------------------------------------------- */

static void iinit(void);
static const char *iread(struct inode *ip, uint *value);

/* Why the superblock cannot be mounted, or 0.  Checks in an order that keeps
 * every sum below from overflowing: size first (bounded by the disk). */
static const char *sb_problem(void)
{
    uint avail = disk_fs_sectors() / (BSIZE / 512);
    if (sb.magic != FSMAGIC)
        return "no tinyfs on the disk (bad superblock magic)";
    if (sb.size > avail)
        return "corrupt superblock (the file system is larger than the disk area)";
    uint nbmap = (sb.size + BPB - 1) / BPB;
    if (nbmap > MAXBMAP)
        return "file system too large (more bitmap blocks than one transaction can log)";
    if (sb.logstart != 1 || sb.nlog < 2 || sb.nlog > LOGSIZE + 1 || sb.inodestart != sb.logstart + sb.nlog ||
        sb.ninodes < 2 || sb.ninodes > MAXINODES || sb.bmapstart != sb.inodestart + (sb.ninodes + IPB - 1) / IPB ||
        sb.bmapstart + nbmap >= sb.size || sb.nblocks != sb.size - sb.bmapstart - nbmap)
        return "corrupt superblock (inconsistent layout)";
    return 0;
}

/* Mount the root file system: 0, or -1 after one console line saying why not. */
int fsinit(void)
{
    struct buf *b = bread(ROOTDEV, 0);
    memmove(&sb, b->data, sizeof(sb));
    brelse(b);

    const char *problem = sb_problem();
    if (!problem) {
        datastart = sb.bmapstart + (sb.size + BPB - 1) / BPB;
        iinit();
        problem = initlog(ROOTDEV, &sb);
    }
    if (problem) {
        printf("tinyos: cannot mount the file system: %s\n", problem);
        return -1;
    }
    struct inode *root = iget(ROOTDEV, ROOTINO);
    uint value;
    acquiresleep(&root->lock);
    problem = iread(root, &value);
    if (!problem && root->type != T_DIR)
        problem = "not a directory, type", value = root->type;
    releasesleep(&root->lock);
    iput(root);
    if (problem) {
        printf("tinyos: cannot mount the file system: root inode %s %u\n", problem, value);
        return -1;
    }
    printf("fs: tinyfs, %d KiB, %d inodes\n", (int)(sb.size * (BSIZE / 1024)), (int)sb.ninodes);
    return 0;
}

/* ---- blocks ------------------------------------------------------------- */

static void bzero(uint dev, uint bno)
{
    struct buf *b = bread(dev, bno);
    memset(b->data, 0, BSIZE);
    log_write(b);
    brelse(b);
}

/* A zeroed free data block, marked in use; 0 if the disk is full.  Blocks
 * before datastart are never handed out, even if the bitmap calls them free. */
static uint balloc(uint dev)
{
    for (uint base = 0; base < sb.size; base += BPB) {
        struct buf *bp = bread(dev, BBLOCK(base, sb));
        uint bi = base < datastart ? datastart - base : 0;
        for (; bi < BPB && base + bi < sb.size; bi++) {
            uchar m = 1 << (bi % 8);
            if ((bp->data[bi / 8] & m) == 0) {
                bp->data[bi / 8] |= m;
                log_write(bp);
                brelse(bp);
                bzero(dev, base + bi);
                return base + bi;
            }
        }
        brelse(bp);
    }
    printf("fs: out of disk blocks\n");
    return 0;
}

/* Mark data block b free (callers checked b with data_block_ok). */
static void bfree(uint dev, uint b)
{
    if (!data_block_ok(b))
        panic("bfree: block outside the data area");
    struct buf *bp = bread(dev, BBLOCK(b, sb));
    uchar m = 1 << (b % 8);
    if ((bp->data[(b % BPB) / 8] & m) == 0)
        printf("fs: block %u freed twice: the bitmap is corrupt\n", b);
    bp->data[(b % BPB) / 8] &= ~m;
    log_write(bp);
    brelse(bp);
}

/* ---- inodes ------------------------------------------------------------- */

static struct {
    struct spinlock lock;
    struct inode inode[NINODE];
} itable;

static void iinit(void)
{
    initlock(&itable.lock, "itable");
    for (int i = 0; i < NINODE; i++)
        initsleeplock(&itable.inode[i].lock, "inode");
}

/* A free on-disk inode made of the given type, no links yet; returned
 * referenced, unlocked and valid (ilock does not read it: a named inode with
 * nlink 0 is corrupt).  0 if there is none left. */
struct inode *ialloc(uint dev, short type)
{
    for (uint inum = 1; inum < sb.ninodes; inum++) {
        struct buf *bp = bread(dev, IBLOCK(inum, sb));
        struct dinode *dip = (struct dinode *)bp->data + inum % IPB;
        if (dip->type == 0) {
            memset(dip, 0, sizeof(*dip));
            dip->type = type;
            log_write(bp);
            brelse(bp);
            struct inode *ip = iget(dev, inum);
            acquiresleep(&ip->lock);
            ip->type = type;
            ip->major = ip->minor = ip->nlink = 0;
            ip->size = 0;
            memset(ip->addrs, 0, sizeof(ip->addrs));
            ip->valid = 1;
            releasesleep(&ip->lock);
            return ip;
        }
        brelse(bp);
    }
    printf("fs: out of inodes\n");
    return 0;
}

/* Write ip's fields to its on-disk inode (caller holds ip->lock, in a transaction). */
void iupdate(struct inode *ip)
{
    struct buf *bp = bread(ip->dev, IBLOCK(ip->inum, sb));
    struct dinode *dip = (struct dinode *)bp->data + ip->inum % IPB;
    dip->type = ip->type;
    dip->major = ip->major;
    dip->minor = ip->minor;
    dip->nlink = ip->nlink;
    dip->size = ip->size;
    memmove(dip->addrs, ip->addrs, sizeof(ip->addrs));
    log_write(bp);
    brelse(bp);
}

struct inode *iget(uint dev, uint inum)
{
    struct inode *ip, *empty = 0;

    acquire(&itable.lock);
    for (ip = itable.inode; ip < itable.inode + NINODE; ip++) {
        if (ip->ref > 0 && ip->dev == dev && ip->inum == inum) {
            ip->ref++;
            release(&itable.lock);
            return ip;
        }
        if (empty == 0 && ip->ref == 0)
            empty = ip;
    }
    if (empty == 0)
        panic("iget: no free in-memory inodes");
    ip = empty;
    ip->dev = dev;
    ip->inum = inum;
    ip->ref = 1;
    ip->valid = 0;
    release(&itable.lock);
    return ip;
}

struct inode *idup(struct inode *ip)
{
    acquire(&itable.lock);
    ip->ref++;
    release(&itable.lock);
    return ip;
}

/* Why the inode just read is impossible, or 0 (*value: the culprit). */
static const char *dinode_problem(struct inode *ip, uint *value)
{
    *value = (ushort)ip->type;
    if (ip->type != T_DIR && ip->type != T_FILE && ip->type != T_DEVICE)
        return "free or of an impossible type, type";
    *value = (ushort)ip->nlink;
    if (ip->nlink < 1)      /* only ialloc's fresh inodes have none, and they are never read */
        return "no links, nlink";
    *value = ip->size;
    if (ip->size > MAXFILE * BSIZE)
        return "size larger than the maximum file size,";
    for (int i = 0; i <= NDIRECT; i++) {
        *value = ip->addrs[i];
        if (ip->addrs[i] && !data_block_ok(ip->addrs[i]))
            return "block number outside the data area,";
    }
    return 0;
}

/* Read ip (locked) from the disk: 0 and ip valid, or why the disk's inode is
 * impossible (*value: the culprit) and ip left not valid. */
static const char *iread(struct inode *ip, uint *value)
{
    if (ip->inum < 1 || ip->inum >= sb.ninodes) {
        *value = ip->inum;
        return "a directory names an inode number past ninodes:";
    }
    struct buf *bp = bread(ip->dev, IBLOCK(ip->inum, sb));
    struct dinode *dip = (struct dinode *)bp->data + ip->inum % IPB;
    ip->type = dip->type;
    ip->major = dip->major;
    ip->minor = dip->minor;
    ip->nlink = dip->nlink;
    ip->size = dip->size;
    memmove(ip->addrs, dip->addrs, sizeof(ip->addrs));
    brelse(bp);
    const char *problem = dinode_problem(ip, value);
    if (!problem)
        ip->valid = 1;
    return problem;
}

/* Lock ip, reading it from the disk first if needed: 0, or -1 (reported on the
 * console, ip left unlocked and not valid) if the disk holds an impossible inode. */
int ilock(struct inode *ip)
{
    if (ip == 0 || ip->ref < 1)
        panic("ilock: inode not referenced");
    acquiresleep(&ip->lock);
    if (!ip->valid) {
        uint value;
        const char *problem = iread(ip, &value);
        if (problem) {
            fs_corrupt(ip->inum, problem, value);
            releasesleep(&ip->lock);
            return -1;
        }
    }
    return 0;
}

void iunlock(struct inode *ip)
{
    if (ip == 0 || !holdingsleep(&ip->lock) || ip->ref < 1)
        panic("iunlock: inode not locked");
    releasesleep(&ip->lock);
}

void iput(struct inode *ip)
{
    acquire(&itable.lock);
    if (ip->ref == 1 && ip->valid && ip->nlink == 0) {
        /* Nobody else can hold or find it: no name, no other reference. */
        acquiresleep(&ip->lock);
        release(&itable.lock);
        itrunc(ip);
        ip->type = 0;
        iupdate(ip);
        ip->valid = 0;
        releasesleep(&ip->lock);
        acquire(&itable.lock);
    }
    ip->ref--;
    release(&itable.lock);
}

void iunlockput(struct inode *ip)
{
    iunlock(ip);
    iput(ip);
}

/* ---- contents ----------------------------------------------------------- */

/* The disk block holding block bn of the file; with alloc, allocated on first
 * use.  0 if there is none: a hole (only when !alloc), a full disk, or an
 * indirect block naming a block outside the data area (reported). */
static uint bmap(struct inode *ip, uint bn, int alloc)
{
    uint addr;

    if (bn < NDIRECT) {
        if ((addr = ip->addrs[bn]) == 0 && alloc) {
            addr = balloc(ip->dev);
            ip->addrs[bn] = addr;
        } else if (addr == 0) {     /* writei never leaves holes */
            fs_corrupt(ip->inum, "no disk block for file block", bn);
        }
        return addr;
    }
    if (bn - NDIRECT >= NINDIRECT)
        panic("bmap: block number past the maximum file size");
    if ((addr = ip->addrs[NDIRECT]) == 0) {
        if (!alloc) {
            fs_corrupt(ip->inum, "no indirect block for file block", bn);
            return 0;
        }
        if ((addr = balloc(ip->dev)) == 0)
            return 0;
        ip->addrs[NDIRECT] = addr;
    }
    struct buf *bp = bread(ip->dev, addr);
    uint *table = (uint *)bp->data;
    addr = table[bn - NDIRECT];
    if (addr && !data_block_ok(addr)) {
        fs_corrupt(ip->inum, "indirect block names a block outside the data area,", addr);
        addr = 0;
    } else if (addr == 0 && !alloc) {
        fs_corrupt(ip->inum, "no disk block for file block", bn);
    } else if (addr == 0) {
        addr = balloc(ip->dev);
        if (addr) {
            table[bn - NDIRECT] = addr;
            log_write(bp);
        }
    }
    brelse(bp);
    return addr;
}

/* Free every block of the file (caller holds ip->lock, in a transaction). */
void itrunc(struct inode *ip)
{
    for (int i = 0; i < NDIRECT; i++) {
        if (ip->addrs[i]) {
            bfree(ip->dev, ip->addrs[i]);
            ip->addrs[i] = 0;
        }
    }
    if (ip->addrs[NDIRECT]) {
        struct buf *bp = bread(ip->dev, ip->addrs[NDIRECT]);
        uint *table = (uint *)bp->data;
        for (uint j = 0; j < NINDIRECT; j++) {
            if (table[j] && data_block_ok(table[j]))
                bfree(ip->dev, table[j]);
            else if (table[j])
                fs_corrupt(ip->inum, "indirect block names a block outside the data area,", table[j]);
        }
        brelse(bp);
        bfree(ip->dev, ip->addrs[NDIRECT]);
        ip->addrs[NDIRECT] = 0;
    }
    ip->size = 0;
    iupdate(ip);
}

void stati(struct inode *ip, struct stat *st)
{
    st->dev = ip->dev;
    st->ino = ip->inum;
    st->type = ip->type;
    st->nlink = ip->nlink;
    st->size = ip->size;
}

/* Read n bytes at off into dst (a user address if user_dst, else kernel);
 * returns the bytes read, or -1 if dst is bad or the file's blocks are corrupt
 * (a hole, a bad block number: reported) before anything was read. */
int readi(struct inode *ip, int user_dst, uint32 dst, uint off, uint n)
{
    uint tot, m;

    if (off > ip->size || off + n < off)
        return 0;
    if (off + n > ip->size)
        n = ip->size - off;
    for (tot = 0; tot < n; tot += m, off += m, dst += m) {
        uint addr = bmap(ip, off / BSIZE, 0);
        if (addr == 0)      /* corrupt (reported by bmap) */
            return tot ? (int)tot : -1;
        struct buf *bp = bread(ip->dev, addr);
        m = BSIZE - off % BSIZE;
        if (m > n - tot)
            m = n - tot;
        if (either_copyout(user_dst, dst, bp->data + off % BSIZE, m) == -1) {
            brelse(bp);
            return tot ? (int)tot : -1;
        }
        brelse(bp);
    }
    return tot;
}

/* Write n bytes from src at off, growing the file; returns the bytes written
 * (short if the disk fills up), or -1 if off is past the end of the file, the
 * write would pass MAXFILE, or src is bad.  Caller is in a transaction. */
int writei(struct inode *ip, int user_src, uint32 src, uint off, uint n)
{
    uint tot, m;

    if (off > ip->size || off + n < off)
        return -1;
    if (off + n > MAXFILE * BSIZE)
        return -1;
    for (tot = 0; tot < n; tot += m, off += m, src += m) {
        uint addr = bmap(ip, off / BSIZE, 1);
        if (addr == 0)
            break;
        struct buf *bp = bread(ip->dev, addr);
        m = BSIZE - off % BSIZE;
        if (m > n - tot)
            m = n - tot;
        if (either_copyin(bp->data + off % BSIZE, user_src, src, m) == -1) {
            brelse(bp);
            break;
        }
        log_write(bp);
        brelse(bp);
    }
    if (off > ip->size)
        ip->size = off;
    iupdate(ip);    /* bmap may have changed addrs even if size did not */
    return (tot == 0 && n > 0) ? -1 : (int)tot;
}

/* ---- directories -------------------------------------------------------- */

int namecmp(const char *s, const char *t)
{
    return strncmp(s, t, DIRSIZ);
}

/* The inode named `name` in directory dp (locked), unlocked and referenced,
 * or 0 (also when the directory cannot be read); *poff gets the entry's offset if poff. */
struct inode *dirlookup(struct inode *dp, char *name, uint *poff)
{
    struct dirent de;

    if (dp->type != T_DIR)
        panic("dirlookup: not a directory");
    for (uint off = 0; off + sizeof(de) <= dp->size; off += sizeof(de)) {
        if (readi(dp, 0, (uint32)&de, off, sizeof(de)) != sizeof(de))
            return 0;
        if (de.inum == 0)
            continue;
        if (namecmp(name, de.name) == 0) {
            if (poff)
                *poff = off;
            return iget(dp->dev, de.inum);
        }
    }
    return 0;
}

/* Add (name, inum) to directory dp (locked): the first free slot or the end.
 * -1 if the name exists or the directory cannot be read or grow. */
int dirlink(struct inode *dp, char *name, uint inum)
{
    struct dirent de;
    struct inode *ip;
    uint off;

    if ((ip = dirlookup(dp, name, 0)) != 0) {
        iput(ip);
        return -1;
    }
    for (off = 0; off + sizeof(de) <= dp->size; off += sizeof(de)) {
        if (readi(dp, 0, (uint32)&de, off, sizeof(de)) != sizeof(de))
            return -1;
        if (de.inum == 0)
            break;
    }
    memset(&de, 0, sizeof(de));
    memmove(de.name, name, strlen(name) < DIRSIZ ? strlen(name) : DIRSIZ);
    de.inum = inum;
    if (writei(dp, 0, (uint32)&de, off, sizeof(de)) != sizeof(de))
        return -1;
    return 0;
}

/* ---- path names --------------------------------------------------------- */

/* Copy the next element of path into name (NUL-terminated, room for DIRSIZ + 1)
 * and return what follows it, without leading slashes; 0 if there is no element
 * left or the element is longer than DIRSIZ.
 *   skipelem("a/bb/c", name) = "bb/c", name = "a";  skipelem("///", name) = 0 */
static char *skipelem(char *path, char *name)
{
    while (*path == '/')
        path++;
    if (*path == 0)
        return 0;
    char *s = path;
    while (*path != '/' && *path != 0)
        path++;
    uint len = path - s;
    if (len > DIRSIZ)
        return 0;
    memmove(name, s, len);
    name[len] = 0;
    while (*path == '/')
        path++;
    return path;
}

/* Walk path; with nameiparent, stop one level early and leave the last element
 * in name.  Returns a referenced, unlocked inode or 0. */
static struct inode *namex(char *path, int nameiparent, char *name)
{
    struct inode *ip, *next;
    char *rest;

    if (*path == 0)
        return 0;
    if (*path == '/')
        ip = iget(ROOTDEV, ROOTINO);
    else
        ip = idup(myproc()->cwd);

    while (1) {
        const char *p = path;
        while (*p == '/')
            p++;
        if (*p == 0)
            break;
        if ((rest = skipelem(path, name)) == 0) {   /* element too long */
            iput(ip);
            return 0;
        }
        path = rest;
        if (ilock(ip) < 0) {
            iput(ip);
            return 0;
        }
        if (ip->type != T_DIR) {
            iunlockput(ip);
            return 0;
        }
        if (nameiparent && *path == 0) {
            iunlock(ip);
            return ip;
        }
        if ((next = dirlookup(ip, name, 0)) == 0) {
            iunlockput(ip);
            return 0;
        }
        iunlockput(ip);
        ip = next;
    }
    if (nameiparent) {  /* the path named no element: "/" has no parent */
        iput(ip);
        return 0;
    }
    return ip;
}

struct inode *namei(char *path)
{
    char name[DIRSIZ + 1];
    return namex(path, 0, name);
}

/* name must have room for DIRSIZ + 1 bytes. */
struct inode *nameiparent(char *path, char *name)
{
    return namex(path, 1, name);
}
