/* matmul.c: 96x96 integer matrix product C = A B (i-k-j order, mod 2^32) of LCG
 * matrices with entries 0..255; checksum h = 31 h + C[i][j] over C in row order. */
#include "bench.h"

#define DIM 96

static uint32_t A[DIM][DIM], B[DIM][DIM], C[DIM][DIM];

uint32_t workload(void)
{
    uint32_t seed = 3;
    for (int i = 0; i < DIM; i++)
        for (int j = 0; j < DIM; j++) {
            A[i][j] = lcg(&seed) >> 24;
            B[i][j] = lcg(&seed) >> 24;
            C[i][j] = 0;
        }
    for (int i = 0; i < DIM; i++)
        for (int k = 0; k < DIM; k++) {
            uint32_t aik = A[i][k];
            for (int j = 0; j < DIM; j++)
                C[i][j] += aik * B[k][j];
        }
    uint32_t h = 0;
    for (int i = 0; i < DIM; i++)
        for (int j = 0; j < DIM; j++)
            h = h * 31 + C[i][j];
    return h;
}
