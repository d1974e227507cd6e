/* types.h: the integer names every tinyos kernel file uses.  The kernel is
 * freestanding (no libc), so it names its own sizes; rv32: int and pointers are
 * 32 bits. */
#ifndef TINYOS_TYPES_H
#define TINYOS_TYPES_H

typedef unsigned char uint8;
typedef unsigned short uint16;
typedef unsigned int uint32;
typedef unsigned long long uint64;
typedef int int32;

typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;

typedef uint32 pte_t;         /* one Sv32 page-table entry */
typedef uint32 *pagetable_t;  /* a 4 KiB table of 1024 PTEs (the root, or a leaf table) */

#ifndef NULL
#define NULL ((void *)0)
#endif

#endif
