/*
 * node_module.c - publishes the project's aos module (build/aos.wasm) to
 * the weave as an ao Module item (PROTOCOL.md §1: Data-Protocol=ao,
 * Type=Module, Module-Format, Input/Output-Encoding=JSON-1, Variant,
 * Content-Type=application/wasm, Memory-Limit, Compute-Limit, Name=aos),
 * once per module build: a record file keeps the SHA-256 of the bytes and
 * the item id, so restarts reuse the same module id.
 */
#include "node/node_internal.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "item/item.h"

/* The id recorded for these bytes, if the record matches and the weave
 * still holds the item. */
static bool recorded_id(weave *w, const char *record_path, const char *sha_hex,
                        char id_out[WEAVE_ID_MAX])
{
    ao_buf b;
    ao_buf_init(&b);
    bool ok = false;
    if (ao_file_read(record_path, &b, NULL) == AO_OK) {
        cJSON *j = cJSON_ParseWithLength((const char *)b.data, b.len);
        const cJSON *sha = cJSON_GetObjectItemCaseSensitive(j, "sha256");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
        if (cJSON_IsString(sha) && cJSON_IsString(id) && !strcmp(sha->valuestring, sha_hex) &&
            strlen(id->valuestring) == ITEM_ID_B64_LEN &&
            weave_has(w, id->valuestring, NULL) == AO_OK) {
            memcpy(id_out, id->valuestring, ITEM_ID_B64_LEN + 1);
            ok = true;
        }
        cJSON_Delete(j);
    }
    ao_buf_free(&b);
    return ok;
}

static int write_record(const char *record_path, const char *sha_hex, const char *id,
                        ao_error *err)
{
    char text[256];
    int n = snprintf(text, sizeof text, "{\"sha256\":\"%s\",\"id\":\"%s\"}\n", sha_hex, id);
    return ao_file_write_atomic(record_path, text, (size_t)n, 0644, err);
}

#define TAG(n, v) { (const uint8_t *)(n), sizeof(n) - 1, (const uint8_t *)(v), sizeof(v) - 1 }

int node_module_publish(weave *w, const crypto_wallet *signer, const char *wasm_path,
                        const char *record_path, char id_out[WEAVE_ID_MAX], ao_error *err)
{
    ao_buf wasm;
    ao_buf_init(&wasm);
    int r = ao_file_read(wasm_path, &wasm, err);
    if (r) {
        ao_err_wrap(err, "aos module");
        return r;
    }
    uint8_t sha[AO_SHA256_LEN];
    crypto_sha256(wasm.data, wasm.len, sha);
    char sha_hex[2 * AO_SHA256_LEN + 1];
    ao_hex_encode_to(sha, sizeof sha, sha_hex);
    if (recorded_id(w, record_path, sha_hex, id_out)) {
        ao_buf_free(&wasm);
        ao_log(AO_LOG_INFO, "node", "aos module %s already published (%s)", id_out, wasm_path);
        return AO_OK;
    }
    static const item_tag tags[] = {
        TAG("Data-Protocol", "ao"),
        TAG("Type", "Module"),
        TAG("Module-Format", NODE_MODULE_FORMAT),
        TAG("Input-Encoding", "JSON-1"),
        TAG("Output-Encoding", "JSON-1"),
        TAG("Variant", "ao.TN.1"),
        TAG("Content-Type", "application/wasm"),
        TAG("Memory-Limit", NODE_MODULE_MEMORY_LIMIT),
        TAG("Compute-Limit", NODE_MODULE_COMPUTE_LIMIT),
        TAG("Name", "aos"),
    };
    item_fields f = { NULL, NULL, tags, sizeof tags / sizeof tags[0], wasm.data, wasm.len };
    ao_buf raw;
    ao_buf_init(&raw);
    weave_put_result res;
    r = item_sign(signer, &f, &raw, NULL, err);
    if (!r)
        r = weave_put(w, raw.data, raw.len, WEAVE_PUT_NOVERIFY, &res, err);
    if (!r)
        r = write_record(record_path, sha_hex, res.id, err);
    if (!r) {
        memcpy(id_out, res.id, WEAVE_ID_MAX);
        ao_log(AO_LOG_INFO, "node", "aos module %s published (%zu bytes, %s)", res.id, wasm.len,
               NODE_MODULE_FORMAT);
    } else {
        ao_err_wrap(err, "publishing the aos module");
    }
    ao_buf_free(&raw);
    ao_buf_free(&wasm);
    return r;
}
