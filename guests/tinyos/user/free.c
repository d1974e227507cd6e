/* free.c: free: the kernel's page allocator in KiB (SYS_meminfo):
 *
 *              total       used       free
 *     KiB:     30720       1234      29486
 */
#include "ulib.h"

int main(void)
{
    struct meminfo m;
    if (meminfo(&m) < 0) {
        fprintf(2, "free: failed\n");
        return 1;
    }
    unsigned int kib = m.page_size / 1024;
    unsigned int total = m.total_pages * kib, avail = m.free_pages * kib;
    printf("%-6s %10s %10s %10s\n", "", "total", "used", "free");
    printf("%-6s %10u %10u %10u\n", "KiB:", total, total - avail, avail);
    return 0;
}
