/* test_http_hardening.c - the HTTP faces against hostile clients, spoken to
 * over raw sockets so nothing normalises the requests: bodies over the
 * limit (413, also when only the Content-Length is huge), clients that
 * stall mid-headers (timed out and closed while others are served), more
 * idle connections than the face's limit (served again once they go, no
 * descriptor left behind), path traversal on the gateway in plain and
 * encoded forms (4xx, never a file), and every error a JSON body. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net_units_util.h"

#define T_TIMEOUT_S 2
#define T_MAX_BODY (256 * 1024)

static nuu U;
static net_gateway *g_gw;
static net_server *g_su;
static uint16_t g_gw_port, g_su_port;

static int setup(void **state)
{
    (void)state;
    if (nuu_open(&U)) return -1;
    ao_error err = {0};
    net_gateway_options go = {0};
    go.timeout_s = T_TIMEOUT_S;
    go.max_body = T_MAX_BODY;
    if (net_gateway_start(U.w, &go, &g_gw, &err)) { fprintf(stderr, "gateway: %s\n", err.msg); return -1; }
    net_server_options so = {0};
    so.timeout_s = T_TIMEOUT_S;
    so.max_body = T_MAX_BODY;
    so.threads = 2;
    if (net_su_start(U.s, &so, &g_su, &err)) { fprintf(stderr, "su face: %s\n", err.msg); return -1; }
    g_gw_port = net_gateway_port(g_gw);
    g_su_port = net_server_port(g_su);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    net_server_stop(g_su);
    net_gateway_stop(g_gw);
    nuu_close(&U);
    return 0;
}

static int dial(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) { close(fd); return -1; }
    return fd;
}

static bool send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0) return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads until the peer closes or ms pass; returns bytes read, -1 on a reset. */
static ssize_t read_all(int fd, ao_buf *out, int ms)
{
    int64_t end = ao_mono_ms() + ms;
    for (;;) {
        int left = (int)(end - ao_mono_ms());
        if (left <= 0) return (ssize_t)out->len;
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, left);
        if (r <= 0) return (ssize_t)out->len;
        char b[8192];
        ssize_t n = recv(fd, b, sizeof b, 0);
        if (n == 0) return (ssize_t)out->len;
        if (n < 0) return errno == ECONNRESET ? (ssize_t)out->len : -1;
        ao_buf_append(out, b, (size_t)n);
    }
}

typedef struct raw_answer {
    int status;
    char *body;   /* NUL-terminated */
    cJSON *json;
} raw_answer;

static void raw_free(raw_answer *a)
{
    free(a->body);
    cJSON_Delete(a->json);
    memset(a, 0, sizeof *a);
}

/* One request sent as given (Connection: close expected in it). */
static int raw_request(uint16_t port, const char *req, size_t len, raw_answer *a)
{
    memset(a, 0, sizeof *a);
    int fd = dial(port);
    if (fd < 0) return -1;
    ao_buf b;
    ao_buf_init(&b);
    bool sent = send_all(fd, req, len);
    read_all(fd, &b, 10000);
    close(fd);
    ao_buf_append_byte(&b, 0);
    const char *s = (const char *)b.data;
    if (!sent && b.len <= 1) { ao_buf_free(&b); return -1; }
    if (!s || sscanf(s, "HTTP/1.%*d %d", &a->status) != 1) a->status = 0;
    const char *body = s ? strstr(s, "\r\n\r\n") : NULL;
    a->body = strdup(body ? body + 4 : "");
    a->json = cJSON_Parse(a->body);
    ao_buf_free(&b);
    return a->status;
}

static int raw_get(uint16_t port, const char *path, raw_answer *a)
{
    char req[16384];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    return raw_request(port, req, (size_t)n, a);
}

/* {"error":"..."}, or GraphQL's {"errors":[{"message":...}]} */
static bool is_json_error(const raw_answer *a)
{
    const cJSON *e = cJSON_GetObjectItem(a->json, "error");
    if (cJSON_IsString(e) && e->valuestring[0]) return true;
    e = cJSON_GetArrayItem(cJSON_GetObjectItem(a->json, "errors"), 0);
    return cJSON_IsString(cJSON_GetObjectItem(e, "message"));
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* ---- body limits ---- */

static void body_over_the_limit_is_413_json(void **state)
{
    (void)state;
    size_t n = T_MAX_BODY + 1;
    char *big = malloc(n);
    memset(big, 'a', n);
    uint16_t ports[2] = {g_gw_port, g_su_port};
    const char *paths[2] = {"/tx", "/"};
    for (int i = 0; i < 2; i++) {
        char head[256];
        int h = snprintf(head, sizeof head,
                         "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                         paths[i], n);
        char *req = malloc((size_t)h + n);
        memcpy(req, head, (size_t)h);
        memcpy(req + h, big, n);
        raw_answer a;
        raw_request(ports[i], req, (size_t)h + n, &a);
        fprintf(stderr, "[http] POST %s %zu bytes -> %d %s\n", paths[i], n, a.status, a.body);
        assert_int_equal(a.status, 413);
        assert_true(is_json_error(&a));
        raw_free(&a);
        free(req);
        /* a huge declared length is refused before any body is read */
        h = snprintf(head, sizeof head,
                     "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 107374182400\r\nConnection: close\r\n\r\nabc",
                     paths[i]);
        int64_t t0 = ao_mono_ms();
        raw_request(ports[i], head, (size_t)h, &a);
        fprintf(stderr, "[http] POST %s declared 100 GB -> %d %s\n", paths[i], a.status, a.body);
        assert_int_equal(a.status, 413);
        assert_true(is_json_error(&a));
        assert_true(ao_mono_ms() - t0 < 5000);
        raw_free(&a);
    }
    free(big);
}

/* ---- slow clients ---- */

static void stalled_client_is_timed_out_while_others_are_served(void **state)
{
    (void)state;
    int fds[4];
    const char *part = "GET /info HTTP/1.1\r\nHo";
    for (int i = 0; i < 4; i++) {
        fds[i] = dial(i % 2 ? g_su_port : g_gw_port);
        assert_true(fds[i] >= 0);
        /* headers one byte at a time, then nothing */
        for (const char *c = part; *c; c++) {
            assert_true(send_all(fds[i], c, 1));
            usleep(2000);
        }
    }
    /* others are served at once meanwhile */
    for (int k = 0; k < 5; k++) {
        raw_answer a;
        int64_t t0 = ao_mono_ms();
        assert_int_equal(raw_get(g_gw_port, "/info", &a), 200);
        raw_free(&a);
        assert_int_equal(raw_get(g_su_port, "/", &a), 200);
        raw_free(&a);
        assert_true(ao_mono_ms() - t0 < 2000);
    }
    /* the stalled ones are closed by the server after its timeout */
    int64_t t0 = ao_mono_ms();
    for (int i = 0; i < 4; i++) {
        ao_buf b;
        ao_buf_init(&b);
        ssize_t n = read_all(fds[i], &b, (T_TIMEOUT_S + 4) * 1000);
        /* closed (0 bytes or a reset) well before our own wait ends */
        assert_true(n <= 0 || b.len == 0 || strstr((const char *)b.data, "HTTP/1.1 4"));
        ao_buf_free(&b);
        close(fds[i]);
    }
    int64_t waited = ao_mono_ms() - t0;
    fprintf(stderr, "[http] 4 stalled clients closed by the server after %lld ms\n", (long long)waited);
    assert_true(waited < (T_TIMEOUT_S + 3) * 1000);
}

/* ---- connection limits ---- */

enum { N_IDLE = 200 };

/* Opens N_IDLE idle connections (half to each face), checks a client is
 * served meanwhile, closes them; returns how many opened. */
static int idle_flood(void)
{
    int fds[N_IDLE];
    int opened = 0;
    for (int i = 0; i < N_IDLE; i++) {
        fds[i] = dial(i % 2 ? g_su_port : g_gw_port);
        if (fds[i] >= 0) opened++;
    }
    raw_answer a;
    assert_int_equal(raw_get(g_su_port, "/", &a), 200);
    raw_free(&a);
    assert_int_equal(raw_get(g_gw_port, "/info", &a), 200);
    raw_free(&a);
    for (int i = 0; i < N_IDLE; i++)
        if (fds[i] >= 0) close(fds[i]);
    return opened;
}

static int settled_fds(int target)
{
    int n = count_fds();
    for (int t = 0; t < 50 && n > target; t++) {
        usleep(100000);
        n = count_fds();
    }
    return n;
}

static void idle_connection_flood_leaves_no_descriptor_behind(void **state)
{
    (void)state;
    /* a first flood warms the faces up (their threads' own descriptors) */
    assert_int_equal(idle_flood(), N_IDLE);
    int before = settled_fds(0);
    int after = before;
    for (int round = 0; round < 3; round++) {
        assert_int_equal(idle_flood(), N_IDLE);
        after = settled_fds(before);
    }
    fprintf(stderr, "[http] 3 x %d idle connections: fds before %d, after %d\n", N_IDLE, before, after);
    assert_true(after <= before);
    raw_answer a;
    assert_int_equal(raw_get(g_su_port, "/", &a), 200);
    raw_free(&a);
}

/* ---- path traversal and malformed paths ---- */

static void path_traversal_gets_a_json_4xx(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "/raw/../../etc/passwd",
        "/raw/..%2F..%2Fetc%2Fpasswd",
        "/raw/%2e%2e/%2e%2e/etc/passwd",
        "/raw/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/raw/..%252F..%252Fetc%252Fpasswd",
        "/raw/....//....//etc/passwd",
        "/raw/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
        "/../../../../etc/passwd",
        "/..%2f..%2f..%2fetc%2fpasswd",
        "/tx/../../etc/passwd",
        "/tx/..%2f..%2fetc%2fpasswd/status",
        "//etc/passwd",
        "/raw/%00",
        "/raw/etc%00passwd",
        "/raw/\\..\\..\\etc\\passwd",
        "/block/height/../../../etc/passwd",
    };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        raw_answer a;
        int st = raw_get(g_gw_port, paths[i], &a);
        fprintf(stderr, "[http] GET %-45s -> %d %.80s\n", paths[i], st, a.body);
        assert_true(st >= 400 && st < 500);
        assert_true(is_json_error(&a));
        assert_null(strstr(a.body, "root:"));
        raw_free(&a);
    }
    /* an 8 KB path */
    char path[8200];
    memcpy(path, "/raw/", 5);
    memset(path + 5, 'A', sizeof path - 6);
    path[sizeof path - 1] = 0;
    raw_answer a;
    int st = raw_get(g_gw_port, path, &a);
    fprintf(stderr, "[http] GET /raw/<8 KB> -> %d %.80s\n", st, a.body);
    assert_true(st >= 400 && st < 500);
    raw_free(&a);
}

static void every_error_is_json(void **state)
{
    (void)state;
    static const struct { uint16_t *port; const char *req; } cases[] = {
        {&g_gw_port, "GET /nope/nope/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"},
        {&g_gw_port, "PUT /tx HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
        {&g_gw_port, "POST /tx HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"},
        {&g_gw_port, "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{{{{{"},
        {&g_gw_port, "GET /tx/not-an-id HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"},
        {&g_gw_port, "GET /block/height/-1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"},
        {&g_su_port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"},
        {&g_su_port, "GET /nope?process-id=../../x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"},
        {&g_su_port, "GET /processes/..%2f..%2fetc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"},
        {&g_su_port, "DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        raw_answer a;
        int st = raw_request(*cases[i].port, cases[i].req, strlen(cases[i].req), &a);
        char line[64];
        snprintf(line, sizeof line, "%.*s", (int)strcspn(cases[i].req, "\r"), cases[i].req);
        fprintf(stderr, "[http] %-45s -> %d %.80s\n", line, st, a.body);
        assert_true(st >= 400 && st < 500);
        assert_true(is_json_error(&a));
        raw_free(&a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(body_over_the_limit_is_413_json, setup, teardown),
        cmocka_unit_test_setup_teardown(stalled_client_is_timed_out_while_others_are_served, setup, teardown),
        cmocka_unit_test_setup_teardown(idle_connection_flood_leaves_no_descriptor_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(path_traversal_gets_a_json_4xx, setup, teardown),
        cmocka_unit_test_setup_teardown(every_error_is_json, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
