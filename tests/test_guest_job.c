/* test_guest_job.c: guest init: the strict job parser, control lines, and running the command. */
#include <check.h>
#include "check_run.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../guest/control.h"
#include "../guest/init.h"
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

/* The OCI process records, exactly as the VMM writes them (tests/test_job.c). */
START_TEST(process_records_are_kept)
{
	struct job job;

	ck_assert_int_eq(parse(&job, JOB("a/bin/true\0u1000:100\0G10,20\0t1\0"
					 "lRLIMIT_NOFILE\t1024\t18446744073709551615\0hbox\0")), 0);
	ck_assert(job.user_set);
	ck_assert_uint_eq(job.uid, 1000);
	ck_assert_uint_eq(job.gid, 100);
	ck_assert(job.groups_set);
	ck_assert_uint_eq(job.ngroups, 2);
	ck_assert_uint_eq(job.groups[0], 10);
	ck_assert_uint_eq(job.groups[1], 20);
	ck_assert(job.terminal);
	ck_assert_uint_eq(job.nrlimits, 1);
	ck_assert_int_eq(job.rlimits[0].resource, RLIMIT_NOFILE);
	ck_assert_str_eq(job.rlimits[0].name, "RLIMIT_NOFILE");
	ck_assert_uint_eq(job.rlimits[0].soft, 1024);
	ck_assert(job.rlimits[0].hard == RLIM_INFINITY);
	ck_assert_str_eq(job.hostname, "box");
	job_free(&job);
	ck_assert_ptr_null(job.groups);
	/* Absent: root, no groups, no terminal, no limits, the kernel's hostname. */
	ck_assert_int_eq(parse(&job, JOB("ax\0")), 0);
	ck_assert(!job.user_set && !job.groups_set && !job.terminal);
	ck_assert_uint_eq(job.nrlimits, 0);
	ck_assert_ptr_null(job.hostname);
	job_free(&job);
}

START_TEST(process_record_edges)
{
	static const char *const names[] = { "AS", "CORE", "CPU", "DATA", "FSIZE", "LOCKS",
		"MEMLOCK", "MSGQUEUE", "NICE", "NOFILE", "NPROC", "RSS", "RTPRIO", "RTTIME",
		"SIGPENDING", "STACK" };
	char buf[1024], host[65];
	struct job job;
	size_t len;

	ck_assert_int_eq(parse(&job, JOB("u0:0\0G0\0t0\0ax\0")), 0);
	ck_assert(job.user_set && job.uid == 0 && job.gid == 0 && !job.terminal);
	ck_assert(job.ngroups == 1 && job.groups[0] == 0);
	job_free(&job);
	ck_assert_int_eq(parse(&job, JOB("u4294967294:4294967294\0G\0ax\0")), 0);
	ck_assert_uint_eq(job.uid, 4294967294U);
	ck_assert_uint_eq(job.gid, 4294967294U);
	ck_assert(job.groups_set && job.ngroups == 0 && !job.groups);
	job_free(&job);
	/* Every rlimit name once; a 64-byte hostname, the most sethostname() takes. */
	memset(host, 'h', 64);
	host[64] = '\0';
	len = (size_t)sprintf(buf, MICROVM_JOB_MAGIC "ax%ch%s", 0, host) + 1;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		len += (size_t)sprintf(buf + len, "lRLIMIT_%s\t%zu\t%zu", names[i], i, i + 1) + 1;
	ck_assert_int_eq(parse(&job, buf, len), 0);
	ck_assert_uint_eq(job.nrlimits, ARRAY_SIZE(names));
	ck_assert_int_eq(job.rlimits[9].resource, RLIMIT_NOFILE);
	ck_assert_uint_eq(job.rlimits[9].soft, 9);
	ck_assert_uint_eq(job.rlimits[9].hard, 10);
	ck_assert_int_eq(job.rlimits[15].resource, RLIMIT_STACK);
	ck_assert_str_eq(job.hostname, host);
	job_free(&job);
	ck_assert_int_eq(parse(&job, JOB("ax\0lRLIMIT_CORE\t0\t0\0"
					 "lRLIMIT_CPU\t18446744073709551615\t18446744073709551615\0")), 0);
	ck_assert(job.rlimits[0].hard == 0 && job.rlimits[1].soft == RLIM_INFINITY);
	job_free(&job);
}

START_TEST(bad_users_and_groups_are_refused)
{
	static const char *const users[] = { "1000", "1000:", ":100", "-1:0", "+1:0", " 1:2",
		"1:2 ", "1:2:3", "1000:100x", "4294967295:0", "0:4294967295",
		"99999999999999999999:0", "0x10:0", "" };
	static const char *const groups[] = { "10,", ",10", "10,,20", "a", "10 20", "-1",
		"4294967295", "10;20", "," };
	char buf[128];
	int n;

	for (size_t i = 0; i < ARRAY_SIZE(users); i++) {
		n = snprintf(buf, sizeof(buf), MICROVM_JOB_MAGIC "ax%cu%s", 0, users[i]);
		assert_refused(buf, (size_t)n + 1, -EINVAL, "is not UID:GID");
	}
	for (size_t i = 0; i < ARRAY_SIZE(groups); i++) {
		n = snprintf(buf, sizeof(buf), MICROVM_JOB_MAGIC "ax%cG%s", 0, groups[i]);
		assert_refused(buf, (size_t)n + 1, -EINVAL, "is not GID,GID");
	}
	assert_refused(JOB("ax\0u1:1\0u1:1\0"), -EINVAL, "more than one user");
	assert_refused(JOB("ax\0G1\0G\0"), -EINVAL, "more than one group list");
	assert_refused(JOB("ax\0t2\0"), -EINVAL, "terminal value '2'");
	assert_refused(JOB("ax\0t\0"), -EINVAL, "terminal value ''");
	assert_refused(JOB("ax\0tyes\0"), -EINVAL, "terminal");
}

START_TEST(bad_rlimits_and_hostnames_are_refused)
{
	assert_refused(JOB("ax\0lRLIMIT_FOO\t1\t1\0"), -EINVAL, "unknown rlimit 'RLIMIT_FOO'");
	assert_refused(JOB("ax\0lNOFILE\t1\t1\0"), -EINVAL, "unknown rlimit 'NOFILE'");
	assert_refused(JOB("ax\0lrlimit_nofile\t1\t1\0"), -EINVAL, "unknown rlimit");
	assert_refused(JOB("ax\0lRLIMIT_NOFILE 1 1\0"), -EINVAL, "no TAB after its name");
	assert_refused(JOB("ax\0lRLIMIT_NOFILE\t10\0"), -EINVAL, "not SOFT<TAB>HARD");
	assert_refused(JOB("ax\0lRLIMIT_NOFILE\t10\t\0"), -EINVAL, "not SOFT<TAB>HARD");
	assert_refused(JOB("ax\0lRLIMIT_NOFILE\t\t10\0"), -EINVAL, "not SOFT<TAB>HARD");
	assert_refused(JOB("ax\0lRLIMIT_NOFILE\t1\t2\t3\0"), -EINVAL, "not SOFT<TAB>HARD");
	assert_refused(JOB("ax\0lRLIMIT_NOFILE\t-1\t2\0"), -EINVAL, "not SOFT<TAB>HARD");
	assert_refused(JOB("ax\0lRLIMIT_NOFILE\t1\t18446744073709551616\0"), -EINVAL,
		       "not SOFT<TAB>HARD");
	assert_refused(JOB("ax\0lRLIMIT_NOFILE\t20\t10\0"), -EINVAL, "soft limit above");
	assert_refused(JOB("ax\0lRLIMIT_NOFILE\t18446744073709551615\t10\0"), -EINVAL,
		       "soft limit above");
	assert_refused(JOB("ax\0lRLIMIT_NOFILE\t1\t1\0lRLIMIT_NOFILE\t2\t2\0"), -EINVAL,
		       "RLIMIT_NOFILE given twice");
	assert_refused(JOB("ax\0h\0"), -EINVAL, "hostname of 0 bytes");
	assert_refused(JOB("ax\0h0123456789012345678901234567890123456789012345678901234567890"
			   "1234\0"), -EINVAL, "hostname of 65 bytes");
	assert_refused(JOB("ax\0ha\0hb\0"), -EINVAL, "more than one hostname");
}

/* Control lines (guest/protocol.h), parsed alone. */
static enum ctl_kind ctl(const char *line, struct ctl_msg *m)
{
	return ctl_parse(line, strlen(line), m);
}

START_TEST(control_lines_parse)
{
	static const char *const ignored[] = { "signal", "signal ", "signal 0", "signal 65",
		"signal -1", "signal +2", "signal  15", "signal 15 ", "signal 1x", "signal15",
		"signals 15", "SIGNAL 15", "winsize", "winsize 50", "winsize 50 ", "winsize 50 x",
		"winsize 65536 1", "winsize 1 65536", "winsize 1 2 3", "winsize -1 2", "hello",
		"", "signal 99999999999999999999" };
	struct ctl_msg m;

	ck_assert_int_eq(ctl("signal 15", &m), CTL_SIGNAL);
	ck_assert_int_eq(m.signal, 15);
	ck_assert_int_eq(ctl("signal 64", &m), CTL_SIGNAL);
	ck_assert_int_eq(m.signal, 64);
	ck_assert_int_eq(ctl("signal 1", &m), CTL_SIGNAL);
	ck_assert_int_eq(ctl("winsize 50 132", &m), CTL_WINSIZE);
	ck_assert_uint_eq(m.rows, 50);
	ck_assert_uint_eq(m.cols, 132);
	ck_assert_int_eq(ctl("winsize 65535 0", &m), CTL_WINSIZE);
	ck_assert_uint_eq(m.rows, 65535);
	ck_assert_uint_eq(m.cols, 0);
	for (size_t i = 0; i < ARRAY_SIZE(ignored); i++)
		ck_assert_msg(ctl(ignored[i], &m) == CTL_IGNORED, "'%s' is ignored", ignored[i]);
	ck_assert_int_eq(ctl_parse("signal 1\0", 9, &m), CTL_IGNORED);
	ck_assert_int_eq(ctl_parse("signal 12", 8, &m), CTL_SIGNAL); /* the length bounds it */
	ck_assert_int_eq(m.signal, 1);
}

struct ctl_seen {
	struct ctl_msg msg[8];
	char blob[8][32]; /* a CTL_EXEC's bytes, copied: msg.data is valid during the call */
	size_t n;
};

static void ctl_collect(void *ctx, const struct ctl_msg *msg)
{
	struct ctl_seen *seen = ctx;

	ck_assert_uint_lt(seen->n, ARRAY_SIZE(seen->msg));
	if (msg->kind == CTL_EXEC) {
		ck_assert_uint_le(msg->len, sizeof(seen->blob[0]));
		memcpy(seen->blob[seen->n], msg->data, msg->len);
	}
	seen->msg[seen->n++] = *msg;
}

START_TEST(control_exec_and_kill_lines)
{
	static const char *const ignored[] = { "exec 1 0", "exec 0 5", "exec 1 65537",
		"exec 1", "exec 2147483648 1", "exec 4294967297 1", "kill 1 0", "kill 0 9",
		"kill 1 65", "kill 1 9 9", "exec 99999999999 1", "exec 1 5 24", "exec 1 5 24 80 1",
		"exec 1 5 65536 80", "exec 1 5 24 x", "exec 1 5  24 80", "resize 1 24",
		"resize 0 24 80", "resize 1 24 80 1", "resize 1 -1 80", "resize 2147483648 1 1" };
	static const char stream[] = "signal 2\nexec 7 5\nab\ncdkill 7 9\nexec 8 3\n\0\n\0";
	struct ctl_reader r = { .len = 0 };
	struct ctl_seen seen = { .n = 0 };
	struct ctl_msg m;

	ck_assert_int_eq(ctl("exec 2147483647 65536", &m), CTL_EXEC);
	ck_assert_uint_eq(m.serial, 2147483647U);
	ck_assert_uint_eq(m.len, 65536);
	ck_assert_uint_eq(m.rows, 0); /* no size given */
	ck_assert_int_eq(ctl("exec 4 9 33 101", &m), CTL_EXEC);
	ck_assert_uint_eq(m.serial, 4);
	ck_assert_uint_eq(m.len, 9);
	ck_assert_uint_eq(m.rows, 33);
	ck_assert_uint_eq(m.cols, 101);
	ck_assert_int_eq(ctl("kill 3 15", &m), CTL_KILL);
	ck_assert_uint_eq(m.serial, 3);
	ck_assert_int_eq(m.signal, 15);
	ck_assert_int_eq(ctl("resize 3 65535 0", &m), CTL_RESIZE);
	ck_assert_uint_eq(m.serial, 3);
	ck_assert_uint_eq(m.rows, 65535);
	ck_assert_uint_eq(m.cols, 0);
	for (size_t i = 0; i < ARRAY_SIZE(ignored); i++)
		ck_assert_msg(ctl(ignored[i], &m) == CTL_IGNORED, "'%s' is ignored", ignored[i]);
	/* Byte by byte: a blob holds newlines and NULs and is not read as lines. */
	for (size_t i = 0; i < sizeof(stream) - 1; i++)
		ctl_feed(&r, stream + i, 1, ctl_collect, &seen);
	ck_assert_uint_eq(seen.n, 4);
	ck_assert_int_eq(seen.msg[0].kind, CTL_SIGNAL);
	ck_assert_int_eq(seen.msg[1].kind, CTL_EXEC);
	ck_assert_uint_eq(seen.msg[1].serial, 7);
	ck_assert_uint_eq(seen.msg[1].len, 5);
	ck_assert_mem_eq(seen.blob[1], "ab\ncd", 5);
	ck_assert_int_eq(seen.msg[2].kind, CTL_KILL);
	ck_assert_int_eq(seen.msg[3].kind, CTL_EXEC);
	ck_assert_mem_eq(seen.blob[3], "\0\n\0", 3);
	/* A terminal's size in the exec line comes with its blob. */
	ctl_feed(&r, "exec 6 2 40 120\nok", 18, ctl_collect, &seen);
	ck_assert_uint_eq(seen.n, 5);
	ck_assert_uint_eq(seen.msg[4].rows, 40);
	ck_assert_uint_eq(seen.msg[4].cols, 120);
	ck_assert_mem_eq(seen.blob[4], "ok", 2);
	seen.n = 4;
	/* A blob cut short by the end of input is freed by ctl_reader_free. */
	ctl_feed(&r, "exec 9 10\nabc", 13, ctl_collect, &seen);
	ck_assert_uint_eq(seen.n, 4);
	ck_assert_ptr_nonnull(r.blob);
	ctl_reader_free(&r);
	ck_assert_ptr_null(r.blob);
}
END_TEST

START_TEST(control_lines_reassemble)
{
	struct ctl_reader r = { .len = 0 };
	struct ctl_seen seen = { .n = 0 };
	char longline[200];

	ctl_feed(&r, "sig", 3, ctl_collect, &seen);
	ck_assert_uint_eq(seen.n, 0);
	ctl_feed(&r, "nal 2\nwinsize 3 4\nbogus\nsignal 9", 32, ctl_collect, &seen);
	ck_assert_uint_eq(seen.n, 2); /* "signal 9" waits for its newline */
	ck_assert_int_eq(seen.msg[0].signal, 2);
	ck_assert_uint_eq(seen.msg[1].cols, 4);
	ctl_feed(&r, "\n", 1, ctl_collect, &seen);
	ck_assert_uint_eq(seen.n, 3);
	ck_assert_int_eq(seen.msg[2].signal, 9);
	/* A line over the maximum is dropped whole, even if it ends like a good one. */
	memset(longline, ' ', sizeof(longline));
	memcpy(longline + sizeof(longline) - 10, "signal 3\n", 9);
	ctl_feed(&r, longline, sizeof(longline) - 1, ctl_collect, &seen);
	ck_assert_uint_eq(seen.n, 3);
	ctl_feed(&r, "signal 4\n", 9, ctl_collect, &seen);
	ck_assert_uint_eq(seen.n, 4);
	ck_assert_int_eq(seen.msg[3].signal, 4);
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

/*
 * command_run() as init runs it, on the host: stdin a pipe, stdout and stderr files, the
 * control port a pipe. The test process is a child subreaper, so orphans come to it as
 * they come to PID 1 in the guest.
 */
struct run {
	struct init in;
	int in_w, ctl_w; /* the write ends of the stdin and control pipes */
	int wstatus;
	long long ms;
};

static int tmp_fd(void)
{
	char path[] = "/tmp/test_guest_cmd.XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	return fd;
}

static void run_prepare(struct run *r, const char *data, size_t len)
{
	int p[2];

	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	memset(r, 0, sizeof(*r));
	r->in.console = -1;
	ck_assert_int_eq(parse(&r->in.job, data, len), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	r->in.stdio[0] = p[0];
	r->in_w = p[1];
	r->in.stdio[1] = tmp_fd();
	r->in.stdio[2] = tmp_fd();
	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0); /* as stdio.c opens the port */
	r->in.control = p[0];
	r->ctl_w = p[1];
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void run_go(struct run *r)
{
	long long t0 = mono_ms();

	ck_assert_int_eq(command_run(&r->in, &r->wstatus), 0);
	r->ms = mono_ms() - t0;
}

static void run_free(struct run *r)
{
	for (int i = 0; i < 3; i++)
		close(r->in.stdio[i]);
	if (r->in.control >= 0)
		close(r->in.control);
	close(r->ctl_w);
	close(r->in_w);
	job_free(&r->in.job);
}

/* What the command wrote on fd (1 or 2), NUL-terminated; the caller frees it. */
static char *run_output(const struct run *r, int fd)
{
	static char buf[256 * 1024];
	ssize_t n = pread(r->in.stdio[fd], buf, sizeof(buf) - 1, 0);

	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}

static bool run_exited(const struct run *r, int status)
{
	return WIFEXITED(r->wstatus) && WEXITSTATUS(r->wstatus) == status;
}

/*
 * A helper process that waits until the command's stdout holds marker, then writes line
 * on the control pipe or sends sig to the test process (which is "init").
 */
static void run_when(struct run *r, const char *marker, const char *line, int sig)
{
	pid_t init_pid = getpid();
	char buf[4096];

	if (fork() != 0)
		return;
	for (int i = 0; i < 2000; i++) {
		ssize_t n = pread(r->in.stdio[1], buf, sizeof(buf) - 1, 0);

		buf[n > 0 ? n : 0] = '\0';
		if (strstr(buf, marker)) {
			if (line && write(r->ctl_w, line, strlen(line)) < 0)
				_exit(1);
			if (sig)
				kill(init_pid, sig);
			_exit(0);
		}
		usleep(10000);
	}
	_exit(1);
}

/* The pid a command printed after "tag ", or -1. */
static pid_t run_pid(const char *out, const char *tag)
{
	const char *p = strstr(out, tag);

	return p ? (pid_t)atoi(p + strlen(tag)) : -1;
}

START_TEST(command_status_and_stdio)
{
	struct run r;

	run_prepare(&r, JOB("a/bin/sh\0a-c\0aecho out; echo err >&2; read x; echo \"in:$x\"; "
			    "exit 3\0"));
	ck_assert_int_eq(write(r.in_w, "line\n", 5), 5);
	run_go(&r);
	ck_assert(run_exited(&r, 3));
	ck_assert_str_eq(run_output(&r, 1), "out\nin:line\n");
	ck_assert_str_eq(run_output(&r, 2), "err\n");
	run_free(&r);
	run_prepare(&r, JOB("ano-such-command-here\0"));
	run_go(&r);
	ck_assert(run_exited(&r, 127));
	ck_assert_ptr_nonnull(strstr(run_output(&r, 2), "command not found"));
	run_free(&r);
}

/* The e2e signal case in small: "signal 15" on the control port reaches a trapping shell. */
START_TEST(command_control_signal)
{
	struct run r;
	pid_t bg;

	run_prepare(&r, JOB("a/bin/sh\0a-c\0atrap 'echo got-term; exit 7' TERM; sleep 20 & "
			    "echo \"bg $!\"; echo ready; wait\0"));
	run_when(&r, "ready", "winsize 1 2\nbogus\nsignal 15\n", 0);
	run_go(&r);
	ck_assert_msg(run_exited(&r, 7), "status 0x%x", r.wstatus);
	ck_assert_ptr_nonnull(strstr(run_output(&r, 1), "got-term"));
	/* No terminal: the command alone got it; its background child still runs. */
	bg = run_pid(run_output(&r, 1), "bg ");
	ck_assert_int_gt(bg, 0);
	ck_assert_int_eq(kill(bg, 0), 0);
	kill(bg, SIGKILL);
	run_free(&r);
}

/* A signal sent to init itself goes to the command, as before the control port existed. */
START_TEST(command_init_signal_forwarded)
{
	struct run r;

	run_prepare(&r, JOB("a/bin/sh\0a-c\0atrap 'echo got-int; exit 9' INT; echo ready; "
			    "while :; do sleep 1; done\0"));
	run_when(&r, "ready", NULL, SIGINT);
	run_go(&r);
	ck_assert_msg(run_exited(&r, 9), "status 0x%x", r.wstatus);
	ck_assert_ptr_nonnull(strstr(run_output(&r, 1), "got-int"));
	run_free(&r);
}

/* A signal that arrives before the command exists is delivered as soon as it does. */
START_TEST(command_early_signal)
{
	struct run r;

	run_prepare(&r, JOB("a/bin/sleep\0a20\0"));
	ck_assert_int_eq(write(r.ctl_w, "signal 15\n", 10), 10);
	run_go(&r);
	ck_assert(WIFSIGNALED(r.wstatus) && WTERMSIG(r.wstatus) == SIGTERM);
	ck_assert_int_lt(r.ms, 10000);
	run_free(&r);
}

/* init reports when the command exits, not when its orphans do. */
START_TEST(command_orphans_not_awaited)
{
	static const char job_pipe[] = MICROVM_JOB_MAGIC "a/bin/sh\0a-c\0asleep 30 & "
				       "echo \"bg $!\"; echo parent-done\0";
	static const char job_tty[] = MICROVM_JOB_MAGIC "t1\0a/bin/sh\0a-c\0asleep 30 & "
				      "echo \"bg $!\"; echo parent-done\0";
	struct run r;

	for (int tty = 0; tty < 2; tty++) {
		run_prepare(&r, tty ? job_tty : job_pipe, tty ? sizeof(job_tty) - 1 :
								sizeof(job_pipe) - 1);
		run_go(&r);
		ck_assert(run_exited(&r, 0));
		ck_assert_ptr_nonnull(strstr(run_output(&r, 1), "parent-done"));
		ck_assert_int_lt(r.ms, 10000);
		kill(run_pid(run_output(&r, 1), "bg "), SIGKILL);
		run_free(&r);
	}
}

START_TEST(command_terminal)
{
	struct run r;
	char *out;

	run_prepare(&r, JOB("t1\0a/bin/sh\0a-c\0atty; stty size; read x; echo \"got:$x\"; "
			    "exit 4\0"));
	/* The size the host sent first; stdin's end is no end for a terminal. */
	ck_assert_int_eq(write(r.ctl_w, "winsize 50 132\n", 15), 15);
	ck_assert_int_eq(write(r.in_w, "hello\n", 6), 6);
	close(r.in_w);
	r.in_w = open("/dev/null", O_RDONLY | O_CLOEXEC);
	run_go(&r);
	ck_assert(run_exited(&r, 4));
	out = run_output(&r, 1);
	/* The terminal echoes "hello" when it arrives, maybe before the command runs. */
	ck_assert_msg(strstr(out, "/dev/pts/"), "output: %s", out);
	ck_assert_msg(strstr(out, "\n50 132\r\n"), "output: %s", out);
	ck_assert_msg(strstr(out, "hello\r\n"), "output: %s", out);
	ck_assert_msg(strstr(out, "got:hello\r\n"), "output: %s", out);
	ck_assert_str_eq(run_output(&r, 2), "");
	run_free(&r);
	/* No size from the host: 24x80. */
	run_prepare(&r, JOB("t1\0a/bin/sh\0a-c\0astty size\0"));
	run_go(&r);
	ck_assert_str_eq(run_output(&r, 1), "24 80\r\n");
	run_free(&r);
}

/* A slow reader of the stdout "port": copies what comes from fd to file, then exits. */
static pid_t slow_reader(int fd, int file)
{
	char buf[1024];
	pid_t pid = fork();
	ssize_t n;

	ck_assert_int_ge(pid, 0);
	if (pid > 0)
		return pid;
	usleep(200000);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (write(file, buf, (size_t)n) != n)
			_exit(1);
		usleep(1000);
	}
	_exit(0);
}

/*
 * Output still in the terminal when the command exits is all relayed before the status:
 * the host reads slowly, so much of it is still in the pty when the command is gone.
 */
START_TEST(command_terminal_drain)
{
	struct run r;
	int p[2], file;
	size_t xs = 0;
	char *out;

	run_prepare(&r, JOB("t1\0a/bin/sh\0a-c\0ahead -c 100000 /dev/zero | tr '\\0' x; "
			    "echo; echo end\0"));
	file = r.in.stdio[1];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(fcntl(p[1], F_SETPIPE_SZ, 4096), 4096);
	r.in.stdio[1] = p[1];
	slow_reader(p[0], file);
	close(p[0]);
	run_go(&r);
	ck_assert(run_exited(&r, 0));
	close(r.in.stdio[1]);
	r.in.stdio[1] = file;
	/* command_run reaped the reader if it was done; else wait for it here. */
	for (int i = 0; i < 1000 && !strstr(run_output(&r, 1), "end\r\n"); i++)
		usleep(10000);
	out = run_output(&r, 1);
	for (char *c = out; *c; c++)
		xs += *c == 'x';
	ck_assert_uint_eq(xs, 100000);
	ck_assert_ptr_nonnull(strstr(out, "\r\nend\r\n"));
	run_free(&r);
}

/* With a terminal, a host signal goes to the command's process group. */
START_TEST(command_terminal_signal_group)
{
	struct run r;
	pid_t bg;

	run_prepare(&r, JOB("t1\0a/bin/sh\0a-c\0atrap 'echo got-hup; exit 5' HUP; sleep 20 & "
			    "echo \"bg $!\"; echo ready; wait\0"));
	run_when(&r, "ready", "signal 1\n", 0);
	run_go(&r);
	ck_assert_msg(run_exited(&r, 5), "status 0x%x", r.wstatus);
	bg = run_pid(run_output(&r, 1), "bg ");
	ck_assert_int_gt(bg, 0);
	/* The background sleep got SIGHUP too: it is a zombie or gone (we are its reaper). */
	ck_assert_int_eq(waitpid(bg, &r.wstatus, 0) == bg || errno == ECHILD, 1);
	run_free(&r);
}

/* User, groups and limits, in the command only (root needed to switch users). */
START_TEST(command_identity_and_limits)
{
	struct run r;

	if (geteuid() != 0)
		return; /* setgroups/setuid need root: nothing to check as a user */
	run_prepare(&r, JOB("u65534:65533\0G5,6\0lRLIMIT_NOFILE\t64\t128\0"
			    "a/bin/sh\0a-c\0aid -u; id -g; id -G; ulimit -n; ulimit -Hn\0"));
	run_go(&r);
	ck_assert(run_exited(&r, 0));
	ck_assert_str_eq(run_output(&r, 1), "65534\n65533\n65533 5 6\n64\n128\n");
	run_free(&r);
	/* A user and no group list: no supplementary group of root's stays. */
	run_prepare(&r, JOB("u1:1\0a/bin/sh\0a-c\0aid -G\0"));
	run_go(&r);
	ck_assert_str_eq(run_output(&r, 1), "1\n");
	run_free(&r);
	/* A limit the kernel refuses: not run, status 126, and why. */
	run_prepare(&r, JOB("lRLIMIT_NOFILE\t4294967296\t4294967296\0a/bin/true\0"));
	run_go(&r);
	ck_assert(run_exited(&r, 126));
	ck_assert_ptr_nonnull(strstr(run_output(&r, 2), "cannot set RLIMIT_NOFILE to 4294967296"));
	run_free(&r);
}

START_TEST(hostname_is_set)
{
	struct init in = { .console = -1, .stdio = { -1, -1, -1 }, .control = -1 };
	struct utsname u;

	if (unshare(CLONE_NEWUTS) < 0)
		return; /* not root: the host's name must not change, so nothing to check */
	ck_assert_int_eq(parse(&in.job, JOB("hmicrovm-test\0ax\0")), 0);
	ck_assert_int_eq(creds_hostname(&in), 0);
	ck_assert_int_eq(uname(&u), 0);
	ck_assert_str_eq(u.nodename, "microvm-test");
	job_free(&in.job);
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
	tcase_add_test(tc, process_records_are_kept);
	tcase_add_test(tc, process_record_edges);
	tcase_add_test(tc, bad_users_and_groups_are_refused);
	tcase_add_test(tc, bad_rlimits_and_hostnames_are_refused);
	suite_add_tcase(s, tc);
	tc = tcase_create("control");
	tcase_add_test(tc, control_lines_parse);
	tcase_add_test(tc, control_exec_and_kill_lines);
	tcase_add_test(tc, control_lines_reassemble);
	suite_add_tcase(s, tc);
	tc = tcase_create("command");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, command_status_and_stdio);
	tcase_add_test(tc, command_control_signal);
	tcase_add_test(tc, command_init_signal_forwarded);
	tcase_add_test(tc, command_early_signal);
	tcase_add_test(tc, command_orphans_not_awaited);
	tcase_add_test(tc, command_terminal);
	tcase_add_test(tc, command_terminal_drain);
	tcase_add_test(tc, command_terminal_signal_group);
	tcase_add_test(tc, command_identity_and_limits);
	tcase_add_test(tc, hostname_is_set);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(job_suite());
}
