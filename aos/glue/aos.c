/*
 * aos.c - entry point of the aos module (build/aos.wasm).
 *
 * Exports handle(msgJSON, envJSON) -> char*: boots Lua on the first call
 * (standard libraries, the deterministic sandbox of sandbox.c, the json
 * module, a package searcher over the embedded sources), runs the embedded
 * loader (aos/glue/loader.lua) and returns the JSON text it produced:
 * {"ok":bool,"response":...}. The returned string stays valid until the
 * next call. If the loader itself fails, the result is
 * {"ok":false,"response":"<message>"}.
 */
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

#include "aos_glue.h"

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#define AOS_EXPORT EMSCRIPTEN_KEEPALIVE
#else
#define AOS_EXPORT
#endif

static lua_State *aos_L;
static int aos_loader_ref = LUA_NOREF;
static int aos_result_ref = LUA_NOREF;

static const aos_embedded_file *aos_find(const char *name)
{
    for (const aos_embedded_file *f = aos_embedded; f->name; f++)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

/* package.searchers entry: "NAME", "dir.NAME" and ".NAME" (dev-cli style). */
static int aos_searcher(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const char *key = name[0] == '.' ? name + 1 : name;
    const aos_embedded_file *f = key[0] != '@' ? aos_find(key) : NULL;
    if (!f) {
        lua_pushfstring(L, "\n\tno embedded module '%s'", key);
        return 1;
    }
    lua_pushfstring(L, "@%s.lua", key);
    if (luaL_loadbufferx(L, f->src, (size_t)f->len, lua_tostring(L, -1), "t") != LUA_OK)
        return lua_error(L);
    lua_pushstring(L, key);
    return 2;
}

/* Keep package.preload, then the embedded sources; nothing else (no files,
 * no C libraries). */
static void aos_install_searcher(lua_State *L)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchers");
    lua_rawgeti(L, -1, 1);            /* the preload searcher */
    lua_newtable(L);
    lua_insert(L, -2);
    lua_rawseti(L, -2, 1);
    lua_pushcfunction(L, aos_searcher);
    lua_rawseti(L, -2, 2);
    lua_setfield(L, -3, "searchers");
    lua_pop(L, 1);
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "path");
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "cpath");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, luaopen_json);
    lua_setfield(L, -2, "json");
    lua_pop(L, 2);
}

static int aos_boot_protected(lua_State *L)
{
    aos_open_sandbox(L);
    aos_install_searcher(L);
    const aos_embedded_file *f = aos_find("@loader");
    if (!f) return luaL_error(L, "aos: no embedded loader");
    if (luaL_loadbufferx(L, f->src, (size_t)f->len, "@loader.lua", "t") != LUA_OK)
        return lua_error(L);
    lua_call(L, 0, 1);
    if (!lua_isfunction(L, -1)) return luaL_error(L, "aos: loader did not return a function");
    aos_loader_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* Stores s (or an error text wrapped as JSON) as the current result. */
static const char *aos_set_result(lua_State *L, int ok)
{
    if (!ok) {
        /* {"ok":false,"response":<message as JSON string>} */
        const char *m = lua_tostring(L, -1);
        lua_pushcfunction(L, luaopen_json);
        lua_call(L, 0, 1);
        lua_getfield(L, -1, "encode");
        lua_pushstring(L, m ? m : "aos: error object is not a string");
        if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
            lua_pop(L, 1);
            lua_pushliteral(L, "\"aos: error\"");
        }
        lua_pushfstring(L, "{\"ok\":false,\"response\":%s}", lua_tostring(L, -1));
        lua_replace(L, -4);
        lua_pop(L, 2);
    }
    luaL_unref(L, LUA_REGISTRYINDEX, aos_result_ref);
    aos_result_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_rawgeti(L, LUA_REGISTRYINDEX, aos_result_ref);
    const char *s = lua_tostring(L, -1);
    lua_pop(L, 1);
    return s;
}

AOS_EXPORT const char *handle(const char *msg, const char *env)
{
    if (!aos_L) {
        aos_L = luaL_newstate();
        if (!aos_L) return "{\"ok\":false,\"response\":\"aos: cannot create Lua state\"}";
        lua_pushcfunction(aos_L, aos_boot_protected);
        if (lua_pcall(aos_L, 0, 0, 0) != LUA_OK) {
            /* the text is owned by the state: copy it before closing */
            static char boot_err[1024];
            const char *r = aos_set_result(aos_L, 0);
            size_t n = strlen(r);
            if (n >= sizeof boot_err) n = 0;
            memcpy(boot_err, n ? r : "{\"ok\":false,\"response\":\"aos: boot failed\"}",
                   n ? n : 42);
            boot_err[n ? n : 42] = 0;
            lua_close(aos_L);   /* the next call boots again */
            aos_L = NULL;
            aos_loader_ref = aos_result_ref = LUA_NOREF;
            return boot_err;
        }
    }
    lua_State *L = aos_L;
    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, aos_loader_ref);
    lua_pushstring(L, msg ? msg : "null");
    lua_pushstring(L, env ? env : "null");
    int st = lua_pcall(L, 2, 1, 0);
    if (st == LUA_OK && !lua_isstring(L, -1)) {
        lua_pop(L, 1);
        lua_pushliteral(L, "aos: loader returned no string");
        st = LUA_ERRRUN;
    }
    const char *r = aos_set_result(L, st == LUA_OK);
    lua_settop(L, 0);
    return r;
}
