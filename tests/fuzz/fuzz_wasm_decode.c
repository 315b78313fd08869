/*
 * fuzz_wasm_decode.c - libFuzzer target for the WebAssembly front-end:
 * every input goes through wasm__decode and, when that succeeds,
 * wasm__validate. Neither may crash, read out of bounds, leak, or return
 * anything but AO_OK or one of the documented error codes with a message.
 * Validated modules must also satisfy the contract the back-end relies on
 * (checked cheaply below).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wasm/wasm_module.h"

static void check_error(int rc, const ao_error *err)
{
    if (rc != AO_EFORMAT && rc != AO_EINVAL && rc != AO_EUNSUPPORTED && rc != AO_ELIMIT &&
        rc != AO_ENOMEM)
        abort();
    if (err->code != rc || err->msg[0] == 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wasm_module *m = NULL;
    ao_error err;
    ao_err_clear(&err);
    int rc = wasm__decode(data, size, &m, &err);
    if (rc) {
        check_error(rc, &err);
        if (m)
            abort();
        return 0;
    }
    rc = wasm__validate(m, &err);
    if (rc) {
        check_error(rc, &err);
    } else {
        /* contract checks: bodies end with `end`, counts agree, indices valid */
        if (m->ncode != m->nfuncs - m->nfuncs_imported)
            abort();
        for (uint32_t i = 0; i < m->ncode; i++) {
            const wasm_code *c = &m->code[i];
            if (c->body_len == 0 || c->body[c->body_len - 1] != 0x0b || c->max_depth < 1)
                abort();
        }
        for (uint32_t i = 0; i < m->nfuncs; i++)
            if (m->func_types[i] >= m->ntypes)
                abort();
        for (size_t i = 0; i < wasm_module_export_count(m); i++) {
            wasm_export_desc ex;
            wasm_module_export(m, i, &ex);
            if (!ex.name)
                abort();
        }
    }
    wasm__destroy(m);
    return 0;
}
