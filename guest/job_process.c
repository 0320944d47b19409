/* job_process.c: the job's OCI process records: user, groups, terminal, rlimits, hostname. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "job_internal.h"
#include "protocol.h"

/* (uid_t)-1 and (gid_t)-1 mean "leave unchanged" to the set*id() calls: not an identity. */
#define JOB_ID_MAX 4294967294ULL
/* sethostname() refuses more; Linux's __NEW_UTS_LEN. */
#define JOB_HOSTNAME_MAX 64

/* The names OCI uses (config.md, process.rlimits[].type), which are the kernel's. */
static const struct {
	const char *name;
	int resource;
} job_rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS },
	{ "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },
	{ "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },
	{ "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
	{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_STACK", RLIMIT_STACK },
};

bool job_is_process_tag(char tag)
{
	return tag == JOB_USER || tag == JOB_GROUPS || tag == JOB_TERMINAL ||
	       tag == JOB_RLIMIT || tag == JOB_HOSTNAME;
}

/*
 * A decimal number at *p: one or more digits, no sign, no spaces, at most max. *p moves
 * past the digits. 0 or -EINVAL (no digit, or over max).
 */
static int job_decimal(const char **p, uint64_t max, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned digit = (unsigned)(*s - '0');

		if (v > (max - digit) / 10)
			return -EINVAL;
		v = v * 10 + digit;
	}
	*p = s;
	*out = v;
	return 0;
}

/* "UID:GID". */
static int job_user(struct job *job, const char *value)
{
	const char *p = value;
	uint64_t uid, gid;

	if (job->user_set)
		return job_fail(job, -EINVAL, "more than one user");
	if (job_decimal(&p, JOB_ID_MAX, &uid) || *p++ != ':' ||
	    job_decimal(&p, JOB_ID_MAX, &gid) || *p)
		return job_fail(job, -EINVAL, "user '%s' is not UID:GID (decimal, at most %llu)",
				value, JOB_ID_MAX);
	job->user_set = true;
	job->uid = (uid_t)uid;
	job->gid = (gid_t)gid;
	return 0;
}

/* "GID,GID,...", or "" for none. */
static int job_groups(struct job *job, const char *value)
{
	size_t n = *value ? 1 : 0;
	const char *p = value;
	uint64_t gid;

	if (job->groups_set)
		return job_fail(job, -EINVAL, "more than one group list");
	for (const char *c = value; *c; c++)
		n += *c == ',';
	if (n > NGROUPS_MAX)
		return job_fail(job, -EINVAL, "%zu groups: more than the kernel's %d", n,
				NGROUPS_MAX);
	job->groups_set = true;
	if (!n)
		return 0;
	job->groups = calloc(n, sizeof(*job->groups));
	if (!job->groups)
		return job_fail(job, -ENOMEM, "out of memory for %zu groups", n);
	for (size_t i = 0; i < n; i++) {
		if (job_decimal(&p, JOB_ID_MAX, &gid) || (*p != ',' && *p) || (*p && !p[1]))
			return job_fail(job, -EINVAL, "group list '%s' is not GID,GID,... "
					"(decimal, at most %llu)", value, JOB_ID_MAX);
		job->groups[job->ngroups++] = (gid_t)gid;
		p += *p == ',';
	}
	return 0;
}

static int job_terminal(struct job *job, const char *value)
{
	if (strcmp(value, "1") && strcmp(value, "0"))
		return job_fail(job, -EINVAL, "terminal value '%s' is neither 1 nor 0", value);
	job->terminal = value[0] == '1';
	return 0;
}

static int job_rlimit_resource(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(job_rlimit_names); i++)
		if (!strcmp(job_rlimit_names[i].name, name))
			return job_rlimit_names[i].resource;
	return -1;
}

/* The job's unlimited, 2^64-1, is the kernel's RLIM64_INFINITY: the same as a 64-bit rlim_t's. */
_Static_assert(sizeof(rlim_t) == sizeof(uint64_t) && RLIM_INFINITY == UINT64_MAX,
	       "rlim_t holds every job limit");

static int job_rlimit_value(const char **p, rlim_t *out)
{
	uint64_t v;

	if (job_decimal(p, UINT64_MAX, &v))
		return -EINVAL;
	*out = (rlim_t)v;
	return 0;
}

/* "NAME<TAB>SOFT<TAB>HARD". */
static int job_rlimit(struct job *job, char *value)
{
	struct job_rlimit rl = { .name = value };
	char *tab = strchr(value, '\t');
	const char *p;

	if (!tab)
		return job_fail(job, -EINVAL, "rlimit '%s' has no TAB after its name", value);
	*tab = '\0';
	p = tab + 1;
	rl.resource = job_rlimit_resource(value);
	if (rl.resource < 0)
		return job_fail(job, -EINVAL, "unknown rlimit '%s'", value);
	if (job_rlimit_value(&p, &rl.soft) || *p++ != '\t' || job_rlimit_value(&p, &rl.hard) ||
	    *p)
		return job_fail(job, -EINVAL, "rlimit %s: '%s' is not SOFT<TAB>HARD (decimal)",
				value, tab + 1);
	/* RLIM_INFINITY is the largest rlim_t: the kernel's comparison is plain unsigned. */
	if (rl.soft > rl.hard)
		return job_fail(job, -EINVAL, "rlimit %s: soft limit above the hard limit", value);
	for (size_t i = 0; i < job->nrlimits; i++)
		if (job->rlimits[i].resource == rl.resource)
			return job_fail(job, -EINVAL, "rlimit %s given twice", value);
	job->rlimits[job->nrlimits++] = rl; /* distinct known names: it fits */
	return 0;
}

static int job_hostname(struct job *job, const char *value)
{
	size_t len = strlen(value);

	if (job->hostname)
		return job_fail(job, -EINVAL, "more than one hostname");
	if (len == 0 || len > JOB_HOSTNAME_MAX)
		return job_fail(job, -EINVAL, "hostname of %zu bytes: 1 to %d allowed", len,
				JOB_HOSTNAME_MAX);
	job->hostname = value;
	return 0;
}

int job_process_record(struct job *job, char tag, char *value)
{
	switch (tag) {
	case JOB_USER:
		return job_user(job, value);
	case JOB_GROUPS:
		return job_groups(job, value);
	case JOB_TERMINAL:
		return job_terminal(job, value);
	case JOB_RLIMIT:
		return job_rlimit(job, value);
	case JOB_HOSTNAME:
		return job_hostname(job, value);
	}
	return job_fail(job, -EINVAL, "unknown record tag 0x%02x", (unsigned char)tag);
}

void job_process_free(struct job *job)
{
	free(job->groups);
	job->groups = NULL;
	job->ngroups = 0;
}
