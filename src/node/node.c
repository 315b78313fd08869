/*
 * node.c - `ao up` as a library: opens the weave and serves it as the
 * gateway, opens the SU, CU and MU wired to each other in-process
 * (node_clients.c), starts their HTTP faces, makes the units' wallets on
 * first run, publishes the aos module and the SU's Scheduler-Location, and
 * writes DIR/node.json (see node.h).
 */
#include "node/node.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/net.h"
#include "node/node_internal.h"

struct node {
    char *dir;
    int lock_fd;              /* DIR/lock, flock'd while the node runs */
    weave *w;
    weave_client data;
    weave_client su_data;     /* puts without a second signature check */
    weave_client data_fb, su_data_fb;   /* the same reading through to the upstream */
    net_mirror *mirror;
    crypto_wallet *su_wallet, *mu_wallet, *cu_wallet, *mirror_wallet;
    su *s;
    cu *c;
    mu *m;
    net_gateway *gw;
    net_server *su_srv, *cu_srv, *mu_srv;
    node_info info;
};

/* mkdir that accepts an existing folder. */
static int make_dir(const char *path, mode_t mode, ao_error *err)
{
    if (mkdir(path, mode) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return AO_OK;
        return ao_err_set(err, AO_EIO, "%s exists and is not a folder", path);
    }
    return ao_err_set(err, AO_EIO, "cannot create %s: %s", path, strerror(errno));
}

/* mkdir -p */
static int make_dirs(const char *path, ao_error *err)
{
    char tmp[PATH_MAX];
    if (strlen(path) >= sizeof tmp)
        return ao_err_set(err, AO_EINVAL, "path too long: %s", path);
    strcpy(tmp, path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        int r = make_dir(tmp, 0755, err);
        *p = '/';
        if (r)
            return r;
    }
    return make_dir(tmp, 0755, err);
}

static int path_join(char *out, size_t cap, const char *a, const char *b, ao_error *err)
{
    int n = snprintf(out, cap, "%s/%s", a, b);
    if (n < 0 || (size_t)n >= cap)
        return ao_err_set(err, AO_EINVAL, "path too long: %s/%s", a, b);
    return AO_OK;
}

/* Load DIR/wallets/NAME.json, or generate and save it (0600). */
static int wallet_load_or_make(const char *dir, const char *name, crypto_key_type type,
                               crypto_wallet **out, ao_error *err)
{
    char path[PATH_MAX];
    char file[64];
    snprintf(file, sizeof file, "wallets/%s.json", name);
    int r = path_join(path, sizeof path, dir, file, err);
    if (r)
        return r;
    if (access(path, F_OK) == 0) {
        r = crypto_wallet_load(path, out, err);
        if (r)
            ao_err_wrap(err, "%s wallet %s", name, path);
        return r;
    }
    r = crypto_wallet_generate(type, out, err);
    if (!r)
        r = crypto_wallet_save(*out, path, err);
    if (r) {
        crypto_wallet_free(*out);
        *out = NULL;
        return ao_err_wrap(err, "making the %s wallet", name);
    }
    ao_log(AO_LOG_INFO, "node", "made the %s wallet %s", name, path);
    return AO_OK;
}

static void wallet_address(const crypto_wallet *w, char out[64])
{
    size_t len;
    const uint8_t *owner = crypto_wallet_owner(w, &len);
    crypto_owner_address_b64(owner, len, out);
}

/* The aos module: the given path, else aos.wasm beside the binary (or one
 * folder up, for build/asan/ao), else build/aos.wasm from here. */
static int find_aos_module(const char *given, char out[PATH_MAX], ao_error *err)
{
    if (given) {
        if (strlen(given) >= PATH_MAX)
            return ao_err_set(err, AO_EINVAL, "aos module path too long");
        strcpy(out, given);
        return AO_OK;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            const char *cands[] = { "aos.wasm", "../aos.wasm", "build/aos.wasm" };
            for (size_t i = 0; i < 3; i++) {
                int k = snprintf(out, PATH_MAX, "%s/%s", exe, cands[i]);
                if (k > 0 && k < PATH_MAX && access(out, R_OK) == 0)
                    return AO_OK;
            }
        }
    }
    strcpy(out, "build/aos.wasm");
    if (access(out, R_OK) == 0)
        return AO_OK;
    return ao_err_set(err, AO_ENOTFOUND,
                      "aos module not found beside the binary nor at build/aos.wasm (run make)");
}

static const char *url_host(const char *host)
{
    /* a wildcard bind is reached through loopback on this machine */
    return (!strcmp(host, "0.0.0.0")) ? "127.0.0.1" : host;
}

static int write_node_json(node *n, ao_error *err)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return ao_err_set(err, AO_ENOMEM, "node.json");
    const node_info *i = &n->info;
    cJSON_AddStringToObject(j, "gateway", i->gateway_url);
    cJSON_AddStringToObject(j, "su", i->su_url);
    cJSON_AddStringToObject(j, "cu", i->cu_url);
    cJSON_AddStringToObject(j, "mu", i->mu_url);
    cJSON_AddStringToObject(j, "suAddress", i->su_address);
    cJSON_AddStringToObject(j, "muAddress", i->mu_address);
    cJSON_AddStringToObject(j, "cuAddress", i->cu_address);
    cJSON_AddStringToObject(j, "aosModule", i->aos_module);
    cJSON_AddNumberToObject(j, "pid", (double)getpid());
    if (i->upstream[0]) {
        cJSON_AddStringToObject(j, "upstream", i->upstream);
        cJSON_AddStringToObject(j, "mirrorAddress", i->mirror_address);
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text)
        return ao_err_set(err, AO_ENOMEM, "node.json");
    char path[PATH_MAX];
    int r = path_join(path, sizeof path, n->dir, "node.json", err);
    if (!r) {
        size_t len = strlen(text);
        text[len] = '\n';   /* replaces the NUL: written by length */
        r = ao_file_write_atomic(path, text, len + 1, 0644, err);
    }
    free(text);
    return r;
}

/* One node per data folder: DIR/lock is held (flock) while it runs, so a
 * second `ao up` on the same folder is refused instead of sharing the
 * stores. */
static int lock_dir(node *n, ao_error *err)
{
    char path[PATH_MAX];
    int r = path_join(path, sizeof path, n->dir, "lock", err);
    if (r)
        return r;
    n->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (n->lock_fd < 0)
        return ao_err_set(err, AO_EIO, "cannot open %s: %s", path, strerror(errno));
    if (flock(n->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char other[32] = "";
        ssize_t k = pread(n->lock_fd, other, sizeof other - 1, 0);
        other[k > 0 ? k : 0] = 0;
        other[strcspn(other, "\n")] = 0;
        return ao_err_set(err, AO_ESTATE, "%s is in use by another node (pid %s)", n->dir,
                          *other ? other : "?");
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(n->lock_fd, 0) != 0 || pwrite(n->lock_fd, pid, (size_t)len, 0) != len)
        return ao_err_set(err, AO_EIO, "cannot write %s: %s", path, strerror(errno));
    return AO_OK;
}

/* The upstream: its wallet, the uploader, and the units' data clients
 * reading through to it. */
static int start_mirror(node *n, const node_options *opt, ao_error *err)
{
    int r;
    if (opt->upstream_wallet) {
        if ((r = crypto_wallet_load(opt->upstream_wallet, &n->mirror_wallet, err)))
            return ao_err_wrap(err, "upstream wallet %s", opt->upstream_wallet);
    } else if ((r = wallet_load_or_make(n->dir, "mirror", CRYPTO_KEY_ARWEAVE, &n->mirror_wallet,
                                        err))) {
        return r;
    }
    net_mirror_options mo = { .upstream = opt->upstream, .wallet = n->mirror_wallet,
                              .poll_ms = opt->mirror_poll_ms };
    if ((r = net_mirror_start(n->w, &mo, &n->mirror, err)))
        return ao_err_wrap(err, "upstream mirror");
    snprintf(n->info.mirror_address, sizeof n->info.mirror_address, "%s",
             net_mirror_address(n->mirror));
    snprintf(n->info.upstream, sizeof n->info.upstream, "%s", opt->upstream);
    weave_client local = n->data, su_local = n->su_data;
    if ((r = net_weave_client_fallback(&local, n->w, opt->upstream, &n->data_fb, err)) ||
        (r = net_weave_client_fallback(&su_local, n->w, opt->upstream, &n->su_data_fb, err)))
        return r;
    n->data = n->data_fb;
    n->su_data = n->su_data_fb;
    ao_log(AO_LOG_INFO, "node", "writing through to %s as %s", opt->upstream,
           n->info.mirror_address);
    return AO_OK;
}

static uint16_t port_or(uint16_t p, uint16_t def, bool any)
{
    if (any)
        return 0;
    return p ? p : def;
}

int node_start(const node_options *opt, node **out, ao_error *err)
{
    *out = NULL;
    if (!opt || !opt->data_dir || !*opt->data_dir)
        return ao_err_set(err, AO_EINVAL, "node: a data folder is required");
    const char *host = opt->host && *opt->host ? opt->host : "127.0.0.1";
    crypto_key_type su_type = CRYPTO_KEY_ED25519;
    if (opt->su_wallet_type && !strcmp(opt->su_wallet_type, "rsa"))
        su_type = CRYPTO_KEY_ARWEAVE;
    else if (opt->su_wallet_type && strcmp(opt->su_wallet_type, "ed25519"))
        return ao_err_set(err, AO_EINVAL, "node: unknown SU wallet type '%s' (ed25519 or rsa)",
                          opt->su_wallet_type);
    char aos_path[PATH_MAX];
    int r = find_aos_module(opt->aos_module_path, aos_path, err);
    if (r)
        return r;

    node *n = calloc(1, sizeof *n);
    if (!n || !(n->dir = strdup(opt->data_dir))) {
        free(n);
        return ao_err_set(err, AO_ENOMEM, "node");
    }
    n->lock_fd = -1;
    char path[PATH_MAX];
    const char *subs[] = { "wallets", "weave", "su", "cu", "mu" };
    r = make_dirs(n->dir, err);
    if (!r)
        r = lock_dir(n, err);
    for (size_t i = 0; !r && i < sizeof subs / sizeof subs[0]; i++) {
        r = path_join(path, sizeof path, n->dir, subs[i], err);
        if (!r)
            r = make_dir(path, i == 0 ? 0700 : 0755, err);
    }
    if (r)
        goto fail;

    /* wallets */
    if ((r = wallet_load_or_make(n->dir, "su", su_type, &n->su_wallet, err)) ||
        /* the MU signs every push: Ed25519 (~45 us) rather than RSA-4096
         * (~4 ms); aos trusts it by address (Authority) either way */
        (r = wallet_load_or_make(n->dir, "mu", CRYPTO_KEY_ED25519, &n->mu_wallet, err)) ||
        (r = wallet_load_or_make(n->dir, "cu", CRYPTO_KEY_ARWEAVE, &n->cu_wallet, err)))
        goto fail;

    /* the weave and the gateway */
    weave_options wo;
    weave_options_default(&wo);
    if (opt->block_interval_ms)
        wo.block_interval_ms = opt->block_interval_ms;
    wo.mirror = opt->upstream != NULL;
    path_join(path, sizeof path, n->dir, "weave", NULL);
    if ((r = weave_open(path, &wo, &n->w, err))) {
        ao_err_wrap(err, "weave %s", path);
        goto fail;
    }
    weave_client_local(n->w, &n->data);
    weave_client_local_verified(n->w, &n->su_data);
    if (opt->upstream && (r = start_mirror(n, opt, err)))
        goto fail;
    net_gateway_options go = { .host = host, .mirror = n->mirror,
                               .port = port_or(opt->gateway_port, NODE_DEFAULT_GATEWAY_PORT,
                                               opt->any_ports) };
    if ((r = net_gateway_start(n->w, &go, &n->gw, err))) {
        ao_err_wrap(err, "gateway on %s:%u", host, (unsigned)go.port);
        goto fail;
    }
    snprintf(n->info.gateway_url, sizeof n->info.gateway_url, "http://%s:%u", url_host(host),
             (unsigned)net_gateway_port(n->gw));

    /* the SU: with a fixed port its URL is known now and the SU publishes
     * its location at open; with any port, after its face is up. */
    uint16_t su_port = port_or(opt->su_port, NODE_DEFAULT_SU_PORT, opt->any_ports);
    char su_url[128];
    snprintf(su_url, sizeof su_url, "http://%s:%u", url_host(host), (unsigned)su_port);
    path_join(path, sizeof path, n->dir, "su", NULL);
    su_options so = { 0 };
    so.dir = path;
    so.data = &n->su_data;   /* the SU verifies what it stores */
    so.wallet = n->su_wallet;
    so.url = opt->any_ports ? NULL : su_url;
    if ((r = su_open(&so, &n->s, err))) {
        ao_err_wrap(err, "SU");
        goto fail;
    }
    net_server_options no = { .host = host, .port = su_port };
    if ((r = net_su_start(n->s, &no, &n->su_srv, err))) {
        ao_err_wrap(err, "SU face on %s:%u", host, (unsigned)no.port);
        goto fail;
    }
    snprintf(n->info.su_url, sizeof n->info.su_url, "http://%s:%u", url_host(host),
             (unsigned)net_server_port(n->su_srv));
    if (opt->any_ports &&
        (r = weave_scheduler_location_publish(n->w, n->su_wallet, n->info.su_url, 86400000u,
                                              NULL, err))) {
        ao_err_wrap(err, "Scheduler-Location");
        goto fail;
    }

    /* the aos module, signed by the SU wallet */
    path_join(path, sizeof path, n->dir, "aos-module.json", NULL);
    if ((r = node_module_publish(n->w, n->su_wallet, aos_path, path, n->info.aos_module, err)))
        goto fail;

    /* the CU */
    path_join(path, sizeof path, n->dir, "cu", NULL);
    cu_options co = { 0 };
    co.dir = path;
    co.wallet = n->cu_wallet;
    node_cu_su_client_local(n->s, &co.su);
    co.data = n->data;
    co.threads = opt->cu_threads;
    co.memory_budget = opt->cu_memory_budget;
    if ((r = cu_open(&co, &n->c, err))) {
        ao_err_wrap(err, "CU");
        goto fail;
    }
    no.port = port_or(opt->cu_port, NODE_DEFAULT_CU_PORT, opt->any_ports);
    if ((r = net_cu_start(n->c, &no, &n->cu_srv, err))) {
        ao_err_wrap(err, "CU face on %s:%u", host, (unsigned)no.port);
        goto fail;
    }
    snprintf(n->info.cu_url, sizeof n->info.cu_url, "http://%s:%u", url_host(host),
             (unsigned)net_server_port(n->cu_srv));

    /* the MU */
    path_join(path, sizeof path, n->dir, "mu", NULL);
    mu_options mo = { 0 };
    mo.dir = path;
    mo.wallet = n->mu_wallet;
    node_mu_su_client_local(n->s, &mo.su);
    node_mu_cu_client_local(n->c, &mo.cu);
    mo.data = n->data;
    if ((r = mu_open(&mo, &n->m, err))) {
        ao_err_wrap(err, "MU");
        goto fail;
    }
    no.port = port_or(opt->mu_port, NODE_DEFAULT_MU_PORT, opt->any_ports);
    if ((r = net_mu_start(n->m, &no, &n->mu_srv, err))) {
        ao_err_wrap(err, "MU face on %s:%u", host, (unsigned)no.port);
        goto fail;
    }
    snprintf(n->info.mu_url, sizeof n->info.mu_url, "http://%s:%u", url_host(host),
             (unsigned)net_server_port(n->mu_srv));

    wallet_address(n->su_wallet, n->info.su_address);
    wallet_address(n->mu_wallet, n->info.mu_address);
    wallet_address(n->cu_wallet, n->info.cu_address);
    if ((r = write_node_json(n, err)))
        goto fail;
    ao_log(AO_LOG_INFO, "node", "up: gateway %s, su %s, cu %s, mu %s", n->info.gateway_url,
           n->info.su_url, n->info.cu_url, n->info.mu_url);
    *out = n;
    return AO_OK;
fail:
    node_stop(n);
    return r;
}

void node_stop(node *n)
{
    if (!n)
        return;
    /* faces first, so no request reaches a closed unit */
    net_server_stop(n->mu_srv);
    net_server_stop(n->cu_srv);
    net_server_stop(n->su_srv);
    net_gateway_stop(n->gw);
    if (n->m)
        mu_close(n->m);
    if (n->c)
        cu_close(n->c);
    if (n->s)
        su_close(n->s);
    net_mirror_stop(n->mirror);
    net_weave_client_fallback_free(&n->data_fb);
    net_weave_client_fallback_free(&n->su_data_fb);
    if (n->w)
        weave_close(n->w);
    crypto_wallet_free(n->mirror_wallet);
    crypto_wallet_free(n->su_wallet);
    crypto_wallet_free(n->mu_wallet);
    crypto_wallet_free(n->cu_wallet);
    if (n->lock_fd >= 0)
        close(n->lock_fd);   /* releases the flock */
    if (n->dir)
        ao_log(AO_LOG_INFO, "node", "stopped (%s)", n->dir);
    free(n->dir);
    free(n);
}

void node_get_info(const node *n, node_info *out)
{
    *out = n->info;
}
