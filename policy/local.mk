# policy/: pure rollover rules, state + now -> decision; see policy/policy.h.
noinst_LIBRARIES += libpolicy.a
libpolicy_a_SOURCES = \
	policy/policy.h \
	policy/internal.h \
	policy/state.c \
	policy/rules.c \
	policy/view.c \
	policy/events.c \
	$(NULL)
