#!/bin/sh
# dist/prometheus/p11-signer.rules.yml: promtool validates it, and promtool's
# rule unit tests show each alert firing on the series signerd exports (and
# staying quiet where it should).
. "$top_srcdir/tests/lib/common.sh"

command -v promtool >/dev/null || fail "promtool is needed (Debian package prometheus)"
RULES="$top_srcdir/dist/prometheus/p11-signer.rules.yml"
promtool check rules "$RULES" >"$T/check.out" 2>&1 || fail "promtool check rules: $(cat "$T/check.out")"
pass "$(tr -s ' \n' ' ' <"$T/check.out")"

# Times in these tests are minutes from 0 (the epoch).  A deadline 3 days
# ahead with nothing staged fires; the same with a roll staged does not.
cat >"$T/rules_test.yml" <<EOT
rule_files:
  - $RULES
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'p11s_roll_deadline_timestamp_seconds{instance="a",job="signerd",type="T",role="current",kid="k1"}'
        values: '259200x30'
      - series: 'p11s_roll_staged{instance="a",job="signerd",type="T"}'
        values: '0x30'
      - series: 'p11s_roll_deadline_timestamp_seconds{instance="a",job="signerd",type="U",role="current",kid="k2"}'
        values: '259200x30'
      - series: 'p11s_roll_staged{instance="a",job="signerd",type="U"}'
        values: '1x30'
      - series: 'p11s_roll_deadline_timestamp_seconds{instance="a",job="signerd",type="V",role="current",kid="k3"}'
        values: '2592000x30'
      - series: 'p11s_roll_staged{instance="a",job="signerd",type="V"}'
        values: '0x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: P11SignerRollDeadlineNear
        exp_alerts:
          - exp_labels: {instance: a, job: signerd, type: T, role: current, kid: k1, severity: warning}
            exp_annotations:
              summary: "Stage a roll of T: its deadline is in 2d 23h 40m 0s"
              description: "The current key of T (kid k1) must be succeeded by an effective instant no later than its certificate's notAfter minus the largest min_lead of its types; after that rule 3 refuses every roll and tokens stop being issued when the certificate expires. Run \`signer roll --type T\`."
      - eval_time: 20m
        alertname: P11SignerRollDeadlinePassed
        exp_alerts: []
  - interval: 1m
    input_series:
      - series: 'p11s_staged_key_test_ok{instance="a",job="signerd",type="T",kid="k2"}'
        values: '1 1 0x20'
      - series: 'p11s_roll_staged{instance="a",job="signerd",type="T"}'
        values: '1x20'
      - series: 'p11s_roll_staged{instance="b",job="signerd",type="T"}'
        values: '0x20'
      - series: 'p11s_hsm_errors_total{instance="a",job="signerd"}'
        values: '0 0 0 2 3 3 3 3 3 3 3 3 3 3 3 3'
      - series: 'p11s_state_poll_ok{instance="b",job="signerd"}'
        values: '0x20'
    alert_rule_test:
      - eval_time: 10m
        alertname: P11SignerStagedKeyTestFailing
        exp_alerts:
          - exp_labels: {instance: a, job: signerd, type: T, kid: k2, severity: critical}
            exp_annotations:
              summary: "The staged key of T (kid k2) fails its test signature on a"
              description: "This member could not sign with the staged key; at the effective instant it would fail to issue. Check the key on the token, or withdraw the roll."
      - eval_time: 10m
        alertname: P11SignerMemberMissingStagedRoll
        exp_alerts:
          - exp_labels: {instance: b, job: signerd, type: T, severity: critical}
            exp_annotations:
              summary: "b does not report the staged roll of T"
              description: "This member has not loaded the state with the staged roll (its polls of the token fail, or it reads another token); at the effective instant it would keep issuing with the old key."
      - eval_time: 5m
        alertname: P11SignerHSMErrors
        exp_alerts:
          - exp_labels: {instance: a, job: signerd, severity: warning}
            exp_annotations:
              summary: "a: 3 HSM signing errors in 5 minutes"
              description: "The token failed signing requests; issuing answers 503 while the worker reconnects with back-off."
      - eval_time: 15m
        alertname: P11SignerHSMErrors
        exp_alerts: []
      - eval_time: 10m
        alertname: P11SignerStatePollFailing
        exp_alerts:
          - exp_labels: {instance: b, job: signerd, severity: critical}
            exp_annotations:
              summary: "b cannot poll the token for state changes"
  - interval: 1m
    input_series:
      # switched at minute 0; tokens of the previous key verified all along
      - series: 'p11s_previous_key_switched_timestamp_seconds{instance="a",job="signerd",type="T",role="previous",kid="k0"}'
        values: '0x600'
      - series: 'p11s_verifications_total{instance="a",job="signerd",type="T",role="previous"}'
        values: '0+1x600'
      - series: 'p11s_verifications_total{instance="a",job="signerd",type="T",role="current"}'
        values: '0+50x600'
    alert_rule_test:
      - eval_time: 5h
        alertname: P11SignerPreviousKeyStillUsed
        exp_alerts: []
      - eval_time: 7h
        alertname: P11SignerPreviousKeyStillUsed
        exp_alerts:
          - exp_labels: {instance: a, job: signerd, type: T, severity: warning}
            exp_annotations:
              summary: "Tokens of the previous T key are still verified 6 h after the switch"
              description: "Some client keeps tokens longer than token_lifetime or an issuer still signs with the old key; removing the previous key would break them."
EOT
promtool test rules "$T/rules_test.yml" >"$T/test.out" 2>&1 || fail "promtool test rules: $(cat "$T/test.out")"
pass "promtool rule unit tests: every alert fires on the series signerd exports"
