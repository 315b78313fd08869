/* coremark.c - a CoreMark-like integer workload (not CoreMark itself):
 * linked-list search/reverse/merge-sort, small integer matrix operations,
 * a number-scanning state machine, all folded into a CRC-16. run(n) does n
 * iterations and returns the CRC. */
#include "bench.h"

/* ---- CRC-16/CCITT (bitwise, as CoreMark's crcu16 style) ---- */
static uint16_t crc16(uint16_t crc, uint32_t v, int bytes)
{
    for (int b = 0; b < bytes; b++) {
        uint8_t d = (uint8_t)(v >> (8 * b));
        for (int i = 0; i < 8; i++) {
            int x = ((crc >> 15) ^ (d >> 7)) & 1;
            crc = (uint16_t)(crc << 1);
            d = (uint8_t)(d << 1);
            if (x) crc ^= 0x1021;
        }
    }
    return crc;
}

/* ---- linked list ---- */
#define NNODES 400
typedef struct node {
    struct node *next;
    int16_t key, val;
} node;
static node pool[NNODES];

static node *list_init(uint32_t seed)
{
    node *head = NULL;
    for (int i = NNODES - 1; i >= 0; i--) {
        seed = seed * 1664525u + 1013904223u;
        pool[i].key = (int16_t)i;
        pool[i].val = (int16_t)(seed >> 17);
        pool[i].next = head;
        head = &pool[i];
    }
    return head;
}

static node *list_reverse(node *l)
{
    node *prev = NULL;
    while (l) {
        node *n = l->next;
        l->next = prev;
        prev = l;
        l = n;
    }
    return prev;
}

static node *list_find(node *l, int16_t key)
{
    while (l && l->key != key) l = l->next;
    return l;
}

static int cmp_val(const node *a, const node *b) { return a->val - b->val; }
static int cmp_key(const node *a, const node *b) { return a->key - b->key; }

/* bottom-up merge sort of a singly linked list */
static node *list_sort(node *list, int (*cmp)(const node *, const node *))
{
    int insize = 1;
    for (;;) {
        node *p = list, *tail = NULL;
        list = NULL;
        int merges = 0;
        while (p) {
            merges++;
            node *q = p;
            int psize = 0;
            for (int i = 0; i < insize && q; i++) { psize++; q = q->next; }
            int qsize = insize;
            while (psize > 0 || (qsize > 0 && q)) {
                node *e;
                if (psize == 0) { e = q; q = q->next; qsize--; }
                else if (qsize == 0 || !q) { e = p; p = p->next; psize--; }
                else if (cmp(p, q) <= 0) { e = p; p = p->next; psize--; }
                else { e = q; q = q->next; qsize--; }
                if (tail) tail->next = e; else list = e;
                tail = e;
            }
            p = q;
        }
        tail->next = NULL;
        if (merges <= 1) return list;
        insize *= 2;
    }
}

static uint16_t bench_list(uint32_t seed, uint16_t crc)
{
    node *l = list_init(seed);
    for (int i = 0; i < 20; i++) {
        node *f = list_find(l, (int16_t)((seed + (uint32_t)i * 37) % (NNODES + 20)));
        crc = crc16(crc, f ? (uint16_t)f->val : 0xffffu, 2);
        l = list_reverse(l);
    }
    l = list_sort(l, cmp_val);
    crc = crc16(crc, (uint16_t)l->val, 2);
    l = list_sort(l, cmp_key);
    for (node *p = l; p; p = p->next)
        crc = crc16(crc, (uint16_t)(p->val ^ p->key), 2);
    return crc;
}

/* ---- matrix ---- */
#define MN 24
static int16_t ma[MN][MN], mb[MN][MN];
static int32_t mc[MN][MN];

static uint16_t bench_matrix(uint32_t seed, uint16_t crc)
{
    for (int i = 0; i < MN; i++)
        for (int j = 0; j < MN; j++) {
            seed = seed * 1103515245u + 12345u;
            ma[i][j] = (int16_t)((seed >> 16) & 0x3ff);
            mb[i][j] = (int16_t)(((seed >> 8) & 0x3ff) - 512);
        }
    int16_t k = (int16_t)(seed & 0xff);
    for (int i = 0; i < MN; i++)
        for (int j = 0; j < MN; j++) ma[i][j] = (int16_t)(ma[i][j] + k);
    for (int i = 0; i < MN; i++)
        for (int j = 0; j < MN; j++) {
            int32_t s = 0;
            for (int x = 0; x < MN; x++) s += (int32_t)ma[i][x] * mb[x][j];
            mc[i][j] = s;
        }
    int32_t acc = 0;
    for (int i = 0; i < MN; i++)
        for (int j = 0; j < MN; j++) {
            int32_t v = mc[i][j];
            acc += (v > 0) ? (v >> 3) : (v & 0xff);
            if (acc > 1000000) acc -= 999983;
        }
    return crc16(crc, (uint32_t)acc, 4);
}

/* ---- state machine: classify comma-separated tokens ---- */
static char text[512];

static uint16_t bench_state(uint32_t seed, uint16_t crc)
{
    static const char alpha[] = "0123456789+-.eE,x";
    for (int i = 0; i < (int)sizeof text - 1; i++) {
        seed = seed * 22695477u + 1u;
        text[i] = alpha[(seed >> 16) % (sizeof alpha - 1)];
    }
    text[sizeof text - 1] = 0;
    enum { START, INT, SIGN, FRAC, EXP, EXPSIGN, SCI, INVALID };
    uint32_t counts[8] = { 0 };
    int st = START;
    for (const char *p = text; *p; p++) {
        char c = *p;
        if (c == ',') { counts[st]++; st = START; continue; }
        switch (st) {
        case START:
            st = (c >= '0' && c <= '9') ? INT : (c == '+' || c == '-') ? SIGN : c == '.' ? FRAC : INVALID;
            break;
        case SIGN:
            st = (c >= '0' && c <= '9') ? INT : c == '.' ? FRAC : INVALID;
            break;
        case INT:
            st = (c >= '0' && c <= '9') ? INT : c == '.' ? FRAC : (c == 'e' || c == 'E') ? EXP : INVALID;
            break;
        case FRAC:
            st = (c >= '0' && c <= '9') ? FRAC : (c == 'e' || c == 'E') ? EXP : INVALID;
            break;
        case EXP:
            st = (c == '+' || c == '-') ? EXPSIGN : (c >= '0' && c <= '9') ? SCI : INVALID;
            break;
        case EXPSIGN: case SCI:
            st = (c >= '0' && c <= '9') ? SCI : INVALID;
            break;
        default:
            break;
        }
    }
    counts[st]++;
    for (int i = 0; i < 8; i++) crc = crc16(crc, counts[i], 2);
    return crc;
}

BENCH_EXPORT uint32_t run(uint32_t n)
{
    uint16_t crc = 0;
    for (uint32_t it = 0; it < n; it++) {
        uint32_t seed = it * 2654435761u + crc;
        crc = bench_list(seed, crc);
        crc = bench_matrix(seed ^ 0x5555u, crc);
        crc = bench_state(seed ^ 0xaaaau, crc);
    }
    return crc;
}
