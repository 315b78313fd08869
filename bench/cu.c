/*
 * cu.c - benchmark of the Compute Unit: one aos token process (the token
 * blueprint, a mint to 1,000 holders, then 10,000 Transfers signed by the
 * holders), scheduled by the test SU of tests/cu/cu_fake_su.h, evaluated by
 * the CU with every result durable in cu.db (fsync'd):
 *   - messages/s of evaluation, results durable;
 *   - cold resume of an evicted process (checkpoint -> live instance), as
 *     the extra time of one message on an evicted process over a live one;
 *   - replay from genesis by a fresh CU (no checkpoints), messages/s;
 *   - the peer: the same module and the same msg/env JSON on Node's V8
 *     (tests/interop/aos_node_host.js, the emscripten glue), whole run by
 *     the wall clock; results compared (GasUsed aside); the ratio.
 * Env: CU_BENCH_TRANSFERS (10000), CU_BENCH_HOLDERS (1000).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cu/cu_internal.h"
#include "cu/cu_fake_su.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char g_dir[64];
static weave *g_w;
static weave_client g_data;
static fsu g_su;
static crypto_wallet *g_owner, *g_cuw;
static char g_module[44];
static int64_t g_ts = 1700000000000LL;

static cu *open_cu(const char *name, uint64_t budget)
{
    char d[128];
    snprintf(d, sizeof d, "%s/%s", g_dir, name);
    cu_options o;
    memset(&o, 0, sizeof o);
    o.dir = d;
    o.wallet = g_cuw;
    o.su = fsu_client(&g_su);
    o.data = g_data;
    o.threads = 2;
    o.memory_budget = budget;
    o.checkpoint_every = 100000;
    o.checkpoint_ms = 600000;
    cu *c = NULL;
    ao_error err = {0};
    if (cu_open(&o, &c, &err) != AO_OK) {
        fprintf(stderr, "cu_open: %s\n", err.msg);
        exit(1);
    }
    return c;
}

static void post(const crypto_wallet *w, const char *pid, const ktag *kt, const char *data, char id[44])
{
    ao_buf raw;
    ao_buf_init(&raw);
    if (fsu_sign(w, kt, pid, data, strlen(data), &raw) != AO_OK ||
        fsu_add_message(&g_su, pid, raw.data, raw.len, ++g_ts, 7, id) != 0) {
        fprintf(stderr, "cannot schedule a message\n");
        exit(1);
    }
    ao_buf_free(&raw);
}

static void spawn(char pid[44], const char *name)
{
    ktag kt[] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Process"},
                 {"Module", g_module}, {"Scheduler", "SU"}, {"Name", name}, {NULL, NULL}};
    ao_buf raw;
    ao_buf_init(&raw);
    if (fsu_sign(g_owner, kt, NULL, "", 0, &raw) != AO_OK ||
        fsu_add_process(&g_su, raw.data, raw.len, ++g_ts, 7, pid) != 0) {
        fprintf(stderr, "cannot spawn\n");
        exit(1);
    }
    ao_buf_free(&raw);
}

static double result_time(cu *c, const char *pid, const char *id)
{
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = {0};
    double t0 = now_s();
    int rc = cu_result(c, id, pid, true, &b, &err);
    double t = now_s() - t0;
    if (rc != AO_OK) {
        fprintf(stderr, "cu_result %s of %s: %s\n", id, pid, err.msg);
        exit(1);
    }
    ao_buf_free(&b);
    return t;
}

/* The msg/env log of pid's schedule, one [msg, env] per line, built by the
 * CU's own msg builder. */
static int write_log(const char *pid, const char *path)
{
    ao_buf page, proc;
    ao_buf_init(&page);
    ao_buf_init(&proc);
    if (fsu_c_process(&g_su, pid, &proc, NULL) != AO_OK) return -1;
    ao_buf_append_byte(&proc, 0);
    cJSON *rj = cJSON_Parse((const char *)proc.data);
    /* env as the CU makes it */
    weave_item_meta mm;
    memset(&mm, 0, sizeof mm);
    if (weave_get_meta(g_w, g_module, WEAVE_META_KEYS, &mm, NULL) != AO_OK) return -1;
    char powner[AO_ADDRESS_MAX], mowner[AO_ADDRESS_MAX];
    cJSON *ow = cJSON_GetObjectItem(rj, "owner");
    cu_owner_address(cJSON_GetObjectItem(ow, "key")->valuestring, NULL, powner, NULL);
    cu_owner_address(mm.owner_key, NULL, mowner, NULL);
    cJSON *env = cJSON_CreateObject();
    cJSON *pe = cJSON_AddObjectToObject(env, "Process");
    cJSON_AddStringToObject(pe, "Id", pid);
    cJSON_AddStringToObject(pe, "Owner", powner);
    cJSON_AddItemToObject(pe, "Tags", cu_tags_copy(cJSON_GetObjectItem(rj, "tags"), false));
    cJSON *me = cJSON_AddObjectToObject(env, "Module");
    cJSON_AddStringToObject(me, "Id", g_module);
    cJSON_AddStringToObject(me, "Owner", mowner);
    cJSON_AddItemToObject(me, "Tags", cu_tags_from_meta(&mm));
    char *envs = cJSON_PrintUnformatted(env);
    FILE *f = fopen(path, "w");
    char from[32] = "";
    bool more = true;
    while (more) {
        ao_buf_reset(&page);
        if (fsu_c_schedule(&g_su, pid, from[0] ? from : NULL, NULL, 1000, &page, NULL) != AO_OK) return -1;
        ao_buf_append_byte(&page, 0);
        cJSON *pj = cJSON_Parse((const char *)page.data);
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(pj, "edges")) {
            char *msg = NULL;
            cu_order ord;
            if (cu_msg_from_node(cJSON_GetObjectItem(e, "node"), pid, &g_data, &msg, &ord, NULL) != AO_OK)
                return -1;
            fprintf(f, "[%s,%s]\n", msg, envs);
            free(msg);
            snprintf(from, sizeof from, "%s", cJSON_GetObjectItem(e, "cursor")->valuestring);
        }
        more = cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(pj, "page_info"), "has_next_page"));
        cJSON_Delete(pj);
    }
    fclose(f);
    free(envs);
    cJSON_Delete(env);
    cJSON_Delete(rj);
    weave_meta_free(&mm);
    ao_buf_free(&page);
    ao_buf_free(&proc);
    return 0;
}

/* The CU's results of pid in order, one JSON per line without GasUsed. */
static int write_results(cu *c, const char *pid, const char *path)
{
    FILE *f = fopen(path, "w");
    char cursor[512] = "";
    bool more = true;
    while (more) {
        ao_buf b;
        ao_buf_init(&b);
        if (cu_results(c, pid, cursor[0] ? cursor : NULL, NULL, "ASC", "1000", &b, NULL) != AO_OK) return -1;
        ao_buf_append_byte(&b, 0);
        cJSON *j = cJSON_Parse((const char *)b.data);
        ao_buf_free(&b);
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "edges")) {
            cJSON *node = cJSON_GetObjectItem(e, "node");
            cJSON_DeleteItemFromObject(node, "GasUsed");
            char *s = cJSON_PrintUnformatted(node);
            fprintf(f, "%s\n", s);
            free(s);
            snprintf(cursor, sizeof cursor, "%s", cJSON_GetObjectItem(e, "cursor")->valuestring);
        }
        more = cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "pageInfo"), "hasNextPage"));
        cJSON_Delete(j);
    }
    fclose(f);
    return 0;
}

int main(void)
{
    int holders = getenv("CU_BENCH_HOLDERS") ? atoi(getenv("CU_BENCH_HOLDERS")) : 1000;
    int transfers = getenv("CU_BENCH_TRANSFERS") ? atoi(getenv("CU_BENCH_TRANSFERS")) : 10000;
    ao_log_configure(AO_LOG_WARN, false);
    snprintf(g_dir, sizeof g_dir, "/tmp/ao-cu-bench-XXXXXX");
    if (!mkdtemp(g_dir)) return 1;
    char d[128];
    snprintf(d, sizeof d, "%s/weave", g_dir);
    weave_options wo;
    weave_options_default(&wo);
    wo.block_interval_ms = 0;
    wo.no_fsync = true;
    if (weave_open(d, &wo, &g_w, NULL) != AO_OK) return 1;
    weave_client_local(g_w, &g_data);
    crypto_wallet_generate(CRYPTO_KEY_ED25519, &g_owner, NULL);
    crypto_wallet_generate(CRYPTO_KEY_ED25519, &g_cuw, NULL);
    if (fsu_put_module(g_w, g_owner, "emscripten-3.1.6", "1-gb", NULL, g_module) != 0) {
        fprintf(stderr, "cannot put build/aos.wasm\n");
        return 1;
    }
    fsu_init(&g_su);

    /* the token process and its log */
    char pid[44], other[44], id[44], last[44];
    spawn(pid, "token");
    crypto_wallet **hw = calloc((size_t)holders, sizeof *hw);
    char (*ha)[AO_ADDRESS_MAX] = calloc((size_t)holders, sizeof *ha);
    ao_buf mint;
    ao_buf_init(&mint);
    ao_buf_append_str(&mint, "for _, a in ipairs({");
    for (int i = 0; i < holders; i++) {
        crypto_wallet_generate(CRYPTO_KEY_ED25519, &hw[i], NULL);
        size_t n;
        const uint8_t *o = crypto_wallet_owner(hw[i], &n);
        crypto_address(CRYPTO_KEY_ED25519, o, n, ha[i], NULL);
        ao_buf_printf(&mint, "%s'%s'", i ? "," : "", ha[i]);
    }
    ao_buf_append_str(&mint, "}) do Balances[a] = '1000000' end; return #Utils.keys(Balances)");
    ao_buf_append_byte(&mint, 0);
    ktag ev[] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Message"}, {"Action", "Eval"}, {NULL, NULL}};
    post(g_owner, pid, ev, "require('blueprints.token'); return Ticker", id);
    post(g_owner, pid, ev, (const char *)mint.data, id);
    ao_buf_free(&mint);
    for (int i = 0; i < transfers; i++) {
        char q[16];
        snprintf(q, sizeof q, "%d", 1 + i % 97);
        ktag kt[] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Message"},
                     {"Action", "Transfer"}, {"Recipient", ha[(i * 104729 + 1) % holders]}, {"Quantity", q},
                     {NULL, NULL}};
        post(hw[(i * 7919) % holders], pid, kt, "", last);
    }
    int msgs = transfers + 3;
    spawn(other, "other");

    /* 1. evaluation with results durable */
    cu *c = open_cu("cu", 0);
    double t_eval = result_time(c, pid, last);
    /* 2. cold resume: evict pid (budget 1 byte: running `other` evicts it) */
    cu_close(c);
    c = open_cu("cu", 1);
    double t_warm = 1e9, t_cold = 1e9;
    char pid_last[44];
    for (int rep = 0; rep < 5; rep++) {
        post(g_owner, other, ev, "1", id);
        result_time(c, other, id);                    /* other runs; pid is evicted */
        usleep(300000);                               /* (its checkpoint is written) */
        cu_checkpoint_all(c, NULL);                   /* other clean: freeing it is free */
        post(g_owner, pid, ev, "1", id);
        double cold = result_time(c, pid, id);        /* resume pid + one message */
        post(g_owner, pid, ev, "1", pid_last);
        double warm = result_time(c, pid, pid_last);  /* pid live: one message */
        if (cold < t_cold) t_cold = cold;
        if (warm < t_warm) t_warm = warm;
        msgs += 2;
    }
    cu_stats st;
    cu_get_stats(c, &st);
    cu_close(c);
    /* 3. replay from genesis in a fresh CU */
    c = open_cu("replay", 0);
    double t_replay = result_time(c, pid, pid_last);
    char logp[128], ours[128], node[128];
    snprintf(logp, sizeof logp, "%s/log", g_dir);
    snprintf(ours, sizeof ours, "%s/ours", g_dir);
    snprintf(node, sizeof node, "%s/node", g_dir);
    if (write_results(c, pid, ours) != 0 || write_log(pid, logp) != 0) {
        fprintf(stderr, "cannot write the log\n");
        return 1;
    }
    cu_close(c);

    /* 4. the peer: Node's V8 on the same msg/env log */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "node tests/interop/aos_node_host.js build/aos/link-lib/aos.js %s > %s", logp, node);
    double t0 = now_s();
    int nrc = system(cmd);
    double t_v8 = now_s() - t0;
    snprintf(cmd, sizeof cmd,
             "node -e 'const fs=require(\"fs\");const r=f=>fs.readFileSync(f,\"utf8\").split(\"\\n\").filter(x=>x)"
             ".map(l=>{const o=JSON.parse(l);delete o.GasUsed;return JSON.stringify(o)});"
             "const a=r(process.argv[1]),b=r(process.argv[2]);let d=a.length===b.length?0:1;"
             "for(let i=0;i<a.length;i++)if(a[i]!==b[i])d++;"
             "console.log(d?d+\" results differ (\"+a.length+\"/\"+b.length+\")\":\"all \"+a.length+\" results equal\")' %s %s",
             ours, node);
    printf("cu bench: aos token process, %d holders, %d Transfers, %d messages in all\n", holders, transfers, msgs);
    printf("V8 results vs the CU's: ");
    fflush(stdout);
    if (nrc != 0 || system(cmd) != 0) printf("(node failed)\n");
    int ev_msgs = transfers + 3;
    printf("%-52s %10s %12s\n", "run", "seconds", "messages/s");
    printf("%-52s %10.3f %12.0f\n", "CU: evaluate, results durable (fsync)", t_eval, ev_msgs / t_eval);
    printf("%-52s %10.3f %12.0f\n", "CU: replay from genesis (fresh CU, durable)", t_replay, msgs / t_replay);
    printf("%-52s %10.3f %12.0f\n", "V8: node host, same msgs (incl. startup)", t_v8, msgs / t_v8);
    printf("ratio CU/V8 (time per message, replay): %.2fx\n", (t_replay / msgs) / (t_v8 / msgs));
    printf("one message on a live process: %.2f ms; on an evicted one: %.2f ms (difference %.2f ms, "
           "%llu evictions)\n", t_warm * 1e3, t_cold * 1e3, (t_cold - t_warm) * 1e3,
           (unsigned long long)st.evictions);
    ao_metric *mr = ao_metric_get("ao_cu_resumes_total", "", false);
    ao_metric *mu = ao_metric_get("ao_cu_resume_microseconds_total", "", false);
    if (mr && mu && ao_metric_value(mr) > 0)
        printf("cold resume (checkpoint read, decompressed, instance made), mean of %lld: %.2f ms\n",
               (long long)ao_metric_value(mr), (double)ao_metric_value(mu) / (double)ao_metric_value(mr) / 1e3);
    for (int i = 0; i < holders; i++) crypto_wallet_free(hw[i]);
    free(hw);
    free(ha);
    fsu_free(&g_su);
    weave_close(g_w);
    crypto_wallet_free(g_owner);
    crypto_wallet_free(g_cuw);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : 1;
}
