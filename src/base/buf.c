/* buf.c - growable byte buffers. */
#include "base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ao_buf_init(ao_buf *b) { b->data = NULL; b->len = b->cap = 0; }

void ao_buf_free(ao_buf *b)
{
    free(b->data);
    ao_buf_init(b);
}

void ao_buf_reset(ao_buf *b) { b->len = 0; }

int ao_buf_reserve(ao_buf *b, size_t extra)
{
    /* one spare byte so the contents can always be NUL-terminated */
    if (extra > SIZE_MAX - b->len - 1)
        return AO_ENOMEM;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return AO_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return AO_ENOMEM;
    b->data = p;
    b->cap = cap;
    return AO_OK;
}

int ao_buf_append(ao_buf *b, const void *p, size_t n)
{
    if (ao_buf_reserve(b, n))
        return AO_ENOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return AO_OK;
}

int ao_buf_append_byte(ao_buf *b, uint8_t c) { return ao_buf_append(b, &c, 1); }

int ao_buf_append_str(ao_buf *b, const char *s) { return ao_buf_append(b, s, strlen(s)); }

int ao_buf_printf(ao_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return AO_EINVAL;
    if (ao_buf_reserve(b, (size_t)n))
        return AO_ENOMEM;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return AO_OK;
}

int ao_buf_append_u16le(ao_buf *b, uint16_t v)
{
    uint8_t t[2];
    ao_wr_u16le(t, v);
    return ao_buf_append(b, t, 2);
}

int ao_buf_append_u64le(ao_buf *b, uint64_t v)
{
    uint8_t t[8];
    ao_wr_u64le(t, v);
    return ao_buf_append(b, t, 8);
}

uint8_t *ao_buf_take(ao_buf *b, size_t *len)
{
    if (!b->data && ao_buf_reserve(b, 0))
        return NULL;
    uint8_t *p = b->data;
    if (len)
        *len = b->len;
    ao_buf_init(b);
    return p;
}
