/* fdt.c: a tiny read-only walker for the flattened device tree the BIOS
 * passes in a1 (Devicetree Specification v0.4, chapter 5).  Shared by the guests
 * (guests/hello, guests/tinyos/kernel): each builds it with its own defs.h on the
 * include path, which supplies the types, strlen/strncmp and these prototypes.
 *
 * A node is named by the offset of its FDT_BEGIN_NODE token in the
 * structure block.  Every read is bounds-checked against that block, so a
 * damaged tree ends a walk instead of running off into memory.
 */
#include "defs.h"

/* Header (5.2): big-endian 32-bit words. */
#define FDT_MAGIC          0xd00dfeed
#define FDT_OFF_MAGIC      0
#define FDT_OFF_STRUCT     8    /* off_dt_struct */
#define FDT_OFF_STRINGS    12   /* off_dt_strings */
#define FDT_OFF_LAST_COMP  24   /* last_comp_version: 16 for today's format */
#define FDT_OFF_SIZE_STRS  32   /* size_dt_strings */
#define FDT_OFF_SIZE_STRUCT 36  /* size_dt_struct */

/* Structure block tokens (5.4.1); a property is FDT_PROP, len, nameoff,
 * value padded to 4 bytes. */
#define FDT_BEGIN_NODE  1
#define FDT_END_NODE    2
#define FDT_PROP        3
#define FDT_NOP         4
#define FDT_END         9

static const uint8 *fdt_struct;
static uint32 fdt_struct_size;
static const char *fdt_strings;
static uint32 fdt_strings_size;

static uint32 be32(const void *p)
{
    const uint8 *b = p;
    return (uint32)b[0] << 24 | (uint32)b[1] << 16 | (uint32)b[2] << 8 | b[3];
}

static uint32 align4(uint32 x)
{
    return (x + 3) & ~3u;
}

/* The token at off, or FDT_END past the end of the block. */
static uint32 fdt_token(uint32 off)
{
    return off + 4 <= fdt_struct_size ? be32(fdt_struct + off) : FDT_END;
}

/* The offset after a FDT_BEGIN_NODE token and its NUL-terminated name. */
static uint32 fdt_after_name(uint32 node)
{
    uint32 off = node + 4;
    while (off < fdt_struct_size && fdt_struct[off])
        off++;
    return align4(off + 1);
}

/* The offset after a FDT_PROP token and its value. */
static uint32 fdt_after_prop(uint32 off)
{
    return align4(off + 12 + fdt_token(off + 4));
}

int fdt_init(uint32 pa)
{
    const uint8 *h = (const uint8 *)pa;
    if (be32(h + FDT_OFF_MAGIC) != FDT_MAGIC || be32(h + FDT_OFF_LAST_COMP) > 17)
        return -1;
    fdt_struct = h + be32(h + FDT_OFF_STRUCT);
    fdt_struct_size = be32(h + FDT_OFF_SIZE_STRUCT);
    fdt_strings = (const char *)h + be32(h + FDT_OFF_STRINGS);
    fdt_strings_size = be32(h + FDT_OFF_SIZE_STRS);
    return 0;
}

const char *fdt_name(int node)
{
    return (const char *)fdt_struct + node + 4;
}

/* The value of property `name` of node, its length in *lenp; NULL if absent. */
const void *fdt_getprop(int node, const char *name, uint32 *lenp)
{
    uint32 off = fdt_after_name((uint32)node);
    for (;;) {
        uint32 tok = fdt_token(off);
        if (tok == FDT_NOP) {
            off += 4;
        } else if (tok == FDT_PROP) {
            uint32 len = fdt_token(off + 4), nameoff = fdt_token(off + 8);
            if (nameoff < fdt_strings_size && off + 12 + len <= fdt_struct_size &&
                strncmp(fdt_strings + nameoff, name, fdt_strings_size - nameoff) == 0) {
                if (lenp)
                    *lenp = len;
                return fdt_struct + off + 12;
            }
            off = fdt_after_prop(off);
        } else {
            return NULL;
        }
    }
}

/* A node's first child, or -1. */
int fdt_first_child(int node)
{
    uint32 off = fdt_after_name((uint32)node);
    for (;;) {
        uint32 tok = fdt_token(off);
        if (tok == FDT_NOP)
            off += 4;
        else if (tok == FDT_PROP)
            off = fdt_after_prop(off);
        else
            return tok == FDT_BEGIN_NODE ? (int)off : -1;
    }
}

/* The node after this one at the same depth, or -1. */
int fdt_next_sibling(int node)
{
    uint32 off = (uint32)node;
    int depth = 0;
    do {
        switch (fdt_token(off)) {
        case FDT_BEGIN_NODE:
            depth++;
            off = fdt_after_name(off);
            break;
        case FDT_END_NODE:
            depth--;
            off += 4;
            break;
        case FDT_PROP:
            off = fdt_after_prop(off);
            break;
        case FDT_NOP:
            off += 4;
            break;
        default:
            return -1;
        }
    } while (depth > 0);
    while (fdt_token(off) == FDT_NOP)
        off += 4;
    return fdt_token(off) == FDT_BEGIN_NODE ? (int)off : -1;
}

/* Does a node name match a path component?  "memory" matches "memory@80000000"
 * (unit address left out, as DTSpec 2.2.3 allows in paths). */
static int fdt_name_matches(const char *name, const char *comp, uint32 n)
{
    if (strncmp(name, comp, n) != 0)
        return 0;
    return name[n] == 0 || name[n] == '@';
}

/* The node at an absolute path such as "/soc" or "/chosen", or -1. */
int fdt_path(const char *path)
{
    int node = 0;
    while (fdt_token((uint32)node) == FDT_NOP)
        node += 4;
    if (fdt_token((uint32)node) != FDT_BEGIN_NODE)
        return -1;
    while (*path) {
        while (*path == '/')
            path++;
        if (!*path)
            break;
        uint32 n = 0;
        while (path[n] && path[n] != '/')
            n++;
        for (node = fdt_first_child(node); node >= 0; node = fdt_next_sibling(node))
            if (fdt_name_matches(fdt_name(node), path, n))
                break;
        if (node < 0)
            return -1;
        path += n;
    }
    return node;
}

/* A one-cell property, or dflt if it is absent or not one cell. */
uint32 fdt_u32(int node, const char *name, uint32 dflt)
{
    uint32 len;
    const void *p = fdt_getprop(node, name, &len);
    return p && len == 4 ? be32(p) : dflt;
}

/* The first (address, size) pair of node's `reg`, decoded with the parent's
 * #address-cells / #size-cells (defaults 2 and 1, DTSpec 2.3.5).  Fails
 * unless both fit in 32 bits. */
int fdt_reg(int parent, int node, uint32 *base, uint32 *size)
{
    uint32 ac = fdt_u32(parent, "#address-cells", 2), sc = fdt_u32(parent, "#size-cells", 1);
    uint32 len;
    const uint8 *p = fdt_getprop(node, "reg", &len);
    if (!p || ac < 1 || ac > 2 || sc < 1 || sc > 2 || len < 4 * (ac + sc))
        return -1;
    if ((ac == 2 && be32(p) != 0) || (sc == 2 && be32(p + 4 * ac) != 0))
        return -1;
    *base = be32(p + 4 * (ac - 1));
    *size = be32(p + 4 * (ac + sc - 1));
    return 0;
}

/* Does node's "compatible" string list contain compat (DTSpec 2.3.1)? */
int fdt_compatible(int node, const char *compat)
{
    uint32 len;
    const char *p = fdt_getprop(node, "compatible", &len);
    uint32 want = (uint32)strlen(compat) + 1;
    for (uint32 off = 0; p && off < len;) {
        uint32 n = 0;
        while (off + n < len && p[off + n])
            n++;
        if (n + 1 == want && strncmp(p + off, compat, n) == 0)
            return 1;
        off += n + 1;
    }
    return 0;
}

/* The first child of parent compatible with compat, or -1. */
int fdt_find_compatible(int parent, const char *compat)
{
    for (int node = fdt_first_child(parent); node >= 0; node = fdt_next_sibling(node))
        if (fdt_compatible(node, compat))
            return node;
    return -1;
}
