/* job.h: the job file that tells microvm-init what to run, packed as a cpio archive for the initrd. */
#ifndef MICROVM_JOB_H
#define MICROVM_JOB_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"

struct job_blob {
	uint8_t *data;
	size_t len;
};

/*
 * The newc cpio archive holding MICROVM_JOB_PATH for cfg's command, env, workdir, root
 * and mounts (guest/protocol.h); verbose asks init to narrate. Appended to the initrd.
 * -ENOMEM, or -E2BIG past MICROVM_JOB_MAX_BYTES.
 */
int job_build_cpio(const struct vm_config *cfg, bool verbose, struct job_blob *out) MUST_CHECK;
/* The job file alone (tests and the cpio builder). */
int job_build_file(const struct vm_config *cfg, bool verbose, struct job_blob *out) MUST_CHECK;
void job_blob_free(struct job_blob *b);

#endif
