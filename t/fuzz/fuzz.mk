# t/fuzz/fuzz.mk: libFuzzer targets. The pure pieces: the stratum
# fast-path scanner, job parsing and rendering with the nonce set, config
# loading, the error-line and log escapers, the Xatum decoder, the
# WebSocket upgrade, the capture's records and the PROXY protocol
# header. The network code, through
# the whole daemon in the fuzzer's process (fuzz_net.cc): a miner's
# session, a pool's replies, HTTP requests to the API. Included by the
# top-level Makefile; uses none of its variables (clang++ and pkg-config
# only, so config.mk does not matter). Everything goes to build-fuzz/.
#
#	make fuzz		build build-fuzz/fuzz_{scan,job,config,escape,xatum,
#				ws,capture,proxy,miner,pool,api}
#	make fuzz-run		fuzz each in turn for FUZZ_SECONDS (60)
#	make fuzz-check		run each once over its seeds, corpus, crashes
#	make fuzz-ci		fuzz-check, then fuzz each for FUZZ_CI_SECONDS
#				(30; 0: replay only); make check runs it
#	make fuzz-merge		minimize what fuzz-run found into t/fuzz/corpus
#	make fuzz-clean		remove build-fuzz/
#
# FUZZ_NAMES picks targets (make fuzz-run FUZZ_NAMES=scan); FUZZ_ARGS
# passes libFuzzer flags (FUZZ_ARGS=-jobs=2). Each target reads
# t/fuzz/seeds/NAME (hand-written inputs) and t/fuzz/corpus/NAME (a
# minimized corpus kept in the tree), and writes what it finds to
# build-fuzz/corpus/NAME; crashes land in build-fuzz/artifacts/. Save a
# reproducer as t/fuzz/crashes/NAME-WHAT. The daemon's log lines go to
# stderr, which a fuzzing run closes (-close_fd_mask=2; libFuzzer's and
# the sanitizers' reports still print); FUZZ_VERBOSE=2 shows every line
# when replaying one input.

CLANGXX ?= clang++
FUZZ_O = build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_MAX_LEN ?= 4096
# The network targets' inputs may pass the 16 KiB line limit.
FUZZ_NET_MAX_LEN ?= 20480
FUZZ_CI_SECONDS ?= 30
FUZZ_PURE = scan job config escape xatum ws capture proxy
FUZZ_NET = miner pool api
FUZZ_ALL = $(FUZZ_PURE) $(FUZZ_NET)
FUZZ_NAMES ?= $(FUZZ_ALL)
FUZZ_ARGS ?=

# Expanded when used, so other goals never run pkg-config.
FUZZ_DEP_CFLAGS = $(shell pkg-config --cflags jansson libevent_core luajit \
	openssl hiredis sqlite3) -pthread
# wslay has no pkg-config file on Debian (see configure.ac); libprofiler
# is debug.cc's (/debug/profile), which the network targets link.
FUZZ_DEP_LIBS = $(shell pkg-config --libs libevent_core libevent_extra \
	libevent_openssl openssl jansson luajit hiredis sqlite3 libprofiler) \
	-lwslay -pthread
FUZZ_CPPFLAGS = -Iinclude -D_GNU_SOURCE
FUZZ_CXXFLAGS = -std=c++20 -O1 -g -Wall -Wextra -fno-exceptions -fno-rtti \
	-fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_SAN = -fsanitize=fuzzer-no-link,address,undefined
# The targets and the harness are not instrumented for coverage: their
# own branches are not the daemon's and would only grow the corpus.
FUZZ_TSAN = -fsanitize=address,undefined
FUZZ_LDSAN = -fsanitize=fuzzer,address,undefined

# The daemon files the pure targets need (config.cc calls tls.cc;
# sluice.cc holds the globals); the network targets link every one but
# main.cc. No stubs.
FUZZ_SRC_OBJS = $(patsubst %,$(FUZZ_O)/src/%.o,stratum job nonceset xmalloc \
	xatum ws strlist secret log stats \
	config config_file config_xmrig tls sluice capture proxyproto)
# The dashboard's files come from a generated source (the top-level
# Makefile's rule for */gen/dashboard_files.cc).
FUZZ_NET_SRC_OBJS = $(patsubst src/%.cc,$(FUZZ_O)/src/%.o,$(filter-out \
	src/main.cc,$(sort $(wildcard src/*.cc)))) \
	$(FUZZ_O)/gen/dashboard_files.o
FUZZ_UTIL_OBJ = $(FUZZ_O)/t/fuzz/fuzz_util.o
FUZZ_NET_OBJ = $(FUZZ_O)/t/fuzz/fuzz_net.o
FUZZ_PURE_BINS = $(FUZZ_PURE:%=$(FUZZ_O)/fuzz_%)
FUZZ_NET_BINS = $(FUZZ_NET:%=$(FUZZ_O)/fuzz_%)
FUZZ_BINS = $(FUZZ_PURE_BINS) $(FUZZ_NET_BINS)

# A fuzzing run: its corpus dirs (new inputs go to the first), dictionary
# and flags. A crash, a leak, a sanitizer report or an input that takes
# over 10 s (a hang) ends it with a non-zero status.
FUZZ_RUN = run() { n=$$1; secs=$$2; \
	mkdir -p $(FUZZ_O)/corpus/$$n $(FUZZ_O)/artifacts || return 1; \
	dict=; \
	if [ -f t/fuzz/dict/$$n.dict ]; then \
		dict=-dict=t/fuzz/dict/$$n.dict; \
	fi; \
	len=$(FUZZ_MAX_LEN); \
	case " $(FUZZ_NET) " in *" $$n "*) len=$(FUZZ_NET_MAX_LEN);; esac; \
	corpus=$(FUZZ_O)/corpus/$$n; \
	for d in t/fuzz/corpus/$$n t/fuzz/seeds/$$n; do \
		[ -d $$d ] && corpus="$$corpus $$d"; \
	done; \
	$(FUZZ_O)/fuzz_$$n $$dict -max_total_time=$$secs \
	    -max_len=$$len -timeout=10 -print_final_stats=1 \
	    -close_fd_mask=2 -artifact_prefix=$(FUZZ_O)/artifacts/$$n- \
	    $(FUZZ_ARGS) $$corpus; }

.PHONY: fuzz fuzz-run fuzz-check fuzz-ci fuzz-merge fuzz-clean fuzz-tools
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

$(FUZZ_O)/gen/%.o: $(FUZZ_O)/gen/%.cc | fuzz-tools
	$(CLANGXX) $(FUZZ_CPPFLAGS) $(FUZZ_CXXFLAGS) $(FUZZ_TSAN) \
	    $(FUZZ_DEP_CFLAGS) -c -o $@ $<

$(FUZZ_O)/t/fuzz/%.o: t/fuzz/%.cc | fuzz-tools
	@mkdir -p $(@D)
	$(CLANGXX) $(FUZZ_CPPFLAGS) $(FUZZ_CXXFLAGS) $(FUZZ_TSAN) \
	    $(FUZZ_DEP_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_PURE_BINS): $(FUZZ_O)/fuzz_%: $(FUZZ_O)/t/fuzz/fuzz_%.o \
    $(FUZZ_UTIL_OBJ) $(FUZZ_SRC_OBJS)
	$(CLANGXX) $(FUZZ_LDSAN) -o $@ $^ $(FUZZ_DEP_LIBS)

$(FUZZ_NET_BINS): $(FUZZ_O)/fuzz_%: $(FUZZ_O)/t/fuzz/fuzz_%.o \
    $(FUZZ_NET_OBJ) $(FUZZ_UTIL_OBJ) $(FUZZ_NET_SRC_OBJS)
	$(CLANGXX) $(FUZZ_LDSAN) -o $@ $^ $(FUZZ_DEP_LIBS)

# One target at a time (two cores); a crash stops the run.
fuzz-run: $(FUZZ_BINS)
	@$(FUZZ_RUN); for n in $(FUZZ_NAMES); do \
		echo "== fuzz_$$n for $(FUZZ_SECONDS) s"; \
		run $$n $(FUZZ_SECONDS) || exit 1; \
	done

# Regression: every seed, corpus input and saved crash, once, without
# fuzzing.
fuzz-check: $(FUZZ_BINS)
	@for n in $(FUZZ_NAMES); do \
		files=`ls t/fuzz/seeds/$$n/* t/fuzz/corpus/$$n/* \
		    t/fuzz/crashes/$$n-* 2>/dev/null`; \
		echo "== fuzz_$$n: `echo $$files | wc -w` inputs"; \
		$(FUZZ_O)/fuzz_$$n $$files >$(FUZZ_O)/check-$$n.log 2>&1 || \
		    { tail -n 60 $(FUZZ_O)/check-$$n.log; exit 1; }; \
	done

# CI (make check): the regression inputs, then FUZZ_CI_SECONDS of fuzzing
# per target, one at a time. Prints each run's final numbers; on failure,
# the end of its log (the crash is in build-fuzz/artifacts/).
fuzz-ci: fuzz-check
	@[ "$(FUZZ_CI_SECONDS)" -gt 0 ] || exit 0; \
	$(FUZZ_RUN); for n in $(FUZZ_NAMES); do \
		log=$(FUZZ_O)/ci-$$n.log; \
		if run $$n $(FUZZ_CI_SECONDS) >$$log 2>&1; then \
			echo "== fuzz_$$n: $(FUZZ_CI_SECONDS) s:" \
			    `grep -o 'cov: [0-9]* ft: [0-9]*' $$log | tail -n 1`, \
			    `sed -n 's/^stat::number_of_executed_units: *//p' \
			    $$log` runs, \
			    `sed -n 's/^stat::average_exec_per_sec: *//p' \
			    $$log`/s; \
		else \
			echo "== fuzz_$$n FAILED:"; tail -n 80 $$log; exit 1; \
		fi; \
	done

# Fold what fuzz-run found into the corpus kept in the tree, minimized
# (libFuzzer -merge=1: the smallest set with the same coverage).
fuzz-merge: $(FUZZ_BINS)
	@for n in $(FUZZ_NAMES); do \
		new=$(FUZZ_O)/merge-$$n; \
		rm -rf $$new && mkdir -p $$new t/fuzz/corpus/$$n || exit 1; \
		echo "== fuzz_$$n: merging into t/fuzz/corpus/$$n"; \
		$(FUZZ_O)/fuzz_$$n -merge=1 -max_len=$(FUZZ_NET_MAX_LEN) \
		    -close_fd_mask=2 $$new t/fuzz/seeds/$$n t/fuzz/corpus/$$n \
		    $(FUZZ_O)/corpus/$$n >$(FUZZ_O)/merge-$$n.log 2>&1 || \
		    { tail -n 40 $(FUZZ_O)/merge-$$n.log; exit 1; }; \
		rm -f t/fuzz/corpus/$$n/* && cp $$new/* t/fuzz/corpus/$$n/ \
		    2>/dev/null; \
		echo "   `ls t/fuzz/corpus/$$n | wc -l` inputs"; \
	done

fuzz-clean:
	rm -rf $(FUZZ_O)

-include $(FUZZ_NET_SRC_OBJS:.o=.d) $(FUZZ_UTIL_OBJ:.o=.d) \
	$(FUZZ_NET_OBJ:.o=.d) $(FUZZ_ALL:%=$(FUZZ_O)/t/fuzz/fuzz_%.d)
