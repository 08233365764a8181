# common/: errors, logging, parsing, PIN sources, clock (depends on nothing).
noinst_LIBRARIES += libcommon.a
libcommon_a_SOURCES = \
	common/error.c common/error.h \
	common/log.c common/log.h \
	common/util.c common/util.h \
	common/harden.c common/harden.h \
	common/alg.c common/alg.h \
	common/pin.c common/pin.h \
	common/parse.c common/parse.h \
	common/text.c common/text.h \
	common/memstream.c common/memstream.h \
	$(NULL)
