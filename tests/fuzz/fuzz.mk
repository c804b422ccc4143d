# libFuzzer targets (tests/fuzz/fuzz_*.c), built by `make fuzz' from the
# top directory, which runs `$(MAKE) -f tests/fuzz/fuzz.mk'; nothing else
# includes this file.  Needs clang with the libFuzzer runtime (Debian:
# clang and libclang-rt-14-dev).  The project modules are compiled again
# here, into $(FB)/obj, with the same -D flags as the real build and with
# coverage instrumentation, so the fuzzer sees their branches; tests/fuzz/
# run.sh builds and runs the targets.

FB	?= build-fuzz
FCC	?= clang
FSAN	= -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	  -fno-omit-frame-pointer
# no -Werror on the project modules: clang may warn where gcc does not,
# and the real build is what holds them to -Werror
FCFLAGS	= -g -O1 -std=c11 -Wall -Wextra $(FSAN)
FCPPFLAGS = -D_DEFAULT_SOURCE -D_GNU_SOURCE -Icommon -Ipolicy -Ipop3d \
	  -Iauthd
ifeq ($(shell uname -s),Linux)
FCPPFLAGS += -DNEED_STRLCPY
endif

FUZZERS	= proxy pop3_parse ipc_decode access sasl
FUZZ_BINS = $(patsubst %,$(FB)/fuzz_%,$(FUZZERS))

# log.c (log_* and fatal*) needs ipc.c for log_to_channel(); util.c has
# the number parsers and strlcpy
FCOMMON	= common/log.c common/util.c common/ipc.c common/ipc_proto.c

fobj	= $(patsubst %.c,$(FB)/obj/%.o,$(1))

all: $(FUZZ_BINS)

$(FB)/fuzz_proxy: $(call fobj,policy/proxy.c $(FCOMMON))
$(FB)/fuzz_pop3_parse: $(call fobj,pop3d/pop3_parse.c $(FCOMMON))
$(FB)/fuzz_ipc_decode: $(call fobj,$(FCOMMON))
$(FB)/fuzz_access: $(call fobj,policy/access.c authd/userdb.c \
	authd/hashpolicy.c common/username.c $(FCOMMON))
$(FB)/fuzz_sasl: $(call fobj,pop3d/sasl.c $(FCOMMON))

# project modules: coverage instrumentation, no libFuzzer main
$(FB)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC (fuzz) $<"
	@$(FCC) $(FCPPFLAGS) $(FCFLAGS) -fsanitize=fuzzer-no-link -MMD -MP \
	    -c -o $@ $<

# the targets themselves, linked with libFuzzer's main
$(FUZZ_BINS): $(FB)/fuzz_%: tests/fuzz/fuzz_%.c
	@mkdir -p $(dir $@)
	@echo "LD (fuzz) $@"
	@$(FCC) $(FCPPFLAGS) $(FCFLAGS) -Werror -fsanitize=fuzzer \
	    -MMD -MP -MF $@.d -MT $@ -o $@ $(filter %.c %.o,$^) \
	    -lsodium -lpthread

-include $(shell find $(FB) -name '*.d' 2>/dev/null)

clean:
	rm -rf $(FB)

.PHONY: all clean
