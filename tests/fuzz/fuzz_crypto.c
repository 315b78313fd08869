/*
 * fuzz_crypto.c - libFuzzer target for the crypto component's input
 * parsers: the first byte chooses between parsing a wallet file
 * (crypto_wallet_parse, then serialise and address if it parsed) and
 * verifying a signature of type 1, 2 or 3 whose owner, signature and
 * message are carved from the rest of the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

static const size_t owner_len[4] = { 0, 512, 32, 65 };
static const size_t sig_len[4] = { 0, 512, 64, 65 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 4;
    data++;
    size--;
    if (mode == 0) {
        crypto_wallet *w = NULL;
        ao_error err;
        if (crypto_wallet_parse((const char *)data, size, &w, &err) == AO_OK) {
            char *json = NULL;
            if (crypto_wallet_to_json(w, &json, &err) == AO_OK) {
                crypto_wallet *w2 = NULL;
                if (crypto_wallet_parse(json, strlen(json), &w2, &err) != AO_OK)
                    abort();   /* what we write must parse back */
                crypto_wallet_free(w2);
                free(json);
            }
            size_t olen;
            const uint8_t *owner = crypto_wallet_owner(w, &olen);
            char addr[AO_ADDRESS_MAX];
            if (crypto_address(crypto_wallet_type(w), owner, olen, addr, &err) != AO_OK)
                abort();
            crypto_wallet_free(w);
        }
        return 0;
    }
    size_t ol = owner_len[mode], sl = sig_len[mode];
    if (size < ol + sl)
        return 0;
    ao_error err;
    int rc = crypto_verify((crypto_key_type)mode, data, ol, data + ol + sl, size - ol - sl,
                           data + ol, sl, &err);
    if (rc != AO_OK && rc != AO_EVERIFY)
        abort();
    return 0;
}
