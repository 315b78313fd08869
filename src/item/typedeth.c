/* typedeth.c - signature type 7 (typedEthereum, ANS104.md §4): EIP-712
 * over the struct Bundlr{bytes "Transaction hash", address address} in the
 * domain {name:"Bundlr", version:"1"}. The owner is the signer's 42-byte
 * ASCII "0x..." address; the key is recovered from the signature (low-S,
 * v in {27,28}) and its address must equal the owner. */
#include "item.h"
#include "item_internal.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <string.h>

static int hex_nibble(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void keccak_str(const char *s, uint8_t out[32])
{
    crypto_keccak256(s, strlen(s), out);
}

int item_verify_typed_ethereum(const uint8_t *owner, size_t owner_len,
                               const uint8_t dh[ITEM_DH_LEN], const uint8_t *sig,
                               size_t sig_len, ao_error *err)
{
    uint8_t addr[20];
    if (owner_len != 42 || owner[0] != '0' || (owner[1] != 'x' && owner[1] != 'X'))
        return ao_err_set(err, AO_EVERIFY, "owner is not a 0x-prefixed address");
    for (size_t i = 0; i < 20; i++) {
        int hi = hex_nibble(owner[2 + 2 * i]), lo = hex_nibble(owner[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return ao_err_set(err, AO_EVERIFY, "owner address is not hex");
        addr[i] = (uint8_t)(hi << 4 | lo);
    }
    if (sig_len != 65 || (sig[64] != 27 && sig[64] != 28))
        return ao_err_set(err, AO_EVERIFY, "v must be 27 or 28");

    /* EIP-712 digest */
    uint8_t buf[4 * 32], domain[32], st[32], digest[32];
    keccak_str("EIP712Domain(string name,string version)", buf);
    keccak_str("Bundlr", buf + 32);
    keccak_str("1", buf + 64);
    crypto_keccak256(buf, 96, domain);
    keccak_str("Bundlr(bytes Transaction hash,address address)", buf);
    crypto_keccak256(dh, ITEM_DH_LEN, buf + 32);
    memset(buf + 64, 0, 12);
    memcpy(buf + 76, addr, 20);
    crypto_keccak256(buf, 96, st);
    uint8_t m[66];
    m[0] = 0x19;
    m[1] = 0x01;
    memcpy(m + 2, domain, 32);
    memcpy(m + 34, st, 32);
    crypto_keccak256(m, sizeof m, digest);

    const secp256k1_context *ctx = secp256k1_context_static;
    secp256k1_ecdsa_recoverable_signature rsig;
    secp256k1_ecdsa_signature plain;
    secp256k1_pubkey pub;
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rsig, sig, sig[64] - 27))
        return ao_err_set(err, AO_EVERIFY, "r or s out of range");
    secp256k1_ecdsa_recoverable_signature_convert(ctx, &plain, &rsig);
    if (secp256k1_ecdsa_signature_normalize(ctx, NULL, &plain))
        return ao_err_set(err, AO_EVERIFY, "high-S signature");
    if (!secp256k1_ecdsa_recover(ctx, &pub, &rsig, digest))
        return ao_err_set(err, AO_EVERIFY, "no key recovers from the signature");
    uint8_t ser[65], h[32];
    size_t sl = sizeof ser;
    secp256k1_ec_pubkey_serialize(ctx, ser, &sl, &pub, SECP256K1_EC_UNCOMPRESSED);
    crypto_keccak256(ser + 1, 64, h);
    if (memcmp(h + 12, addr, 20))
        return ao_err_set(err, AO_EVERIFY, "recovered address differs from the owner");
    return AO_OK;
}
