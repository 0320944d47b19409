/* test_run_exec.c: the VMM's exec service: a real exec socket, SCM_RIGHTS stdio, a fake guest, hostile events. */
/*
 * The machine is what run_job_create_stdio makes, without KVM: the control pipe, the
 * events pipe and the virtio-console device with its five ports and the exec slots'
 * spare ones on fake guest memory. The test plays three parts in one thread: the helper
 * (oci/exec_wire.h over the listener at <dir>/exec.sock), the VMM's main loop
 * (run_exec_poll, poll, run_exec_serve) and the guest: either Linux's console driver
 * (tests/vcon_guest.c), or, when the device is never started, the control and events
 * pipes directly (the port adds then stay pending and a removal is over at once).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "check_run.h"
#include "vcon_guest.h"
#include "../guest/protocol.h"
#include "../oci/exec_wire.h"
#include "../vmm/machine.h"

#define RAM_BYTES (16U << 20)
#define NFIXED 5U /* stdin, stdout, stderr, control, events */
#define P_CONTROL 4U
#define P_EVENTS 5U
#define BLOB MICROVM_JOB_MAGIC "a/bin/true"

struct rx {
	struct machine *m;
	struct fake_mem mem;
	struct vcg g;
	char dir[64];
};

static void rx_init(struct rx *x)
{
	struct machine *m = calloc(1, sizeof(*m));
	int fd, size;

	ck_assert_ptr_nonnull(m);
	memset(x, 0, sizeof(*x));
	x->m = m;
	signal(SIGPIPE, SIG_IGN); /* as run_vm does */
	strcpy(x->dir, "/tmp/test_run_exec.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(x->dir));
	fd = oci_exec_listen(x->dir);
	ck_assert_int_ge(fd, 0);
	run_exec_set_listener(fd);
	ck_assert_int_eq(run_exec_init(m), 0);
	ck_assert_int_eq(pipe2(m->control_fd, O_CLOEXEC), 0);
	ck_assert_int_eq(fcntl(m->control_fd[1], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(fcntl(m->control_fd[0], F_SETFL, O_NONBLOCK), 0); /* the test reads */
	size = fcntl(m->control_fd[1], F_SETPIPE_SZ, 256 * 1024);
	ck_assert_int_gt(size, 0);
	m->exec.control_cap = (size_t)size;
}

/* The stdio device as run_job.c makes it; the guest never opens the control port, so the
 * test reads the control pipe itself. */
static void rx_device(struct rx *x)
{
	struct machine *m = x->m;
	const struct vcon_port_config ports[NFIXED] = {
		{ MICROVM_PORT_STDIN, -1, VCON_TO_GUEST },
		{ MICROVM_PORT_STDOUT, -1, VCON_FROM_GUEST },
		{ MICROVM_PORT_STDERR, -1, VCON_FROM_GUEST },
		{ MICROVM_PORT_CONTROL, m->control_fd[0], VCON_TO_GUEST },
		{ MICROVM_PORT_EVENTS, m->exec.events_fd[1], VCON_FROM_GUEST },
	};
	const struct vcon_config cfg = { .ports = ports, .nports = NFIXED,
					 .nspare = RUN_EXEC_PORTS, .seccomp = true };

	ck_assert_int_eq(fake_mem_init(&x->mem, RAM_BYTES), 0);
	ck_assert_int_eq(vcon_init(&m->stdio, &cfg, &x->mem.mem, LAYOUT_VIRTIO_MMIO_BASE, 5), 0);
	m->stdio_created = true;
	vcg_init(&x->g, &x->mem, &m->stdio, NFIXED + RUN_EXEC_PORTS);
}

/* Teardown as run_job_destroy_stdio does it. */
static void rx_fini(struct rx *x)
{
	struct machine *m = x->m;
	char path[128];

	if (m->stdio_created)
		vcon_drain(&m->stdio);
	run_exec_destroy(m);
	if (m->stdio_created)
		vcon_destroy(&m->stdio);
	for (int i = 0; i < 2; i++)
		if (m->control_fd[i] >= 0)
			close(m->control_fd[i]);
	if (x->mem.ram)
		fake_mem_destroy(&x->mem);
	snprintf(path, sizeof(path), "%s/%s", x->dir, OCI_EXEC_SOCK_FILE);
	unlink(path);
	rmdir(x->dir);
	free(m);
}

/* The VMM's main loop for ms milliseconds. */
static void rx_serve(struct rx *x, int ms)
{
	int64_t end = vcg_now_ms() + ms;

	do {
		struct pollfd fds[RUN_EXEC_MAX_POLL];
		unsigned n = run_exec_poll(x->m, fds);

		ck_assert_uint_le(n, RUN_EXEC_MAX_POLL);
		if (poll(fds, n, 5) > 0)
			run_exec_serve(x->m, fds, n);
	} while (vcg_now_ms() < end);
}

/* A helper's request, as oci/exec.c sends it: its socket. */
static int rx_request(struct rx *x, const char *blob, size_t len, uint32_t flags, const int fds[3])
{
	int sock = oci_exec_connect(x->dir);

	ck_assert_int_ge(sock, 0);
	ck_assert_int_eq(oci_exec_send(sock, blob, len, flags, fds), 0);
	return sock;
}

static int rx_request_null(struct rx *x)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), sock;

	ck_assert_int_ge(null, 0);
	sock = rx_request(x, BLOB, sizeof(BLOB), 0, (int[]){ null, null, null });
	close(null);
	return sock;
}

static bool rx_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* Serve until the helper has its status. */
static uint32_t rx_status(struct rx *x, int sock)
{
	int64_t end = vcg_now_ms() + VCG_WAIT_MS;
	uint32_t status = 0;

	while (!rx_readable(sock, 0)) {
		ck_assert_msg(vcg_now_ms() < end, "the helper got no status");
		rx_serve(x, 10);
	}
	ck_assert_int_eq(oci_exec_recv_status(sock, &status), 0);
	return status;
}

static void rx_no_status(struct rx *x, int sock)
{
	rx_serve(x, 50);
	ck_assert_msg(!rx_readable(sock, 0), "the helper was answered early");
}

/* Exactly want from the control pipe (what the guest's control port would carry). */
static void rx_expect_control(struct rx *x, const void *want, size_t len)
{
	char got[512];
	size_t have = 0;
	int64_t end = vcg_now_ms() + VCG_WAIT_MS;

	ck_assert_uint_le(len, sizeof(got));
	while (have < len) {
		ssize_t n = read(x->m->control_fd[0], got + have, len - have);

		if (n > 0)
			have += (size_t)n;
		ck_assert_msg(vcg_now_ms() < end, "control: %zu of %zu bytes", have, len);
		if (n <= 0)
			rx_serve(x, 10);
	}
	ck_assert_mem_eq(got, want, len);
	ck_assert_int_eq(read(x->m->control_fd[0], got, 1), -1); /* nothing more */
}

static void rx_expect_exec(struct rx *x, unsigned serial, const char *size)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "exec %u %zu%s\n" BLOB, serial, sizeof(BLOB), size);

	rx_expect_control(x, line, (size_t)n + 1); /* the blob's NUL, sent as its last byte */
}

static void rx_event(struct rx *x, const char *line)
{
	ck_assert_int_eq(write(x->m->exec.events_fd[1], line, strlen(line)),
			 (ssize_t)strlen(line));
}

static int count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* All a pipe holds, then its end: the VMM kept no copy of the caller's descriptor. */
static void expect_then_eof(int fd, const char *want)
{
	char got[64];
	size_t have = 0;
	int64_t end = vcg_now_ms() + VCG_WAIT_MS;
	ssize_t n;

	while ((n = read(fd, got + have, sizeof(got) - have)) != 0) {
		ck_assert_msg(vcg_now_ms() < end, "no end after %zu bytes", have);
		if (n > 0)
			have += (size_t)n;
		else
			vcg_nap_ms(5);
	}
	ck_assert_uint_eq(have, strlen(want));
	ck_assert_mem_eq(got, want, have);
}

/* The guest's driver up, and its five fixed ports added and named (none opened). */
static void guest_up(struct rx *x)
{
	static const char *const names[NFIXED + 1] = { "", "stdin", "stdout", "stderr",
						       "control", "events" };

	vcg_up(&x->g);
	vcg_post_ctrl_bufs(&x->g, 16);
	vcg_ctrl_send(&x->g, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	for (uint32_t id = 1; id <= NFIXED; id++)
		vcg_expect_ctrl(&x->g, id, VIRTIO_CONSOLE_PORT_ADD, 1);
	for (uint32_t id = 1; id <= NFIXED; id++)
		vcg_add_named_port(&x->g, id, names[id], id == 1 ? 0 : 1);
}

/*
 * The whole way: the request's pipes become the exec ports the guest is told of; input
 * flows in; output queued before the "exit" line (which comes in two pieces) is written
 * out before the helper hears the status; then the caller's pipes end.
 */
START_TEST(exec_through_the_console_device)
{
	int in[2], out[2], err[2], sock, before;
	static const char *const names[3] = { "exec1-stdin", "exec1-stdout", "exec1-stderr" };
	struct rx x;

	rx_init(&x);
	rx_device(&x);
	guest_up(&x);
	before = count_fds();
	ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC | O_NONBLOCK), 0);
	ck_assert_int_eq(pipe2(err, O_CLOEXEC | O_NONBLOCK), 0);
	sock = rx_request(&x, BLOB, sizeof(BLOB), 0, (int[]){ in[0], out[1], err[1] });
	close(in[0]);
	close(out[1]);
	close(err[1]);
	rx_expect_exec(&x, 1, "");
	for (uint32_t id = RUN_EXEC_FIRST_PORT; id < RUN_EXEC_FIRST_PORT + 3; id++)
		vcg_expect_ctrl(&x.g, id, VIRTIO_CONSOLE_PORT_ADD, 1);
	for (uint32_t k = 0; k < 3; k++)
		vcg_add_named_port(&x.g, RUN_EXEC_FIRST_PORT + k, names[k], 1);
	vcg_ctrl_send(&x.g, RUN_EXEC_FIRST_PORT, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ck_assert_int_eq(write(in[1], "in", 2), 2);
	vcg_expect_input(&x.g, RUN_EXEC_FIRST_PORT, "in", 2);
	/* Queued, not kicked: the process's last write, just before it exits. */
	vcg_send_out(&x.g, vcg_txq(RUN_EXEC_FIRST_PORT + 1), "out", 3, false);
	vcg_send_out(&x.g, vcg_txq(RUN_EXEC_FIRST_PORT + 2), "err", 3, false);
	vcg_expect_used(&x.g, vcg_txq(P_EVENTS),
			vcg_send_out(&x.g, vcg_txq(P_EVENTS), "exit 1 2", 8, true), 0);
	rx_no_status(&x, sock);
	vcg_expect_used(&x.g, vcg_txq(P_EVENTS),
			vcg_send_out(&x.g, vcg_txq(P_EVENTS), " 5\n", 3, true), 0);
	ck_assert_uint_eq(rx_status(&x, sock), MICROVM_STATUS(STATUS_EXITED, 5));
	for (uint32_t id = RUN_EXEC_FIRST_PORT; id < RUN_EXEC_FIRST_PORT + 3; id++)
		vcg_expect_ctrl(&x.g, id, VIRTIO_CONSOLE_PORT_REMOVE, 1);
	expect_then_eof(out[0], "out");
	expect_then_eof(err[0], "err");
	close(out[0]);
	close(err[0]);
	close(in[1]);
	close(sock);
	rx_serve(&x, 20);
	ck_assert_int_eq(count_fds(), before); /* no port, socket or slot descriptor is left */
	ck_assert_uint_eq(x.m->exec.bad_events, 0);
	rx_fini(&x);
}
END_TEST

/* Lines a hostile guest may write: each counted and ignored; the process still runs. */
START_TEST(hostile_events_are_ignored)
{
	static const char *const bad[] = {
		"exit\n", "exit 1\n", "exit 1 2\n", "exit 1 2 5 6\n", "exit 2 2 5\n",
		"exit 1 9 0\n", "exit 1 2 256\n", "exit 1 3 0\n", "exit 1 3 65\n", "exit 1 4 1\n",
		"exit 1 1 0\n", "exit -1 2 0\n", "exit +1 2 0\n", "exit 1 2 0x\n", "exit  1 2 0\n",
		"exit 0 2 0\n", "exit 2147483648 2 0\n", "exit 99999999999999999999 2 0\n",
		"EXIT 1 2 0\n", "\n", "exit 1 2 0 \n", "hello\n",
	};
	static const char nul[] = "exit 1 2\0 0\n";
	static char flood[100000];
	struct rx x;
	int sock;

	rx_init(&x);
	rx_device(&x); /* never started: the ports' adds stay pending */
	sock = rx_request_null(&x);
	rx_expect_exec(&x, 1, "");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		rx_event(&x, bad[i]);
		rx_serve(&x, 2);
	}
	ck_assert_int_eq(write(x.m->exec.events_fd[1], nul, sizeof(nul) - 1), sizeof(nul) - 1);
	/* An endless line, pushed through as the pipe drains: dropped whole. */
	memset(flood, '1', sizeof(flood));
	for (size_t off = 0; off < sizeof(flood);) {
		ssize_t n = write(x.m->exec.events_fd[1], flood + off, sizeof(flood) - off);

		if (n > 0)
			off += (size_t)n;
		rx_serve(&x, 1);
	}
	rx_event(&x, " exit 1 2 0\n");
	rx_no_status(&x, sock);
	ck_assert_uint_eq(x.m->exec.bad_events, ARRAY_SIZE(bad) + 2);
	ck_assert_int_eq(x.m->exec.slots[0].state, RUN_EXEC_RUNNING);
	/* The real end, then the same again: the second is no one's. */
	rx_event(&x, "exit 1 3 9\n");
	ck_assert_uint_eq(rx_status(&x, sock), MICROVM_STATUS(STATUS_KILLED, 9));
	rx_event(&x, "exit 1 2 0\n");
	rx_serve(&x, 20);
	ck_assert_uint_eq(x.m->exec.bad_events, ARRAY_SIZE(bad) + 3);
	ck_assert_int_eq(x.m->exec.slots[0].state, RUN_EXEC_FREE);
	close(sock);
	rx_fini(&x);
}
END_TEST

/* A terminal's size goes with the exec line and after a SIGWINCH; signals; a hang-up. */
START_TEST(signals_resizes_and_a_helper_that_hangs_up)
{
	struct winsize ws = { .ws_row = 33, .ws_col = 101 };
	int master, slave, tty_sock, pipe_sock, before;
	struct rx x;

	rx_init(&x);
	rx_device(&x);
	before = count_fds();
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(master, 0);
	ck_assert_int_eq(unlockpt(master), 0);
	slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(slave, 0);
	ck_assert_int_eq(ioctl(master, TIOCSWINSZ, &ws), 0);
	tty_sock = rx_request(&x, BLOB, sizeof(BLOB), OCI_EXEC_F_TERMINAL,
			      (int[]){ slave, slave, slave });
	close(slave);
	rx_expect_exec(&x, 1, " 33 101");
	ws = (struct winsize){ .ws_row = 40, .ws_col = 120 };
	ck_assert_int_eq(ioctl(master, TIOCSWINSZ, &ws), 0);
	ck_assert_int_eq(oci_exec_send_status(tty_sock, SIGWINCH), 0);
	rx_expect_control(&x, "resize 1 40 120\n", 16);
	ck_assert_int_eq(oci_exec_send_status(tty_sock, SIGTERM), 0);
	rx_expect_control(&x, "kill 1 15\n", 10);
	/* Without a terminal SIGWINCH is a signal like the others. */
	pipe_sock = rx_request_null(&x);
	rx_expect_exec(&x, 2, "");
	ck_assert_int_eq(oci_exec_send_status(pipe_sock, SIGWINCH), 0);
	rx_expect_control(&x, "kill 2 28\n", 10);
	/* The helper is killed: so is its process; its status goes nowhere. */
	close(pipe_sock);
	rx_expect_control(&x, "kill 2 9\n", 9);
	rx_event(&x, "exit 2 3 9\n");
	rx_event(&x, "exit 1 2 0\n");
	ck_assert_uint_eq(rx_status(&x, tty_sock), MICROVM_STATUS(STATUS_EXITED, 0));
	close(tty_sock);
	close(master);
	rx_serve(&x, 20);
	ck_assert_int_eq(count_fds(), before); /* the slot's terminal was closed too */
	ck_assert_uint_eq(x.m->exec.bad_events, 0);
	rx_fini(&x);
}
END_TEST

/* Requests the VMM refuses, each answered INIT_FAILED with nothing kept. */
START_TEST(bad_requests_and_busy_slots_are_refused)
{
	struct oci_exec_hdr bad = { 1, 2, 0 };
	int socks[RUN_EXEC_SLOTS + 1], sock, before, null = open("/dev/null", O_RDWR | O_CLOEXEC);
	struct rx x;

	rx_init(&x);
	rx_device(&x);
	before = count_fds();
	sock = oci_exec_connect(x.dir);
	ck_assert_int_ge(sock, 0);
	ck_assert_int_eq(send(sock, &bad, sizeof(bad), 0), (ssize_t)sizeof(bad));
	ck_assert_uint_eq(rx_status(&x, sock), MICROVM_STATUS(STATUS_INIT_FAILED, 0));
	close(sock);
	/* A caller that hangs up before its request. */
	sock = oci_exec_connect(x.dir);
	ck_assert_int_ge(sock, 0);
	rx_serve(&x, 20);
	close(sock);
	rx_serve(&x, 20);
	ck_assert_int_eq(count_fds(), before);
	for (unsigned i = 0; i < RUN_EXEC_SLOTS; i++) {
		socks[i] = rx_request_null(&x);
		rx_serve(&x, 10);
	}
	socks[RUN_EXEC_SLOTS] = rx_request_null(&x);
	ck_assert_uint_eq(rx_status(&x, socks[RUN_EXEC_SLOTS]),
			  MICROVM_STATUS(STATUS_INIT_FAILED, 0));
	for (unsigned i = 0; i < RUN_EXEC_SLOTS; i++)
		rx_no_status(&x, socks[i]);
	/* The VM ends: every helper still waiting learns its process died with it. */
	run_exec_destroy(x.m);
	for (unsigned i = 0; i <= RUN_EXEC_SLOTS; i++) {
		uint32_t st = 0;

		if (i < RUN_EXEC_SLOTS) {
			ck_assert_int_eq(oci_exec_recv_status(socks[i], &st), 0);
			ck_assert_uint_eq(st, MICROVM_STATUS(STATUS_KILLED, SIGKILL));
		}
		close(socks[i]);
	}
	ck_assert_int_eq(oci_exec_connect(x.dir), -ECONNREFUSED); /* the listener is closed */
	close(null);
	rx_fini(&x);
}
END_TEST

/*
 * A guest that does not read its control port: a request that does not fit whole is
 * refused, never written in part, and the port stays open for what comes after.
 */
START_TEST(a_full_control_pipe_refuses_the_request)
{
	static char junk[4096];
	int sock, unread = 0;
	size_t filled = 0;
	struct rx x;

	rx_init(&x);
	rx_device(&x);
	memset(junk, 'j', sizeof(junk));
	while (filled + sizeof(junk) + 4096 < x.m->exec.control_cap) {
		ck_assert_int_eq(write(x.m->control_fd[1], junk, sizeof(junk)), (ssize_t)sizeof(junk));
		filled += sizeof(junk);
	}
	sock = rx_request_null(&x);
	ck_assert_uint_eq(rx_status(&x, sock), MICROVM_STATUS(STATUS_INIT_FAILED, 0));
	close(sock);
	ck_assert_int_ge(x.m->control_fd[1], 0);
	ck_assert_int_eq(ioctl(x.m->control_fd[0], FIONREAD, &unread), 0);
	ck_assert_uint_eq((size_t)unread, filled);
	/* The guest reads again: the next request goes whole. */
	while (read(x.m->control_fd[0], junk, sizeof(junk)) > 0)
		;
	sock = rx_request_null(&x);
	rx_expect_exec(&x, 2, "");
	rx_event(&x, "exit 2 2 0\n");
	ck_assert_uint_eq(rx_status(&x, sock), MICROVM_STATUS(STATUS_EXITED, 0));
	close(sock);
	rx_fini(&x);
}
END_TEST

static Suite *run_exec_suite(void)
{
	Suite *s = suite_create("run_exec");
	TCase *tc = tcase_create("exec");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, exec_through_the_console_device);
	tcase_add_test(tc, hostile_events_are_ignored);
	tcase_add_test(tc, signals_resizes_and_a_helper_that_hangs_up);
	tcase_add_test(tc, bad_requests_and_busy_slots_are_refused);
	tcase_add_test(tc, a_full_control_pipe_refuses_the_request);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(run_exec_suite());
}
