/*
 * crypto.h - hashes, signature schemes and wallets used by AO.
 *
 * Hashes: SHA-256, SHA-384 (OpenSSL 3), Keccak-256 (written here: OpenSSL
 * 3.0 has none). Signers: RSA-PSS-4096 (Arweave, type 1), Ed25519 (type 2),
 * secp256k1 ECDSA with EIP-191 (Ethereum, type 3). Wallets: load/save/
 * generate Arweave JWK, Ed25519 and Ethereum keys, and derive addresses.
 */
#ifndef AO_CRYPTO_H
#define AO_CRYPTO_H

#include "base/base.h"

#define AO_SHA256_LEN 32
#define AO_SHA384_LEN 48
#define AO_KECCAK256_LEN 32

/* ---- one-shot hashes ---- */
void crypto_sha256(const void *p, size_t n, uint8_t out[AO_SHA256_LEN]);
void crypto_sha384(const void *p, size_t n, uint8_t out[AO_SHA384_LEN]);
void crypto_keccak256(const void *p, size_t n, uint8_t out[AO_KECCAK256_LEN]);

/* ---- streaming hashes (for deep hash over large data) ---- */
typedef struct crypto_hash crypto_hash;   /* opaque */
typedef enum { CRYPTO_SHA256, CRYPTO_SHA384, CRYPTO_KECCAK256 } crypto_hash_alg;
crypto_hash *crypto_hash_new(crypto_hash_alg alg);   /* NULL on ENOMEM */
void crypto_hash_update(crypto_hash *h, const void *p, size_t n);
void crypto_hash_final(crypto_hash *h, uint8_t *out); /* then reusable after _reset */
void crypto_hash_reset(crypto_hash *h);
void crypto_hash_free(crypto_hash *h);

/* ---- key types ---- */
typedef enum {
    CRYPTO_KEY_ARWEAVE = 1,   /* RSA-4096, e = 65537; public key = 512-byte modulus n */
    CRYPTO_KEY_ED25519 = 2,   /* public key = 32 bytes */
    CRYPTO_KEY_ETHEREUM = 3,  /* secp256k1; public key = 65 bytes 0x04||X||Y */
} crypto_key_type;

typedef struct crypto_wallet crypto_wallet;   /* opaque; holds a private key */

/* Generate a new key. RSA-4096 generation takes a second or so. */
int crypto_wallet_generate(crypto_key_type type, crypto_wallet **out, ao_error *err);
/* Parse a wallet file's JSON text:
 *   arweave:  JWK {kty:"RSA", e, n, d, p, q, dp, dq, qi}
 *   ed25519:  {"kty":"OKP","crv":"Ed25519","d":b64url seed,"x":b64url pub}
 *   ethereum: {"kty":"EC","crv":"secp256k1","d":b64url 32-byte secret, "x","y"}
 * The type is detected from the JSON. */
int crypto_wallet_parse(const char *json, size_t len, crypto_wallet **out, ao_error *err);
int crypto_wallet_load(const char *path, crypto_wallet **out, ao_error *err);
/* Serialise to the JSON form above (malloc'd NUL-terminated string). */
int crypto_wallet_to_json(const crypto_wallet *w, char **json, ao_error *err);
/* Save atomically with mode 0600. */
int crypto_wallet_save(const crypto_wallet *w, const char *path, ao_error *err);
void crypto_wallet_free(crypto_wallet *w);

crypto_key_type crypto_wallet_type(const crypto_wallet *w);
/* Public key bytes as they appear as an ANS-104 owner (see crypto_key_type). */
const uint8_t *crypto_wallet_owner(const crypto_wallet *w, size_t *len);

/* Address of an owner (public key) of the given type, NUL-terminated in out:
 *   arweave/ed25519: base64url(SHA-256(owner)), 43 chars;
 *   ethereum: "0x" + EIP-55 checksummed hex of keccak256(X||Y)[12:], 42 chars.
 * out must hold AO_ADDRESS_MAX bytes. */
#define AO_ADDRESS_MAX 64
int crypto_address(crypto_key_type type, const uint8_t *owner, size_t owner_len,
                   char out[AO_ADDRESS_MAX], ao_error *err);
/* "0x" + EIP-55 mixed-case checksummed hex of a 20-byte Ethereum address. */
void crypto_eth_address_checksum(const uint8_t addr[20], char out[43]);
/* base64url(SHA-256(owner)) for any key type (what ANS-104 tools call the
 * "owner address" and Arweave calls the wallet address). */
void crypto_owner_address_b64(const uint8_t *owner, size_t owner_len,
                              char out[AO_ADDRESS_MAX]);

/* ---- signatures over a message (for ANS-104: the 48-byte deep hash) ----
 * arweave:  RSA-PSS, SHA-256, MGF1-SHA-256, salt 32 when signing; verify
 *           detects the salt length (0, 32 and 478 all verify). sig 512 bytes.
 * ed25519:  pure Ed25519 over msg. sig 64 bytes.
 * ethereum: ECDSA over keccak256("\x19Ethereum Signed Message:\n" ||
 *           decimal(len) || msg), sig r||s||v (65 bytes), v in {27,28},
 *           low-S; verify requires low-S, v in {27,28} and that the key
 *           recovered from (r,s,v) equals the owner.
 * sig must hold AO_SIG_MAX bytes; *sig_len receives the length. */
#define AO_SIG_MAX 512
int crypto_sign(const crypto_wallet *w, const uint8_t *msg, size_t msg_len,
                uint8_t *sig, size_t *sig_len, ao_error *err);
/* Returns AO_OK if valid, AO_EVERIFY (with a reason) if not. */
int crypto_verify(crypto_key_type type, const uint8_t *owner, size_t owner_len,
                  const uint8_t *msg, size_t msg_len,
                  const uint8_t *sig, size_t sig_len, ao_error *err);

/* Raw primitives, exposed for benchmarks and for signature types that need
 * a different message preparation (e.g. Solana-style hex). */
int crypto_rsa_pss_verify(const uint8_t *n, size_t n_len, const uint8_t *msg, size_t msg_len,
                          const uint8_t *sig, size_t sig_len, ao_error *err);
int crypto_ed25519_verify(const uint8_t pub[32], const uint8_t *msg, size_t msg_len,
                          const uint8_t sig[64], ao_error *err);
/* ECDSA verify of a 32-byte digest against a 65-byte uncompressed key
 * (r||s, low-S required); no recovery. */
int crypto_secp256k1_verify_digest(const uint8_t pub[65], const uint8_t digest[32],
                                   const uint8_t rs[64], ao_error *err);
/* The EIP-191 digest: keccak256("\x19Ethereum Signed Message:\n" || dec(len) || msg). */
void crypto_eip191_digest(const uint8_t *msg, size_t msg_len, uint8_t out[32]);

#endif
