/* console.c: the console device (devsw[CONSOLE_MAJOR]): a line discipline over
 * the UART.
 *
 * Input is echoed and edited a line at a time: backspace (^H or DEL) erases a
 * character, ^U the line, ^D ends the input (a read returns what is there, or
 * 0 at the start of a line: end of file), ^P prints the process list.  A carriage
 * return (what a terminal's Enter sends) counts as a newline.  A reader sleeps
 * until a whole line is there; writers go straight to the UART.
 */
#include "defs.h"

#define C(x)  ((x) - '@')  /* control-x */
#define INPUT_BUF 512

struct devsw devsw[NDEV];

static struct {
    struct spinlock lock;
    char buf[INPUT_BUF];
    uint32 r;  /* next byte read() takes */
    uint32 w;  /* end of the complete lines */
    uint32 e;  /* end of the line being edited */
} cons;

/* One byte to the terminal; "\b \b" rubs out a character. */
void console_putc(int c)
{
    if (c == '\b') {
        uart_putc('\b');
        uart_putc(' ');
        uart_putc('\b');
    } else {
        uart_putc(c);
    }
}

static int console_write(int user_src, uint32 src, int n)
{
    char buf[64];
    int done = 0;
    while (done < n) {
        int m = n - done < (int)sizeof buf ? n - done : (int)sizeof buf;
        if (either_copyin(buf, user_src, src + done, m) < 0)
            break;
        for (int i = 0; i < m; i++)
            uart_putc(buf[i]);
        done += m;
    }
    return done;
}

/* Read at most n bytes, up to the end of a line. */
static int console_read(int user_dst, uint32 dst, int n)
{
    int target = n;
    acquire(&cons.lock);
    while (n > 0) {
        while (cons.r == cons.w) {
            if (killed(myproc())) {
                release(&cons.lock);
                return -1;
            }
            uart_rx_resume();
            sleep(&cons.r, &cons.lock);
        }
        char c = cons.buf[cons.r++ % INPUT_BUF];
        if (c == C('D')) {
            if (n < target)
                cons.r--;  /* keep ^D for the next read, which then returns 0 */
            break;
        }
        if (either_copyout(user_dst, dst, &c, 1) < 0)
            break;
        dst++;
        n--;
        if (c == '\n')
            break;
    }
    if (target != n)
        uart_rx_resume();  /* there is room now */
    release(&cons.lock);
    return target - n;
}

int console_has_room(void)
{
    return cons.e - cons.r < INPUT_BUF;
}

/* A byte typed on the console (uart.c, interrupt context). */
void console_intr(int c)
{
    acquire(&cons.lock);
    switch (c) {
    case C('P'):
        procdump();
        break;
    case C('U'):
        while (cons.e != cons.w && cons.buf[(cons.e - 1) % INPUT_BUF] != '\n') {
            cons.e--;
            console_putc('\b');
        }
        break;
    case C('H'):
    case '\x7f':
        if (cons.e != cons.w) {
            cons.e--;
            console_putc('\b');
        }
        break;
    default:
        if (c != 0 && cons.e - cons.r < INPUT_BUF) {
            c = c == '\r' ? '\n' : c;
            if (c != C('D'))
                console_putc(c);
            cons.buf[cons.e++ % INPUT_BUF] = c;
            if (c == '\n' || c == C('D') || cons.e - cons.r == INPUT_BUF) {
                cons.w = cons.e;
                wakeup(&cons.r);
            }
        }
        break;
    }
    release(&cons.lock);
}

void console_init(void)
{
    initlock(&cons.lock, "cons");
    devsw[CONSOLE_MAJOR].read = console_read;
    devsw[CONSOLE_MAJOR].write = console_write;
}
