/* job_internal.h: what the job parser's two files share (job.c: framing; job_process.c). */
#ifndef MICROVM_GUEST_JOB_INTERNAL_H
#define MICROVM_GUEST_JOB_INTERNAL_H

#include "job.h"

/* Record why the parse failed in job->error; returns err. */
int job_fail(struct job *job, int err, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* job_process.c: the OCI process records (JOB_USER, _GROUPS, _TERMINAL, _RLIMIT, _HOSTNAME). */
bool job_is_process_tag(char tag);
/* One such record; value is NUL-terminated and may be split in place. */
int job_process_record(struct job *job, char tag, char *value) MUST_CHECK;
/* Release what job_process_record() allocated (the groups). */
void job_process_free(struct job *job);

#endif
