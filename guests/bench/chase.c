/* chase.c: a linked-list pointer chase over 1 MiB: 65,536 nodes of 16 bytes linked
 * into one random cycle (Sattolo's shuffle of the node order, LCG-driven), then
 * 262,144 dependent loads along it; checksum: the sum of the visited values. */
#include "bench.h"

#define NODES 65536
#define STEPS (4 * NODES)

struct node {
    struct node *next;
    uint32_t value;
    uint32_t pad[2];
};

static struct node nodes[NODES];
static uint32_t order[NODES];

uint32_t workload(void)
{
    uint32_t seed = 4;
    for (uint32_t i = 0; i < NODES; i++) {
        order[i] = i;
        nodes[i].value = lcg(&seed) >> 8;
    }
    for (uint32_t i = NODES - 1; i > 0; i--) {  /* Sattolo: one cycle through every node */
        uint32_t j = lcg(&seed) % i, t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (uint32_t i = 0; i < NODES; i++)
        nodes[order[i]].next = &nodes[order[(i + 1) % NODES]];
    struct node *p = &nodes[0];
    uint32_t sum = 0;
    for (uint32_t s = 0; s < STEPS; s++) {
        sum += p->value;
        p = p->next;
    }
    return sum;
}
