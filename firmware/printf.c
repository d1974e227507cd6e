/* printf.c: formatted console output for the BIOS's own messages.
 *
 * Understands %s %c %d %u %x and %llu %llx (64-bit), nothing else; no padding.
 * 64-bit division is done here by 16-bit limbs, so no compiler runtime is needed.
 */
#include <stdarg.h>

#include "defs.h"

static void putu64(uint64_t n, uint32_t base)
{
    static const char digits[] = "0123456789abcdef";
    char buf[20];
    int i = 0;
    do {
        /* n /= base, one 16-bit limb at a time, most significant first */
        uint64_t q = 0;
        uint32_t r = 0;
        for (int shift = 48; shift >= 0; shift -= 16) {
            uint32_t cur = (r << 16) | (uint32_t)((n >> shift) & 0xffff);
            q |= (uint64_t)(cur / base) << shift;
            r = cur % base;
        }
        buf[i++] = digits[r];
        n = q;
    } while (n);
    while (i > 0)
        uart_putc(buf[--i]);
}

void printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            uart_putc(*fmt);
            continue;
        }
        int wide = 0;
        while (fmt[1] == 'l') {
            wide++;
            fmt++;
        }
        switch (*++fmt) {
        case 's':
            for (const char *s = va_arg(ap, const char *); *s; s++)
                uart_putc(*s);
            break;
        case 'c':
            uart_putc(va_arg(ap, int));
            break;
        case 'd': {
            int32_t v = va_arg(ap, int32_t);
            if (v < 0)
                uart_putc('-');
            putu64(v < 0 ? -(uint32_t)v : (uint32_t)v, 10);
            break;
        }
        case 'u':
        case 'x':
            putu64(wide >= 2 ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t), *fmt == 'u' ? 10 : 16);
            break;
        case '%':
            uart_putc('%');
            break;
        default:    /* unknown conversion: print it as written */
            uart_putc('%');
            if (!*fmt) {
                fmt--;  /* a '%' ending the string */
                break;
            }
            uart_putc(*fmt);
            break;
        }
    }
    va_end(ap);
}
