/* uart.c: the console, a 16550A at PYHV_UART0_BASE, polled (no interrupts).
 *
 * Byte accesses only (the board decodes nothing wider).  At reset LCR = 0
 * selects 5-bit characters, so uart_init must run before the first byte.
 * The BIOS and the SBI console calls (sbi.c) share these two routines.
 */
#include "defs.h"
#include "memlayout.h"

#define UART(reg) (PYHV_UART0_BASE + (reg))

void uart_init(void)
{
    mmio_write8(UART(UART_IER), 0);             /* polled: no UART interrupts */
    mmio_write8(UART(UART_LCR), UART_LCR_8N1);
    mmio_write8(UART(UART_FCR), UART_FCR_ENABLE);
}

void uart_putc(int c)
{
    while (!(mmio_read8(UART(UART_LSR)) & UART_LSR_THRE))
        ;
    mmio_write8(UART(UART_THR), (uint8_t)c);
}

int uart_getc(void)
{
    if (!(mmio_read8(UART(UART_LSR)) & UART_LSR_DR))
        return -1;
    return mmio_read8(UART(UART_RBR));
}
