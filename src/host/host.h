/*
 * host.h - runs AO process modules (emscripten-built wasm, MODULES.md §1)
 * on the project's engine (src/wasm): loads a module for its Module-Format,
 * provides the emscripten imports, calls handle(msgJSON, envJSON) the way
 * the ao loader's ccall does, and returns the result of PROTOCOL.md §4.2.
 *
 * Objects:
 *   host_module   a decoded module and its format; immutable, shareable.
 *   host_process  one running instance of a module (its own store, memory,
 *                 limits). One thread at a time.
 *
 * Formats: "wasm32-unknown-emscripten" (closure-minified import names),
 * "wasm32-unknown-emscripten2", "-emscripten3", "-emscripten4", the
 * "-metering" variant of 4 (no load-time metering: gas is the engine's),
 * and "emscripten-3.1.6" (this project's build/aos.wasm; also chosen for
 * NULL or ""). A module importing anything the host does not provide is
 * refused at load, naming the import.
 *
 * Per message: the instance's state is marked first (an engine
 * transaction, wasm.h); on an Error (the module's ok=false, a response
 * carrying Error, a trap, out of gas, out of memory) it rolls back to that
 * mark exactly: memory bytes and size (a memory.grow is undone), globals,
 * table. The cost is per page written by the message, not per page of
 * memory. A message must run on one thread from start to end. Gas (the engine's deterministic count,
 * docs/wasm.md) restarts at 0 for each message; Compute-Limit bounds it.
 * Memory-Limit bounds the linear memory in bytes.
 *
 * Determinism: time sources read a counter that starts at 10000 ms at each
 * message and goes up by 1 per read (MODULES.md §5); no environment; stdout
 * and stderr are captured (bounded), never printed; files do not exist.
 */
#ifndef AO_HOST_H
#define AO_HOST_H

#include "base/base.h"

typedef struct host_module host_module;
typedef struct host_process host_process;

/* Bounds on one message's result (beyond them the result is an Error,
 * memory rolled back): the result JSON's bytes and its outbox length
 * (Messages + Spawns + Assignments). */
#define HOST_MAX_RESULT_BYTES (32u * 1024 * 1024)
#define HOST_MAX_OUTBOX 10000

typedef struct host_limits {
    uint64_t memory_limit;    /* bytes; 0 = the module's own maximum */
    uint64_t compute_limit;   /* gas per message; 0 = no limit */
} host_limits;

typedef struct host_result {
    char *json;         /* {"Output":..,"Messages":[..],"Spawns":[..],
                           "Assignments":[..],"GasUsed":n} or with "Error" */
    char *error;        /* the Error text, NULL if none */
    uint64_t gas_used;
    char *stdout_text;  /* what the module wrote to fd 1/2 during the call */
    char *raw;          /* the module's own result text ({"ok":..,"response":..}),
                           NULL if it returned none (trap) */
} host_result;

/* A Memory-Limit tag value as bytes: a number with an optional unit
 * "b", "kb", "mb", "gb", "tb" (powers of 1024; case-insensitive; a "-" or
 * blanks may come between, e.g. "1-gb", "512 MB", "65536"). AO_EINVAL if
 * malformed, AO_ELIMIT beyond 2^53. */
int host_parse_memory_limit(const char *s, uint64_t *bytes, ao_error *err);

/* Decode and check a module. format may be NULL (this project's build).
 * AO_EUNSUPPORTED for an unknown format or import, AO_EFORMAT/AO_EINVAL
 * for a bad module. */
int host_module_new(const uint8_t *wasm, size_t len, const char *format,
                    host_module **out, ao_error *err);
void host_module_free(host_module *m);   /* after its processes */
const char *host_module_format(const host_module *m);

/* Instantiate with fresh memory (the spawn state). limits may be NULL. */
int host_process_new(const host_module *m, const host_limits *limits,
                     host_process **out, ao_error *err);
/* Instantiate with the given memory bytes (a checkpoint: MODULES.md §1). */
int host_process_new_from_memory(const host_module *m, const host_limits *limits,
                                 const uint8_t *mem, size_t len,
                                 host_process **out, ao_error *err);
void host_process_free(host_process *p);

/* Evaluate one message. AO_OK with *out filled even when the message
 * failed (out->error set, memory rolled back); a negative code only when
 * the host itself fails (bad arguments, allocation). */
int host_process_handle(host_process *p, const char *msg_json, const char *env_json,
                        host_result *out, ao_error *err);
void host_result_free(host_result *r);

/* Rollback on Error is on by default (the CU's rule). Turned off, a
 * message whose module result is an Error (ok=false or a response with
 * Error) keeps its memory changes, as a plain Lua run would; traps and
 * out of gas still roll back. For development tools and comparisons. */
void host_process_set_rollback(host_process *p, bool on);

/* The current linear memory (valid until the next call on p). */
const uint8_t *host_process_memory(host_process *p, size_t *len);

/* Engine snapshot / restore of the whole instance (zstd, wasm.h): memory
 * (only its non-zero 4 KiB units are stored), globals, table. A snapshot
 * of an aos process is typically a few hundred KB whatever its memory size;
 * taking or restoring one costs a few ms (bench/aos.sh). */
int host_process_snapshot(host_process *p, ao_buf *out, ao_error *err);
int host_process_restore(host_process *p, const uint8_t *snap, size_t len, ao_error *err);
/* A process created directly from a snapshot of a process of the same
 * module (the cold resume of an evicted process): the same state as
 * host_process_new + host_process_restore, without running the module's
 * initialisation. limits as for host_process_new. */
int host_process_new_from_snapshot(const host_module *m, const host_limits *limits,
                                   const uint8_t *snap, size_t len, host_process **out,
                                   ao_error *err);

#endif
