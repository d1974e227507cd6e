/* types.h: fixed-width integer names used throughout the hello kernel.
 * The kernel is freestanding (no libc), so it names its own sizes. */
#ifndef HELLO_TYPES_H
#define HELLO_TYPES_H

typedef unsigned char uint8;
typedef unsigned short uint16;
typedef unsigned int uint32;
typedef unsigned long long uint64;
typedef int int32;

#define NULL ((void *)0)

#endif
