/* test_su_read_race.c - regression for a race the load test found: a
 * reader of /{pid}/latest (or any schedule read) looked for an item in the
 * data layer, missed it (not uploaded yet), then looked in the SU's pending
 * rows after the upload had finished and the row was dropped, and answered
 * 500 "missing from the data layer". Posters and readers run at once here
 * for a while; no read may fail. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>

#include "../cu/cu_fake_su.h"
#include "su/su.h"

#define POSTERS 3
#define READERS 3
#define POSTS 400

static char g_dir[64];
static weave *g_w;
static weave_client g_data;
static su *g_su;
static crypto_wallet *g_user, *g_suw;
static char g_pid[44];
static volatile int g_posting;
static int g_read_errors, g_post_errors;
static long g_reads;
static char g_first_error[256];
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static void *poster(void *arg)
{
    (void)arg;
    ktag kt[] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Message"}, {"Action", "Ping"},
                 {NULL, NULL}};
    for (int i = 0; i < POSTS; i++) {
        ao_buf raw;
        ao_buf_init(&raw);
        su_ack a;
        if (fsu_sign(g_user, kt, g_pid, "x", 1, &raw) != AO_OK ||
            su_post_item(g_su, raw.data, raw.len, &a, NULL, NULL) != AO_OK) {
            pthread_mutex_lock(&g_lock);
            g_post_errors++;
            pthread_mutex_unlock(&g_lock);
        }
        ao_buf_free(&raw);
    }
    return NULL;
}

static void *reader(void *arg)
{
    (void)arg;
    ao_buf b;
    ao_buf_init(&b);
    while (__atomic_load_n(&g_posting, __ATOMIC_ACQUIRE)) {
        ao_buf_reset(&b);
        ao_error err = {0};
        int rc = su_latest_json(g_su, g_pid, &b, &err);
        pthread_mutex_lock(&g_lock);
        g_reads++;
        if (rc != AO_OK) {
            if (!g_read_errors) snprintf(g_first_error, sizeof g_first_error, "%s", err.msg);
            g_read_errors++;
        }
        pthread_mutex_unlock(&g_lock);
    }
    ao_buf_free(&b);
    return NULL;
}

static void latest_never_misses_an_item_being_uploaded(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/ao-su-race-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    char d[128];
    snprintf(d, sizeof d, "%s/weave", g_dir);
    weave_options wo;
    weave_options_default(&wo);
    wo.block_interval_ms = 0;
    wo.no_fsync = true;
    assert_int_equal(weave_open(d, &wo, &g_w, NULL), AO_OK);
    weave_client_local(g_w, &g_data);
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &g_user, NULL), AO_OK);
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &g_suw, NULL), AO_OK);
    snprintf(d, sizeof d, "%s/su", g_dir);
    su_options so;
    memset(&so, 0, sizeof so);
    so.dir = d;
    so.data = &g_data;
    so.wallet = g_suw;
    so.no_fsync = true;
    assert_int_equal(su_open(&so, &g_su, NULL), AO_OK);
    ktag pk[] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Process"},
                 {"Module", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, {"Scheduler", su_address(g_su)},
                 {NULL, NULL}};
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(fsu_sign(g_user, pk, NULL, "", 0, &raw), AO_OK);
    su_ack a;
    assert_int_equal(su_post_item(g_su, raw.data, raw.len, &a, NULL, NULL), AO_OK);
    ao_buf_free(&raw);
    snprintf(g_pid, sizeof g_pid, "%s", a.id);

    pthread_t p[POSTERS], r[READERS];
    g_posting = 1;
    for (int i = 0; i < READERS; i++) pthread_create(&r[i], NULL, reader, NULL);
    for (int i = 0; i < POSTERS; i++) pthread_create(&p[i], NULL, poster, NULL);
    for (int i = 0; i < POSTERS; i++) pthread_join(p[i], NULL);
    __atomic_store_n(&g_posting, 0, __ATOMIC_RELEASE);
    for (int i = 0; i < READERS; i++) pthread_join(r[i], NULL);
    fprintf(stderr, "%d posts, %ld latest reads, %d read errors%s%s\n", POSTERS * POSTS, g_reads, g_read_errors,
            g_read_errors ? ", first: " : "", g_first_error);
    assert_int_equal(g_post_errors, 0);
    assert_int_equal(g_read_errors, 0);

    su_close(g_su);
    weave_close(g_w);
    crypto_wallet_free(g_user);
    crypto_wallet_free(g_suw);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(latest_never_misses_an_item_being_uploaded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
