/*
 * Process hardening shared by `signer` and `signerd`: no core dumps.
 * SoftHSM2 runs inside the process, so a core file would hold its unwrapped
 * token keys (and PINs read from their sources).
 */
#ifndef P11S_COMMON_HARDEN_H
#define P11S_COMMON_HARDEN_H

#include "common/error.h"

/* The debug switch: "1" keeps core dumps possible; unset, "" or "0": not. */
#define P11S_COREDUMP_ENV "P11S_ALLOW_COREDUMP"

/*
 * Make the process non-dumpable (prctl PR_SET_DUMPABLE 0, which also keeps
 * processes of the same user from attaching to it or reading its memory)
 * and set RLIMIT_CORE to 0, unless P11S_ALLOW_COREDUMP=1.  *allowed is set
 * to 1 when the switch left dumps possible (nothing changed), else 0.
 * Another value of the variable: P11S_E_INVAL, nothing changed.  Call first
 * thing in main, before any secret is read.
 */
P11S_MUST_CHECK int p11s_harden_process(int *allowed);

#endif
