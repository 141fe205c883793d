# contrib/bench/bench.mk: builds $(O)/sluice-bench, the benchmark and demo
# tool (test pool, simulated miners, status line, report). Included by the
# top-level Makefile after its variables; uses its $(CXX), $(CPPFLAGS_ALL),
# $(CXXFLAGS_ALL), $(LDFLAGS_ALL), $(DEP_LIBS) and $(O). The "bench" and
# "demo" targets live in the Makefile and depend on $(BENCH_BIN).

BENCH_SRCS = $(sort $(wildcard contrib/bench/*.cc))
BENCH_OBJS = $(BENCH_SRCS:%.cc=$(O)/%.o)
BENCH_BIN = $(O)/sluice-bench
# The daemon's pure pieces the tool shares: target math, nonce sets.
BENCH_DAEMON_OBJS = $(O)/src/stratum.o $(O)/src/job.o $(O)/src/nonceset.o \
	$(O)/src/secret.o \
	$(O)/src/xmalloc.o $(O)/src/strlist.o \
	$(O)/src/log.o

$(BENCH_BIN): $(BENCH_OBJS) $(BENCH_DAEMON_OBJS)
	$(CXX) $(LDFLAGS_ALL) -o $@ $(BENCH_OBJS) $(BENCH_DAEMON_OBJS) \
	    $(DEP_LIBS) -lm

$(O)/contrib/bench/%.o: contrib/bench/%.cc config.mk
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS_ALL) $(CXXFLAGS_ALL) -MMD -MP -c -o $@ $<

-include $(BENCH_OBJS:.o=.d)
