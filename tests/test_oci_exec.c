/* test_oci_exec.c: `microvm exec` against a fake VMM: runc's checks, the request it sends, its helper and terminal. */
/*
 * The container's state names the test process as its VMM (alive, so "running"); the
 * test listens on the state directory's exec.sock as the VMM does and runs
 * `microvm exec` (oci_main) in a child. The test is a child subreaper, so a detached
 * exec's helper becomes its child as it becomes containerd's shim's.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include "check_run.h"
#include "guest/protocol.h"
#include "oci/exec_wire.h"
#include "oci/internal.h"
#include "oci/oci.h"

#define ID "c1"
#define WAIT_MS 10000

static char dir[] = "/tmp/microvm-test-oci-exec-XXXXXX";
static char root[200], state[260], bundle[200], pidfile[200], procfile[200], consock[200];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* A running container whose VMM is this process; its process as config.json has it. */
static void setup(void)
{
	struct oci_state st = { .id = ID, .oci_version = "1.0.2-dev", .bundle = bundle,
				.rootfs = "/x", .created = "2024-01-02T03:04:05.000000001Z",
				.pid = getpid() };
	char config[260];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(root, sizeof(root), "%s/state", dir);
	snprintf(state, sizeof(state), "%s/%s", root, ID);
	snprintf(bundle, sizeof(bundle), "%s/bundle", dir);
	snprintf(pidfile, sizeof(pidfile), "%s/exec.pid", dir);
	snprintf(procfile, sizeof(procfile), "%s/process.json", dir);
	snprintf(consock, sizeof(consock), "%s/console.sock", dir);
	ck_assert_int_eq(mkdir(root, 0700), 0);
	ck_assert_int_eq(mkdir(state, 0700), 0);
	ck_assert_int_eq(mkdir(bundle, 0700), 0);
	snprintf(config, sizeof(config), "%s/config.json", bundle);
	write_file(config, "{\"ociVersion\":\"1.0.2-dev\",\"root\":{\"path\":\"rootfs\"},\"process\":{"
		   "\"args\":[\"sh\"],\"env\":[\"PATH=/bin\",\"FOO=old\"],\"cwd\":\"/\","
		   "\"user\":{\"uid\":5,\"gid\":6},\"terminal\":true}}");
	st.start_time = oci_process_start_time(getpid());
	ck_assert_int_eq(oci_state_write(state, &st), 0);
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(dir, "/tmp/microvm-test-oci-exec-XXXXXX");
}

/* `microvm --root ROOT exec ARGS...` in a child with stdin from in (-1: /dev/null),
 * stdout to out, stderr to err. */
static pid_t run_exec(const char *const *args, int in, int out, int err)
{
	char *argv[32] = { "microvm", "--root", root, "exec" };
	int argc = 4;
	pid_t pid;

	for (; *args; args++)
		argv[argc++] = (char *)*args;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid > 0)
		return pid;
	if (in < 0)
		in = open("/dev/null", O_RDONLY);
	dup2(in, 0);
	dup2(out, 1);
	dup2(err, 2);
	_exit(oci_main(argc, argv));
}

static int wait_status(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* What a refused exec says on stderr, and its status 1. */
static void expect_refused(const char *const *args, const char *words)
{
	int p[2], null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	char buf[1024] = "";
	ssize_t n;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(wait_status(run_exec(args, -1, null, p[1])), 1);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	ck_assert_msg(strstr(buf, words), "stderr: %s (expected: %s)", buf, words);
	close(p[0]);
	close(null);
}

/* The fake VMM takes one request: its blob (NUL-terminated copy), flags and fds. */
static void take_request(int listener, int *sock, char **blob, size_t *len, uint32_t *flags,
			 int fds[3])
{
	struct pollfd p = { .fd = listener, .events = POLLIN };

	ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
	*sock = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(*sock, 0);
	p = (struct pollfd){ .fd = *sock, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
	ck_assert_int_eq(oci_exec_recv(*sock, blob, len, flags, fds), 0);
}

/* Until pid has a handler for sig (/proc/PID/status SigCgt): then a signal is caught. */
static void wait_caught(pid_t pid, int sig)
{
	char path[64], line[256];
	unsigned long long mask = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	for (int i = 0; i < WAIT_MS / 10 && !(mask & (1ULL << (sig - 1))); i++) {
		FILE *f = fopen(path, "r");

		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "SigCgt: %llx", &mask) == 1)
				break;
		if (f)
			fclose(f);
		usleep(10000);
	}
	ck_assert_msg(mask & (1ULL << (sig - 1)), "pid %d never caught signal %d", (int)pid, sig);
}

static bool has_record(const char *blob, size_t len, const char *rec)
{
	return memmem(blob, len, rec, strlen(rec) + 1) != NULL; /* with its NUL */
}

START_TEST(refusals_as_runc_words_them)
{
	static const char *const detach_tty[] = { "--detach", "-t", ID, "sh", NULL };
	static const char *const socket_no_tty[] = { "--detach", "--console-socket", "/x", ID,
						     "sh", NULL };
	static const char *const fg_tty[] = { "-t", ID, "sh", NULL };
	static const char *const plain[] = { ID, "sh", NULL };
	static const char *const bad_user[] = { "--user", "x", ID, "sh", NULL };
	static const char *const bad_gids[] = { "--additional-gids", "1,x", ID, "sh", NULL };
	static const char *const missing[] = { "nope", "sh", NULL };
	static const char *const no_cmd[] = { ID, NULL };
	char fifo[300];
	int l;

	setup();
	l = oci_exec_listen(state);
	ck_assert_int_ge(l, 0);
	expect_refused(detach_tty, "cannot allocate tty if runc will detach without setting "
				   "console socket");
	expect_refused(socket_no_tty, "cannot use console socket if runc will not detach or "
				      "allocate tty");
	expect_refused(fg_tty, "needs a terminal on stdin");
	expect_refused(bad_user, "--user x: expected UID[:GID]");
	expect_refused(bad_gids, "--additional-gids 1,x");
	expect_refused(missing, "container nope does not exist");
	expect_refused(no_cmd, "requires a minimum of 2 arguments");
	snprintf(fifo, sizeof(fifo), "%s/%s", state, OCI_FIFO_FILE);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	expect_refused(plain, "cannot exec in a created container");
	unlink(fifo);
	close(l);
	/* No VMM listening: said, not hung. */
	expect_refused(plain, "cannot reach the container's VMM");
	teardown();
}
END_TEST

START_TEST(a_stopped_container_is_refused)
{
	static const char *const plain[] = { ID, "sh", NULL };
	struct oci_state st = { 0 };
	pid_t dead = fork();

	if (dead == 0)
		_exit(0);
	setup();
	ck_assert_int_eq(waitpid(dead, NULL, 0), dead);
	ck_assert_int_eq(oci_state_read(state, &st), 0);
	st.pid = dead;
	ck_assert_int_eq(oci_state_write(state, &st), 0);
	oci_state_free(&st);
	expect_refused(plain, "cannot exec in a stopped container");
	teardown();
}
END_TEST

/*
 * In the foreground: the container's process amended as runc does it, our stdio sent,
 * our exit status the process's.
 */
START_TEST(foreground_exec_sends_the_amended_process_and_exits_with_its_status)
{
	static const char *const args[] = { "-e", "FOO=new", "--env", "BAR=1", "--cwd", "/tmp",
					    "--user", "1000", "-g", "7,8", "--additional-gids", "9",
					    ID, "echo", "hi there", NULL };
	int l, sock, fds[3], out[2], devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	char *blob, got[8];
	uint32_t flags;
	size_t len;
	pid_t pid;

	setup();
	l = oci_exec_listen(state);
	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	pid = run_exec(args, -1, out[1], devnull);
	close(out[1]);
	take_request(l, &sock, &blob, &len, &flags, fds);
	ck_assert_uint_eq(flags, 0);
	ck_assert(has_record(blob, len, "aecho") && has_record(blob, len, "ahi there"));
	ck_assert(has_record(blob, len, "ePATH=/bin") && has_record(blob, len, "eFOO=new"));
	ck_assert(has_record(blob, len, "eBAR=1") && !memmem(blob, len, "FOO=old", 7));
	ck_assert(has_record(blob, len, "w/tmp") && has_record(blob, len, "u1000:6"));
	ck_assert(has_record(blob, len, "G7,8,9") && !memmem(blob, len, "\0t1", 3));
	/* Its stdout is ours: what the "guest" writes reaches our pipe. */
	ck_assert_int_eq(write(fds[1], "ok", 2), 2);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	ck_assert_int_eq(read(out[0], got, sizeof(got)), 2);
	/* A signal to the waiting exec goes on, through its helper, to the process. */
	wait_caught(pid, SIGUSR1);
	kill(pid, SIGUSR1);
	{
		struct pollfd p = { .fd = sock, .events = POLLIN };
		int sig = 0;

		ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
		ck_assert_int_eq(oci_exec_recv_signal(sock, &sig), 0);
		ck_assert_int_eq(sig, SIGUSR1);
	}
	ck_assert_int_eq(oci_exec_send_status(sock, MICROVM_STATUS(STATUS_EXITED, 5)), 0);
	ck_assert_int_eq(wait_status(pid), 5);
	close(sock);
	free(blob);
	close(out[0]);
	close(l);
	close(devnull);
	teardown();
}
END_TEST

/* The detached helper: the pid file's, its status or signal death the process's. */
START_TEST(detached_helper_stands_for_the_process)
{
	static const char *const args[] = { "--detach", "--pid-file", pidfile, ID, "sh", NULL };
	int l, sock, fds[3], null = open("/dev/null", O_RDWR | O_CLOEXEC);
	char *blob, buf[32] = "";
	uint32_t flags;
	size_t len;
	pid_t helper;
	FILE *f;

	setup();
	l = oci_exec_listen(state);
	ck_assert_int_ge(l, 0);
	for (int round = 0; round < 2; round++) {
		ck_assert_int_eq(wait_status(run_exec(args, null, null, null)), 0);
		take_request(l, &sock, &blob, &len, &flags, fds);
		for (int i = 0; i < 3; i++)
			close(fds[i]);
		free(blob);
		f = fopen(pidfile, "r");
		ck_assert_ptr_nonnull(f);
		ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
		fclose(f);
		helper = (pid_t)atoi(buf);
		ck_assert_int_gt(helper, 0);
		ck_assert_int_eq(oci_exec_send_status(sock, round ? MICROVM_STATUS(STATUS_KILLED, SIGUSR2) :
							  MICROVM_STATUS(STATUS_EXITED, 42)), 0);
		ck_assert_int_eq(wait_status(helper), round ? 128 + SIGUSR2 : 42);
		close(sock);
	}
	close(l);
	close(null);
	teardown();
}
END_TEST

/* One message with one descriptor (runc's console protocol): the master. */
static int take_master(int listener)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char name[64];
	struct iovec iov = { name, sizeof(name) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	int c = accept4(listener, NULL, NULL, SOCK_CLOEXEC), fd;

	ck_assert_int_ge(c, 0);
	ck_assert_int_gt(recvmsg(c, &m, MSG_CMSG_CLOEXEC), 0);
	ck_assert_ptr_nonnull(CMSG_FIRSTHDR(&m));
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(fd));
	close(c);
	return fd;
}

/*
 * docker exec -t: a pty, its master to the console socket; the slave, raw and sized as
 * the process file says, is the request's terminal; a resize of the master reaches the
 * helper (its controlling terminal) and comes to the VMM as SIGWINCH.
 */
START_TEST(terminal_through_the_console_socket)
{
	static const char *const args[] = { "--detach", "--console-socket", consock, "--process",
					    procfile, "--pid-file", pidfile, ID, NULL };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int l, cs, sock, fds[3], master, sig = 0, null = open("/dev/null", O_RDWR | O_CLOEXEC);
	struct winsize ws = { 0 };
	struct termios t;
	struct pollfd p;
	uint32_t flags;
	char *blob, c;
	size_t len;

	setup();
	write_file(procfile, "{\"terminal\":true,\"consoleSize\":{\"height\":33,\"width\":101},"
			     "\"args\":[\"sh\"],\"cwd\":\"/\"}");
	l = oci_exec_listen(state);
	ck_assert_int_ge(l, 0);
	cs = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	strcpy(sa.sun_path, consock);
	ck_assert_int_eq(bind(cs, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(cs, 1), 0);
	ck_assert_int_eq(wait_status(run_exec(args, null, null, null)), 0);
	master = take_master(cs);
	take_request(l, &sock, &blob, &len, &flags, fds);
	ck_assert_uint_eq(flags, OCI_EXEC_F_TERMINAL);
	ck_assert(has_record(blob, len, "t1"));
	ck_assert(isatty(fds[0]) && isatty(fds[2]));
	ck_assert_int_eq(ioctl(fds[2], TIOCGWINSZ, &ws), 0);
	ck_assert_uint_eq(ws.ws_row, 33);
	ck_assert_uint_eq(ws.ws_col, 101);
	ck_assert_int_eq(tcgetattr(fds[0], &t), 0);
	ck_assert_uint_eq(t.c_lflag & (ECHO | ICANON | ISIG), 0); /* raw: the guest's pty cooks */
	/* Typed at the master, read as is from the slave. */
	ck_assert_int_eq(write(master, "\x03", 1), 1);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	ck_assert_int_eq(c, 3);
	ws = (struct winsize){ .ws_row = 40, .ws_col = 120 };
	ck_assert_int_eq(ioctl(master, TIOCSWINSZ, &ws), 0);
	p = (struct pollfd){ .fd = sock, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
	ck_assert_int_eq(oci_exec_recv_signal(sock, &sig), 0);
	ck_assert_int_eq(sig, SIGWINCH);
	/* The process ends: the VMM's copies close, and the master sees the end. */
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	ck_assert_int_eq(read(master, &c, 1), -1);
	ck_assert_int_eq(errno, EIO);
	ck_assert_int_eq(oci_exec_send_status(sock, MICROVM_STATUS(STATUS_EXITED, 0)), 0);
	{
		char buf[32] = "";
		FILE *f = fopen(pidfile, "r");

		ck_assert_ptr_nonnull(f);
		ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
		fclose(f);
		ck_assert_int_eq(wait_status((pid_t)atoi(buf)), 0);
	}
	free(blob);
	close(sock);
	close(master);
	close(cs);
	close(l);
	close(null);
	teardown();
}
END_TEST

static Suite *oci_exec_suite(void)
{
	Suite *s = suite_create("oci_exec");
	TCase *tc = tcase_create("exec");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, refusals_as_runc_words_them);
	tcase_add_test(tc, a_stopped_container_is_refused);
	tcase_add_test(tc, foreground_exec_sends_the_amended_process_and_exits_with_its_status);
	tcase_add_test(tc, detached_helper_stands_for_the_process);
	tcase_add_test(tc, terminal_through_the_console_socket);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(oci_exec_suite());
}
