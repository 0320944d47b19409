/* job.c: strict parser of the job file microvm appends to the initrd (guest/protocol.h). */
#include "job.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "job_internal.h"
#include "protocol.h"

#define JOB_MAGIC_LEN (sizeof(MICROVM_JOB_MAGIC) - 1)

struct job_counts {
	size_t args, envs, mounts;
};

int job_fail(struct job *job, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(job->error, sizeof(job->error), fmt, ap);
	va_end(ap);
	return err;
}

/* First pass: every record must end in a NUL inside the file and carry a known tag. */
static int job_scan(struct job *job, const char *p, size_t len, struct job_counts *n)
{
	size_t off = JOB_MAGIC_LEN;

	while (off < len) {
		const char *nul = memchr(p + off, '\0', len - off);

		if (!nul)
			return job_fail(job, -EINVAL, "record at byte %zu has no NUL", off);
		switch (p[off]) {
		case JOB_ARG: n->args++; break;
		case JOB_ENV: n->envs++; break;
		case JOB_MOUNT: n->mounts++; break;
		case JOB_WORKDIR:
		case JOB_ROOT:
		case JOB_VERBOSE: break;
		default:
			if (job_is_process_tag(p[off]))
				break;
			return job_fail(job, -EINVAL, "unknown record tag 0x%02x at byte %zu",
					(unsigned char)p[off], off);
		}
		off = (size_t)(nul - p) + 1;
	}
	return 0;
}

/*
 * Split a share value "ro<TAB>TAG[<TAB>DIR]" in place. want_dir: a JOB_MOUNT (three
 * fields, DIR absolute) rather than the JOB_ROOT (two fields).
 */
static int job_share(struct job *job, char *value, bool want_dir, struct job_share *share)
{
	char *tag = strchr(value, '\t');
	char *dir;

	if (!tag)
		return job_fail(job, -EINVAL, "share '%s' has no TAB after ro/rw", value);
	*tag++ = '\0';
	if (strcmp(value, "ro") && strcmp(value, "rw"))
		return job_fail(job, -EINVAL, "share mode '%s' is neither ro nor rw", value);
	share->read_only = !strcmp(value, "ro");
	share->tag = tag;
	share->dir = NULL;
	dir = strchr(tag, '\t');
	if (dir)
		*dir++ = '\0';
	if (!*tag)
		return job_fail(job, -EINVAL, "share with an empty tag");
	if (!want_dir)
		return dir ? job_fail(job, -EINVAL, "root share '%s' has a third field", tag) : 0;
	if (!dir)
		return job_fail(job, -EINVAL, "share '%s' has no TAB before its directory", tag);
	if (dir[0] != '/' || strchr(dir, '\t'))
		return job_fail(job, -EINVAL, "share '%s': directory '%s' is not one absolute path",
				tag, dir);
	share->dir = dir;
	return 0;
}

static int job_env(struct job *job, char *value)
{
	char *eq = strchr(value, '=');

	if (!eq || eq == value)
		return job_fail(job, -EINVAL, "environment entry '%s' is not NAME=VALUE", value);
	job->env[job->nenv++] = value;
	return 0;
}

static int job_workdir(struct job *job, char *value)
{
	if (job->workdir)
		return job_fail(job, -EINVAL, "more than one working directory");
	if (value[0] != '/')
		return job_fail(job, -EINVAL, "working directory '%s' is not absolute", value);
	job->workdir = value;
	return 0;
}

static int job_root(struct job *job, char *value)
{
	if (job->has_root)
		return job_fail(job, -EINVAL, "more than one root share");
	job->has_root = true;
	return job_share(job, value, false, &job->root);
}

static int job_verbose(struct job *job, char *value)
{
	if (strcmp(value, "1") && strcmp(value, "0"))
		return job_fail(job, -EINVAL, "verbose value '%s' is neither 1 nor 0", value);
	job->verbose = value[0] == '1';
	return 0;
}

/* One record whose framing job_scan() already checked; value is NUL-terminated. */
static int job_record(struct job *job, char tag, char *value)
{
	switch (tag) {
	case JOB_ARG:
		job->argv[job->argc++] = value;
		return 0;
	case JOB_ENV:
		return job_env(job, value);
	case JOB_WORKDIR:
		return job_workdir(job, value);
	case JOB_MOUNT:
		return job_share(job, value, true, &job->mounts[job->nmounts++]);
	case JOB_ROOT:
		return job_root(job, value);
	case JOB_VERBOSE:
		return job_verbose(job, value);
	}
	return job_process_record(job, tag, value);
}

static int job_alloc(struct job *job, const char *data, size_t len, const struct job_counts *n)
{
	job->buf = malloc(len);
	job->argv = calloc(n->args + 1, sizeof(*job->argv));
	job->env = calloc(n->envs + 1, sizeof(*job->env));
	job->mounts = calloc(n->mounts + 1, sizeof(*job->mounts));
	if (!job->buf || !job->argv || !job->env || !job->mounts)
		return job_fail(job, -ENOMEM, "out of memory for a %zu-byte job", len);
	memcpy(job->buf, data, len);
	return 0;
}

static int job_fill(struct job *job, size_t len)
{
	size_t off = JOB_MAGIC_LEN;
	int err;

	while (off < len) {
		char *value = job->buf + off + 1;
		size_t vlen = strlen(value);

		err = job_record(job, job->buf[off], value);
		if (err)
			return err;
		off += vlen + 2;
	}
	if (job->argc == 0)
		return job_fail(job, -EINVAL, "the job has no command (no argv record)");
	if (!job->argv[0][0])
		return job_fail(job, -EINVAL, "the command name (argv[0]) is empty");
	return 0;
}

int job_parse(struct job *job, const char *data, size_t len)
{
	struct job_counts n = { 0 };
	int err;

	memset(job, 0, sizeof(*job));
	if (len > MICROVM_JOB_MAX_BYTES)
		return job_fail(job, -E2BIG, "job of %zu bytes is over the %u-byte limit", len,
				MICROVM_JOB_MAX_BYTES);
	if (len < JOB_MAGIC_LEN || memcmp(data, MICROVM_JOB_MAGIC, JOB_MAGIC_LEN))
		return job_fail(job, -EINVAL, "the job does not start with the magic");
	err = job_scan(job, data, len, &n);
	if (!err)
		err = job_alloc(job, data, len, &n);
	if (!err)
		err = job_fill(job, len);
	if (err) {
		char why[sizeof(job->error)];

		memcpy(why, job->error, sizeof(why));
		job_free(job);
		memcpy(job->error, why, sizeof(why));
	}
	return err;
}

static int job_read_all(int fd, char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t got = read(fd, buf + done, len - done);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return -EIO; /* shorter than fstat said: initramfs files do not shrink */
		done += (size_t)got;
	}
	return 0;
}

int job_load(struct job *job, const char *path)
{
	struct stat st;
	char *data;
	int fd, err;

	memset(job, 0, sizeof(*job));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return job_fail(job, err, "cannot read %s: %s", path, strerror(-err));
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > MICROVM_JOB_MAX_BYTES) {
		close(fd);
		return job_fail(job, -E2BIG, "%s is over the %u-byte limit", path,
				MICROVM_JOB_MAX_BYTES);
	}
	data = malloc((size_t)st.st_size + 1);
	err = data ? job_read_all(fd, data, (size_t)st.st_size) : -ENOMEM;
	close(fd);
	if (err)
		err = job_fail(job, err, "cannot read %s: %s", path, strerror(-err));
	else
		err = job_parse(job, data, (size_t)st.st_size);
	free(data);
	return err;
}

void job_free(struct job *job)
{
	job_process_free(job);
	free(job->buf);
	free(job->argv);
	free(job->env);
	free(job->mounts);
	memset(job, 0, sizeof(*job));
}
