/*
 * sandbox.c - the aos module's Lua libraries, deterministic by construction.
 *
 * Opens base, package, coroutine, table, string, math, utf8 and debug, but
 * not io or the file/process parts of os:
 *   - os.time()        the current message's Timestamp as given (set by the
 *                      loader through aos.settime; aos itself then replaces
 *                      os.time with the same thing); os.time{...} converts a
 *                      UTC date table to seconds;
 *   - os.clock()       0.0 (no CPU clock);
 *   - os.date(f, t)    always UTC ("!" optional), t defaults to
 *                      floor(Timestamp / 1000); own formatter, no locale;
 *   - os.getenv()      nil; os.exit/execute/remove/rename/tmpname/setlocale
 *                      raise an error;
 *   - io.write(...)    writes to stdout (the host captures or drops it);
 *                      no files;
 *   - dofile/loadfile  removed;
 *   - math.random      Lua's own generator over the C library's rand(),
 *                      whose initial state is fixed.
 * The string hash seed is a constant (the build patches lstate.c makeseed).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

#include "aos_glue.h"

static lua_Number aos_now;   /* the current message's Timestamp (ms) */
static int aos_now_set;

static int aos_settime(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) { aos_now_set = 0; aos_now = 0; return 0; }
    aos_now = luaL_checknumber(L, 1);
    aos_now_set = 1;
    return 0;
}

/* days since 1970-01-01 of a proleptic Gregorian date (m 1..12) */
static int64_t aos_days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

typedef struct aos_tm { int64_t year; int mon, mday, hour, min, sec, wday, yday; } aos_tm;

static void aos_civil_from_secs(int64_t t, aos_tm *tm)
{
    int64_t days = t / 86400, rem = t % 86400;
    if (rem < 0) { rem += 86400; days--; }
    tm->hour = (int)(rem / 3600); tm->min = (int)(rem / 60 % 60); tm->sec = (int)(rem % 60);
    tm->wday = (int)(((days % 7) + 11) % 7);   /* 1970-01-01 was a Thursday */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    tm->mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    tm->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
    tm->year = yoe + era * 400 + (tm->mon <= 2);
    tm->yday = (int)(days - aos_days_from_civil(tm->year, 1, 1));
}

static int aos_getfield(lua_State *L, const char *k, int d)
{
    int t = lua_getfield(L, -1, k);
    int isnum;
    lua_Integer v = lua_tointegerx(L, -1, &isnum);
    lua_pop(L, 1);
    if (!isnum) {
        if (t != LUA_TNIL) return luaL_error(L, "field '%s' is not an integer", k);
        if (d < 0) return luaL_error(L, "field '%s' missing in date table", k);
        return d;
    }
    if (v < -100000000 || v > 100000000) return luaL_error(L, "field '%s' is out-of-bound", k);
    return (int)v;
}

static int aos_os_time(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        if (!aos_now_set) { lua_pushinteger(L, 0); return 1; }
        if (aos_now == floor(aos_now) && fabs(aos_now) < 9.0e15)
            lua_pushinteger(L, (lua_Integer)aos_now);
        else
            lua_pushnumber(L, aos_now);
        return 1;
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    int64_t y = aos_getfield(L, "year", -1), m = aos_getfield(L, "month", -1);
    int64_t d = aos_getfield(L, "day", -1);
    int64_t hh = aos_getfield(L, "hour", 12), mi = aos_getfield(L, "min", 0), ss = aos_getfield(L, "sec", 0);
    /* normalise the month like mktime does */
    int64_t m0 = m - 1;
    y += m0 >= 0 ? m0 / 12 : -((11 - m0) / 12);
    m0 = ((m0 % 12) + 12) % 12;
    int64_t t = aos_days_from_civil(y, m0 + 1, 1) * 86400 + (d - 1) * 86400 + hh * 3600 + mi * 60 + ss;
    lua_pushinteger(L, (lua_Integer)t);
    return 1;
}

static int aos_os_clock(lua_State *L)
{
    lua_pushnumber(L, 0.0);
    return 1;
}

static const char *const aos_wday[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
static const char *const aos_month[] = {"January", "February", "March", "April", "May", "June", "July",
                                         "August", "September", "October", "November", "December"};

static void aos_setfield(lua_State *L, const char *k, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

static int aos_os_date(lua_State *L)
{
    const char *f = luaL_optstring(L, 1, "%c");
    int64_t t;
    if (lua_isnoneornil(L, 2))
        t = aos_now_set ? (int64_t)floor(aos_now / 1000.0) : 0;
    else
        t = (int64_t)luaL_checkinteger(L, 2);
    if (*f == '!') f++;
    aos_tm tm;
    aos_civil_from_secs(t, &tm);
    if (strcmp(f, "*t") == 0) {
        lua_createtable(L, 0, 9);
        aos_setfield(L, "sec", tm.sec); aos_setfield(L, "min", tm.min);
        aos_setfield(L, "hour", tm.hour); aos_setfield(L, "day", tm.mday);
        aos_setfield(L, "month", tm.mon); aos_setfield(L, "year", (lua_Integer)tm.year);
        aos_setfield(L, "wday", tm.wday + 1); aos_setfield(L, "yday", tm.yday + 1);
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "isdst");
        return 1;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    char tmp[64];
    for (; *f; f++) {
        if (*f != '%') { luaL_addchar(&b, *f); continue; }
        f++;
        switch (*f) {
        case 'a': snprintf(tmp, sizeof tmp, "%.3s", aos_wday[tm.wday]); break;
        case 'A': snprintf(tmp, sizeof tmp, "%s", aos_wday[tm.wday]); break;
        case 'b': case 'h': snprintf(tmp, sizeof tmp, "%.3s", aos_month[tm.mon - 1]); break;
        case 'B': snprintf(tmp, sizeof tmp, "%s", aos_month[tm.mon - 1]); break;
        case 'c': snprintf(tmp, sizeof tmp, "%.3s %.3s %2d %02d:%02d:%02d %lld", aos_wday[tm.wday],
                           aos_month[tm.mon - 1], tm.mday, tm.hour, tm.min, tm.sec, (long long)tm.year); break;
        case 'd': snprintf(tmp, sizeof tmp, "%02d", tm.mday); break;
        case 'e': snprintf(tmp, sizeof tmp, "%2d", tm.mday); break;
        case 'D': case 'x': snprintf(tmp, sizeof tmp, "%02d/%02d/%02d", tm.mon, tm.mday, (int)(tm.year % 100 + 100) % 100); break;
        case 'F': snprintf(tmp, sizeof tmp, "%lld-%02d-%02d", (long long)tm.year, tm.mon, tm.mday); break;
        case 'H': snprintf(tmp, sizeof tmp, "%02d", tm.hour); break;
        case 'I': snprintf(tmp, sizeof tmp, "%02d", (tm.hour + 11) % 12 + 1); break;
        case 'j': snprintf(tmp, sizeof tmp, "%03d", tm.yday + 1); break;
        case 'm': snprintf(tmp, sizeof tmp, "%02d", tm.mon); break;
        case 'M': snprintf(tmp, sizeof tmp, "%02d", tm.min); break;
        case 'p': snprintf(tmp, sizeof tmp, "%s", tm.hour < 12 ? "AM" : "PM"); break;
        case 'S': snprintf(tmp, sizeof tmp, "%02d", tm.sec); break;
        case 's': snprintf(tmp, sizeof tmp, "%lld", (long long)t); break;
        case 'T': case 'X': snprintf(tmp, sizeof tmp, "%02d:%02d:%02d", tm.hour, tm.min, tm.sec); break;
        case 'u': snprintf(tmp, sizeof tmp, "%d", tm.wday == 0 ? 7 : tm.wday); break;
        case 'w': snprintf(tmp, sizeof tmp, "%d", tm.wday); break;
        case 'y': snprintf(tmp, sizeof tmp, "%02d", (int)(tm.year % 100 + 100) % 100); break;
        case 'Y': snprintf(tmp, sizeof tmp, "%lld", (long long)tm.year); break;
        case 'Z': snprintf(tmp, sizeof tmp, "UTC"); break;
        case 'z': snprintf(tmp, sizeof tmp, "+0000"); break;
        case '%': snprintf(tmp, sizeof tmp, "%%"); break;
        default:
            return luaL_argerror(L, 1, lua_pushfstring(L, "invalid conversion specifier '%%%c'", *f ? *f : ' '));
        }
        luaL_addstring(&b, tmp);
    }
    luaL_pushresult(&b);
    return 1;
}

static int aos_os_getenv(lua_State *L)
{
    luaL_checkstring(L, 1);
    lua_pushnil(L);
    return 1;
}

static int aos_os_denied(lua_State *L)
{
    return luaL_error(L, "%s is not available in aos", lua_tostring(L, lua_upvalueindex(1)));
}

static int aos_io_write(lua_State *L)
{
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *s = luaL_checklstring(L, i, &len);
        fwrite(s, 1, len, stdout);
    }
    fflush(stdout);
    return 0;
}

int aos_open_sandbox(lua_State *L)
{
    static const luaL_Reg libs[] = {
        {"_G", luaopen_base}, {LUA_LOADLIBNAME, luaopen_package},
        {LUA_COLIBNAME, luaopen_coroutine}, {LUA_TABLIBNAME, luaopen_table},
        {LUA_OSLIBNAME, luaopen_os}, {LUA_STRLIBNAME, luaopen_string},
        {LUA_MATHLIBNAME, luaopen_math}, {LUA_UTF8LIBNAME, luaopen_utf8},
        {LUA_DBLIBNAME, luaopen_debug}, {NULL, NULL}};
    for (const luaL_Reg *lib = libs; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    lua_pushnil(L); lua_setglobal(L, "dofile");
    lua_pushnil(L); lua_setglobal(L, "loadfile");

    lua_getglobal(L, "os");
    lua_pushcfunction(L, aos_os_time); lua_setfield(L, -2, "time");
    lua_pushcfunction(L, aos_os_clock); lua_setfield(L, -2, "clock");
    lua_pushcfunction(L, aos_os_date); lua_setfield(L, -2, "date");
    lua_pushcfunction(L, aos_os_getenv); lua_setfield(L, -2, "getenv");
    static const char *const denied[] = {"exit", "execute", "remove", "rename", "tmpname", "setlocale", NULL};
    for (int i = 0; denied[i]; i++) {
        lua_pushfstring(L, "os.%s", denied[i]);
        lua_pushcclosure(L, aos_os_denied, 1);
        lua_setfield(L, -2, denied[i]);
    }
    lua_pop(L, 1);

    lua_newtable(L);
    lua_pushcfunction(L, aos_io_write); lua_setfield(L, -2, "write");
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "aos.io");
    lua_setglobal(L, "io");
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getglobal(L, "io");
    lua_setfield(L, -2, "io");
    /* package.loaded["aos.sys"]: what the loader needs from C */
    lua_newtable(L);
    lua_pushcfunction(L, aos_settime); lua_setfield(L, -2, "settime");
    lua_setfield(L, -2, "aos.sys");
    lua_pop(L, 1);
    return 0;
}
