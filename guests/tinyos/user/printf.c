/* printf.c: formatted output for tinyos programs.
 *
 * One formatter, two sinks: a file descriptor (bytes gathered in a 128-byte
 * buffer, one write() per buffer or per call) or a caller's string (snprintf).
 * Conversions: %d %u %x %s %c %p %%; flags '-' (left-align) and '0' (zero-pad);
 * a decimal width; 'l' is accepted and ignored (int and long are both 32 bits).
 */
#include "ulib.h"

struct sink {
    int fd;          /* >= 0: write here; -1: fill str */
    char *str;       /* snprintf's buffer (size cap, always NUL-terminated) */
    int cap;
    int len;         /* bytes produced so far (snprintf: as if unlimited) */
    char buf[128];   /* fd sink: pending bytes */
    int pending;
};

static void sink_flush(struct sink *k)
{
    if (k->fd >= 0 && k->pending > 0)
        write(k->fd, k->buf, k->pending);
    k->pending = 0;
}

static void sink_putc(struct sink *k, char c)
{
    if (k->fd >= 0) {
        if (k->pending == (int)sizeof k->buf)
            sink_flush(k);
        k->buf[k->pending++] = c;
    } else if (k->len + 1 < k->cap) {
        k->str[k->len] = c;
    }
    k->len++;
}

/* s (n bytes) padded to width: spaces or zeros on the left, or spaces on the right. */
static void put_field(struct sink *k, const char *s, int n, int width, int left, char pad)
{
    int fill = width > n ? width - n : 0;
    if (!left && pad == '0' && n > 0 && s[0] == '-') {   /* "-0042", not "00-42" */
        sink_putc(k, *s++);
        n--;
    }
    if (!left)
        while (fill-- > 0)
            sink_putc(k, pad);
    while (n-- > 0)
        sink_putc(k, *s++);
    if (left)
        while (fill-- > 0)
            sink_putc(k, ' ');
}

/* The digits of v in base 10 or 16 (with a '-' if neg), right-aligned in tmp. */
static int fmt_uint(char *end, unsigned int v, unsigned int base, int neg)
{
    static const char digits[] = "0123456789abcdef";
    char *p = end;
    do {
        *--p = digits[v % base];
        v /= base;
    } while (v);
    if (neg)
        *--p = '-';
    return end - p;
}

static void format(struct sink *k, const char *fmt, va_list ap)
{
    char tmp[16];
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            sink_putc(k, *fmt);
            continue;
        }
        int left = 0, width = 0, n;
        char pad = ' ';
        const char *s;
        fmt++;
        for (;; fmt++) {
            if (*fmt == '-')
                left = 1;
            else if (*fmt == '0')
                pad = '0';
            else
                break;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l')
            fmt++;
        switch (*fmt) {
        case 'd': {
            int v = va_arg(ap, int);
            n = fmt_uint(tmp + sizeof tmp, v < 0 ? -(unsigned int)v : (unsigned int)v, 10, v < 0);
            put_field(k, tmp + sizeof tmp - n, n, width, left, pad);
            break;
        }
        case 'u':
            n = fmt_uint(tmp + sizeof tmp, va_arg(ap, unsigned int), 10, 0);
            put_field(k, tmp + sizeof tmp - n, n, width, left, pad);
            break;
        case 'x':
            n = fmt_uint(tmp + sizeof tmp, va_arg(ap, unsigned int), 16, 0);
            put_field(k, tmp + sizeof tmp - n, n, width, left, pad);
            break;
        case 'p':   /* 0x and eight hex digits */
            n = fmt_uint(tmp + sizeof tmp, (unsigned int)va_arg(ap, void *), 16, 0);
            while (n < 8)
                tmp[sizeof tmp - ++n] = '0';
            tmp[sizeof tmp - ++n] = 'x';
            tmp[sizeof tmp - ++n] = '0';
            put_field(k, tmp + sizeof tmp - n, n, width, left, ' ');
            break;
        case 's':
            s = va_arg(ap, const char *);
            if (s == NULL)
                s = "(null)";
            put_field(k, s, strlen(s), width, left, ' ');
            break;
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            put_field(k, tmp, 1, width, left, ' ');
            break;
        case '%':
            sink_putc(k, '%');
            break;
        case 0:     /* a lone '%' at the end */
            return;
        default:    /* unknown: print it as written */
            sink_putc(k, '%');
            sink_putc(k, *fmt);
            break;
        }
    }
}

int vfprintf(int fd, const char *fmt, va_list ap)
{
    struct sink k = {.fd = fd};
    format(&k, fmt, ap);
    sink_flush(&k);
    return k.len;
}

int fprintf(int fd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(fd, fmt, ap);
    va_end(ap);
    return n;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(1, fmt, ap);
    va_end(ap);
    return n;
}

/* Like C's snprintf: at most size-1 bytes and a NUL; returns the full length. */
int snprintf(char *buf, int size, const char *fmt, ...)
{
    struct sink k = {.fd = -1, .str = buf, .cap = size};
    va_list ap;
    va_start(ap, fmt);
    format(&k, fmt, ap);
    va_end(ap);
    if (size > 0)
        buf[k.len < size ? k.len : size - 1] = 0;
    return k.len;
}

int puts(const char *s)
{
    return printf("%s\n", s);
}
