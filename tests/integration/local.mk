# tests/integration/: the real binaries against throwaway SoftHSM2 tokens.
INTEGRATION_TESTS = \
	tests/integration/state_concurrency.sh \
	tests/integration/state_crash.sh \
	tests/integration/state_format.sh \
	tests/integration/journal_full.sh \
	tests/integration/audit_crash.sh \
	tests/integration/cli_keys.sh \
	tests/integration/no_coredump.sh \
	tests/integration/log_flood.sh \
	tests/integration/cli_refusals.sh \
	tests/integration/uri_forms.sh \
	tests/integration/rollover.sh \
	tests/integration/verify_adversarial.sh \
	tests/integration/signerd_hostile.sh \
	tests/integration/signerd_reasons.sh \
	tests/integration/roll_pss.sh \
	tests/integration/roll_refusals.sh \
	tests/integration/pool_signerd.sh \
	tests/integration/custody_quorum.sh \
	tests/integration/pool_check.sh \
	tests/integration/pool_check_token_key.sh \
	tests/integration/signerd_api.sh \
	tests/integration/signerd_rollover.sh \
	tests/integration/signerd_faults.sh \
	tests/integration/signerd_signpool.sh \
	tests/integration/status_schema.sh \
	tests/integration/signerd_conn_limits.sh \
	tests/integration/tls_token_key.sh \
	tests/integration/poll_storm.sh \
	tests/integration/roll_timing.sh \
	tests/integration/cert_expiry.sh \
	tests/integration/members_stale.sh \
	tests/integration/discovery.sh \
	tests/integration/metrics_alerting.sh \
	tests/integration/prometheus_rules.sh \
	tests/integration/systemd.sh \
	tests/integration/install.sh \
	tests/integration/doc_json.sh \
	$(NULL)
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) \
	tests/integration/signerd_lib.sh \
	tests/integration/hostile.py \
	tests/integration/fake_member.py \
	tests/integration/forge.py \
	tests/integration/sdharness.py \
	$(NULL)
