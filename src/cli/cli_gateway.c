/*
 * cli_gateway.c - `ao gateway`: serve a local weave as an Arweave-compatible
 * HTTP gateway (GraphQL, /raw, /tx, /info, uploads) until SIGINT or
 * SIGTERM, then shut down cleanly (requests in flight finish, the weave is
 * closed after its pending writes).
 */
#include "cli.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "weave/weave.h"

static const char usage[] =
    "usage: ao gateway --data DIR [--port P] [--host ADDR] [--block-interval MS]\n"
    "                  [--threads N] [--upstream URL [--upstream-wallet FILE]\n"
    "                  [--mirror-poll MS]]\n"
    "\n"
    "Serves the weave in DIR (created if missing) over HTTP until SIGINT or\n"
    "SIGTERM: POST /graphql, POST /tx, GET /info, /raw/{id}, /{id}, /tx/{id},\n"
    "/tx/{id}/status, /tx/{id}/data, /block/height/{h}.\n"
    "\n"
    "  --data DIR           the weave's folder (required)\n"
    "  --port P             TCP port (default 1984; 0 = any free port)\n"
    "  --host ADDR          IPv4 address to listen on (default 127.0.0.1)\n"
    "  --block-interval MS  seal a block every MS milliseconds (default 2000;\n"
    "                       0 = a block per upload)\n"
    "  --threads N          HTTP worker threads (default 4)\n"
    "  --upstream URL       an Arweave gateway: write every item stored here\n"
    "                       through to it as bundles in L1 transactions\n"
    "                       (progress: GET /mirror, ao status)\n"
    "  --upstream-wallet F  RSA wallet paying upstream (default\n"
    "                       DIR/mirror-wallet.json, made on first run)\n"
    "  --mirror-poll MS     upload and confirmation poll interval (default 500)\n"
    "\n"
    "Prints \"listening on http://ADDR:PORT\" once it serves.\n";

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return false;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

int cli_gateway_main(int argc, char **argv)
{
    const char *dir = NULL, *host = "127.0.0.1", *upstream = NULL, *up_wallet = NULL;
    unsigned long port = 1984, interval = 2000, threads = 4, poll = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 0;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;
        if (!strcmp(a, "--data"))
            ok = (dir = v) != NULL;
        else if (!strcmp(a, "--host"))
            ok = (host = v) != NULL;
        else if (!strcmp(a, "--port"))
            ok = parse_uint(v, 65535, &port);
        else if (!strcmp(a, "--block-interval"))
            ok = parse_uint(v, 86400000UL, &interval);
        else if (!strcmp(a, "--threads"))
            ok = parse_uint(v, 256, &threads) && threads > 0;
        else if (!strcmp(a, "--upstream"))
            ok = (upstream = v) != NULL && (!strncmp(v, "http://", 7) || !strncmp(v, "https://", 8));
        else if (!strcmp(a, "--upstream-wallet"))
            ok = (up_wallet = v) != NULL && *v;
        else if (!strcmp(a, "--mirror-poll"))
            ok = parse_uint(v, 3600000UL, &poll) && poll > 0;
        else {
            fprintf(stderr, "ao gateway: unexpected argument '%s'\n\n%s", a, usage);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "ao gateway: option %s needs a valid value\n\n%s", a, usage);
            return 2;
        }
        i++;
    }
    if (!dir || !*dir) {
        fprintf(stderr, "ao gateway: --data DIR is required\n\n%s", usage);
        return 2;
    }
    weave_options wo;
    weave_options_default(&wo);
    wo.block_interval_ms = (uint32_t)interval;
    wo.mirror = upstream != NULL;
    ao_error err;
    weave *w = NULL;
    if (weave_open(dir, &wo, &w, &err)) {
        fprintf(stderr, "ao gateway: %s: %s\n", dir, err.msg);
        return 2;
    }
    crypto_wallet *mw = NULL;
    net_mirror *mirror = NULL;
    if (upstream) {
        char path[4096];
        snprintf(path, sizeof path, "%s/mirror-wallet.json", dir);
        bool made = false;
        net_mirror_options mo = { .upstream = upstream, .poll_ms = (uint32_t)poll };
        int r = cli_wallet_load_or_make(up_wallet ? up_wallet : path, CRYPTO_KEY_ARWEAVE, &mw,
                                        &made, &err);
        mo.wallet = mw;
        if (!r)
            r = net_mirror_start(w, &mo, &mirror, &err);
        if (r) {
            fprintf(stderr, "ao gateway: upstream mirror: %s\n", err.msg);
            crypto_wallet_free(mw);
            weave_close(w);
            return 2;
        }
        printf("upstream %s (paying address %s)\n", upstream, net_mirror_address(mirror));
    }
    /* Block the signals first so that the server threads inherit the mask
     * and only this thread receives them. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    signal(SIGPIPE, SIG_IGN);
    net_gateway_options no = { .host = host, .port = (uint16_t)port,
                               .threads = (unsigned)threads, .mirror = mirror };
    net_gateway *g = NULL;
    if (net_gateway_start(w, &no, &g, &err)) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        fprintf(stderr, "ao gateway: %s\n", err.msg);
        net_mirror_stop(mirror);
        crypto_wallet_free(mw);
        weave_close(w);
        return 2;
    }
    printf("listening on http://%s:%u\n", host, (unsigned)net_gateway_port(g));
    fflush(stdout);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigset_t wait_set = old;
    sigdelset(&wait_set, SIGINT);
    sigdelset(&wait_set, SIGTERM);
    while (!stop_signal)
        sigsuspend(&wait_set);
    fprintf(stderr, "ao gateway: %s, shutting down\n", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
    net_gateway_stop(g);
    net_mirror_stop(mirror);
    crypto_wallet_free(mw);
    weave_close(w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return 0;
}
