# Build of the `ao` node. `make` builds build/ao; `make test` installs what is
# missing, builds, runs every test, then runs them again under ASan+UBSan;
# `make bench` runs the benchmarks; `make fuzz` runs the fuzz targets.

BUILD   ?= build
CC      ?= cc
SAN     ?=
OPT     ?= -O2
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS_ALL := $(CSTD) $(OPT) -g $(WARN) -Isrc -I/usr/include/cjson -MMD -MP $(CFLAGS)
# The reference material (test vectors, the wasm spec suite) sits beside the
# repository; tests and benchmarks find it through AO_SHARED.
export AO_SHARED ?= $(abspath $(CURDIR)/../shared)

LIBS    := -lcrypto -lsecp256k1 -lcjson -lzstd -lsqlite3 -lmicrohttpd -lcurl -lm -lpthread

ifeq ($(SAN),1)
CFLAGS_ALL += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDSAN   := -fsanitize=address,undefined
endif

LIB_SRCS  := $(filter-out src/cli/%,$(wildcard src/*/*.c))
CLI_SRCS  := $(wildcard src/cli/*.c)
TEST_SRCS := $(wildcard tests/*/test_*.c)
TEST_LIB_SRCS := $(filter-out $(TEST_SRCS) tests/fuzz/%,$(wildcard tests/*/*.c))
BENCH_SRCS := $(wildcard bench/*.c)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_LIB_OBJS := $(TEST_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_BINS := $(TEST_SRCS:%.c=$(BUILD)/%)
BENCH_BINS := $(BENCH_SRCS:%.c=$(BUILD)/%)
LIBAO     := $(BUILD)/libao.a

.PHONY: all deps test check check-asan bench fuzz fuzz-build clean up

all: $(BUILD)/ao build/aos.wasm

deps:
	@sh scripts/deps.sh
	@sh scripts/aos-deps.sh build

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIBAO): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

# The console checks Lua syntax with Debian's Lua 5.3 and edits lines with readline.
CLI_LIBS := -llua5.3 -lreadline

$(BUILD)/obj/src/cli/%.o: CFLAGS_ALL += -I/usr/include/lua5.3

$(BUILD)/ao: $(CLI_OBJS) $(LIBAO)
	$(CC) $(LDSAN) -o $@ $(CLI_OBJS) $(LIBAO) $(LIBS) $(CLI_LIBS)

$(BUILD)/tests/%: tests/%.c $(TEST_LIB_OBJS) $(LIBAO)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests -o $@ $< $(TEST_LIB_OBJS) $(LIBAO) $(LIBS) -lcmocka $(LDSAN)

# Benchmarks may also compare against peer libraries (jansson for JSON).
BENCH_LIBS := -ljansson

$(BUILD)/bench/%: bench/%.c $(LIBAO)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests -o $@ $< $(LIBAO) $(LIBS) $(BENCH_LIBS) $(LDSAN)

# The process modules of tests/host/test_host_em4.c: one C source with the
# emscripten4 imports, built by clang for wasm32 and for wasm64 without a libc
# (Debian's emscripten 3.1.6 cannot link a working wasm64 libc program).
EMPROC_LDFLAGS := --no-entry --export-table -z stack-size=1048576 --initial-memory=2097152

build/emproc%.wasm: tests/host/emproc/emproc.c
	@mkdir -p build/emproc
	clang --target=wasm$*-unknown-unknown -O2 -nostdlib $(WARN) -c $< -o build/emproc/emproc$*.o
	wasm-ld -m wasm$* $(EMPROC_LDFLAGS) --max-memory=$(if $(filter 64,$*),8589934592,1073741824) \
	  -o $@ build/emproc/emproc$*.o

# Build and run every test of this build flavour.
check: $(BUILD)/ao $(TEST_BINS) build/aos.wasm build/aos-test.wasm build/emproc32.wasm build/emproc64.wasm
	@sh scripts/run-tests.sh $(BUILD)

check-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 OPT=-O1 check

# The whole network in one process (docs/node.md): installs what is
# missing, builds, then runs `ao up` on $AO_DATA (default .ao-data) until
# Ctrl-C. Extra flags: make up UP_FLAGS='--json --log-level debug'.
AO_DATA ?= .ao-data
up:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/ao up --data "$(AO_DATA)" $(UP_FLAGS)

test: deps
	@MAKE="$(MAKE)" sh scripts/test-all.sh

bench: $(BUILD)/ao $(BENCH_BINS)
	@sh scripts/run-bench.sh $(BUILD)

# Fuzz targets: clang + libFuzzer + ASan/UBSan, over the library's sources.
FUZZ_BUILD := build/fuzz
FUZZ_CFLAGS := $(CSTD) -O1 -g $(WARN) -Isrc -I/usr/include/cjson \
  -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/%)

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

# header changes rebuild the kept fuzz objects too
-include $(FUZZ_LIB_OBJS:.o=.d)

$(FUZZ_BUILD)/%: tests/fuzz/%.c $(FUZZ_LIB_OBJS)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJS) $(LIBS)

# keep the fuzz objects between runs
.SECONDARY: $(FUZZ_LIB_OBJS)

fuzz-build: $(FUZZ_BINS)

FUZZ_RUNS ?= 1000000
fuzz: deps fuzz-build
	@sh scripts/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ_RUNS)

include aos/aos.mk

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
