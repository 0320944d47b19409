/* test_oci_exec_wire.c: exec requests (process.json -> job blob, fds over SCM_RIGHTS) and status replies. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "check_run.h"
#include "guest/protocol.h"
#include "oci/exec_wire.h"

static const char process_json[] =
	"{\"terminal\": true, \"user\": {\"uid\": 1000, \"gid\": 100, "
	"\"additionalGids\": [5, 6]}, \"args\": [\"sh\", \"-c\", \"echo hi\"], "
	"\"env\": [\"PATH=/bin\", \"A=b c\"], \"cwd\": \"/work\", "
	"\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 512}]}";

static void parse_process(struct oci_spec *p)
{
	char err[OCI_ERR_MAX];

	ck_assert_int_eq(oci_process_parse(process_json, strlen(process_json), p, err,
					   sizeof(err)), 0);
}

START_TEST(process_json_parsed)
{
	struct oci_spec p;

	parse_process(&p);
	ck_assert_uint_eq(p.args.n, 3);
	ck_assert_str_eq(p.args.v[2], "echo hi");
	ck_assert_uint_eq(p.env.n, 2);
	ck_assert_str_eq(p.cwd, "/work");
	ck_assert(p.terminal && p.user_set);
	ck_assert_uint_eq(p.uid, 1000);
	ck_assert_uint_eq(p.gid, 100);
	ck_assert_uint_eq(p.ngroups, 2);
	ck_assert_uint_eq(p.nrlimits, 1);
	oci_spec_free(&p);
}
END_TEST

START_TEST(process_json_refused)
{
	static const char *bad[] = { "{\"args\": []}", "{\"args\": \"sh\"}", "[1]", "{",
				     "{\"args\": [\"sh\"], \"terminal\": 3}" };
	struct oci_spec p;
	char err[OCI_ERR_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_int_eq(oci_process_parse(bad[i], strlen(bad[i]), &p, err, sizeof(err)),
				 -EINVAL);
		ck_assert(err[0] != '\0');
		oci_spec_free(&p);
	}
}
END_TEST

START_TEST(blob_is_job_records)
{
	static const char want[] = MICROVM_JOB_MAGIC "ash\0a-c\0aecho hi\0ePATH=/bin\0eA=b c\0"
				   "w/work\0u1000:100\0G5,6\0t1\0lRLIMIT_NOFILE\t512\t1024";
	struct oci_spec p;
	char *blob;
	size_t len;

	parse_process(&p);
	ck_assert_int_eq(oci_exec_blob(&p, &blob, &len), 0);
	ck_assert_uint_eq(len, sizeof(want)); /* want's own NUL ends the last record */
	ck_assert(memcmp(blob, want, len) == 0);
	free(blob);
	oci_spec_free(&p);
}
END_TEST

static void seqpacket(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

/* Three pipes stand for stdio: what is written to a sent write end arrives. */
START_TEST(request_carries_blob_and_fds)
{
	int sv[2], p[3][2], got[3], i;
	char *blob, buf[8];
	uint32_t flags;
	size_t len;

	seqpacket(sv);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(pipe(p[i]), 0);
	ck_assert_int_eq(oci_exec_send(sv[0], "abc", 3, OCI_EXEC_F_TERMINAL,
				       (int[]){ p[0][1], p[1][1], p[2][1] }), 0);
	ck_assert_int_eq(oci_exec_recv(sv[1], &blob, &len, &flags, got), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_uint_eq(flags, OCI_EXEC_F_TERMINAL);
	ck_assert(memcmp(blob, "abc", 3) == 0);
	for (i = 0; i < 3; i++) {
		ck_assert(fcntl(got[i], F_GETFD) & FD_CLOEXEC);
		ck_assert_int_eq(write(got[i], "x", 1), 1);
		ck_assert_int_eq(read(p[i][0], buf, sizeof(buf)), 1);
		close(got[i]);
		close(p[i][0]);
		close(p[i][1]);
	}
	free(blob);
	ck_assert_int_eq(oci_exec_send_status(sv[1], MICROVM_STATUS(STATUS_EXITED, 3)), 0);
	uint32_t st;
	ck_assert_int_eq(oci_exec_recv_status(sv[0], &st), 0);
	ck_assert_int_eq(oci_exec_exit_code(st), 3);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* Hostile requests: wrong magic, wrong length, too few fds; refused, nothing leaked. */
static void send_raw(int sock, const void *data, size_t len, int nfds, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u = { { 0 } };
	struct iovec iov = { (void *)data, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	int fds[4] = { fd, fd, fd, fd };

	if (nfds) {
		m.msg_control = u.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	ck_assert_int_ge(sendmsg(sock, &m, 0), 0);
}

static int count_fds(void)
{
	int n = 0, fd;

	for (fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

START_TEST(bad_requests_refused)
{
	struct oci_exec_hdr good = { OCI_EXEC_MAGIC, 2, 0 }, wrong_magic = { 1, 2, 0 },
			    wrong_len = { OCI_EXEC_MAGIC, 9, 0 }, bad_flags = { OCI_EXEC_MAGIC, 2, 2 };
	struct oci_exec_hdr huge = { OCI_EXEC_MAGIC, OCI_EXEC_MAX_BLOB + 1, 0 };
	size_t huge_len = sizeof(huge) + OCI_EXEC_MAX_BLOB + 1;
	char msg[sizeof(good) + 2], *big = calloc(1, huge_len);
	int sv[2], fds[3], before, devnull = open("/dev/null", O_RDWR | O_CLOEXEC), bufsize = 1 << 20;
	uint32_t flags;
	char *blob;
	size_t len;

	ck_assert_ptr_nonnull(big);
	seqpacket(sv);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize)), 0);
	before = count_fds();
	memcpy(msg, &wrong_magic, sizeof(wrong_magic));
	send_raw(sv[0], msg, sizeof(msg), 3, devnull);
	memcpy(msg, &wrong_len, sizeof(wrong_len));
	send_raw(sv[0], msg, sizeof(msg), 3, devnull);
	memcpy(msg, &bad_flags, sizeof(bad_flags));
	send_raw(sv[0], msg, sizeof(msg), 3, devnull);
	/* One byte more than the guest takes: the length matches, still refused. */
	memcpy(big, &huge, sizeof(huge));
	send_raw(sv[0], big, huge_len, 3, devnull);
	memcpy(msg, &good, sizeof(good));
	send_raw(sv[0], msg, sizeof(msg), 2, devnull);
	send_raw(sv[0], msg, sizeof(msg), 4, devnull);
	send_raw(sv[0], msg, sizeof(msg), 0, devnull);
	send_raw(sv[0], msg, 3, 3, devnull);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(oci_exec_recv(sv[1], &blob, &len, &flags, fds), -EPROTO);
		ck_assert_ptr_null(blob);
	}
	ck_assert_int_eq(count_fds(), before);
	send_raw(sv[0], msg, sizeof(msg), 3, devnull);
	ck_assert_int_eq(oci_exec_recv(sv[1], &blob, &len, &flags, fds), 0);
	ck_assert_uint_eq(len, 2);
	ck_assert_uint_eq(flags, 0);
	/* Nothing (yet) on a non-blocking socket: -EAGAIN, nothing made. */
	ck_assert_int_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	free(blob);
	ck_assert_int_eq(oci_exec_recv(sv[1], &blob, &len, &flags, fds), -EAGAIN);
	ck_assert_ptr_null(blob);
	free(big);
	free(blob);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	close(sv[0]);
	close(sv[1]);
	close(devnull);
}
END_TEST

/* The helper's messages while the process runs: signals; a hang-up; nonsense ignored. */
START_TEST(signals_and_hangup)
{
	struct oci_exec_hdr bad_flags = { OCI_EXEC_MAGIC, SIGTERM, 1 }, no_sig = { OCI_EXEC_MAGIC, 0, 0 },
			    big_sig = { OCI_EXEC_MAGIC, NSIG, 0 };
	int sv[2], sig = 0, fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	seqpacket(sv);
	ck_assert_int_eq(oci_exec_send(sv[0], "", 0, 0, (int[]){ fd, fd, fd }), -E2BIG);
	ck_assert_int_eq(oci_exec_send(sv[0], "x", OCI_EXEC_MAX_BLOB + 1, 0, (int[]){ fd, fd, fd }),
			 -E2BIG);
	ck_assert_int_eq(oci_exec_recv_signal(sv[1], &sig), -EAGAIN);
	ck_assert_int_eq(oci_exec_send_status(sv[0], SIGWINCH), 0);
	ck_assert_int_eq(oci_exec_recv_signal(sv[1], &sig), 0);
	ck_assert_int_eq(sig, SIGWINCH);
	send_raw(sv[0], &bad_flags, sizeof(bad_flags), 0, -1);
	send_raw(sv[0], &no_sig, sizeof(no_sig), 0, -1);
	send_raw(sv[0], &big_sig, sizeof(big_sig), 0, -1);
	send_raw(sv[0], &big_sig, 5, 0, -1);
	big_sig.len = SIGTERM;
	send_raw(sv[0], &big_sig, sizeof(big_sig), 1, fd); /* a descriptor: refused, closed */
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(oci_exec_recv_signal(sv[1], &sig), -EPROTO);
	close(sv[0]);
	ck_assert_int_eq(oci_exec_recv_signal(sv[1], &sig), -ECONNRESET);
	close(sv[1]);
	close(fd);
}
END_TEST

START_TEST(status_codes)
{
	uint32_t st;
	int sv[2];

	ck_assert_int_eq(oci_exec_exit_code(MICROVM_STATUS(STATUS_EXITED, 0)), 0);
	ck_assert_int_eq(oci_exec_exit_code(MICROVM_STATUS(STATUS_EXITED, 127)), 127);
	ck_assert_int_eq(oci_exec_exit_code(MICROVM_STATUS(STATUS_KILLED, SIGKILL)), 137);
	ck_assert_int_eq(oci_exec_exit_code(MICROVM_STATUS(STATUS_INIT_FAILED, 0)), 255);
	seqpacket(sv);
	close(sv[1]); /* the VMM went away before answering */
	ck_assert_int_eq(oci_exec_recv_status(sv[0], &st), -EPROTO);
	close(sv[0]);
	/* A signal crossed the status: the VMM closed with it unread (ECONNRESET first). */
	seqpacket(sv);
	ck_assert_int_eq(oci_exec_send_status(sv[0], SIGTERM), 0);
	ck_assert_int_eq(oci_exec_send_status(sv[1], MICROVM_STATUS(STATUS_EXITED, 7)), 0);
	close(sv[1]);
	ck_assert_int_eq(oci_exec_recv_status(sv[0], &st), 0);
	ck_assert_uint_eq(st, MICROVM_STATUS(STATUS_EXITED, 7));
	close(sv[0]);
}
END_TEST

static Suite *exec_wire_suite(void)
{
	Suite *s = suite_create("oci_exec_wire");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, process_json_parsed);
	tcase_add_test(tc, process_json_refused);
	tcase_add_test(tc, blob_is_job_records);
	tcase_add_test(tc, request_carries_blob_and_fds);
	tcase_add_test(tc, bad_requests_refused);
	tcase_add_test(tc, signals_and_hangup);
	tcase_add_test(tc, status_codes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(exec_wire_suite());
}
