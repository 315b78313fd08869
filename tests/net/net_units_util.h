/*
 * net_units_util.h - header-only fixture for the CU and MU face tests: a
 * temporary weave holding the aos module (build/aos.wasm), a real SU with
 * its HTTP face and its Scheduler-Location record, and helpers to sign and
 * post processes and messages. Static functions only.
 */
#ifndef AO_TESTS_NET_UNITS_UTIL_H
#define AO_TESTS_NET_UNITS_UTIL_H

#include "net/net.h"
#include "net/net_test_util.h"
#include "su/su.h"
#include "weave/weave_test_util.h"

typedef struct nuu {
    char *dir;
    weave *w;
    weave_client data;
    crypto_wallet *su_wallet, *user;
    su *s;
    net_server *su_srv;
    char su_url[64];
    char su_addr[AO_ADDRESS_MAX];
    char module[WEAVE_ID_MAX];
} nuu;

static inline int nuu_open(nuu *u)
{
    memset(u, 0, sizeof *u);
    ao_error err;
    u->dir = wtu_tmpdir();
    if (!u->dir)
        return -1;
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 0;
    o.no_fsync = true;
    if (weave_open(u->dir, &o, &u->w, &err) ||
        crypto_wallet_generate(CRYPTO_KEY_ED25519, &u->su_wallet, &err) ||
        crypto_wallet_generate(CRYPTO_KEY_ED25519, &u->user, &err)) {
        fprintf(stderr, "nuu_open: %s\n", err.msg);
        return -1;
    }
    weave_client_local(u->w, &u->data);
    char sudir[512];
    snprintf(sudir, sizeof sudir, "%s/su", u->dir);
    su_options so = { 0 };
    so.dir = sudir;
    so.data = &u->data;
    so.wallet = u->su_wallet;
    so.no_fsync = true;
    if (su_open(&so, &u->s, &err) || net_su_start(u->s, NULL, &u->su_srv, &err)) {
        fprintf(stderr, "nuu_open: %s\n", err.msg);
        return -1;
    }
    snprintf(u->su_url, sizeof u->su_url, "http://127.0.0.1:%u",
             (unsigned)net_server_port(u->su_srv));
    snprintf(u->su_addr, sizeof u->su_addr, "%s", su_address(u->s));
    if (weave_scheduler_location_publish(u->w, u->su_wallet, u->su_url, 3600000, NULL, &err)) {
        fprintf(stderr, "nuu_open: %s\n", err.msg);
        return -1;
    }
    /* the aos module */
    ao_buf wasm, item;
    ao_buf_init(&wasm);
    ao_buf_init(&item);
    if (ao_file_read("build/aos.wasm", &wasm, &err)) {
        fprintf(stderr, "cannot read build/aos.wasm: %s (make build/aos.wasm)\n", err.msg);
        return -1;
    }
    static const char *const mt[] = {
        "Data-Protocol=ao", "Type=Module", "Module-Format=wasm32-unknown-emscripten2",
        "Input-Encoding=JSON-1", "Output-Encoding=JSON-1", "Variant=ao.TN.1",
        "Content-Type=application/wasm", "Memory-Limit=512-mb", "Compute-Limit=9000000000000",
    };
    int rc = wtu_item(u->user, mt, 9, NULL, wasm.data, wasm.len, &item, u->module);
    if (!rc)
        rc = weave_put(u->w, item.data, item.len, 0, NULL, &err);
    ao_buf_free(&wasm);
    ao_buf_free(&item);
    return rc;
}

static inline void nuu_close(nuu *u)
{
    net_server_stop(u->su_srv);
    su_close(u->s);
    weave_close(u->w);
    crypto_wallet_free(u->su_wallet);
    crypto_wallet_free(u->user);
    wtu_rmdir(u->dir);
}

/* Sign a Process (aos, scheduled on the fixture's SU). */
static inline int nuu_process_item(nuu *u, const char *extra_tag, ao_buf *out,
                                   char id[WEAVE_ID_MAX])
{
    char mod[80], sched[96];
    snprintf(mod, sizeof mod, "Module=%s", u->module);
    snprintf(sched, sizeof sched, "Scheduler=%s", u->su_addr);
    const char *kv[] = { "Data-Protocol=ao", "Type=Process", "Variant=ao.TN.1", mod, sched,
                         "App-Name=aos", "Name=net-test", extra_tag };
    return wtu_item(u->user, kv, extra_tag ? 8 : 7, NULL, " ", 1, out, id);
}

/* Sign a Message to pid with Action and data. */
static inline int nuu_message_item(nuu *u, const char *pid, const char *action,
                                   const char *data, ao_buf *out, char id[WEAVE_ID_MAX])
{
    ao_buf t;
    ao_buf_init(&t);
    ao_error err;
    int rc = ao_b64url_decode(pid, strlen(pid), &t, &err);
    if (rc || t.len != 32) {
        ao_buf_free(&t);
        return -1;
    }
    char act[64];
    snprintf(act, sizeof act, "Action=%s", action);
    const char *kv[] = { "Data-Protocol=ao", "Type=Message", "Variant=ao.TN.1", act,
                         "SDK=aoconnect" };
    rc = wtu_item(u->user, kv, 5, t.data, data, strlen(data), out, id);
    ao_buf_free(&t);
    return rc;
}

/* Sign and schedule directly on the SU (no MU). */
static inline int nuu_schedule(nuu *u, const ao_buf *raw)
{
    su_ack ack;
    ao_error err;
    int rc = su_post_item(u->s, raw->data, raw->len, &ack, NULL, &err);
    if (rc)
        fprintf(stderr, "su_post_item: %s\n", err.msg);
    return rc;
}

#endif
