/*
 * Issue 9 item 7: a token whose store is full.  The SoftHSM2 token directory
 * is a small tmpfs, filled to the last byte; SoftHSM2 then answers
 * C_CreateObject with CKR_OK and keeps an empty file.  The write must be
 * reported as the token failing to store it, leave no object behind that a
 * search finds, and work again once there is space.
 *
 * The tmpfs lives in a private mount namespace of this test (root: a new
 * mount namespace; otherwise a new user namespace as well), so it vanishes
 * with the process even if the test dies.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "signer/state.h"
#include "tests/hsm/hsmtest.h"

#define APP "p11-signer/test-full"

static struct test_token tt;
static char store[PATH_MAX + 16], filler[PATH_MAX + 32];
static hsm_token *tok;
static uint8_t big[3000];

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0)
		fail_msg("cannot write %s: %s", path, strerror(errno));
}

/* A private mount namespace in which this process may mount a tmpfs. */
static void
private_mounts(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];

	if (uid == 0) {
		if (unshare(CLONE_NEWNS) != 0)
			fail_msg("unshare(CLONE_NEWNS): %s", strerror(errno));
	} else {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
			fail_msg("unshare(CLONE_NEWUSER|CLONE_NEWNS): %s (unprivileged user "
				 "namespaces are needed to mount a small tmpfs as a non-root user)",
				 strerror(errno));
		snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
		write_file("/proc/self/uid_map", map);
		write_file("/proc/self/setgroups", "deny");
		snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
		write_file("/proc/self/gid_map", map);
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		fail_msg("making mounts private: %s", strerror(errno));
}

/* Fill the store to the last byte. */
static void
fill(void)
{
	static char chunk[65536];
	int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	for (size_t n = sizeof(chunk); n > 0;) {
		if (write(fd, chunk, n) < 0) {
			assert_int_equal(errno, ENOSPC);
			n /= 2;
		}
	}
	assert_int_equal(close(fd), 0);
}

/* Object files SoftHSM2 keeps in the token directory, and how many are empty. */
static void
object_files(size_t *all, size_t *empty)
{
	char path[PATH_MAX * 2 + 32];
	struct dirent *e, *f;
	struct stat st;
	DIR *d, *td;

	*all = *empty = 0;
	assert_non_null(d = opendir(store));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "filler") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", store, e->d_name);
		if ((td = opendir(path)) == NULL)
			continue;
		while ((f = readdir(td)) != NULL) {
			size_t len = strlen(f->d_name);

			if (len < 7 || strcmp(f->d_name + len - 7, ".object") != 0 ||
			    strcmp(f->d_name, "token.object") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s/%s", store, e->d_name, f->d_name);
			assert_int_equal(stat(path, &st), 0);
			(*all)++;
			*empty += st.st_size == 0;
		}
		closedir(td);
	}
	closedir(d);
}

static size_t
listed(const char *application)
{
	char **labels = NULL;
	size_t n = 0;
	int r = hsm_data_labels(tok, application, &labels, &n);

	if (r != 0)
		fail_msg("hsm_data_labels: %s", p11s_errmsg(r));
	hsm_data_labels_free(labels, n);
	return n;
}

static int
setup(void **state)
{
	char conf[PATH_MAX * 2];

	test_token_create(&tt, "full");
	private_mounts();
	snprintf(store, sizeof(store), "%s/store", tt.dir);
	snprintf(filler, sizeof(filler), "%s/filler", store);
	if (mkdir(store, 0700) != 0 || mount("tmpfs", store, "tmpfs", 0, "size=1m,mode=0700") != 0)
		fail_msg("cannot mount a tmpfs on %s: %s", store, strerror(errno));
	/* the token lives on the tmpfs */
	snprintf(conf, sizeof(conf),
		 "directories.tokendir = %s\nobjectstore.backend = file\n"
		 "slots.removable = false\nlog.level = ERROR\n",
		 store);
	write_file(tt.conf, conf);
	test_token_add(&tt, "full");
	tok = ht_open(&tt);
	memset(big, 'j', sizeof(big));
	return 0;
}

static int
teardown(void **state)
{
	hsm_close(tok);
	if (umount2(store, MNT_DETACH) != 0)
		fprintf(stderr, "umount %s: %s\n", store, strerror(errno));
	test_token_destroy(&tt);
	return 0;
}

static void
test_full_store_reported(void **state)
{
	static const uint8_t small[] = "written while there was room";
	hsm_data *d = NULL;
	hsm_token *other = NULL;
	size_t n = 5, files = 0, empty = 0;
	int r;

	assert_int_equal(hsm_data_create(tok, APP, "before", small, sizeof(small)), 0);
	fill();
	r = hsm_data_create(tok, APP, "v2", big, sizeof(big));
	ht_expect(r, P11S_E_HSM,
		  "accepted data object 'p11-signer/test-full/v2' but cannot read it back");
	assert_non_null(strstr(p11s_errmsg(r), "is its store full?"));
	/* nothing a search finds is left of the attempt */
	assert_int_equal(listed(APP), 1);
	assert_int_equal(hsm_data_read(tok, APP, "v2", &d, &n), 0);
	assert_int_equal(n, 0);
	hsm_data_free(d, n);
	/* SoftHSM2 keeps one empty file of the attempt that no PKCS#11 call reaches */
	object_files(&files, &empty);
	assert_true(empty <= 1);

	/* room again: the same write works and persists */
	assert_int_equal(unlink(filler), 0);
	assert_int_equal(hsm_data_create(tok, APP, "v2", big, sizeof(big)), 0);
	assert_int_equal(listed(APP), 2);
	other = ht_open(&tt);
	assert_int_equal(hsm_data_read(other, APP, "v2", &d, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].len, sizeof(big));
	assert_memory_equal(d[0].value, big, sizeof(big));
	hsm_data_free(d, n);
	hsm_close(other);
}

static int
log_roll(signer_state *st, void *arg)
{
	(void)arg;
	return state_log(st, 1, "roll", NULL);
}

/* Through the state store: one clear refusal, not "the state kept changing
 * under 8 write attempts" with 8 empty objects; the stored state is intact. */
static void
test_full_store_state_update(void **state)
{
	signer_state *st = NULL;
	size_t before, files0 = 0, empty0 = 0, files = 0, empty = 0;
	uint64_t version;

	assert_int_equal(state_update(tok, log_roll, NULL, NULL), 0);
	assert_int_equal(state_load(tok, &st), 0);
	version = st->version;
	state_free(st);
	before = listed(STATE_APPLICATION);
	object_files(&files0, &empty0);

	fill();
	ht_expect(state_update(tok, log_roll, NULL, NULL), P11S_E_HSM, "is its store full?");
	assert_int_equal(listed(STATE_APPLICATION), before);
	object_files(&files, &empty);
	assert_true(empty <= empty0 + 1);
	assert_int_equal(state_load(tok, &st), 0);
	assert_int_equal(st->version, version);
	state_free(st);

	assert_int_equal(unlink(filler), 0);
	assert_int_equal(state_update(tok, log_roll, NULL, NULL), 0);
	assert_int_equal(state_load(tok, &st), 0);
	assert_int_equal(st->version, version + 1);
	state_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_store_reported),
	    cmocka_unit_test(test_full_store_state_update),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
