/* job.h: the job file (guest/protocol.h) parsed strictly: command, shares, process settings. */
#ifndef MICROVM_GUEST_JOB_H
#define MICROVM_GUEST_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>
#include "../vmm/util.h"

/* A virtio-fs share: its tag and, except for the root, the directory it goes on. */
struct job_share {
	bool read_only;
	const char *tag;
	const char *dir; /* NULL for the root share */
};

/* One resource limit (JOB_RLIMIT), for setrlimit() in the command's process. */
struct job_rlimit {
	int resource;     /* RLIMIT_* */
	const char *name; /* "RLIMIT_NOFILE", for messages */
	rlim_t soft, hard; /* RLIM_INFINITY for unlimited; soft <= hard */
};

/*
 * Every string points into buf, the job's own copy of the file with each record's NUL
 * kept, so a parsed job owns everything and job_free() releases it all.
 */
struct job {
	char *buf;
	char **argv; /* argc words, then NULL */
	size_t argc;
	char **env; /* nenv NAME=VALUE entries, then NULL */
	size_t nenv;
	const char *workdir; /* NULL: "/" */
	struct job_share *mounts;
	size_t nmounts;
	bool has_root;
	struct job_share root;
	bool verbose;
	/* The OCI process settings (guest/protocol.h); absent: root, no groups, no terminal. */
	bool user_set; /* uid/gid given: setgroups(groups or none), setgid, setuid */
	uid_t uid;
	gid_t gid;
	bool groups_set;
	gid_t *groups; /* ngroups supplementary groups (NULL when there are none) */
	size_t ngroups;
	bool terminal;
	struct job_rlimit rlimits[RLIM_NLIMITS]; /* each resource at most once */
	size_t nrlimits;
	const char *hostname; /* NULL: leave the kernel's */
	char error[160]; /* why the last parse failed, for init's message */
};

/*
 * Parse len bytes of a job file. 0 on success; -EINVAL for a malformed job (bad magic,
 * record without NUL, unknown tag, empty argv, bad value, a repeated root, workdir, user,
 * groups, hostname or rlimit name, an unknown rlimit name),
 * -E2BIG over MICROVM_JOB_MAX_BYTES, -ENOMEM. On failure job->error says why and the job
 * holds nothing to free (job_free() is still safe).
 */
int job_parse(struct job *job, const char *data, size_t len) MUST_CHECK;
/* Read and parse the job file at path; -errno of open/read, or job_parse()'s result. */
int job_load(struct job *job, const char *path) MUST_CHECK;
void job_free(struct job *job);

#endif
