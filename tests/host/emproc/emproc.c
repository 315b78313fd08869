/*
 * emproc.c - a process module with the imports and exports of an emscripten
 * 3.1.5x ao module (MODULES.md §1: the emscripten4 aos import list), for
 * the host tests of tests/host/test_host_em4.c. Built without libc by clang
 * (the Makefile) twice: --target=wasm32 into build/emproc32.wasm
 * (Module-Format wasm32-unknown-emscripten4) and --target=wasm64 into
 * build/emproc64.wasm (wasm64-unknown-emscripten-draft_2024_02_15: a
 * 64-bit memory, pointers and size_t as i64 in every import and export).
 * It has handle(msg, env) -> result string, setThrew(uintptr_t, int), the
 * 3.1.5x stack exports, longjmp through invoke_vii/invoke_vjj, heap growth
 * through emscripten_resize_heap, WASI fd_write with {ptr, size_t} iovecs.
 *
 * The message's Action tag picks what a message does (see handle below);
 * the Output is plain text in {"ok":true,"response":{"Output":...}}.
 */
typedef __SIZE_TYPE__ size_t;      /* 32 or 64 bits with the target */
typedef __UINTPTR_TYPE__ uintptr_t;
typedef unsigned long long u64;

#define IMPORT(m, n) __attribute__((import_module(m), import_name(n)))
#define EXPORT(n) __attribute__((export_name(n)))

struct iov { const void *base; size_t len; };

/* emscripten names invoke_* by the wasm types: j = i64 (wasm64 pointers) */
#if __wasm64__
IMPORT("env", "invoke_vjj")
#else
IMPORT("env", "invoke_vii")
#endif
void invoke_vpp(void (*f)(void *, void *), void *a, void *b);
IMPORT("env", "_emscripten_throw_longjmp") void throw_longjmp(void);
IMPORT("env", "emscripten_resize_heap") int resize_heap(size_t bytes);
IMPORT("env", "_emscripten_memcpy_js") void memcpy_js(void *d, const void *s, size_t n);
IMPORT("env", "emscripten_date_now") double date_now(void);
IMPORT("env", "__asyncjs__weavedrive_open") int weavedrive_open(const char *path, const char *mode);
IMPORT("env", "_abort_js") void abort_js(void);
IMPORT("wasi_snapshot_preview1", "fd_write") int fd_write(int fd, const struct iov *v, size_t n, size_t *nw);
IMPORT("wasi_snapshot_preview1", "environ_sizes_get") int environ_sizes_get(size_t *count, size_t *size);
IMPORT("wasi_snapshot_preview1", "clock_time_get") int clock_time_get(int id, u64 precision, u64 *ns);
/* the rest of the emscripten4 aos imports: files, processes and time zones
 * the sandbox does not have */
IMPORT("env", "__syscall_openat") int sys_openat(int dirfd, const char *path, int flags, void *mode);
IMPORT("env", "__syscall_fcntl64") int sys_fcntl64(int fd, int cmd, void *arg);
IMPORT("env", "__syscall_ioctl") int sys_ioctl(int fd, int op, void *arg);
IMPORT("env", "__syscall_dup3") int sys_dup3(int fd, int to, int flags);
IMPORT("env", "__syscall_unlinkat") int sys_unlinkat(int dirfd, const char *path, int flags);
IMPORT("env", "__syscall_rmdir") int sys_rmdir(const char *path);
IMPORT("env", "__syscall_renameat") int sys_renameat(int od, const char *op, int nd, const char *np);
IMPORT("env", "__syscall_readlinkat") int sys_readlinkat(int dirfd, const char *path, char *buf, size_t n);
IMPORT("wasi_snapshot_preview1", "fd_read") int fd_read(int fd, const struct iov *v, size_t n, size_t *nr);
IMPORT("wasi_snapshot_preview1", "fd_close") int fd_close(int fd);
IMPORT("wasi_snapshot_preview1", "fd_seek") int fd_seek(int fd, long long off, int whence, long long *to);
IMPORT("wasi_snapshot_preview1", "environ_get") int environ_get(char **env, char *buf);
IMPORT("env", "_emscripten_get_now_is_monotonic") int now_is_monotonic(void);
IMPORT("env", "_emscripten_system") int em_system(const char *cmd);
IMPORT("env", "_tzset_js") void tzset_js(long *tz, int *daylight, char *std, char *dst);
IMPORT("env", "_mktime_js") long long mktime_js(void *tm);
IMPORT("env", "_localtime_js") void localtime_js(long long t, void *tm);
IMPORT("env", "_gmtime_js") void gmtime_js(long long t, void *tm);
IMPORT("env", "strftime") size_t em_strftime(char *s, size_t max, const char *fmt, const void *tm);
IMPORT("env", "exit") void em_exit(int status);
IMPORT("env", "metering_gasUsed") int metering_gas_used(void);
IMPORT("env", "__asyncjs__weavedrive_read") int weavedrive_read(int fd, void *dst, size_t n);
IMPORT("env", "__asyncjs__weavedrive_close") int weavedrive_close(int fd);

extern char __heap_base[], __data_end[];

/* ---- the emscripten exports ---- */

static uintptr_t threw;
static int threw_value;

EXPORT("setThrew") void set_threw(uintptr_t t, int v) { threw = t; threw_value = v; }

EXPORT("emscripten_stack_get_current") uintptr_t stack_get_current(void)
{
    uintptr_t sp;
    __asm__ volatile("global.get __stack_pointer\n\tlocal.set %0" : "=r"(sp));
    return sp;
}

EXPORT("_emscripten_stack_restore") void stack_restore(uintptr_t sp)
{
    __asm__ volatile("local.get %0\n\tglobal.set __stack_pointer" : : "r"(sp));
}

EXPORT("_emscripten_stack_alloc") uintptr_t stack_alloc(size_t n)
{
    uintptr_t sp = (stack_get_current() - n) & ~(uintptr_t)15;
    stack_restore(sp);
    return sp;
}

EXPORT("emscripten_stack_init") void stack_init(void) {}

/* the stack lies between the data and the heap; it ends at the data's end */
EXPORT("emscripten_stack_get_end") uintptr_t stack_get_end(void)
{
    return ((uintptr_t)__data_end + 15) & ~(uintptr_t)15;
}

/* ---- a bump heap that grows the memory through the host ---- */

static uintptr_t brk;

static u64 memory_bytes(void) { return (u64)__builtin_wasm_memory_size(0) * 65536; }

static void *sbrk_to(uintptr_t end)
{
    if (end > memory_bytes() && !resize_heap(end))
        return 0;
    return (void *)end;
}

EXPORT("malloc") void *malloc(size_t n)
{
    if (!brk) brk = ((uintptr_t)__heap_base + 15) & ~(uintptr_t)15;
    uintptr_t p = brk, end = (p + n + 15) & ~(uintptr_t)15;
    if (!sbrk_to(end)) return 0;
    brk = end;
    return (void *)p;
}

/* ---- text ---- */

static size_t slen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }

static const char *find(const char *h, const char *n)
{
    size_t k = slen(n);
    for (; *h; h++) {
        size_t i = 0;
        while (i < k && h[i] == n[i]) i++;
        if (i == k) return h;
    }
    return 0;
}

typedef struct { char *p; size_t n, cap; } out;

static void put(out *o, const char *s)
{
    while (*s && o->n + 1 < o->cap) o->p[o->n++] = *s++;
    o->p[o->n] = 0;
}

static void put_u(out *o, u64 v)
{
    char b[24];
    int i = 23;
    b[i] = 0;
    do { b[--i] = (char)('0' + v % 10); v /= 10; } while (v);
    put(o, b + i);
}

static int action_is(const char *msg, const char *a)
{
    const char *t = find(msg, "\"name\":\"Action\",\"value\":\"");
    if (!t) return 0;
    t += slen("\"name\":\"Action\",\"value\":\"");
    size_t k = slen(a);
    for (size_t i = 0; i < k; i++)
        if (t[i] != a[i]) return 0;
    return t[k] == '"';
}

/* ---- longjmp ---- */

static void jumps(void *a, void *b) { *(int *)a = 1; (void)b; throw_longjmp(); *(int *)a = 2; }
static void adds(void *a, void *b) { *(u64 *)a += *(u64 *)b; }

/* ---- handle ---- */

static u64 count;     /* messages this process handled (rolled back with the memory) */
static char result[4096];

EXPORT("handle") const char *handle(const char *msg, const char *env)
{
    out o = {result, 0, sizeof result};
    count++;
    if (action_is(msg, "Fail")) {
        put(&o, "{\"ok\":false,\"response\":\"failed on purpose\"}");
        return result;
    }
    if (action_is(msg, "GrowFail")) {
        char *b = malloc(3u << 20);
        if (b) b[(3u << 20) - 1] = 1;
        put(&o, "{\"ok\":false,\"response\":\"grew, then failed\"}");
        return result;
    }
    if (action_is(msg, "Trap"))
        __builtin_trap();
    if (action_is(msg, "Abort"))
        abort_js();
    put(&o, "{\"ok\":true,\"response\":{\"Output\":\"");
    if (action_is(msg, "Count")) {
        put(&o, "count ");
        put_u(&o, count);
    } else if (action_is(msg, "Longjmp")) {
        int state = 0;
        threw = 0;
        invoke_vpp(jumps, &state, 0);
        u64 a = 40, b = 2;
        uintptr_t sp = stack_get_current();
        invoke_vpp(adds, &a, &b);
        put(&o, "state ");
        put_u(&o, (u64)state);
        put(&o, " threw ");
        put_u(&o, threw);
        put(&o, " value ");
        put_u(&o, (u64)threw_value);
        put(&o, " sum ");
        put_u(&o, a);
        put(&o, sp == stack_get_current() ? " sp kept" : " sp moved");
    } else if (action_is(msg, "Print")) {
        struct iov v[2] = {{"hello ", 6}, {"emproc\n", 7}};
        size_t nw = ~(size_t)0;
        int rc = fd_write(1, v, 2, &nw);
        put(&o, "rc ");
        put_u(&o, (u64)rc);
        put(&o, " written ");
        put_u(&o, nw);
    } else if (action_is(msg, "Env")) {
        size_t c = ~(size_t)0, s = ~(size_t)0;
        environ_sizes_get(&c, &s);
        put(&o, "count ");
        put_u(&o, c);
        put(&o, " size ");
        put_u(&o, s);
    } else if (action_is(msg, "Time")) {
        u64 ns = ~0ull;
        clock_time_get(0, 0, &ns);
        put(&o, "ns ");
        put_u(&o, ns);
        put(&o, " ms ");
        put_u(&o, (u64)date_now());
    } else if (action_is(msg, "Grow")) {
        /* 3 MiB from the heap: the memory grows by the host's policy */
        char *b = malloc(3u << 20);
        if (!b) {
            put(&o, "no memory");
        } else {
            b[(3u << 20) - 1] = 7;
            memcpy_js(b, b + (3u << 20) - 1, 1);
            put(&o, "pages ");
            put_u(&o, (u64)__builtin_wasm_memory_size(0));
            put(&o, " byte ");
            put_u(&o, (u64)b[0]);
        }
    } else if (action_is(msg, "Sandbox")) {
        /* each answer of the sandbox, as "name=value" */
        static char buf[64], tm[64];
        long long to = 5;
        size_t n = 7;
        struct iov v = {buf, sizeof buf};
        long tz = 5;
        int day = 5;
        const struct { const char *name; long long v; } r[] = {
            {"openat", sys_openat(-100, "/data/x", 0, 0)},
            {"fcntl", sys_fcntl64(0, 1, 0)},
            {"ioctl", sys_ioctl(1, 0x5413, buf)},
            {"dup3", sys_dup3(1, 5, 0)},
            {"unlinkat", sys_unlinkat(-100, "x", 0)},
            {"rmdir", sys_rmdir("x")},
            {"renameat", sys_renameat(-100, "x", -100, "y")},
            {"readlinkat", sys_readlinkat(-100, "x", buf, sizeof buf)},
            {"fd_read", fd_read(0, &v, 1, &n)},
            {"fd_close", fd_close(3)},
            {"fd_seek", fd_seek(1, 10, 0, &to)},
            {"environ_get", environ_get((char **)buf, buf)},
            {"monotonic", now_is_monotonic()},
            {"system", em_system("ls")},
            {"tzset", (tzset_js(&tz, &day, buf, buf + 16), tz + day)},
            {"mktime", mktime_js(tm)},
            {"localtime", (localtime_js(0, tm), tm[0])},
            {"gmtime", (gmtime_js(0, tm), tm[0])},
            {"strftime", (long long)em_strftime(buf, sizeof buf, "%Y", tm)},
            {"gas", metering_gas_used()},
            {"wd_read", weavedrive_read(3, buf, 4)},
            {"wd_close", weavedrive_close(3)},
        };
        for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
            put(&o, i ? " " : "");
            put(&o, r[i].name);
            put(&o, "=");
            if (r[i].v < 0) put(&o, "-");
            put_u(&o, (u64)(r[i].v < 0 ? -r[i].v : r[i].v));
        }
    } else if (action_is(msg, "Exit")) {
        em_exit(3);
    } else if (action_is(msg, "High")) {
#if __wasm64__
        /* an address beyond 4 GiB */
        uintptr_t at = (1ull << 32) + 4096;
        if (!sbrk_to(at + 8)) {
            put(&o, "no memory");
        } else {
            *(volatile u64 *)at = 0x0123456789abcdefull;
            put(&o, "high ");
            put_u(&o, *(volatile u64 *)at);
            put(&o, " pages ");
            put_u(&o, (u64)__builtin_wasm_memory_size(0));
        }
#else
        put(&o, "no 64-bit addresses");
#endif
    } else if (action_is(msg, "Weave")) {
        put(&o, "open ");
        put_u(&o, (u64)weavedrive_open("/data/x", "r"));
    } else {
        put(&o, "msg ");
        put_u(&o, slen(msg));
        put(&o, " env ");
        put_u(&o, slen(env));
    }
    put(&o, "\"}}");
    return result;
}
