/* fs.h: the tinyfs on-disk format (shared with pyhv/tinyfs.py, which builds and
 * reads it on the host) and the in-memory inode.  The code is in bio.c (block
 * cache), log.c (write-ahead log), fs.c (inodes, directories, paths).
 *
 * Little-endian; BSIZE = 1024 bytes = 2 disk sectors.  Block numbers count from
 * the start of the file-system area (disk_fs_sector(), the boot header's
 * fs_offset); block 0 is never a data block, so an address of 0 means "none".
 *
 *   block                     contents
 *   0                         superblock (struct superblock, rest zero)
 *   logstart (= 1)            log header = the commit record (struct logheader),
 *                             all of it in the block's first sector so a torn
 *                             2-sector write cannot tear it; n = 0: nothing to replay
 *   logstart+1 .. +nlog-1     log data: copy i belongs at block[i]
 *   inodestart ..             inodes, IPB = 16 per block (struct dinode, 64 bytes);
 *                             inode 0 unused, ROOTINO = 1, type 0 = free
 *   bmapstart ..              free bitmap, BPB = 8192 bits per block: bit (b % 8)
 *                             of byte b / 8 is block b, 1 = in use
 *   bmapstart+nbmap .. size-1 data: file and directory contents, indirect blocks
 *
 * A file's blocks: addrs[0..NDIRECT-1] direct, addrs[NDIRECT] an indirect block
 * of NINDIRECT block numbers; max file size (12 + 256) KiB.  A directory is a
 * file of struct dirent (uabi.h, 30 bytes, inum 0 = free slot), "." and ".." first.
 * nlink counts names: a file's directory entries; for a directory its entry in
 * the parent (the root: itself) plus the ".." of each subdirectory ("." not counted).
 *
 * Redo log: a transaction's blocks are written into the log data area, then the
 * header with n > 0 (the commit point), then the blocks in place, then the header
 * with n = 0.  Mount replays a header with n > 0, so power failing anywhere in
 * that sequence leaves either the old or the new state of the transaction.
 */
#ifndef TINYOS_FS_H
#define TINYOS_FS_H

#include "types.h"
#include "sleeplock.h"
#include "uabi.h"

#define BSIZE       1024
#define FSMAGIC     0x53465954  /* "TYFS" as little-endian bytes */
#define ROOTDEV     1           /* the boot disk: the only one */
#define ROOTINO     1
#define NDIRECT     12
#define NINDIRECT   (BSIZE / sizeof(uint))
#define MAXFILE     (NDIRECT + NINDIRECT)
#define IPB         (BSIZE / sizeof(struct dinode))
#define BPB         (BSIZE * 8)
#define IBLOCK(i, sb)  ((i) / IPB + (sb).inodestart)
#define BBLOCK(b, sb)  ((b) / BPB + (sb).bmapstart)

/* Sizes: a system call writes at most MAXOPBLOCKS distinct blocks; the log holds
 * LOGSIZE; the buffer cache NBUF (enough for the log plus concurrent readers). */
#define MAXOPBLOCKS 10
#define LOGSIZE     (MAXOPBLOCKS * 3)
#define NBUF        (MAXOPBLOCKS * 3)
#define NINODE      50          /* in-memory inodes */

/* What mount accepts: itrunc may clear a bit in every bitmap block in one
 * operation, next to the directory block and two inode blocks of an unlink, and
 * a dirent's inum is 16 bits.  So at most 7 * 8 MiB = 56 MiB. */
#define MAXBMAP     (MAXOPBLOCKS - 3)
#define MAXINODES   0x10000

struct superblock {
    uint magic;       /* FSMAGIC */
    uint size;        /* blocks in the file system */
    uint nblocks;     /* data blocks */
    uint ninodes;
    uint nlog;        /* log blocks, header included: <= LOGSIZE + 1 */
    uint logstart;
    uint inodestart;
    uint bmapstart;
};

struct logheader {
    uint n;                 /* blocks committed, 0 = none */
    uint block[LOGSIZE];    /* where copy i belongs */
};

struct dinode {
    short type;             /* 0 free, T_DIR, T_FILE, T_DEVICE */
    short major;            /* T_DEVICE only */
    short minor;
    short nlink;            /* directory entries naming this inode */
    uint size;              /* bytes */
    uint addrs[NDIRECT + 1];
};

/* In memory: one per inode in use (iget), ref-counted; `lock` guards everything
 * below `valid`, icache.lock guards ref. */
struct inode {
    uint dev;
    uint inum;
    int ref;
    struct sleeplock lock;
    int valid;              /* dinode fields read from disk */
    short type;
    short major;
    short minor;
    short nlink;
    uint size;
    uint addrs[NDIRECT + 1];
};

#endif
