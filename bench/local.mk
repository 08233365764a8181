# bench/: throughput and latency harness (SPEC §9).  The programs build with
# `make` so they cannot rot, but `make check` neither runs nor rebuilds them;
# `make bench` runs the whole benchmark (BENCH_ARGS, e.g. --quick).
BENCH_PROGS = bench/bare bench/csign bench/inproc bench/uload
noinst_PROGRAMS = $(BENCH_PROGS)

noinst_LIBRARIES += bench/libbench.a
bench_libbench_a_SOURCES = bench/bench.c bench/bench.h $(NULL)

bench_csign_SOURCES = bench/csign.c
bench_csign_LDADD = bench/libbench.a libhsm.a libcommon.a $(OPENSSL_LIBS) $(P11KIT_LIBS) \
	-ldl -lm

bench_inproc_SOURCES = bench/inproc.c
bench_inproc_LDADD = bench/libbench.a $(SIGNER_LIBS) $(SIGNER_DEPLIBS) -lm

bench_bare_SOURCES = bench/bare.c
bench_bare_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
bench_bare_LDADD = bench/libbench.a $(LIBEVENT_LIBS)

bench_uload_SOURCES = bench/uload.c
bench_uload_LDADD = bench/libbench.a

dist_noinst_SCRIPTS += bench/run
EXTRA_DIST += bench/README.md bench/post.lua
CLEANFILES += bench/*.tmp

.PHONY: bench
bench: $(BENCH_PROGS) signer/signer $(sbin_PROGRAMS) tests/lib/p11wrap.so
	/usr/bin/python3 $(srcdir)/bench/run --build $(abs_top_builddir) $(BENCH_ARGS)
