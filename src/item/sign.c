/* sign.c - ANS-104 data item signatures (ANS104.md §4): verification per
 * signature type over the deep hash, and signing with a wallet. */
#include "item.h"
#include "item_internal.h"

#include <string.h>

int item_verify_decoded(const item *it, ao_error *err)
{
    uint8_t dh[ITEM_DH_LEN];
    int rc;
    item_deep_hash(it, dh);
    switch (it->sig_type) {
    case ITEM_SIG_ARWEAVE:
        rc = crypto_verify(CRYPTO_KEY_ARWEAVE, it->owner, it->owner_len, dh, sizeof dh,
                           it->sig, it->sig_len, err);
        break;
    case ITEM_SIG_ED25519:
        rc = crypto_verify(CRYPTO_KEY_ED25519, it->owner, it->owner_len, dh, sizeof dh,
                           it->sig, it->sig_len, err);
        break;
    case ITEM_SIG_ETHEREUM:
        rc = crypto_verify(CRYPTO_KEY_ETHEREUM, it->owner, it->owner_len, dh, sizeof dh,
                           it->sig, it->sig_len, err);
        break;
    case ITEM_SIG_SOLANA: {
        char hex[2 * ITEM_DH_LEN + 1];
        ao_hex_encode_to(dh, sizeof dh, hex);
        rc = crypto_ed25519_verify(it->owner, (const uint8_t *)hex, 2 * ITEM_DH_LEN, it->sig, err);
        break;
    }
    case ITEM_SIG_TYPED_ETHEREUM:
        rc = item_verify_typed_ethereum(it->owner, it->owner_len, dh, it->sig, it->sig_len, err);
        break;
    default:
        return ao_err_set(err, AO_EUNSUPPORTED, "signature type %u (%s) cannot be verified here",
                          it->sig_type, item_sig_name(it->sig_type));
    }
    if (rc == AO_OK)
        return AO_OK;
    if (rc == AO_ENOMEM)
        return rc;
    if (err && err->msg[0])
        ao_err_wrap(err, "%s signature does not verify", item_sig_name(it->sig_type));
    else
        ao_err_set(err, AO_EVERIFY, "%s signature does not verify", item_sig_name(it->sig_type));
    if (err)
        err->code = AO_EVERIFY;
    return AO_EVERIFY;
}

int item_verify(const uint8_t *raw, size_t len, item *out, ao_error *err)
{
    item local;
    item *it = out ? out : &local;
    int rc = item_decode(raw, len, it, err);
    if (rc)
        return rc;
    return item_verify_decoded(it, err);
}

int item_sign(const crypto_wallet *w, const item_fields *f, ao_buf *out,
              uint8_t id[ITEM_ID_LEN], ao_error *err)
{
    unsigned type = (unsigned)crypto_wallet_type(w);
    size_t owner_len;
    const uint8_t *owner = crypto_wallet_owner(w, &owner_len);
    uint8_t dh[ITEM_DH_LEN], sig[AO_SIG_MAX];
    size_t sig_len = 0;
    int rc = item_signature_data(type, owner, owner_len, f, dh, err);
    if (rc)
        return rc;
    if ((rc = crypto_sign(w, dh, sizeof dh, sig, &sig_len, err)))
        return rc;
    if ((rc = item_encode(type, sig, sig_len, owner, owner_len, f, out, err)))
        return rc;
    if (id)
        crypto_sha256(sig, sig_len, id);
    return AO_OK;
}
