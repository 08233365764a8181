# policy/: see policy/policy.h.
