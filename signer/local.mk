# signer/: the core shared by the CLI and the daemon: configuration, state on
# the token, verification sets, custodians and the audit journal.
noinst_LIBRARIES += libsigner.a
libsigner_a_SOURCES = \
	signer/conf.c signer/conf.h \
	signer/listen.c signer/listen.h \
	signer/state.c signer/state.h \
	signer/tokens.c signer/tokens.h \
	signer/keytest.c signer/keytest.h \
	signer/certfile.c signer/certfile.h \
	signer/custody.c signer/custody.h \
	signer/keyfile.c signer/keyfile.h \
	signer/audit.c signer/audit.h \
	signer/timeline_svg.c signer/timeline_svg.h \
	signer/status.c signer/status.h \
	signer/poolcheck.c signer/poolcheck.h \
	$(NULL)
libsigner_a_CFLAGS = $(AM_CFLAGS) $(INIH_CFLAGS) $(P11KIT_CFLAGS) $(LIBEVENT_CFLAGS)
