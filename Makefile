# vipd: node-level service router on nftables.
#   make            build vipd and vipctl
#   make check      unit tests (ASan/UBSan), a build with foreign CFLAGS, golden tests, then e2e tests in network namespaces
#   make unit       unit tests only (no root needed)
#   make golden     --dry-run output against tests/golden/*/expected.nft (no root needed)
#   make e2e        e2e tests only (root; creates and removes its own namespaces)
#   make bench      benchmarks (root; namespaces), writes BENCHMARKS.md
#   make demo       the README demo (make demo-docker: the same from container labels)
#   make install    PREFIX=/usr/local DESTDIR=: programs, man pages, systemd unit, examples
#   make deb        build/vipd_<version>_<arch>.deb (scripts/pkg/mkdeb.sh; DEB_OUT=DIR elsewhere)
#   V=1             show full commands

CC      ?= cc
PKGS    := libnftnl libmnl libnetfilter_conntrack libcurl jansson libmicrohttpd
CFLAGS  ?= -O2 -g
# vipd's own flags stay apart from CFLAGS, so that a distribution's
# `make CFLAGS=...` replaces the optimisation, not the include path.
VIPD_CFLAGS := -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter -Iinclude -MMD -MP $(shell pkg-config --cflags $(PKGS))
ifeq ($(CI),true)
VIPD_CFLAGS += -Werror
endif
LDLIBS  := $(shell pkg-config --libs $(PKGS))

ifeq ($(V),1)
Q :=
else
Q := @
endif

# One object list per part (DESIGN.md "Layout"); the programs, the unit
# tests and the fuzz targets link the parts they use.
BUILD    := build
LIB      := lib/loop.c lib/log.c lib/hmap.c lib/hash.c lib/addr.c lib/http.c lib/b64.c lib/jstream.c \
            lib/jscan.c lib/instance.c lib/backoff.c lib/probe.c lib/httpd.c lib/prom.c lib/timefmt.c
WATCHER  := watcher/model.c watcher/model_log.c watcher/codec.c watcher/codec_json.c watcher/file_load.c watcher/file.c watcher/etcd.c \
            watcher/etcd_api.c watcher/etcd_conf.c watcher/etcd_client.c \
            watcher/docker_map.c watcher/docker_labels.c watcher/docker_vip.c watcher/docker.c \
            watcher/docker_event.c watcher/docker_print.c watcher/docker_ctrs.c watcher/register.c \
            watcher/health.c watcher/bstate.c watcher/bstate_drain.c watcher/bstate_view.c watcher/bstate_count.c watcher/publish.c watcher/status.c watcher/status_server.c \
            watcher/state_cache.c watcher/state_writer.c
DATAPATH := datapath/affinity.c datapath/spec.c datapath/nft.c datapath/udata.c datapath/elems.c datapath/keys.c \
            datapath/txn.c datapath/batch.c datapath/readback.c \
            datapath/print.c datapath/reconcile.c datapath/render.c datapath/slots.c datapath/changes.c \
            datapath/ct_match.c datapath/conntrack.c
VIPD     := cmd/vipd.c cmd/options.c
VIPCTL   := cmd/vipctl.c cmd/ctl_etcd.c cmd/ctl_service.c cmd/ctl_endpoint.c cmd/ctl_check.c cmd/ctl_status.c
# vipctl talks to etcd and checks files: no netlink, no event loop sources.
CTL_USES := lib/loop.c lib/log.c lib/timefmt.c lib/http.c lib/hmap.c lib/hash.c lib/addr.c lib/b64.c \
            lib/jstream.c lib/jscan.c watcher/model.c watcher/model_log.c watcher/codec.c watcher/codec_json.c watcher/file_load.c watcher/etcd_api.c \
            watcher/etcd_conf.c watcher/etcd_client.c
CORE     := $(LIB) $(WATCHER) $(DATAPATH)

CORE_O  := $(CORE:%.c=$(BUILD)/%.o)

all: vipd vipctl

vipd: $(CORE_O) $(VIPD:%.c=$(BUILD)/%.o)
	@echo "  LD      $@"
	$(Q)$(CC) $(VIPD_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

vipctl: $(CTL_USES:%.c=$(BUILD)/%.o) $(VIPCTL:%.c=$(BUILD)/%.o)
	@echo "  LD      $@"
	$(Q)$(CC) $(VIPD_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# --version: `git describe` (a commit id without tags, -dirty for local
# changes), else the release number; the header changes only when it does.
RELEASE := 0.1.0
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo $(RELEASE))
$(BUILD)/version.h: FORCE
	@mkdir -p $(BUILD)
	@echo '#define VIPD_VERSION "$(VERSION)"' >$@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv -f $@.tmp $@
# The files that print it include the generated header.
$(BUILD)/cmd/options.o $(BUILD)/cmd/vipd.o $(BUILD)/cmd/vipctl.o: $(BUILD)/version.h
$(BUILD)/cmd/options.o $(BUILD)/cmd/vipd.o $(BUILD)/cmd/vipctl.o: VIPD_CFLAGS += -I$(BUILD)
FORCE:

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(VIPD_CFLAGS) $(CFLAGS) -c -o $@ $<

# Unit tests: a separate sanitized build of the core so no object is shared
# with the release binaries.
# Unit tests may test a part through its private headers.
UNIT_INC := -Idatapath -Iwatcher
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/san/tests/%)
SAN_CORE := $(CORE:%.c=$(BUILD)/san/%.o)

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC[san] $<"
	$(Q)$(CC) $(VIPD_CFLAGS) $(CFLAGS) -O1 $(SAN) -c -o $@ $<

$(BUILD)/san/tests/%: tests/unit/%.c $(SAN_CORE)
	@mkdir -p $(dir $@)
	@echo "  LD[san] $@"
	$(Q)$(CC) $(VIPD_CFLAGS) $(UNIT_INC) $(CFLAGS) -O1 $(SAN) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs cmocka)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

golden: all
	@bash tests/golden/run.sh

# e2e helpers: small programs that drive one datapath module in a test's
# namespace (tests/e2e/ct_tool.c: ct_delete, and a UDP sender).
E2E_TOOLS := $(BUILD)/e2e/ct_tool
$(BUILD)/e2e/ct_tool: tests/e2e/ct_tool.c $(BUILD)/datapath/conntrack.o $(BUILD)/datapath/ct_match.o \
		$(BUILD)/lib/hmap.o $(BUILD)/lib/hash.o $(BUILD)/lib/addr.o
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(VIPD_CFLAGS) -Idatapath $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

e2e: all $(E2E_TOOLS)
	@CT_TOOL=$(abspath $(BUILD)/e2e/ct_tool) bash tests/e2e/run.sh

# A distribution's own CFLAGS replace the optimisation flags only: build
# every object with foreign CFLAGS into a scratch directory.
cflags-check:
	@$(MAKE) -s CI=false BUILD=$(BUILD)/cflags CFLAGS='-O0 -fno-common' \
		$(CORE:%.c=$(BUILD)/cflags/%.o) $(VIPD:%.c=$(BUILD)/cflags/%.o) $(VIPCTL:%.c=$(BUILD)/cflags/%.o) >/dev/null
	@echo "cflags-check: every object builds with CFLAGS='-O0 -fno-common'"

check: unit cflags-check golden e2e

# valgrind over the unit tests, built without sanitizers.
VG_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/vg/%)
$(BUILD)/vg/%: tests/unit/%.c $(CORE_O)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(VIPD_CFLAGS) $(UNIT_INC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs cmocka)
valgrind: $(VG_BIN)
	@set -e; for t in $(VG_BIN); do valgrind -q --error-exitcode=1 --leak-check=full $$t; done

fuzz:
	@CORE="$(CORE)" bash tests/fuzz/run.sh

print-%:
	@echo $($*)

bench: all
	@bash scripts/bench/run.sh
bench-smoke: all
	@BENCH_SMOKE=1 bash scripts/bench/run.sh

demo: all
	@bash scripts/demo.sh

demo-docker: all
	@bash scripts/demo_docker.sh

deps:
	@bash scripts/deps.sh

# make install: everything under $(DESTDIR); the unit names the installed
# vipd. make deb stages the same with PREFIX=/usr and Debian's unit dir.
PREFIX         ?= /usr/local
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
DOCDIR         ?= $(PREFIX)/share/doc/vipd
MAN8DIR        ?= $(PREFIX)/share/man/man8
INSTALLED := $(PREFIX)/sbin/vipd $(PREFIX)/bin/vipctl $(MAN8DIR)/vipd.8.gz $(MAN8DIR)/vipctl.8.gz \
             $(SYSTEMDUNITDIR)/vipd.service $(DOCDIR)/services.example.json $(DOCDIR)/vipd.default
install: all
	install -D -m 0755 vipd $(DESTDIR)$(PREFIX)/sbin/vipd
	install -D -m 0755 vipctl $(DESTDIR)$(PREFIX)/bin/vipctl
	install -d -m 0755 $(DESTDIR)$(MAN8DIR) $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(DOCDIR)
	gzip -9n <scripts/pkg/vipd.8 >$(DESTDIR)$(MAN8DIR)/vipd.8.gz
	gzip -9n <scripts/pkg/vipctl.8 >$(DESTDIR)$(MAN8DIR)/vipctl.8.gz
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' scripts/pkg/vipd.service.in >$(DESTDIR)$(SYSTEMDUNITDIR)/vipd.service
	chmod 0644 $(DESTDIR)$(MAN8DIR)/vipd.8.gz $(DESTDIR)$(MAN8DIR)/vipctl.8.gz $(DESTDIR)$(SYSTEMDUNITDIR)/vipd.service
	install -m 0644 scripts/pkg/services.example.json scripts/pkg/vipd.default $(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null || true

DEB_OUT ?= $(BUILD)
deb: all
	@bash scripts/pkg/mkdeb.sh $(DEB_OUT) $(VERSION) $(RELEASE)

clean:
	rm -rf $(BUILD) vipd vipctl

.SECONDARY:
.PHONY: FORCE all unit cflags-check golden e2e check valgrind fuzz bench bench-smoke demo demo-docker deps clean \
	install uninstall deb
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
