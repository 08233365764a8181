# tests/unit/: cmocka tests of the pure pieces, one program per module.
UNIT_COMMON = tests/unit/test_parse tests/unit/test_pin tests/unit/test_log
UNIT_POLICY = tests/unit/test_policy tests/unit/test_policy_view tests/unit/test_policy_events
UNIT_SIGNER = tests/unit/test_config tests/unit/test_state \
	tests/unit/test_custody tests/unit/test_audit \
	tests/unit/test_jose tests/unit/test_jose_adversarial tests/unit/test_tokens
UNIT_DAEMON = tests/unit/test_d_json tests/unit/test_d_metrics tests/unit/test_d_http \
	tests/unit/test_d_poll tests/unit/test_d_snapshot
check_PROGRAMS += tests/unit/test_uri $(UNIT_COMMON) $(UNIT_POLICY) $(UNIT_SIGNER) $(UNIT_DAEMON)
TESTS += tests/unit/test_uri $(UNIT_COMMON) $(UNIT_POLICY) $(UNIT_SIGNER) $(UNIT_DAEMON)

tests_unit_test_parse_SOURCES = tests/unit/test_parse.c
tests_unit_test_parse_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_parse_LDADD = $(TEST_COMMON_LIBS)

tests_unit_test_log_SOURCES = tests/unit/test_log.c
tests_unit_test_log_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_log_LDADD = $(TEST_COMMON_LIBS)

check_PROGRAMS += tests/unit/test_util tests/unit/test_harden
TESTS += tests/unit/test_util tests/unit/test_harden
# --wrap: the test sees the allocations p11s_read_file makes (test_util.c)
tests_unit_test_util_SOURCES = tests/unit/test_util.c
tests_unit_test_util_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_util_LDFLAGS = $(AM_LDFLAGS) -Wl,--wrap=malloc,--wrap=realloc,--wrap=free
tests_unit_test_util_LDADD = $(TEST_COMMON_LIBS)

tests_unit_test_harden_SOURCES = tests/unit/test_harden.c
tests_unit_test_harden_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_harden_LDADD = $(TEST_COMMON_LIBS)

tests_unit_test_pin_SOURCES = tests/unit/test_pin.c
tests_unit_test_pin_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_pin_LDADD = $(TEST_COMMON_LIBS)

tests_unit_test_uri_SOURCES = tests/unit/test_uri.c
tests_unit_test_uri_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_uri_LDADD = $(TEST_HSM_LIBS)

# common/text.c (quoting untrusted text) and common/error.c (classes, messages)
check_PROGRAMS += tests/unit/test_text
TESTS += tests/unit/test_text
tests_unit_test_text_SOURCES = tests/unit/test_text.c
tests_unit_test_text_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_text_LDADD = $(TEST_COMMON_LIBS) $(JANSSON_LIBS)

POLICY_TEST_FIXTURE = tests/unit/policy_fixture.c tests/unit/policy_fixture.h
tests_unit_test_policy_SOURCES = tests/unit/test_policy.c $(POLICY_TEST_FIXTURE)
tests_unit_test_policy_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_policy_LDADD = libpolicy.a $(TEST_COMMON_LIBS)
tests_unit_test_policy_view_SOURCES = tests/unit/test_policy_view.c $(POLICY_TEST_FIXTURE)
tests_unit_test_policy_view_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_policy_view_LDADD = libpolicy.a $(TEST_COMMON_LIBS)
tests_unit_test_policy_events_SOURCES = tests/unit/test_policy_events.c $(POLICY_TEST_FIXTURE)
tests_unit_test_policy_events_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_policy_events_LDADD = libpolicy.a $(TEST_COMMON_LIBS)

tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(INIH_CFLAGS)
tests_unit_test_config_LDADD = $(TEST_SIGNER_LIBS)

tests_unit_test_state_SOURCES = tests/unit/test_state.c
tests_unit_test_state_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_state_LDADD = $(TEST_SIGNER_LIBS)

tests_unit_test_custody_SOURCES = tests/unit/test_custody.c
tests_unit_test_custody_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_custody_LDADD = $(TEST_SIGNER_LIBS)

tests_unit_test_audit_SOURCES = tests/unit/test_audit.c
tests_unit_test_audit_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_audit_LDADD = $(TEST_SIGNER_LIBS)

JOSE_TEST_KEYS = tests/unit/jose_testkeys.c tests/unit/jose_testkeys.h
tests_unit_test_jose_SOURCES = tests/unit/test_jose.c $(JOSE_TEST_KEYS)
tests_unit_test_jose_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_jose_LDADD = libjose.a libcommon.a $(JANSSON_LIBS) $(OPENSSL_LIBS) $(CMOCKA_LIBS)
tests_unit_test_jose_adversarial_SOURCES = tests/unit/test_jose_adversarial.c $(JOSE_TEST_KEYS)
tests_unit_test_jose_adversarial_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_jose_adversarial_LDADD = $(tests_unit_test_jose_LDADD)
tests_unit_test_tokens_SOURCES = tests/unit/test_tokens.c $(JOSE_TEST_KEYS)
tests_unit_test_tokens_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_tokens_LDADD = $(TEST_SIGNER_LIBS)

tests_unit_test_d_json_SOURCES = tests/unit/test_d_json.c
tests_unit_test_d_json_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_d_json_LDADD = libsignerd.a libcommon.a $(JANSSON_LIBS) $(OPENSSL_LIBS) $(CMOCKA_LIBS)

tests_unit_test_d_metrics_SOURCES = tests/unit/test_d_metrics.c
tests_unit_test_d_metrics_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_d_metrics_LDADD = libsignerd.a $(TEST_COMMON_LIBS) -lpthread

tests_unit_test_d_http_SOURCES = tests/unit/test_d_http.c
tests_unit_test_d_http_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(LIBEVENT_CFLAGS)
tests_unit_test_d_http_LDADD = libsignerd.a libsigner.a libhsm.a libcommon.a $(LIBEVENT_LIBS) \
	$(JANSSON_LIBS) $(OPENSSL_LIBS) $(P11KIT_LIBS) $(LIBP11_LIBS) $(CMOCKA_LIBS) -lpthread

tests_unit_test_d_poll_SOURCES = tests/unit/test_d_poll.c $(POLICY_TEST_FIXTURE)
tests_unit_test_d_poll_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(LIBEVENT_CFLAGS)
tests_unit_test_d_poll_LDADD = libsignerd.a $(TEST_SIGNER_LIBS) $(LIBEVENT_LIBS) -lpthread

tests_unit_test_d_snapshot_SOURCES = tests/unit/test_d_snapshot.c
tests_unit_test_d_snapshot_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_d_snapshot_LDADD = libsignerd.a $(TEST_SIGNER_LIBS) -lpthread
