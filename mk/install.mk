# SPDX-License-Identifier: ISC
# Installation and packaging, included by the Makefile.
#
# make install [DESTDIR=...] [PREFIX=/usr/local] [LIBDIR=...] ...: the
# directories below. An existing $(SYSCONFDIR)/bindreq/policy is never
# overwritten; a fresh install gets etc/policy.example, which grants
# nothing, and an empty policy.d/ beside it for drop-ins. make deb builds the Debian packages in $(BUILD)/deb.

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

# Units name the installed daemon and policy, wherever they went.
SUBST_PATHS := sed -e 's|/usr/s\?bin/bindreqd|$(SBINDIR)/bindreqd|g' \
    -e 's|/usr/local/s\?bin/bindreqd|$(SBINDIR)/bindreqd|g' \
    -e 's|/etc/bindreq/|$(SYSCONFDIR)/bindreq/|g'

install: all
	install -d "$(DESTDIR)$(SBINDIR)" "$(DESTDIR)$(BINDIR)" \
	    "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(PRELOADDIR)" "$(DESTDIR)$(PKGCONFIGDIR)" \
	    "$(DESTDIR)$(INCLUDEDIR)" "$(DESTDIR)$(DOCDIR)" \
	    "$(DESTDIR)$(SYSTEMDUNITDIR)" "$(DESTDIR)$(SYSUSERSDIR)" \
	    "$(DESTDIR)$(TMPFILESDIR)" "$(DESTDIR)$(SYSCONFDIR)/bindreq" \
	    "$(DESTDIR)$(SYSCONFDIR)/bindreq/policy.d"
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
	-rmdir "$(DESTDIR)$(SYSCONFDIR)/bindreq/policy.d" \
	    "$(DESTDIR)$(SYSCONFDIR)/bindreq" "$(DESTDIR)$(DOCDIR)" 2>/dev/null
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

.PHONY: install uninstall deb FORCE
FORCE:
