# Makefile for sluice. Hand-written; ./configure (from configure.ac) writes
# config.mk, which is included here. When config.mk is missing, make installs
# what is missing (contrib/deps.sh) and runs the configure step itself, so
# "make check" works on a fresh clone. What it installs depends on the
# goals (DEPS_GROUPS below): "make" only what building needs, "make check"
# the test tools too, "make deb" Debian's packaging tools.
#
# Objects go to $(O)/ (build/ by default); "make check" runs the whole suite
# twice: once on ./sluice, once on an ASan+UBSan build in build-asan/; the
# dashboard in headless Chromium (check-browser) and the Grafana dashboard
# (check-grafana) after the first; then the libFuzzer targets
# (t/fuzz/fuzz.mk) for FUZZ_CI_SECONDS each.

.DEFAULT_GOAL := all
NOCONFIG_GOALS = clean distclean deps deps-test deps-package
ifneq ($(filter-out $(NOCONFIG_GOALS),$(or $(MAKECMDGOALS),all)),)
include config.mk
endif

O ?= build
PREFIX ?= $(prefix)
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/sluice
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
# The folders of the state files (switch.state-file) and of the logs, which
# make install (as root) gives to the sluice user. Fixed: the unit's
# StateDirectory= and LogsDirectory= and the logrotate file name them.
STATEDIR = /var/lib/sluice
LOGDIR = /var/log/sluice

ifeq ($(O),build)
BIN = sluice
else
BIN = $(O)/sluice
endif

WARN = -Wall -Wextra -Werror
ifeq ($(DEBUG),1)
OPT = -O0 -g3
WARN += -Wshadow -Wformat=2 -Wpointer-arith -Wcast-qual -Wmissing-declarations \
	-Wno-missing-field-initializers
else
OPT = -O2 -g
endif
ifeq ($(ASAN),1)
OPT = -O1 -g
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
endif

CPPFLAGS_ALL = -Iinclude -DSLUICE_VERSION='"$(PACKAGE_VERSION)"' \
	-DSLUICE_CONFDIR='"$(SYSCONFDIR)/sluice"' -D_GNU_SOURCE $(USER_CPPFLAGS)
CXXFLAGS_ALL = -std=c++20 $(OPT) $(WARN) $(SAN) -fno-exceptions -fno-rtti \
	$(DEP_CFLAGS) $(USER_CXXFLAGS)
# The tests get glibc's fortified calls, as the Debian package's build
# gives them (dpkg-buildflags), so that an unchecked fread fails here
# first and not in make deb. Not at -O0, where fortify is off.
ifneq ($(DEBUG),1)
TFORTIFY = -D_FORTIFY_SOURCE=2
endif
TCXXFLAGS = -std=c++20 $(OPT) $(WARN) -Wno-missing-field-initializers $(SAN) \
	$(TFORTIFY) $(DEP_CFLAGS) $(CRITERION_CFLAGS) $(USER_CXXFLAGS)
LDFLAGS_ALL = $(SAN) $(USER_LDFLAGS)

SRCS = $(sort $(wildcard src/*.cc))
# The dashboard's files, built into the binary: contrib/embed.sh (od and
# awk, nothing to install) writes them as arrays into a generated source.
WWW_FILES = index.html dashboard.js dashboard.css favicon.svg
WWW = $(WWW_FILES:%=www/%)
GEN_OBJS = $(O)/gen/dashboard_files.o
OBJS = $(SRCS:%.cc=$(O)/%.o) $(GEN_OBJS)
LIBOBJS = $(filter-out $(O)/src/main.o,$(OBJS))
UNIT_SRCS = $(sort $(wildcard t/unit/*.cc))
INTEG_SRCS = $(sort $(wildcard t/integration/*.cc)) $(sort $(wildcard t/lib/*.cc))
UNIT_OBJS = $(UNIT_SRCS:%.cc=$(O)/%.o)
INTEG_OBJS = $(INTEG_SRCS:%.cc=$(O)/%.o)
UNIT_BIN = $(O)/t/unit-tests
INTEG_BIN = $(O)/t/integration-tests
MANS = man/sluice.8 man/sluice.conf.5 man/sluice-lua.7

# sluice-bench: the test pool and simulated miners (contrib/bench/).
include contrib/bench/bench.mk
# libFuzzer targets for the parsers and the network code (make fuzz,
# fuzz-run, fuzz-check, fuzz-ci).
include t/fuzz/fuzz.mk

# Criterion: two workers (the machine has two cores), verbose summary.
CRITERION_ARGS ?= --jobs=2 --short-filename

.PHONY: all deps deps-test deps-package need-criterion check check-suite \
	check-browser check-grafana dashboard-shot unit integration lint \
	check-includes install uninstall clean distclean bench demo deb \
	check-deb
all: $(BIN) $(BENCH_BIN)

# The groups of contrib/deps.sh the goals need: building always; the test
# tools for the goals that run tests or lint; Debian's packaging tools for
# deb and check-deb. A plain "make" installs no test tool.
TEST_GOALS = check check-suite check-browser check-grafana dashboard-shot \
	unit integration lint fuzz fuzz-check fuzz-ci fuzz-run fuzz-merge
PACKAGE_GOALS = deb check-deb
DEPS_GROUPS = build $(if $(filter $(TEST_GOALS),$(MAKECMDGOALS)),test) \
	$(if $(filter $(PACKAGE_GOALS),$(MAKECMDGOALS)),package)

deps:
	@./contrib/deps.sh build
deps-test:
	@./contrib/deps.sh test
deps-package:
	@./contrib/deps.sh package

config.mk: configure.ac config.mk.in
	@./contrib/deps.sh -q $(DEPS_GROUPS)
	aclocal && autoconf
	./configure $(CONFIGURE_FLAGS)

# The test programs need Criterion, which a plain "make" does not install:
# without it configure leaves HAVE_CRITERION at 0 and they stop here.
need-criterion:
ifneq ($(HAVE_CRITERION),1)
	@echo "Criterion (libcriterion-dev) was not found when configure" \
	    "ran: \"make check\" installs it and configures again (or run" \
	    "contrib/deps.sh test, then ./configure)" >&2
	@exit 1
endif

$(BIN): $(OBJS)
	$(CXX) $(LDFLAGS_ALL) -o $@ $(OBJS) $(DEP_LIBS)

$(O)/src/%.o: src/%.cc config.mk
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS_ALL) $(CXXFLAGS_ALL) -MMD -MP -c -o $@ $<

# Any build folder's copy (build, build-asan, build-fuzz); kept, to read.
.PRECIOUS: %/gen/dashboard_files.cc
%/gen/dashboard_files.cc: $(WWW) contrib/embed.sh
	@mkdir -p $(@D)
	contrib/embed.sh www $(WWW_FILES) > $@.tmp && mv $@.tmp $@

$(O)/gen/%.o: $(O)/gen/%.cc config.mk
	$(CXX) $(CPPFLAGS_ALL) $(CXXFLAGS_ALL) -MMD -MP -c -o $@ $<

$(O)/t/%.o: t/%.cc config.mk | need-criterion
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS_ALL) -It/lib $(TCXXFLAGS) -MMD -MP -c -o $@ $<

$(UNIT_BIN): $(UNIT_OBJS) $(LIBOBJS)
	$(CXX) $(LDFLAGS_ALL) -o $@ $^ $(DEP_LIBS) $(CRITERION_LIBS)

$(INTEG_BIN): $(INTEG_OBJS)
	$(CXX) $(LDFLAGS_ALL) -o $@ $^ $(DEP_LIBS) $(CRITERION_LIBS)

-include $(OBJS:.o=.d) $(UNIT_OBJS:.o=.d) $(INTEG_OBJS:.o=.d)

# The dashboard in a real browser (t/browser/test_dashboard.py): headless
# Chromium driven by Selenium, with Debian's python3 (python3-selenium is
# not on another interpreter's path). Writes $(O)/dashboard.png; "make
# dashboard-shot" also refreshes the README's copy, doc/dashboard.png.
PYTHON3 ?= /usr/bin/python3
BROWSER_ARGS ?=
check-browser: $(BIN) $(BENCH_BIN)
	$(PYTHON3) t/browser/test_dashboard.py --sluice $(abspath $(BIN)) \
	    --bench $(abspath $(BENCH_BIN)) --out $(O) $(BROWSER_ARGS)

dashboard-shot:
	$(MAKE) check-browser BROWSER_ARGS="--readme-shot doc/dashboard.png"

# The Grafana dashboard (t/grafana/test_grafana.py): contrib/grafana/
# sluice.json against a minimal schema of Grafana's dashboard model
# (python3-jsonschema), its exprs through promtool check rules, and every
# metric and label they select against the live /metrics of sluice
# running with a test pool and miners.
check-grafana: $(BIN) $(BENCH_BIN)
	$(PYTHON3) t/grafana/test_grafana.py --sluice $(abspath $(BIN)) \
	    --bench $(abspath $(BENCH_BIN)) --srcdir $(CURDIR) --out $(O)

# The Debian package sluice-proxy (debian/; Debian's own "sluice" is
# another program): dpkg-buildpackage -us -uc -b in a clean
# copy of the source under $(O)/deb/, then lintian (contrib/mkdeb.sh).
# DEB_BUILD_OPTIONS=nocheck skips its unit tests.
DEB_ARCH = $(shell dpkg --print-architecture 2>/dev/null)
DEB = $(O)/deb/sluice-proxy_$(PACKAGE_VERSION)_$(DEB_ARCH).deb
deb:
	@./contrib/deps.sh -q package
	contrib/mkdeb.sh $(O)/deb

# The package in a clean Debian root (t/deb/check-deb): debootstrap makes
# a minimal bookworm once, cached in $(DEBROOT); each run installs the
# .deb in a copy with dpkg -i and apt-get -f install, then checks the user,
# the config's owner and mode as that user reads it, the folders, the
# logrotate file, a purge, and systemd-analyze verify on the unit. Not part
# of make check: it needs Debian's archive and, once, a few minutes for
# debootstrap; .ci/run runs it after make check.
DEBROOT ?= $(O)/debroot
check-deb: deb $(BIN)
	@./contrib/deps.sh -q package
	t/deb/check-deb -r $(DEBROOT) -s $(CURDIR) $(DEB)

# The benchmark table (README "Performance"); under 10 minutes.
bench: $(BIN) $(BENCH_BIN)
	contrib/bench/run-bench -s $(abspath $(BIN)) -b $(abspath $(BENCH_BIN)) \
	    -o $(O)

# The main job on one machine: a test pool, sluice, 50 miners, 30 s.
demo: $(BIN) $(BENCH_BIN)
	contrib/demo/run-demo -s $(abspath $(BIN)) -b $(abspath $(BENCH_BIN))

unit: $(UNIT_BIN)
	$(UNIT_BIN) $(CRITERION_ARGS)

integration: $(BIN) $(INTEG_BIN) $(BENCH_BIN)
	SLUICE_BIN=$(abspath $(BIN)) SLUICE_SRCDIR=$(CURDIR) \
		SLUICE_BENCH=$(abspath $(BENCH_BIN)) \
		$(INTEG_BIN) $(CRITERION_ARGS)

lint:
	mandoc -Tlint -W warning $(MANS)

# The subsystems' layers: no include from a lower layer to a higher one.
check-includes:
	./t/check-includes

check-suite: $(BIN) $(UNIT_BIN) $(INTEG_BIN) $(BENCH_BIN)
	@echo "== unit tests ($(O))"
	$(UNIT_BIN) $(CRITERION_ARGS)
	@echo "== integration tests ($(O))"
	SLUICE_BIN=$(abspath $(BIN)) SLUICE_SRCDIR=$(CURDIR) \
		SLUICE_BENCH=$(abspath $(BENCH_BIN)) \
		$(INTEG_BIN) $(CRITERION_ARGS)

check:
	@./contrib/deps.sh -q test
	@grep -q '^HAVE_CRITERION = 1' config.mk 2>/dev/null || { \
	    echo "configure again: the test tools are installed now"; \
	    ./configure $(CONFIGURE_FLAGS); }
	$(MAKE) config.mk
	$(MAKE) lint
	./t/check-includes
	$(MAKE) $(BIN)
	./$(BIN) -n -c contrib/config.json
	$(MAKE) check-suite
	@echo "== the dashboard in headless Chromium"
	$(MAKE) check-browser
	@echo "== the Grafana dashboard against the live /metrics"
	$(MAKE) check-grafana
	@echo "== the same suite under ASan + UBSan"
	$(MAKE) O=build-asan ASAN=1 check-suite
	@echo "== libFuzzer targets: regression inputs, then" \
	    "$(FUZZ_CI_SECONDS) s of fuzzing each"
	$(MAKE) fuzz-ci

# Installs the files; then, run as root without DESTDIR, makes the system
# user "sluice" if it is missing and gives it what the unit needs: the
# config readable (root:sluice 0640), the state and log folders its own
# (contrib/install-user.sh says what it did). With DESTDIR, a staged
# install for a package, it only says what the package must do (debian/
# does it in postinst).
SUBST = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	-e 's|@STATEDIR@|$(STATEDIR)|g' -e 's|@LOGDIR@|$(LOGDIR)|g'
install: $(BIN)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(DATADIR)/lua $(DESTDIR)$(SYSCONFDIR)/sluice \
		$(DESTDIR)$(SYSCONFDIR)/logrotate.d $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(STATEDIR) $(DESTDIR)$(LOGDIR)
	install -m 755 $(BIN) $(DESTDIR)$(SBINDIR)/sluice
	install -m 644 man/sluice.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 man/sluice.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 man/sluice-lua.7 $(DESTDIR)$(MANDIR)/man7/
	install -m 644 lua/*.lua $(DESTDIR)$(DATADIR)/lua/
	install -m 644 contrib/config.json $(DESTDIR)$(DATADIR)/config.json.example
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/sluice/config.json ]; then \
		echo "keeping existing $(DESTDIR)$(SYSCONFDIR)/sluice/config.json"; \
	else \
		echo "install -m 640 contrib/config.json" \
		    "$(DESTDIR)$(SYSCONFDIR)/sluice/config.json"; \
		install -m 640 contrib/config.json $(DESTDIR)$(SYSCONFDIR)/sluice/config.json; \
	fi
	$(SUBST) contrib/systemd/sluice.service > $(DESTDIR)$(UNITDIR)/sluice.service
	chmod 644 $(DESTDIR)$(UNITDIR)/sluice.service
	$(SUBST) contrib/systemd/sluice@.service > \
		'$(DESTDIR)$(UNITDIR)/sluice@.service'
	chmod 644 '$(DESTDIR)$(UNITDIR)/sluice@.service'
	$(SUBST) contrib/logrotate/sluice > $(DESTDIR)$(SYSCONFDIR)/logrotate.d/sluice
	chmod 644 $(DESTDIR)$(SYSCONFDIR)/logrotate.d/sluice
	@./contrib/install-user.sh $(if $(DESTDIR),-s "$(DESTDIR)") \
	    $(SYSCONFDIR)/sluice/config.json $(STATEDIR) $(LOGDIR)

# Leaves the configuration, the state and log folders and the user.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/sluice $(DESTDIR)$(MANDIR)/man8/sluice.8 \
		$(DESTDIR)$(MANDIR)/man5/sluice.conf.5 \
		$(DESTDIR)$(MANDIR)/man7/sluice-lua.7 \
		$(DESTDIR)$(UNITDIR)/sluice.service \
		'$(DESTDIR)$(UNITDIR)/sluice@.service' \
		$(DESTDIR)$(SYSCONFDIR)/logrotate.d/sluice
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf build build-asan sluice

distclean: clean
	rm -rf config.mk config.log config.status configure configure~ aclocal.m4 \
		autom4te.cache
