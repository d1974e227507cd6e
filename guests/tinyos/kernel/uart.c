/* uart.c: the 16550A console UART (National PC16550D datasheet, Table II).
 *
 * Found through the device tree (main.c), mapped in the device window.  The
 * registers are bytes and are only ever accessed as bytes (reg-io-width 1).
 * Output polls LSR.THRE; input comes by interrupt (IER.ERBFI) and goes to the
 * console line discipline (console.c).  Flow control: the RX interrupt is on
 * only once someone reads the console and while its buffer has room; otherwise
 * input waits in the UART (and, on pyhv, on the host), so typed-ahead or piped
 * input is never dropped, nor echoed into the boot log.
 */
#include "defs.h"

#define RBR 0  /* receive buffer (read) */
#define THR 0  /* transmit holding (write) */
#define IER 1  /* interrupt enable */
#define FCR 2  /* FIFO control (write) */
#define LCR 3  /* line control */
#define MCR 4  /* modem control */
#define LSR 5  /* line status */

#define IER_ERBFI   0x01  /* received data available interrupt */
#define FCR_ENABLE  0x01  /* no reset bits: input typed ahead (already in the FIFO) is kept */
#define LCR_8N1     0x03  /* 8 data bits, no parity, 1 stop bit, DLAB = 0 */
#define MCR_DTR_RTS_OUT2 0x0b  /* OUT2 gates the interrupt line on PC designs */
#define LSR_DR      0x01  /* a byte is waiting in RBR */
#define LSR_THRE    0x20  /* THR can take a byte */

static uint32 uart_base;  /* virtual address of the registers */
static uint32 uart_irqno;

static uint8 reg_r(uint32 r)
{
    return *(volatile uint8 *)(uart_base + r);
}

static void reg_w(uint32 r, uint8 v)
{
    *(volatile uint8 *)(uart_base + r) = v;
}

void uart_init(uint32 pa, uint32 irq)
{
    uart_base = kdevmap(pa);
    uart_irqno = irq;
    reg_w(LCR, LCR_8N1);
    reg_w(IER, 0);
    reg_w(FCR, FCR_ENABLE);
    reg_w(MCR, MCR_DTR_RTS_OUT2);  /* IER stays 0 until the console is first read */
    plic_enable(irq);
    printf_use_uart();
}

uint32 uart_irq(void)
{
    return uart_irqno;
}

void uart_putc(int c)
{
    while (!(reg_r(LSR) & LSR_THRE))
        ;
    reg_w(THR, (uint8)c);
}

/* The UART interrupt: hand the waiting bytes to the console while it has room. */
void uart_intr(void)
{
    while (reg_r(LSR) & LSR_DR) {
        if (!console_has_room()) {
            reg_w(IER, 0);  /* uart_rx_resume turns it back on */
            return;
        }
        console_intr(reg_r(RBR));
    }
}

/* The console has room again: take input by interrupt. */
void uart_rx_resume(void)
{
    reg_w(IER, IER_ERBFI);
}
