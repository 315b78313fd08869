/*
 * item.h - ANS-104 data items: strict decoding, verification, encoding and
 * signing; the Arweave deep hash; Avro tag encoding; bundles; and the
 * signature data and data_root of Arweave L1 (format 2) transactions.
 *
 * Reference: shared/ANS104.md. Section numbers below refer to it.
 *
 * Ownership: item_decode() does not copy or allocate. Every pointer in an
 * `item` (signature, owner, target, anchor, tag bytes, each tag's name and
 * value, data) points into the caller's buffer, which must outlive the
 * item. An `item` needs no freeing. Encoders append to a caller-owned
 * ao_buf. item_bundle_parse() allocates only its entry table
 * (item_bundle_free()); the entries point into the caller's buffer.
 *
 * Error reasons: decode/verify failures return
 *   AO_EFORMAT  the bytes do not follow the layout (truncated, bad presence
 *               byte, bad Avro, count mismatch, trailing bytes, unknown
 *               signature type "unknown signature type N");
 *   AO_ELIMIT   a limit was exceeded (tag bytes > 4096, tags > 128, name
 *               > 1024 bytes, value > 3072 bytes);
 *   AO_EVERIFY  the signature does not match;
 *   AO_EUNSUPPORTED  a known signature type this build cannot verify (5, 6);
 * each with a specific message in err->msg.
 */
#ifndef AO_ITEM_H
#define AO_ITEM_H

#include "base/base.h"
#include "crypto/crypto.h"

/* ---- limits (§1, §8) ---- */
#define ITEM_MAX_TAGS        128
#define ITEM_MAX_TAG_BYTES   4096
#define ITEM_MAX_NAME_LEN    1024
#define ITEM_MAX_VALUE_LEN   3072
#define ITEM_TARGET_LEN      32
#define ITEM_ANCHOR_LEN      32
#define ITEM_ID_LEN          32      /* SHA-256 of the signature */
#define ITEM_ID_B64_LEN      43      /* base64url of the id, no padding */
#define ITEM_DH_LEN          48      /* deep hash output (SHA-384) */

/* Signature types (§1). Types 5 and 6 decode but cannot be verified. */
typedef enum {
    ITEM_SIG_ARWEAVE = 1,        /* RSA-4096 PSS, sig 512, owner 512 (modulus) */
    ITEM_SIG_ED25519 = 2,        /* sig 64, owner 32 */
    ITEM_SIG_ETHEREUM = 3,       /* EIP-191 secp256k1, sig 65, owner 65 */
    ITEM_SIG_SOLANA = 4,         /* ed25519 over the hex deep hash, 64/32 */
    ITEM_SIG_INJECTED_APTOS = 5, /* 64/32 */
    ITEM_SIG_MULTI_APTOS = 6,    /* 2052/1025 */
    ITEM_SIG_TYPED_ETHEREUM = 7, /* EIP-712, sig 65, owner 42 ASCII "0x..." */
} item_sig_type;

/* Signature and owner lengths of a type; AO_EFORMAT
 * ("unknown signature type N") for any other type. */
int item_sig_lengths(unsigned type, size_t *sig_len, size_t *owner_len, ao_error *err);
/* "arweave", "ed25519", ... or "unknown". */
const char *item_sig_name(unsigned type);

/* One tag: arbitrary bytes (usually UTF-8), not NUL-terminated. */
typedef struct item_tag {
    const uint8_t *name;
    size_t name_len;
    const uint8_t *value;
    size_t value_len;
} item_tag;

/* A decoded data item: views into the caller's buffer (see top). */
typedef struct item {
    const uint8_t *raw;          /* the whole item */
    size_t raw_len;
    uint16_t sig_type;
    const uint8_t *sig;
    size_t sig_len;
    const uint8_t *owner;
    size_t owner_len;
    const uint8_t *target;       /* NULL when absent, else 32 bytes */
    const uint8_t *anchor;       /* NULL when absent, else 32 bytes */
    const uint8_t *tag_bytes;    /* the Avro bytes exactly as stored (signed) */
    size_t tag_bytes_len;
    size_t ntags;                /* == the header's tag count */
    item_tag tags[ITEM_MAX_TAGS];
    const uint8_t *data;
    size_t data_len;
} item;

/* ---- decoding and verification ---- */

/* Strict parse of one binary data item (§1, §2, §8). Checks layout and
 * limits, not the signature. Accepts empty tag values (HyperBEAM writes
 * them), rejects empty names. On failure *it is unspecified. */
int item_decode(const uint8_t *raw, size_t len, item *it, ao_error *err);

/* Decode and check the signature over the deep hash (types 1, 2, 3, 4, 7).
 * `it` may be NULL; when given it holds the decoded item on success. */
int item_verify(const uint8_t *raw, size_t len, item *it, ao_error *err);
/* Signature check of an already decoded item. */
int item_verify_decoded(const item *it, ao_error *err);

/* The message that is signed: DH(["dataitem","1",type,owner,target,anchor,
 * tag bytes,data]) (§3). */
void item_deep_hash(const item *it, uint8_t out[ITEM_DH_LEN]);

/* id = SHA-256(signature); b64 form is 43 chars + NUL. */
void item_id(const item *it, uint8_t out[ITEM_ID_LEN]);
void item_id_b64(const item *it, char out[ITEM_ID_B64_LEN + 1]);
/* base64url(SHA-256(owner)), the Arweave-style owner address (43 chars). */
void item_owner_address(const item *it, char out[AO_ADDRESS_MAX]);
/* First tag with this name (exact bytes), or NULL. */
const item_tag *item_find_tag(const item *it, const char *name);

/* ---- building and signing ---- */

/* Fields of an item to build. target/anchor: NULL or exactly 32 bytes. */
typedef struct item_fields {
    const uint8_t *target;
    const uint8_t *anchor;
    const item_tag *tags;
    size_t ntags;
    const uint8_t *data;
    size_t data_len;
} item_fields;

/* Canonical Avro of tags (§2): one block + terminator; nothing for 0 tags.
 * Applies the tag limits (AO_ELIMIT). Appends to out. */
int item_tags_encode(const item_tag *tags, size_t n, ao_buf *out, ao_error *err);
/* Decode Avro tag bytes (any number of blocks, negative counts with block
 * sizes; terminator required; no trailing bytes) into tags[max], views into
 * p. Applies the limits. */
int item_tags_decode(const uint8_t *p, size_t len, item_tag *tags, size_t max,
                     size_t *n, ao_error *err);

/* Deep hash a signer signs for these fields and owner. */
int item_signature_data(unsigned sig_type, const uint8_t *owner, size_t owner_len,
                        const item_fields *f, uint8_t out[ITEM_DH_LEN], ao_error *err);
/* Assemble the binary item from fields and a ready signature (appended to
 * out). Checks lengths against the type. */
int item_encode(unsigned sig_type, const uint8_t *sig, size_t sig_len,
                const uint8_t *owner, size_t owner_len, const item_fields *f,
                ao_buf *out, ao_error *err);
/* Sign with a wallet (type = the wallet's key type 1, 2 or 3) and append
 * the binary item to out. id (may be NULL) receives SHA-256(signature). */
int item_sign(const crypto_wallet *w, const item_fields *f, ao_buf *out,
              uint8_t id[ITEM_ID_LEN], ao_error *err);

/* ---- deep hash (§3) ---- */

/* DH of one blob. */
void item_dh_blob(const void *p, size_t n, uint8_t out[ITEM_DH_LEN]);

/* A list, element by element: begin with the element count, then add each
 * element (a blob, or the DH of a nested list/blob), then end. */
typedef struct item_dh_list {
    uint8_t acc[ITEM_DH_LEN];
    size_t expected, added;
} item_dh_list;
void item_dh_list_begin(item_dh_list *l, size_t count);
void item_dh_list_add_blob(item_dh_list *l, const void *p, size_t n);
void item_dh_list_add_hash(item_dh_list *l, const uint8_t dh[ITEM_DH_LEN]);
/* AO_EINVAL if the number of elements added differs from count. */
int item_dh_list_end(item_dh_list *l, uint8_t out[ITEM_DH_LEN], ao_error *err);

/* Streaming DH of one large blob whose length is known in advance. */
typedef struct item_dh_stream item_dh_stream;   /* opaque */
int item_dh_stream_new(uint64_t total_len, item_dh_stream **out, ao_error *err);
void item_dh_stream_update(item_dh_stream *s, const void *p, size_t n);
/* AO_EINVAL if the bytes fed differ from total_len. Frees nothing. */
int item_dh_stream_final(item_dh_stream *s, uint8_t out[ITEM_DH_LEN], ao_error *err);
void item_dh_stream_free(item_dh_stream *s);

/* ---- bundles (§5) ---- */

typedef struct item_bundle_entry {
    const uint8_t *header_id;  /* 32 bytes, as written in the header */
    const uint8_t *raw;        /* the item bytes (view) */
    size_t len;
} item_bundle_entry;

typedef struct item_bundle {
    size_t count;
    item_bundle_entry *entries;   /* malloc'd, item_bundle_free() */
} item_bundle;

/* Parse the layout only: u256 LE count, count x (u256 LE size, id), items.
 * The items must fill the buffer exactly. */
int item_bundle_parse(const uint8_t *raw, size_t len, item_bundle *b, ao_error *err);
void item_bundle_free(item_bundle *b);
/* Parse, then check each header id equals SHA-256(that item's signature)
 * and each item verifies. The error names the failing item's index. */
int item_bundle_verify(const uint8_t *raw, size_t len, ao_error *err);

/* Build a bundle from n binary items (each must decode). Appends to out. */
int item_bundle_write(const uint8_t *const *items, const size_t *lens, size_t n,
                      ao_buf *out, ao_error *err);

/* ---- Arweave L1 transactions, format 2 (§5) ---- */

typedef struct item_l1_tx {
    const uint8_t *owner;       /* 512-byte modulus */
    size_t owner_len;
    const uint8_t *target;      /* NULL/0 or 32 bytes */
    size_t target_len;
    const char *quantity;       /* winston, decimal string */
    const char *reward;         /* decimal string */
    const uint8_t *last_tx;     /* 32 (tx id) or 48 (block hash) bytes */
    size_t last_tx_len;
    const item_tag *tags;       /* raw name/value bytes */
    size_t ntags;
    uint64_t data_size;
    const uint8_t *data_root;   /* NULL/0 or 32 bytes */
    size_t data_root_len;
} item_l1_tx;

/* DH(["2", owner, target, quantity, reward, last_tx, [[name,value]...],
 * data_size, data_root]). */
int item_l1_signature_data(const item_l1_tx *tx, uint8_t out[ITEM_DH_LEN], ao_error *err);
/* Merkle root of data (256 KiB chunks, last two rebalanced if the last one
 * would be under 32 KiB). Empty data gives AO_EINVAL: a transaction without
 * data has an empty data_root. */
int item_l1_data_root(const uint8_t *data, size_t len, uint8_t out[32], ao_error *err);

#endif
