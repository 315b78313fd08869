/* test_mu.c - the Messenger Unit over fake SU/CU/data clients: POST /
 * checks, cranking, how pushed Messages, Spawns, Spawned notices and
 * Assignments are built, wallet targets, retries, dead letters, rate
 * limits, monitors and resuming after a restart. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mu_fakes.h"

typedef struct fx {
    char dir[128];
    crypto_wallet *mu_wallet, *user;
    fake_su su;
    fake_cu cu;
    fake_data data;
    mu_options opt;
    mu *m;
    char P[44], Q[44], W[44], MOD[44], SCH[44];
} fx;

static void rand_id(char out[44])
{
    uint8_t b[32];
    FILE *f = fopen("/dev/urandom", "rb");
    assert_non_null(f);
    assert_int_equal(fread(b, 1, 32, f), 32);
    fclose(f);
    ao_b64url_encode_to(b, 32, out);
}

static char *proc_tags(const char *mod, const char *sch)
{
    static char buf[512];
    snprintf(buf, sizeof buf,
             "[{\"name\":\"Data-Protocol\",\"value\":\"ao\"},{\"name\":\"Type\",\"value\":"
             "\"Process\"},{\"name\":\"Module\",\"value\":\"%s\"},{\"name\":\"Scheduler\","
             "\"value\":\"%s\"}]", mod, sch);
    return buf;
}

static fx *fx_new(void)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ao-test-mu-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &f->mu_wallet, NULL), AO_OK);
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &f->user, NULL), AO_OK);
    fake_su_init(&f->su);
    fake_cu_init(&f->cu);
    fake_data_init(&f->data);
    rand_id(f->P);
    rand_id(f->Q);
    rand_id(f->W);
    rand_id(f->MOD);
    rand_id(f->SCH);
    fake_su_add_process(&f->su, f->P, proc_tags(f->MOD, f->SCH));
    fake_su_add_process(&f->su, f->Q, proc_tags(f->MOD, f->SCH));
    f->opt.dir = f->dir;
    f->opt.wallet = f->mu_wallet;
    f->opt.su = fake_su_client(&f->su);
    f->opt.cu = fake_cu_client(&f->cu);
    f->opt.data = fake_data_client(&f->data);
    f->opt.workers = 2;
    f->opt.backoff_ms = 5;
    f->opt.backoff_max_ms = 40;
    f->opt.cron_poll_ms = 20;
    return f;
}

static void fx_open(fx *f)
{
    ao_error e = {0};
    int rc = mu_open(&f->opt, &f->m, &e);
    if (rc)
        fail_msg("mu_open: %s", e.msg);
}

static void fx_free(fx *f)
{
    mu_close(f->m);
    fake_su_free(&f->su);
    fake_cu_free(&f->cu);
    fake_data_free(&f->data);
    crypto_wallet_free(f->mu_wallet);
    crypto_wallet_free(f->user);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
}

/* A user item; tags as "name", "value", ..., NULL. target may be NULL. */
static void user_item(fx *f, const char *target, ao_buf *out, char id[44], ...)
{
    item_tag tags[16];
    size_t n = 0;
    va_list ap;
    va_start(ap, id);
    const char *name;
    while ((name = va_arg(ap, const char *))) {
        const char *value = va_arg(ap, const char *);
        tags[n].name = (const uint8_t *)name;
        tags[n].name_len = strlen(name);
        tags[n].value = (const uint8_t *)value;
        tags[n].value_len = strlen(value);
        n++;
    }
    va_end(ap);
    ao_buf tb;
    ao_buf_init(&tb);
    if (target)
        assert_int_equal(ao_b64url_decode(target, 43, &tb, NULL), AO_OK);
    /* a random anchor: Ed25519 signatures are deterministic, so two
     * otherwise equal items would share an id */
    uint8_t anchor[32];
    FILE *rnd = fopen("/dev/urandom", "rb");
    assert_non_null(rnd);
    assert_int_equal(fread(anchor, 1, 32, rnd), 32);
    fclose(rnd);
    item_fields fl = { .target = target ? tb.data : NULL, .anchor = anchor, .tags = tags,
                       .ntags = n, .data = (const uint8_t *)"hello", .data_len = 5 };
    uint8_t raw_id[32];
    assert_int_equal(item_sign(f->user, &fl, out, raw_id, NULL), AO_OK);
    ao_b64url_encode_to(raw_id, 32, id);
    ao_buf_free(&tb);
}

static void post_ping(fx *f, char id[44])
{
    ao_buf raw, body;
    ao_buf_init(&raw);
    ao_buf_init(&body);
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", "Action", "Ping",
              NULL);
    ao_error e = {0};
    int rc = mu_post(f->m, raw.data, raw.len, "127.0.0.1", &body, &e);
    if (rc)
        fail_msg("mu_post: %s", e.msg);
    char want[128];
    snprintf(want, sizeof want, "{\"message\":\"Processing DataItem\",\"id\":\"%s\"}", id);
    assert_int_equal(body.len, strlen(want));
    assert_memory_equal(body.data, want, body.len);
    ao_buf_free(&raw);
    ao_buf_free(&body);
}

static void wait_idle(fx *f)
{
    ao_error e = {0};
    int rc = mu_wait_idle(f->m, 10000, &e);
    if (rc)
        fail_msg("mu_wait_idle: %s", e.msg);
}

/* "name=value;name=value;..." of an item's tags. */
static char *tag_string(const item *it)
{
    ao_buf b;
    ao_buf_init(&b);
    for (size_t i = 0; i < it->ntags; i++) {
        ao_buf_append(&b, it->tags[i].name, it->tags[i].name_len);
        ao_buf_append_byte(&b, '=');
        ao_buf_append(&b, it->tags[i].value, it->tags[i].value_len);
        ao_buf_append_byte(&b, ';');
    }
    ao_buf_append_byte(&b, 0);
    return (char *)ao_buf_take(&b, NULL);
}

/* Decodes and verifies a pushed item, checks it is MU-signed. */
static void check_mu_signed(fx *f, const fake_item *fi, item *it)
{
    assert_non_null(fi);
    assert_int_equal(item_verify(fi->raw, fi->len, it, NULL), AO_OK);
    size_t olen;
    const uint8_t *owner = crypto_wallet_owner(f->mu_wallet, &olen);
    assert_int_equal(it->owner_len, olen);
    assert_memory_equal(it->owner, owner, olen);
}

static int64_t metric(const char *name)
{
    return ao_metric_value(ao_metric_get(name, "test", false));
}

/* ---- POST / ---- */

static void post_forwards_and_answers(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_open(f);
    char id[44];
    post_ping(f, id);
    assert_int_equal(f->su.nposted, 1);
    assert_string_equal(f->su.posted[0].id, id);
    wait_idle(f);
    assert_true(fake_cu_was_asked(&f->cu, id, f->P));
    fx_free(f);
}

static void post_process_cranks_its_own_result(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_open(f);
    ao_buf raw;
    ao_buf_init(&raw);
    char pid[44];
    user_item(f, NULL, &raw, pid, "Data-Protocol", "ao", "Type", "Process", "Module", f->MOD,
              "Scheduler", f->SCH, NULL);
    assert_int_equal(mu_post(f->m, raw.data, raw.len, NULL, NULL, NULL), AO_OK);
    wait_idle(f);
    assert_true(fake_cu_was_asked(&f->cu, pid, pid));
    ao_buf_free(&raw);
    fx_free(f);
}

static void post_rejects_bad_items(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_open(f);
    ao_buf raw;
    ao_buf_init(&raw);
    char id[44];
    ao_error e = {0};
    /* bad signature */
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", NULL);
    raw.data[raw.len - 1] ^= 1;
    assert_int_equal(mu_post(f->m, raw.data, raw.len, NULL, NULL, &e), AO_EVERIFY);
    /* no Data-Protocol=ao */
    ao_buf_reset(&raw);
    user_item(f, f->P, &raw, id, "Data-Protocol", "other", "Type", "Message", NULL);
    assert_int_equal(mu_post(f->m, raw.data, raw.len, NULL, NULL, &e), AO_EINVAL);
    assert_non_null(strstr(e.msg, "Data-Protocol"));
    /* Type Module */
    ao_buf_reset(&raw);
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Module", NULL);
    assert_int_equal(mu_post(f->m, raw.data, raw.len, NULL, NULL, &e), AO_EINVAL);
    assert_non_null(strstr(e.msg, "Type"));
    /* the first Type wins: Module then Message is refused */
    ao_buf_reset(&raw);
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Module", "Type", "Message",
              NULL);
    assert_int_equal(mu_post(f->m, raw.data, raw.len, NULL, NULL, &e), AO_EINVAL);
    /* ... and Message then Process is a Message */
    ao_buf_reset(&raw);
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", "Type", "Process",
              NULL);
    assert_int_equal(mu_post(f->m, raw.data, raw.len, NULL, NULL, &e), AO_OK);
    wait_idle(f);
    assert_true(fake_cu_was_asked(&f->cu, id, f->P));
    assert_int_equal(f->su.nposted, 1);
    ao_buf_free(&raw);
    fx_free(f);
}

static void post_returns_su_refusal(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_open(f);
    f->su.refuse_code = AO_ELIMIT;
    ao_buf raw;
    ao_buf_init(&raw);
    char id[44];
    ao_error e = {0};
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", NULL);
    assert_int_equal(mu_post(f->m, raw.data, raw.len, NULL, NULL, &e), AO_ELIMIT);
    assert_string_equal(e.msg, "fake SU refuses this item");
    assert_int_equal(mu_pending(f->m), 0);
    ao_buf_free(&raw);
    fx_free(f);
}

static void post_to_wallet_is_stored(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_open(f);
    ao_buf raw;
    ao_buf_init(&raw);
    char id[44];
    user_item(f, f->W, &raw, id, "Data-Protocol", "ao", "Type", "Message", NULL);
    assert_int_equal(mu_post(f->m, raw.data, raw.len, NULL, NULL, NULL), AO_OK);
    assert_int_equal(f->data.n, 1);
    assert_string_equal(f->data.items[0].id, id);
    assert_int_equal(f->su.nposted, 0);
    assert_int_equal(mu_pending(f->m), 0);
    ao_buf_free(&raw);
    fx_free(f);
}

/* ---- pushed items ---- */

static void pushed_message_tags_rebuilt(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_open(f);
    char id[44];
    /* the CU's result of the user's message: one message to Q */
    ao_buf r;
    ao_buf_init(&r);
    /* sign first, script the result under its id, then post */
    ao_buf raw;
    ao_buf_init(&raw);
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", "Action", "Ping",
              NULL);
    ao_buf_printf(&r,
                  "{\"Messages\":[{\"Target\":\"%s\",\"Anchor\":\"00000000000000000000000000000001\","
                  "\"Tags\":[{\"name\":\"Data-Protocol\",\"value\":\"ao\"},{\"name\":\"Variant\","
                  "\"value\":\"ao.TN.1\"},{\"name\":\"Type\",\"value\":\"Message\"},{\"name\":"
                  "\"Reference\",\"value\":\"1\"},{\"name\":\"From-Process\",\"value\":\"forged\"},"
                  "{\"name\":\"From-Module\",\"value\":\"forged\"},{\"name\":\"Action\",\"value\":"
                  "\"Pong\"},{\"name\":\"Amount\",\"value\":42}],\"Data\":\"pong data\"}],"
                  "\"Spawns\":[],\"Assignments\":[],\"Output\":\"\"}",
                  f->Q);
    ao_buf_append_byte(&r, 0);
    fake_cu_script(&f->cu, id, (const char *)r.data);
    assert_int_equal(mu_post(f->m, raw.data, raw.len, NULL, NULL, NULL), AO_OK);
    wait_idle(f);
    assert_int_equal(f->su.nposted, 2);
    item it;
    check_mu_signed(f, &f->su.posted[1], &it);
    char *tags = tag_string(&it);
    char want[1024];
    snprintf(want, sizeof want,
             "Variant=ao.TN.1;Reference=1;Action=Pong;Amount=42;Data-Protocol=ao;Type=Message;"
             "From-Process=%s;From-Module=%s;Pushed-For=%s;", f->P, f->MOD, id);
    assert_string_equal(tags, want);
    free(tags);
    char t[44];
    ao_b64url_encode_to(it.target, 32, t);
    assert_string_equal(t, f->Q);
    assert_memory_equal(it.anchor, "00000000000000000000000000000001", 32);
    assert_int_equal(it.data_len, 9);
    assert_memory_equal(it.data, "pong data", 9);
    /* and its own result was pulled on Q */
    assert_true(fake_cu_was_asked(&f->cu, f->su.posted[1].id, f->Q));
    ao_buf_free(&r);
    ao_buf_free(&raw);
    fx_free(f);
}

/* Regression (fuzz_mu_outbox): a number tag value beyond long long was
 * cast before its range was checked (undefined behaviour). Numbers that
 * are not integers print in their shortest exact form, as JS does. */
static void huge_number_tag_values_printed(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_open(f);
    char id[44];
    ao_buf r, raw;
    ao_buf_init(&r);
    ao_buf_init(&raw);
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", NULL);
    ao_buf_printf(&r,
                  "{\"Messages\":[{\"Target\":\"%s\",\"Tags\":[{\"name\":\"Big\",\"value\":1e28},"
                  "{\"name\":\"Neg\",\"value\":-1e300},{\"name\":\"Int\",\"value\":-7},"
                  "{\"name\":\"Frac\",\"value\":0.5}],\"Data\":\"\"}],\"Spawns\":[],"
                  "\"Assignments\":[],\"Output\":\"\"}",
                  f->Q);
    ao_buf_append_byte(&r, 0);
    fake_cu_script(&f->cu, id, (const char *)r.data);
    assert_int_equal(mu_post(f->m, raw.data, raw.len, NULL, NULL, NULL), AO_OK);
    wait_idle(f);
    assert_int_equal(f->su.nposted, 2);
    item it;
    check_mu_signed(f, &f->su.posted[1], &it);
    char *tags = tag_string(&it);
    if (!strstr(tags, "Big=1e+28;Neg=-1e+300;Int=-7;Frac=0.5;"))
        fail_msg("tags: %s", tags);
    free(tags);
    ao_buf_free(&r);
    ao_buf_free(&raw);
    fx_free(f);
}

static void entries_without_target_dropped(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_open(f);
    ao_buf raw, r;
    ao_buf_init(&raw);
    ao_buf_init(&r);
    char id[44];
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", NULL);
    ao_buf_printf(&r, "{\"Messages\":[{\"Tags\":[],\"Data\":\"x\"},{\"Target\":\"%s\","
                      "\"Data\":\"no tags\"},{\"Target\":\"short\",\"Tags\":[]},"
                      "{\"Target\":\"%s\",\"Tags\":[]}]}%c", f->Q, f->Q, 0);
    fake_cu_script(&f->cu, id, (const char *)r.data);
    int64_t before = metric("ao_mu_dropped_total");
    assert_int_equal(mu_post(f->m, raw.data, raw.len, NULL, NULL, NULL), AO_OK);
    wait_idle(f);
    assert_int_equal(metric("ao_mu_dropped_total") - before, 3);
    assert_int_equal(f->su.nposted, 2);   /* the user's and the one good entry */
    ao_buf body;
    ao_buf_init(&body);
    assert_int_equal(mu_dead_letters_json(f->m, &body, NULL), AO_OK);
    ao_buf_append_byte(&body, 0);
    assert_string_equal((char *)body.data, "{\"deadLetters\":[]}");
    ao_buf_free(&body);
    ao_buf_free(&raw);
    ao_buf_free(&r);
    fx_free(f);
}

static void spawn_pushed_with_notice(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_open(f);
    ao_buf raw, r;
    ao_buf_init(&raw);
    ao_buf_init(&r);
    char id[44], CHILD_MOD[44];
    rand_id(CHILD_MOD);
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", NULL);
    ao_buf_printf(&r,
                  "{\"Spawns\":[{\"Anchor\":\"00000000000000000000000000000007\",\"Tags\":["
                  "{\"name\":\"Data-Protocol\",\"value\":\"ao\"},{\"name\":\"Variant\",\"value\":"
                  "\"ao.TN.1\"},{\"name\":\"Type\",\"value\":\"Process\"},{\"name\":"
                  "\"From-Process\",\"value\":\"%s\"},{\"name\":\"From-Module\",\"value\":\"old\"},"
                  "{\"name\":\"Module\",\"value\":\"%s\"},{\"name\":\"Reference\",\"value\":\"7\"},"
                  "{\"name\":\"Name\",\"value\":\"kid\"}],\"Data\":\"boot\"}]}%c",
                  f->P, CHILD_MOD, 0);
    fake_cu_script(&f->cu, id, (const char *)r.data);
    assert_int_equal(mu_post(f->m, raw.data, raw.len, NULL, NULL, NULL), AO_OK);
    wait_idle(f);
    assert_int_equal(f->su.nposted, 3);
    /* the Process item */
    item sp;
    check_mu_signed(f, fake_su_find_tag(&f->su, "Type", "Process"), &sp);
    char *tags = tag_string(&sp);
    char want[1024];
    snprintf(want, sizeof want,
             "Variant=ao.TN.1;Module=%s;Reference=7;Name=kid;Data-Protocol=ao;Type=Process;"
             "From-Process=%s;From-Module=%s;Pushed-For=%s;Scheduler=%s;",
             CHILD_MOD, f->P, f->MOD, id, f->SCH);
    assert_string_equal(tags, want);
    free(tags);
    assert_null(sp.target);
    assert_memory_equal(sp.anchor, "00000000000000000000000000000007", 32);
    assert_int_equal(sp.data_len, 4);
    char child[44];
    item_id_b64(&sp, child);
    /* the Spawned notice to the parent, posted after the spawn */
    const fake_item *nf = fake_su_find_tag(&f->su, "Action", "Spawned");
    item nt;
    check_mu_signed(f, nf, &nt);
    assert_true(nf > fake_su_find_tag(&f->su, "Type", "Process"));
    tags = tag_string(&nt);
    snprintf(want, sizeof want,
             "From-Module=old;Module=%s;Reference=7;Name=kid;Data-Protocol=ao;Type=Message;"
             "Process=%s;Action=Spawned;Variant=ao.TN.1;From-Process=%s;",
             CHILD_MOD, child, f->P);
    assert_string_equal(tags, want);
    free(tags);
    assert_int_equal(nt.data_len, 1);   /* no data: one space, as the real MU */
    assert_memory_equal(nt.data, " ", 1);
    char t[44];
    ao_b64url_encode_to(nt.target, 32, t);
    assert_string_equal(t, f->P);
    /* the child's first result and the notice's result were pulled */
    assert_true(fake_cu_was_asked(&f->cu, child, child));
    assert_true(fake_cu_was_asked(&f->cu, nf->id, f->P));
    ao_buf_free(&raw);
    ao_buf_free(&r);
    fx_free(f);
}

static void spawn_keeps_its_scheduler(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_open(f);
    ao_buf raw, r;
    ao_buf_init(&raw);
    ao_buf_init(&r);
    char id[44], other[44];
    rand_id(other);
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", NULL);
    ao_buf_printf(&r, "{\"Spawns\":[{\"Tags\":[{\"name\":\"Scheduler\",\"value\":\"%s\"},"
                      "{\"name\":\"Variant\",\"value\":\"ao.N.1\"}]}]}%c", other, 0);
    fake_cu_script(&f->cu, id, (const char *)r.data);
    assert_int_equal(mu_post(f->m, raw.data, raw.len, NULL, NULL, NULL), AO_OK);
    wait_idle(f);
    item sp;
    check_mu_signed(f, fake_su_find_tag(&f->su, "Type", "Process"), &sp);
    char *tags = tag_string(&sp);
    char want[1024];
    snprintf(want, sizeof want,
             "Scheduler=%s;Variant=ao.N.1;Data-Protocol=ao;Type=Process;From-Process=%s;"
             "From-Module=%s;Pushed-For=%s;", other, f->P, f->MOD, id);
    assert_string_equal(tags, want);
    free(tags);
    ao_buf_free(&raw);
    ao_buf_free(&r);
    fx_free(f);
}

/* The notice's result on the parent sends a message to the new child:
 * it must reach the SU (the child exists by then), not the data layer. */
static bool reply_to_child(fake_cu *c, const char *msg, const char *pid, ao_buf *out)
{
    fake_su *su = c->hook_ctx;
    const fake_item *nf = fake_su_find_tag(su, "Action", "Spawned");
    if (!nf || strcmp(nf->id, msg) != 0)
        return false;
    item it;
    assert_int_equal(item_decode(nf->raw, nf->len, &it, NULL), AO_OK);
    const item_tag *p = item_find_tag(&it, "Process");
    ao_buf_printf(out, "{\"Messages\":[{\"Target\":\"%.*s\",\"Tags\":[{\"name\":\"Action\","
                       "\"value\":\"Hello\"}]}]}", (int)p->value_len, p->value);
    (void)pid;
    return true;
}

static void message_to_new_child_is_scheduled(void **state)
{
    (void)state;
    fx *f = fx_new();
    f->cu.hook = reply_to_child;
    f->cu.hook_ctx = &f->su;
    fx_open(f);
    ao_buf raw, r;
    ao_buf_init(&raw);
    ao_buf_init(&r);
    char id[44];
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", NULL);
    ao_buf_printf(&r, "{\"Spawns\":[{\"Tags\":[{\"name\":\"Module\",\"value\":\"%s\"}]}],"
                      "\"Messages\":[{\"Target\":\"%s\",\"Tags\":[{\"name\":\"Action\","
                      "\"value\":\"Later\"}]}]}%c", f->MOD, f->Q, 0);
    fake_cu_script(&f->cu, id, (const char *)r.data);
    assert_int_equal(mu_post(f->m, raw.data, raw.len, NULL, NULL, NULL), AO_OK);
    wait_idle(f);
    assert_non_null(fake_su_find_tag(&f->su, "Action", "Hello"));
    assert_int_equal(f->data.n, 0);
    /* the result's message waited for the result's spawn */
    assert_true(fake_su_find_tag(&f->su, "Action", "Later") >
                fake_su_find_tag(&f->su, "Type", "Process"));
    ao_buf_free(&raw);
    ao_buf_free(&r);
    fx_free(f);
}

static void assignments_pushed(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_open(f);
    ao_buf raw, r;
    ao_buf_init(&raw);
    ao_buf_init(&r);
    char id[44], tx[44];
    rand_id(tx);
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", NULL);
    ao_buf_printf(&r, "{\"Assignments\":[{\"Processes\":[\"%s\",\"%s\"],\"Message\":\"%s\"}],"
                      "\"Messages\":[{\"Target\":\"%s\",\"Tags\":[{\"name\":\"Assignments\","
                      "\"value\":\"%s\"},{\"name\":\"Action\",\"value\":\"Also\"}]}]}%c",
                  f->P, f->Q, tx, f->Q, f->P, 0);
    fake_cu_script(&f->cu, id, (const char *)r.data);
    assert_int_equal(mu_post(f->m, raw.data, raw.len, NULL, NULL, NULL), AO_OK);
    wait_idle(f);
    assert_int_equal(f->su.nassigns, 3);
    const fake_item *also = fake_su_find_tag(&f->su, "Action", "Also");
    item it;
    check_mu_signed(f, also, &it);
    assert_null(item_find_tag(&it, "Assignments"));
    bool txp = false, txq = false, alsop = false;
    for (size_t i = 0; i < f->su.nassigns; i++) {
        txp |= !strcmp(f->su.assigns[i][0], f->P) && !strcmp(f->su.assigns[i][1], tx);
        txq |= !strcmp(f->su.assigns[i][0], f->Q) && !strcmp(f->su.assigns[i][1], tx);
        alsop |= !strcmp(f->su.assigns[i][0], f->P) && !strcmp(f->su.assigns[i][1], also->id);
    }
    assert_true(txp && txq && alsop);
    assert_true(fake_cu_was_asked(&f->cu, tx, f->P));
    assert_true(fake_cu_was_asked(&f->cu, tx, f->Q));
    assert_true(fake_cu_was_asked(&f->cu, also->id, f->P));
    ao_buf_free(&raw);
    ao_buf_free(&r);
    fx_free(f);
}

static void assign_route_cranks(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_open(f);
    char tx[44];
    rand_id(tx);
    ao_buf body;
    ao_buf_init(&body);
    assert_int_equal(mu_assign(f->m, f->P, tx, false, NULL, &body, NULL), AO_OK);
    ao_buf_append_byte(&body, 0);
    assert_non_null(strstr((char *)body.data, "\"message\":\"Processing Assignment\""));
    wait_idle(f);
    assert_int_equal(f->su.nassigns, 1);
    assert_true(fake_cu_was_asked(&f->cu, tx, f->P));
    assert_int_equal(mu_assign(f->m, "short", tx, false, NULL, NULL, NULL), AO_EINVAL);
    ao_buf_free(&body);
    fx_free(f);
}

static void pushed_message_to_wallet_stored(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_open(f);
    ao_buf raw, r;
    ao_buf_init(&raw);
    ao_buf_init(&r);
    char id[44];
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", NULL);
    ao_buf_printf(&r, "{\"Messages\":[{\"Target\":\"%s\",\"Tags\":[{\"name\":\"Action\","
                      "\"value\":\"Credit-Notice\"}]}]}%c", f->W, 0);
    fake_cu_script(&f->cu, id, (const char *)r.data);
    assert_int_equal(mu_post(f->m, raw.data, raw.len, NULL, NULL, NULL), AO_OK);
    wait_idle(f);
    assert_int_equal(f->su.nposted, 1);
    assert_int_equal(f->data.n, 1);
    item it;
    check_mu_signed(f, &f->data.items[0], &it);
    assert_true(fake_tag_is(&it, "Action", "Credit-Notice"));
    assert_int_equal(it.data_len, 1);   /* no Data: one space, as the real MU */
    assert_memory_equal(it.data, " ", 1);
    assert_false(fake_cu_was_asked(&f->cu, f->data.items[0].id, f->W));
    ao_buf_free(&raw);
    ao_buf_free(&r);
    fx_free(f);
}

/* The result of a process no SU knows (here: assigned to a wallet id):
 * its pushes carry an empty From-Module, as the real MU's. */
static void push_from_unknown_process(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_open(f);
    char tx[44], wat[44];
    rand_id(tx);
    rand_id(wat);
    ao_buf r;
    ao_buf_init(&r);
    ao_buf_printf(&r, "{\"Messages\":[{\"Target\":\"%s\",\"Tags\":[{\"name\":\"Action\","
                      "\"value\":\"X\"}],\"Data\":\"d\"}]}%c", f->Q, 0);
    fake_cu_script(&f->cu, tx, (const char *)r.data);
    assert_int_equal(mu_assign(f->m, wat, tx, false, NULL, NULL, NULL), AO_OK);
    wait_idle(f);
    item it;
    check_mu_signed(f, fake_su_find_tag(&f->su, "Action", "X"), &it);
    char *tags = tag_string(&it);
    char want[512];
    snprintf(want, sizeof want,
             "Action=X;Data-Protocol=ao;Type=Message;From-Process=%s;From-Module=;Pushed-For=%s;",
             wat, tx);
    assert_string_equal(tags, want);
    free(tags);
    ao_buf_free(&r);
    fx_free(f);
}

/* ---- retries and dead letters ---- */

/* Posts a user message whose result asks for one push to Q; the crank is
 * held (the CU lock) until the SU has been told to fail `fails` times
 * with `code`. */
static void post_then_fail(fx *f, char id[44], int fails, int code)
{
    ao_buf raw, r;
    ao_buf_init(&raw);
    ao_buf_init(&r);
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", NULL);
    ao_buf_printf(&r, "{\"Messages\":[{\"Target\":\"%s\",\"Tags\":[{\"name\":\"Action\","
                      "\"value\":\"Pushed\"}]}]}%c", f->Q, 0);
    fake_cu_script(&f->cu, id, (const char *)r.data);
    pthread_mutex_lock(&f->cu.lock);
    ao_error e = {0};
    int rc = mu_post(f->m, raw.data, raw.len, NULL, NULL, &e);
    pthread_mutex_lock(&f->su.lock);
    f->su.fail_posts = fails;
    f->su.fail_code = code;
    pthread_mutex_unlock(&f->su.lock);
    pthread_mutex_unlock(&f->cu.lock);
    if (rc)
        fail_msg("post: %s", e.msg);
    ao_buf_free(&raw);
    ao_buf_free(&r);
}

static void retries_with_backoff(void **state)
{
    (void)state;
    fx *f = fx_new();
    f->opt.backoff_ms = 20;
    f->opt.backoff_max_ms = 1000;
    fx_open(f);
    char id[44];
    int64_t before = metric("ao_mu_push_retries_total");
    post_then_fail(f, id, 3, AO_EIO);
    wait_idle(f);
    assert_int_equal(f->su.nposted, 2);
    assert_int_equal(f->su.post_calls, 5);   /* user + 3 failures + success */
    assert_int_equal(metric("ao_mu_push_retries_total") - before, 3);
    /* the same bytes every time, after growing delays (20, 40, 80 ms; the
     * queue keeps whole milliseconds, so allow 1 ms of rounding) */
    for (int i = 2; i <= 4; i++)
        assert_string_equal(f->su.attempt_id[i], f->su.attempt_id[1]);
    assert_true(f->su.attempt_ms[2] - f->su.attempt_ms[1] >= 19);
    assert_true(f->su.attempt_ms[3] - f->su.attempt_ms[2] >= 39);
    assert_true(f->su.attempt_ms[4] - f->su.attempt_ms[3] >= 79);
    fx_free(f);
}

static void dead_letter_on_refusal(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_open(f);
    char id[44];
    post_then_fail(f, id, 1000, AO_EINVAL);
    wait_idle(f);
    assert_int_equal(f->su.post_calls, 2);   /* no retry of a 4xx */
    ao_buf body;
    ao_buf_init(&body);
    assert_int_equal(mu_dead_letters_json(f->m, &body, NULL), AO_OK);
    cJSON *root = cJSON_ParseWithLength((char *)body.data, body.len);
    cJSON *dl = cJSON_GetObjectItem(root, "deadLetters");
    assert_int_equal(cJSON_GetArraySize(dl), 1);
    cJSON *d = cJSON_GetArrayItem(dl, 0);
    assert_string_equal(cJSON_GetObjectItem(d, "id")->valuestring, f->su.attempt_id[1]);
    assert_string_equal(cJSON_GetObjectItem(d, "source")->valuestring, id);
    assert_string_equal(cJSON_GetObjectItem(d, "kind")->valuestring, "message");
    assert_int_equal(cJSON_GetObjectItem(d, "index")->valueint, 0);
    assert_string_equal(cJSON_GetObjectItem(d, "process")->valuestring, f->P);
    assert_string_equal(cJSON_GetObjectItem(d, "reason")->valuestring, "fake SU unreachable");
    assert_int_equal(cJSON_GetObjectItem(d, "attempts")->valueint, 1);
    assert_true(cJSON_GetObjectItem(d, "time")->valuedouble > 0);
    cJSON_Delete(root);
    ao_buf_free(&body);
    fx_free(f);
}

static void dead_letter_after_max_attempts(void **state)
{
    (void)state;
    fx *f = fx_new();
    f->opt.max_attempts = 3;
    fx_open(f);
    char id[44];
    post_then_fail(f, id, 1000, AO_EIO);
    wait_idle(f);
    assert_int_equal(f->su.post_calls, 4);
    ao_buf body;
    ao_buf_init(&body);
    assert_int_equal(mu_dead_letters_json(f->m, &body, NULL), AO_OK);
    cJSON *root = cJSON_ParseWithLength((char *)body.data, body.len);
    cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "deadLetters"), 0);
    assert_non_null(d);
    assert_int_equal(cJSON_GetObjectItem(d, "attempts")->valueint, 3);
    assert_string_equal(cJSON_GetObjectItem(d, "reason")->valuestring, "fake SU unreachable");
    cJSON_Delete(root);
    ao_buf_free(&body);
    fx_free(f);
}

static void dead_spawn_takes_its_notice(void **state)
{
    (void)state;
    fx *f = fx_new();
    f->su.refuse_process_code = AO_EINVAL;
    fx_open(f);
    ao_buf raw, r;
    ao_buf_init(&raw);
    ao_buf_init(&r);
    char id[44];
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", NULL);
    ao_buf_printf(&r, "{\"Spawns\":[{\"Tags\":[{\"name\":\"Module\",\"value\":\"%s\"}]}]}%c",
                  f->MOD, 0);
    fake_cu_script(&f->cu, id, (const char *)r.data);
    assert_int_equal(mu_post(f->m, raw.data, raw.len, NULL, NULL, NULL), AO_OK);
    wait_idle(f);
    assert_int_equal(f->su.nposted, 1);   /* no Spawned notice for a refused spawn */
    ao_buf body;
    ao_buf_init(&body);
    assert_int_equal(mu_dead_letters_json(f->m, &body, NULL), AO_OK);
    cJSON *root = cJSON_ParseWithLength((char *)body.data, body.len);
    cJSON *dl = cJSON_GetObjectItem(root, "deadLetters");
    assert_int_equal(cJSON_GetArraySize(dl), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(dl, 0), "kind")->valuestring,
                        "spawn");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(dl, 0), "reason")->valuestring,
                        "fake SU refuses this process");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(dl, 1), "kind")->valuestring,
                        "spawned");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(dl, 1), "reason")->valuestring,
                        "its spawn failed");
    cJSON_Delete(root);
    ao_buf_free(&body);
    ao_buf_free(&raw);
    ao_buf_free(&r);
    fx_free(f);
}

static void busy_cu_is_retried(void **state)
{
    (void)state;
    fx *f = fx_new();
    f->cu.busy_results = 3;
    fx_open(f);
    char id[44];
    post_ping(f, id);
    wait_idle(f);
    assert_int_equal(f->cu.nasked, 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(f->cu.asked[i][0], id);
    ao_buf body;
    ao_buf_init(&body);
    assert_int_equal(mu_dead_letters_json(f->m, &body, NULL), AO_OK);
    ao_buf_append_byte(&body, 0);
    assert_string_equal((char *)body.data, "{\"deadLetters\":[]}");
    ao_buf_free(&body);
    fx_free(f);
}

/* ---- rate limits ---- */

static void rate_limits(void **state)
{
    (void)state;
    fx *f = fx_new();
    f->opt.rate_per_wallet = 2;
    f->opt.rate_per_ip = 3;
    fx_open(f);
    ao_buf raw;
    ao_buf_init(&raw);
    char id[44];
    ao_error e = {0};
    for (int i = 0; i < 2; i++) {
        ao_buf_reset(&raw);
        user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", NULL);
        assert_int_equal(mu_post(f->m, raw.data, raw.len, "10.0.0.1", NULL, NULL), AO_OK);
    }
    ao_buf_reset(&raw);
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", NULL);
    assert_int_equal(mu_post(f->m, raw.data, raw.len, "10.0.0.2", NULL, &e), AO_EDENIED);
    assert_non_null(strstr(e.msg, "rate limit"));
    /* another wallet: the IP limit (3) applies */
    crypto_wallet *w2 = f->user;
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &f->user, NULL), AO_OK);
    ao_buf_reset(&raw);
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", NULL);
    assert_int_equal(mu_post(f->m, raw.data, raw.len, "10.0.0.1", NULL, NULL), AO_OK);
    ao_buf_reset(&raw);
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", NULL);
    assert_int_equal(mu_post(f->m, raw.data, raw.len, "10.0.0.1", NULL, &e), AO_EDENIED);
    assert_non_null(strstr(e.msg, "10.0.0.1"));
    crypto_wallet_free(w2);
    wait_idle(f);
    ao_buf_free(&raw);
    fx_free(f);
}

static void rate_limits_off_by_default(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_open(f);
    ao_buf raw;
    ao_buf_init(&raw);
    char id[44];
    for (int i = 0; i < 50; i++) {
        ao_buf_reset(&raw);
        user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", NULL);
        assert_int_equal(mu_post(f->m, raw.data, raw.len, "10.0.0.1", NULL, NULL), AO_OK);
    }
    wait_idle(f);
    ao_buf_free(&raw);
    fx_free(f);
}

/* ---- monitors ---- */

static void monitor_pushes_cron_outboxes(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_open(f);
    char node[512];
    for (int i = 0; i < 3; i++) {
        char cur[16];
        snprintf(cur, sizeof cur, "c%d", i);
        snprintf(node, sizeof node, "{\"Messages\":[{\"Target\":\"%s\",\"Tags\":[{\"name\":"
                                    "\"Tick\",\"value\":\"%d\"}]}]}", f->Q, i);
        fake_cu_cron_edge(&f->cu, f->P, cur, node);
    }
    /* a last edge without a result is passed over: the cursor moves on */
    fake_cu_cron_edge(&f->cu, f->P, "c-bad", "\"not a result\"");
    ao_buf raw;
    ao_buf_init(&raw);
    char id[44];
    user_item(f, f->Q, &raw, id, "Data-Protocol", "ao", "Type", "Message", NULL);
    ao_error e = {0};
    assert_int_equal(mu_monitor(f->m, f->P, raw.data, raw.len, &e), AO_EINVAL);  /* wrong target */
    ao_buf_reset(&raw);
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", NULL);
    assert_int_equal(mu_monitor(f->m, f->P, raw.data, raw.len, &e), AO_OK);
    for (int i = 0; i < 400 && f->su.nposted < 3; i++)
        usleep(10000);
    wait_idle(f);
    assert_int_equal(f->su.nposted, 3);
    for (int i = 0; i < 3; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        item it;
        check_mu_signed(f, fake_su_find_tag(&f->su, "Tick", v), &it);
        assert_true(fake_tag_is(&it, "From-Process", f->P));
    }
    /* restart: the cursor is durable, nothing is pushed twice */
    mu_close(f->m);
    f->m = NULL;
    size_t calls = f->cu.ncron_calls;
    fx_open(f);
    for (int i = 0; i < 400 && f->cu.ncron_calls == calls; i++)
        usleep(10000);
    /* copied under the lock, checked after it (a failed check must not
     * leave the fake CU locked) */
    char from[64];
    pthread_mutex_lock(&f->cu.lock);
    snprintf(from, sizeof from, "%s", f->cu.cron_from[calls]);
    pthread_mutex_unlock(&f->cu.lock);
    assert_string_equal(from, "c-bad");
    wait_idle(f);
    assert_int_equal(f->su.nposted, 3);
    assert_int_equal(f->su.duplicates, 0);
    /* a new cron result is pushed; after unmonitor nothing is polled */
    snprintf(node, sizeof node, "{\"Messages\":[{\"Target\":\"%s\",\"Tags\":[{\"name\":"
                                "\"Tick\",\"value\":\"3\"}]}]}", f->Q);
    fake_cu_cron_edge(&f->cu, f->P, "c3", node);
    for (int i = 0; i < 400 && f->su.nposted < 4; i++)
        usleep(10000);
    assert_int_equal(f->su.nposted, 4);
    assert_int_equal(mu_unmonitor(f->m, f->P, NULL), AO_OK);
    usleep(60000);
    calls = f->cu.ncron_calls;
    usleep(100000);
    assert_int_equal(f->cu.ncron_calls, calls);
    ao_buf_free(&raw);
    fx_free(f);
}

static void monitor_follows_pages(void **state)
{
    (void)state;
    fx *f = fx_new();
    f->opt.cron_poll_ms = 50;
    fx_open(f);
    char node[512];
    for (int i = 0; i < 120; i++) {
        char cur[16];
        snprintf(cur, sizeof cur, "p%03d", i);
        snprintf(node, sizeof node, "{\"Messages\":[{\"Target\":\"%s\",\"Tags\":[{\"name\":"
                                    "\"Tick\",\"value\":\"%d\"}]}]}", f->Q, i);
        fake_cu_cron_edge(&f->cu, f->P, cur, node);
    }
    assert_int_equal(mu_monitor(f->m, f->P, NULL, 0, NULL), AO_OK);
    for (int i = 0; i < 500 && f->su.nposted < 120; i++)
        usleep(10000);
    wait_idle(f);
    assert_int_equal(f->su.nposted, 120);
    /* pages of 50: from start, p049, p099 in one poll */
    char from3[3][64];
    pthread_mutex_lock(&f->cu.lock);
    size_t ncalls = f->cu.ncron_calls;
    memcpy(from3, f->cu.cron_from, sizeof from3);
    pthread_mutex_unlock(&f->cu.lock);
    assert_true(ncalls >= 3);
    assert_string_equal(from3[0], "");
    assert_string_equal(from3[1], "p049");
    assert_string_equal(from3[2], "p099");
    fx_free(f);
}

/* ---- durability ---- */

static void restart_resumes_with_same_bytes(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_open(f);
    char id[44];
    post_then_fail(f, id, 1000000, AO_EIO);
    for (int i = 0; i < 500 && f->su.post_calls < 3; i++)
        usleep(10000);
    assert_true(f->su.post_calls >= 3);
    assert_true(mu_pending(f->m) >= 1);
    assert_int_equal(ao_metric_value(ao_metric_get("ao_mu_queue_depth", "t", true)),
                     (int64_t)mu_pending(f->m));
    mu_close(f->m);
    f->m = NULL;
    char first[44];
    snprintf(first, sizeof first, "%s", f->su.attempt_id[1]);
    f->su.fail_posts = 0;
    fx_open(f);
    wait_idle(f);
    assert_int_equal(f->su.nposted, 2);
    assert_string_equal(f->su.posted[1].id, first);
    fx_free(f);
}

/* Many clients at once: every post answered, every crank queued (the
 * cranks of concurrent posts share commits). */
typedef struct poster {
    fx *f;
    char ids[25][44];
    int fails;
} poster;

static void *poster_main(void *arg)
{
    poster *p = arg;
    for (int i = 0; i < 25; i++) {
        ao_buf raw;
        ao_buf_init(&raw);
        user_item(p->f, p->f->P, &raw, p->ids[i], "Data-Protocol", "ao", "Type", "Message",
                  NULL);
        ao_error e = {0};
        if (mu_post(p->f->m, raw.data, raw.len, NULL, NULL, &e) != AO_OK) {
            p->fails++;
            fprintf(stderr, "post failed: %s\n", e.msg);
        }
        ao_buf_free(&raw);
    }
    return NULL;
}

static void concurrent_posts_all_cranked(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_open(f);
    poster ps[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        memset(&ps[i], 0, sizeof ps[i]);
        ps[i].f = f;
        assert_int_equal(pthread_create(&th[i], NULL, poster_main, &ps[i]), 0);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    wait_idle(f);
    assert_int_equal(f->su.nposted, 200);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(ps[i].fails, 0);
        for (int k = 0; k < 25; k++)
            assert_true(fake_cu_was_asked(&f->cu, ps[i].ids[k], f->P));
    }
    assert_int_equal(f->cu.nasked, 200);
    fx_free(f);
}

/* Regression: a claim used to visit every pending push (one correlated
 * subquery each), so a long outbox to one target, where all but the first
 * push wait, made the crank quadratic. Now the claim looks at the oldest
 * 256 pending jobs, then at the first push of each (source, target): a
 * 400-message outbox to Q followed by one to R pushes all of them, once,
 * Q's in outbox order. */
static void long_outbox_to_one_target_in_order(void **state)
{
    (void)state;
    fx *f = fx_new();
    char R[44];
    rand_id(R);
    fake_su_add_process(&f->su, R, proc_tags(f->MOD, f->SCH));
    fx_open(f);
    enum { NQ = 400 };
    ao_buf raw, r;
    ao_buf_init(&raw);
    ao_buf_init(&r);
    char id[44];
    user_item(f, f->P, &raw, id, "Data-Protocol", "ao", "Type", "Message", "Action", "Go",
              NULL);
    ao_buf_printf(&r, "{\"Messages\":[");
    for (int i = 0; i <= NQ; i++)
        ao_buf_printf(&r, "%s{\"Target\":\"%s\",\"Tags\":[{\"name\":\"Ref\",\"value\":\"%d\"}],"
                      "\"Data\":\"\"}", i ? "," : "", i < NQ ? f->Q : R, i);
    ao_buf_printf(&r, "],\"Spawns\":[],\"Assignments\":[],\"Output\":\"\"}");
    ao_buf_append_byte(&r, 0);
    fake_cu_script(&f->cu, id, (const char *)r.data);
    assert_int_equal(mu_post(f->m, raw.data, raw.len, NULL, NULL, NULL), AO_OK);
    ao_error e = {0};
    if (mu_wait_idle(f->m, 120000, &e))
        fail_msg("mu_wait_idle: %s", e.msg);
    assert_int_equal(f->su.nposted, 1 + NQ + 1);
    assert_int_equal(f->su.duplicates, 0);
    int next_q = 0, seen_r = 0;
    for (size_t i = 1; i < f->su.nposted; i++) {
        item it;
        assert_int_equal(item_decode(f->su.posted[i].raw, f->su.posted[i].len, &it, NULL), AO_OK);
        char t[44], ref[16] = "";
        ao_b64url_encode_to(it.target, 32, t);
        for (size_t k = 0; k < it.ntags; k++)
            if (it.tags[k].name_len == 3 && !memcmp(it.tags[k].name, "Ref", 3))
                snprintf(ref, sizeof ref, "%.*s", (int)it.tags[k].value_len,
                         (const char *)it.tags[k].value);
        if (!strcmp(t, R)) {
            assert_int_equal(atoi(ref), NQ);
            seen_r++;
        } else {
            assert_string_equal(t, f->Q);
            assert_int_equal(atoi(ref), next_q);
            next_q++;
        }
    }
    assert_int_equal(next_q, NQ);
    assert_int_equal(seen_r, 1);
    ao_buf_free(&raw);
    ao_buf_free(&r);
    fx_free(f);
}

static void open_refuses_missing_clients(void **state)
{
    (void)state;
    fx *f = fx_new();
    f->opt.su.post = NULL;
    ao_error e = {0};
    assert_int_equal(mu_open(&f->opt, &f->m, &e), AO_EINVAL);
    assert_null(f->m);
    fx_free(f);
}

int main(void)
{
    ao_log_configure(AO_LOG_OFF, false);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(post_forwards_and_answers),
        cmocka_unit_test(post_process_cranks_its_own_result),
        cmocka_unit_test(post_rejects_bad_items),
        cmocka_unit_test(post_returns_su_refusal),
        cmocka_unit_test(post_to_wallet_is_stored),
        cmocka_unit_test(pushed_message_tags_rebuilt),
        cmocka_unit_test(entries_without_target_dropped),
        cmocka_unit_test(huge_number_tag_values_printed),
        cmocka_unit_test(spawn_pushed_with_notice),
        cmocka_unit_test(spawn_keeps_its_scheduler),
        cmocka_unit_test(message_to_new_child_is_scheduled),
        cmocka_unit_test(assignments_pushed),
        cmocka_unit_test(assign_route_cranks),
        cmocka_unit_test(pushed_message_to_wallet_stored),
        cmocka_unit_test(push_from_unknown_process),
        cmocka_unit_test(retries_with_backoff),
        cmocka_unit_test(dead_letter_on_refusal),
        cmocka_unit_test(dead_letter_after_max_attempts),
        cmocka_unit_test(dead_spawn_takes_its_notice),
        cmocka_unit_test(busy_cu_is_retried),
        cmocka_unit_test(rate_limits),
        cmocka_unit_test(rate_limits_off_by_default),
        cmocka_unit_test(monitor_pushes_cron_outboxes),
        cmocka_unit_test(monitor_follows_pages),
        cmocka_unit_test(restart_resumes_with_same_bytes),
        cmocka_unit_test(concurrent_posts_all_cranked),
        cmocka_unit_test(long_outbox_to_one_target_in_order),
        cmocka_unit_test(open_refuses_missing_clients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
