# dist/: files for installing the daemon.
EXTRA_DIST += dist/p11-signerd.service
