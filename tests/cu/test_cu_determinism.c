/* test_cu_determinism.c - the CU's results do not depend on how it runs:
 * 20 aos processes x 50 mixed messages (counters, Sends, Spawns, errors,
 * out-of-gas, growing state, untrusted pings) evaluated by CU A (2
 * workers, a checkpoint every 7 messages, a memory budget small enough to
 * evict and resume processes all the time, checkpoints to the data layer),
 * CU B (1 worker, no checkpoints, no eviction) and CU C (a fresh CU that
 * only has A's checkpoints in the data layer, trusting A's wallet): every
 * result and the final memory of every process are identical. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cu_fake_su.h"

/* 20 x 50 by default; CU_DET_PROCS / CU_DET_MSGS (up to 100 x 100) run the
 * issue's full acceptance size (slow, by hand) */
#define MAXPROC 100
#define MAXMSG 100
#define NLATE 10   /* the last NLATE messages come after A's checkpoints */
static int NPROC = 20, NMSG = 50;

static char g_dir[64];
static weave *g_w;
static weave_client g_data;
static crypto_wallet *g_owner, *g_other, *g_wa, *g_wb, *g_wc;
static char g_module[44];
static fsu g_su;
static char g_pid[MAXPROC][44];
static char g_ids[MAXPROC][MAXMSG][44];
static int64_t g_ts = 1700000000000LL;
static uint64_t g_rng = 0x9E3779B97F4A7C15ULL;

static uint32_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 11);
}

static cu *open_cu(const char *name, crypto_wallet *w, unsigned threads, uint32_t every, uint64_t budget,
                   bool to_data, const char *const *trusted, size_t ntrusted)
{
    char d[128];
    snprintf(d, sizeof d, "%s/%s", g_dir, name);
    cu_options o;
    memset(&o, 0, sizeof o);
    o.dir = d;
    o.wallet = w;
    o.su = fsu_client(&g_su);
    o.data = g_data;
    o.threads = threads;
    o.checkpoint_every = every;
    o.memory_budget = budget;
    o.checkpoint_to_data = to_data;
    o.trusted_owners = trusted;
    o.ntrusted_owners = ntrusted;
    o.no_fsync = true;
    cu *c = NULL;
    ao_error err = {0};
    if (cu_open(&o, &c, &err) != AO_OK) fprintf(stderr, "cu_open: %s\n", err.msg);
    assert_non_null(c);
    return c;
}

static void schedule(int p, int k)
{
    static const char *codes[] = {
        "Counter = (Counter or 0) + %d; return Counter",
        "Send({Target = ao.id, Action = 'Note', Data = 'n%d'}); return 'sent'",
        "error('failure %d')",
        "T = T or {}; T[#T + 1] = string.rep('x', %d * 37); return #T",
        "Spawn(ao.env.Module.Id, {Data = 'child %d'}); return 'spawned'",
        "return math.random(1, 1000000) + %d",
        "local s = 0 for i = 1, 1e9 do s = s + i end return s + %d",   /* out of gas */
    };
    char code[256];
    uint32_t r = rnd();
    int kind = (int)(r % 20);
    const crypto_wallet *from = g_owner;
    const char *action = "Eval";
    if (kind < 6) snprintf(code, sizeof code, codes[0], k);
    else if (kind < 9) snprintf(code, sizeof code, codes[1], k);
    else if (kind < 11) snprintf(code, sizeof code, codes[2], k);
    else if (kind < 14) snprintf(code, sizeof code, codes[3], k);
    else if (kind < 15) snprintf(code, sizeof code, codes[4], k);
    else if (kind < 17) snprintf(code, sizeof code, codes[5], k);
    else if (kind < 18 && k % 4 == 0) snprintf(code, sizeof code, codes[6], k);
    else { snprintf(code, sizeof code, "ping %d", k); from = g_other; action = "Ping"; }
    ktag kt[] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Message"},
                 {"Action", action}, {NULL, NULL}};
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(fsu_sign(from, kt, g_pid[p], code, strlen(code), &raw), AO_OK);
    assert_int_equal(fsu_add_message(&g_su, g_pid[p], raw.data, raw.len, ++g_ts, 5, g_ids[p][k]), 0);
    ao_buf_free(&raw);
}

static char *get_result(cu *c, int p, const char *id)
{
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = {0};
    int rc = cu_result(c, id, g_pid[p], true, &b, &err);
    if (rc != AO_OK) fprintf(stderr, "cu_result %d %s: %s\n", p, id, err.msg);
    assert_int_equal(rc, AO_OK);
    ao_buf_append_byte(&b, 0);
    return (char *)ao_buf_take(&b, NULL);
}

static void same_state(cu *a, cu *b, int p)
{
    ao_buf ma, mb;
    ao_buf_init(&ma);
    ao_buf_init(&mb);
    cu_state_meta xa, xb;
    assert_int_equal(cu_state(a, g_pid[p], NULL, &ma, &xa, NULL), AO_OK);
    assert_int_equal(cu_state(b, g_pid[p], NULL, &mb, &xb, NULL), AO_OK);
    assert_int_equal(ma.len, mb.len);
    assert_true(memcmp(ma.data, mb.data, ma.len) == 0);
    assert_int_equal(xa.ordinate, xb.ordinate);
    assert_int_equal(xa.timestamp, xb.timestamp);
    ao_buf_free(&ma);
    ao_buf_free(&mb);
}

static void three_cus_agree_on_every_result_and_state(void **state)
{
    (void)state;
    if (getenv("CU_DET_PROCS")) NPROC = atoi(getenv("CU_DET_PROCS"));
    if (getenv("CU_DET_MSGS")) NMSG = atoi(getenv("CU_DET_MSGS"));
    assert_true(NPROC >= 1 && NPROC <= MAXPROC && NMSG > NLATE && NMSG <= MAXMSG);
    fprintf(stderr, "%d processes x %d messages, 3 CUs\n", NPROC, NMSG);
    snprintf(g_dir, sizeof g_dir, "/tmp/ao-cu-det-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    char wd[128];
    snprintf(wd, sizeof wd, "%s/weave", g_dir);
    weave_options wo;
    weave_options_default(&wo);
    wo.block_interval_ms = 0;
    wo.no_fsync = true;
    assert_int_equal(weave_open(wd, &wo, &g_w, NULL), AO_OK);
    weave_client_local(g_w, &g_data);
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &g_owner, NULL), AO_OK);
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &g_other, NULL), AO_OK);
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &g_wa, NULL), AO_OK);
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &g_wb, NULL), AO_OK);
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &g_wc, NULL), AO_OK);
    assert_int_equal(fsu_put_module(g_w, g_owner, "emscripten-3.1.6", "256-mb", "60000000", g_module), 0);
    fsu_init(&g_su);
    for (int p = 0; p < NPROC; p++) {
        char name[32];
        snprintf(name, sizeof name, "det-%d", p);
        ktag kt[] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Process"},
                     {"Module", g_module}, {"Scheduler", "SU"}, {"Name", name}, {NULL, NULL}};
        ao_buf raw;
        ao_buf_init(&raw);
        assert_int_equal(fsu_sign(g_owner, kt, NULL, "", 0, &raw), AO_OK);
        assert_int_equal(fsu_add_process(&g_su, raw.data, raw.len, ++g_ts, 4, g_pid[p]), 0);
        ao_buf_free(&raw);
    }
    for (int k = 0; k < NMSG - NLATE; k++)
        for (int p = 0; p < NPROC; p++) schedule(p, k);

    /* A: 2 workers, checkpoints every 7, a budget of ~3 live processes */
    cu *a = open_cu("a", g_wa, 2, 7, 3 * 8 * 1024 * 1024, true, NULL, 0);
    cu *b = open_cu("b", g_wb, 1, 0, 0, false, NULL, 0);
    static char *ra[MAXPROC][MAXMSG];
    /* ask A for every result, last message first for half the processes */
    for (int p = 0; p < NPROC; p++) {
        if (p % 2) free(get_result(a, p, g_ids[p][NMSG - NLATE - 1]));
        for (int k = 0; k < NMSG - NLATE; k++) ra[p][k] = get_result(a, p, g_ids[p][k]);
    }
    assert_int_equal(cu_checkpoint_all(a, NULL), AO_OK);
    cu_stats st;
    /* the worker that ran the last process evicts the one before it just
     * after answering: give it a moment */
    for (int i = 0; i < 500; i++) {
        cu_get_stats(a, &st);
        if (st.live_bytes <= 3 * 8 * 1024 * 1024) break;
        usleep(10000);
    }
    assert_true(st.evictions > 0);
    assert_true(st.checkpoints > 0);
    fprintf(stderr, "live %llu bytes in %llu processes, %llu evictions, %llu checkpoints\n", (unsigned long long)st.live_bytes, (unsigned long long)st.live_processes, (unsigned long long)st.evictions, (unsigned long long)st.checkpoints);
    assert_true(st.live_bytes <= 3 * 8 * 1024 * 1024);
    /* the late messages */
    for (int k = NMSG - NLATE; k < NMSG; k++)
        for (int p = 0; p < NPROC; p++) schedule(p, k);
    char wa_addr[AO_ADDRESS_MAX];
    size_t olen;
    const uint8_t *ok = crypto_wallet_owner(g_wa, &olen);
    crypto_owner_address_b64(ok, olen, wa_addr);
    const char *trusted[] = {wa_addr};
    cu *c = open_cu("c", g_wc, 2, 0, 0, false, trusted, 1);
    /* an untrusting fresh CU has nothing but genesis */
    cu *d = open_cu("d", g_wb, 2, 0, 0, false, NULL, 0);
    int errors = 0, sends = 0;
    static char *rc_late[MAXPROC][NLATE];
    for (int p = 0; p < NPROC; p++) {
        /* C starts from A's latest checkpoint: the early results are not its */
        ao_buf tmp;
        ao_buf_init(&tmp);
        ao_error err = {0};
        assert_int_not_equal(cu_result(c, g_ids[p][0], g_pid[p], true, &tmp, &err), AO_OK);
        ao_buf_free(&tmp);
        for (int k = NMSG - NLATE; k < NMSG; k++) rc_late[p][k - (NMSG - NLATE)] = get_result(c, p, g_ids[p][k]);
    }
    for (int p = 0; p < NPROC; p++) {
        for (int k = NMSG - NLATE; k < NMSG; k++) ra[p][k] = get_result(a, p, g_ids[p][k]);
        for (int k = 0; k < NMSG; k++) {
            char *rb = get_result(b, p, g_ids[p][k]);
            if (strcmp(ra[p][k], rb)) fprintf(stderr, "process %d message %d:\nA %s\nB %s\n", p, k, ra[p][k], rb);
            assert_string_equal(ra[p][k], rb);
            if (strstr(rb, "\"Error\"")) errors++;
            if (strstr(rb, "\"Messages\":[{")) sends++;
            free(rb);
        }
        for (int k = NMSG - NLATE; k < NMSG; k++) {
            assert_string_equal(ra[p][k], rc_late[p][k - (NMSG - NLATE)]);
            free(rc_late[p][k - (NMSG - NLATE)]);
        }
        same_state(a, b, p);
        same_state(a, c, p);
    }
    assert_true(errors > 0);
    assert_true(sends > 0);
    /* D, not trusting A, replays from genesis (its first result exists) */
    char *rd = get_result(d, 0, g_ids[0][0]);
    assert_string_equal(ra[0][0], rd);
    free(rd);
    for (int p = 0; p < NPROC; p++)
        for (int k = 0; k < NMSG; k++) free(ra[p][k]);
    cu_close(a);
    cu_close(b);
    cu_close(c);
    cu_close(d);
    fsu_free(&g_su);
    weave_close(g_w);
    crypto_wallet_free(g_owner);
    crypto_wallet_free(g_other);
    crypto_wallet_free(g_wa);
    crypto_wallet_free(g_wb);
    crypto_wallet_free(g_wc);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(three_cus_agree_on_every_result_and_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
