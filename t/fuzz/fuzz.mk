# t/fuzz/fuzz.mk: libFuzzer targets for the daemon's pure pieces: the
# stratum fast-path scanner, job parsing and rendering with the nonce set,
# config loading, and the error-line and log escapers. Included by the
# top-level Makefile; uses none of its variables (clang++ and pkg-config
# only, so config.mk does not matter). Everything goes to build-fuzz/.
#
#	make fuzz		build build-fuzz/fuzz_{scan,job,config,escape}
#	make fuzz-run		fuzz each in turn for FUZZ_SECONDS (60)
#	make fuzz-check		run each once over its seeds and crashes/
#	make fuzz-clean		remove build-fuzz/
#
# FUZZ_NAMES picks targets (make fuzz-run FUZZ_NAMES=scan); FUZZ_ARGS
# passes libFuzzer flags (FUZZ_ARGS=-jobs=2). A corpus grows in
# build-fuzz/corpus/NAME, seeded from t/fuzz/seeds/NAME; crashes land in
# build-fuzz/artifacts/. Save a reproducer as t/fuzz/crashes/NAME-WHAT.

CLANGXX ?= clang++
FUZZ_O = build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_MAX_LEN ?= 4096
FUZZ_NAMES ?= scan job config escape
FUZZ_ARGS ?=
FUZZ_ALL = scan job config escape

# Expanded when used, so other goals never run pkg-config.
FUZZ_DEP_CFLAGS = $(shell pkg-config --cflags jansson libevent_core luajit \
	openssl)
FUZZ_DEP_LIBS = $(shell pkg-config --libs libevent_core libevent_extra \
	libevent_openssl openssl jansson luajit)
FUZZ_CPPFLAGS = -Iinclude -D_GNU_SOURCE
FUZZ_CXXFLAGS = -std=c++20 -O1 -g -Wall -Wextra -fno-exceptions -fno-rtti \
	-fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_SAN = -fsanitize=fuzzer-no-link,address,undefined
FUZZ_LDSAN = -fsanitize=fuzzer,address,undefined

# The daemon files the targets need (config.cc calls tls.cc; sluice.cc
# holds the globals); no stubs.
FUZZ_SRC_OBJS = $(patsubst %,$(FUZZ_O)/src/%.o,stratum job nonceset xmalloc \
	strlist secret log \
	config tls sluice)
FUZZ_UTIL_OBJ = $(FUZZ_O)/t/fuzz/fuzz_util.o
FUZZ_BINS = $(FUZZ_ALL:%=$(FUZZ_O)/fuzz_%)

.PHONY: fuzz fuzz-run fuzz-check fuzz-clean fuzz-tools
fuzz: $(FUZZ_BINS)

# libFuzzer comes with clang's runtime, which make check does not need:
# say how to get it instead of failing on a missing -lFuzzer.
fuzz-tools:
	@command -v $(CLANGXX) >/dev/null 2>&1 || { echo "make fuzz needs" \
	    "$(CLANGXX) with libFuzzer: apt-get install clang" \
	    "libclang-rt-14-dev" >&2; exit 1; }

$(FUZZ_O)/src/%.o: src/%.cc | fuzz-tools
	@mkdir -p $(@D)
	$(CLANGXX) $(FUZZ_CPPFLAGS) $(FUZZ_CXXFLAGS) $(FUZZ_SAN) \
	    $(FUZZ_DEP_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_O)/t/fuzz/%.o: t/fuzz/%.cc | fuzz-tools
	@mkdir -p $(@D)
	$(CLANGXX) $(FUZZ_CPPFLAGS) $(FUZZ_CXXFLAGS) $(FUZZ_SAN) \
	    $(FUZZ_DEP_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_BINS): $(FUZZ_O)/fuzz_%: $(FUZZ_O)/t/fuzz/fuzz_%.o $(FUZZ_UTIL_OBJ) \
    $(FUZZ_SRC_OBJS)
	$(CLANGXX) $(FUZZ_LDSAN) -o $@ $^ $(FUZZ_DEP_LIBS)

# One target at a time (two cores); a crash stops the run.
fuzz-run: $(FUZZ_BINS)
	@mkdir -p $(FUZZ_O)/artifacts
	@for n in $(FUZZ_NAMES); do \
		mkdir -p $(FUZZ_O)/corpus/$$n || exit 1; \
		cp t/fuzz/seeds/$$n/* $(FUZZ_O)/corpus/$$n/ || exit 1; \
		dict=; \
		if [ -f t/fuzz/dict/$$n.dict ]; then \
			dict=-dict=t/fuzz/dict/$$n.dict; \
		fi; \
		echo "== fuzz_$$n for $(FUZZ_SECONDS) s"; \
		$(FUZZ_O)/fuzz_$$n $$dict -max_total_time=$(FUZZ_SECONDS) \
		    -max_len=$(FUZZ_MAX_LEN) -print_final_stats=1 \
		    -artifact_prefix=$(FUZZ_O)/artifacts/$$n- $(FUZZ_ARGS) \
		    $(FUZZ_O)/corpus/$$n || exit 1; \
	done

# Regression: every seed and saved crash, once, without fuzzing.
fuzz-check: $(FUZZ_BINS)
	@for n in $(FUZZ_NAMES); do \
		files=`ls t/fuzz/seeds/$$n/* t/fuzz/crashes/$$n-* \
		    2>/dev/null`; \
		echo "== fuzz_$$n: `echo $$files | wc -w` inputs"; \
		$(FUZZ_O)/fuzz_$$n $$files >$(FUZZ_O)/check-$$n.log 2>&1 || \
		    { cat $(FUZZ_O)/check-$$n.log; exit 1; }; \
	done

fuzz-clean:
	rm -rf $(FUZZ_O)

-include $(FUZZ_SRC_OBJS:.o=.d) $(FUZZ_UTIL_OBJ:.o=.d) \
	$(FUZZ_ALL:%=$(FUZZ_O)/t/fuzz/fuzz_%.d)
