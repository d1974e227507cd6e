/* qsort.c: quicksort (median of three, insertion sort below 16) of 50,000 LCG words,
 * unsigned order; checksum sum(a[i] * (i + 1)), or 0 if the result is not sorted. */
#include "bench.h"

#define N 50000

static uint32_t a[N];

static void insertion(uint32_t *v, int n)
{
    for (int i = 1; i < n; i++) {
        uint32_t x = v[i];
        int j = i - 1;
        while (j >= 0 && v[j] > x) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = x;
    }
}

static void swap(uint32_t *x, uint32_t *y)
{
    uint32_t t = *x;
    *x = *y;
    *y = t;
}

static void quicksort(uint32_t *v, int n)
{
    while (n > 16) {
        int mid = n / 2;
        if (v[mid] < v[0]) swap(&v[mid], &v[0]);
        if (v[n - 1] < v[0]) swap(&v[n - 1], &v[0]);
        if (v[n - 1] < v[mid]) swap(&v[n - 1], &v[mid]);
        uint32_t pivot = v[mid];
        int i = 0, j = n - 1;
        for (;;) {  /* Hoare partition */
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i >= j) break;
            swap(&v[i], &v[j]);
            i++, j--;
        }
        int left = j + 1;  /* recurse into the smaller half, loop on the larger */
        if (left < n - left) {
            quicksort(v, left);
            v += left, n -= left;
        } else {
            quicksort(v + left, n - left);
            n = left;
        }
    }
    insertion(v, n);
}

uint32_t workload(void)
{
    uint32_t seed = 2;
    for (int i = 0; i < N; i++)
        a[i] = lcg(&seed);
    quicksort(a, N);
    uint32_t sum = 0;
    for (int i = 0; i < N; i++) {
        if (i && a[i - 1] > a[i])
            return 0;
        sum += a[i] * (uint32_t)(i + 1);
    }
    return sum;
}
