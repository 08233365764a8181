# Man pages.
dist_man_MANS += doc/signer.1 doc/signer.conf.5 doc/signerd.8
EXTRA_DIST += doc/timeline-demo.svg
