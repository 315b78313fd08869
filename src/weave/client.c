/*
 * client.c - weave_client over a local weave: each operation is the weave_*
 * function of the same name (weave.h). The HTTP twin lives in src/net.
 */
#include "weave/weave.h"

static int lc_put(void *ctx, const uint8_t *raw, size_t len, weave_put_result *res, ao_error *err)
{
    return weave_put(ctx, raw, len, 0, res, err);
}

static int lc_put_trusted(void *ctx, const uint8_t *raw, size_t len, weave_put_result *res,
                          ao_error *err)
{
    return weave_put(ctx, raw, len, WEAVE_PUT_NOVERIFY, res, err);
}

static int lc_put_many_trusted(void *ctx, const uint8_t *const *raws, const size_t *lens,
                               size_t n, weave_put_result *res, ao_error *err)
{
    return weave_put_many(ctx, raws, lens, n, WEAVE_PUT_NOVERIFY, res, err);
}

static int lc_put_many(void *ctx, const uint8_t *const *raws, const size_t *lens, size_t n,
                       weave_put_result *res, ao_error *err)
{
    return weave_put_many(ctx, raws, lens, n, 0, res, err);
}

static int lc_get(void *ctx, const char *id, ao_buf *out, ao_error *err)
{
    return weave_get(ctx, id, out, err);
}

static int lc_get_data(void *ctx, const char *id, ao_buf *out, ao_error *err)
{
    return weave_get_data(ctx, id, out, err);
}

static int lc_get_meta(void *ctx, const char *id, unsigned fields, weave_item_meta *out,
                       ao_error *err)
{
    return weave_get_meta(ctx, id, fields, out, err);
}

static int lc_query_tx(void *ctx, const weave_tx_filter *f, weave_tx_page *out, ao_error *err)
{
    return weave_query_transactions(ctx, f, out, err);
}

static int lc_query_blocks(void *ctx, const weave_block_filter *f, weave_block_page *out,
                           ao_error *err)
{
    return weave_query_blocks(ctx, f, out, err);
}

static int lc_info(void *ctx, weave_info *out, ao_error *err)
{
    return weave_get_info(ctx, out, err);
}

static int lc_location(void *ctx, const char *address, weave_scheduler_location *out,
                       ao_error *err)
{
    return weave_scheduler_location_resolve(ctx, address, out, err);
}

void weave_client_local(weave *w, weave_client *out)
{
    out->ctx = w;
    out->put = lc_put;
    out->put_many = lc_put_many;
    out->get = lc_get;
    out->get_data = lc_get_data;
    out->get_meta = lc_get_meta;
    out->query_transactions = lc_query_tx;
    out->query_blocks = lc_query_blocks;
    out->get_info = lc_info;
    out->scheduler_location_resolve = lc_location;
}

void weave_client_local_verified(weave *w, weave_client *out)
{
    weave_client_local(w, out);
    out->put = lc_put_trusted;
    out->put_many = lc_put_many_trusted;
}
