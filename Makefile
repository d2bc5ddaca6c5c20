# SPDX-License-Identifier: ISC
# bindreq. make builds into build/; make check runs every test; make bench
# measures (as root); make install honours PREFIX and DESTDIR, make deb
# builds the Debian packages (mk/install.mk); make fuzz runs the fuzz
# targets (mk/fuzz.mk). HACKING.md says how the parts fit.

VERSION   := 0.1
SOVERSION := 1
CC        ?= cc
BUILD     := build

WARN      := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
             -Wshadow -Wformat=2 -Wvla
HARDEN    := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIC
OPT       ?= -O2 -g
CPPFLAGS  += -D_GNU_SOURCE -DVERSION='"$(VERSION)"'
ALLCFLAGS  = -std=c11 $(OPT) $(WARN) $(HARDEN) $(SANFLAGS) $(CFLAGS)
LDHARDEN  := -Wl,-z,relro,-z,now
ALLLDFLAGS = -pie $(LDHARDEN) $(SANFLAGS) $(LDFLAGS)

# make check SANITIZE=1: AddressSanitizer + UndefinedBehaviorSanitizer.
ifeq ($(SANITIZE),1)
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=all
endif

# What each program is made of.
WIRE_SRC   := wire/wire.c wire/clock.c
POLICY_SRC := $(wildcard policy/*.c)
TOOL_LIB   := $(filter-out tool/bindreq-policy.c,$(wildcard tool/*.c))
BROKER_SRC := $(wildcard broker/*.c)
LOG_SRC    := broker/log.c broker/log_format.c broker/log_queue.c \
              broker/log_sink.c
LIB_SRC    := client-lib/bindreq.c client-lib/client.c $(WIRE_SRC)
PRELOAD_SRC := client-lib/preload.c client-lib/intercept.c $(LIB_SRC)
RUN_SRC    := client-lib/bindreq-run.c client-lib/supervise.c \
              client-lib/intercept.c

# What each part may include: the public API and the parts it links, so
# that no part reaches another's private headers (tests see them all).
INC_wire       := -Iinclude -Iwire
INC_policy     := -Iinclude -Ipolicy
INC_tool       := -Iinclude -Ipolicy -Itool
INC_broker     := -Iinclude -Iwire -Ipolicy -Ibroker
INC_client-lib := -Iinclude -Iwire -Iclient-lib
INC_tests      := -Iinclude -Iwire -Ipolicy -Itool -Ibroker -Iclient-lib
inc = $(INC_$(firstword $(subst /, ,$(1))))
obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
plainobj = $(patsubst %.c,$(BUILD)/obj-plain/%.o,$(1))

UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
ITEST_SRC  := $(wildcard tests/integration/itest_*.c)
ITEST_BINS := $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(ITEST_SRC))
ITEST_LIB  := $(filter-out $(ITEST_SRC),$(wildcard tests/integration/*.c)) \
              broker/sandbox.c $(LOG_SRC)
PROGS      := $(BUILD)/bindreqd $(BUILD)/bindreq-policy $(BUILD)/bindreq-run \
              $(BUILD)/libbindreq.so $(BUILD)/libbindreq.a \
              $(BUILD)/libbindreq-preload.so $(BUILD)/bindreq.pc

.DELETE_ON_ERROR:
.PHONY: all tests check bench clean

all: $(PROGS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(call inc,$<) $(ALLCFLAGS) -MMD -MP -c -o $@ $<

# Library objects: only bindreq_* is exported (client-lib/libbindreq.map).
$(BUILD)/obj/client-lib/%.o $(BUILD)/obj/wire/%.o: ALLCFLAGS += -fvisibility=hidden
# bindreq-run finds the installed shim in PRELOADDIR (mk/install.mk).
$(BUILD)/obj/client-lib/bindreq-run.o: CPPFLAGS += -DBINDREQ_LIBDIR='"$(PRELOADDIR)"'
# Both say $(VERSION): rebuilt when it (or a path) changes.
$(BUILD)/obj/client-lib/bindreq-run.o $(BUILD)/obj/broker/main.o: $(BUILD)/paths

$(BUILD)/bindreqd: $(call obj,$(BROKER_SRC) $(POLICY_SRC) $(WIRE_SRC))
	$(CC) $(ALLCFLAGS) $(ALLLDFLAGS) -o $@ $^ -lcap -lseccomp -lpthread

$(BUILD)/bindreq-policy: $(call obj,tool/bindreq-policy.c $(TOOL_LIB) $(POLICY_SRC))
	$(CC) $(ALLCFLAGS) $(ALLLDFLAGS) -o $@ $^

$(BUILD)/bindreq-run: $(call obj,$(RUN_SRC)) $(BUILD)/libbindreq.a
	$(CC) $(ALLCFLAGS) $(ALLLDFLAGS) -o $@ $^ -lseccomp

$(BUILD)/libbindreq.so.$(SOVERSION): $(call obj,$(LIB_SRC)) client-lib/libbindreq.map
	$(CC) $(ALLCFLAGS) -shared $(LDHARDEN) $(SANFLAGS) $(LDFLAGS) \
	    -Wl,-soname,libbindreq.so.$(SOVERSION) \
	    -Wl,--version-script=client-lib/libbindreq.map -o $@ $(filter %.o,$^)

$(BUILD)/libbindreq.so: $(BUILD)/libbindreq.so.$(SOVERSION)
	ln -sf libbindreq.so.$(SOVERSION) $@

$(BUILD)/libbindreq.a: $(call obj,$(LIB_SRC))
	@rm -f $@
	$(AR) rcs $@ $^

# The shim goes into other people's programs, where a sanitizer runtime
# cannot be loaded after they started: it is built without sanitizers
# even with SANITIZE=1 (objects in obj-plain/).
PLAINCFLAGS = -std=c11 $(OPT) $(WARN) $(HARDEN) $(CFLAGS) -fvisibility=hidden
$(BUILD)/obj-plain/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(call inc,$<) $(PLAINCFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libbindreq-preload.so: $(call plainobj,$(PRELOAD_SRC)) client-lib/preload.map
	$(CC) $(PLAINCFLAGS) -shared $(LDHARDEN) $(LDFLAGS) \
	    -Wl,--version-script=client-lib/preload.map \
	    -o $@ $(filter %.o,$^) -ldl

# Unit tests link the pure-logic parts directly; a few, daemon modules.
$(BUILD)/tests/test_%: $(BUILD)/obj/tests/unit/test_%.o \
    $(call obj,$(POLICY_SRC) $(TOOL_LIB) $(WIRE_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(ALLLDFLAGS) -o $@ $^ -lcmocka
$(BUILD)/tests/test_log: $(call obj,$(LOG_SRC))
$(BUILD)/tests/test_names: $(call obj,broker/names.c)
$(BUILD)/tests/test_resolver: $(call obj,broker/resolver.c broker/resolver_reload.c \
    broker/names.c $(LOG_SRC))

# Integration tests talk to the real daemon through the real library.
$(BUILD)/tests/itest_%: $(BUILD)/obj/tests/integration/itest_%.o \
    $(call obj,$(ITEST_LIB)) $(BUILD)/libbindreq.a
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(ALLLDFLAGS) -o $@ $^ -lcmocka -lcap -lseccomp -lpthread

# make bench, as root; make check runs its --quick mode (no timing asserted).
$(BUILD)/bench: $(call obj,$(wildcard tests/bench/*.c) $(POLICY_SRC)) $(BUILD)/libbindreq.a
	$(CC) $(ALLCFLAGS) $(ALLLDFLAGS) -o $@ $^ -lpthread

bench: $(BUILD)/bench $(BUILD)/bindreqd $(BUILD)/libbindreq-preload.so
	$(BUILD)/bench

tests: all $(UNIT_BINS) $(ITEST_BINS) $(BUILD)/bench

check: tests
	BUILD=$(BUILD) sh tests/run.sh

clean:
	rm -rf $(BUILD)

include mk/install.mk mk/fuzz.mk

-include $(shell find $(BUILD)/obj $(BUILD)/obj-plain -name '*.d' 2>/dev/null)
