/* job.h: the job file (guest/protocol.h) parsed strictly into argv, env, workdir and shares. */
#ifndef MICROVM_GUEST_JOB_H
#define MICROVM_GUEST_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include "../vmm/util.h"

/* A virtio-fs share: its tag and, except for the root, the directory it goes on. */
struct job_share {
	bool read_only;
	const char *tag;
	const char *dir; /* NULL for the root share */
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
	char error[160]; /* why the last parse failed, for init's message */
};

/*
 * Parse len bytes of a job file. 0 on success; -EINVAL for a malformed job (bad magic,
 * record without NUL, unknown tag, empty argv, bad value, repeated root or workdir),
 * -E2BIG over MICROVM_JOB_MAX_BYTES, -ENOMEM. On failure job->error says why and the job
 * holds nothing to free (job_free() is still safe).
 */
int job_parse(struct job *job, const char *data, size_t len) MUST_CHECK;
/* Read and parse the job file at path; -errno of open/read, or job_parse()'s result. */
int job_load(struct job *job, const char *path) MUST_CHECK;
void job_free(struct job *job);

#endif
