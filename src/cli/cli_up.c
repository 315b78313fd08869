/*
 * cli_up.c - `ao up`: a whole AO network in one process (src/node): the
 * gateway over the local weave, an SU, a CU and an MU on local ports,
 * until SIGINT or SIGTERM, then a clean stop (faces first, then MU, CU,
 * SU and the weave after their pending writes).
 */
#include "cli.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/node.h"
#include "wasm/wasm.h"

static const char usage[] =
    "usage: ao up [--data DIR] [--host ADDR] [--gateway-port P] [--su-port P]\n"
    "             [--cu-port P] [--mu-port P] [--any-ports] [--log-level L] [--json]\n"
    "             [--block-interval MS] [--aos-module FILE] [--su-wallet-type T]\n"
    "             [--cu-threads N] [--upstream URL] [--upstream-wallet FILE]\n"
    "             [--mirror-poll MS] [--tier T]\n"
    "\n"
    "Runs a whole AO network in one process until SIGINT or SIGTERM: an\n"
    "Arweave-style gateway over a local weave, a Scheduler Unit, a Compute\n"
    "Unit and a Messenger Unit, each on its own port. The first run makes the\n"
    "units' wallets in DIR/wallets and publishes the aos module; a restart\n"
    "keeps all state. DIR/node.json names every URL, the wallet addresses and\n"
    "the aos module id.\n"
    "\n"
    "  --data DIR           data folder (default .ao-data)\n"
    "  --host ADDR          IPv4 address to listen on (default 127.0.0.1)\n"
    "  --gateway-port P     gateway port (default 4000)\n"
    "  --su-port P          SU port (default 4001)\n"
    "  --cu-port P          CU port (default 4002)\n"
    "  --mu-port P          MU port (default 4003)\n"
    "  --any-ports          bind free ports instead (see node.json)\n"
    "  --log-level L        debug, info, warn, error or off (default info)\n"
    "  --json               log one JSON object per line\n"
    "  --block-interval MS  seal a weave block every MS ms (default 2000)\n"
    "  --aos-module FILE    the aos module to publish (default build/aos.wasm)\n"
    "  --su-wallet-type T   ed25519 (default) or rsa, for a new SU wallet\n"
    "  --cu-threads N       CU evaluation workers (default: one per core)\n"
    "  --upstream URL       an Arweave gateway: write everything stored through\n"
    "                       to it as bundles in L1 transactions, and read from it\n"
    "                       what is missing here (progress: GET {gateway}/mirror,\n"
    "                       ao status)\n"
    "  --upstream-wallet F  RSA wallet paying upstream (default DIR/wallets/\n"
    "                       mirror.json, made on first run)\n"
    "  --mirror-poll MS     upload and confirmation poll interval (default 500)\n"
    "  --tier T             the CU's WebAssembly tier: compiled (default, or\n"
    "                       $AO_WASM_TIER; each module runs on the interpreter\n"
    "                       until its native library is built in the\n"
    "                       background) or interp\n";

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
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

static bool parse_port(const char *s, uint16_t *out)
{
    unsigned long v;
    if (!parse_ulong(s, 65535, &v) || v == 0)
        return false;
    *out = (uint16_t)v;
    return true;
}

static const char *or_default(bool given)
{
    return given ? "" : " (default)";
}

int cli_up_main(int argc, char **argv)
{
    node_options o = { 0 };
    o.data_dir = ".ao-data";
    o.host = "127.0.0.1";
    o.gateway_port = NODE_DEFAULT_GATEWAY_PORT;
    o.su_port = NODE_DEFAULT_SU_PORT;
    o.cu_port = NODE_DEFAULT_CU_PORT;
    o.mu_port = NODE_DEFAULT_MU_PORT;
    o.su_wallet_type = "ed25519";
    o.block_interval_ms = 2000;
    const char *level_name = "info";
    const char *tier_flag = NULL;
    bool json = false;
    bool given[16] = { false };
    enum { G_DATA, G_HOST, G_GW, G_SU, G_CU, G_MU, G_LEVEL, G_BLOCK, G_AOS };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--json")) {
            json = true;
            continue;
        }
        if (!strcmp(a, "--any-ports")) {
            o.any_ports = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long num = 0;
        bool ok = true;
        if (!strcmp(a, "--data")) {
            ok = v && *v;
            o.data_dir = v;
            given[G_DATA] = true;
        } else if (!strcmp(a, "--host")) {
            ok = v && *v;
            o.host = v;
            given[G_HOST] = true;
        } else if (!strcmp(a, "--gateway-port")) {
            ok = parse_port(v, &o.gateway_port);
            given[G_GW] = true;
        } else if (!strcmp(a, "--su-port")) {
            ok = parse_port(v, &o.su_port);
            given[G_SU] = true;
        } else if (!strcmp(a, "--cu-port")) {
            ok = parse_port(v, &o.cu_port);
            given[G_CU] = true;
        } else if (!strcmp(a, "--mu-port")) {
            ok = parse_port(v, &o.mu_port);
            given[G_MU] = true;
        } else if (!strcmp(a, "--log-level")) {
            ao_log_level lv;
            ok = v && ao_log_level_parse(v, &lv) == AO_OK;
            level_name = v;
            given[G_LEVEL] = true;
        } else if (!strcmp(a, "--block-interval")) {
            ok = parse_ulong(v, 86400000UL, &num) && num > 0;
            o.block_interval_ms = (uint32_t)num;
            given[G_BLOCK] = true;
        } else if (!strcmp(a, "--aos-module")) {
            ok = v && *v;
            o.aos_module_path = v;
            given[G_AOS] = true;
        } else if (!strcmp(a, "--su-wallet-type")) {
            ok = v && (!strcmp(v, "ed25519") || !strcmp(v, "rsa"));
            o.su_wallet_type = v;
        } else if (!strcmp(a, "--upstream")) {
            ok = v && (!strncmp(v, "http://", 7) || !strncmp(v, "https://", 8));
            o.upstream = v;
        } else if (!strcmp(a, "--upstream-wallet")) {
            ok = v && *v;
            o.upstream_wallet = v;
        } else if (!strcmp(a, "--mirror-poll")) {
            ok = parse_ulong(v, 3600000UL, &num) && num > 0;
            o.mirror_poll_ms = (uint32_t)num;
        } else if (!strcmp(a, "--tier")) {
            wasm_tier t;
            ok = v && wasm_tier_parse(v, &t, NULL) == AO_OK;
            tier_flag = v;
        } else if (!strcmp(a, "--cu-threads")) {
            ok = parse_ulong(v, 256, &num) && num > 0;
            o.cu_threads = (unsigned)num;
        } else {
            fprintf(stderr, "ao up: unexpected argument '%s'\n\n%s", a, usage);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "ao up: option %s needs a valid value (got %s%s%s)\n\n%s", a,
                    v ? "'" : "", v ? v : "nothing", v ? "'" : "", usage);
            return 2;
        }
        i++;
    }
    ao_log_level level = AO_LOG_INFO;
    ao_log_level_parse(level_name, &level);
    ao_log_configure(level, json);
    const char *tier = NULL, *tier_src = NULL;
    ao_error terr = { 0 };
    if (cli_tier_choose(tier_flag, &tier, &tier_src, &terr) != AO_OK) {
        fprintf(stderr, "ao up: AO_WASM_TIER: %s\n", terr.msg);
        return 2;
    }

    printf("ao up: settings\n");
    printf("  data            %s%s\n", o.data_dir, or_default(given[G_DATA]));
    printf("  host            %s%s\n", o.host, or_default(given[G_HOST]));
    if (o.any_ports) {
        printf("  ports           any free ports\n");
    } else {
        printf("  gateway port    %u%s\n", (unsigned)o.gateway_port, or_default(given[G_GW]));
        printf("  su port         %u%s\n", (unsigned)o.su_port, or_default(given[G_SU]));
        printf("  cu port         %u%s\n", (unsigned)o.cu_port, or_default(given[G_CU]));
        printf("  mu port         %u%s\n", (unsigned)o.mu_port, or_default(given[G_MU]));
    }
    printf("  log level       %s%s%s\n", level_name, or_default(given[G_LEVEL]),
           json ? ", JSON lines" : "");
    printf("  block interval  %u ms%s\n", (unsigned)o.block_interval_ms,
           or_default(given[G_BLOCK]));
    printf("  aos module      %s%s\n", o.aos_module_path ? o.aos_module_path : "build/aos.wasm",
           or_default(given[G_AOS]));
    printf("  upstream        %s\n", o.upstream ? o.upstream : "none (default)");
    printf("  cu tier         %s%s\n", tier,
           !strcmp(tier_src, "default") ? " (default)" : !strcmp(tier_src, "--tier") ? "" : " (AO_WASM_TIER)");
    fflush(stdout);
    if (!o.any_ports) {
        uint16_t ports[4] = { o.gateway_port, o.su_port, o.cu_port, o.mu_port };
        for (int i = 0; i < 4; i++)
            for (int j = i + 1; j < 4; j++)
                if (ports[i] == ports[j]) {
                    fprintf(stderr, "ao up: two units cannot share port %u\n", (unsigned)ports[i]);
                    return 2;
                }
    }

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

    ao_error err = { 0 };
    node *n = NULL;
    if (node_start(&o, &n, &err)) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        fprintf(stderr, "ao up: %s\n", err.msg);
        return 2;
    }
    node_info info;
    node_get_info(n, &info);
    printf("ao up: running\n");
    printf("  gateway  %s\n", info.gateway_url);
    printf("  su       %s  (address %s)\n", info.su_url, info.su_address);
    printf("  cu       %s  (address %s)\n", info.cu_url, info.cu_address);
    printf("  mu       %s  (address %s)\n", info.mu_url, info.mu_address);
    printf("  aos module  %s\n", info.aos_module);
    if (info.upstream[0])
        printf("  upstream    %s  (paying address %s)\n", info.upstream, info.mirror_address);
    printf("  node.json   %s/node.json\n", o.data_dir);
    printf("ready (SIGINT or SIGTERM stops)\n");
    fflush(stdout);

    sigset_t wait_set = old;
    sigdelset(&wait_set, SIGINT);
    sigdelset(&wait_set, SIGTERM);
    while (!stop_signal)
        sigsuspend(&wait_set);
    fprintf(stderr, "ao up: %s, shutting down\n", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
    node_stop(n);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    fprintf(stderr, "ao up: stopped\n");
    return 0;
}
