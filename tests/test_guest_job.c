/* test_guest_job.c: the guest init's strict job-file parser, good jobs and malformed ones. */
#include <check.h>
#include "check_run.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../guest/job.h"
#include "../guest/protocol.h"

/* A job literal with its embedded NULs: the length excludes only the literal's own NUL. */
#define JOB(s) MICROVM_JOB_MAGIC s, sizeof(MICROVM_JOB_MAGIC s) - 1

static int parse(struct job *job, const char *data, size_t len)
{
	int err = job_parse(job, data, len);

	if (err)
		ck_assert_msg(job->error[0], "a refused job says why");
	return err;
}

/* A refused job leaves nothing behind, and job_free() on it is harmless. */
static void assert_refused(const char *data, size_t len, int expect, const char *why)
{
	struct job job;

	ck_assert_int_eq(parse(&job, data, len), expect);
	ck_assert_ptr_nonnull(strstr(job.error, why));
	ck_assert_ptr_null(job.buf);
	ck_assert_ptr_null(job.argv);
	job_free(&job);
}

START_TEST(full_job_keeps_every_record)
{
	struct job job;

	ck_assert_int_eq(parse(&job, JOB("a/bin/echo\0ahello world\0a\0eA=1\0eB=x=y\0"
					 "w/work\0mro\tdata\t/mnt/data\0mrw\tscratch\t/scratch\0"
					 "rro\trootfs\0v1\0")), 0);
	ck_assert_uint_eq(job.argc, 3);
	ck_assert_str_eq(job.argv[0], "/bin/echo");
	ck_assert_str_eq(job.argv[1], "hello world");
	ck_assert_str_eq(job.argv[2], ""); /* empty later words are real arguments */
	ck_assert_ptr_null(job.argv[3]);
	ck_assert_uint_eq(job.nenv, 2);
	ck_assert_str_eq(job.env[0], "A=1");
	ck_assert_str_eq(job.env[1], "B=x=y");
	ck_assert_ptr_null(job.env[2]);
	ck_assert_str_eq(job.workdir, "/work");
	ck_assert_uint_eq(job.nmounts, 2);
	ck_assert(job.mounts[0].read_only);
	ck_assert_str_eq(job.mounts[0].tag, "data");
	ck_assert_str_eq(job.mounts[0].dir, "/mnt/data");
	ck_assert(!job.mounts[1].read_only);
	ck_assert_str_eq(job.mounts[1].tag, "scratch");
	ck_assert_str_eq(job.mounts[1].dir, "/scratch");
	ck_assert(job.has_root);
	ck_assert(job.root.read_only);
	ck_assert_str_eq(job.root.tag, "rootfs");
	ck_assert_ptr_null(job.root.dir);
	ck_assert(job.verbose);
	job_free(&job);
	ck_assert_ptr_null(job.buf);
}

START_TEST(minimal_job_has_defaults)
{
	struct job job;

	ck_assert_int_eq(parse(&job, JOB("atrue\0")), 0);
	ck_assert_uint_eq(job.argc, 1);
	ck_assert_str_eq(job.argv[0], "true");
	ck_assert_uint_eq(job.nenv, 0);
	ck_assert_ptr_null(job.env[0]);
	ck_assert_ptr_null(job.workdir);
	ck_assert_uint_eq(job.nmounts, 0);
	ck_assert(!job.has_root);
	ck_assert(!job.verbose);
	job_free(&job);
}

START_TEST(each_record_kind_alone)
{
	struct job job;

	ck_assert_int_eq(parse(&job, JOB("eX=\0ax\0")), 0);
	ck_assert_str_eq(job.env[0], "X=");
	job_free(&job);
	ck_assert_int_eq(parse(&job, JOB("w/\0ax\0")), 0);
	ck_assert_str_eq(job.workdir, "/");
	job_free(&job);
	ck_assert_int_eq(parse(&job, JOB("mrw\tt\t/a b\0ax\0")), 0);
	ck_assert(!job.mounts[0].read_only);
	ck_assert_str_eq(job.mounts[0].dir, "/a b");
	job_free(&job);
	ck_assert_int_eq(parse(&job, JOB("rrw\troot\0ax\0")), 0);
	ck_assert(job.has_root && !job.root.read_only);
	job_free(&job);
	ck_assert_int_eq(parse(&job, JOB("v0\0ax\0")), 0);
	ck_assert(!job.verbose);
	job_free(&job);
}

START_TEST(missing_nul_is_refused)
{
	assert_refused(JOB("atrue\0ahello"), -EINVAL, "no NUL");
	assert_refused(JOB("atrue\0a"), -EINVAL, "no NUL");
	assert_refused(JOB("a"), -EINVAL, "no NUL");
}

START_TEST(bad_magic_is_refused)
{
	static const char wrong[] = "MICROVM-JOB 2\natrue\0";
	static const char no_newline[] = "MICROVM-JOB 1 atrue\0";

	assert_refused(wrong, sizeof(wrong) - 1, -EINVAL, "magic");
	assert_refused(no_newline, sizeof(no_newline) - 1, -EINVAL, "magic");
	assert_refused("MICROVM", 7, -EINVAL, "magic");
	assert_refused("", 0, -EINVAL, "magic");
}

START_TEST(empty_argv_is_refused)
{
	assert_refused(JOB(""), -EINVAL, "no command");
	assert_refused(JOB("eA=1\0w/tmp\0"), -EINVAL, "no command");
	assert_refused(JOB("a\0ax\0"), -EINVAL, "argv[0]");
}

START_TEST(too_large_is_refused)
{
	size_t len = MICROVM_JOB_MAX_BYTES + 1;
	char *big = malloc(len);
	struct job job;

	ck_assert_ptr_nonnull(big);
	memset(big, 'x', len);
	memcpy(big, MICROVM_JOB_MAGIC, sizeof(MICROVM_JOB_MAGIC) - 1);
	assert_refused(big, len, -E2BIG, "limit");
	/* Exactly at the limit is fine: one long argument. */
	memcpy(big, MICROVM_JOB_MAGIC, sizeof(MICROVM_JOB_MAGIC) - 1);
	big[sizeof(MICROVM_JOB_MAGIC) - 1] = JOB_ARG;
	big[len - 2] = '\0';
	ck_assert_int_eq(parse(&job, big, len - 1), 0);
	ck_assert_uint_eq(strlen(job.argv[0]), len - 1 - sizeof(MICROVM_JOB_MAGIC) - 1);
	job_free(&job);
	free(big);
}

START_TEST(malformed_mounts_are_refused)
{
	assert_refused(JOB("ax\0mrotag/dir\0"), -EINVAL, "no TAB");
	assert_refused(JOB("ax\0mro\ttag\0"), -EINVAL, "no TAB before its directory");
	assert_refused(JOB("ax\0mro\ttag\trel/dir\0"), -EINVAL, "not one absolute path");
	assert_refused(JOB("ax\0mro\ttag\t/a\tb\0"), -EINVAL, "not one absolute path");
	assert_refused(JOB("ax\0mrx\ttag\t/dir\0"), -EINVAL, "neither ro nor rw");
	assert_refused(JOB("ax\0mro\t\t/dir\0"), -EINVAL, "empty tag");
}

START_TEST(root_share_is_checked)
{
	assert_refused(JOB("ax\0rro\tone\0rro\ttwo\0"), -EINVAL, "more than one root");
	assert_refused(JOB("ax\0rro\troot\t/x\0"), -EINVAL, "third field");
	assert_refused(JOB("ax\0rro\0"), -EINVAL, "no TAB");
	assert_refused(JOB("ax\0r\troot\0"), -EINVAL, "neither ro nor rw");
}

START_TEST(other_bad_records_are_refused)
{
	assert_refused(JOB("ax\0zwhat\0"), -EINVAL, "unknown record tag 0x7a");
	assert_refused(JOB("ax\0\0"), -EINVAL, "unknown record tag 0x00");
	assert_refused(JOB("ax\0eNOEQUALS\0"), -EINVAL, "NAME=VALUE");
	assert_refused(JOB("ax\0e=v\0"), -EINVAL, "NAME=VALUE");
	assert_refused(JOB("ax\0w/a\0w/b\0"), -EINVAL, "more than one working");
	assert_refused(JOB("ax\0wrelative\0"), -EINVAL, "not absolute");
	assert_refused(JOB("ax\0v2\0"), -EINVAL, "verbose");
	assert_refused(JOB("ax\0v\0"), -EINVAL, "verbose");
}

/* job_load: the file as init reads it from the initramfs. */
static char *write_temp(const char *data, size_t len, off_t extend)
{
	char *path = strdup("/tmp/test_guest_job.XXXXXX");
	int fd;

	ck_assert_ptr_nonnull(path);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	if (extend)
		ck_assert_int_eq(ftruncate(fd, extend), 0);
	close(fd);
	return path;
}

START_TEST(load_reads_the_file)
{
	char *path = write_temp(JOB("a/bin/sh\0a-c\0aexit 3\0"), 0);
	struct job job;

	ck_assert_int_eq(job_load(&job, path), 0);
	ck_assert_uint_eq(job.argc, 3);
	ck_assert_str_eq(job.argv[2], "exit 3");
	job_free(&job);
	unlink(path);
	free(path);
}

START_TEST(load_refuses_missing_and_huge_files)
{
	char *path = write_temp(JOB("ax\0"), MICROVM_JOB_MAX_BYTES + 1);
	struct job job;

	ck_assert_int_eq(job_load(&job, path), -E2BIG);
	ck_assert_ptr_nonnull(strstr(job.error, "limit"));
	unlink(path);
	ck_assert_int_eq(job_load(&job, path), -ENOENT);
	ck_assert_ptr_nonnull(strstr(job.error, path));
	free(path);
}

static Suite *job_suite(void)
{
	Suite *s = suite_create("guest_job");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, full_job_keeps_every_record);
	tcase_add_test(tc, minimal_job_has_defaults);
	tcase_add_test(tc, each_record_kind_alone);
	tcase_add_test(tc, missing_nul_is_refused);
	tcase_add_test(tc, bad_magic_is_refused);
	tcase_add_test(tc, empty_argv_is_refused);
	tcase_add_test(tc, too_large_is_refused);
	tcase_add_test(tc, malformed_mounts_are_refused);
	tcase_add_test(tc, root_share_is_checked);
	tcase_add_test(tc, other_bad_records_are_refused);
	tcase_add_test(tc, load_reads_the_file);
	tcase_add_test(tc, load_refuses_missing_and_huge_files);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(job_suite());
}
