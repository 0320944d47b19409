/* creds.c: the job's process settings: hostname (in init), rlimits and identity (in the command). */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "init.h"

int creds_hostname(struct init *in)
{
	const char *name = in->job.hostname;

	if (!name)
		return 0;
	if (sethostname(name, strlen(name)) < 0) {
		int err = -errno;

		init_error(in, "cannot set the hostname to '%s': %s", name, strerror(-err));
		return err;
	}
	init_say(in, "hostname %s", name);
	return 0;
}

static const char *creds_limit(rlim_t v, char *buf, size_t size)
{
	if (v == RLIM_INFINITY)
		return "unlimited";
	snprintf(buf, size, "%" PRIu64, (uint64_t)v);
	return buf;
}

/* Before the identity changes: raising a hard limit needs CAP_SYS_RESOURCE. */
int creds_rlimits(const struct job *job)
{
	for (size_t i = 0; i < job->nrlimits; i++) {
		const struct job_rlimit *l = &job->rlimits[i];
		struct rlimit rl = { .rlim_cur = l->soft, .rlim_max = l->hard };
		char soft[24], hard[24];

		if (setrlimit(l->resource, &rl) < 0) {
			int err = -errno;

			dprintf(2, "microvm-init: cannot set %s to %s (hard %s): %s\n", l->name,
				creds_limit(l->soft, soft, sizeof(soft)),
				creds_limit(l->hard, hard, sizeof(hard)), strerror(-err));
			return err;
		}
	}
	return 0;
}

/*
 * Groups, then the group, then the user: each step but the last needs the privilege the
 * last one gives up. With a user and no group list the groups are emptied, so nothing of
 * root's stays.
 */
int creds_identity(const struct job *job)
{
	const char *step = NULL;
	int err;

	if ((job->groups_set || job->user_set) && setgroups(job->ngroups, job->groups) < 0)
		step = "set the supplementary groups";
	else if (job->user_set && setgid(job->gid) < 0)
		step = "set the group id";
	else if (job->user_set && setuid(job->uid) < 0)
		step = "set the user id";
	if (!step)
		return 0;
	err = errno;
	dprintf(2, "microvm-init: cannot %s (user %u, group %u, %zu groups): %s\n", step,
		(unsigned)job->uid, (unsigned)job->gid, job->ngroups, strerror(err));
	return -err;
}
