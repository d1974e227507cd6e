/* mmio.c: MMIO windows whose device model is Python, with one hot status register
 * served in C.  A guest polling a UART's LSR before every byte would otherwise pay
 * a Python call (~1.6 us) per poll (engine facts, costs); here the model publishes
 * the register's current value and C answers reads of it while that value has no
 * read side effect (the model names the bits that do, e.g. the 16550's LSR error
 * bits, cleared by reading).  Everything else goes to the model, inside the
 * callback, so no access ever stops the engine.
 */
#include "core.h"

static uint64_t py_read(uc_engine *u, uint64_t off, unsigned size, void *data)
{
    struct pyhv_mmio_py *m = data;
    if (m->fast_valid && off == m->fast_offset && size == 1 && !(m->fast_value & m->fast_slow_bits)) {
        m->fast_reads++;
        return m->fast_value;
    }
    m->slow_reads++;
    return pyhv_py_mmio_read(m->handle, off, size);
}

static void py_write(uc_engine *u, uint64_t off, unsigned size, uint64_t value, void *data)
{
    struct pyhv_mmio_py *m = data;
    m->writes++;
    pyhv_py_mmio_write(m->handle, off, size, value);
}

int pyhv_mmio_map_py(struct pyhv_vcpu *v, uint32_t base, uint32_t size, struct pyhv_mmio_py *m)
{
    return uc.mmio_map(v->uc, base, size, py_read, m, py_write, m) == UC_ERR_OK ? 0 : -1;
}
