/* run_exec.c: runtime mode's exec: the exec socket, the slots' ports, the guest's "exit" events. */
/*
 * A helper (`microvm exec`, oci/exec.c) connects to the listener and sends one request:
 * the process's job records and its stdin, stdout and stderr (oci/exec_wire.h). The
 * main thread gives a free slot's three spare console ports those descriptors
 * (vcon_port_add: the device owns them from then on), then sends "exec S LEN" (with a
 * terminal "exec S LEN ROWS COLS") and the records on the control port; microvm-init
 * starts the process on those ports (guest/exec.c). Its "exit S KIND VALUE" line on the
 * events port makes the main thread remove the ports, which writes out the output the
 * guest queued first; once all three removals are over (the descriptors closed, so the
 * helper's caller sees EOF) the helper gets the status. A signal the helper forwards
 * becomes "kill S N", a terminal's SIGWINCH "resize S ROWS COLS"; a helper that hangs up
 * makes the process get SIGKILL, as a runc exec process dies with its parent's kill.
 *
 * Nothing here trusts the guest: a malformed events line, an unknown serial, a second
 * "exit" or a flood of bytes is counted and ignored. A guest that never answers keeps its
 * slots busy (later requests are refused) until the VM ends, when every helper still
 * waiting is answered. The control pipe is shared with run_job.c's signal lines, so a
 * request goes out whole or not at all: it is refused when the pipe lacks the room.
 */
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
#include "../guest/protocol.h"
#include "../oci/exec_wire.h"
#include "machine.h"

/* Pipe pages a partly read or partly filled buffer may waste (the room check's margin). */
#define RUN_EXEC_PIPE_SLACK (2U * 4096U)

static int run_exec_listener = -1;

void run_exec_set_listener(int fd)
{
	run_exec_listener = fd;
}

static void run_exec_slot_clear(struct run_exec_slot *s)
{
	*s = (struct run_exec_slot){ .state = RUN_EXEC_FREE, .sock = -1, .tty = -1 };
}

int run_exec_init(struct machine *m)
{
	struct run_exec *x = &m->exec;

	x->listen_fd = run_exec_listener;
	run_exec_listener = -1;
	x->events_fd[0] = x->events_fd[1] = -1;
	x->ready = true;
	for (unsigned i = 0; i < RUN_EXEC_SLOTS; i++)
		run_exec_slot_clear(&x->slots[i]);
	if (pipe2(x->events_fd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static uint32_t run_exec_port(unsigned slot, unsigned stream)
{
	return RUN_EXEC_FIRST_PORT + 3 * slot + stream;
}

/* Whether len more bytes fit in the control pipe now (the guest may not be reading). */
static bool run_exec_control_room(const struct machine *m, size_t len)
{
	int unread = 0;

	if (m->exec.control_cap == 0 || ioctl(m->control_fd[1], FIONREAD, &unread) < 0 ||
	    unread < 0)
		return false;
	return (size_t)unread + len + RUN_EXEC_PIPE_SLACK <= m->exec.control_cap;
}

/*
 * A request for the guest, whole or not at all (-EAGAIN: no room). A short write cannot
 * happen after the room check; were it to, the stream would be garbled, so the port is
 * closed rather than let the guest misread what follows.
 */
static int run_exec_control(struct machine *m, const char *buf, size_t len)
{
	ssize_t n;

	if (m->control_fd[1] < 0)
		return -EPIPE;
	if (!run_exec_control_room(m, len))
		return -EAGAIN;
	n = write(m->control_fd[1], buf, len);
	if (n == (ssize_t)len)
		return 0;
	if (n < 0 && errno == EAGAIN)
		return -EAGAIN; /* nothing was written */
	log_error("exec: a short write on the control port; it is closed for good");
	close(m->control_fd[1]);
	m->control_fd[1] = -1;
	return -EIO;
}

/* A short line (atomic in a pipe): dropped when the pipe is full, as run_job.c does. */
static void run_exec_control_line(struct machine *m, const char *line)
{
	if (m->control_fd[1] < 0 || write(m->control_fd[1], line, strlen(line)) < 0)
		log_debug("exec: control line not sent: %s", line);
}

/*
 * The status, then close. What the helper sent and we never read (a request refused
 * unread, a signal that crossed the status) is read first: a socket closed with unread
 * data makes the helper's next recv fail with ECONNRESET instead of giving the status.
 */
static void run_exec_answer(struct run_exec_slot *s, uint32_t status)
{
	int sig, ret = 0;

	for (unsigned i = 0; i < 64 && (ret == 0 || ret == -EPROTO); i++)
		ret = oci_exec_recv_signal(s->sock, &sig);
	if (oci_exec_send_status(s->sock, status) < 0)
		log_debug("exec %u: the helper is gone; status not sent", s->serial);
	close(s->sock);
	if (s->tty >= 0)
		close(s->tty);
	run_exec_slot_clear(s);
}

/* The exec line: with a terminal of known size, its size too (the process sees it first). */
static int run_exec_header(const struct run_exec_slot *s, size_t len, char *buf, size_t size)
{
	struct winsize ws;

	if (s->tty >= 0 && ioctl(s->tty, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
		return snprintf(buf, size, "exec %u %zu %u %u\n", s->serial, len, ws.ws_row,
				ws.ws_col);
	return snprintf(buf, size, "exec %u %zu\n", s->serial, len);
}

/* The slot's three ports: the descriptors are the device's from here, even on failure. */
static int run_exec_add_ports(struct machine *m, unsigned i, int fds[3])
{
	static const char *const names[3] = { "stdin", "stdout", "stderr" };
	struct run_exec_slot *s = &m->exec.slots[i];
	char name[32];
	int ret = 0;

	for (unsigned k = 0; k < 3; k++) {
		snprintf(name, sizeof(name), MICROVM_EXEC_PORT_FMT, s->serial, names[k]);
		if (ret == 0)
			ret = vcon_port_add(&m->stdio, run_exec_port(i, k), name, fds[k],
					    k == 0 ? VCON_TO_GUEST : VCON_FROM_GUEST);
		else if (fds[k] >= 0)
			close(fds[k]);
	}
	return ret;
}

/*
 * Hand the descriptors to the slot's ports and the records to the guest. With a terminal
 * the three are one: stdin and stdout are relayed, the third stays with the slot for the
 * terminal's size, and the stderr port discards (the guest writes none).
 */
static int run_exec_launch(struct machine *m, unsigned i, const char *blob, size_t len,
			   uint32_t flags, int fds[3])
{
	struct run_exec_slot *s = &m->exec.slots[i];
	char *msg;
	int n, ret;

	s->serial = m->exec.next_serial % INT32_MAX + 1; /* 1..INT32_MAX, as the guest takes */
	m->exec.next_serial = s->serial;
	if (flags & OCI_EXEC_F_TERMINAL) {
		s->tty = fds[2];
		fds[2] = -1;
	}
	ret = run_exec_add_ports(m, i, fds);
	msg = ret ? NULL : malloc(MICROVM_CONTROL_LINE_MAX + len);
	if (!msg)
		return ret ? ret : -ENOMEM;
	n = run_exec_header(s, len, msg, MICROVM_CONTROL_LINE_MAX);
	memcpy(msg + n, blob, len);
	ret = run_exec_control(m, msg, (size_t)n + len);
	free(msg);
	return ret;
}

static void run_exec_remove_ports(struct machine *m, unsigned i)
{
	struct run_exec_slot *s = &m->exec.slots[i];

	s->state = RUN_EXEC_REMOVING;
	s->collected = 0;
	for (unsigned k = 0; k < 3; k++)
		if (vcon_port_remove(&m->stdio, run_exec_port(i, k)) < 0)
			s->collected++; /* never added: nothing to wait for */
	if (s->collected == 3)
		run_exec_answer(s, s->status);
}

static void run_exec_request(struct machine *m, unsigned i)
{
	struct run_exec_slot *s = &m->exec.slots[i];
	uint32_t flags;
	int fds[3], ret;
	char *blob;
	size_t len;

	ret = oci_exec_recv(s->sock, &blob, &len, &flags, fds);
	if (ret == -EAGAIN)
		return;
	if (ret) {
		log_info("exec: a malformed request was refused (%s)", strerror(-ret));
		run_exec_answer(s, MICROVM_STATUS(STATUS_INIT_FAILED, 0));
		return;
	}
	ret = run_exec_launch(m, i, blob, len, flags, fds);
	free(blob);
	s->state = RUN_EXEC_RUNNING;
	if (ret) {
		log_error("exec: cannot start the process: %s",
			  ret == -EAGAIN ? "the guest is not reading its control port" :
					   strerror(-ret));
		s->status = MICROVM_STATUS(STATUS_INIT_FAILED, 0);
		run_exec_remove_ports(m, i);
	}
}

static void run_exec_accept(struct machine *m)
{
	int fd = accept4(m->exec.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct run_exec_slot busy;

	if (fd < 0)
		return;
	for (unsigned i = 0; i < RUN_EXEC_SLOTS; i++) {
		struct run_exec_slot *s = &m->exec.slots[i];

		if (s->state == RUN_EXEC_FREE) {
			s->state = RUN_EXEC_REQUEST;
			s->sock = fd;
			return;
		}
	}
	log_error("exec: %u processes run already; request refused", RUN_EXEC_SLOTS);
	run_exec_slot_clear(&busy);
	busy.sock = fd;
	run_exec_answer(&busy, MICROVM_STATUS(STATUS_INIT_FAILED, 0));
}

/* The helper forwarded a signal, or hung up (then the process is killed). */
static void run_exec_from_helper(struct machine *m, unsigned i)
{
	struct run_exec_slot *s = &m->exec.slots[i];
	char line[MICROVM_CONTROL_LINE_MAX];
	int sig = 0, ret = oci_exec_recv_signal(s->sock, &sig);
	struct winsize ws;

	if (ret == -EAGAIN || ret == -EPROTO)
		return;
	if (ret) {
		sig = SIGKILL;
		s->hung_up = true;
	}
	if (sig == SIGWINCH && s->tty >= 0) {
		if (ioctl(s->tty, TIOCGWINSZ, &ws) < 0)
			return;
		snprintf(line, sizeof(line), "resize %u %u %u\n", s->serial, ws.ws_row, ws.ws_col);
	} else {
		snprintf(line, sizeof(line), "kill %u %d\n", s->serial, sig);
	}
	run_exec_control_line(m, line);
}

/* A decimal of at most max at *p (digits only); *p moves past it. */
static bool run_exec_number(const char **p, unsigned max, unsigned *out)
{
	unsigned v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (max - (unsigned)(*s - '0')) / 10)
			return false;
		v = v * 10 + (unsigned)(*s - '0');
	}
	*p = s;
	*out = v;
	return true;
}

/* "exit S KIND VALUE", exactly: S 1..INT32_MAX, a final KIND, VALUE as that kind allows. */
static bool run_exec_parse_exit(const char *line, unsigned *serial, uint32_t *status)
{
	const char *p = line + 5;
	unsigned kind, value;

	if (strncmp(line, "exit ", 5) || !run_exec_number(&p, INT32_MAX, serial) || *serial == 0 ||
	    *p++ != ' ' || !run_exec_number(&p, STATUS_INIT_FAILED, &kind) || *p++ != ' ' ||
	    !run_exec_number(&p, 255, &value) || *p)
		return false;
	if (kind == STATUS_EXITED || (kind == STATUS_KILLED && value > 0 && value < NSIG) ||
	    (kind == STATUS_INIT_FAILED && value == 0)) {
		*status = MICROVM_STATUS(kind, value);
		return true;
	}
	return false;
}

/* An events line: the slot's ports go, then the helper is answered. */
static void run_exec_event(struct machine *m, const char *line)
{
	uint32_t status;
	unsigned serial;

	if (!run_exec_parse_exit(line, &serial, &status)) {
		m->exec.bad_events++;
		return;
	}
	for (unsigned i = 0; i < RUN_EXEC_SLOTS; i++) {
		struct run_exec_slot *s = &m->exec.slots[i];

		if (s->state == RUN_EXEC_RUNNING && s->serial == serial) {
			s->status = status;
			run_exec_remove_ports(m, i);
			return;
		}
	}
	m->exec.bad_events++; /* not running: unknown, or reported twice */
}

/* Bytes of the events pipe into lines; an overlong line is dropped whole. */
static void run_exec_read_events(struct machine *m)
{
	struct run_exec *x = &m->exec;
	char buf[256];
	ssize_t n = read(x->events_fd[0], buf, sizeof(buf));

	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (x->len < sizeof(x->line) - 1)
				x->line[x->len] = buf[i];
			if (x->len < sizeof(x->line))
				x->len++;
			continue;
		}
		if (x->len < sizeof(x->line)) {
			x->line[x->len] = '\0';
			run_exec_event(m, x->line);
		} else {
			x->bad_events++;
		}
		x->len = 0;
	}
}

static void run_exec_collect(struct machine *m)
{
	uint32_t ids[RUN_EXEC_PORTS];
	unsigned n = vcon_port_collect(&m->stdio, ids, RUN_EXEC_PORTS);

	for (unsigned k = 0; k < n; k++) {
		unsigned i = (ids[k] - RUN_EXEC_FIRST_PORT) / 3;
		struct run_exec_slot *s;

		if (ids[k] < RUN_EXEC_FIRST_PORT || i >= RUN_EXEC_SLOTS)
			continue;
		s = &m->exec.slots[i];
		if (s->state == RUN_EXEC_REMOVING && ++s->collected == 3)
			run_exec_answer(s, s->status);
	}
}

unsigned run_exec_poll(struct machine *m, struct pollfd *fds)
{
	struct run_exec *x = &m->exec;
	unsigned n = 0;

	if (!x->ready || x->listen_fd < 0 || !m->stdio_created)
		return 0;
	fds[n++] = (struct pollfd){ .fd = x->listen_fd, .events = POLLIN };
	fds[n++] = (struct pollfd){ .fd = x->events_fd[0], .events = POLLIN };
	fds[n++] = (struct pollfd){ .fd = vcon_removed_fd(&m->stdio), .events = POLLIN };
	for (unsigned i = 0; i < RUN_EXEC_SLOTS; i++) {
		const struct run_exec_slot *s = &x->slots[i];
		bool want = s->state == RUN_EXEC_REQUEST ||
			    (s->state == RUN_EXEC_RUNNING && !s->hung_up);

		fds[n++] = (struct pollfd){ .fd = want ? s->sock : -1, .events = POLLIN };
	}
	return n;
}

void run_exec_serve(struct machine *m, const struct pollfd *fds, unsigned n)
{
	struct run_exec *x = &m->exec;

	if (n < 3)
		return;
	if (fds[1].revents)
		run_exec_read_events(m);
	if (fds[2].revents)
		run_exec_collect(m);
	for (unsigned i = 0; i < RUN_EXEC_SLOTS && 3 + i < n; i++) {
		if (!fds[3 + i].revents)
			continue;
		if (x->slots[i].state == RUN_EXEC_REQUEST)
			run_exec_request(m, i);
		else if (x->slots[i].state == RUN_EXEC_RUNNING)
			run_exec_from_helper(m, i);
	}
	if (fds[0].revents & POLLIN)
		run_exec_accept(m);
}

void run_exec_destroy(struct machine *m)
{
	struct run_exec *x = &m->exec;

	if (!x->ready)
		return;
	if (x->bad_events)
		log_info("exec: %llu malformed or unknown events lines from the guest were ignored",
			 (unsigned long long)x->bad_events);
	for (unsigned i = 0; i < RUN_EXEC_SLOTS; i++) {
		struct run_exec_slot *s = &x->slots[i];

		/* Its status came and its output is out (drained): that is its end. */
		if (s->state == RUN_EXEC_REMOVING)
			run_exec_answer(s, s->status);
		else if (s->state != RUN_EXEC_FREE)
			run_exec_answer(s, MICROVM_STATUS(STATUS_KILLED, SIGKILL));
	}
	for (unsigned i = 0; i < 2; i++)
		if (x->events_fd[i] >= 0)
			close(x->events_fd[i]);
	x->events_fd[0] = x->events_fd[1] = -1;
	if (x->listen_fd >= 0)
		close(x->listen_fd);
	x->listen_fd = -1;
	x->ready = false;
}
