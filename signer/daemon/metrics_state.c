/* Gauges of the process and of the loaded state for /metrics (see
 * metrics.h): apart from metrics.c so that the counters need no state code. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "policy/policy.h"
#include "signer/daemon/metrics.h"
#include "signer/tokens.h"

/* Seconds since the epoch at which this process started, or -1. */
static double
process_start_time(void)
{
	char buf[1024], *p;
	unsigned long long start = 0, btime = 0;
	long hz = sysconf(_SC_CLK_TCK);
	size_t n;
	FILE *f;
	int i, ok = 0;

	if (hz <= 0 || (f = fopen("/proc/self/stat", "re")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* field 22, starttime; fields counted after the command's closing ')' */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	for (i = 0; i < 20 && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p, " %llu", &start) != 1)
		return -1;
	if ((f = fopen("/proc/stat", "re")) == NULL)
		return -1;
	while (fgets(buf, sizeof(buf), f) != NULL)
		if (sscanf(buf, "btime %llu", &btime) == 1) {
			ok = 1;
			break;
		}
	fclose(f);
	return ok ? (double)btime + (double)start / (double)hz : -1;
}

static long
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

void
d_metrics_process(FILE *f)
{
	unsigned long long size = 0, resident = 0;
	struct rusage ru;
	struct rlimit rl;
	double start = process_start_time();
	long fds = open_fds(), page = sysconf(_SC_PAGESIZE);
	FILE *m;

	fprintf(f,
		"# HELP p11s_build_info The running signerd's version (value 1).\n"
		"# TYPE p11s_build_info gauge\n"
		"p11s_build_info{version=\"%s\",openssl=\"%s\"} 1\n",
		PACKAGE_VERSION, OpenSSL_version(OPENSSL_VERSION_STRING));
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		fprintf(f,
			"# HELP process_cpu_seconds_total User and system CPU time spent.\n"
			"# TYPE process_cpu_seconds_total counter\n"
			"process_cpu_seconds_total %.6f\n",
			(double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
			    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	if (start >= 0)
		fprintf(f,
			"# HELP process_start_time_seconds Start time of the process since the "
			"epoch.\n"
			"# TYPE process_start_time_seconds gauge\n"
			"process_start_time_seconds %.2f\n",
			start);
	if (page > 0 && (m = fopen("/proc/self/statm", "re")) != NULL) {
		if (fscanf(m, "%llu %llu", &size, &resident) == 2)
			fprintf(f,
				"# HELP process_resident_memory_bytes Resident memory size.\n"
				"# TYPE process_resident_memory_bytes gauge\n"
				"process_resident_memory_bytes %llu\n"
				"# HELP process_virtual_memory_bytes Virtual memory size.\n"
				"# TYPE process_virtual_memory_bytes gauge\n"
				"process_virtual_memory_bytes %llu\n",
				resident * (unsigned long long)page,
				size * (unsigned long long)page);
		fclose(m);
	}
	if (fds >= 0)
		fprintf(f,
			"# HELP process_open_fds Open file descriptors.\n"
			"# TYPE process_open_fds gauge\n"
			"process_open_fds %ld\n",
			fds);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		fprintf(f,
			"# HELP process_max_fds Maximum open file descriptors.\n"
			"# TYPE process_max_fds gauge\n"
			"process_max_fds %llu\n",
			(unsigned long long)rl.rlim_cur);
}

static void
key_gauges(FILE *f, const char *name, const char *type, const char *role, const char *kid,
	   p11s_time value)
{
	fprintf(f, "%s{type=\"%s\",role=\"%s\",kid=\"%s\"} %lld\n", name, type, role,
		kid != NULL ? kid : "", (long long)value);
}

int
d_metrics_keys(FILE *f, const signer_conf *c, const d_view *v, p11s_time now)
{
	static const char *const names[] = {
	    "p11s_key_not_before_timestamp_seconds",
	    "p11s_key_not_after_timestamp_seconds",
	    "p11s_roll_staged",
	    "p11s_roll_effective_timestamp_seconds",
	    "p11s_roll_deadline_timestamp_seconds",
	    "p11s_previous_key_switched_timestamp_seconds",
	    "p11s_previous_key_safe_removal_timestamp_seconds",
	};
	static const char *const help[] = {
	    "Certificate notBefore of each key, by type and role (current, staged, previous).",
	    "Certificate notAfter of each key, by type and role (current, staged, previous).",
	    "1 while a roll of the type is staged, 0 otherwise.",
	    "Effective instant of the type's staged roll (absent without one).",
	    ("Latest effective instant rule 3 accepts for a roll of the current key: its "
	     "notAfter minus the largest min_lead of the types it issues for."),
	    "When the previous key stopped issuing (the last switch).",
	    "When the previous key may be removed: no token it signed can still be valid.",
	};
	pol_timeline *tl = NULL;
	size_t ti, k;
	int r = 0;

	if (c->policy.n_types == 0)
		return 0;
	if ((tl = calloc(c->policy.n_types, sizeof(*tl))) == NULL)
		return p11s_fail(P11S_E_NOMEM, "out of memory");
	for (ti = 0; ti < c->policy.n_types; ti++)
		if ((r = pol_timeline_of(&c->policy, &v->st->pol, c->policy.types[ti].name, now,
					 &tl[ti])) != 0)
			goto out;
	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", names[k], help[k], names[k]);
		for (ti = 0; ti < c->policy.n_types; ti++) {
			const char *type = c->policy.types[ti].name;
			const pol_timeline *t = &tl[ti];
			const pol_key *keys[3] = {t->current, t->staged, t->previous};
			static const char *const roles[3] = {"current", "staged", "previous"};
			size_t j;

			switch (k) {
			case 0:
			case 1:
				for (j = 0; j < 3; j++)
					if (keys[j] != NULL)
						key_gauges(f, names[k], type, roles[j],
							   tokens_kid(v->ks, keys[j]->sha1),
							   k == 0 ? keys[j]->not_before
								  : keys[j]->not_after);
				break;
			case 2:
				fprintf(f, "%s{type=\"%s\"} %d\n", names[k], type,
					t->staged != NULL ? 1 : 0);
				break;
			case 3:
				if (t->staged != NULL)
					key_gauges(f, names[k], type, "staged",
						   tokens_kid(v->ks, t->staged->sha1),
						   t->effective);
				break;
			case 4:
				if (t->current != NULL)
					key_gauges(
					    f, names[k], type, "current",
					    tokens_kid(v->ks, t->current->sha1),
					    pol_roll_deadline(&c->policy, &v->st->pol, type, now));
				break;
			default:
				if (t->previous != NULL)
					key_gauges(f, names[k], type, "previous",
						   tokens_kid(v->ks, t->previous->sha1),
						   k == 5 ? t->previous_until : t->safe_removal);
				break;
			}
		}
	}
out:
	free(tl);
	return r;
}
