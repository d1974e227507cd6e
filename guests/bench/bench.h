/* bench.h: what a CPU benchmark workload (guests/bench/<name>.c) and the runtime
 * (runtime.c) share.  A workload defines workload(): one repetition, returning a
 * checksum that pyhv/bench_cpu.py computes independently in Python. */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>

uint32_t workload(void);

/* The data generator every workload and its Python reference share:
 * Numerical Recipes' 32-bit LCG, x' = 1664525 x + 1013904223 (mod 2^32). */
static inline uint32_t lcg(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state;
}

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);

#endif
