/* test_guest_exec.c: guest init's exec'd processes (runc exec): ports by name, status events, a terminal. */
/*
 * command_run() as init runs it, on the host, with the exec ports as FIFOs in a temporary
 * directory laid out as /sys/class/virtio-ports and /dev are (struct init's ports_dir
 * and dev_dir). The main command waits on its stdin; a driver process plays the host:
 * it copies what the exec'd process writes, answers markers with control lines and
 * input, and lets the main command end once the "exit" events came. The test process is
 * a child subreaper, as PID 1 is.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "check_run.h"
#include "../guest/init.h"
#include "../guest/job.h"
#include "../guest/protocol.h"

#define GX_WAIT_MS 20000
#define GX_MAX_SERIAL 8

/* A job literal with its embedded NULs: the length excludes only the literal's own NUL. */
#define JOB(s) MICROVM_JOB_MAGIC s, sizeof(MICROVM_JOB_MAGIC s) - 1

struct gx {
	struct init in;
	char dir[64];
	char sys[96], dev[96];
	int in_w, ctl_w, events_r;
	/* Test ends of exec S's ports: stdin (read-write, so init's open never blocks),
	 * stdout and stderr (read, non-blocking). */
	int port[GX_MAX_SERIAL][3];
	int out_file, events_file; /* what the driver saw */
	int wstatus;
};

/* A step of the driver: once the output so far holds marker, send ctl and input. */
struct gx_step {
	const char *marker;
	unsigned serial; /* whose stdout and stdin */
	const char *ctl, *input;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int tmp_fd(void)
{
	char path[] = "/tmp/test_guest_exec.XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	return fd;
}

static void gx_init(struct gx *g, const char *main_job, size_t len)
{
	int p[2];

	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	memset(g, 0, sizeof(*g));
	memset(g->port, 0xff, sizeof(g->port)); /* -1: none */
	g->in.console = -1;
	strcpy(g->dir, "/tmp/test_guest_exec.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(g->dir));
	snprintf(g->sys, sizeof(g->sys), "%s/sys", g->dir);
	snprintf(g->dev, sizeof(g->dev), "%s/dev", g->dir);
	ck_assert_int_eq(mkdir(g->sys, 0700), 0);
	ck_assert_int_eq(mkdir(g->dev, 0700), 0);
	g->in.ports_dir = g->sys;
	g->in.dev_dir = g->dev;
	ck_assert_int_eq(job_parse(&g->in.job, main_job, len), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	g->in.stdio[0] = p[0];
	g->in_w = p[1];
	g->in.stdio[1] = tmp_fd();
	g->in.stdio[2] = tmp_fd();
	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	g->in.control = p[0];
	g->ctl_w = p[1];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	g->events_r = p[0];
	g->in.events = p[1];
	g->out_file = tmp_fd();
	g->events_file = tmp_fd();
}

/* Exec serial's three ports: named in sys/, a FIFO each in dev/, the test's ends open. */
static void gx_ports(struct gx *g, unsigned serial)
{
	static const char *const streams[3] = { "stdin", "stdout", "stderr" };
	char path[256], name[64];

	ck_assert_uint_lt(serial, GX_MAX_SERIAL);
	for (int k = 0; k < 3; k++) {
		int fd;

		snprintf(path, sizeof(path), "%s/vport%uk%d", g->sys, serial, k);
		ck_assert_int_eq(mkdir(path, 0700), 0);
		snprintf(path, sizeof(path), "%s/vport%uk%d/name", g->sys, serial, k);
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		ck_assert_int_ge(fd, 0);
		snprintf(name, sizeof(name), MICROVM_EXEC_PORT_FMT "\n", serial, streams[k]);
		ck_assert_int_eq(write(fd, name, strlen(name)), (ssize_t)strlen(name));
		close(fd);
		snprintf(path, sizeof(path), "%s/vport%uk%d", g->dev, serial, k);
		ck_assert_int_eq(mkfifo(path, 0600), 0);
		g->port[serial][k] = open(path, (k == 0 ? O_RDWR : O_RDONLY | O_NONBLOCK) | O_CLOEXEC);
		ck_assert_int_ge(g->port[serial][k], 0);
	}
}

/* "exec S LEN[ ROWS COLS]" and the records, as the host sends them. */
static void gx_exec(struct gx *g, unsigned serial, const char *size, const char *job, size_t len)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "exec %u %zu%s\n", serial, len, size);

	ck_assert_int_eq(write(g->ctl_w, line, (size_t)n), n);
	ck_assert_int_eq(write(g->ctl_w, job, len), (ssize_t)len);
}

static void gx_copy(int from, int to, char *acc, size_t cap, size_t *len, bool *eof)
{
	char buf[4096];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n == 0)
		*eof = true;
	if (n <= 0)
		return;
	if (write(to, buf, (size_t)n) != n)
		_exit(2);
	if (*len + (size_t)n < cap) {
		memcpy(acc + *len, buf, (size_t)n);
		*len += (size_t)n;
		acc[*len] = '\0';
	}
}

/* The driver's end: stdout of serial seen to EOF (init kept no copy), or the time is up. */
static noreturn void gx_driver(struct gx *g, unsigned serial, const struct gx_step *steps,
			       unsigned nexits)
{
	static char out[65536], ev[4096];
	size_t olen = 0, elen = 0, next = 0;
	bool oeof = false, eeof = false, released = false;
	long long end = now_ms() + GX_WAIT_MS;

	while (now_ms() < end && !(oeof && released)) {
		struct pollfd p[2] = { { .fd = oeof ? -1 : g->port[serial][1], .events = POLLIN },
				       { .fd = eeof ? -1 : g->events_r, .events = POLLIN } };

		poll(p, 2, 10);
		if (p[0].revents)
			gx_copy(p[0].fd, g->out_file, out, sizeof(out), &olen, &oeof);
		if (p[1].revents)
			gx_copy(p[1].fd, g->events_file, ev, sizeof(ev), &elen, &eeof);
		while (steps[next].marker && strstr(out, steps[next].marker)) {
			const struct gx_step *s = &steps[next++];

			if (s->ctl && write(g->ctl_w, s->ctl, strlen(s->ctl)) < 0)
				_exit(3);
			if (s->input && write(g->port[s->serial][0], s->input, strlen(s->input)) < 0)
				_exit(3);
		}
		if (!released) {
			unsigned exits = 0;

			for (const char *e = ev; (e = strstr(e, "exit ")); e++)
				exits++;
			if (exits >= nexits)
				released = write(g->in_w, "go\n", 3) == 3;
		}
	}
	if (oeof && write(g->out_file, "[EOF]", 5) != 5)
		_exit(2);
	_exit(oeof && released ? 0 : 1);
}

/* Run init with the driver; afterwards wait (bounded) until it has seen the end. */
static void gx_run(struct gx *g, unsigned serial, const struct gx_step *steps, unsigned nexits)
{
	static const struct gx_step none = { 0 };
	char buf[8];
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		gx_driver(g, serial, steps ? steps : &none, nexits);
	ck_assert_int_eq(command_run(&g->in, &g->wstatus), 0);
	for (long long end = now_ms() + GX_WAIT_MS; now_ms() < end; usleep(10000)) {
		off_t size = lseek(g->out_file, 0, SEEK_END);

		if (size >= 5 && pread(g->out_file, buf, 5, size - 5) == 5 && !memcmp(buf, "[EOF]", 5))
			return;
	}
	ck_abort_msg("the exec'd process's stdout never ended (a descriptor kept it open?)");
}

/* A file the driver wrote, NUL-terminated (static: one at a time). */
static const char *gx_file(int fd)
{
	static char buf[65536];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}

/* All a non-blocking port's test end holds, then its EOF. */
static const char *gx_drain_port(int fd)
{
	static char buf[4096];
	size_t len = 0;
	long long end = now_ms() + GX_WAIT_MS;

	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n == 0)
			break;
		if (n > 0)
			len += (size_t)n;
		ck_assert_msg(now_ms() < end, "the port never ended");
		if (n < 0)
			usleep(10000);
	}
	buf[len] = '\0';
	return buf;
}

static void gx_free(struct gx *g)
{
	char cmd[128];

	for (int s = 0; s < GX_MAX_SERIAL; s++)
		for (int k = 0; k < 3; k++)
			if (g->port[s][k] >= 0)
				close(g->port[s][k]);
	close(g->in_w);
	close(g->ctl_w);
	close(g->events_r);
	close(g->in.events);
	close(g->out_file);
	close(g->events_file);
	for (int i = 0; i < 3; i++)
		close(g->in.stdio[i]);
	if (g->in.control >= 0)
		close(g->in.control);
	job_free(&g->in.job);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", g->dir);
	ck_assert_int_eq(system(cmd), 0);
}

static const char main_job[] = MICROVM_JOB_MAGIC "a/bin/sh\0a-c\0aread x; echo main-done\0";

/* stdin, stdout and stderr are the ports; the status is an "exit" line; ports end. */
START_TEST(exec_without_terminal)
{
	struct gx g;

	gx_init(&g, main_job, sizeof(main_job) - 1);
	gx_ports(&g, 1);
	gx_exec(&g, 1, "", JOB("a/bin/sh\0a-c\0aread l; echo \"out:$l\"; echo err >&2; exit 5\0"));
	ck_assert_int_eq(write(g.port[1][0], "line\n", 5), 5);
	gx_run(&g, 1, NULL, 1);
	ck_assert(WIFEXITED(g.wstatus) && WEXITSTATUS(g.wstatus) == 0);
	ck_assert_str_eq(gx_file(g.out_file), "out:line\n[EOF]");
	ck_assert_str_eq(gx_file(g.events_file), "exit 1 2 5\n");
	ck_assert_str_eq(gx_drain_port(g.port[1][2]), "err\n");
	gx_free(&g);
}
END_TEST

/*
 * A terminal of the size the exec line gave, resized by "resize"; typed input echoed;
 * the output relayed to the end before the "exit" line.
 */
START_TEST(exec_with_terminal)
{
	static const struct gx_step steps[] = {
		{ "33 101", 2, "resize 2 40 120\nresize 99 1 1\n", "hi\n" },
		{ NULL, 0, NULL, NULL },
	};
	const char *out;
	struct gx g;

	gx_init(&g, main_job, sizeof(main_job) - 1);
	gx_ports(&g, 2);
	gx_exec(&g, 2, " 33 101", JOB("t1\0a/bin/sh\0a-c\0atty; stty size; read l; stty size; "
				      "echo \"got:$l\"; head -c 20000 /dev/zero | tr '\\0' y; "
				      "echo; exit 6\0"));
	gx_run(&g, 2, steps, 1);
	out = gx_file(g.out_file);
	ck_assert_msg(strstr(out, "/dev/pts/") && strstr(out, "\r\n33 101\r\n"), "output: %s", out);
	ck_assert_msg(strstr(out, "hi\r\n40 120\r\ngot:hi\r\n"), "output: %s", out);
	ck_assert_msg(strstr(out, "yyy\r\n[EOF]"), "output's end: %s", out + strlen(out) - 20);
	ck_assert_str_eq(gx_file(g.events_file), "exit 2 2 6\n");
	ck_assert_str_eq(gx_drain_port(g.port[2][2]), ""); /* a terminal's stderr is unused */
	gx_free(&g);
}
END_TEST

/* Refused records say why on the process's stderr; a signal by serial; unknown ones. */
START_TEST(exec_failures_and_kill)
{
	static const struct gx_step steps[] = {
		{ "sleeping", 5, "kill 99 9\nkill 5 15\n", NULL },
		{ NULL, 0, NULL, NULL },
	};
	struct gx g;

	gx_init(&g, main_job, sizeof(main_job) - 1);
	for (unsigned s = 3; s <= 5; s++)
		gx_ports(&g, s);
	gx_exec(&g, 3, "", "garbage", 7);
	gx_exec(&g, 4, "", JOB("mro\ttag\t/x\0a/bin/true\0"));
	gx_exec(&g, 5, "", JOB("a/bin/sh\0a-c\0aecho sleeping; exec sleep 30\0"));
	gx_run(&g, 5, steps, 3);
	ck_assert_str_eq(gx_file(g.events_file), "exit 3 4 0\nexit 4 4 0\nexit 5 3 15\n");
	ck_assert_ptr_nonnull(strstr(gx_drain_port(g.port[3][2]), "exec 3: bad job"));
	ck_assert_ptr_nonnull(strstr(gx_drain_port(g.port[4][2]), "exec 4: not started"));
	gx_free(&g);
}
END_TEST

static Suite *guest_exec_suite(void)
{
	Suite *s = suite_create("guest_exec");
	TCase *tc = tcase_create("exec");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, exec_without_terminal);
	tcase_add_test(tc, exec_with_terminal);
	tcase_add_test(tc, exec_failures_and_kill);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(guest_exec_suite());
}
