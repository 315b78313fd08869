/*
 * json.c - the `json` Lua module of the aos module (luaopen_json), in C.
 * Also builds natively against liblua5.3-dev as json.so for native tests
 * of the aos Lua library (make build/aos-native/json.so).
 *
 *   json.encode(v) -> string
 *     nil -> null; booleans; integers exactly; floats with "%.14g" (as the
 *     dev-cli json does; NaN/inf raise an error); strings escaped (", \,
 *     control characters; other bytes, UTF-8 included, kept raw); a table
 *     whose keys are exactly 1..n is an array, an empty table is [], any
 *     other table must have only string keys (object, in next() order);
 *     circular references, mixed keys, sparse arrays and functions or
 *     userdata raise an error.
 *   json.decode(s) -> value
 *     RFC 8259 text; null -> nil (an object member with null is left out,
 *     an array element leaves a hole); numbers without '.', 'e' or 'E' that
 *     fit in 64 bits become integers; \u escapes (with surrogate pairs)
 *     become UTF-8. Errors name the position: "json: ... at byte N".
 * Nesting deeper than 512 levels is an error in both directions.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"

#define JSON_MAX_DEPTH 512

/* ---- encoding: output kept in a userdata-owned buffer (freed by __gc even
 * when an error unwinds) ---- */

typedef struct json_out {
    char *p;
    size_t len, cap;
} json_out;

static int json_out_gc(lua_State *L)
{
    json_out *o = lua_touserdata(L, 1);
    free(o->p);
    o->p = NULL;
    return 0;
}

static void json_put(lua_State *L, json_out *o, const char *s, size_t n)
{
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n) {
            if (cap > SIZE_MAX / 2) luaL_error(L, "json: output too large");
            cap *= 2;
        }
        char *np = realloc(o->p, cap);
        if (!np) luaL_error(L, "json: not enough memory");
        o->p = np;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void json_put_string(lua_State *L, json_out *o, const char *s, size_t n)
{
    json_put(L, o, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char tmp[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                snprintf(tmp, sizeof tmp, "\\u%04x", c);
                esc = tmp;
            }
        }
        if (esc) {
            json_put(L, o, s + i - run, run);
            run = 0;
            json_put(L, o, esc, strlen(esc));
        } else {
            run++;
        }
    }
    json_put(L, o, s + n - run, run);
    json_put(L, o, "\"", 1);
}

/* Stack: ..., seen(table) at index `seen`; value to encode at the top.
 * Pops the value. */
static void json_encode_value(lua_State *L, json_out *o, int seen, int depth)
{
    char tmp[64];
    switch (lua_type(L, -1)) {
    case LUA_TNIL: json_put(L, o, "null", 4); break;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, -1)) json_put(L, o, "true", 4);
        else json_put(L, o, "false", 5);
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, -1)) {
            snprintf(tmp, sizeof tmp, "%lld", (long long)lua_tointeger(L, -1));
        } else {
            lua_Number x = lua_tonumber(L, -1);
            if (isnan(x) || isinf(x)) luaL_error(L, "json: unexpected number value '%f'", x);
            snprintf(tmp, sizeof tmp, "%.14g", (double)x);
        }
        json_put(L, o, tmp, strlen(tmp));
        break;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        json_put_string(L, o, s, n);
        break;
    }
    case LUA_TTABLE: {
        if (depth >= JSON_MAX_DEPTH) luaL_error(L, "json: nesting too deep");
        luaL_checkstack(L, 6, "json: nesting too deep");
        lua_pushvalue(L, -1);
        if (lua_rawget(L, seen) != LUA_TNIL) luaL_error(L, "json: circular reference");
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushboolean(L, 1);
        lua_rawset(L, seen);
        /* classify: array if every key is a positive integer and they are 1..n */
        lua_Integer count = 0, maxk = 0;
        int strkeys = 0, otherkeys = 0;
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pop(L, 1);
            if (lua_type(L, -1) == LUA_TNUMBER && lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0) {
                count++;
                if (lua_tointeger(L, -1) > maxk) maxk = lua_tointeger(L, -1);
            } else if (lua_type(L, -1) == LUA_TSTRING) {
                strkeys++;
            } else {
                otherkeys++;
            }
        }
        if (count > 0 || (strkeys == 0 && otherkeys == 0)) {
            if (strkeys || otherkeys) luaL_error(L, "json: invalid table: mixed or invalid key types");
            if (maxk != count) luaL_error(L, "json: invalid table: sparse array");
            json_put(L, o, "[", 1);
            for (lua_Integer i = 1; i <= count; i++) {
                if (i > 1) json_put(L, o, ",", 1);
                lua_rawgeti(L, -1, i);
                json_encode_value(L, o, seen, depth + 1);
            }
            json_put(L, o, "]", 1);
        } else {
            if (otherkeys || count) luaL_error(L, "json: invalid table: mixed or invalid key types");
            json_put(L, o, "{", 1);
            int first = 1;
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                if (!first) json_put(L, o, ",", 1);
                first = 0;
                size_t kn;
                const char *k = lua_tolstring(L, -2, &kn);   /* a string: no conversion */
                json_put_string(L, o, k, kn);
                json_put(L, o, ":", 1);
                json_encode_value(L, o, seen, depth + 1);
            }
            json_put(L, o, "}", 1);
        }
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, seen);
        break;
    }
    default:
        luaL_error(L, "json: unexpected type '%s'", luaL_typename(L, -1));
    }
    lua_pop(L, 1);
}

static int json_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    json_out *o = lua_newuserdata(L, sizeof *o);   /* 2 */
    memset(o, 0, sizeof *o);
    if (luaL_newmetatable(L, "aos.json.out")) {
        lua_pushcfunction(L, json_out_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    lua_newtable(L);                                /* 3: seen */
    lua_pushvalue(L, 1);
    json_encode_value(L, o, 3, 0);
    lua_pushlstring(L, o->p ? o->p : "", o->len);
    free(o->p);
    o->p = NULL;
    return 1;
}

/* ---- decoding ---- */

typedef struct json_in {
    lua_State *L;
    const char *s;
    size_t n, i;
} json_in;

static int json_fail(json_in *in, const char *what)
{
    return luaL_error(in->L, "json: %s at byte %d", what, (int)in->i + 1);
}

static void json_ws(json_in *in)
{
    while (in->i < in->n) {
        char c = in->s[in->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        in->i++;
    }
}

static int json_hex4(json_in *in, unsigned *out)
{
    if (in->n - in->i < 4) return 0;
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = in->s[in->i + (size_t)k];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    in->i += 4;
    *out = v;
    return 1;
}

static void json_decode_string(json_in *in)
{
    in->i++;   /* opening quote */
    luaL_Buffer b;
    luaL_buffinit(in->L, &b);
    for (;;) {
        if (in->i >= in->n) json_fail(in, "unterminated string");
        unsigned char c = (unsigned char)in->s[in->i];
        if (c == '"') { in->i++; break; }
        if (c < 0x20) json_fail(in, "control character in string");
        if (c != '\\') {
            size_t j = in->i;
            while (j < in->n && in->s[j] != '"' && in->s[j] != '\\' && (unsigned char)in->s[j] >= 0x20) j++;
            luaL_addlstring(&b, in->s + in->i, j - in->i);
            in->i = j;
            continue;
        }
        in->i++;
        if (in->i >= in->n) json_fail(in, "unterminated string");
        char e = in->s[in->i++];
        switch (e) {
        case '"': luaL_addchar(&b, '"'); break;
        case '\\': luaL_addchar(&b, '\\'); break;
        case '/': luaL_addchar(&b, '/'); break;
        case 'b': luaL_addchar(&b, '\b'); break;
        case 'f': luaL_addchar(&b, '\f'); break;
        case 'n': luaL_addchar(&b, '\n'); break;
        case 'r': luaL_addchar(&b, '\r'); break;
        case 't': luaL_addchar(&b, '\t'); break;
        case 'u': {
            unsigned cp;
            if (!json_hex4(in, &cp)) json_fail(in, "invalid unicode escape");
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned lo;
                if (in->n - in->i >= 6 && in->s[in->i] == '\\' && in->s[in->i + 1] == 'u') {
                    in->i += 2;
                    if (!json_hex4(in, &lo) || lo < 0xdc00 || lo > 0xdfff)
                        json_fail(in, "invalid surrogate pair");
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                } else {
                    json_fail(in, "lone surrogate");
                }
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                json_fail(in, "lone surrogate");
            }
            char u[4];
            size_t un;
            if (cp < 0x80) { u[0] = (char)cp; un = 1; }
            else if (cp < 0x800) { u[0] = (char)(0xc0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3f)); un = 2; }
            else if (cp < 0x10000) {
                u[0] = (char)(0xe0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                u[2] = (char)(0x80 | (cp & 0x3f)); un = 3;
            } else {
                u[0] = (char)(0xf0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
                u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[3] = (char)(0x80 | (cp & 0x3f)); un = 4;
            }
            luaL_addlstring(&b, u, un);
            break;
        }
        default:
            in->i--;
            json_fail(in, "invalid escape");
        }
    }
    luaL_pushresult(&b);
}

static void json_decode_number(json_in *in)
{
    size_t st = in->i, j = in->i;
    int isfloat = 0;
    if (j < in->n && in->s[j] == '-') j++;
    if (j >= in->n || in->s[j] < '0' || in->s[j] > '9') json_fail(in, "invalid number");
    if (in->s[j] == '0') j++;
    else while (j < in->n && in->s[j] >= '0' && in->s[j] <= '9') j++;
    if (j < in->n && in->s[j] == '.') {
        isfloat = 1;
        j++;
        if (j >= in->n || in->s[j] < '0' || in->s[j] > '9') { in->i = j; json_fail(in, "invalid number"); }
        while (j < in->n && in->s[j] >= '0' && in->s[j] <= '9') j++;
    }
    if (j < in->n && (in->s[j] == 'e' || in->s[j] == 'E')) {
        isfloat = 1;
        j++;
        if (j < in->n && (in->s[j] == '+' || in->s[j] == '-')) j++;
        if (j >= in->n || in->s[j] < '0' || in->s[j] > '9') { in->i = j; json_fail(in, "invalid number"); }
        while (j < in->n && in->s[j] >= '0' && in->s[j] <= '9') j++;
    }
    char tmp[64];
    size_t len = j - st;
    char *buf = tmp;
    if (len >= sizeof tmp) {
        /* very long literal: convert through a Lua string (collectable) */
        lua_pushlstring(in->L, in->s + st, len);
        buf = (char *)lua_tostring(in->L, -1);
    } else {
        memcpy(tmp, in->s + st, len);
        tmp[len] = 0;
    }
    in->i = j;
    if (!isfloat) {
        /* integer if it fits, else a float */
        int neg = buf[0] == '-';
        uint64_t v = 0;
        int overflow = 0;
        for (const char *p = buf + neg; *p; p++) {
            unsigned d = (unsigned)(*p - '0');
            if (v > (UINT64_MAX - d) / 10) { overflow = 1; break; }
            v = v * 10 + d;
        }
        if (!overflow && (neg ? v <= (uint64_t)INT64_MAX + 1 : v <= (uint64_t)INT64_MAX)) {
            lua_Integer x = neg ? (lua_Integer)(0 - v) : (lua_Integer)v;
            if (buf != tmp) lua_pop(in->L, 1);
            lua_pushinteger(in->L, x);
            return;
        }
    }
    double d = strtod(buf, NULL);
    if (buf != tmp) lua_pop(in->L, 1);
    lua_pushnumber(in->L, (lua_Number)d);
}

static int json_literal(json_in *in, const char *lit)
{
    size_t n = strlen(lit);
    if (in->n - in->i >= n && memcmp(in->s + in->i, lit, n) == 0) {
        in->i += n;
        return 1;
    }
    return 0;
}

/* Pushes one value (nil for null). */
static void json_decode_value(json_in *in, int depth)
{
    lua_State *L = in->L;
    json_ws(in);
    if (in->i >= in->n) json_fail(in, "unexpected end of input");
    char c = in->s[in->i];
    if (c == '{' || c == '[') {
        if (depth >= JSON_MAX_DEPTH) json_fail(in, "nesting too deep");
        luaL_checkstack(L, 4, "json: nesting too deep");
    }
    if (c == '{') {
        in->i++;
        lua_newtable(L);
        json_ws(in);
        if (in->i < in->n && in->s[in->i] == '}') { in->i++; return; }
        for (;;) {
            json_ws(in);
            if (in->i >= in->n || in->s[in->i] != '"') json_fail(in, "expected string for key");
            json_decode_string(in);
            json_ws(in);
            if (in->i >= in->n || in->s[in->i] != ':') json_fail(in, "expected ':' after key");
            in->i++;
            json_decode_value(in, depth + 1);
            lua_rawset(L, -3);
            json_ws(in);
            if (in->i < in->n && in->s[in->i] == ',') { in->i++; continue; }
            if (in->i < in->n && in->s[in->i] == '}') { in->i++; return; }
            json_fail(in, "expected ',' or '}'");
        }
    } else if (c == '[') {
        in->i++;
        lua_newtable(L);
        json_ws(in);
        if (in->i < in->n && in->s[in->i] == ']') { in->i++; return; }
        for (lua_Integer k = 1;; k++) {
            json_decode_value(in, depth + 1);
            lua_rawseti(L, -2, k);
            json_ws(in);
            if (in->i < in->n && in->s[in->i] == ',') { in->i++; continue; }
            if (in->i < in->n && in->s[in->i] == ']') { in->i++; return; }
            json_fail(in, "expected ',' or ']'");
        }
    } else if (c == '"') {
        json_decode_string(in);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        json_decode_number(in);
    } else if (json_literal(in, "true")) {
        lua_pushboolean(L, 1);
    } else if (json_literal(in, "false")) {
        lua_pushboolean(L, 0);
    } else if (json_literal(in, "null")) {
        lua_pushnil(L);
    } else {
        json_fail(in, "unexpected character");
    }
}

static int json_decode(lua_State *L)
{
    json_in in;
    in.L = L;
    in.s = luaL_checklstring(L, 1, &in.n);
    in.i = 0;
    lua_settop(L, 1);
    json_decode_value(&in, 0);
    json_ws(&in);
    if (in.i != in.n) json_fail(&in, "trailing garbage");
    return 1;
}

int luaopen_json(lua_State *L)
{
    static const luaL_Reg fns[] = {{"encode", json_encode}, {"decode", json_decode}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}
