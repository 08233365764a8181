/*
 * signerd's snapshot publication (signer/daemon/snapshot.c): reference counts,
 * publish/acquire, the per-worker cache and its generation, and readers on
 * several threads while one thread publishes (run under ASan for
 * use-after-free and leaks).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <pthread.h>
#include <sched.h>

#include "signer/daemon/snapshot.h"

#define MAGIC 0x5a5a5a5au

typedef struct obj {
	d_ref ref;
	unsigned magic;
	int id;
} obj;

static atomic_int destroyed;
static atomic_int last_destroyed_id;

static void
obj_destroy(d_ref *r)
{
	obj *o = (obj *)r;

	assert_int_equal(o->magic, MAGIC);
	o->magic = 0;
	atomic_store(&last_destroyed_id, o->id);
	atomic_fetch_add(&destroyed, 1);
	free(o);
}

static obj *
obj_new(int id)
{
	obj *o = calloc(1, sizeof(*o));

	assert_non_null(o);
	atomic_init(&o->ref.n, 1);
	o->ref.destroy = obj_destroy;
	o->magic = MAGIC;
	o->id = id;
	return o;
}

static int
reset(void **state)
{
	(void)state;
	atomic_store(&destroyed, 0);
	atomic_store(&last_destroyed_id, -1);
	return 0;
}

static void
test_refcount(void **state)
{
	obj *a = obj_new(1);

	(void)state;
	d_ref_get(&a->ref);
	d_ref_get(&a->ref);
	assert_int_equal(atomic_load(&a->ref.n), 3);
	d_ref_put(&a->ref);
	d_ref_put(&a->ref);
	assert_int_equal(atomic_load(&destroyed), 0);
	d_ref_put(&a->ref);
	assert_int_equal(atomic_load(&destroyed), 1);
	assert_int_equal(atomic_load(&last_destroyed_id), 1);
	/* NULL is a no-op. */
	d_ref_put(NULL);
	assert_int_equal(atomic_load(&destroyed), 1);
}

static void
test_publish_acquire(void **state)
{
	d_slot s;
	obj *a = obj_new(1), *b = obj_new(2);
	d_ref *r;

	(void)state;
	d_slot_init(&s);
	/* Nothing published yet. */
	assert_null(d_slot_acquire(&s));
	assert_int_equal(atomic_load(&s.gen), 0);
	d_slot_publish(&s, &a->ref);
	assert_int_equal(atomic_load(&s.gen), 1);
	r = d_slot_acquire(&s);
	assert_ptr_equal(r, &a->ref);
	assert_int_equal(atomic_load(&a->ref.n), 2);
	/* Replacing a snapshot a reader holds does not free it under the reader. */
	d_slot_publish(&s, &b->ref);
	assert_int_equal(atomic_load(&s.gen), 2);
	assert_int_equal(atomic_load(&destroyed), 0);
	assert_int_equal(((obj *)r)->magic, MAGIC);
	d_ref_put(r);
	assert_int_equal(atomic_load(&destroyed), 1);
	assert_int_equal(atomic_load(&last_destroyed_id), 1);
	r = d_slot_acquire(&s);
	assert_ptr_equal(r, &b->ref);
	d_ref_put(r);
	/* Publishing NULL withdraws the snapshot (and drops the slot's reference). */
	d_slot_publish(&s, NULL);
	assert_int_equal(atomic_load(&destroyed), 2);
	assert_null(d_slot_acquire(&s));
	assert_int_equal(atomic_load(&s.gen), 3);
	d_slot_destroy(&s);
	assert_int_equal(atomic_load(&destroyed), 2);
}

static void
test_cache_generation(void **state)
{
	d_slot s;
	d_cache c = {0, NULL};
	obj *a = obj_new(1), *b = obj_new(2);
	d_ref *r;

	(void)state;
	d_slot_init(&s);
	/* An empty slot gives NULL, again and again. */
	assert_null(d_slot_cached(&s, &c));
	assert_null(d_slot_cached(&s, &c));
	d_slot_publish(&s, &a->ref);
	r = d_slot_cached(&s, &c);
	assert_ptr_equal(r, &a->ref);
	assert_int_equal(c.gen, 1);
	/* Same generation: the same borrowed object, no new reference. */
	assert_ptr_equal(d_slot_cached(&s, &c), &a->ref);
	assert_int_equal(atomic_load(&a->ref.n), 2);
	/* A new generation: the cache moves to it and lets the old one go. */
	d_slot_publish(&s, &b->ref);
	assert_int_equal(atomic_load(&destroyed), 0); /* the cache still holds a */
	assert_ptr_equal(d_slot_cached(&s, &c), &b->ref);
	assert_int_equal(c.gen, 2);
	assert_int_equal(atomic_load(&destroyed), 1);
	assert_int_equal(atomic_load(&last_destroyed_id), 1);
	d_cache_release(&c);
	assert_null(c.obj);
	assert_int_equal(c.gen, 0);
	d_cache_release(&c); /* twice is fine */
	assert_int_equal(atomic_load(&destroyed), 1);
	d_slot_destroy(&s);
	assert_int_equal(atomic_load(&destroyed), 2);
}

/* ---- readers on threads while one publishes ------------------------------ */

#define READERS 4
#define PUBLISHES 3000

typedef struct reader {
	d_slot *s;
	atomic_int *done;
	atomic_long reads;
	int bad; /* went backwards or saw a freed object */
} reader;

static void *
reader_main(void *arg)
{
	reader *rd = arg;
	d_cache c = {0, NULL};
	int last_cached = 0, last_acq = 0;

	while (!atomic_load(rd->done)) {
		obj *o = (obj *)d_slot_cached(rd->s, &c);
		d_ref *r;

		if (o != NULL) {
			if (o->magic != MAGIC || o->id < last_cached)
				rd->bad = 1;
			last_cached = o->id;
		}
		if ((r = d_slot_acquire(rd->s)) != NULL) {
			o = (obj *)r;
			if (o->magic != MAGIC || o->id < last_acq)
				rd->bad = 1;
			last_acq = o->id;
			d_ref_put(r);
		}
		atomic_fetch_add(&rd->reads, 1);
	}
	d_cache_release(&c);
	return NULL;
}

/* Wait until every reader has read more than seen[i] times (no reader is
 * left behind: the publications interleave with reads whatever the load);
 * 60 s without progress means a reader is stuck. */
static void
wait_readers(reader *rd, long *seen)
{
	time_t t0 = time(NULL);

	for (int i = 0; i < READERS; i++) {
		while (atomic_load(&rd[i].reads) <= seen[i]) {
			if (time(NULL) - t0 > 60)
				fail_msg("reader %d made no progress in 60 s", i);
			sched_yield();
		}
		seen[i] = atomic_load(&rd[i].reads);
	}
}

static void
test_threads(void **state)
{
	d_slot s;
	pthread_t th[READERS];
	reader rd[READERS];
	long seen[READERS];
	atomic_int done;
	long reads = 0;
	int checkpoints = 0;

	(void)state;
	d_slot_init(&s);
	atomic_init(&done, 0);
	for (int i = 0; i < READERS; i++) {
		rd[i].s = &s;
		rd[i].done = &done;
		atomic_init(&rd[i].reads, 0);
		rd[i].bad = 0;
		seen[i] = 0;
		assert_int_equal(pthread_create(&th[i], NULL, reader_main, &rd[i]), 0);
	}
	wait_readers(rd, seen);
	for (int id = 1; id <= PUBLISHES; id++) {
		d_slot_publish(&s, &obj_new(id)->ref);
		if (id % 100 == 0) {
			wait_readers(rd, seen);
			checkpoints++;
		}
	}
	atomic_store(&done, 1);
	for (int i = 0; i < READERS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(rd[i].bad, 0);
		reads += atomic_load(&rd[i].reads);
	}
	/* Every replaced snapshot was freed exactly once; the newest is alive. */
	assert_int_equal(atomic_load(&destroyed), PUBLISHES - 1);
	assert_int_equal(atomic_load(&s.gen), PUBLISHES);
	d_slot_destroy(&s);
	assert_int_equal(atomic_load(&destroyed), PUBLISHES);
	assert_int_equal(atomic_load(&last_destroyed_id), PUBLISHES);
	print_message("%d publications, %ld reads on %d threads, %d checkpoints where every "
		      "reader had read again\n",
		      PUBLISHES, reads, READERS, checkpoints);
}

/* ---- the two snapshot kinds ------------------------------------------------ */

static void
test_settings_and_view(void **state)
{
	signer_conf *conf = NULL;
	signer_state *st = NULL;
	d_settings *set = (d_settings *)1;
	d_view *v = (d_view *)1;
	pol_key k;
	uint8_t junk[4] = {1, 2, 3, 4};

	(void)state;
	assert_int_equal(signer_conf_defaults(&conf), 0);
	assert_int_equal(d_settings_new(conf, &set), 0);
	assert_ptr_equal(set->conf, conf);
	assert_int_equal(atomic_load(&set->ref.n), 1);
	d_ref_put(&set->ref); /* frees conf too (ASan: no leak) */
	/* An empty state makes a view with an empty key set. */
	assert_int_equal(state_new(&st), 0);
	assert_int_equal(d_view_new(st, 1700000000, &v), 0);
	assert_ptr_equal(v->st, st);
	assert_non_null(v->ks);
	assert_int_equal(v->loaded_at, 1700000000);
	d_ref_put(&v->ref);
	/* A state whose certificate does not parse: refused, and the state is
	 * freed all the same (ownership moved in). */
	assert_int_equal(state_new(&st), 0);
	memset(&k, 0, sizeof(k));
	memset(k.sha1, 'a', 40);
	k.cert_der = junk;
	k.cert_len = sizeof(junk);
	assert_int_equal(pol_state_put_key(&st->pol, &k), 0);
	v = (d_view *)1;
	assert_int_equal(d_view_new(st, 1700000000, &v), P11S_E_STATE);
	assert_null(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_refcount, reset),
	    cmocka_unit_test_setup(test_publish_acquire, reset),
	    cmocka_unit_test_setup(test_cache_generation, reset),
	    cmocka_unit_test_setup(test_threads, reset),
	    cmocka_unit_test_setup(test_settings_and_view, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
