# pop3d: one build for everything.
#   make            build the daemons and pop3ctl into $(B)/
#   make check      unit tests, protocol tests, and the same under ASan/UBSan
#   make run        start the demo server on 127.0.0.1:1110 (see README.md)
#   make bench      benchmark against Dovecot (tests/bench/)
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec/pop3d
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc/pop3d
B	?= build

CC	?= cc
OS	:= $(shell uname -s)
PKGS	= libsodium
CFLAGS	?= -O2 -g
CFLAGS	+= -std=c11 -Wall -Wextra -Werror -Wshadow -Wpointer-arith \
	   -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
CFLAGS	+= -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fPIE \
	   -fno-strict-aliasing
CPPFLAGS += -D_DEFAULT_SOURCE -D_GNU_SOURCE -Icommon -Ipolicy -Ipop3d \
	   -DLIBEXECDIR='"$(LIBEXECDIR)"' -DSYSCONFDIR='"$(SYSCONFDIR)"'
LDFLAGS	+= -pie -Wl,-z,relro,-z,now
LDLIBS	+= -lsodium -lpthread
ifeq ($(OS),Linux)
CPPFLAGS += -DNEED_STRLCPY
endif
ifdef SANITIZE
CFLAGS	+= -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined -U_FORTIFY_SOURCE \
	   -DPOP3D_SANITIZE
LDFLAGS	+= -fsanitize=address,undefined
endif
# the test build only: lets the tests make a confined role misbehave
ifdef TEST_HOOKS
CPPFLAGS += -DPOP3D_TEST_HOOKS
endif

COMMON	= common/ipc.c common/ipc_proto.c common/log.c common/util.c \
	  common/config.c common/privdrop.c common/username.c policy/access.c \
	  common/audit_send.c
POP3D	= pop3d/pop3d.c pop3d/parent.c pop3d/children.c pop3d/parent_tls.c \
	  pop3d/tls_material.c pop3d/parent_access.c pop3d/parent_proxy.c \
	  pop3d/parent_audit.c \
	  pop3d/control.c \
	  policy/sources.c policy/proxy.c policy/bans.c \
	  $(SANDBOX)
ifeq ($(OS),Linux)
SANDBOX	= common/sandbox_seccomp.c common/sandbox_test.c \
	  policy/sandbox_base.c policy/sandbox_session.c \
	  policy/sandbox_storaged.c policy/sandbox_authd.c \
	  policy/sandbox_parent.c policy/sandbox_audit.c
SANDBOX_LIBS = -lseccomp
else ifeq ($(OS),OpenBSD)
SANDBOX	= common/sandbox_pledge.c common/sandbox_test.c
endif
SESSION	= pop3d/session_main.c pop3d/session.c pop3d/pop3_cmd.c $(SANDBOX) \
	  pop3d/pop3_parse.c pop3d/retr.c pop3d/session_tls.c pop3d/sasl.c \
	  pop3d/tls_material.c pop3d/tls_ticket_compat.c common/dotstuff.c
AUTHD	= authd/authd.c authd/userdb.c authd/verify.c authd/hashpolicy.c \
	  authd/penalty.c authd/report.c \
	  $(SANDBOX)
STORAGED = storaged/storaged.c storaged/mailbox_maildir.c \
	  storaged/maildir_name.c $(SANDBOX)
POP3CTL	= authd/pop3ctl.c authd/userdb.c authd/hashpolicy.c \
	  authd/userdb_edit.c authd/pop3ctl_control.c authd/pop3ctl_audit.c \
	  common/audit_chain.c common/audit_json.c common/audit_state.c \
	  common/audit_verify.c

obj	= $(patsubst %.c,$(B)/obj/%.o,$(1))
AUDIT	= pop3d/audit_main.c pop3d/audit_event.c pop3d/audit_store.c \
	  common/audit_chain.c \
	  common/audit_json.c common/audit_state.c common/audit_verify.c \
	  $(SANDBOX)

PROGS	= $(B)/pop3d $(B)/pop3d-session $(B)/pop3d-authd $(B)/pop3d-storaged \
	  $(B)/pop3d-audit $(B)/pop3ctl

all: $(PROGS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(B)/pop3d: $(call obj,$(POP3D) $(COMMON))
	$(CC) $(LDFLAGS) -o $@ $^ -ltls $(SANDBOX_LIBS) $(LDLIBS)
$(B)/pop3d-session: $(call obj,$(SESSION) $(COMMON))
	$(CC) $(LDFLAGS) -o $@ $^ -ltls $(SANDBOX_LIBS) $(LDLIBS)
$(B)/pop3d-authd: $(call obj,$(AUTHD) $(COMMON))
	$(CC) $(LDFLAGS) -o $@ $^ $(SANDBOX_LIBS) $(LDLIBS)
$(B)/pop3d-storaged: $(call obj,$(STORAGED) $(COMMON))
	$(CC) $(LDFLAGS) -o $@ $^ $(SANDBOX_LIBS) $(LDLIBS)
$(B)/pop3d-audit: $(call obj,$(AUDIT) $(COMMON))
	$(CC) $(LDFLAGS) -o $@ $^ $(SANDBOX_LIBS) $(LDLIBS)
$(B)/pop3ctl: $(call obj,$(POP3CTL) $(COMMON))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# Unit tests: one program per file in tests/unit, linked with the module
# it tests (see tests/unit/units.mk).
include tests/unit/units.mk

check: all unit-tests
	tests/run-all.sh

run: all
	tests/demo.sh

bench: all
	$(MAKE) -C tests/bench
	tests/bench/run.sh

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBEXECDIR) \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(B)/pop3d $(B)/pop3ctl $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(B)/pop3d-session $(B)/pop3d-authd $(B)/pop3d-storaged \
	    $(B)/pop3d-audit \
	    $(DESTDIR)$(LIBEXECDIR)/
	install -m 0644 docs/pop3d.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 docs/pop3d.8 docs/pop3ctl.8 $(DESTDIR)$(MANDIR)/man8/

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all check run bench install clean unit-tests

# libFuzzer targets into build-fuzz/ (clang; tests/fuzz/run.sh runs them)
fuzz:
	$(MAKE) -f tests/fuzz/fuzz.mk
.PHONY: fuzz
