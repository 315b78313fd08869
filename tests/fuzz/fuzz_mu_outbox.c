/* fuzz_mu_outbox.c - the Messenger Unit reading a result's outbox: the
 * bytes a CU answers (untrusted when the CU is remote) become the push
 * jobs of PROTOCOL.md §3 (messages, spawns with their notices,
 * assignments), each signed by the MU. Any input must give AO_OK or an
 * error, never a crash or a leak; every job built must carry a signed
 * item that verifies (or be a dead letter with a reason). */
#include <stdlib.h>
#include <string.h>

#include "item/item.h"
#include "mu/mu_internal.h"

static mu M;
static bool ready;

static int fz_process(void *ctx, const char *pid, ao_buf *out, ao_error *err)
{
    (void)ctx;
    (void)pid;
    (void)err;
    return ao_buf_append_str(out, "{\"tags\":[{\"name\":\"Module\",\"value\":\"mod\"},"
                                  "{\"name\":\"Scheduler\",\"value\":\"sch\"}]}");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        ao_log_configure(AO_LOG_OFF, false);   /* dead-letter warnings: noise here */
        if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &M.wallet, NULL) != AO_OK)
            abort();
        M.opt.su.process = fz_process;
        pthread_mutex_init(&M.cache_lock, NULL);
        ready = true;
    }
    mu_jobs js = {0};
    ao_error e = {0};
    int rc = mu_outbox_jobs(&M, (const char *)data, size, "source",
                            "PPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPP", "initial", &js, &e);
    if (rc == AO_OK)
        for (size_t i = 0; i < js.n; i++) {
            const mu_job *j = &js.v[i];
            if (j->state == MU_ST_DEAD) {
                if (!j->reason)
                    abort();
                continue;
            }
            if (j->raw && item_verify(j->raw, j->raw_len, NULL, NULL) != AO_OK)
                abort();
            if (!j->raw && strcmp(j->kind, "assign") != 0)
                abort();
        }
    mu_jobs_free(&js);
    return 0;
}
