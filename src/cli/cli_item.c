/* cli_item.c - `ao item`: sign, verify and show ANS-104 data items.
 *
 *   ao item sign --wallet W [--target T] [--anchor A] [--tag N=V]...
 *                [--data @FILE|@-|TEXT] [--out FILE]
 *   ao item verify [--json] FILE|-
 *   ao item show [--json] FILE|-
 *
 * Exit codes: 0 success / valid, 1 invalid item, 2 usage or I/O error. */
#include "cli.h"
#include "cli_client.h"

#include "item/item.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *item_usage =
    "usage: ao item <command> [options]\n"
    "\n"
    "commands:\n"
    "  sign     build and sign a data item with a wallet\n"
    "  verify   check a data item's layout and signature\n"
    "  show     print a data item's fields\n"
    "\n"
    "'ao item <command> --help' describes a command.\n";

static const char *sign_usage =
    "usage: ao item sign --wallet W [--target T] [--anchor A] [--tag NAME=VALUE]...\n"
    "                    [--data @FILE|@-|TEXT] [--out FILE]\n"
    "\n"
    "Builds an ANS-104 data item, signs it with wallet file W (Arweave JWK,\n"
    "Ed25519 or Ethereum key, see 'ao wallet') and writes the binary item to\n"
    "FILE, or to stdout without --out. The item id (43-char base64url) is\n"
    "printed on stderr as one line.\n"
    "\n"
    "  --target T   43-char base64url of 32 bytes (a process or wallet id)\n"
    "  --anchor A   exactly 32 bytes: A is used as given when it is 32 bytes\n"
    "               long (aoconnect uses 32 ASCII characters); otherwise A must\n"
    "               be the 43-char base64url of 32 bytes\n"
    "  --tag N=V    a tag, split at the first '='; repeat for more (order kept)\n"
    "  --data D     @FILE reads a file, @- reads stdin, anything else is the\n"
    "               data itself; no --data means empty data\n"
    "  --out FILE   where to write the item (written atomically)\n";

static const char *verify_usage =
    "usage: ao item verify [--json] FILE|-\n"
    "\n"
    "Decodes the item strictly and checks its signature (types 1, 2, 3, 4, 7).\n"
    "Prints 'valid <id>' and exits 0, or 'invalid: <reason>' and exits 1.\n"
    "Exit 2 on usage or I/O errors. FILE - reads stdin.\n"
    "\n"
    "--json prints one line of JSON: valid, id, owner (base64url), address\n"
    "(0x form for Ethereum types, else base64url(SHA-256(owner))),\n"
    "owner_address (always base64url(SHA-256(owner))), signature_type,\n"
    "signature_type_name, signature, target (base64url or null), anchor\n"
    "(text when UTF-8, else anchor_b64url; null when absent), tags\n"
    "[{name, value}] (name_b64url/value_b64url when not UTF-8), data_size;\n"
    "and error when invalid (only valid and error if it does not decode).\n";

static const char *show_usage =
    "usage: ao item show [--json] FILE|-\n"
    "\n"
    "Prints the fields of a data item and whether its signature verifies.\n"
    "Exits 0 if the item decodes (whatever the signature verdict), 1 if it\n"
    "does not, 2 on usage or I/O errors. --json prints the same fields as\n"
    "'verify --json' plus signature_error when the signature fails.\n";

static int is_help(const char *a)
{
    return !strcmp(a, "--help") || !strcmp(a, "-h");
}

/* ---- sign ---- */

static int parse_anchor(const char *a, uint8_t out[32])
{
    size_t n = strlen(a);
    if (n == 32) {
        memcpy(out, a, 32);
        return 0;
    }
    ao_buf b;
    ao_buf_init(&b);
    int ok = n == 43 && ao_b64url_decode(a, n, &b, NULL) == AO_OK && b.len == 32;
    if (ok)
        memcpy(out, b.data, 32);
    ao_buf_free(&b);
    return ok ? 0 : -1;
}

static int cmd_sign(int argc, char **argv)
{
    const char *wallet = NULL, *target_s = NULL, *anchor_s = NULL, *data_s = NULL, *out_path = NULL;
    item_tag *tags = calloc((size_t)argc, sizeof *tags);
    size_t ntags = 0;
    int rc = 2;
    uint8_t target[32], anchor[32];
    ao_buf data, out;
    ao_error err;
    crypto_wallet *w = NULL;
    ao_buf_init(&data);
    ao_buf_init(&out);
    if (!tags) {
        fprintf(stderr, "ao item sign: out of memory\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (is_help(a)) {
            fputs(sign_usage, stdout);
            rc = 0;
            goto done;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "ao item sign: %s needs a value (or unknown option)\n%s", a, sign_usage);
            goto done;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--wallet"))
            wallet = v;
        else if (!strcmp(a, "--target"))
            target_s = v;
        else if (!strcmp(a, "--anchor"))
            anchor_s = v;
        else if (!strcmp(a, "--data"))
            data_s = v;
        else if (!strcmp(a, "--out"))
            out_path = v;
        else if (!strcmp(a, "--tag")) {
            const char *eq = strchr(v, '=');
            if (!eq) {
                fprintf(stderr, "ao item sign: --tag '%s' is not NAME=VALUE\n", v);
                goto done;
            }
            tags[ntags++] = (item_tag){ (const uint8_t *)v, (size_t)(eq - v),
                                        (const uint8_t *)eq + 1, strlen(eq + 1) };
        } else {
            fprintf(stderr, "ao item sign: unknown option '%s'\n%s", a, sign_usage);
            goto done;
        }
    }
    if (!wallet) {
        fprintf(stderr, "ao item sign: --wallet is required\n%s", sign_usage);
        goto done;
    }
    item_fields f = { 0 };
    if (target_s) {
        ao_buf b;
        ao_buf_init(&b);
        int ok = strlen(target_s) == 43 &&
                 ao_b64url_decode(target_s, 43, &b, NULL) == AO_OK && b.len == 32;
        if (ok)
            memcpy(target, b.data, 32);
        ao_buf_free(&b);
        if (!ok) {
            fprintf(stderr, "ao item sign: --target must be the 43-char base64url of 32 bytes\n");
            goto done;
        }
        f.target = target;
    }
    if (anchor_s) {
        if (parse_anchor(anchor_s, anchor)) {
            fprintf(stderr, "ao item sign: --anchor must be 32 bytes as given, or the 43-char "
                            "base64url of 32 bytes\n");
            goto done;
        }
        f.anchor = anchor;
    }
    if (data_s) {
        if (data_s[0] == '@') {
            if (cli_read_input(data_s + 1, &data, &err)) {
                fprintf(stderr, "ao item sign: --data %s: %s\n", data_s, err.msg);
                goto done;
            }
        } else if (ao_buf_append_str(&data, data_s)) {
            goto done;
        }
    }
    f.tags = tags;
    f.ntags = ntags;
    f.data = data.data;
    f.data_len = data.len;
    if (crypto_wallet_load(wallet, &w, &err)) {
        fprintf(stderr, "ao item sign: wallet %s: %s\n", wallet, err.msg);
        goto done;
    }
    uint8_t id[ITEM_ID_LEN];
    if (item_sign(w, &f, &out, id, &err)) {
        fprintf(stderr, "ao item sign: %s\n", err.msg);
        goto done;
    }
    if (out_path) {
        if (ao_file_write_atomic(out_path, out.data, out.len, 0644, &err)) {
            fprintf(stderr, "ao item sign: %s: %s\n", out_path, err.msg);
            goto done;
        }
    } else if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout)) {
        fprintf(stderr, "ao item sign: writing stdout failed\n");
        goto done;
    }
    char idb[ITEM_ID_B64_LEN + 1];
    ao_b64url_encode_to(id, sizeof id, idb);
    fprintf(stderr, "%s\n", idb);
    rc = 0;
done:
    crypto_wallet_free(w);
    ao_buf_free(&data);
    ao_buf_free(&out);
    free(tags);
    return rc;
}

/* ---- verify / show ---- */

static int utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            if (c == 0)
                return 0;   /* keep NULs out of C strings */
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + j] & 0x3f);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* Text (when valid UTF-8 without NUL) or base64url under key_b64url. */
static void json_bytes(cJSON *o, const char *key, const uint8_t *p, size_t n)
{
    if (utf8_valid(p, n)) {
        char *s = malloc(n + 1);
        if (!s)
            return;
        memcpy(s, p, n);
        s[n] = 0;
        cJSON_AddStringToObject(o, key, s);
        free(s);
    } else {
        char k[64];
        snprintf(k, sizeof k, "%s_b64url", key);
        char *s = ao_b64url_encode(p, n);
        if (s)
            cJSON_AddStringToObject(o, k, s);
        free(s);
    }
}

static void json_b64(cJSON *o, const char *key, const uint8_t *p, size_t n)
{
    char *s = p ? ao_b64url_encode(p, n) : NULL;
    if (s)
        cJSON_AddStringToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
    free(s);
}

/* "address": Ethereum 0x form for type 3, the owner text for type 7,
 * otherwise base64url(SHA-256(owner)). */
static void item_address(const item *it, char out[AO_ADDRESS_MAX])
{
    if (it->sig_type == ITEM_SIG_ETHEREUM &&
        crypto_address(CRYPTO_KEY_ETHEREUM, it->owner, it->owner_len, out, NULL) == AO_OK)
        return;
    if (it->sig_type == ITEM_SIG_TYPED_ETHEREUM && utf8_valid(it->owner, it->owner_len) &&
        it->owner_len < AO_ADDRESS_MAX) {
        memcpy(out, it->owner, it->owner_len);
        out[it->owner_len] = 0;
        return;
    }
    item_owner_address(it, out);
}

static cJSON *item_json(const item *it, int valid)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "valid", valid);
    char id[ITEM_ID_B64_LEN + 1], addr[AO_ADDRESS_MAX], oaddr[AO_ADDRESS_MAX];
    item_id_b64(it, id);
    item_address(it, addr);
    item_owner_address(it, oaddr);
    cJSON_AddStringToObject(o, "id", id);
    json_b64(o, "owner", it->owner, it->owner_len);
    cJSON_AddStringToObject(o, "address", addr);
    cJSON_AddStringToObject(o, "owner_address", oaddr);
    cJSON_AddNumberToObject(o, "signature_type", it->sig_type);
    cJSON_AddStringToObject(o, "signature_type_name", item_sig_name(it->sig_type));
    json_b64(o, "signature", it->sig, it->sig_len);
    json_b64(o, "target", it->target, 32);
    if (it->anchor)
        json_bytes(o, "anchor", it->anchor, 32);
    else
        cJSON_AddNullToObject(o, "anchor");
    cJSON *tags = cJSON_AddArrayToObject(o, "tags");
    for (size_t i = 0; i < it->ntags; i++) {
        cJSON *t = cJSON_CreateObject();
        json_bytes(t, "name", it->tags[i].name, it->tags[i].name_len);
        json_bytes(t, "value", it->tags[i].value, it->tags[i].value_len);
        cJSON_AddItemToArray(tags, t);
    }
    cJSON_AddNumberToObject(o, "data_size", (double)it->data_len);
    return o;
}

static void print_json(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    if (s)
        puts(s);
    free(s);
    cJSON_Delete(o);
}

static void print_bytes_line(const char *label, const uint8_t *p, size_t n)
{
    printf("%s", label);
    if (utf8_valid(p, n)) {
        fwrite(p, 1, n, stdout);
    } else {
        char *h = ao_hex_encode(p, n);
        printf("0x%s", h ? h : "");
        free(h);
    }
    putchar('\n');
}

static void show_human(const item *it, int verdict, const char *reason)
{
    char id[ITEM_ID_B64_LEN + 1], addr[AO_ADDRESS_MAX], oaddr[AO_ADDRESS_MAX];
    item_id_b64(it, id);
    item_address(it, addr);
    item_owner_address(it, oaddr);
    printf("id:             %s\n", id);
    printf("signature type: %u (%s)\n", it->sig_type, item_sig_name(it->sig_type));
    if (verdict == AO_OK)
        printf("signature:      valid\n");
    else
        printf("signature:      INVALID (%s)\n", reason);
    printf("address:        %s\n", addr);
    if (strcmp(addr, oaddr))
        printf("owner address:  %s\n", oaddr);
    char *t = it->target ? ao_b64url_encode(it->target, 32) : NULL;
    printf("target:         %s\n", t ? t : "(none)");
    free(t);
    if (it->anchor)
        print_bytes_line("anchor:         ", it->anchor, 32);
    else
        printf("anchor:         (none)\n");
    printf("tags:           %zu (%zu bytes)\n", it->ntags, it->tag_bytes_len);
    for (size_t i = 0; i < it->ntags; i++) {
        printf("  ");
        print_bytes_line("", it->tags[i].name, it->tags[i].name_len);
        printf("    = ");
        print_bytes_line("", it->tags[i].value, it->tags[i].value_len);
    }
    printf("data:           %zu bytes\n", it->data_len);
    if (it->data_len && it->data_len <= 1024 && utf8_valid(it->data, it->data_len)) {
        fwrite(it->data, 1, it->data_len, stdout);
        putchar('\n');
    }
}

/* verify (show = 0) or show (show = 1) */
static int cmd_check(int argc, char **argv, int show)
{
    const char *usage = show ? show_usage : verify_usage;
    const char *path = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ao item %s: unknown option '%s'\n%s", argv[0], argv[i], usage);
            return 2;
        } else if (path) {
            fprintf(stderr, "ao item %s: one FILE only\n%s", argv[0], usage);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "ao item %s: FILE is required\n%s", argv[0], usage);
        return 2;
    }
    ao_buf raw;
    ao_error err;
    ao_buf_init(&raw);
    if (cli_read_input(path, &raw, &err)) {
        fprintf(stderr, "ao item %s: %s\n", argv[0], err.msg);
        ao_buf_free(&raw);
        return 2;
    }
    item *it = malloc(sizeof *it);
    if (!it) {
        ao_buf_free(&raw);
        return 2;
    }
    int rc;
    int drc = item_decode(raw.data, raw.len, it, &err);
    if (drc) {
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddFalseToObject(o, "valid");
            cJSON_AddStringToObject(o, "error", err.msg);
            print_json(o);
        } else {
            printf("invalid: %s\n", err.msg);
        }
        rc = 1;
    } else {
        int vrc = item_verify_decoded(it, &err);
        if (json) {
            cJSON *o = item_json(it, vrc == AO_OK);
            if (vrc)
                cJSON_AddStringToObject(o, show ? "signature_error" : "error", err.msg);
            print_json(o);
        } else if (show) {
            show_human(it, vrc, err.msg);
        } else if (vrc == AO_OK) {
            char id[ITEM_ID_B64_LEN + 1];
            item_id_b64(it, id);
            printf("valid %s\n", id);
        } else {
            printf("invalid: %s\n", err.msg);
        }
        rc = show ? 0 : (vrc == AO_OK ? 0 : 1);
    }
    free(it);
    ao_buf_free(&raw);
    return rc;
}

int cli_item_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(item_usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (is_help(cmd) || !strcmp(cmd, "help")) {
        fputs(item_usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "sign"))
        return cmd_sign(argc - 1, argv + 1);
    if (!strcmp(cmd, "verify"))
        return cmd_check(argc - 1, argv + 1, 0);
    if (!strcmp(cmd, "show"))
        return cmd_check(argc - 1, argv + 1, 1);
    fprintf(stderr, "ao item: unknown command '%s'\n%s", cmd, item_usage);
    return 2;
}
