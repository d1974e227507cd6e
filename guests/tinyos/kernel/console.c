/* console.c: the console device (devsw[CONSOLE_MAJOR]): a line discipline over
 * the UART, in one of two modes (uabi.h TTY_*, set with ttymode()).
 *
 * TTY_COOKED: input is echoed and edited a line at a time: backspace (^H or DEL)
 * erases a character, ^U the line, ^D ends the input (a read returns what is
 * there, or 0 at the start of a line: end of file).  A carriage return (what a
 * terminal's Enter sends) counts as a newline.  A reader sleeps until a whole
 * line is there.  TTY_RAW: every byte is readable as it arrives, unechoed and
 * unedited (the shell's line editor).  In both, ^P prints the process list and
 * ^C interrupts the foreground process group (tcsetpgrp) and discards the
 * unread input; with no foreground group it ends the line being typed.
 * Writers go straight to the UART.
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
    int mode;  /* TTY_COOKED or TTY_RAW */
    int fg;    /* foreground process group, 0 for none */
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
        if (c == C('D') && cons.mode == TTY_COOKED) {
            if (n < target)
                cons.r--;  /* keep ^D for the next read, which then returns 0 */
            break;
        }
        if (either_copyout(user_dst, dst, &c, 1) < 0)
            break;
        dst++;
        n--;
        if (c == '\n' || (cons.mode == TTY_RAW && cons.r == cons.w))
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

/* A complete line (or, raw, every byte) is there for readers. */
static void cons_commit(void)
{
    cons.w = cons.e;
    wakeup(&cons.r);
}

/* A byte typed on the console (uart.c, interrupt context). */
void console_intr(int c)
{
    acquire(&cons.lock);
    if (cons.mode == TTY_RAW && c != C('P') && !(c == C('C') && cons.fg)) {
        if (cons.e - cons.r < INPUT_BUF) {
            cons.buf[cons.e++ % INPUT_BUF] = c;
            cons_commit();
        }
        release(&cons.lock);
        return;
    }
    switch (c) {
    case C('P'):
        procdump();
        break;
    case C('C'):
        console_putc('^');
        console_putc('C');
        console_putc('\n');
        if (cons.fg) {      /* a terminal flushes its input on an interrupt */
            cons.e = cons.w = cons.r;
            proc_interrupt(cons.fg);
        } else if (cons.e - cons.r < INPUT_BUF) {  /* the typed line is dropped: an empty one */
            cons.e = cons.w;
            cons.buf[cons.e++ % INPUT_BUF] = '\n';
            cons_commit();
        }
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
            if (c == '\n' || c == C('D') || cons.e - cons.r == INPUT_BUF)
                cons_commit();
        }
        break;
    }
    release(&cons.lock);
}

/* ttymode(): switch modes; the old one.  A half-typed cooked line becomes
 * readable in raw mode, as it is. */
int console_setmode(int mode)
{
    acquire(&cons.lock);
    int old = cons.mode;
    cons.mode = mode;
    if (mode == TTY_RAW)
        cons_commit();
    release(&cons.lock);
    return old;
}

/* tcsetpgrp(): the group ^C interrupts (0: none). */
void console_setfg(int pgid)
{
    acquire(&cons.lock);
    cons.fg = pgid;
    release(&cons.lock);
}

void console_init(void)
{
    initlock(&cons.lock, "cons");
    devsw[CONSOLE_MAJOR].read = console_read;
    devsw[CONSOLE_MAJOR].write = console_write;
}
