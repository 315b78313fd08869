/* error.c - the project's error convention: code + caller-owned message. */
#include "base.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ao_err_set(ao_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

int ao_err_wrap(ao_error *err, const char *fmt, ...)
{
    if (!err)
        return AO_EINVAL;
    char prefix[AO_ERRMSG_MAX], old[AO_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* truncation is acceptable: the message is for people */
    size_t n = strnlen(prefix, sizeof prefix - 1);
    memcpy(err->msg, prefix, n);
    if (n + 2 < sizeof err->msg) {
        err->msg[n++] = ':';
        err->msg[n++] = ' ';
        size_t m = strnlen(old, sizeof old - 1);
        if (m > sizeof err->msg - 1 - n)
            m = sizeof err->msg - 1 - n;
        memcpy(err->msg + n, old, m);
        n += m;
    }
    err->msg[n] = '\0';
    return err->code;
}

void ao_err_clear(ao_error *err)
{
    if (err) {
        err->code = AO_OK;
        err->msg[0] = '\0';
    }
}

const char *ao_strerror(int code)
{
    switch (code) {
    case AO_OK: return "OK";
    case AO_EINVAL: return "EINVAL";
    case AO_ENOMEM: return "ENOMEM";
    case AO_EIO: return "EIO";
    case AO_ECRYPTO: return "ECRYPTO";
    case AO_EFORMAT: return "EFORMAT";
    case AO_ENOTFOUND: return "ENOTFOUND";
    case AO_EVERIFY: return "EVERIFY";
    case AO_ELIMIT: return "ELIMIT";
    case AO_EUNSUPPORTED: return "EUNSUPPORTED";
    case AO_ETRAP: return "ETRAP";
    case AO_ESTATE: return "ESTATE";
    case AO_EBUSY: return "EBUSY";
    case AO_EDENIED: return "EDENIED";
    default: return "EUNKNOWN";
    }
}
