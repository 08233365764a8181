# fuzz/: one libFuzzer target per untrusted-input parser (fuzz/README.md).
# Always: fuzz/run_X = target + fuzz/standalone.c, replaying the committed
# corpus fuzz/corpus/X/ in `make check` (fuzz/regress.sh).
# With --enable-fuzzing (clang): also fuzz/fuzz_X, linked with libFuzzer.

FUZZ_COMMON = fuzz/fuzz.h
FUZZ_RUN_SOURCES = fuzz/standalone.c $(FUZZ_COMMON)

check_PROGRAMS += \
	fuzz/run_config \
	fuzz/run_date \
	fuzz/run_jwt \
	fuzz/run_state \
	fuzz/run_uri \
	fuzz/run_http_json \
	fuzz/run_approval \
	fuzz/run_keyfile \
	fuzz/run_audit \
	fuzz/run_dn \
	fuzz/run_member \
	fuzz/run_pool \
	$(NULL)

fuzz_run_config_SOURCES = fuzz/fuzz_config.c $(FUZZ_RUN_SOURCES)
fuzz_run_config_LDADD = $(SIGNER_LIBS) $(SIGNER_DEPLIBS)
fuzz_run_date_SOURCES = fuzz/fuzz_date.c $(FUZZ_RUN_SOURCES)
fuzz_run_date_LDADD = libcommon.a $(OPENSSL_LIBS)
fuzz_run_jwt_SOURCES = fuzz/fuzz_jwt.c fuzz/fuzz_jwt_keys.h $(FUZZ_RUN_SOURCES)
fuzz_run_jwt_LDADD = $(SIGNER_LIBS) $(SIGNER_DEPLIBS)
fuzz_run_state_SOURCES = fuzz/fuzz_state.c $(FUZZ_RUN_SOURCES)
fuzz_run_state_LDADD = $(SIGNER_LIBS) $(SIGNER_DEPLIBS)
fuzz_run_uri_SOURCES = fuzz/fuzz_uri.c $(FUZZ_RUN_SOURCES)
fuzz_run_uri_LDADD = libhsm.a libcommon.a $(OPENSSL_LIBS) $(P11KIT_LIBS)
fuzz_run_http_json_SOURCES = fuzz/fuzz_http_json.c $(FUZZ_RUN_SOURCES)
fuzz_run_http_json_LDADD = libsignerd.a libcommon.a $(JANSSON_LIBS) $(OPENSSL_LIBS)
fuzz_run_approval_SOURCES = fuzz/fuzz_approval.c $(FUZZ_RUN_SOURCES)
fuzz_run_approval_LDADD = $(SIGNER_LIBS) $(SIGNER_DEPLIBS)
fuzz_run_keyfile_SOURCES = fuzz/fuzz_keyfile.c $(FUZZ_RUN_SOURCES)
fuzz_run_keyfile_LDADD = $(SIGNER_LIBS) $(SIGNER_DEPLIBS)
fuzz_run_audit_SOURCES = fuzz/fuzz_audit.c $(FUZZ_RUN_SOURCES)
fuzz_run_audit_LDADD = $(SIGNER_LIBS) $(SIGNER_DEPLIBS)
fuzz_run_dn_SOURCES = fuzz/fuzz_dn.c $(FUZZ_RUN_SOURCES)
fuzz_run_dn_LDADD = libhsm.a libcommon.a $(OPENSSL_LIBS) $(P11KIT_LIBS)
fuzz_run_member_SOURCES = fuzz/fuzz_member.c $(FUZZ_RUN_SOURCES)
fuzz_run_member_LDADD = $(SIGNER_LIBS) $(SIGNER_DEPLIBS)
fuzz_run_pool_SOURCES = fuzz/fuzz_pool.c $(FUZZ_RUN_SOURCES)
fuzz_run_pool_LDADD = $(SIGNER_LIBS) $(SIGNER_DEPLIBS)

TESTS += fuzz/regress.sh
EXTRA_DIST += \
	fuzz/regress.sh \
	fuzz/mkcorpus.py \
	fuzz/README.md \
	fuzz/corpus \
	$(NULL)

if FUZZING
FUZZ_BINS = \
	fuzz/fuzz_config \
	fuzz/fuzz_date \
	fuzz/fuzz_jwt \
	fuzz/fuzz_state \
	fuzz/fuzz_uri \
	fuzz/fuzz_http_json \
	fuzz/fuzz_approval \
	fuzz/fuzz_keyfile \
	fuzz/fuzz_audit \
	fuzz/fuzz_dn \
	fuzz/fuzz_member \
	fuzz/fuzz_pool \
	$(NULL)
check_PROGRAMS += $(FUZZ_BINS)

fuzz_fuzz_config_SOURCES = fuzz/fuzz_config.c $(FUZZ_COMMON)
fuzz_fuzz_config_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_config_LDADD = $(fuzz_run_config_LDADD)
fuzz_fuzz_date_SOURCES = fuzz/fuzz_date.c $(FUZZ_COMMON)
fuzz_fuzz_date_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_date_LDADD = $(fuzz_run_date_LDADD)
fuzz_fuzz_jwt_SOURCES = fuzz/fuzz_jwt.c fuzz/fuzz_jwt_keys.h $(FUZZ_COMMON)
fuzz_fuzz_jwt_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_jwt_LDADD = $(fuzz_run_jwt_LDADD)
fuzz_fuzz_state_SOURCES = fuzz/fuzz_state.c $(FUZZ_COMMON)
fuzz_fuzz_state_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_state_LDADD = $(fuzz_run_state_LDADD)
fuzz_fuzz_uri_SOURCES = fuzz/fuzz_uri.c $(FUZZ_COMMON)
fuzz_fuzz_uri_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_uri_LDADD = $(fuzz_run_uri_LDADD)
fuzz_fuzz_http_json_SOURCES = fuzz/fuzz_http_json.c $(FUZZ_COMMON)
fuzz_fuzz_http_json_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_http_json_LDADD = $(fuzz_run_http_json_LDADD)
fuzz_fuzz_approval_SOURCES = fuzz/fuzz_approval.c $(FUZZ_COMMON)
fuzz_fuzz_approval_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_approval_LDADD = $(fuzz_run_approval_LDADD)
fuzz_fuzz_keyfile_SOURCES = fuzz/fuzz_keyfile.c $(FUZZ_COMMON)
fuzz_fuzz_keyfile_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_keyfile_LDADD = $(fuzz_run_keyfile_LDADD)
fuzz_fuzz_audit_SOURCES = fuzz/fuzz_audit.c $(FUZZ_COMMON)
fuzz_fuzz_audit_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_audit_LDADD = $(fuzz_run_audit_LDADD)
fuzz_fuzz_dn_SOURCES = fuzz/fuzz_dn.c $(FUZZ_COMMON)
fuzz_fuzz_dn_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_dn_LDADD = $(fuzz_run_dn_LDADD)
fuzz_fuzz_member_SOURCES = fuzz/fuzz_member.c $(FUZZ_COMMON)
fuzz_fuzz_member_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_member_LDADD = $(fuzz_run_member_LDADD)
fuzz_fuzz_pool_SOURCES = fuzz/fuzz_pool.c $(FUZZ_COMMON)
fuzz_fuzz_pool_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_pool_LDADD = $(fuzz_run_pool_LDADD)

# `make` builds the fuzzers too in a fuzzing build; `make fuzzers` alone.
fuzzers: $(FUZZ_BINS)
all-local: fuzzers
endif
.PHONY: fuzzers
