# SPDX-License-Identifier: ISC
# The libFuzzer targets, included by the Makefile.
#
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
$(FUZZ_BUILD)/fuzz_request: $(WIRE_SRC) $(POLICY_SRC)
$(FUZZ_BUILD)/fuzz_grants: $(POLICY_SRC) $(TOOL_LIB)
# The event loop, in process, with small bounds so that a few clients
# reach every one (bounds.h); the reaper needs its thread.
$(FUZZ_BUILD)/fuzz_server: broker/server.c broker/conn.c broker/request.c \
    broker/uids.c broker/reaper.c broker/grant.c $(LOG_SRC) broker/names.c \
    broker/resolver.c broker/resolver_reload.c $(WIRE_SRC) \
    $(POLICY_SRC) $(wildcard broker/*.h)
$(FUZZ_BUILD)/fuzz_server: FUZZ_EXTRA := -DLIMIT_CONNS_TOTAL=8 \
    -DLIMIT_CONNS_PER_UID=4 -DLIMIT_REQUESTS_PER_CONN=6 -DLIMIT_UID_RATE=5 \
    -DLIMIT_UID_BURST=12 -DLIMIT_UNREAD_PER_UID=2 -DLIMIT_UNREAD_TOTAL=5 \
    -DLIMIT_UNREAD_RESERVE=2 -DLIMIT_REFUSAL_AUDIT_RATE=2 \
    -DLIMIT_REFUSAL_AUDIT_BURST=6 -DLIMIT_UID_AUDIT_RATE=1 \
    -DLIMIT_UID_AUDIT_BURST=3 -lpthread
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard include/*.h wire/*.h policy/*.h tool/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(INC_tests) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(FUZZ_EXTRA)

.PHONY: fuzz
fuzz: $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_NAMES))
	sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_NAMES)

