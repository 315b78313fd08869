/*
 * cli_units.c - `ao su`, `ao cu` and `ao mu`: each runs one unit alone
 * with its HTTP face, for deployments where the units live on different
 * machines. Every unit reads the data layer through a gateway
 * (net_weave_client_http, `ao gateway` or any Arweave-style gateway); the
 * CU and MU find a process's SU through its Scheduler tag and the SU's
 * Scheduler-Location record (or a fixed --su-url); the MU pushes results
 * through one CU (--cu-url). Settings come from flags and/or a JSON config
 * file (--config FILE: an object whose keys are the flags' names without
 * the dashes; flags given on the command line win). Runs until SIGINT or
 * SIGTERM, then stops cleanly (face first, then the unit).
 */
#include "cli.h"

#include <cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "item/item.h"
#include "net/net.h"
#include "node/node.h"
#include "su/su.h"
#include "wasm/wasm.h"

enum unit_kind { UNIT_SU, UNIT_CU, UNIT_MU };

static const char *const unit_names[] = { "su", "cu", "mu" };

static const char common_usage[] =
    "  --config FILE        JSON object of settings named like the flags\n"
    "                       (e.g. {\"port\":4001,\"gateway\":\"http://..\"});\n"
    "                       command-line flags override it\n"
    "  --gateway URL        the gateway of the data layer (required)\n"
    "  --data DIR           the unit's data folder (default .ao-UNIT)\n"
    "  --wallet FILE        the unit's wallet (default DIR/wallet.json; made\n"
    "                       on first run if missing)\n"
    "  --host ADDR          IPv4 address to listen on (default 127.0.0.1)\n"
    "  --port P             TCP port (default 4001 su, 4002 cu, 4003 mu;\n"
    "                       0 = any free port)\n"
    "  --log-level L        debug, info, warn, error or off (default info)\n"
    "  --json               log one JSON object per line\n"
    "\n"
    "Prints \"listening on URL\", \"address ADDR\" and then \"ready\" on stdout.\n"
    "Exit code 2 for bad settings or a failed start; 0 after SIGINT/SIGTERM.\n";

static const char su_usage[] =
    "usage: ao su --gateway URL [--url URL] [--location-ttl MS] [--wallet-type T]\n"
    "             [common flags]\n"
    "\n"
    "Runs a Scheduler Unit alone: it assigns slots to the messages of the\n"
    "processes whose Scheduler tag is its wallet address, writes them to the\n"
    "data layer and, at start, publishes its Scheduler-Location record (its\n"
    "public URL) there.\n"
    "\n"
    "  --url URL            public URL published in Scheduler-Location\n"
    "                       (default http://HOST:PORT)\n"
    "  --location-ttl MS    the record's Time-To-Live (default 86400000)\n"
    "  --wallet-type T      ed25519 (default) or rsa, for a new wallet\n";

static const char cu_usage[] =
    "usage: ao cu --gateway URL [--su-url URL | --schedule-from-data] [--threads N]\n"
    "             [--tier T] [--checkpoint-to-data] [common flags]\n"
    "\n"
    "Runs a Compute Unit alone: it evaluates any process from its module and\n"
    "schedule (read from the process's SU, found through the gateway's\n"
    "Scheduler-Location records) and answers /result, /results, /state.\n"
    "\n"
    "  --su-url URL         send every schedule request to this SU instead\n"
    "  --schedule-from-data read schedules from the Assignment items in the\n"
    "                       data layer (signed by each process's Scheduler)\n"
    "                       instead of asking any SU: recomputes processes\n"
    "                       from an Arweave gateway alone\n"
    "  --threads N          evaluation workers (default: one per core)\n"
    "  --tier T             compiled (default; the interpreter serves while a\n"
    "                       module's native library is built) or interp\n"
    "  --checkpoint-to-data also write checkpoints to the data layer\n";

static const char mu_usage[] =
    "usage: ao mu --gateway URL --cu-url URL [--su-url URL] [--workers N]\n"
    "             [--max-attempts N] [--backoff MS] [--backoff-max MS]\n"
    "             [common flags]\n"
    "\n"
    "Runs a Messenger Unit alone: it forwards signed messages and processes\n"
    "to their SU (found through the gateway's Scheduler-Location records),\n"
    "reads their results from the CU and pushes the outboxes, retrying with\n"
    "backoff from a durable queue.\n"
    "\n"
    "  --cu-url URL         the CU whose results the MU pushes (required)\n"
    "  --su-url URL         send everything to this SU instead\n"
    "  --workers N          crank threads (default 4)\n"
    "  --max-attempts N     tries per push before the dead-letter list (20)\n"
    "  --backoff MS         first retry delay, doubling (default 100)\n"
    "  --backoff-max MS     longest retry delay (default 30000)\n";

/* Every setting a unit command knows, as text (flags and config alike). */
typedef struct unit_settings {
    const char *config, *gateway, *data, *wallet, *host, *port, *log_level;
    bool json;
    const char *url, *location_ttl, *wallet_type;            /* su */
    const char *su_url, *threads, *tier;                     /* cu, mu */
    bool checkpoint_to_data, schedule_from_data;             /* cu */
    const char *cu_url, *workers, *max_attempts, *backoff, *backoff_max;   /* mu */
} unit_settings;

typedef struct setting_def {
    const char *name;          /* flag name without "--" */
    size_t off;                /* offset of the const char * or bool */
    bool is_bool;
    unsigned units;            /* bit mask of unit kinds */
} setting_def;

#define ALL 7u
#define S(k) (1u << UNIT_##k)
#define STR(n, f, u) { n, offsetof(unit_settings, f), false, u }
#define BOOL(n, f, u) { n, offsetof(unit_settings, f), true, u }
static const setting_def defs[] = {
    STR("config", config, ALL),
    STR("gateway", gateway, ALL),
    STR("data", data, ALL),
    STR("wallet", wallet, ALL),
    STR("host", host, ALL),
    STR("port", port, ALL),
    STR("log-level", log_level, ALL),
    BOOL("json", json, ALL),
    STR("url", url, S(SU)),
    STR("location-ttl", location_ttl, S(SU)),
    STR("wallet-type", wallet_type, S(SU)),
    STR("su-url", su_url, S(CU) | S(MU)),
    STR("threads", threads, S(CU)),
    STR("tier", tier, S(CU)),
    BOOL("checkpoint-to-data", checkpoint_to_data, S(CU)),
    BOOL("schedule-from-data", schedule_from_data, S(CU)),
    STR("cu-url", cu_url, S(MU)),
    STR("workers", workers, S(MU)),
    STR("max-attempts", max_attempts, S(MU)),
    STR("backoff", backoff, S(MU)),
    STR("backoff-max", backoff_max, S(MU)),
};
#define NDEFS (sizeof defs / sizeof defs[0])

static const setting_def *find_def(const char *name, enum unit_kind k)
{
    for (size_t i = 0; i < NDEFS; i++)
        if (!strcmp(defs[i].name, name) && (defs[i].units & (1u << k)))
            return &defs[i];
    return NULL;
}

static const char *usage_of(enum unit_kind k)
{
    return k == UNIT_SU ? su_usage : k == UNIT_CU ? cu_usage : mu_usage;
}

static void usage_print(FILE *f, enum unit_kind k)
{
    fputs(usage_of(k), f);
    fputs("\ncommon flags:\n", f);
    fputs(common_usage, f);
}

static bool parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

static bool is_http_url(const char *s)
{
    return s && (!strncmp(s, "http://", 7) || !strncmp(s, "https://", 8)) && strlen(s) < 256;
}

/* Copies of the config file's values live here for the command's run. */
typedef struct config_text {
    cJSON *json;
    char *strs[NDEFS];
} config_text;

static void config_text_free(config_text *c)
{
    for (size_t i = 0; i < NDEFS; i++)
        free(c->strs[i]);
    cJSON_Delete(c->json);
}

/* Fill the settings the command line left unset from the config file. */
static int load_config(const char *path, enum unit_kind k, unit_settings *s, const bool *given,
                       config_text *ct, const char *cmd)
{
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = { 0 };
    if (ao_file_read(path, &b, &err)) {
        fprintf(stderr, "%s: config %s: %s\n", cmd, path, err.msg);
        ao_buf_free(&b);
        return 2;
    }
    ct->json = cJSON_ParseWithLength((const char *)b.data, b.len);
    ao_buf_free(&b);
    if (!cJSON_IsObject(ct->json)) {
        fprintf(stderr, "%s: config %s: not a JSON object\n", cmd, path);
        return 2;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, ct->json) {
        const setting_def *d = find_def(e->string, k);
        if (!d || !strcmp(d->name, "config")) {
            fprintf(stderr, "%s: config %s: unknown setting \"%s\"\n", cmd, path, e->string);
            return 2;
        }
        size_t idx = (size_t)(d - defs);
        if (given[idx])
            continue;
        char *field = (char *)s + d->off;
        if (d->is_bool) {
            if (!cJSON_IsBool(e)) {
                fprintf(stderr, "%s: config %s: \"%s\" must be true or false\n", cmd, path,
                        e->string);
                return 2;
            }
            *(bool *)field = cJSON_IsTrue(e);
            continue;
        }
        char num[32];
        const char *text = NULL;
        if (cJSON_IsString(e)) {
            text = e->valuestring;
        } else if (cJSON_IsNumber(e) && e->valuedouble >= 0 && e->valuedouble < 1e15 &&
                   e->valuedouble == (double)(unsigned long long)e->valuedouble) {
            snprintf(num, sizeof num, "%llu", (unsigned long long)e->valuedouble);
            text = num;
        } else {
            fprintf(stderr, "%s: config %s: \"%s\" must be a string or a whole number\n", cmd,
                    path, e->string);
            return 2;
        }
        if (!(ct->strs[idx] = strdup(text))) {
            fprintf(stderr, "%s: out of memory\n", cmd);
            return 2;
        }
        *(const char **)field = ct->strs[idx];
    }
    return 0;
}

/* mkdir -p */
static int make_dirs(const char *path, ao_error *err)
{
    char tmp[PATH_MAX];
    if (strlen(path) >= sizeof tmp)
        return ao_err_set(err, AO_EINVAL, "path too long: %s", path);
    strcpy(tmp, path);
    for (char *p = tmp + 1;; p++) {
        if (*p && *p != '/')
            continue;
        char c = *p;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return ao_err_set(err, AO_EIO, "cannot create %s: %s", tmp, strerror(errno));
        *p = c;
        if (!c)
            break;
    }
    return AO_OK;
}

int cli_tier_choose(const char *flag, const char **label, const char **source, ao_error *err)
{
    const char *env = getenv("AO_WASM_TIER");
    const char *v = flag ? flag : (env && *env) ? env : "compiled";
    *source = flag ? "--tier" : (env && *env) ? "AO_WASM_TIER" : "default";
    wasm_tier t;
    int rc = wasm_tier_parse(v, &t, err);
    if (rc != AO_OK)
        return rc;
    wasm_tier_set_default(t);
    *label = t == WASM_TIER_COMPILED ? "compiled" : "interp";
    return AO_OK;
}

int cli_wallet_load_or_make(const char *path, crypto_key_type type, crypto_wallet **out,
                            bool *made, ao_error *err)
{
    *made = false;
    if (access(path, F_OK) == 0) {
        int r = crypto_wallet_load(path, out, err);
        if (r)
            ao_err_wrap(err, "wallet %s", path);
        return r;
    }
    int r = crypto_wallet_generate(type, out, err);
    if (!r)
        r = crypto_wallet_save(*out, path, err);
    if (r) {
        crypto_wallet_free(*out);
        *out = NULL;
        return ao_err_wrap(err, "making the wallet %s", path);
    }
    *made = true;
    return AO_OK;
}

/* The Scheduler-Location record (PROTOCOL.md §5) signed by the SU wallet,
 * put through the data client. */
static int publish_location(const crypto_wallet *wallet, const weave_client *data,
                            const char *url, uint64_t ttl, ao_error *err)
{
    char ttls[24];
    snprintf(ttls, sizeof ttls, "%llu", (unsigned long long)ttl);
    item_tag tags[4] = {
        { (const uint8_t *)"Data-Protocol", 13, (const uint8_t *)"ao", 2 },
        { (const uint8_t *)"Type", 4, (const uint8_t *)"Scheduler-Location", 18 },
        { (const uint8_t *)"Url", 3, (const uint8_t *)url, strlen(url) },
        { (const uint8_t *)"Time-To-Live", 12, (const uint8_t *)ttls, strlen(ttls) },
    };
    uint8_t anchor[32];   /* fresh per record: two records never share an id */
    struct { int64_t now, mono; pid_t pid; } seed = { ao_now_ms(), ao_mono_ms(), getpid() };
    crypto_sha256(&seed, sizeof seed, anchor);
    item_fields f = { NULL, anchor, tags, 4, NULL, 0 };
    ao_buf raw;
    ao_buf_init(&raw);
    int r = item_sign(wallet, &f, &raw, NULL, err);
    if (!r)
        r = data->put(data->ctx, raw.data, raw.len, NULL, err);
    ao_buf_free(&raw);
    if (r)
        ao_err_wrap(err, "publishing the Scheduler-Location record");
    return r;
}

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

/* Everything one running unit holds, freed by unit_stop. */
typedef struct unit_run {
    crypto_wallet *wallet;
    weave_client data;
    bool have_data;
    cu_su_client cs;
    bool have_cs;
    su_log *log;                 /* --schedule-from-data */
    mu_su_client ms;
    bool have_ms;
    mu_cu_client mc;
    bool have_mc;
    su *s;
    cu *c;
    mu *m;
    net_server *srv;
} unit_run;

static void unit_stop(unit_run *u)
{
    net_server_stop(u->srv);
    if (u->m)
        mu_close(u->m);
    if (u->c)
        cu_close(u->c);
    if (u->s)
        su_close(u->s);
    if (u->have_mc)
        net_mu_cu_client_free(&u->mc);
    if (u->have_ms)
        net_mu_su_client_free(&u->ms);
    if (u->have_cs)
        net_cu_su_client_free(&u->cs);
    su_log_close(u->log);
    if (u->have_data)
        net_weave_client_free(&u->data);
    crypto_wallet_free(u->wallet);
}

static int unit_main(enum unit_kind k, int argc, char **argv)
{
    char cmd[16];
    snprintf(cmd, sizeof cmd, "ao %s", unit_names[k]);
    unit_settings s = { 0 };
    bool given[NDEFS] = { false };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage_print(stdout, k);
            return 0;
        }
        const setting_def *d = strncmp(a, "--", 2) ? NULL : find_def(a + 2, k);
        if (!d) {
            fprintf(stderr, "%s: unexpected argument '%s'\n\n", cmd, a);
            usage_print(stderr, k);
            return 2;
        }
        given[d - defs] = true;
        char *field = (char *)&s + d->off;
        if (d->is_bool) {
            *(bool *)field = true;
            continue;
        }
        if (i + 1 >= argc || !*argv[i + 1]) {
            fprintf(stderr, "%s: option %s needs a value\n\n", cmd, a);
            usage_print(stderr, k);
            return 2;
        }
        *(const char **)field = argv[++i];
    }
    config_text ct = { 0 };
    int rc = 2;
    if (s.config && load_config(s.config, k, &s, given, &ct, cmd))
        goto out;

    /* check every value before anything starts */
    static const char *const def_ports[] = { "4001", "4002", "4003" };
    const char *bad = NULL, *bad_val = NULL;
#define BAD(flag, val)    \
    do {                  \
        bad = flag;       \
        bad_val = val;    \
        goto bad_value;   \
    } while (0)
    unsigned long port = 0, ttl = 86400000UL, threads = 0, workers = 0, attempts = 0,
                  backoff = 0, backoff_max = 0;
    ao_log_level level = AO_LOG_INFO;
    if (!s.gateway) {
        fprintf(stderr, "%s: --gateway URL is required\n\n", cmd);
        usage_print(stderr, k);
        goto out;
    }
    if (!is_http_url(s.gateway))
        BAD("--gateway", s.gateway);
    if (!parse_ulong(s.port ? s.port : def_ports[k], 65535, &port))
        BAD("--port", s.port);
    if (s.log_level && ao_log_level_parse(s.log_level, &level))
        BAD("--log-level", s.log_level);
    if (s.url && !is_http_url(s.url))
        BAD("--url", s.url);
    if (s.location_ttl && (!parse_ulong(s.location_ttl, 1UL << 40, &ttl) || ttl == 0))
        BAD("--location-ttl", s.location_ttl);
    if (s.wallet_type && strcmp(s.wallet_type, "ed25519") && strcmp(s.wallet_type, "rsa"))
        BAD("--wallet-type", s.wallet_type);
    if (s.su_url && !is_http_url(s.su_url))
        BAD("--su-url", s.su_url);
    if (s.su_url && s.schedule_from_data) {
        fprintf(stderr, "%s: --su-url and --schedule-from-data exclude each other\n", cmd);
        return 2;
    }
    if (s.threads && (!parse_ulong(s.threads, 256, &threads) || threads == 0))
        BAD("--threads", s.threads);
    const char *tier = NULL, *tier_src = NULL;
    if (k == UNIT_CU) {
        ao_error terr = { 0 };
        if (cli_tier_choose(s.tier, &tier, &tier_src, &terr) != AO_OK)
            BAD(s.tier ? "--tier" : "AO_WASM_TIER", s.tier ? s.tier : getenv("AO_WASM_TIER"));
    }
    if (k == UNIT_MU && !s.cu_url) {
        fprintf(stderr, "%s: --cu-url URL is required\n\n", cmd);
        usage_print(stderr, k);
        goto out;
    }
    if (s.cu_url && !is_http_url(s.cu_url))
        BAD("--cu-url", s.cu_url);
    if (s.workers && (!parse_ulong(s.workers, 256, &workers) || workers == 0))
        BAD("--workers", s.workers);
    if (s.max_attempts && (!parse_ulong(s.max_attempts, 1000000, &attempts) || attempts == 0))
        BAD("--max-attempts", s.max_attempts);
    if (s.backoff && (!parse_ulong(s.backoff, 3600000, &backoff) || backoff == 0))
        BAD("--backoff", s.backoff);
    if (s.backoff_max && (!parse_ulong(s.backoff_max, 3600000, &backoff_max) || backoff_max == 0))
        BAD("--backoff-max", s.backoff_max);
#undef BAD
    ao_log_configure(level, s.json);
    if (tier)
        ao_log(AO_LOG_INFO, "cu", "WebAssembly tier: %s (%s)", tier, tier_src);
    const char *host = s.host ? s.host : "127.0.0.1";
    char data_def[16];
    snprintf(data_def, sizeof data_def, ".ao-%s", unit_names[k]);
    const char *dir = s.data ? s.data : data_def;
    char wallet_path[PATH_MAX];
    if (s.wallet)
        snprintf(wallet_path, sizeof wallet_path, "%s", s.wallet);
    else
        snprintf(wallet_path, sizeof wallet_path, "%s/wallet.json", dir);

    /* Block the signals first so that the unit threads inherit the mask
     * and only this thread receives them. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    unit_run u = { 0 };
    ao_error err = { 0 };
    bool made = false;
    crypto_key_type wtype = CRYPTO_KEY_ARWEAVE;
    if (k == UNIT_SU && !(s.wallet_type && !strcmp(s.wallet_type, "rsa")))
        wtype = CRYPTO_KEY_ED25519;
    char unit_dir[PATH_MAX];
    snprintf(unit_dir, sizeof unit_dir, "%s/%s", dir, unit_names[k]);
    int r = make_dirs(dir, &err);
    if (!r)
        r = cli_wallet_load_or_make(wallet_path, wtype, &u.wallet, &made, &err);
    if (!r && made)
        ao_log(AO_LOG_INFO, unit_names[k], "made the wallet %s", wallet_path);
    if (!r)
        r = net_weave_client_http(s.gateway, &u.data, &err);
    u.have_data = !r;
    net_server_options no = { .host = host, .port = (uint16_t)port,
                              .threads = k == UNIT_CU ? 0 : 8 };
    if (r)
        goto fail;
    if (k == UNIT_SU) {
        su_options so = { 0 };
        so.dir = unit_dir;
        so.data = &u.data;
        so.wallet = u.wallet;
        so.location_ttl_ms = ttl;
        if ((r = su_open(&so, &u.s, &err)) || (r = net_su_start(u.s, &no, &u.srv, &err)))
            goto fail;
    } else if (k == UNIT_CU) {
        if (s.schedule_from_data) {
            if ((r = su_log_open(&u.data, &u.log, &err)))
                goto fail;
            node_cu_su_client_log(u.log, &u.cs);
        } else {
            if ((r = net_cu_su_client_http(&u.data, s.su_url, &u.cs, &err)))
                goto fail;
            u.have_cs = true;
        }
        cu_options co = { 0 };
        co.dir = unit_dir;
        co.wallet = u.wallet;
        co.su = u.cs;
        co.data = u.data;
        co.threads = (unsigned)threads;
        co.checkpoint_to_data = s.checkpoint_to_data;
        if ((r = cu_open(&co, &u.c, &err)) || (r = net_cu_start(u.c, &no, &u.srv, &err)))
            goto fail;
    } else {
        if ((r = net_mu_su_client_http(&u.data, s.su_url, &u.ms, &err)))
            goto fail;
        u.have_ms = true;
        if ((r = net_mu_cu_client_http(s.cu_url, &u.mc, &err)))
            goto fail;
        u.have_mc = true;
        mu_options mo = { 0 };
        mo.dir = unit_dir;
        mo.wallet = u.wallet;
        mo.su = u.ms;
        mo.cu = u.mc;
        mo.data = u.data;
        mo.workers = (unsigned)workers;
        mo.max_attempts = (uint32_t)attempts;
        mo.backoff_ms = (uint32_t)backoff;
        mo.backoff_max_ms = (uint32_t)backoff_max;
        if ((r = mu_open(&mo, &u.m, &err)) || (r = net_mu_start(u.m, &no, &u.srv, &err)))
            goto fail;
    }
    char url[300];
    snprintf(url, sizeof url, "http://%s:%u", !strcmp(host, "0.0.0.0") ? "127.0.0.1" : host,
             (unsigned)net_server_port(u.srv));
    /* the SU's location names its public URL, known once the face is up */
    const char *public_url = s.url ? s.url : url;
    if (k == UNIT_SU && (r = publish_location(u.wallet, &u.data, public_url, ttl, &err)))
        goto fail;
    char addr[AO_ADDRESS_MAX];
    size_t olen;
    const uint8_t *owner = crypto_wallet_owner(u.wallet, &olen);
    crypto_owner_address_b64(owner, olen, addr);
    printf("listening on %s\n", url);
    printf("address %s\n", addr);
    if (k == UNIT_SU)
        printf("scheduler location %s\n", public_url);
    printf("ready (SIGINT or SIGTERM stops)\n");
    fflush(stdout);
    ao_log(AO_LOG_INFO, unit_names[k], "%s up on %s (address %s, gateway %s)", cmd, url, addr,
           s.gateway);

    sigset_t wait_set = old;
    sigdelset(&wait_set, SIGINT);
    sigdelset(&wait_set, SIGTERM);
    while (!stop_signal)
        sigsuspend(&wait_set);
    fprintf(stderr, "%s: %s, shutting down\n", cmd, stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
    unit_stop(&u);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    fprintf(stderr, "%s: stopped\n", cmd);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "%s: %s\n", cmd, err.msg);
    unit_stop(&u);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    goto out;
bad_value:
    fprintf(stderr, "%s: option %s needs a valid value (got '%s')\n\n", cmd, bad,
            bad_val ? bad_val : "");
    usage_print(stderr, k);
out:
    config_text_free(&ct);
    return rc;
}

int cli_su_main(int argc, char **argv)
{
    return unit_main(UNIT_SU, argc, argv);
}

int cli_cu_main(int argc, char **argv)
{
    return unit_main(UNIT_CU, argc, argv);
}

int cli_mu_main(int argc, char **argv)
{
    return unit_main(UNIT_MU, argc, argv);
}
