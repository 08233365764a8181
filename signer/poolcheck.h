/*
 * What `signer pool check` makes of its members' GET /v1/status answers
 * (SPEC §7): each answer is read into a member, then every type with a
 * staged key is checked across the members.  No I/O: the answers are
 * untrusted bytes from the network (fuzz/fuzz_pool.c).
 */
#ifndef P11S_SIGNER_POOLCHECK_H
#define P11S_SIGNER_POOLCHECK_H

#include <jansson.h>
#include <stddef.h>

#include "common/util.h"

typedef struct pool_member {
	const char *url;
	char id[128];	  /* the member's own name, else its URL; valid UTF-8 */
	json_t *doc;	  /* status document, NULL when unreachable */
	char error[300];  /* why it is unreachable; valid UTF-8 */
	json_t *problems; /* array of strings */
	size_t unlisted;  /* problems that could not be added to the array */
} pool_member;

/* The instant by which every member must hold a type's staged key. */
typedef struct pool_deadline {
	const char *type; /* in the members' status documents */
	const char *key;
	p11s_time at;
} pool_deadline;

/* Start a member for url (not copied).  P11S_E_NOMEM. */
int pool_member_init(pool_member *m, const char *url);
void pool_member_clear(pool_member *m);

/* Take the body of a member's 200 answer: m->doc and m->id, or m->error. */
void pool_member_read(pool_member *m, const char *body, size_t len);

/* Record why a member is unreachable (printf-style; made valid text). */
void pool_member_unreachable(pool_member *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Ready: answered, and no problem found. */
int pool_member_ready(const pool_member *m);

/*
 * Check the n members at `now`: a stale member, and for every type staged on
 * any member, each member that lacks its earliest staged key or has it with
 * another effective instant, or issues with it before then, gets a problem.
 * *dl receives the deadlines (free() it), *nd their number, *earliest the
 * earliest of them (NULL: nothing staged).  Their keys and types point into
 * the members' documents.  0, or P11S_E_NOMEM (then no member is checked).
 */
int pool_check(pool_member *ms, size_t n, p11s_time now, pool_deadline **dl, size_t *nd,
	       const pool_deadline **earliest);

#endif
