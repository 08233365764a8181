/* No core dumps of processes that hold token keys (harden.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "common/harden.h"

int
p11s_harden_process(int *allowed)
{
	const char *v = getenv(P11S_COREDUMP_ENV);
	struct rlimit rl = {0, 0};

	*allowed = 0;
	if (v != NULL && strcmp(v, "1") == 0) {
		*allowed = 1;
		return 0;
	}
	if (v != NULL && strcmp(v, "0") != 0 && v[0] != '\0')
		return p11s_fail(P11S_E_INVAL,
				 "%s must be 1 (allow core dumps, for debugging only), 0 or unset",
				 P11S_COREDUMP_ENV);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return p11s_fail(P11S_E_INTERNAL, "cannot make the process non-dumpable: %s",
				 strerror(errno));
	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		return p11s_fail(P11S_E_INTERNAL, "cannot set the core size limit to 0: %s",
				 strerror(errno));
	return 0;
}
