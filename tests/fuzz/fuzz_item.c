/* fuzz_item.c - libFuzzer target for src/item: strict decoding, signature
 * verification and bundle parsing/verification on arbitrary bytes. When an
 * input decodes, re-encoding its fields must decode again to the same
 * fields (the canonical Avro may differ from the input's). */
#include <stdlib.h>
#include <string.h>

#include "item/item.h"

static void same_item(const item *a, const item *b)
{
    if (a->sig_type != b->sig_type || a->ntags != b->ntags || a->data_len != b->data_len ||
        memcmp(a->sig, b->sig, a->sig_len) || memcmp(a->owner, b->owner, a->owner_len) ||
        !a->target != !b->target || !a->anchor != !b->anchor ||
        (a->target && memcmp(a->target, b->target, 32)) ||
        (a->anchor && memcmp(a->anchor, b->anchor, 32)) ||
        (a->data_len && memcmp(a->data, b->data, a->data_len)))
        __builtin_trap();
    for (size_t i = 0; i < a->ntags; i++)
        if (a->tags[i].name_len != b->tags[i].name_len ||
            a->tags[i].value_len != b->tags[i].value_len ||
            memcmp(a->tags[i].name, b->tags[i].name, a->tags[i].name_len) ||
            (a->tags[i].value_len &&
             memcmp(a->tags[i].value, b->tags[i].value, a->tags[i].value_len)))
            __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    item *it = malloc(sizeof *it), *again = malloc(sizeof *again);
    ao_error err;
    if (!it || !again)
        goto out;
    if (item_decode(data, size, it, &err) == AO_OK) {
        item_fields f = { it->target, it->anchor, it->tags, it->ntags, it->data, it->data_len };
        ao_buf buf;
        ao_buf_init(&buf);
        if (item_encode(it->sig_type, it->sig, it->sig_len, it->owner, it->owner_len, &f, &buf,
                        &err) != AO_OK)
            __builtin_trap();
        if (item_decode(buf.data, buf.len, again, &err) != AO_OK)
            __builtin_trap();
        same_item(it, again);
        ao_buf_free(&buf);
        (void)item_verify_decoded(it, &err);
    }
    item_tag tags[ITEM_MAX_TAGS];
    size_t n;
    (void)item_tags_decode(data, size, tags, ITEM_MAX_TAGS, &n, &err);
    item_bundle b;
    if (item_bundle_parse(data, size, &b, &err) == AO_OK)
        item_bundle_free(&b);
    (void)item_bundle_verify(data, size, &err);
out:
    free(it);
    free(again);
    return 0;
}
