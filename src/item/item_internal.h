/* item_internal.h - helpers shared by the files of src/item (not public). */
#ifndef AO_ITEM_INTERNAL_H
#define AO_ITEM_INTERNAL_H

#include "item.h"

/* The data item signature message (ANS104.md §3) from its parts. target
 * and anchor are NULL when absent, else 32 bytes. */
void item_dh_message(unsigned sig_type, const uint8_t *owner, size_t owner_len,
                     const uint8_t *target, const uint8_t *anchor,
                     const uint8_t *tag_bytes, size_t tag_bytes_len,
                     const uint8_t *data, size_t data_len, uint8_t out[ITEM_DH_LEN]);

/* Type 7 (EIP-712 "Bundlr") signature check over the deep hash. */
int item_verify_typed_ethereum(const uint8_t *owner, size_t owner_len,
                               const uint8_t dh[ITEM_DH_LEN], const uint8_t *sig,
                               size_t sig_len, ao_error *err);

#endif
