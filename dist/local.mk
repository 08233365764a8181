# dist/: files for installing the daemon.
EXTRA_DIST += dist/p11-signerd.service
EXTRA_DIST += dist/prometheus/p11-signer.rules.yml
