/* fuzz_aos_json.c - the aos module's json C module (aos/glue/json.c),
 * built natively against Debian's Lua 5.3: decode arbitrary bytes; what
 * decodes is encoded, and what encodes must decode again. Errors are Lua
 * errors (caught by pcall); nothing may crash or leak. */
#include <stddef.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "../../aos/glue/json.c"

static int fuzz_aos_json_run(lua_State *L)
{
    size_t n;
    const char *s = lua_tolstring(L, 1, &n);
    lua_pushcfunction(L, json_decode);
    lua_pushlstring(L, s, n);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) return 0;
    lua_pushcfunction(L, json_encode);
    lua_insert(L, -2);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) return 0;   /* holes, mixed keys */
    lua_pushcfunction(L, json_decode);
    lua_insert(L, -2);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) __builtin_trap();   /* our own output must decode */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_State *L = luaL_newstate();
    if (!L) return 0;
    lua_pushcfunction(L, fuzz_aos_json_run);
    lua_pushlstring(L, (const char *)data, size);
    lua_pcall(L, 1, 0, 0);
    lua_close(L);
    return 0;
}
