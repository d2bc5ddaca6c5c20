# bindreq: make builds into build/, make check runs every test,
# make install honours PREFIX and DESTDIR.

CC       ?= cc
BUILD    := build
PREFIX   ?= /usr/local
SBINDIR  ?= $(PREFIX)/sbin
BINDIR   ?= $(PREFIX)/bin
LIBDIR   ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR   ?= $(PREFIX)/share/man
DOCDIR   ?= $(PREFIX)/share/doc/bindreq
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# The LD_PRELOAD shim; Debian's package puts it in a private LIBDIR/bindreq.
PRELOADDIR ?= $(LIBDIR)
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= /lib/systemd/system
SYSUSERSDIR ?= /usr/lib/sysusers.d
TMPFILESDIR ?= /usr/lib/tmpfiles.d

VERSION  := 0.1

SOVERSION := 1

WARN     := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
            -Wshadow -Wformat=2 -Wvla
HARDEN   := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIC
OPT      ?= -O2 -g
CFLAGS   ?=
CPPFLAGS += -D_GNU_SOURCE -Iinclude -Ipolicy -Iclient-lib -Ibroker
ALLCFLAGS = -std=c11 $(OPT) $(WARN) $(HARDEN) $(SANFLAGS) $(CFLAGS)
LDHARDEN := -Wl,-z,relro,-z,now
ALLLDFLAGS = $(LDHARDEN) $(SANFLAGS) $(LDFLAGS)

# make check SANITIZE=1: AddressSanitizer + UndefinedBehaviorSanitizer.
ifeq ($(SANITIZE),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=all
endif

POLICY_SRC := $(filter-out policy/bindreq-policy.c policy/tool_%.c,$(wildcard policy/*.c))
TOOL_LIB_SRC := $(wildcard policy/tool_*.c)
TOOL_SRC   := $(wildcard policy/bindreq-policy.c) $(TOOL_LIB_SRC)
BROKER_SRC := $(wildcard broker/*.c)
LIB_SRC    := client-lib/bindreq.c client-lib/wire.c
PRELOAD_SRC := $(wildcard client-lib/preload.c client-lib/intercept.c)
RUN_SRC    := $(wildcard client-lib/bindreq-run.c client-lib/supervise.c \
              client-lib/brokerconn.c client-lib/intercept.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
ITEST_SRC  := $(wildcard tests/integration/itest_*.c)
ITEST_HELPERS := $(filter-out $(ITEST_SRC),$(wildcard tests/integration/*.c))
# The sandbox filter test installs the daemon's own filter.
ITEST_BROKER_SRC := $(wildcard broker/sandbox.c broker/log.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

PROGS := $(BUILD)/bindreqd $(BUILD)/libbindreq.so $(BUILD)/libbindreq.a
ifneq ($(TOOL_SRC),)
PROGS += $(BUILD)/bindreq-policy
endif
ifneq ($(PRELOAD_SRC),)
PROGS += $(BUILD)/libbindreq-preload.so
endif
ifneq ($(RUN_SRC),)
PROGS += $(BUILD)/bindreq-run
endif
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
ITEST_BINS := $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(ITEST_SRC))

.DELETE_ON_ERROR:
.PHONY: all check tests clean install uninstall

all: $(PROGS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -MMD -MP -c -o $@ $<

# Library objects: only bindreq_* is exported (client-lib/libbindreq.map).
$(BUILD)/obj/client-lib/%.o: ALLCFLAGS += -fvisibility=hidden

$(BUILD)/bindreqd: $(call obj,$(BROKER_SRC) $(POLICY_SRC) client-lib/wire.c)
	$(CC) $(ALLCFLAGS) -pie $(ALLLDFLAGS) -o $@ $^ -lcap -lseccomp -lpthread

$(BUILD)/bindreq-policy: $(call obj,$(TOOL_SRC) $(POLICY_SRC))
	$(CC) $(ALLCFLAGS) -pie $(ALLLDFLAGS) -o $@ $^

$(BUILD)/libbindreq.so.$(SOVERSION): $(call obj,$(LIB_SRC)) client-lib/libbindreq.map
	$(CC) $(ALLCFLAGS) -shared $(ALLLDFLAGS) -Wl,-soname,libbindreq.so.$(SOVERSION) \
	    -Wl,--version-script=client-lib/libbindreq.map -o $@ $(call obj,$(LIB_SRC))

$(BUILD)/libbindreq.so: $(BUILD)/libbindreq.so.$(SOVERSION)
	ln -sf libbindreq.so.$(SOVERSION) $@

$(BUILD)/libbindreq.a: $(call obj,$(LIB_SRC))
	@rm -f $@
	$(AR) rcs $@ $^

# The shim goes into other people's programs, where a sanitizer runtime
# cannot be loaded after the program started: with SANITIZE=1 it is still
# built without sanitizers (objects in obj-plain/), so that the programs
# the tests run through it work.
PLAINCFLAGS = -std=c11 $(OPT) $(WARN) $(HARDEN) $(CFLAGS) -fvisibility=hidden
plainobj = $(patsubst %.c,$(BUILD)/obj-plain/%.o,$(1))

$(BUILD)/obj-plain/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PLAINCFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libbindreq-preload.so: $(call plainobj,$(PRELOAD_SRC) $(LIB_SRC)) client-lib/preload.map
	$(CC) $(PLAINCFLAGS) -shared $(LDHARDEN) $(LDFLAGS) \
	    -Wl,--version-script=client-lib/preload.map \
	    -o $@ $(call plainobj,$(PRELOAD_SRC) $(LIB_SRC)) -ldl

# bindreq-run finds the installed shim in PRELOADDIR (LIBDIR by default).
$(BUILD)/obj/client-lib/bindreq-run.o: CPPFLAGS += -DBINDREQ_LIBDIR='"$(PRELOADDIR)"'

$(BUILD)/bindreq-run: $(call obj,$(RUN_SRC)) $(BUILD)/libbindreq.a
	$(CC) $(ALLCFLAGS) -pie $(ALLLDFLAGS) -o $@ $^ -lseccomp

# Unit tests link the pure-logic modules directly.
$(BUILD)/tests/test_%: $(BUILD)/obj/tests/unit/test_%.o \
    $(call obj,$(POLICY_SRC) $(TOOL_LIB_SRC) client-lib/wire.c)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -pie $(ALLLDFLAGS) -o $@ $^ -lcmocka

# test_log checks the daemon's log_escape(), test_names its name cache,
# test_resolver its side of the name resolver's protocol.
$(BUILD)/tests/test_log: $(call obj,broker/log.c)
$(BUILD)/tests/test_names: $(call obj,broker/names.c)
$(BUILD)/tests/test_resolver: $(call obj,broker/resolver.c broker/names.c \
    broker/log.c)

# Integration tests talk to the real daemon through the real library.
$(BUILD)/tests/itest_%: $(BUILD)/obj/tests/integration/itest_%.o \
    $(call obj,$(ITEST_HELPERS) $(ITEST_BROKER_SRC)) $(BUILD)/libbindreq.a
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -pie $(ALLLDFLAGS) -o $@ $^ -lcmocka -lcap -lseccomp -lpthread

# The benchmark, as root: make bench. make check runs its --quick mode once
# (from tests/run.sh) so that it cannot rot; no timing is asserted there.
BENCH_SRC  := $(wildcard tests/bench/*.c)
$(BUILD)/bench: $(call obj,$(BENCH_SRC) $(POLICY_SRC)) $(BUILD)/libbindreq.a
	$(CC) $(ALLCFLAGS) -pie $(ALLLDFLAGS) -o $@ $^ -lpthread

.PHONY: bench
bench: $(BUILD)/bench $(BUILD)/bindreqd \
    $(if $(PRELOAD_SRC),$(BUILD)/libbindreq-preload.so)
	$(BUILD)/bench

tests: all $(UNIT_BINS) $(ITEST_BINS) $(BUILD)/bench

check: tests
	BUILD=$(BUILD) sh tests/run.sh

# make fuzz [FUZZ_SECONDS=30]: the libFuzzer targets tests/fuzz/fuzz_NAME.c,
# built with clang into $(FUZZ_BUILD) (nothing shared with $(BUILD)), each
# run for FUZZ_SECONDS from its seed corpus tests/fuzz/corpus/NAME; new
# inputs and crashes stay in $(FUZZ_BUILD). tests/fuzz/run.sh says how.
FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 30
FUZZ_CFLAGS  := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all $(WARN)
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

$(FUZZ_BUILD)/fuzz_policy: $(POLICY_SRC)
$(FUZZ_BUILD)/fuzz_request: client-lib/wire.c $(POLICY_SRC)
$(FUZZ_BUILD)/fuzz_grants: $(POLICY_SRC) $(TOOL_LIB_SRC)
# The event loop, in process, with small bounds so that a few clients
# reach every one (bounds.h); the reaper needs its thread.
$(FUZZ_BUILD)/fuzz_server: broker/server.c broker/conn.c broker/request.c \
    broker/uids.c broker/reaper.c broker/grant.c broker/log.c broker/names.c \
    broker/resolver.c client-lib/wire.c \
    $(POLICY_SRC) $(wildcard broker/*.h)
$(FUZZ_BUILD)/fuzz_server: FUZZ_EXTRA := -DLIMIT_CONNS_TOTAL=8 \
    -DLIMIT_CONNS_PER_UID=4 -DLIMIT_REQUESTS_PER_CONN=6 -DLIMIT_UID_RATE=5 \
    -DLIMIT_UID_BURST=12 -DLIMIT_UNREAD_PER_UID=2 -DLIMIT_UNREAD_TOTAL=5 \
    -DLIMIT_UNREAD_RESERVE=2 -DLIMIT_REFUSAL_AUDIT_RATE=2 \
    -DLIMIT_REFUSAL_AUDIT_BURST=6 -DLIMIT_UID_AUDIT_RATE=1 \
    -DLIMIT_UID_AUDIT_BURST=3 -lpthread
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard include/*.h policy/*.h client-lib/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(FUZZ_EXTRA)

.PHONY: fuzz
fuzz: $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_NAMES))
	sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_NAMES)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/obj-plain -name '*.d' 2>/dev/null)

# ---- installation ------------------------------------------------------
# make install [DESTDIR=...] [PREFIX=/usr/local] [LIBDIR=...] ...: see the
# directory variables at the top. An existing $(SYSCONFDIR)/bindreq/policy
# is never overwritten; a fresh install gets etc/policy.example, which
# grants nothing. make deb builds the Debian packages in $(BUILD)/deb.

MAN_PAGES := $(wildcard man/*.[1-8])
UNITS    := systemd/bindreqd.service systemd/bindreqd.socket
POLICY   := $(SYSCONFDIR)/bindreq/policy

# Paths compiled into programs or written into files: when one changes,
# what uses it is rebuilt (the file changes only when its text does).
PATHS    := $(PREFIX):$(SBINDIR):$(LIBDIR):$(PRELOADDIR):$(INCLUDEDIR):$(SYSCONFDIR):$(VERSION)
$(BUILD)/paths: FORCE
	@mkdir -p $(dir $@)
	@echo '$(PATHS)' | cmp -s - $@ || echo '$(PATHS)' > $@
$(BUILD)/obj/client-lib/bindreq-run.o: $(BUILD)/paths

$(BUILD)/bindreq.pc: bindreq.pc.in $(BUILD)/paths
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    bindreq.pc.in > $@

all: $(BUILD)/bindreq.pc

# Units name the installed daemon and policy, wherever they went.
SUBST_PATHS := sed -e 's|/usr/s\?bin/bindreqd|$(SBINDIR)/bindreqd|g' \
    -e 's|/usr/local/s\?bin/bindreqd|$(SBINDIR)/bindreqd|g' \
    -e 's|/etc/bindreq/|$(SYSCONFDIR)/bindreq/|g'

install: all
	install -d "$(DESTDIR)$(SBINDIR)" "$(DESTDIR)$(BINDIR)" \
	    "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(PRELOADDIR)" "$(DESTDIR)$(PKGCONFIGDIR)" \
	    "$(DESTDIR)$(INCLUDEDIR)" "$(DESTDIR)$(DOCDIR)" \
	    "$(DESTDIR)$(SYSTEMDUNITDIR)" "$(DESTDIR)$(SYSUSERSDIR)" \
	    "$(DESTDIR)$(TMPFILESDIR)" "$(DESTDIR)$(SYSCONFDIR)/bindreq"
	install -m 755 $(BUILD)/bindreqd "$(DESTDIR)$(SBINDIR)/bindreqd"
	for p in bindreq-policy bindreq-run; do [ ! -f $(BUILD)/$$p ] || \
	    install -m 755 $(BUILD)/$$p "$(DESTDIR)$(BINDIR)/$$p"; done
	install -m 644 $(BUILD)/libbindreq.so.$(SOVERSION) "$(DESTDIR)$(LIBDIR)/"
	ln -sf libbindreq.so.$(SOVERSION) "$(DESTDIR)$(LIBDIR)/libbindreq.so"
	install -m 644 $(BUILD)/libbindreq.a "$(DESTDIR)$(LIBDIR)/"
	[ ! -f $(BUILD)/libbindreq-preload.so ] || install -m 644 \
	    $(BUILD)/libbindreq-preload.so "$(DESTDIR)$(PRELOADDIR)/"
	install -m 644 $(BUILD)/bindreq.pc "$(DESTDIR)$(PKGCONFIGDIR)/"
	install -m 644 include/bindreq.h include/bindreq_proto.h \
	    "$(DESTDIR)$(INCLUDEDIR)/"
	for m in $(MAN_PAGES); do s=$${m##*.}; \
	    install -d "$(DESTDIR)$(MANDIR)/man$$s" && \
	    install -m 644 $$m "$(DESTDIR)$(MANDIR)/man$$s/" || exit 1; done
	for u in $(UNITS); do t="$(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/}"; \
	    $(SUBST_PATHS) $$u > "$$t" && chmod 644 "$$t" || exit 1; done
	install -m 644 systemd/bindreq.sysusers "$(DESTDIR)$(SYSUSERSDIR)/bindreq.conf"
	install -m 644 systemd/bindreq.tmpfiles "$(DESTDIR)$(TMPFILESDIR)/bindreq.conf"
	install -m 644 etc/policy.example "$(DESTDIR)$(DOCDIR)/policy.example"
	if [ -e "$(DESTDIR)$(POLICY)" ] || [ -L "$(DESTDIR)$(POLICY)" ]; then \
	    echo "install: keeping the existing $(DESTDIR)$(POLICY)"; \
	else install -m 644 etc/policy.example "$(DESTDIR)$(POLICY)"; fi
	if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then ldconfig; fi

# The policy stays unless it is still the untouched example.
uninstall:
	rm -f "$(DESTDIR)$(SBINDIR)/bindreqd" "$(DESTDIR)$(BINDIR)/bindreq-policy" \
	    "$(DESTDIR)$(BINDIR)/bindreq-run" \
	    "$(DESTDIR)$(LIBDIR)/libbindreq.so.$(SOVERSION)" \
	    "$(DESTDIR)$(LIBDIR)/libbindreq.so" "$(DESTDIR)$(LIBDIR)/libbindreq.a" \
	    "$(DESTDIR)$(PRELOADDIR)/libbindreq-preload.so" \
	    "$(DESTDIR)$(PKGCONFIGDIR)/bindreq.pc" \
	    "$(DESTDIR)$(INCLUDEDIR)/bindreq.h" \
	    "$(DESTDIR)$(INCLUDEDIR)/bindreq_proto.h" \
	    "$(DESTDIR)$(SYSTEMDUNITDIR)/bindreqd.service" \
	    "$(DESTDIR)$(SYSTEMDUNITDIR)/bindreqd.socket" \
	    "$(DESTDIR)$(SYSUSERSDIR)/bindreq.conf" \
	    "$(DESTDIR)$(TMPFILESDIR)/bindreq.conf" \
	    "$(DESTDIR)$(DOCDIR)/policy.example"
	for m in $(MAN_PAGES); do s=$${m##*.}; \
	    rm -f "$(DESTDIR)$(MANDIR)/man$$s/$${m##*/}"; done
	! cmp -s etc/policy.example "$(DESTDIR)$(POLICY)" || \
	    rm -f "$(DESTDIR)$(POLICY)"
	-rmdir "$(DESTDIR)$(SYSCONFDIR)/bindreq" "$(DESTDIR)$(DOCDIR)" 2>/dev/null
	[ "$(PRELOADDIR)" = "$(LIBDIR)" ] || rmdir "$(DESTDIR)$(PRELOADDIR)" 2>/dev/null || true

# The packages are built from a copy of the source (dpkg-buildpackage
# cleans and builds in its own tree), without this make's variables.
DEBDIR   := $(BUILD)/deb
deb:
	rm -rf $(DEBDIR) && mkdir -p $(DEBDIR)/src
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	    git ls-files -z -co --exclude-standard | \
	        tar --null -T - --ignore-failed-read -cf - ; \
	else tar --exclude=./.git --exclude='./build*' -cf - . ; fi | \
	    tar -C $(DEBDIR)/src -xf -
	cd $(DEBDIR)/src && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    dpkg-buildpackage -us -uc -b
	ls -l $(DEBDIR)/*.deb

.PHONY: deb FORCE
FORCE:
