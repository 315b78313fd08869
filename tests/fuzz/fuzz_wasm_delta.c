/*
 * fuzz_wasm_delta.c - fuzz target for delta snapshots on untrusted bytes.
 * Each run instantiates a small fixed module (memory 0..2 pages, a mutable
 * global, a funcref table, element/data segments), takes a full snapshot
 * (so the instance has a chain head and its memory is write-tracked) and
 * an empty delta, whose 40-byte header names that snapshot. The first input
 * byte picks the mode: even = the rest is a raw delta body after that
 * valid header, compressed here (so the body parser is reached); odd = the
 * rest is handed to wasm_instance_restore as is. A restore must fail
 * cleanly or leave an instance that takes host writes and snapshots
 * (delta and full) again without error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "base/base.h"
#include "wasm/wasm.h"

static const uint8_t MODULE[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00,                   /* type () -> () */
    0x03, 0x02, 0x01, 0x00,                               /* func 0 */
    0x04, 0x04, 0x01, 0x70, 0x00, 0x02,                   /* table 2 funcref */
    0x05, 0x04, 0x01, 0x01, 0x00, 0x02,                   /* memory 0..2 */
    0x06, 0x06, 0x01, 0x7f, 0x01, 0x41, 0x00, 0x0b,       /* global mut i32 0 */
    0x09, 0x07, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x01, 0x00, /* elem (i32.const 0) 0 */
    0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b,                   /* code */
    0x0b, 0x05, 0x01, 0x01, 0x02, 0x68, 0x69,             /* passive data "hi" */
};

#define HDR 40

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    wasm_module *m = NULL;
    if (wasm_module_new(MODULE, sizeof MODULE, &m, NULL) != AO_OK)
        abort();
    wasm_store *s = NULL;
    if (wasm_store_new(&s, NULL) != AO_OK)
        abort();
    wasm_instance *inst = NULL;
    if (wasm_instantiate(s, m, NULL, 0, &inst, NULL, NULL) != AO_OK)
        abort();
    wasm_memory *mem = wasm_instance_memory(inst, 0);
    if (wasm_memory_grow(mem, 1) != 0)
        abort();
    ao_buf full, d0;
    ao_buf_init(&full);
    ao_buf_init(&d0);
    if (wasm_instance_snapshot(inst, &full, NULL) != AO_OK ||
        wasm_instance_snapshot_delta(inst, &d0, NULL) != AO_OK)
        abort();
    uint8_t hdr[4096];
    size_t hn = ZSTD_decompress(hdr, sizeof hdr, d0.data, d0.len);
    if (ZSTD_isError(hn) || hn < HDR)
        abort();
    /* d0's header names the full snapshot as its parent: in the
     * valid-header mode the instance is rewound to that snapshot so that a
     * fuzzed body after this header passes the chain check */
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    uint8_t *z = NULL;
    ao_error err;
    if ((data[0] & 1) == 0) {
        if (wasm_instance_restore(inst, full.data, full.len, &err) != AO_OK)
            abort();
        uint8_t *raw = malloc(HDR + n);
        size_t bound = ZSTD_compressBound(HDR + n);
        z = malloc(bound);
        if (!raw || !z)
            abort();
        memcpy(raw, hdr, HDR);
        if (n)
            memcpy(raw + HDR, p, n);
        size_t zn = ZSTD_compress(z, bound, raw, HDR + n, 1);
        free(raw);
        if (ZSTD_isError(zn))
            abort();
        p = z;
        n = zn;
    }
    if (wasm_instance_restore(inst, p, n, &err) == AO_OK) {
        mem = wasm_instance_memory(inst, 0);
        if (wasm_memory_size(mem))
            memset(wasm_memory_data(mem), 0xa5, (size_t)wasm_memory_size(mem));
        ao_buf out;
        ao_buf_init(&out);
        if (wasm_instance_snapshot_delta(inst, &out, &err) != AO_OK)
            abort();
        out.len = 0;
        if (wasm_instance_snapshot(inst, &out, &err) != AO_OK)
            abort();
        ao_buf_free(&out);
    }
    free(z);
    ao_buf_free(&full);
    ao_buf_free(&d0);
    wasm_store_free(s);
    wasm_module_free(m);
    return 0;
}
