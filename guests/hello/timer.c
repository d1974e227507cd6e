/* timer.c: periodic timer interrupts through the SBI TIME extension.
 *
 * Each tick re-arms set_timer one interval ahead until the requested number
 * of ticks has been seen; then the timer is parked in the far future (which
 * also clears STIP) and sie.STIE is turned off.
 */
#include "abi.h"
#include "defs.h"
#include "riscv.h"

#define TIMER_INTERVAL (PYHV_TIMEBASE_HZ / 100)  /* 10 ms in 10 MHz time ticks */

static volatile uint32 timer_count;
static uint32 timer_limit;

void timer_start(uint32 n_ticks)
{
    timer_count = 0;
    timer_limit = n_ticks;
    csr_set(sie, SIE_STIE);
    sbi_set_timer(rdtime64() + TIMER_INTERVAL);
}

void timer_intr(void)
{
    timer_count++;
    printf("tick %u\n", timer_count);
    if (timer_count < timer_limit) {
        sbi_set_timer(rdtime64() + TIMER_INTERVAL);
    } else {
        sbi_set_timer(~0ull);
        csr_clear(sie, SIE_STIE);
    }
}

uint32 timer_ticks(void)
{
    return timer_count;
}
