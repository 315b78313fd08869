/* fuzz_su_query.c - libFuzzer target for the SU's reads (src/su): the input
 * is split at '&' into up to eight fields: the id of GET /{id} (an empty
 * field = the known process), then process-id, from, to, limit,
 * from-nonce, to-nonce, show-anchor (non-empty = on); an empty field is an
 * absent value. It runs against a small SU (one process, a few messages,
 * made once per process) and also asks /latest, /processes and /timestamp.
 * Every answer must be AO_OK with valid JSON, or an error with an empty
 * body and a reason. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "su/su.h"
#include "item/item.h"

static weave *fz_weave;
static su *fz_su;
static weave_client fz_client;
static char fz_dir[64];
static char fz_pid[44];
static char fz_msg[44];

static void fz_cleanup(void)
{
    su_close(fz_su);
    weave_close(fz_weave);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fz_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", fz_dir);
}

static void fz_post(crypto_wallet *w, const item_tag *tags, size_t n, const uint8_t *target,
                    const char *data, char id[44])
{
    item_fields f = { target, NULL, tags, n, (const uint8_t *)data, strlen(data) };
    ao_buf raw;
    ao_buf_init(&raw);
    su_ack a;
    if (item_sign(w, &f, &raw, NULL, NULL) || su_post_item(fz_su, raw.data, raw.len, &a, NULL, NULL))
        abort();
    memcpy(id, a.id, 44);
    ao_buf_free(&raw);
}

#define T(n, v) { (const uint8_t *)(n), strlen(n), (const uint8_t *)(v), strlen(v) }

static void fz_setup(void)
{
    ao_log_configure(AO_LOG_OFF, false);   /* the units' warnings: noise here */
    strcpy(fz_dir, "/tmp/ao-fuzz-su-XXXXXX");
    if (!mkdtemp(fz_dir))
        abort();
    char wdir[96], sdir[96];
    snprintf(wdir, sizeof wdir, "%s/weave", fz_dir);
    snprintf(sdir, sizeof sdir, "%s/su", fz_dir);
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 0;
    o.no_fsync = true;
    if (weave_open(wdir, &o, &fz_weave, NULL))
        abort();
    weave_client_local(fz_weave, &fz_client);
    crypto_wallet *w;
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &w, NULL))
        abort();
    su_options so;
    memset(&so, 0, sizeof so);
    so.dir = sdir;
    so.data = &fz_client;
    so.wallet = w;
    so.no_fsync = true;
    if (su_open(&so, &fz_su, NULL))
        abort();
    atexit(fz_cleanup);
    item_tag ptags[] = { T("Data-Protocol", "ao"), T("Type", "Process"), T("Module", "m"),
                         T("Scheduler", su_address(fz_su)) };
    fz_post(w, ptags, 4, NULL, "process", fz_pid);
    ao_buf b;
    ao_buf_init(&b);
    if (ao_b64url_decode(fz_pid, 43, &b, NULL))
        abort();
    for (int i = 0; i < 5; i++) {
        char d[16];
        snprintf(d, sizeof d, "m%d\xff", i);
        item_tag mtags[] = { T("Data-Protocol", "ao"), T("Type", "Message") };
        fz_post(w, mtags, 2, b.data, d, fz_msg);
    }
    ao_buf_free(&b);
    crypto_wallet_free(w);
}

static void check(int r, ao_buf *body, ao_error *err)
{
    if (r == AO_OK) {
        cJSON *j = cJSON_ParseWithLength((const char *)body->data, body->len);
        if (!j)
            abort();
        cJSON_Delete(j);
    } else if (body->len != 0 || !err->msg[0]) {
        abort();
    }
    ao_buf_reset(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fz_su)
        fz_setup();
    char *copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = 0;
    char *field[8] = { 0 };
    char *p = copy;
    for (int i = 0; i < 8 && p; i++) {
        char *amp = strchr(p, '&');
        if (amp)
            *amp = 0;
        field[i] = *p ? p : NULL;
        p = amp ? amp + 1 : NULL;
    }
    const char *id = field[0] ? field[0] : fz_pid;
    if (id && strcmp(id, "M") == 0)
        id = fz_msg;
    su_query q = { field[1], field[2], field[3], field[4], field[5], field[6], field[7] != NULL };
    ao_buf body;
    ao_buf_init(&body);
    ao_error err;
    err.msg[0] = 0;
    check(su_get_json(fz_su, id, &q, &body, &err), &body, &err);
    check(su_latest_json(fz_su, id, &body, &err), &body, &err);
    check(su_process_json(fz_su, id, &body, &err), &body, &err);
    check(su_timestamp_json(fz_su, field[1], &body, &err), &body, &err);
    ao_buf_free(&body);
    free(copy);
    return 0;
}
