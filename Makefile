# quarterdeck — the GPU cloud operator console (qdeck) and its local control plane (qdeckd).
#
#   make run      the console against the local control plane (installs missing packages first)
#   make check    the whole test suite; SAN=1 builds it with ASan/UBSan
#   make bench    benchmarks that print figures
#   make install  PREFIX=/usr/local DESTDIR=
#
# `deps` (and `bench-deps`, for the terminals bench_term compares against) are the
# only places packages are installed; every build target depends on `deps`.

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
SAN     ?= 0
WERROR  ?= $(if $(CI),1,0)

DEB_PKGS := gcc make pkg-config libncurses-dev libvterm-dev libcurl4-openssl-dev \
            libjansson-dev libwebsockets-dev libwebsockets-evlib-uv libsqlite3-dev \
            libuv1-dev libcmocka-dev libssl-dev clang
PC_PKGS  := ncursesw vterm libcurl jansson libwebsockets sqlite3 libuv libcrypto

ifeq ($(SAN),1)
BUILD   ?= build/san
BINDIR  ?= build/san/bin
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT     := -O1 -g
else
BUILD   ?= build/rel
BINDIR  ?= bin
SANFLAGS :=
OPT     := -O2 -g
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PC_PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PC_PKGS) 2>/dev/null)

CFLAGS  ?= $(OPT)
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
           -Wno-missing-field-initializers -MMD -MP -I. $(SANFLAGS) $(PKG_CFLAGS)
ifeq ($(WERROR),1)
CFLAGS  += -Werror
endif
LDFLAGS += $(SANFLAGS)
LDLIBS  += $(PKG_LIBS) -lutil -lm -lpthread

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.1.0)
CFLAGS  += -DQD_VERSION='"$(VERSION)"'

# --- sources -----------------------------------------------------------------
COMMON_SRC := $(wildcard common/*.c)
SERVER_SRC := $(filter-out server/main.c,$(wildcard server/*.c))
CLIENT_SRC := $(wildcard net/*.c widgets/*.c keymaps/*.c) \
              $(filter-out tui/main.c,$(wildcard tui/*.c)) $(BUILD)/gen/default_keys.c

obj = $(patsubst %.c,$(BUILD)/%.o,$(patsubst $(BUILD)/%,%,$(1)))

LIBCOMMON := $(BUILD)/libqdcommon.a
LIBSERVER := $(BUILD)/libqdserver.a
LIBCLIENT := $(BUILD)/libqdclient.a

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
API_SRC    := $(wildcard tests/api/test_*.c)
SCREEN_SRC := $(wildcard tests/screen/test_*.c)
BENCH_SRC  := $(wildcard tests/bench/bench_*.c)
TESTLIB_SRC := $(filter-out $(UNIT_SRC) $(API_SRC) $(SCREEN_SRC),$(wildcard tests/unit/*.c tests/api/*.c tests/screen/*.c))
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
API_BIN    := $(patsubst tests/api/%.c,$(BUILD)/tests/%,$(API_SRC))
SCREEN_BIN := $(patsubst tests/screen/%.c,$(BUILD)/tests/%,$(SCREEN_SRC))
BENCH_BIN  := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
LIBTEST    := $(BUILD)/libqdtest.a

BINS := $(BINDIR)/qdeck $(BINDIR)/qdeckd

.PHONY: all deps bench-deps run check test-unit test-api test-screen bench install clean fuzz screenshots
all: deps $(BINS)

# --- packages ------------------------------------------------------------------
# Installs only what is missing; a no-op (one dpkg-query) when everything is there.
# `make bench` also wants the terminals it compares the pane against.
BENCH_PKGS := tmux dvtm

define install_missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing \
	    || { echo "make deps: apt-get failed; install these Debian packages by hand:$$missing" >&2; exit 1; }; \
	fi
endef

deps:
	$(call install_missing,$(DEB_PKGS))
bench-deps: deps
	$(call install_missing,$(BENCH_PKGS))

# --- build ---------------------------------------------------------------------
$(BUILD)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/gen/default_keys.c: keymaps/default.keys
	@mkdir -p $(dir $@)
	@{ echo '/* generated from keymaps/default.keys by the Makefile: do not edit */'; \
	   echo 'const char keymap_default_text[] ='; \
	   sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	   echo ';'; } > $@

$(BUILD)/gen/default_keys.o: $(BUILD)/gen/default_keys.c
	$(CC) $(CFLAGS) -c $< -o $@

$(LIBCOMMON): $(call obj,$(COMMON_SRC))
	@rm -f $@; ar rcs $@ $^
$(LIBSERVER): $(call obj,$(SERVER_SRC))
	@rm -f $@; ar rcs $@ $^
$(LIBCLIENT): $(call obj,$(CLIENT_SRC))
	@rm -f $@; ar rcs $@ $^
$(LIBTEST): $(call obj,$(TESTLIB_SRC)) $(LIBCOMMON)
	@rm -f $@; ar rcs $@ $(call obj,$(TESTLIB_SRC))

$(BINDIR)/qdeckd: $(BUILD)/server/main.o $(LIBSERVER) $(LIBCOMMON)
	@mkdir -p $(BINDIR)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BINDIR)/qdeck: $(BUILD)/tui/main.o $(LIBCLIENT) $(LIBCOMMON)
	@mkdir -p $(BINDIR)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

TEST_LIBS := $(LIBTEST) $(LIBCLIENT) $(LIBSERVER) $(LIBCOMMON)
$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
$(BUILD)/tests/%: $(BUILD)/tests/api/%.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
$(BUILD)/tests/%: $(BUILD)/tests/screen/%.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
$(BUILD)/bench/%: $(BUILD)/tests/bench/%.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# --- run, test, bench ------------------------------------------------------------
run: all
	./$(BINDIR)/qdeck

# Every test binary runs even when one fails; tests/run-tests prints the closing
# "N passed, N failed" line and exits non-zero on any failure.
check: all $(UNIT_BIN) $(API_BIN) $(SCREEN_BIN)
	@QDECK_BIN=$(abspath $(BINDIR))/qdeck QDECKD_BIN=$(abspath $(BINDIR))/qdeckd \
	  sh tests/run-tests $(UNIT_BIN) $(API_BIN) $(SCREEN_BIN)

test-unit: all $(UNIT_BIN)
	@sh tests/run-tests $(UNIT_BIN)
test-api: all $(API_BIN)
	@QDECK_BIN=$(abspath $(BINDIR))/qdeck QDECKD_BIN=$(abspath $(BINDIR))/qdeckd sh tests/run-tests $(API_BIN)
test-screen: all $(SCREEN_BIN)
	@QDECK_BIN=$(abspath $(BINDIR))/qdeck QDECKD_BIN=$(abspath $(BINDIR))/qdeckd sh tests/run-tests $(SCREEN_BIN)

# Screen tests write screenshots/ as they run.
screenshots: all $(SCREEN_BIN)
	@QDECK_BIN=$(abspath $(BINDIR))/qdeck QDECKD_BIN=$(abspath $(BINDIR))/qdeckd QD_SCREENSHOTS=$(CURDIR)/screenshots \
	  sh tests/run-tests $(SCREEN_BIN)

bench: all bench-deps $(BENCH_BIN)
	@for b in $(BENCH_BIN); do echo "== $$b"; QDECK_BIN=$(abspath $(BINDIR))/qdeck QDECKD_BIN=$(abspath $(BINDIR))/qdeckd $$b || exit 1; done

# Each fuzz target links only the code it exercises.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_DEPS_fuzz_decode   := net/model.c net/store.c
FUZZ_DEPS_fuzz_termpane := widgets/termpane.c widgets/theme.c
FUZZ_DEPS_fuzz_routes   := $(SERVER_SRC)
FUZZ_DEPS_fuzz_chunked  := server/chunked.c
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -DQD_VERSION='"$(VERSION)"' -g -O1 -I. -fsanitize=fuzzer,address,undefined
fuzz: deps
	@mkdir -p build/fuzz
	@set -e; for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  case $$n in \
	    fuzz_decode) extra="$(FUZZ_DEPS_fuzz_decode)";; \
	    fuzz_termpane) extra="$(FUZZ_DEPS_fuzz_termpane)";; \
	    fuzz_routes) extra="$(FUZZ_DEPS_fuzz_routes)";; \
	    fuzz_chunked) extra="$(FUZZ_DEPS_fuzz_chunked)";; \
	    *) extra="";; \
	  esac; \
	  clang $(FUZZ_CFLAGS) $(PKG_CFLAGS) $$f $(COMMON_SRC) $$extra -o build/fuzz/$$n $(PKG_LIBS) -lutil -lm; \
	  echo "built build/fuzz/$$n (run: build/fuzz/$$n -max_total_time=60)"; done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINDIR)/qdeck $(BINDIR)/qdeckd $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build bin

# Keep objects of chained rules (test and bench .o files) between runs.
.SECONDARY:

# Dependency files come from the compiler (-MMD), never from a rule. Saying so
# keeps make from searching its pattern rules for a way to remake each one it
# includes, which took ~30 s on every `make run` once the test and bench
# binaries existed.
%.d: ;
-include $(shell find build -name '*.d' 2>/dev/null)
