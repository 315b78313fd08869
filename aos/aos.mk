# aos/aos.mk - build of the aos module (included by the Makefile).
#
#   build/aos.wasm        Lua 5.3.6 + aos/glue + every aos/lua/**/*.lua
#   build/aos-test.wasm   the same glue with the host tests' own process
#                         (tests/aos/lua/**/*.lua) instead of aos/lua
#   build/aos-native/json.so   the json C module for native lua5.3 tests
#
# Lua's sources come from `apt-get source lua5.3` (scripts/aos-deps.sh,
# into build/lua-src); they are copied to build/aos/lua and lstate.c's
# makeseed is patched to return a constant. The module is always built at
# build/ (not $(BUILD)): it is the same for every host build flavour.
# AOS_ROOT lets tests/aos/test_reproducible.sh build a second copy elsewhere.

AOS_ROOT   ?= build
AOS_LUA_SRC ?= $(AOS_ROOT)/lua-src
EMCC       := NODE_PATH=/usr/share/nodejs emcc
AOS_CFLAGS := -O2 -DLUA_COMPAT_5_2 -Wno-string-plus-int
AOS_LDFLAGS := -O2 -sSUPPORT_LONGJMP=1 -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=16MB \
  -sMAXIMUM_MEMORY=1GB -sTOTAL_STACK=4MB -sFILESYSTEM=0 --no-entry \
  -sEXPORTED_FUNCTIONS=_handle,_malloc,_free,_emscripten_stack_init,_emscripten_stack_get_end
AOS_LUA_NAMES := lapi lcode lctype ldebug ldo ldump lfunc lgc llex lmem lobject lopcodes \
  lparser lstate lstring ltable ltm lundump lvm lzio lauxlib lbaselib lbitlib lcorolib \
  ldblib liolib lmathlib loslib lstrlib ltablib lutf8lib loadlib linit
AOS_GLUE_NAMES := aos sandbox json
AOS_LUA_DIR  := $(AOS_ROOT)/aos/lua
AOS_OBJ_DIR  := $(AOS_ROOT)/aos/obj
AOS_OBJS := $(AOS_LUA_NAMES:%=$(AOS_OBJ_DIR)/lua/%.o) $(AOS_GLUE_NAMES:%=$(AOS_OBJ_DIR)/glue/%.o)
AOS_LIB_LUA  := $(shell find aos/lua -name '*.lua' 2>/dev/null | LC_ALL=C sort)
AOS_TEST_LUA := $(shell find tests/aos/lua -name '*.lua' 2>/dev/null | LC_ALL=C sort)

$(AOS_LUA_SRC)/src/lstate.c:
	@sh scripts/aos-deps.sh $(patsubst %/lua-src,%,$(AOS_LUA_SRC))

# Stage Lua's sources and patch the string-hash seed to a constant.
$(AOS_LUA_DIR)/.staged: $(AOS_LUA_SRC)/src/lstate.c aos/aos.mk
	@rm -rf $(AOS_LUA_DIR) && mkdir -p $(AOS_LUA_DIR)
	cp $(AOS_LUA_SRC)/src/*.c $(AOS_LUA_SRC)/src/*.h $(AOS_LUA_DIR)/
	echo '#define DEB_HOST_MULTIARCH "wasm32-emscripten"' > $(AOS_LUA_DIR)/lua5.3-deb-multiarch.h
	sed -i 's|^  return luaS_hash(buff, p, h);$$|  (void)buff; (void)h; return 0x5eed5eedu;  /* aos: constant seed */|' $(AOS_LUA_DIR)/lstate.c
	@grep -q '0x5eed5eedu' $(AOS_LUA_DIR)/lstate.c || { echo "aos: makeseed patch did not apply" >&2; exit 1; }
	@touch $@

$(AOS_OBJ_DIR)/lua/%.o: $(AOS_LUA_DIR)/.staged
	@mkdir -p $(dir $@)
	$(EMCC) $(AOS_CFLAGS) -I$(AOS_LUA_DIR) -c $(AOS_LUA_DIR)/$*.c -o $@

$(AOS_OBJ_DIR)/glue/%.o: aos/glue/%.c aos/glue/aos_glue.h $(AOS_LUA_DIR)/.staged
	@mkdir -p $(dir $@)
	$(EMCC) $(AOS_CFLAGS) -I$(AOS_LUA_DIR) -Iaos/glue -c $< -o $@

$(AOS_ROOT)/aos/embed: aos/tools/embed.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o $@ $<

# The file lists are kept in files rewritten only when they change, so
# adding or removing a Lua file rebuilds the module.
$(AOS_ROOT)/aos/list-%: FORCE
	@mkdir -p $(dir $@)
	@echo '$(if $(filter lib,$*),$(AOS_LIB_LUA),$(AOS_TEST_LUA))' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(AOS_ROOT)/aos/embed-lib.c: $(AOS_ROOT)/aos/embed aos/glue/loader.lua $(AOS_LIB_LUA) $(AOS_ROOT)/aos/list-lib
	$(AOS_ROOT)/aos/embed $@ aos/lua $(AOS_LIB_LUA) @loader=aos/glue/loader.lua

$(AOS_ROOT)/aos/embed-test.c: $(AOS_ROOT)/aos/embed aos/glue/loader.lua $(AOS_TEST_LUA) $(AOS_ROOT)/aos/list-test
	$(AOS_ROOT)/aos/embed $@ tests/aos/lua $(AOS_TEST_LUA) @loader=aos/glue/loader.lua

$(AOS_OBJ_DIR)/embed-%.o: $(AOS_ROOT)/aos/embed-%.c aos/glue/aos_glue.h
	@mkdir -p $(dir $@)
	$(EMCC) $(AOS_CFLAGS) -Iaos/glue -c $< -o $@

# Link in a directory of its own: emcc writes the JS glue beside the wasm.
$(AOS_ROOT)/aos.wasm: $(AOS_OBJS) $(AOS_OBJ_DIR)/embed-lib.o
	@mkdir -p $(AOS_ROOT)/aos/link-lib
	$(EMCC) $(AOS_LDFLAGS) -o $(AOS_ROOT)/aos/link-lib/aos.js $^
	cp $(AOS_ROOT)/aos/link-lib/aos.wasm $@

$(AOS_ROOT)/aos-test.wasm: $(AOS_OBJS) $(AOS_OBJ_DIR)/embed-test.o
	@mkdir -p $(AOS_ROOT)/aos/link-test
	$(EMCC) $(AOS_LDFLAGS) -o $(AOS_ROOT)/aos/link-test/aos.js $^
	cp $(AOS_ROOT)/aos/link-test/aos.wasm $@

# The json module for native Lua 5.3 (tests of the aos Lua library).
$(AOS_ROOT)/aos-native/json.so: aos/glue/json.c
	@test -f /usr/include/lua5.3/lua.h || sh scripts/aos-deps.sh $(AOS_ROOT)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -fPIC -shared \
	  -I/usr/include/lua5.3 -o $@ $<

.PHONY: aos aos-native FORCE
FORCE:
aos: $(AOS_ROOT)/aos.wasm $(AOS_ROOT)/aos-test.wasm
aos-native: $(AOS_ROOT)/aos-native/json.so

# The json module's fuzz target links Debian's native Lua 5.3.
build/fuzz/fuzz_aos_json: FUZZ_CFLAGS += -I/usr/include/lua5.3
build/fuzz/fuzz_aos_json: LIBS += -llua5.3
