/* job.c: the job file for microvm-init (records of guest/protocol.h) and its newc cpio wrapper. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../guest/protocol.h"
#include "job.h"

/* A growing byte buffer; a failed append sticks (err) so callers check once at the end. */
struct job_buf {
	struct job_blob b;
	size_t cap;
	int err;
};

static void buf_put(struct job_buf *jb, const void *p, size_t n)
{
	size_t want = jb->b.len + n;
	uint8_t *grown;

	if (jb->err || n == 0) /* n == 0: p may be NULL, which memcpy must not get */
		return;
	if (want > MICROVM_JOB_MAX_BYTES + 4096) {
		jb->err = -E2BIG;
		return;
	}
	if (want > jb->cap) {
		size_t cap = jb->cap ? jb->cap * 2 : 1024;

		while (cap < want)
			cap *= 2;
		grown = realloc(jb->b.data, cap);
		if (!grown) {
			jb->err = -ENOMEM;
			return;
		}
		jb->b.data = grown;
		jb->cap = cap;
	}
	memcpy(jb->b.data + jb->b.len, p, n);
	jb->b.len = want;
}

/* One record: tag, then the parts joined by TABs, then NUL. */
static void put_record(struct job_buf *jb, char tag, const char *a, const char *b, const char *c)
{
	buf_put(jb, &tag, 1);
	buf_put(jb, a, strlen(a));
	if (b) {
		buf_put(jb, "\t", 1);
		buf_put(jb, b, strlen(b));
	}
	if (c) {
		buf_put(jb, "\t", 1);
		buf_put(jb, c, strlen(c));
	}
	buf_put(jb, "", 1);
}

static void put_shares(struct job_buf *jb, const struct vm_config *cfg)
{
	const struct share_config *root = cfg->root_tag ? config_find_share(cfg, cfg->root_tag) : NULL;
	unsigned i;

	if (root)
		put_record(jb, JOB_ROOT, root->readonly ? "ro" : "rw", root->tag, NULL);
	for (i = 0; i < cfg->nshares; i++) {
		const struct share_config *s = &cfg->shares[i];

		if (s->mount)
			put_record(jb, JOB_MOUNT, s->readonly ? "ro" : "rw", s->tag, s->mount);
	}
}

static int job_finish(struct job_buf *jb, struct job_blob *out)
{
	if (jb->err == 0 && jb->b.len > MICROVM_JOB_MAX_BYTES)
		jb->err = -E2BIG;
	if (jb->err) {
		free(jb->b.data);
		return jb->err;
	}
	*out = jb->b;
	return 0;
}

/* The OCI process settings; a list of gids as "1,2,3". */
static void put_process(struct job_buf *jb, const struct config_process *p)
{
	char num[64];
	unsigned i;

	if (p->user_set) {
		snprintf(num, sizeof(num), "%u:%u", p->uid, p->gid);
		put_record(jb, JOB_USER, num, NULL, NULL);
	}
	if (p->ngroups) {
		buf_put(jb, "G", 1);
		for (i = 0; i < p->ngroups; i++) {
			snprintf(num, sizeof(num), "%s%u", i ? "," : "", p->groups[i]);
			buf_put(jb, num, strlen(num));
		}
		buf_put(jb, "", 1);
	}
	if (p->terminal)
		put_record(jb, JOB_TERMINAL, "1", NULL, NULL);
	for (i = 0; i < p->nrlimits; i++) {
		char soft[24], hard[24];

		snprintf(soft, sizeof(soft), "%llu", (unsigned long long)p->rlimits[i].soft);
		snprintf(hard, sizeof(hard), "%llu", (unsigned long long)p->rlimits[i].hard);
		put_record(jb, JOB_RLIMIT, p->rlimits[i].name, soft, hard);
	}
	if (p->hostname)
		put_record(jb, JOB_HOSTNAME, p->hostname, NULL, NULL);
}

int job_build_file(const struct vm_config *cfg, bool verbose, struct job_blob *out)
{
	struct job_buf jb = { { NULL, 0 }, 0, 0 };
	unsigned i;

	buf_put(&jb, MICROVM_JOB_MAGIC, strlen(MICROVM_JOB_MAGIC));
	for (i = 0; i < cfg->command.n; i++)
		put_record(&jb, JOB_ARG, cfg->command.v[i], NULL, NULL);
	for (i = 0; i < cfg->env.n; i++)
		put_record(&jb, JOB_ENV, cfg->env.v[i], NULL, NULL);
	if (cfg->workdir)
		put_record(&jb, JOB_WORKDIR, cfg->workdir, NULL, NULL);
	put_shares(&jb, cfg);
	put_process(&jb, &cfg->process);
	if (verbose)
		put_record(&jb, JOB_VERBOSE, "1", NULL, NULL);
	return job_finish(&jb, out);
}

/* newc header: magic and 13 eight-digit hex fields, then the name, padded to 4 bytes. */
static void cpio_entry(struct job_buf *jb, const char *name, unsigned mode, unsigned ino,
		       const void *data, size_t len)
{
	static const uint8_t zeros[4];
	size_t namesize = strlen(name) + 1;
	char hdr[111];

	snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ino, mode, 0U, 0U, 1U, 0U, (unsigned)len, 0U, 0U, 0U, 0U, (unsigned)namesize, 0U);
	buf_put(jb, hdr, 110);
	buf_put(jb, name, namesize);
	buf_put(jb, zeros, (4 - (110 + namesize) % 4) % 4);
	buf_put(jb, data, len);
	buf_put(jb, zeros, (4 - len % 4) % 4);
}

int job_build_cpio(const struct vm_config *cfg, bool verbose, struct job_blob *out)
{
	struct job_buf jb = { { NULL, 0 }, 0, 0 };
	struct job_blob file;
	int ret = job_build_file(cfg, verbose, &file);

	if (ret)
		return ret;
	/* "microvm" then "microvm/job": the kernel's unpacker creates no parent directories. */
	cpio_entry(&jb, "microvm", 040755, 1, NULL, 0);
	cpio_entry(&jb, MICROVM_JOB_PATH + 1, 0100400, 2, file.data, file.len);
	cpio_entry(&jb, "TRAILER!!!", 0, 0, NULL, 0);
	job_blob_free(&file);
	return job_finish(&jb, out);
}

void job_blob_free(struct job_blob *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}
