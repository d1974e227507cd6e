/* interp.c: a switch-dispatch bytecode interpreter (a stack machine with locals)
 * running a hash loop of 20,000 iterations, 18 bytecodes each:
 *     acc = 1; for (i = 20000; i; i--) { acc = 31 acc + i; acc ^= acc >> 7; }
 * checksum: acc (mod 2^32). */
#include "bench.h"

enum { PUSH, LOAD, STORE, ADD, SUB, MUL, XOR, SHR, DUP, JNZ, HALT };

#define ITERS 20000

static const int32_t program[] = {
    PUSH, ITERS, STORE, 0, PUSH, 1, STORE, 1,
    /* 8: loop */
    LOAD, 1, PUSH, 31, MUL, LOAD, 0, ADD, STORE, 1,
    LOAD, 1, PUSH, 7, SHR, LOAD, 1, XOR, STORE, 1,
    LOAD, 0, PUSH, 1, SUB, DUP, STORE, 0, JNZ, 8,
    LOAD, 1, HALT,
};

static uint32_t run(const int32_t *code)
{
    uint32_t stack[16], locals[4];
    int sp = 0, pc = 0;
    for (;;) {
        int32_t op = code[pc++];
        switch (op) {
        case PUSH: stack[sp++] = (uint32_t)code[pc++]; break;
        case LOAD: stack[sp++] = locals[code[pc++]]; break;
        case STORE: locals[code[pc++]] = stack[--sp]; break;
        case ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
        case SHR: sp--; stack[sp - 1] >>= stack[sp]; break;
        case DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case JNZ: { int32_t target = code[pc++]; if (stack[--sp]) pc = target; break; }
        case HALT: return stack[sp - 1];
        default: return 0;
        }
    }
}

uint32_t workload(void)
{
    return run(program);
}
