/*
 * Private CKO_DATA token objects named by (CKA_APPLICATION, CKA_LABEL).
 *
 * Each public call is an operation run by hsm_run: once more when its
 * session was lost or logged out and no C_Login was tried meanwhile (the
 * second run's hsm_session logs in once).  A search on a logged-out session
 * is an error (hsm_find), so a caller never mistakes a logged-out view for
 * an empty store.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/log.h"
#include "common/util.h"
#include "hsm/internal.h"

static int
check_names(const char *application, const char *label, int label_required)
{
	if (application == NULL || *application == '\0')
		return p11s_fail(P11S_E_INVAL, "a data object application name is required");
	if (label_required && (label == NULL || *label == '\0'))
		return p11s_fail(P11S_E_INVAL, "a data object label is required");
	if (label != NULL && *label == '\0')
		return p11s_fail(P11S_E_INVAL, "the data object label is empty");
	return 0;
}

/* Data objects of the application (and label).  Host lock held. */
static int
find_data(hsm_token *t, CK_SESSION_HANDLE s, const char *application, const char *label,
	  CK_OBJECT_HANDLE **h, size_t *n)
{
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
			       {CKA_APPLICATION, hsm_ck_ptr(application), strlen(application)},
			       {CKA_LABEL, hsm_ck_ptr(label), label != NULL ? strlen(label) : 0}};

	return hsm_find(t, s, tmpl, label != NULL ? 3 : 2, h, n);
}

/* One call's arguments and results, for its operation under hsm_run. */
struct data_call {
	const char *application;
	const char *label;
	CK_ATTRIBUTE *tmpl; /* create */
	CK_ULONG ntmpl;
	const uint8_t *value;
	size_t len;
	char ***labels;	 /* labels */
	hsm_data **data; /* read */
	size_t *n;	 /* labels, read, destroy */
};

/* ---- labels ------------------------------------------------------------- */

static int
labels_op(hsm_token *t, void *arg)
{
	struct data_call *c = arg;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE *h = NULL;
	char **out = NULL;
	size_t nh = 0, done = 0, len;
	int r = P11S_E_INTERNAL;

	if ((r = hsm_session(t, &s)) != 0 ||
	    (r = find_data(t, s, c->application, NULL, &h, &nh)) != 0)
		goto out;
	if ((out = calloc(nh + 1, sizeof(*out))) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	for (; done < nh; done++)
		if ((r = hsm_get_attr(t, s, h[done], CKA_LABEL, (uint8_t **)&out[done], &len)) != 0)
			goto out;
	*c->labels = out;
	*c->n = nh;
	out = NULL;
	r = 0;
out:
	hsm_data_labels_free(out, done);
	free(h);
	return r;
}

int
hsm_data_labels(hsm_token *t, const char *application, char ***labels, size_t *n)
{
	struct data_call c = {.application = application, .labels = labels, .n = n};
	int r;

	*labels = NULL;
	*n = 0;
	if ((r = check_names(application, NULL, 0)) != 0)
		return r;
	return hsm_run(t, labels_op, &c);
}

void
hsm_data_labels_free(char **labels, size_t n)
{
	if (labels == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(labels[i]);
	free(labels);
}

/* ---- read --------------------------------------------------------------- */

static int
read_op(hsm_token *t, void *arg)
{
	struct data_call *c = arg;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE *h = NULL;
	hsm_data *d = NULL;
	size_t nh = 0, done = 0, len;
	int r = P11S_E_INTERNAL;

	if ((r = hsm_session(t, &s)) != 0 ||
	    (r = find_data(t, s, c->application, c->label, &h, &nh)) != 0)
		goto out;
	if ((d = calloc(nh + 1, sizeof(*d))) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	for (; done < nh; done++) {
		if ((r = hsm_get_attr(t, s, h[done], CKA_LABEL, (uint8_t **)&d[done].label,
				      &len)) != 0 ||
		    (r = hsm_get_attr(t, s, h[done], CKA_VALUE, &d[done].value, &d[done].len)) !=
			0) {
			done++; /* free this entry's partial reads too */
			goto out;
		}
	}
	*c->data = d;
	*c->n = nh;
	d = NULL;
	r = 0;
out:
	hsm_data_free(d, done);
	free(h);
	return r;
}

int
hsm_data_read(hsm_token *t, const char *application, const char *label, hsm_data **out, size_t *n)
{
	struct data_call c = {.application = application, .label = label, .data = out, .n = n};
	int r;

	*out = NULL;
	*n = 0;
	if ((r = check_names(application, label, 0)) != 0)
		return r;
	return hsm_run(t, read_op, &c);
}

void
hsm_data_free(hsm_data *d, size_t n)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(d[i].label);
		if (d[i].value != NULL)
			OPENSSL_clear_free(d[i].value, d[i].len);
	}
	free(d);
}

/* ---- create ------------------------------------------------------------- */

/*
 * Read the new object's value back: a token whose store is full may answer
 * C_CreateObject with CKR_OK and keep nothing (SoftHSM2 leaves an empty file
 * and an object handle that no longer works).
 */
static int
read_back(hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, const char *application,
	  const char *label, const uint8_t *value, size_t len)
{
	uint8_t *got = NULL;
	size_t got_len = 0;
	char why[300];
	int r;

	if ((r = hsm_get_attr(t, s, h, CKA_VALUE, &got, &got_len)) != 0)
		snprintf(why, sizeof(why), "%s", p11s_errmsg(r));
	else if (got_len != len)
		snprintf(why, sizeof(why), "it reads back %zu bytes of the %zu written", got_len,
			 len);
	else if (len > 0 && CRYPTO_memcmp(got, value, len) != 0)
		snprintf(why, sizeof(why), "its value reads back different from the one written");
	else
		why[0] = '\0';
	if (got != NULL)
		OPENSSL_clear_free(got, got_len);
	if (why[0] == '\0')
		return 0;
	log_error("token '%s': data object '%s/%s' does not read back: %s", t->label, application,
		  label, why);
	return p11s_fail(P11S_E_HSM,
			 "token '%s' accepted data object '%s/%s' but cannot read it back (%s): "
			 "is its store full?  Check the free space where the token keeps its "
			 "objects (for SoftHSM2, its token directory)",
			 t->label, application, label, why);
}

/* Destroy the object this attempt created and could not read back. */
static void
remove_own(hsm_token *t, CK_OBJECT_HANDLE h, const char *application, const char *label)
{
	CK_SESSION_HANDLE s;
	char nb[32];
	CK_RV rv;
	int r;

	/* the failed read may have dropped the session: handles outlive it */
	if ((r = hsm_session(t, &s)) != 0) {
		log_warn("token '%s': cannot remove the unreadable data object '%s/%s': %s",
			 t->label, application, label, p11s_errmsg(r));
		return;
	}
	if ((rv = hsm_C_DestroyObject(t, s, h)) == CKR_OK)
		log_info("token '%s': removed the unreadable data object '%s/%s'", t->label,
			 application, label);
	else
		log_warn("token '%s': the unreadable data object '%s/%s' cannot be destroyed "
			 "either (C_DestroyObject returned %s); no search finds it",
			 t->label, application, label, hsm_rv_name(rv, nb));
}

static int
create_op(hsm_token *t, void *arg)
{
	struct data_call *c = arg;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	CK_RV rv;
	int r = P11S_E_INTERNAL;

	if ((r = hsm_session(t, &s)) != 0)
		return r;
	if ((rv = hsm_C_CreateObject(t, s, c->tmpl, c->ntmpl, &h)) != CKR_OK)
		return HSM_RV_FAIL(rv, "C_CreateObject",
				   "cannot create data object '%s/%s' on token '%s'",
				   c->application, c->label, t->label);
	if ((r = read_back(t, s, h, c->application, c->label, c->value, c->len)) != 0)
		remove_own(t, h, c->application, c->label);
	return r;
}

int
hsm_data_create(hsm_token *t, const char *application, const char *label, const uint8_t *value,
		size_t len)
{
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_PRIVATE, &yes, sizeof(yes)},
	    {CKA_MODIFIABLE, &no, sizeof(no)},
	    {CKA_APPLICATION, hsm_ck_ptr(application), 0},
	    {CKA_LABEL, hsm_ck_ptr(label), 0},
	    {CKA_VALUE, hsm_ck_ptr(value), len},
	};
	struct data_call c = {.application = application,
			      .label = label,
			      .tmpl = tmpl,
			      .ntmpl = sizeof(tmpl) / sizeof(tmpl[0]),
			      .value = value,
			      .len = len};
	int r;

	if ((r = check_names(application, label, 1)) != 0)
		return r;
	if (value == NULL && len > 0)
		return p11s_fail(P11S_E_INVAL, "data object '%s' has a length but no value", label);
	tmpl[4].ulValueLen = strlen(application);
	tmpl[5].ulValueLen = strlen(label);
	return hsm_run(t, create_op, &c);
}

/* ---- destroy ------------------------------------------------------------ */

static int
destroy_op(hsm_token *t, void *arg)
{
	struct data_call *c = arg;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE *h = NULL;
	size_t nh = 0, done = 0;
	int r = P11S_E_INTERNAL;

	if ((r = hsm_session(t, &s)) != 0 ||
	    (r = find_data(t, s, c->application, c->label, &h, &nh)) != 0)
		goto out;
	for (size_t i = 0; i < nh; i++) {
		CK_RV rv = hsm_C_DestroyObject(t, s, h[i]);

		if (rv != CKR_OK) {
			r = HSM_RV_FAIL(rv, "C_DestroyObject",
					"cannot destroy data object '%s/%s' on token '%s'",
					c->application, c->label, t->label);
			goto out;
		}
		done++;
	}
	*c->n = done;
	r = 0;
out:
	free(h);
	return r;
}

int
hsm_data_destroy(hsm_token *t, const char *application, const char *label, size_t *destroyed)
{
	struct data_call c = {.application = application, .label = label, .n = destroyed};
	int r;

	*destroyed = 0;
	if ((r = check_names(application, label, 1)) != 0)
		return r;
	return hsm_run(t, destroy_op, &c);
}
