# snapseal build. Plain GNU make + pkg-config.
#   make            release-ish build (-O2)         -> build/snapseal
#   make check      sanitizer build (ASan+UBSan) and every test (TAP via prove)
#   make demo       build, then run the article's main job end to end
#   make bench      benchmarks against restic (and borg) on the same data
#   make fuzz       libFuzzer targets (clang), longer runs
# Missing Debian packages are installed by scripts/deps.sh (as root) first.

PKGS     := libcrypto libzstd liblz4 libxxhash sqlite3 libkeyutils
CC       ?= cc
MODE     ?= release
BUILD    ?= build/$(MODE)
WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
            -Wmissing-prototypes -Wvla -Wno-unused-parameter
CPPFLAGS += -Iinclude -Ilib -I. -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c17 $(WARN) -pthread $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread
ifeq ($(MODE),asan)
CFLAGS   += -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=address,undefined
endif

LIB_SRC  := $(sort $(wildcard lib/*/*.c))
CLI_SRC  := $(sort $(wildcard cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
TOOL_SRC := $(sort $(wildcard tests/tool/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
LIBA     := $(BUILD)/libsnapseal.a
BIN      := $(BUILD)/snapseal
TOOL     := $(BUILD)/sstool

.PHONY: all units deps check check-build unit demo bench fuzz clean format
all: $(BIN) $(TOOL)

deps:
	@scripts/deps.sh build

$(BUILD)/%.o: %.c $(wildcard include/*.h lib/*/*.h cli/*.h tests/unit/*.h tests/tool/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIBA) $(LDLIBS)

$(TOOL): $(TOOL_SRC:%.c=$(BUILD)/%.o) $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBA) $(LDLIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBA) $(LDLIBS)

units: $(BIN) $(TOOL) $(UNIT_BIN)

check-build:
	@scripts/deps.sh build
	$(MAKE) MODE=asan units

check: check-build
	@scripts/fuzz.sh replay
	@scripts/run-tests.sh build/asan

unit: check-build
	@prove -e '' $(UNIT_SRC:tests/unit/%.c=build/asan/tests/unit/%)

demo:
	@scripts/deps.sh build
	$(MAKE) all
	@scripts/demo.sh build/release

bench:
	@scripts/deps.sh bench
	$(MAKE) all
	@scripts/bench.sh build/release

fuzz:
	@scripts/deps.sh build
	@scripts/fuzz.sh long

clean:
	rm -rf build

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) include/*.h lib/*/*.h
