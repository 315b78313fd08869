/*
 * fuzz_wasm_restore.c - fuzz target for wasm_instance_restore on untrusted
 * snapshot bytes. The first input byte picks the mode: even = the rest is
 * a raw (uncompressed) snapshot body, compressed here first so the
 * parser itself is exercised; odd = the rest is handed over as is. The
 * instance is of a small fixed module with a memory (0..2 pages), a mutable
 * global, a funcref table and element/data segments. A restore must either
 * fail cleanly or leave an instance that snapshots again without error.
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
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    uint8_t *z = NULL;
    if ((data[0] & 1) == 0) {
        size_t bound = ZSTD_compressBound(n);
        z = malloc(bound ? bound : 1);
        if (!z)
            abort();
        size_t zn = ZSTD_compress(z, bound, p, n, 1);
        if (ZSTD_isError(zn))
            abort();
        p = z;
        n = zn;
    }
    ao_error err;
    if (wasm_instance_restore(inst, p, n, &err) == AO_OK) {
        ao_buf out;
        ao_buf_init(&out);
        if (wasm_instance_snapshot(inst, &out, &err) != AO_OK)
            abort();
        ao_buf_free(&out);
    }
    free(z);
    wasm_store_free(s);
    wasm_module_free(m);
    return 0;
}
