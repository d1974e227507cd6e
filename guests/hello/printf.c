/* printf.c: formatted console output through the SBI.
 *
 * printf formats into a line buffer and hands it to the SBI debug console
 * (DBCN) in one call, falling back to one legacy putchar per byte.  Formats:
 * %d %u %x %s %c %%.  Not reentrant: interrupts are only taken where the
 * kernel waits in intr_wait() or runs U-mode, never inside printf.
 */
#include "defs.h"

static char pr_buf[128];
static uint32 pr_len;

void console_write(const char *s, uint32 n)
{
    if (sbi_console_write(s, n) != 0)
        while (n--)
            sbi_putchar(*s++);
}

static void pr_flush(void)
{
    console_write(pr_buf, pr_len);
    pr_len = 0;
}

static void pr_putc(char c)
{
    if (pr_len == sizeof pr_buf)
        pr_flush();
    pr_buf[pr_len++] = c;
}

static void pr_num(uint32 x, uint32 base, int negative)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[12];
    int i = 0;
    do {
        tmp[i++] = digits[x % base];
        x /= base;
    } while (x);
    if (negative)
        pr_putc('-');
    while (i > 0)
        pr_putc(tmp[--i]);
}

void printf(const char *fmt, ...)
{
    __builtin_va_list ap;
    __builtin_va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%' || !fmt[1]) {
            pr_putc(*fmt);
            continue;
        }
        switch (*++fmt) {
        case 'd': {
            int32 v = __builtin_va_arg(ap, int32);
            pr_num(v < 0 ? -(uint32)v : (uint32)v, 10, v < 0);
            break;
        }
        case 'u':
            pr_num(__builtin_va_arg(ap, uint32), 10, 0);
            break;
        case 'x':
            pr_num(__builtin_va_arg(ap, uint32), 16, 0);
            break;
        case 'c':
            pr_putc((char)__builtin_va_arg(ap, int));
            break;
        case 's': {
            const char *s = __builtin_va_arg(ap, const char *);
            for (s = s ? s : "(null)"; *s; s++)
                pr_putc(*s);
            break;
        }
        default:
            pr_putc('%');
            pr_putc(*fmt);
            break;
        }
    }
    __builtin_va_end(ap);
    pr_flush();
}

/* A broken promise the kernel cannot recover from: report and power off
 * with the failure reason, so the host sees a nonzero exit. */
void panic(const char *msg)
{
    printf("hello: panic: %s\n", msg);
    sbi_shutdown(1);
}
