/* fuzz_su_log.c - libFuzzer target for su_log (src/su/su_log.c), the SU's
 * read routes rebuilt from Assignment items found in a data layer that
 * anyone may have written to (an upstream Arweave). The input is lines of
 * '|'-separated tag values: nonce|timestamp|block height|hash chain|
 * message|epoch. Each line becomes an Assignment item of the one test
 * process, signed by its scheduler (or, for a line starting with '!', by
 * a stranger); message "0".."3" names one of four real messages, "P" the
 * process, anything else is taken as it is; hash chain "*" is the right
 * link after the scheduler's line before (PROTOCOL.md §2.3), so that
 * inputs reach past the chain check. The assignments are served, in
 * input order and in pages of three, by an in-memory data client; then
 * every route of su_log is asked (the schedule in both cursor modes, a
 * message, latest, the process, the timestamp). Every answer must be AO_OK
 * with valid JSON, or an error with an empty body and a reason. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "item/item.h"
#include "su/su.h"

#define FZ_ITEMS 64

typedef struct fz_item {
    char id[44];
    uint8_t *raw;
    size_t len;
} fz_item;

static crypto_wallet *fz_sched, *fz_user;
static char fz_pid[44], fz_msgs[4][44], fz_sched_addr[AO_ADDRESS_MAX];
static fz_item fz_base[5];          /* the process and its four messages */
static fz_item fz_items[FZ_ITEMS];  /* this input's assignments */
static size_t fz_n;
static uint8_t fz_prev_id[32], fz_prev_chain[32];   /* the scheduler's line before */
static bool fz_have_prev;

#define T(n, v, vl) { (const uint8_t *)(n), strlen(n), (const uint8_t *)(v), (vl) }

/* 0, or -1 when the tags are beyond what an item may carry. */
static int fz_sign(const crypto_wallet *w, const item_tag *tags, size_t n, const uint8_t *target,
                   const char *data, fz_item *out)
{
    item_fields f = { target, NULL, tags, n, (const uint8_t *)data, strlen(data) };
    ao_buf raw;
    ao_buf_init(&raw);
    uint8_t id[ITEM_ID_LEN];
    if (item_sign(w, &f, &raw, id, NULL)) {
        ao_buf_free(&raw);
        return -1;
    }
    ao_b64url_encode_to(id, ITEM_ID_LEN, out->id);
    out->raw = ao_buf_take(&raw, &out->len);
    return 0;
}

static void fz_setup(void)
{
    ao_log_configure(AO_LOG_OFF, false);   /* the units' warnings: noise here */
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &fz_sched, NULL) ||
        crypto_wallet_generate(CRYPTO_KEY_ED25519, &fz_user, NULL))
        abort();
    size_t ol;
    const uint8_t *owner = crypto_wallet_owner(fz_sched, &ol);
    if (crypto_address(CRYPTO_KEY_ED25519, owner, ol, fz_sched_addr, NULL))
        abort();
    item_tag pt[] = { T("Data-Protocol", "ao", 2), T("Type", "Process", 7),
                      T("Module", "m", 1), T("Scheduler", fz_sched_addr, strlen(fz_sched_addr)) };
    if (fz_sign(fz_user, pt, 4, NULL, "process", &fz_base[0]))
        abort();
    memcpy(fz_pid, fz_base[0].id, 44);
    ao_buf t;
    ao_buf_init(&t);
    if (ao_b64url_decode(fz_pid, 43, &t, NULL))
        abort();
    for (int i = 0; i < 4; i++) {
        item_tag mt[] = { T("Data-Protocol", "ao", 2), T("Type", "Message", 7) };
        char d[8];
        snprintf(d, sizeof d, "m%d", i);
        if (fz_sign(fz_user, mt, 2, t.data, d, &fz_base[1 + i]))
            abort();
        memcpy(fz_msgs[i], fz_base[1 + i].id, 44);
    }
    ao_buf_free(&t);
}

static const fz_item *fz_find(const char *id)
{
    for (size_t i = 0; i < 5; i++)
        if (!strcmp(fz_base[i].id, id))
            return &fz_base[i];
    for (size_t i = 0; i < fz_n; i++)
        if (!strcmp(fz_items[i].id, id))
            return &fz_items[i];
    return NULL;
}

static int fz_get(void *ctx, const char *id, ao_buf *out, ao_error *err)
{
    const fz_item *it = fz_find(id);
    if (!it)
        return ao_err_set(err, AO_ENOTFOUND, "no item %.64s", id);
    return ao_buf_append(out, it->raw, it->len) ? ao_err_set(err, AO_ENOMEM, "oom") : AO_OK;
}

/* Every assignment, in input order, three a page; the cursor is the
 * index. su_log checks owners and tags itself. */
static int fz_query(void *ctx, const weave_tx_filter *f, weave_tx_page *out, ao_error *err)
{
    memset(out, 0, sizeof *out);
    size_t from = f->after ? (size_t)atoi(f->after) : 0;
    out->rows = calloc(3, sizeof *out->rows);
    if (!out->rows)
        return ao_err_set(err, AO_ENOMEM, "oom");
    for (size_t i = from; i < fz_n && out->n < 3; i++) {
        item it;
        if (item_decode(fz_items[i].raw, fz_items[i].len, &it, NULL))
            abort();
        weave_item_meta *m = &out->rows[out->n++];
        m->height = -1;
        memcpy(m->id, fz_items[i].id, 44);
        item_owner_address(&it, m->owner_address);
        snprintf(m->cursor, sizeof m->cursor, "%zu", i + 1);
        m->tags = calloc(it.ntags ? it.ntags : 1, sizeof *m->tags);
        if (!m->tags)
            abort();
        for (size_t k = 0; k < it.ntags; k++) {
            weave_tag *wt = &m->tags[m->ntags++];
            wt->name = strndup((const char *)it.tags[k].name, it.tags[k].name_len);
            wt->value = strndup((const char *)it.tags[k].value, it.tags[k].value_len);
            if (!wt->name || !wt->value)
                abort();
            wt->name_len = it.tags[k].name_len;
            wt->value_len = it.tags[k].value_len;
        }
    }
    size_t last = from + out->n;
    out->has_next_page = last < fz_n;
    return AO_OK;
}

/* One line: the assignment it describes, put in the store. */
static void fz_assignment(char *line)
{
    bool stranger = line[0] == '!';
    if (stranger)
        line++;
    const char *v[6] = { "0", "0", "000000000000", "", "P", "0" };
    char *p = line;
    for (int i = 0; i < 6 && p; i++) {
        char *bar = strchr(p, '|');
        if (bar)
            *bar = 0;
        v[i] = p;
        p = bar ? bar + 1 : NULL;
    }
    char chain[44];
    if (!strcmp(v[3], "*")) {   /* the right link */
        uint8_t cat[64], h[32];
        size_t n = 32;
        ao_buf pid;
        ao_buf_init(&pid);
        if (fz_have_prev) {
            memcpy(cat, fz_prev_id, 32);
            memcpy(cat + 32, fz_prev_chain, 32);
            n = 64;
        } else if (ao_b64url_decode(fz_pid, 43, &pid, NULL) == AO_OK) {
            memcpy(cat, pid.data, 32);
        }
        ao_buf_free(&pid);
        crypto_sha256(cat, n, h);
        ao_b64url_encode_to(h, 32, chain);
        v[3] = chain;
    }
    const char *msg = v[4];
    if (!strcmp(msg, "P"))
        msg = fz_pid;
    else if (msg[0] >= '0' && msg[0] <= '3' && !msg[1])
        msg = fz_msgs[msg[0] - '0'];
    item_tag at[] = {   /* the SU's order */
        T("Process", fz_pid, 43), T("Epoch", v[5], strlen(v[5])), T("Nonce", v[0], strlen(v[0])),
        T("Hash-Chain", v[3], strlen(v[3])), T("Block-Height", v[2], strlen(v[2])),
        T("Timestamp", v[1], strlen(v[1])), T("Data-Protocol", "ao", 2),
        T("Type", "Assignment", 10), T("Variant", "ao.TN.1", 7), T("Message", msg, strlen(msg)),
    };
    if (fz_sign(stranger ? fz_user : fz_sched, at, sizeof at / sizeof at[0], NULL, "",
                &fz_items[fz_n]))
        return;   /* the tags cannot be an item: nothing stored */
    fz_n++;
    if (stranger)
        return;
    ao_buf b;
    ao_buf_init(&b);
    if (ao_b64url_decode(fz_items[fz_n - 1].id, 43, &b, NULL) == AO_OK && b.len == 32)
        memcpy(fz_prev_id, b.data, 32);
    ao_buf_reset(&b);
    if (ao_b64url_decode(v[3], strlen(v[3]), &b, NULL) == AO_OK && b.len == 32)
        memcpy(fz_prev_chain, b.data, 32);
    ao_buf_free(&b);
    fz_have_prev = true;
}

static void check(int r, ao_buf *body, ao_error *err)
{
#ifdef FZ_DEBUG   /* cc -DFZ_DEBUG: print every answer (corpus checks) */
    fprintf(stderr, "%d %.*s %s\n", r, (int)(body->len > 300 ? 300 : body->len),
            (const char *)body->data, r ? err->msg : "");
#endif
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
    if (!fz_sched)
        fz_setup();
    if (size > 4096)
        return 0;
    char *copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = 0;
    fz_n = 0;
    fz_have_prev = false;
    char *p = copy;
    while (p && fz_n < 16) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = 0;
        if (*p)
            fz_assignment(p);   /* a NUL inside a line ends it */
        p = nl ? nl + 1 : NULL;
    }
    weave_client c;
    memset(&c, 0, sizeof c);
    c.get = fz_get;
    c.query_transactions = fz_query;
    su_log *l;
    ao_error err;
    if (su_log_open(&c, &l, &err))
        abort();
    ao_buf body;
    ao_buf_init(&body);
    err.msg[0] = 0;
    su_query q = { fz_pid, NULL, NULL, "2", NULL, NULL, false };
    check(su_log_get_json(l, fz_pid, &q, &body, &err), &body, &err);
    su_query qn = { fz_pid, NULL, NULL, NULL, "-1", "3", true };
    check(su_log_get_json(l, fz_pid, &qn, &body, &err), &body, &err);
    check(su_log_get_json(l, fz_msgs[0], &q, &body, &err), &body, &err);
    check(su_log_latest_json(l, fz_pid, &body, &err), &body, &err);
    check(su_log_process_json(l, fz_pid, &body, &err), &body, &err);
    check(su_log_timestamp_json(l, fz_pid, &body, &err), &body, &err);
    ao_buf_free(&body);
    su_log_close(l);
    for (size_t i = 0; i < fz_n; i++)
        free(fz_items[i].raw);
    free(copy);
    return 0;
}
