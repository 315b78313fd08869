/*
 * cli_wallet.c - `ao wallet`: create wallets (Arweave RSA-4096, Ed25519,
 * Ethereum secp256k1) and print their addresses.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"

static const char usage_main[] =
    "usage: ao wallet <subcommand> [options]\n"
    "\n"
    "subcommands:\n"
    "  new      create a new wallet (JSON to stdout or to --out FILE)\n"
    "  address  print the address of a wallet file\n"
    "\n"
    "'ao wallet <subcommand> --help' describes a subcommand.\n";

static const char usage_new[] =
    "usage: ao wallet new [--type arweave|ed25519|ethereum] [--out FILE]\n"
    "\n"
    "Creates a new key. Without --out the wallet JSON is printed to stdout;\n"
    "with --out it is written to FILE (mode 0600) and the address is printed.\n"
    "An existing FILE is never overwritten.\n"
    "\n"
    "  --type T    arweave (RSA-4096 JWK, the default), ed25519, ethereum\n"
    "  --out FILE  write the wallet to FILE instead of stdout\n";

static const char usage_address[] =
    "usage: ao wallet address [--b64] (--wallet FILE | FILE)\n"
    "\n"
    "Prints the address of the wallet in FILE: for arweave and ed25519\n"
    "wallets base64url(SHA-256(public key)); for ethereum wallets the EIP-55\n"
    "checksummed 0x address.\n"
    "\n"
    "  --wallet FILE  the wallet file (or give FILE as the only argument)\n"
    "  --b64          print base64url(SHA-256(public key)) for any type (the\n"
    "                 ANS-104 owner address)\n";

static bool is_help(const char *a)
{
    return !strcmp(a, "--help") || !strcmp(a, "-h");
}

/* Matches "--name VALUE" (advancing *i) or "--name=VALUE". */
static bool opt_value(int argc, char **argv, int *i, const char *name, const char **val,
                      bool *missing)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return false;
    if (a[n] == '=') {
        *val = a + n + 1;
        return true;
    }
    if (a[n] != 0)
        return false;
    if (*i + 1 >= argc) {
        *missing = true;
        return true;
    }
    *val = argv[++*i];
    return true;
}

static int usage_error(const char *usage, const char *fmt, const char *arg)
{
    fprintf(stderr, "ao wallet: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", usage);
    return 2;
}

static int cmd_new(int argc, char **argv)
{
    const char *type_s = "arweave", *out = NULL;
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        if (is_help(argv[i])) {
            fputs(usage_new, stdout);
            return 0;
        }
        if (opt_value(argc, argv, &i, "--type", &type_s, &missing) ||
            opt_value(argc, argv, &i, "--out", &out, &missing)) {
            if (missing)
                return usage_error(usage_new, "option %s needs a value", argv[i]);
            continue;
        }
        return usage_error(usage_new, "unexpected argument '%s'", argv[i]);
    }
    crypto_key_type type;
    if (!strcmp(type_s, "arweave") || !strcmp(type_s, "rsa"))
        type = CRYPTO_KEY_ARWEAVE;
    else if (!strcmp(type_s, "ed25519"))
        type = CRYPTO_KEY_ED25519;
    else if (!strcmp(type_s, "ethereum") || !strcmp(type_s, "secp256k1"))
        type = CRYPTO_KEY_ETHEREUM;
    else
        return usage_error(usage_new, "unknown wallet type '%s'", type_s);
    if (out && !*out)
        return usage_error(usage_new, "empty file name for --out%s", "");

    /* Claim the file name first so that an existing file is never
     * replaced; the atomic save then renames over this placeholder. */
    if (out) {
        int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            fprintf(stderr, "ao wallet new: %s: %s%s\n", out, strerror(errno),
                    errno == EEXIST ? " (not overwriting an existing file)" : "");
            return 2;
        }
        close(fd);
    }
    ao_error err;
    crypto_wallet *w = NULL;
    int rc = crypto_wallet_generate(type, &w, &err);
    if (rc == AO_OK && out) {
        rc = crypto_wallet_save(w, out, &err);
    } else if (rc == AO_OK) {
        char *json = NULL;
        rc = crypto_wallet_to_json(w, &json, &err);
        if (rc == AO_OK) {
            fputs(json, stdout);
            memset(json, 0, strlen(json));
            free(json);
            if (fflush(stdout) != 0)
                rc = ao_err_set(&err, AO_EIO, "cannot write to stdout");
        }
    }
    if (rc != AO_OK) {
        if (out)
            unlink(out);
        crypto_wallet_free(w);
        fprintf(stderr, "ao wallet new: %s\n", err.msg);
        return 2;
    }
    if (out) {
        size_t olen;
        const uint8_t *owner = crypto_wallet_owner(w, &olen);
        char addr[AO_ADDRESS_MAX];
        if (crypto_address(type, owner, olen, addr, &err) == AO_OK)
            printf("%s\n", addr);
    }
    crypto_wallet_free(w);
    return 0;
}

static int cmd_address(int argc, char **argv)
{
    const char *file = NULL;
    bool b64 = false;
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *v = NULL;
        if (is_help(argv[i])) {
            fputs(usage_address, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--b64")) {
            b64 = true;
            continue;
        }
        if (opt_value(argc, argv, &i, "--wallet", &v, &missing)) {
            if (missing)
                return usage_error(usage_address, "option %s needs a value", argv[i]);
        } else if (argv[i][0] == '-' && argv[i][1] != 0) {
            return usage_error(usage_address, "unknown option '%s'", argv[i]);
        } else {
            v = argv[i];
        }
        if (file)
            return usage_error(usage_address, "more than one wallet file ('%s')", v);
        file = v;
    }
    if (!file)
        return usage_error(usage_address, "no wallet file given%s", "");
    ao_error err;
    crypto_wallet *w = NULL;
    if (crypto_wallet_load(file, &w, &err) != AO_OK) {
        fprintf(stderr, "ao wallet address: %s\n", err.msg);
        return 2;
    }
    size_t olen;
    const uint8_t *owner = crypto_wallet_owner(w, &olen);
    char addr[AO_ADDRESS_MAX];
    int rc = AO_OK;
    if (b64)
        crypto_owner_address_b64(owner, olen, addr);
    else
        rc = crypto_address(crypto_wallet_type(w), owner, olen, addr, &err);
    crypto_wallet_free(w);
    if (rc != AO_OK) {
        fprintf(stderr, "ao wallet address: %s\n", err.msg);
        return 2;
    }
    printf("%s\n", addr);
    return 0;
}

int cli_wallet_main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error(usage_main, "missing subcommand%s", "");
    if (is_help(argv[1]) || !strcmp(argv[1], "help")) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "new"))
        return cmd_new(argc - 1, argv + 1);
    if (!strcmp(argv[1], "address"))
        return cmd_address(argc - 1, argv + 1);
    return usage_error(usage_main, "unknown subcommand '%s'", argv[1]);
}
