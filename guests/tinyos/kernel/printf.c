/* printf.c: the kernel's formatted console output, and panic.
 *
 * Output goes to the UART (uart.c) once it is up, before that through the SBI
 * debug console.  Formats: %d %u %x %p %s %c %%, with an optional 0 flag and
 * width (%08x).  Interrupts are off while one printf runs, so lines from
 * interrupt handlers never land inside another line.
 */
#include "defs.h"
#include "riscv.h"

static int pr_uart;       /* uart.c is up: write to it directly */
static char pr_buf[128];  /* SBI path: one DBCN call per buffer */
static uint32 pr_len;
static int pr_count;

void printf_use_uart(void)
{
    pr_uart = 1;
}

static void pr_flush(void)
{
    if (pr_len)
        sbi_console_write(pr_buf, pr_len);
    pr_len = 0;
}

static void pr_putc(char c)
{
    pr_count++;
    if (pr_uart) {
        uart_putc(c);
        return;
    }
    if (pr_len == sizeof pr_buf)
        pr_flush();
    pr_buf[pr_len++] = c;
}

static void pr_num(uint32 x, uint32 base, int negative, int width, char pad)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[12];
    int i = 0;
    do {
        tmp[i++] = digits[x % base];
        x /= base;
    } while (x);
    if (negative)
        tmp[i++] = '-';
    for (int w = i; w < width; w++)
        pr_putc(pad);
    while (i > 0)
        pr_putc(tmp[--i]);
}

int printf(const char *fmt, ...)
{
    __builtin_va_list ap;
    push_off();
    pr_count = 0;
    __builtin_va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%' || !fmt[1]) {
            pr_putc(*fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0;
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        switch (*fmt) {
        case 'd': {
            int32 v = __builtin_va_arg(ap, int32);
            pr_num(v < 0 ? -(uint32)v : (uint32)v, 10, v < 0, width, pad);
            break;
        }
        case 'u':
            pr_num(__builtin_va_arg(ap, uint32), 10, 0, width, pad);
            break;
        case 'x':
            pr_num(__builtin_va_arg(ap, uint32), 16, 0, width, pad);
            break;
        case 'p':
            pr_putc('0');
            pr_putc('x');
            pr_num((uint32)__builtin_va_arg(ap, void *), 16, 0, 8, '0');
            break;
        case 'c':
            pr_putc((char)__builtin_va_arg(ap, int));
            break;
        case 's': {
            const char *s = __builtin_va_arg(ap, const char *);
            int n = 0;
            for (s = s ? s : "(null)"; s[n]; n++)
                ;
            for (int w = n; w < width; w++)
                pr_putc(' ');
            while (*s)
                pr_putc(*s++);
            break;
        }
        case 0:
            fmt--;
            break;
        default:
            pr_putc('%');
            pr_putc(*fmt);
            break;
        }
    }
    __builtin_va_end(ap);
    pr_flush();
    int n = pr_count;
    pop_off();
    return n;
}

/* A broken promise the kernel cannot recover from: say so and power off with the
 * failure reason, so the host sees a nonzero exit status. */
void panic(const char *msg)
{
    intr_off();
    printf("tinyos: panic: %s\n", msg);
    sbi_shutdown(1);
}
