/* codec.c - strict base64url (no padding) and hex. */
#include "base.h"

#include <stdlib.h>

static const char B64URL[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

size_t ao_b64url_encoded_len(size_t n) { return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0); }

void ao_b64url_encode_to(const uint8_t *p, size_t n, char *out)
{
    size_t i = 0;
    char *o = out;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8) | p[i + 2];
        *o++ = B64URL[v >> 18];
        *o++ = B64URL[(v >> 12) & 63];
        *o++ = B64URL[(v >> 6) & 63];
        *o++ = B64URL[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *o++ = B64URL[v >> 18];
        *o++ = B64URL[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8);
        *o++ = B64URL[v >> 18];
        *o++ = B64URL[(v >> 12) & 63];
        *o++ = B64URL[(v >> 6) & 63];
    }
    *o = '\0';
}

char *ao_b64url_encode(const uint8_t *p, size_t n)
{
    char *s = malloc(ao_b64url_encoded_len(n) + 1);
    if (s)
        ao_b64url_encode_to(p, n, s);
    return s;
}

int ao_b64url_decode(const char *s, size_t slen, ao_buf *out, ao_error *err)
{
    if (slen % 4 == 1)
        return ao_err_set(err, AO_EINVAL, "base64url: length %zu is impossible", slen);
    if (ao_buf_reserve(out, slen / 4 * 3 + 2))
        return ao_err_set(err, AO_ENOMEM, "base64url: out of memory");
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < slen; i++) {
        int v = b64url_value((unsigned char)s[i]);
        if (v < 0)
            return ao_err_set(err, AO_EINVAL,
                              "base64url: invalid character 0x%02x at %zu",
                              (unsigned char)s[i], i);
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out->data[out->len++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits && (acc & ((1u << bits) - 1)))
        return ao_err_set(err, AO_EINVAL, "base64url: non-zero trailing bits");
    out->data[out->len] = 0;
    return AO_OK;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int ao_hex_decode(const char *s, size_t slen, ao_buf *out, ao_error *err)
{
    if (slen % 2)
        return ao_err_set(err, AO_EINVAL, "hex: odd length %zu", slen);
    if (ao_buf_reserve(out, slen / 2))
        return ao_err_set(err, AO_ENOMEM, "hex: out of memory");
    for (size_t i = 0; i < slen; i += 2) {
        int hi = hex_value((unsigned char)s[i]), lo = hex_value((unsigned char)s[i + 1]);
        if (hi < 0 || lo < 0)
            return ao_err_set(err, AO_EINVAL, "hex: invalid character at %zu",
                              hi < 0 ? i : i + 1);
        out->data[out->len++] = (uint8_t)(hi << 4 | lo);
    }
    out->data[out->len] = 0;
    return AO_OK;
}

void ao_hex_encode_to(const uint8_t *p, size_t n, char *out)
{
    static const char H[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = H[p[i] >> 4];
        out[2 * i + 1] = H[p[i] & 15];
    }
    out[2 * n] = '\0';
}

char *ao_hex_encode(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    if (s)
        ao_hex_encode_to(p, n, s);
    return s;
}
