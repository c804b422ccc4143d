# Unit test programs: tests/unit/test_X.c linked with the modules it tests.
# Included by the top-level Makefile; `make unit-tests' builds them all.
UCOMMON	= $(call obj,common/log.c common/util.c common/ipc.c \
	  common/ipc_proto.c)

UNITS	= ipc config username util dotstuff pop3_parse maildir_name \
	  userdb hashpolicy sasl sandbox sandbox_bpf proxy sources access \
	  audit_chain

$(B)/tests/unit/test_ipc: $(call obj,tests/unit/test_ipc.c) $(UCOMMON)
$(B)/tests/unit/test_config: $(call obj,tests/unit/test_config.c policy/access.c common/username.c \
	common/config.c) $(UCOMMON)
$(B)/tests/unit/test_username: $(call obj,tests/unit/test_username.c \
	common/username.c) $(UCOMMON)
$(B)/tests/unit/test_util: $(call obj,tests/unit/test_util.c) $(UCOMMON)
$(B)/tests/unit/test_dotstuff: $(call obj,tests/unit/test_dotstuff.c \
	common/dotstuff.c) $(UCOMMON)
$(B)/tests/unit/test_pop3_parse: $(call obj,tests/unit/test_pop3_parse.c \
	pop3d/pop3_parse.c) $(UCOMMON)
$(B)/tests/unit/test_maildir_name: $(call obj, \
	tests/unit/test_maildir_name.c storaged/maildir_name.c) $(UCOMMON)
$(B)/tests/unit/test_userdb: $(call obj,tests/unit/test_userdb.c \
	authd/userdb.c authd/hashpolicy.c common/username.c policy/access.c) \
	$(UCOMMON)
$(B)/tests/unit/test_hashpolicy: $(call obj,tests/unit/test_hashpolicy.c \
	authd/hashpolicy.c) $(UCOMMON)

$(B)/tests/unit/test_access: $(call obj,tests/unit/test_access.c \
	policy/access.c) $(UCOMMON)

$(B)/tests/unit/test_sasl: $(call obj,tests/unit/test_sasl.c pop3d/sasl.c) \
	$(UCOMMON)
$(B)/tests/unit/test_sources: $(call obj,tests/unit/test_sources.c \
	policy/sources.c policy/access.c) $(UCOMMON)
$(B)/tests/unit/test_proxy: $(call obj,tests/unit/test_proxy.c \
	policy/proxy.c) $(UCOMMON)

$(B)/tests/unit/test_sandbox: $(call obj,tests/unit/test_sandbox.c \
	$(SANDBOX)) $(UCOMMON)
$(B)/tests/unit/test_sandbox: LDLIBS += $(SANDBOX_LIBS)
$(B)/tests/unit/test_sandbox_bpf: $(call obj,tests/unit/test_sandbox_bpf.c \
	tests/unit/bpf_eval.c $(SANDBOX)) $(UCOMMON)
$(B)/tests/unit/test_sandbox_bpf: LDLIBS += $(SANDBOX_LIBS)

# The audit chain modules, as pop3d-audit and pop3ctl link them.
AUDIT_LIB = common/audit_chain.c common/audit_json.c common/audit_state.c \
	  common/audit_verify.c
$(B)/tests/unit/test_audit_chain: $(call obj, \
	tests/unit/test_audit_chain.c $(AUDIT_LIB)) $(UCOMMON)

# Not a test itself (run-all.sh runs test_* only): writes valid audit
# chains for tests/authd/test_pop3ctl_audit.py.
AUDIT_GEN = $(B)/tests/unit/audit_gen
$(AUDIT_GEN): $(call obj,tests/unit/audit_gen.c $(AUDIT_LIB)) \
	$(UCOMMON)

UNIT_BINS = $(patsubst %,$(B)/tests/unit/test_%,$(UNITS))

$(UNIT_BINS) $(AUDIT_GEN):
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

unit-tests: $(UNIT_BINS) $(AUDIT_GEN)
