/*
 * PKCS#11 URIs (RFC 7512) through p11-kit's parser, and the module a URI
 * names (module-path=, or module-name= through p11-kit's module configuration).  p11-kit accepts
 * some things silently (too-long labels, unknown query attributes, repeated attributes), so each
 * part is also checked on its own first: that is how the error message can name the offending part.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>

#include "common/log.h"
#include "common/util.h"
#include "hsm/hsm.h"

#define URI_EXAMPLE "pkcs11:token=edge?module-path=/usr/lib/softhsm/libsofthsm2.so"

static const char *const path_attrs[] = {"model",  "manufacturer", "serial", "token",
					 "object", "id",	   "type"};
static const char *const query_attrs[] = {"module-path", "module-name", "pin-source"};

/* Parse one part ("pkcs11:token=x" or "pkcs11:?module-path=y") alone. */
static int
check_part(const char *part, size_t len, int query, const char *name)
{
	P11KitUri *pu = NULL;
	char *s = NULL;
	int pr, r = P11S_E_INTERNAL;

	if ((s = malloc(len + 9)) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	memcpy(s, query ? "pkcs11:?" : "pkcs11:", query ? 8 : 7);
	memcpy(s + (query ? 8 : 7), part, len);
	s[len + (query ? 8 : 7)] = '\0';
	if ((pu = p11_kit_uri_new()) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	pr = p11_kit_uri_parse(s, P11_KIT_URI_FOR_ANY, pu);
	if (pr != P11_KIT_URI_OK) {
		r = p11s_fail(P11S_E_INVAL, "bad %s= in the PKCS#11 URI: %s (e.g. %s)", name,
			      p11_kit_uri_message(pr), URI_EXAMPLE);
		goto out;
	}
	if (p11_kit_uri_any_unrecognized(pu)) {
		const char *why = strcmp(name, "token") == 0 || strcmp(name, "manufacturer") == 0
				      ? " (at most 32 bytes)"
				  : strcmp(name, "serial") == 0 || strcmp(name, "model") == 0
				      ? " (at most 16 bytes)"
				      : "";

		r = p11s_fail(P11S_E_INVAL, "bad %s= in the PKCS#11 URI: value not accepted%s",
			      name, why);
		goto out;
	}
	r = 0;
out:
	p11_kit_uri_free(pu);
	free(s);
	return r;
}

/* Walk "a=1;b=2" (sep ';') or "a=1&b=2" (sep '&'), checking names and values. */
static int
check_parts(const char *s, size_t len, char sep, int query)
{
	const char *seen[16];
	size_t nseen = 0;
	size_t i = 0;
	int r;

	while (i < len) {
		const char *part = s + i, *end = memchr(part, sep, len - i), *eq;
		size_t plen = end != NULL ? (size_t)(end - part) : len - i, nlen;
		char name[32];

		i += plen + 1;
		if (plen == 0)
			continue;
		eq = memchr(part, '=', plen);
		nlen = eq != NULL ? (size_t)(eq - part) : plen;
		if (eq == NULL || nlen == 0 || nlen >= sizeof(name))
			return p11s_fail(
			    P11S_E_INVAL,
			    "malformed %s attribute in the PKCS#11 URI (expected name=value, "
			    "e.g. %s)",
			    query ? "query" : "path", URI_EXAMPLE);
		memcpy(name, part, nlen);
		name[nlen] = '\0';
		if (query) {
			int known = 0;

			if (strcmp(name, "pin-value") == 0)
				return p11s_fail(
				    P11S_E_INVAL,
				    "the PKCS#11 URI carries pin-value=: the PIN is never in the "
				    "URI; name a PIN file with pin-source=file:/path, or give a "
				    "PIN source (file:, env:, fd:, prompt)");
			for (size_t k = 0; k < sizeof(query_attrs) / sizeof(query_attrs[0]); k++)
				known |= strcmp(name, query_attrs[k]) == 0;
			if (!known)
				return p11s_fail(
				    P11S_E_INVAL,
				    "unsupported query attribute '%s' in the PKCS#11 URI: "
				    "use module-path=, module-name= or pin-source= (e.g. %s)",
				    name, URI_EXAMPLE);
		} else {
			int known = 0;

			for (size_t k = 0; k < sizeof(path_attrs) / sizeof(path_attrs[0]); k++)
				known |= strcmp(name, path_attrs[k]) == 0;
			if (!known)
				return p11s_fail(
				    P11S_E_INVAL,
				    "unsupported attribute '%s' in the PKCS#11 URI: use "
				    "token=, serial=, model=, manufacturer=, object=, id=, type= "
				    "(tokens are found by their fields, never by slot), e.g. %s",
				    name, URI_EXAMPLE);
		}
		for (size_t k = 0; k < nseen; k++)
			if (strncmp(seen[k], part, nlen + 1) == 0)
				return p11s_fail(P11S_E_INVAL,
						 "the PKCS#11 URI gives %s= more than once", name);
		if (nseen < sizeof(seen) / sizeof(seen[0]))
			seen[nseen++] = part;
		if ((r = check_part(part, plen, query, name)) != 0)
			return r;
	}
	return 0;
}

/* Fixed-width, space-padded token field -> string; NULL when absent. */
static int
token_field(const unsigned char *f, size_t len, const char *name, char **out)
{
	size_t n = len;

	*out = NULL;
	if (f[0] == '\0')
		return 0; /* not given */
	while (n > 0 && f[n - 1] == ' ')
		n--;
	if (n == 0)
		return p11s_fail(P11S_E_INVAL, "%s= is empty in the PKCS#11 URI (e.g. %s)", name,
				 URI_EXAMPLE);
	if ((*out = malloc(n + 1)) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	memcpy(*out, f, n);
	(*out)[n] = '\0';
	return 0;
}

/*
 * pin-source=: only a file (RFC 7512 leaves the scheme open; a command or a
 * prompt behind a URI would surprise).  Kept as "file:/path", the form the
 * PIN sources of common/pin.h take.  The value is never echoed: a PIN typed
 * there by mistake must not reach a log.
 */
static int
pin_source(const char *v, hsm_uri *u)
{
	const char *path = strncmp(v, "file:", 5) == 0 ? v + 5 : v;
	size_t n;

	if (path[0] != '/')
		return p11s_fail(P11S_E_INVAL,
				 "pin-source= in the PKCS#11 URI must name a PIN file by its "
				 "absolute path (pin-source=file:/etc/p11-signer/pin or "
				 "pin-source=/etc/p11-signer/pin)");
	n = strlen(path);
	if ((u->pin_source = malloc(n + 6)) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	memcpy(u->pin_source, "file:", 5);
	memcpy(u->pin_source + 5, path, n + 1);
	return 0;
}

int
hsm_uri_parse(const char *uri, hsm_uri **out)
{
	P11KitUri *pu = NULL;
	hsm_uri *u = NULL;
	CK_TOKEN_INFO *ti;
	CK_ATTRIBUTE *a;
	const char *rest, *q, *mp;
	int pr, r = P11S_E_INTERNAL;

	*out = NULL;
	if (uri == NULL || *uri == '\0')
		return p11s_fail(P11S_E_INVAL, "empty PKCS#11 URI; expected e.g. %s", URI_EXAMPLE);
	if (strncasecmp(uri, "pkcs11:", 7) != 0)
		return p11s_fail(P11S_E_INVAL,
				 "the token URI must start with 'pkcs11:' (RFC 7512), e.g. %s",
				 URI_EXAMPLE);
	/* p11-kit keeps a label up to its first NUL, so "token=%00" would read as
	 * "no token named" and "token=a%00b" as "a": refuse them outright. */
	if (strcasestr(uri, "%00") != NULL)
		return p11s_fail(
		    P11S_E_INVAL,
		    "the PKCS#11 URI contains an encoded NUL byte (%%00); labels, serials "
		    "and paths cannot hold one");
	rest = uri + 7;
	q = strchr(rest, '?');
	if ((r = check_parts(rest, q != NULL ? (size_t)(q - rest) : strlen(rest), ';', 0)) != 0 ||
	    (q != NULL && (r = check_parts(q + 1, strlen(q + 1), '&', 1)) != 0))
		return r;

	if ((pu = p11_kit_uri_new()) == NULL || (u = calloc(1, sizeof(*u))) == NULL) {
		r = p11s_fail(P11S_E_NOMEM, "out of memory");
		goto out;
	}
	if ((pr = p11_kit_uri_parse(uri, P11_KIT_URI_FOR_ANY, pu)) != P11_KIT_URI_OK) {
		r = p11s_fail(P11S_E_INVAL, "bad PKCS#11 URI: %s (e.g. %s)",
			      p11_kit_uri_message(pr), URI_EXAMPLE);
		goto out;
	}
	ti = p11_kit_uri_get_token_info(pu);
	if ((r = token_field(ti->label, sizeof(ti->label), "token", &u->token)) != 0 ||
	    (r = token_field(ti->serialNumber, sizeof(ti->serialNumber), "serial", &u->serial)) !=
		0)
		goto out;
	if ((a = p11_kit_uri_get_attribute(pu, CKA_LABEL)) != NULL) {
		if (a->ulValueLen == 0 || memchr(a->pValue, '\0', a->ulValueLen) != NULL) {
			r = p11s_fail(P11S_E_INVAL,
				      "object= in the PKCS#11 URI is empty or contains a NUL byte");
			goto out;
		}
		if ((u->object = malloc(a->ulValueLen + 1)) == NULL) {
			r = p11s_fail(P11S_E_NOMEM, "out of memory");
			goto out;
		}
		memcpy(u->object, a->pValue, a->ulValueLen);
		u->object[a->ulValueLen] = '\0';
	}
	if ((a = p11_kit_uri_get_attribute(pu, CKA_ID)) != NULL) {
		if (a->ulValueLen == 0 || a->ulValueLen > HSM_ID_MAX) {
			r = p11s_fail(
			    P11S_E_INVAL,
			    "id= in the PKCS#11 URI must hold 1 to %d bytes (percent-encoded, "
			    "e.g. id=%%01%%a2), not %lu",
			    HSM_ID_MAX, (unsigned long)a->ulValueLen);
			goto out;
		}
		memcpy(u->id, a->pValue, a->ulValueLen);
		u->id_len = a->ulValueLen;
	}
	if ((r = token_field(ti->model, sizeof(ti->model), "model", &u->model)) != 0 ||
	    (r = token_field(ti->manufacturerID, sizeof(ti->manufacturerID), "manufacturer",
			     &u->manufacturer)) != 0)
		goto out;
	if ((mp = p11_kit_uri_get_module_name(pu)) != NULL) {
		if (*mp == '\0') {
			r = p11s_fail(P11S_E_INVAL,
				      "module-name= is empty in the PKCS#11 URI (e.g. "
				      "pkcs11:token=edge?module-name=softhsm2)");
			goto out;
		}
		if ((r = p11s_strdup(mp, &u->module_name)) != 0)
			goto out;
	}
	if ((mp = p11_kit_uri_get_pin_source(pu)) != NULL && (r = pin_source(mp, u)) != 0)
		goto out;
	if ((mp = p11_kit_uri_get_module_path(pu)) != NULL) {
		if (*mp == '\0') {
			r = p11s_fail(P11S_E_INVAL,
				      "module-path= is empty in the PKCS#11 URI (e.g. %s)",
				      URI_EXAMPLE);
			goto out;
		}
		if ((r = p11s_strdup(mp, &u->module_path)) != 0)
			goto out;
	}
	*out = u;
	u = NULL;
	r = 0;
out:
	hsm_uri_free(u);
	p11_kit_uri_free(pu);
	return r;
}

void
hsm_uri_free(hsm_uri *u)
{
	if (u == NULL)
		return;
	free(u->module_path);
	free(u->module_name);
	free(u->pin_source);
	free(u->model);
	free(u->manufacturer);
	free(u->token);
	free(u->serial);
	free(u->object);
	free(u);
}

/* ---- the module a URI names ---------------------------------------------- */

/* "a, b, c" of p11-kit's configured module names; "none" when empty. */
static void
module_names(CK_FUNCTION_LIST **mods, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; mods != NULL && mods[i] != NULL; i++) {
		char *n = p11_kit_module_get_name(mods[i]);

		if (n != NULL && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
						 used > 0 ? ", " : "", n);
		free(n);
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "none");
}

int
hsm_uri_module(const hsm_uri *u, char **path)
{
	CK_FUNCTION_LIST **mods = NULL;
	char names[512];
	int r = P11S_E_INTERNAL;

	*path = NULL;
	if (u->module_path != NULL)
		return p11s_strdup(u->module_path, path);
	/* Loads (dlopen, no C_Initialize) the modules p11-kit is configured with. */
	mods = p11_kit_modules_load(NULL, P11_KIT_MODULE_UNMANAGED);
	if (u->module_name == NULL) {
		module_names(mods, names, sizeof(names));
		r = p11s_fail(P11S_E_MODULE,
			      "the token URI names no PKCS#11 module: add module-path=/path/to/"
			      "module.so or module-name=NAME of a module configured in p11-kit "
			      "(configured: %s), e.g. %s",
			      names, URI_EXAMPLE);
		goto out;
	}
	for (size_t i = 0; mods != NULL && mods[i] != NULL; i++) {
		char *n = p11_kit_module_get_name(mods[i]);
		int hit = n != NULL && strcmp(n, u->module_name) == 0;

		free(n);
		if (!hit)
			continue;
		if ((*path = p11_kit_module_get_filename(mods[i])) == NULL) {
			r = p11s_fail(P11S_E_MODULE,
				      "p11-kit has no file for the PKCS#11 module '%s'",
				      u->module_name);
			goto out;
		}
		log_debug("module-name=%s is %s (p11-kit configuration)", u->module_name, *path);
		r = 0;
		goto out;
	}
	module_names(mods, names, sizeof(names));
	r = p11s_fail(P11S_E_MODULE,
		      "no PKCS#11 module named '%s' in p11-kit's configuration (configured: %s; "
		      "p11-kit reads /etc/pkcs11/modules, its package directory and, except for "
		      "root, ~/.config/pkcs11/modules)",
		      u->module_name, names);
out:
	if (mods != NULL)
		p11_kit_modules_release(mods);
	return r;
}
