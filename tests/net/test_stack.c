/*
 * test_stack.c - the three units as on three machines: every unit reaches
 * the data layer only through our gateway (net_weave_client_http) and the
 * other units only through their HTTP faces and clients; the SU is found
 * through its Scheduler-Location record. Through the MU's face an aos
 * process is spawned, and a message to it makes it Send to a second
 * process: the MU cranks over HTTP, the second process's schedule on the
 * SU gets the pushed message (From-Process, Pushed-For) and the CU answers
 * its result.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cu/cu.h"
#include "mu/mu.h"
#include "net/net.h"
#include "net/net_test_util.h"
#include "su/su.h"
#include "weave/weave_test_util.h"

static const char *tag_of(cJSON *tags, const char *name)
{
    cJSON *t;
    cJSON_ArrayForEach(t, tags) {
        const char *n = ntu_str(t, "name");
        if (n && !strcmp(n, name))
            return ntu_str(t, "value");
    }
    return NULL;
}

static void spawn(const char *mu_url, crypto_wallet *user, const char *module,
                  const char *su_addr, const char *mu_addr, const char *name,
                  char pid[WEAVE_ID_MAX])
{
    char mod[80], sched[96], auth[96], nm[64];
    snprintf(nm, sizeof nm, "Name=%s", name);
    snprintf(mod, sizeof mod, "Module=%s", module);
    snprintf(sched, sizeof sched, "Scheduler=%s", su_addr);
    snprintf(auth, sizeof auth, "Authority=%s", mu_addr);
    const char *kv[] = { "Data-Protocol=ao", "Type=Process", "Variant=ao.TN.1", mod, sched,
                         "App-Name=aos", nm, auth };
    ao_buf b;
    ao_buf_init(&b);
    assert_int_equal(wtu_item(user, kv, 8, NULL, " ", 1, &b, pid), 0);
    ntu_answer a;
    assert_int_equal(ntu_call("POST", mu_url, "/", b.data, b.len, NULL, NULL, &a), 202);
    assert_string_equal(ntu_str(a.json, "id"), pid);
    ntu_free(&a);
    ao_buf_free(&b);
}

static void message_to(const char *mu_url, crypto_wallet *user, const char *pid,
                       const char *action, const char *data, char id[WEAVE_ID_MAX])
{
    ao_buf t, b;
    ao_buf_init(&t);
    ao_buf_init(&b);
    ao_error err;
    assert_int_equal(ao_b64url_decode(pid, 43, &t, &err), AO_OK);
    char act[64];
    snprintf(act, sizeof act, "Action=%s", action);
    const char *kv[] = { "Data-Protocol=ao", "Type=Message", "Variant=ao.TN.1", act };
    assert_int_equal(wtu_item(user, kv, 4, t.data, data, strlen(data), &b, id), 0);
    ntu_answer a;
    assert_int_equal(ntu_call("POST", mu_url, "/", b.data, b.len, NULL, NULL, &a), 202);
    ntu_free(&a);
    ao_buf_free(&t);
    ao_buf_free(&b);
}

static void three_units_over_http(void **state)
{
    (void)state;
    ao_error err;
    char *dir = wtu_tmpdir();
    weave_options wo;
    weave_options_default(&wo);
    wo.block_interval_ms = 0;
    wo.no_fsync = true;
    weave *w;
    assert_int_equal(weave_open(dir, &wo, &w, &err), AO_OK);
    net_gateway *gw;
    assert_int_equal(net_gateway_start(w, NULL, &gw, &err), AO_OK);
    char gw_url[64];
    snprintf(gw_url, sizeof gw_url, "http://127.0.0.1:%u", (unsigned)net_gateway_port(gw));
    crypto_wallet *suw, *cuw, *muw, *user;
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &suw, &err), AO_OK);
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &cuw, &err), AO_OK);
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &muw, &err), AO_OK);
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &user, &err), AO_OK);
    /* each unit has its own HTTP data client */
    weave_client d_su, d_cu, d_mu;
    assert_int_equal(net_weave_client_http(gw_url, &d_su, &err), AO_OK);
    assert_int_equal(net_weave_client_http(gw_url, &d_cu, &err), AO_OK);
    assert_int_equal(net_weave_client_http(gw_url, &d_mu, &err), AO_OK);
    /* the module, uploaded through the gateway */
    ao_buf wasm, item;
    ao_buf_init(&wasm);
    ao_buf_init(&item);
    assert_int_equal(ao_file_read("build/aos.wasm", &wasm, &err), AO_OK);
    static const char *const mt[] = {
        "Data-Protocol=ao", "Type=Module", "Module-Format=wasm32-unknown-emscripten2",
        "Input-Encoding=JSON-1", "Output-Encoding=JSON-1", "Variant=ao.TN.1",
        "Content-Type=application/wasm", "Memory-Limit=512-mb", "Compute-Limit=9000000000000",
    };
    char module[WEAVE_ID_MAX];
    assert_int_equal(wtu_item(user, mt, 9, NULL, wasm.data, wasm.len, &item, module), 0);
    assert_int_equal(d_mu.put(d_mu.ctx, item.data, item.len, NULL, &err), AO_OK);
    ao_buf_free(&wasm);
    ao_buf_free(&item);
    /* SU */
    char sudir[512], cudir[512], mudir[512];
    snprintf(sudir, sizeof sudir, "%s/su", dir);
    snprintf(cudir, sizeof cudir, "%s/cu", dir);
    snprintf(mudir, sizeof mudir, "%s/mu", dir);
    su_options so = { 0 };
    so.dir = sudir;
    so.data = &d_su;
    so.wallet = suw;
    so.no_fsync = true;
    su *s;
    assert_int_equal(su_open(&so, &s, &err), AO_OK);
    net_server *su_srv;
    assert_int_equal(net_su_start(s, NULL, &su_srv, &err), AO_OK);
    char su_url[64];
    snprintf(su_url, sizeof su_url, "http://127.0.0.1:%u", (unsigned)net_server_port(su_srv));
    assert_int_equal(weave_scheduler_location_publish(w, suw, su_url, 3600000, NULL, &err),
                     AO_OK);
    /* CU */
    cu_su_client cs;
    assert_int_equal(net_cu_su_client_http(&d_cu, NULL, &cs, &err), AO_OK);
    cu_options co = { 0 };
    co.dir = cudir;
    co.wallet = cuw;
    co.su = cs;
    co.data = d_cu;
    co.threads = 2;
    co.no_fsync = true;
    cu *c;
    assert_int_equal(cu_open(&co, &c, &err), AO_OK);
    net_server *cu_srv;
    assert_int_equal(net_cu_start(c, NULL, &cu_srv, &err), AO_OK);
    char cu_url[64];
    snprintf(cu_url, sizeof cu_url, "http://127.0.0.1:%u", (unsigned)net_server_port(cu_srv));
    /* MU */
    mu_su_client ms;
    mu_cu_client mc;
    assert_int_equal(net_mu_su_client_http(&d_mu, NULL, &ms, &err), AO_OK);
    assert_int_equal(net_mu_cu_client_http(cu_url, &mc, &err), AO_OK);
    mu_options mo = { 0 };
    mo.dir = mudir;
    mo.wallet = muw;
    mo.su = ms;
    mo.cu = mc;
    mo.data = d_mu;
    mo.workers = 2;
    mo.no_fsync = true;
    mo.backoff_ms = 20;
    mu *m;
    assert_int_equal(mu_open(&mo, &m, &err), AO_OK);
    net_server *mu_srv;
    assert_int_equal(net_mu_start(m, NULL, &mu_srv, &err), AO_OK);
    char mu_url[64];
    snprintf(mu_url, sizeof mu_url, "http://127.0.0.1:%u", (unsigned)net_server_port(mu_srv));

    char a[WEAVE_ID_MAX], b[WEAVE_ID_MAX], msg[WEAVE_ID_MAX];
    spawn(mu_url, user, module, su_address(s), mu_address(m), "stack-a", a);
    spawn(mu_url, user, module, su_address(s), mu_address(m), "stack-b", b);
    assert_string_not_equal(a, b);
    char code[256];
    snprintf(code, sizeof code,
             "Send({ Target = \"%s\", Action = \"Ping\", Data = \"hi from a\" }) return 'sent'", b);
    message_to(mu_url, user, a, "Eval", code, msg);
    assert_int_equal(mu_wait_idle(m, 120000, &err), AO_OK);

    /* A's result, from the CU's face */
    char path[256];
    ntu_answer r;
    snprintf(path, sizeof path, "/result/%s?process-id=%s", msg, a);
    assert_int_equal(ntu_get(cu_url, path, &r), 200);
    assert_int_equal(cJSON_GetArraySize(ntu_at(r.json, "Messages")), 1);
    ntu_free(&r);
    /* B's schedule on the SU: its process, then the pushed Ping */
    snprintf(path, sizeof path, "/%s?process-id=%s", b, b);
    assert_int_equal(ntu_get(su_url, path, &r), 200);
    cJSON *edges = ntu_at(r.json, "edges");
    assert_int_equal(cJSON_GetArraySize(edges), 2);
    cJSON *pushed = ntu_at(r.json, "edges.1.node.message");
    cJSON *tags = cJSON_GetObjectItemCaseSensitive(pushed, "tags");
    assert_string_equal(tag_of(tags, "Action"), "Ping");
    assert_string_equal(tag_of(tags, "From-Process"), a);
    assert_string_equal(tag_of(tags, "Pushed-For"), msg);
    char pushed_id[WEAVE_ID_MAX];
    snprintf(pushed_id, sizeof pushed_id, "%s", ntu_str(pushed, "id"));
    ntu_free(&r);
    /* and B's result of it */
    snprintf(path, sizeof path, "/result/%s?process-id=%s", pushed_id, b);
    assert_int_equal(ntu_get(cu_url, path, &r), 200);
    assert_non_null(ntu_at(r.json, "Output"));
    ntu_free(&r);
    /* nothing went to the dead letters */
    assert_int_equal(ntu_get(mu_url, "/dead-letters", &r), 200);
    assert_int_equal(cJSON_GetArraySize(ntu_at(r.json, "deadLetters")), 0);
    ntu_free(&r);

    net_server_stop(mu_srv);
    mu_close(m);
    net_mu_su_client_free(&ms);
    net_mu_cu_client_free(&mc);
    net_server_stop(cu_srv);
    cu_close(c);
    net_cu_su_client_free(&cs);
    net_server_stop(su_srv);
    su_close(s);
    net_weave_client_free(&d_su);
    net_weave_client_free(&d_cu);
    net_weave_client_free(&d_mu);
    net_gateway_stop(gw);
    weave_close(w);
    crypto_wallet_free(suw);
    crypto_wallet_free(cuw);
    crypto_wallet_free(muw);
    crypto_wallet_free(user);
    wtu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(three_units_over_http),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
