/* item.c - ANS-104 data items (ANS104.md §1, §4): strict decoding, ids and
 * owner addresses, encoding from fields. Signature checks and signing are
 * in sign.c. */
#include "item.h"
#include "item_internal.h"

#include <string.h>

static const struct {
    uint16_t sig, owner;
    const char *name;
} sig_table[8] = {
    [1] = { 512, 512, "arweave" },
    [2] = { 64, 32, "ed25519" },
    [3] = { 65, 65, "ethereum" },
    [4] = { 64, 32, "solana" },
    [5] = { 64, 32, "injectedAptos" },
    [6] = { 2052, 1025, "multiAptos" },
    [7] = { 65, 42, "typedEthereum" },
};

int item_sig_lengths(unsigned type, size_t *sig_len, size_t *owner_len, ao_error *err)
{
    if (type == 0 || type >= sizeof sig_table / sizeof sig_table[0])
        return ao_err_set(err, AO_EFORMAT, "unknown signature type %u", type);
    *sig_len = sig_table[type].sig;
    *owner_len = sig_table[type].owner;
    return AO_OK;
}

const char *item_sig_name(unsigned type)
{
    if (type == 0 || type >= sizeof sig_table / sizeof sig_table[0])
        return "unknown";
    return sig_table[type].name;
}

/* Reads an optional 32-byte field behind its presence byte. */
static int read_optional(const uint8_t *raw, size_t len, size_t *pos, const char *what,
                         const uint8_t **out, ao_error *err)
{
    if (*pos >= len)
        return ao_err_set(err, AO_EFORMAT, "truncated: no %s presence byte at offset %zu",
                          what, *pos);
    uint8_t flag = raw[(*pos)++];
    if (flag > 1)
        return ao_err_set(err, AO_EFORMAT, "%s presence byte is %u (must be 0 or 1)", what, flag);
    *out = NULL;
    if (flag == 1) {
        if (len - *pos < 32)
            return ao_err_set(err, AO_EFORMAT, "truncated: %s needs 32 bytes at offset %zu, %zu left",
                              what, *pos, len - *pos);
        *out = raw + *pos;
        *pos += 32;
    }
    return AO_OK;
}

int item_decode(const uint8_t *raw, size_t len, item *it, ao_error *err)
{
    size_t pos = 0, sig_len = 0, owner_len = 0;
    int rc;
    if (len < 2)
        return ao_err_set(err, AO_EFORMAT, "truncated: %zu bytes, no signature type", len);
    it->raw = raw;
    it->raw_len = len;
    it->sig_type = ao_rd_u16le(raw);
    pos = 2;
    if ((rc = item_sig_lengths(it->sig_type, &sig_len, &owner_len, err)))
        return rc;
    if (len - pos < sig_len + owner_len)
        return ao_err_set(err, AO_EFORMAT,
                          "truncated: %s signature and owner need %zu bytes, %zu left",
                          item_sig_name(it->sig_type), sig_len + owner_len, len - pos);
    it->sig = raw + pos;
    it->sig_len = sig_len;
    pos += sig_len;
    it->owner = raw + pos;
    it->owner_len = owner_len;
    pos += owner_len;
    if ((rc = read_optional(raw, len, &pos, "target", &it->target, err)) ||
        (rc = read_optional(raw, len, &pos, "anchor", &it->anchor, err)))
        return rc;
    if (len - pos < 16)
        return ao_err_set(err, AO_EFORMAT, "truncated: tag count and tag byte length need 16 bytes at offset %zu, %zu left",
                          pos, len - pos);
    uint64_t count = ao_rd_u64le(raw + pos);
    uint64_t tlen = ao_rd_u64le(raw + pos + 8);
    pos += 16;
    if (tlen > ITEM_MAX_TAG_BYTES)
        return ao_err_set(err, AO_ELIMIT, "tag bytes length %llu exceeds %d",
                          (unsigned long long)tlen, ITEM_MAX_TAG_BYTES);
    if (count > ITEM_MAX_TAGS)
        return ao_err_set(err, AO_ELIMIT, "tag count %llu exceeds %d",
                          (unsigned long long)count, ITEM_MAX_TAGS);
    if (tlen > len - pos)
        return ao_err_set(err, AO_EFORMAT, "truncated: %llu tag bytes announced, %zu left",
                          (unsigned long long)tlen, len - pos);
    it->tag_bytes = raw + pos;
    it->tag_bytes_len = (size_t)tlen;
    if (count == 0) {
        if (tlen != 0)
            return ao_err_set(err, AO_EFORMAT, "tag count is 0 but %llu tag bytes follow",
                              (unsigned long long)tlen);
        it->ntags = 0;
    } else {
        size_t n = 0;
        if ((rc = item_tags_decode(it->tag_bytes, it->tag_bytes_len, it->tags, ITEM_MAX_TAGS,
                                   &n, err)))
            return rc;
        if (n != count)
            return ao_err_set(err, AO_EFORMAT, "tag count field says %llu, the tags hold %zu",
                              (unsigned long long)count, n);
        it->ntags = n;
    }
    pos += (size_t)tlen;
    it->data = raw + pos;
    it->data_len = len - pos;
    return AO_OK;
}

void item_id(const item *it, uint8_t out[ITEM_ID_LEN])
{
    crypto_sha256(it->sig, it->sig_len, out);
}

void item_id_b64(const item *it, char out[ITEM_ID_B64_LEN + 1])
{
    uint8_t id[ITEM_ID_LEN];
    item_id(it, id);
    ao_b64url_encode_to(id, sizeof id, out);
}

void item_owner_address(const item *it, char out[AO_ADDRESS_MAX])
{
    uint8_t h[AO_SHA256_LEN];
    crypto_sha256(it->owner, it->owner_len, h);
    ao_b64url_encode_to(h, sizeof h, out);
}

const item_tag *item_find_tag(const item *it, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < it->ntags; i++)
        if (it->tags[i].name_len == n && !memcmp(it->tags[i].name, name, n))
            return &it->tags[i];
    return NULL;
}

/* ---- building ---- */

int item_signature_data(unsigned sig_type, const uint8_t *owner, size_t owner_len,
                        const item_fields *f, uint8_t out[ITEM_DH_LEN], ao_error *err)
{
    size_t sl = 0, ol = 0;
    int rc = item_sig_lengths(sig_type, &sl, &ol, err);
    if (rc)
        return rc;
    if (owner_len != ol)
        return ao_err_set(err, AO_EINVAL, "%s owner must be %zu bytes, got %zu",
                          item_sig_name(sig_type), ol, owner_len);
    ao_buf tags;
    ao_buf_init(&tags);
    if ((rc = item_tags_encode(f->tags, f->ntags, &tags, err))) {
        ao_buf_free(&tags);
        return rc;
    }
    item_dh_message(sig_type, owner, owner_len, f->target, f->anchor, tags.data, tags.len,
                    f->data, f->data_len, out);
    ao_buf_free(&tags);
    return AO_OK;
}

int item_encode(unsigned sig_type, const uint8_t *sig, size_t sig_len,
                const uint8_t *owner, size_t owner_len, const item_fields *f,
                ao_buf *out, ao_error *err)
{
    size_t sl = 0, ol = 0;
    int rc = item_sig_lengths(sig_type, &sl, &ol, err);
    if (rc)
        return rc;
    if (sig_len != sl || owner_len != ol)
        return ao_err_set(err, AO_EINVAL, "%s needs a %zu-byte signature and %zu-byte owner, got %zu and %zu",
                          item_sig_name(sig_type), sl, ol, sig_len, owner_len);
    size_t start = out->len;
    ao_buf tags;
    ao_buf_init(&tags);
    if ((rc = item_tags_encode(f->tags, f->ntags, &tags, err))) {
        ao_buf_free(&tags);
        return rc;
    }
    rc = ao_buf_reserve(out, 2 + sl + ol + 2 + 64 + 16 + tags.len + f->data_len);
    if (!rc) {
        ao_buf_append_u16le(out, (uint16_t)sig_type);
        ao_buf_append(out, sig, sl);
        ao_buf_append(out, owner, ol);
        ao_buf_append_byte(out, f->target ? 1 : 0);
        if (f->target)
            ao_buf_append(out, f->target, ITEM_TARGET_LEN);
        ao_buf_append_byte(out, f->anchor ? 1 : 0);
        if (f->anchor)
            ao_buf_append(out, f->anchor, ITEM_ANCHOR_LEN);
        ao_buf_append_u64le(out, f->ntags);
        ao_buf_append_u64le(out, tags.len);
        ao_buf_append(out, tags.data, tags.len);
        ao_buf_append(out, f->data, f->data_len);
    }
    ao_buf_free(&tags);
    if (rc) {
        out->len = start;
        return ao_err_set(err, AO_ENOMEM, "item: out of memory");
    }
    return AO_OK;
}

