/* fuzz_host_module.c - src/host loading arbitrary bytes as a process
 * module: the first byte picks the Module-Format, the rest is the wasm.
 * Modules that load are instantiated under small limits and, when that
 * works, given one message. Nothing may crash, leak or hang. */
#include <stddef.h>
#include <stdint.h>

#include "host/host.h"

static const char *const FORMATS[] = {
    NULL, "wasm32-unknown-emscripten", "wasm32-unknown-emscripten2",
    "wasm32-unknown-emscripten3", "wasm32-unknown-emscripten4", "bogus",
    "wasm64-unknown-emscripten-draft_2024_02_15",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *fmt = FORMATS[data[0] % (sizeof FORMATS / sizeof FORMATS[0])];
    host_module *m = NULL;
    if (host_module_new(data + 1, size - 1, fmt, &m, NULL) != AO_OK)
        return 0;
    host_limits lim = {.memory_limit = 4u << 20, .compute_limit = 200000};
    host_process *p = NULL;
    if (host_process_new(m, &lim, &p, NULL) == AO_OK) {
        host_result r;
        if (host_process_handle(p, "{\"Id\":\"x\"}", "{}", &r, NULL) == AO_OK)
            host_result_free(&r);
        host_process_free(p);
    }
    host_module_free(m);
    return 0;
}
