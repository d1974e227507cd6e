/* fdt.c: just enough of a flattened device tree reader to find RAM.
 *
 * Devicetree Specification v0.4 chapter 5: a header of big-endian u32 fields,
 * a structure block of tokens (BEGIN_NODE name, PROP len nameoff value,
 * END_NODE, NOP, END; every item padded to 4 bytes) and a strings block of
 * property names.  fdt_memory reads the root's #address-cells/#size-cells and
 * the first (address, size) pair of the root's "memory" or "memory@..." node;
 * fdt_harts counts the "cpu@..." nodes of /cpus.
 * Every offset is checked against totalsize: a bad blob gives -1, never a fault.
 */
#include "defs.h"

#define FDT_MAGIC       0xd00dfeed
#define FDT_BEGIN_NODE  1
#define FDT_END_NODE    2
#define FDT_PROP        3
#define FDT_NOP         4
#define FDT_END         9

/* header field offsets (§5.2) */
#define HDR_MAGIC       0
#define HDR_TOTALSIZE   4
#define HDR_OFF_STRUCT  8
#define HDR_OFF_STRINGS 12
#define HDR_SIZE        40

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* Big-endian value of `cells` 32-bit cells at p (at most 2 matter here). */
static uint64_t read_cells(const uint8_t *p, uint32_t cells)
{
    uint64_t v = 0;
    for (uint32_t i = 0; i < cells; i++)
        v = (v << 32) | be32(p + 4 * i);
    return v;
}

/* A node name is `prefix`, or `prefix@unit-address` when `unit` allows it. */
static int node_is(const char *name, const char *prefix, int unit)
{
    while (*prefix && *prefix == *name)
        prefix++, name++;
    return !*prefix && (!*name || (unit && *name == '@'));
}

/* What the BIOS wants from the tree: the first /memory range and the harts. */
struct board {
    int have_memory;
    uint64_t base, size;
    uint32_t harts;         /* cpu@N nodes under /cpus */
};

static int fdt_scan(uint32_t dtb, struct board *b)
{
    const uint8_t *fdt = (const uint8_t *)dtb;
    if (be32(fdt + HDR_MAGIC) != FDT_MAGIC)
        return -1;
    uint32_t total = be32(fdt + HDR_TOTALSIZE);
    uint32_t pos = be32(fdt + HDR_OFF_STRUCT), strings = be32(fdt + HDR_OFF_STRINGS);
    if (total < HDR_SIZE || pos >= total || strings >= total)
        return -1;
    uint32_t addr_cells = 2, size_cells = 1;    /* defaults of §2.3.5 */
    int depth = 0, in_memory = 0, in_cpus = 0;

    while (pos + 4 <= total) {
        uint32_t token = be32(fdt + pos);
        pos += 4;
        if (token == FDT_BEGIN_NODE) {
            const char *name = (const char *)fdt + pos;
            while (pos < total && fdt[pos])
                pos++;
            if (pos >= total)
                return -1;
            pos = (pos + 4) & ~3u;              /* past the NUL, then to 4 bytes */
            depth++;
            in_memory = depth == 2 && node_is(name, "memory", 1);
            if (depth == 2)
                in_cpus = node_is(name, "cpus", 0);
            if (depth == 3 && in_cpus && node_is(name, "cpu", 1))
                b->harts++;
        } else if (token == FDT_END_NODE) {
            if (--depth < 0)
                return -1;
            in_memory = 0;
        } else if (token == FDT_PROP) {
            if (pos + 8 > total)
                return -1;
            uint32_t len = be32(fdt + pos), nameoff = be32(fdt + pos + 4);
            const uint8_t *value = fdt + pos + 8;
            if (len > total - pos - 8 || nameoff >= total - strings)
                return -1;
            const char *pname = (const char *)fdt + strings + nameoff;
            pos = (pos + 8 + len + 3) & ~3u;
            if (depth == 1 && len == 4 && streq(pname, "#address-cells"))
                addr_cells = be32(value);
            else if (depth == 1 && len == 4 && streq(pname, "#size-cells"))
                size_cells = be32(value);
            else if (in_memory && !b->have_memory && streq(pname, "reg")) {
                if (addr_cells < 1 || addr_cells > 2 || size_cells < 1 || size_cells > 2)
                    return -1;
                if (len < 4 * (addr_cells + size_cells))
                    return -1;
                b->base = read_cells(value, addr_cells);
                b->size = read_cells(value + 4 * addr_cells, size_cells);
                b->have_memory = 1;
            }
        } else if (token == FDT_END) {
            return 0;
        } else if (token != FDT_NOP) {
            return -1;
        }
    }
    return -1;
}

int fdt_memory(uint32_t dtb, uint64_t *base, uint64_t *size)
{
    struct board b = { 0 };
    if (fdt_scan(dtb, &b) < 0 || !b.have_memory)
        return -1;
    *base = b.base;
    *size = b.size;
    return 0;
}

uint32_t fdt_harts(uint32_t dtb)
{
    struct board b = { 0 };
    return fdt_scan(dtb, &b) < 0 || !b.harts ? 1 : b.harts;
}
