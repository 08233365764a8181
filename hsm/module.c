/* The module registry: each PKCS#11 module loaded and initialised once per process. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "hsm/internal.h"

/* ---- module registry ---------------------------------------------------- */

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct hsm_module *registry;

int
hsm_module_acquire(const char *path, struct hsm_module **out, int *transient)
{
	char real[PATH_MAX];
	struct hsm_module *m = NULL;
	CK_C_GetFunctionList gfl;
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;
	int r = P11S_E_INTERNAL;

	*out = NULL;
	if (realpath(path, real) == NULL)
		return p11s_fail(P11S_E_MODULE, "cannot load the PKCS#11 module %s: %s", path,
				 strerror(errno));
	pthread_mutex_lock(&registry_mu);
	for (m = registry; m != NULL; m = m->next)
		if (strcmp(m->path, real) == 0)
			break;
	if (m != NULL) {
		m->refs++;
		*out = m;
		r = 0;
		goto out;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL || (m->path = strdup(real)) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	/* RTLD_NODELETE: modules (and their OpenSSL) are not safe to unmap. */
	if ((m->dl = dlopen(real, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)) == NULL) {
		r = p11s_fail(P11S_E_MODULE, "cannot load the PKCS#11 module %s: %s", real,
			      dlerror());
		goto out;
	}
	if ((gfl = (CK_C_GetFunctionList)dlsym(m->dl, "C_GetFunctionList")) == NULL) {
		r = p11s_fail(P11S_E_MODULE,
			      "%s is not a PKCS#11 module (it has no C_GetFunctionList)", real);
		goto out;
	}
	if ((rv = gfl(&m->f)) != CKR_OK || m->f == NULL) {
		r = HSM_RV_FAIL(rv, "C_GetFunctionList", "module %s", real);
		r = p11s_fail(P11S_E_MODULE, "%s", p11s_errmsg(r));
		goto out;
	}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = hsm_C_Initialize(m->f, &args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		*transient = hsm_rv_transient_start(rv);
		r = HSM_RV_FAIL(rv, "C_Initialize", "cannot initialise the PKCS#11 module %s",
				real);
		r = p11s_fail(P11S_E_MODULE, "%s", p11s_errmsg(r));
		goto out;
	}
	log_debug("PKCS#11 module %s initialised", real);
	m->finalize = rv == CKR_OK;
	m->refs = 1;
	m->next = registry;
	registry = m;
	*out = m;
	m = NULL;
	r = 0;
out:
	if (m != NULL && *out != m) {
		if (m->dl != NULL)
			dlclose(m->dl);
		free(m->path);
		free(m);
	}
	pthread_mutex_unlock(&registry_mu);
	return r;
}

void
hsm_module_release(struct hsm_module *m)
{
	struct hsm_module **pp;

	if (m == NULL)
		return;
	pthread_mutex_lock(&registry_mu);
	if (--m->refs == 0) {
		for (pp = &registry; *pp != NULL; pp = &(*pp)->next)
			if (*pp == m) {
				*pp = m->next;
				break;
			}
		if (m->finalize) {
			(void)hsm_C_Finalize(m->f);
			log_debug("PKCS#11 module %s finalised", m->path);
		}
		dlclose(m->dl);
		free(m->path);
		free(m);
	}
	pthread_mutex_unlock(&registry_mu);
}
