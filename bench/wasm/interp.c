/* interp.c - a small stack-machine bytecode interpreter with a switch
 * dispatch loop (the shape of a Lua-like VM's inner loop). The bytecode
 * counts and sums the primes below a bound by trial division. run(n):
 * bound n; returns count ^ sum. */
#include "bench.h"

enum { PUSH, LOAD, STORE, ADD, SUB, MUL, MOD, LT, XOR, DUP, JMP, JZ, JNZ, HALT };

static int32_t code[256];
static int ncode;
static int labels[16];
static int fix_at[32], fix_label[32], nfix;

static void op(int32_t o) { code[ncode++] = o; }
static void op1(int32_t o, int32_t a) { code[ncode++] = o; code[ncode++] = a; }
static void jump(int32_t o, int label)
{
    code[ncode++] = o;
    fix_at[nfix] = ncode;
    fix_label[nfix++] = label;
    code[ncode++] = 0;
}
static void label(int l) { labels[l] = ncode; }

static void assemble(void)
{
    enum { OUTER, INNER, NEXT, INNER_END, SKIP, END };
    enum { I, J, COUNT, SUM, N, ISPRIME };
    ncode = 0;
    nfix = 0;
    op1(PUSH, 2); op1(STORE, I);
    label(OUTER);
    op1(LOAD, I); op1(LOAD, N); op(LT); jump(JZ, END);
    op1(PUSH, 1); op1(STORE, ISPRIME);
    op1(PUSH, 2); op1(STORE, J);
    label(INNER);
    op1(LOAD, J); op(DUP); op(MUL); op1(LOAD, I); op1(PUSH, 1); op(ADD); op(LT); jump(JZ, INNER_END);
    op1(LOAD, I); op1(LOAD, J); op(MOD); jump(JNZ, NEXT);
    op1(PUSH, 0); op1(STORE, ISPRIME); jump(JMP, INNER_END);
    label(NEXT);
    op1(LOAD, J); op1(PUSH, 1); op(ADD); op1(STORE, J); jump(JMP, INNER);
    label(INNER_END);
    op1(LOAD, ISPRIME); jump(JZ, SKIP);
    op1(LOAD, COUNT); op1(PUSH, 1); op(ADD); op1(STORE, COUNT);
    op1(LOAD, SUM); op1(LOAD, I); op(ADD); op1(STORE, SUM);
    label(SKIP);
    op1(LOAD, I); op1(PUSH, 1); op(ADD); op1(STORE, I); jump(JMP, OUTER);
    label(END);
    op1(LOAD, COUNT); op1(LOAD, SUM); op(XOR); op(HALT);
    for (int i = 0; i < nfix; i++) code[fix_at[i]] = labels[fix_label[i]];
}

static int32_t execute(const int32_t *pc0, int32_t *reg)
{
    int32_t stack[64];
    int sp = 0;
    const int32_t *pc = pc0;
    for (;;) {
        switch (*pc++) {
        case PUSH: stack[sp++] = *pc++; break;
        case LOAD: stack[sp++] = reg[*pc++]; break;
        case STORE: reg[*pc++] = stack[--sp]; break;
        case ADD: sp--; stack[sp - 1] = (int32_t)((uint32_t)stack[sp - 1] + (uint32_t)stack[sp]); break;
        case SUB: sp--; stack[sp - 1] = (int32_t)((uint32_t)stack[sp - 1] - (uint32_t)stack[sp]); break;
        case MUL: sp--; stack[sp - 1] = (int32_t)((uint32_t)stack[sp - 1] * (uint32_t)stack[sp]); break;
        case MOD: sp--; stack[sp - 1] = stack[sp] ? stack[sp - 1] % stack[sp] : 0; break;
        case LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
        case XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
        case DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case JMP: pc = pc0 + *pc; break;
        case JZ: if (stack[--sp] == 0) pc = pc0 + *pc; else pc++; break;
        case JNZ: if (stack[--sp] != 0) pc = pc0 + *pc; else pc++; break;
        case HALT: return stack[sp - 1];
        default: return -1;
        }
    }
}

BENCH_EXPORT uint32_t run(uint32_t n)
{
    int32_t reg[8] = { 0 };
    assemble();
    reg[4] = (int32_t)n;
    return (uint32_t)execute(code, reg);
}
