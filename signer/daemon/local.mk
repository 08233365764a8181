# signer/daemon/: the `signerd` program (HTTP API over libevent, workers,
# the published snapshot of keys, the state poller).
noinst_LIBRARIES += libsignerd.a
libsignerd_a_SOURCES = \
	signer/daemon/http.c signer/daemon/http.h signer/daemon/http_internal.h \
	signer/daemon/listen.c \
	signer/daemon/tls.c \
	signer/daemon/metrics.c signer/daemon/metrics.h \
	signer/daemon/metrics_state.c \
	signer/daemon/json.c signer/daemon/json.h \
	signer/daemon/snapshot.c signer/daemon/snapshot.h \
	signer/daemon/signpool.c signer/daemon/signpool.h \
	signer/daemon/api.c signer/daemon/api.h \
	signer/daemon/poll.c signer/daemon/poll.h \
	signer/daemon/sd.c signer/daemon/sd.h \
	$(NULL)
libsignerd_a_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(P11KIT_CFLAGS)

sbin_PROGRAMS += signer/signerd
signer_signerd_SOURCES = signer/daemon/signerd.c $(NULL)
signer_signerd_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(P11KIT_CFLAGS)
signer_signerd_LDADD = libsignerd.a $(SIGNER_LIBS) $(LIBEVENT_LIBS) $(SIGNER_DEPLIBS) -lpthread
