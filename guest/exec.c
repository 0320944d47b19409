/* exec.c: second processes in the running guest (runc exec): start on "exec", report on the events port. */
/*
 * The host adds three ports named MICROVM_EXEC_PORT_FMT for serial S, then sends
 * "exec S LEN [ROWS COLS]" and the process's job records on the control port
 * (guest/protocol.h). Init waits for the ports to be named (the host opened them before
 * it named them: devices/virtio_console/control.c) and forks the process as it forks
 * the command (command.c's child set-up).
 *
 * Without a terminal the ports are the process's fds 0-2 and init closes its copies, so
 * the host sees the guest close them when the process (and whatever inherited them) is
 * gone; when it is reaped init writes "exit S KIND VALUE" on the events port.
 *
 * With JOB_TERMINAL the process gets a pty of its own as controlling terminal (pty.c,
 * as the command does), sized as the line said; init relays the stdin port to the
 * master and the master to the stdout port in its poll loop (supervise.c), "resize"
 * lines resize it, and once the process is reaped its last output is drained (as
 * supervise.c drains the command's) before the "exit" line goes out.
 *
 * Failures (bad records, no port, no pty, no free slot) are said on the process's stderr
 * port when there is one, and reported as INIT_FAILED.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "init.h"
#include "protocol.h"

static const char *const exec_streams[3] = { "stdin", "stdout", "stderr" };

static void exec_event(struct init *in, unsigned serial, unsigned kind, unsigned value)
{
	if (in->events < 0 || dprintf(in->events, "exit %u %u %u\n", serial, kind, value) < 0)
		init_say(in, "exec %u: its status (%u %u) was not reported", serial, kind, value);
}

/* Why an exec failed: to its caller (the port fd, -1: none) and the verbose console. */
static void exec_error(struct init *in, int fd, const char *fmt, ...) PRINTF_LIKE(3, 4);

static void exec_error(struct init *in, int fd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (fd >= 0)
		dprintf(fd, "microvm-init: %s\n", msg);
	init_say(in, "%s", msg);
}

static void exec_clear(struct exec_proc *e)
{
	*e = (struct exec_proc){ .pty = { -1, -1 }, .port = { -1, -1 } };
	relay_init(&e->input, -1, -1);
	relay_init(&e->output, -1, -1);
}

/* The running (not yet reaped) process of pid; pid 0: a free slot. */
static struct exec_proc *exec_find(struct cmd *c, pid_t pid)
{
	for (size_t i = 0; i < ARRAY_SIZE(c->execs); i++)
		if (c->execs[i].pid == pid && !c->execs[i].reaped)
			return &c->execs[i];
	return NULL;
}

static struct exec_proc *exec_by_serial(struct cmd *c, unsigned serial)
{
	for (size_t i = 0; i < ARRAY_SIZE(c->execs); i++)
		if (c->execs[i].pid > 0 && !c->execs[i].reaped && c->execs[i].serial == serial)
			return &c->execs[i];
	return NULL;
}

/* Ports as the process uses them; a terminal's are init's, non-blocking for the relay. */
static int exec_port_flags(int i, bool terminal)
{
	return (i == 0 ? O_RDONLY : O_WRONLY) | O_NOCTTY | O_CLOEXEC |
	       (terminal && i < 2 ? O_NONBLOCK : 0);
}

/* Open the three ports of serial, waiting (bounded) for the driver to name them. */
static int exec_open_ports(struct init *in, unsigned serial, bool terminal, int fds[3])
{
	const struct timespec pause = { 0, 10 * 1000 * 1000 };
	char name[64], dev[300];
	int err = 0, waited = 0;

	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), MICROVM_EXEC_PORT_FMT, serial, exec_streams[i]);
		while ((err = stdio_find_port(in, name, dev, sizeof(dev))) == -ENOENT &&
		       waited < INIT_PORT_WAIT_MS) {
			nanosleep(&pause, NULL);
			waited += 10;
		}
		fds[i] = err ? -1 : open(dev, exec_port_flags(i, terminal));
		if (fds[i] < 0) {
			err = err ? err : -errno;
			exec_error(in, -1, "exec %u: no usable port %s: %s", serial, name,
				   strerror(-err));
			return err;
		}
	}
	return 0;
}

/* In the child: never returns. */
static noreturn void exec_child(const struct job *job, int slave, const int fds[3])
{
	sigset_t none;
	int status;

	sigemptyset(&none);
	status = cmd_child_setup(job, slave, fds, &none);
	if (status)
		_exit(status);
	cmd_child_exec(job, -1);
}

/* A terminal: the pty, sized, and the relays between it and the ports (still the caller's). */
static int exec_terminal(struct cmd *c, struct exec_proc *e, const struct job *job,
			 const struct ctl_msg *msg, const int fds[3])
{
	int err = pty_open(c->in, job, &e->pty);

	if (!err && msg->rows && msg->cols)
		err = pty_resize(e->pty.master, msg->rows, msg->cols);
	if (err)
		return err;
	relay_init(&e->input, fds[0], e->pty.master);
	relay_init(&e->output, e->pty.master, fds[1]);
	return 0;
}

/* Fork the process; a terminal's ports become the slot's (fds[0] and fds[1] then -1). */
static int exec_spawn(struct cmd *c, struct exec_proc *e, const struct job *job,
		      const struct ctl_msg *msg, int fds[3])
{
	int err = job->terminal ? exec_terminal(c, e, job, msg, fds) : 0;
	pid_t pid = err ? -1 : fork();

	if (pid == 0)
		exec_child(job, e->pty.slave, fds);
	if (!err && pid < 0)
		err = -errno;
	/* The child has its own copy (or is not there): the master sees EIO at its end. */
	if (e->pty.slave >= 0)
		close(e->pty.slave);
	e->pty.slave = -1;
	if (err) {
		pty_close(&e->pty);
		exec_clear(e);
		return err;
	}
	if (job->terminal) {
		e->port[0] = fds[0];
		e->port[1] = fds[1];
		fds[0] = fds[1] = -1;
	}
	e->pid = pid;
	e->serial = msg->serial;
	init_say(c->in, "exec %u is pid %d", msg->serial, (int)pid);
	return 0;
}

/* Free the slot's descriptors (a terminal's; a pipe-like exec's were closed at start). */
static void exec_release(struct exec_proc *e)
{
	pty_close(&e->pty);
	for (int i = 0; i < 2; i++)
		if (e->port[i] >= 0)
			close(e->port[i]);
	exec_clear(e);
}

static int exec_check(const struct job *job, const struct exec_proc *slot)
{
	if (job->nmounts || job->has_root || job->hostname)
		return -EINVAL; /* the VM's, not a process's */
	return slot ? 0 : -EAGAIN;
}

/*
 * The ports are opened even for records that are refused, to say why where the caller
 * reads: stderr, or with a terminal stdout (the host discards a terminal's stderr).
 */
void exec_start(struct cmd *c, const struct ctl_msg *msg)
{
	struct exec_proc *e = exec_find(c, 0);
	int fds[3] = { -1, -1, -1 }, err, bad, tell;
	struct job job = { 0 };

	bad = job_parse(&job, msg->data, msg->len);
	err = exec_open_ports(c->in, msg->serial, !bad && job.terminal, fds);
	tell = !bad && job.terminal ? 1 : 2;
	if (bad)
		exec_error(c->in, fds[tell], "exec %u: bad job: %s", msg->serial, job.error);
	else if (!err && (err = exec_check(&job, e)) == 0) {
		exec_clear(e);
		err = exec_spawn(c, e, &job, msg, fds);
	}
	if (err && !bad && fds[tell] >= 0)
		exec_error(c->in, fds[tell], "exec %u: not started: %s", msg->serial,
			   strerror(-err));
	err = err ? err : bad;
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (err)
		exec_event(c->in, msg->serial, STATUS_INIT_FAILED, 0);
	job_free(&job);
}

void exec_kill(struct cmd *c, unsigned serial, int sig)
{
	struct exec_proc *e = exec_by_serial(c, serial);

	if (e && kill(e->pid, sig) < 0)
		init_say(c->in, "exec %u: signal %d not delivered: %s", serial, sig,
			 strerror(errno));
}

void exec_resize(struct cmd *c, unsigned serial, unsigned short rows, unsigned short cols)
{
	struct exec_proc *e = exec_by_serial(c, serial);
	int err = e && e->pty.master >= 0 ? pty_resize(e->pty.master, rows, cols) : 0;

	if (err)
		init_say(c->in, "exec %u: cannot resize its terminal: %s", serial, strerror(-err));
}

static void exec_report(struct cmd *c, struct exec_proc *e)
{
	if (WIFSIGNALED(e->wstatus))
		exec_event(c->in, e->serial, STATUS_KILLED, (unsigned)WTERMSIG(e->wstatus));
	else
		exec_event(c->in, e->serial, STATUS_EXITED, (unsigned)WEXITSTATUS(e->wstatus));
	exec_release(e);
}

bool exec_reaped(struct cmd *c, pid_t pid, int wstatus)
{
	struct exec_proc *e = pid > 0 ? exec_find(c, pid) : NULL;
	long long now = cmd_now_ms();

	if (!e)
		return false;
	e->reaped = true;
	e->wstatus = wstatus;
	if (e->pty.master < 0) {
		exec_report(c, e);
		return true;
	}
	e->drain_end = now + INIT_DRAIN_MAX_MS;
	e->quiet_end = now + INIT_DRAIN_QUIET_MS;
	return true;
}

void exec_poll(const struct cmd *c, struct pollfd *pfd)
{
	for (size_t i = 0; i < ARRAY_SIZE(c->execs); i++, pfd += 4) {
		const struct exec_proc *e = &c->execs[i];

		relay_poll(&e->input, &pfd[0], &pfd[1]);
		relay_poll(&e->output, &pfd[2], &pfd[3]);
		if (e->reaped) /* nobody reads the input any more */
			pfd[0].fd = pfd[1].fd = -1;
	}
}

int exec_timeout(const struct cmd *c)
{
	long long now = cmd_now_ms(), first = -1;

	for (size_t i = 0; i < ARRAY_SIZE(c->execs); i++) {
		const struct exec_proc *e = &c->execs[i];
		long long end = e->quiet_end < e->drain_end ? e->quiet_end : e->drain_end;

		if (e->reaped && (first < 0 || end < first))
			first = end;
	}
	if (first < 0)
		return -1;
	return first <= now ? 0 : (int)(first - now);
}

/* Relay; a reaped process's terminal is done at EOF, when quiet, or at the limit. */
void exec_run(struct cmd *c, const struct pollfd *pfd)
{
	long long now = cmd_now_ms();

	for (size_t i = 0; i < ARRAY_SIZE(c->execs); i++, pfd += 4) {
		struct exec_proc *e = &c->execs[i];

		if (e->pty.master < 0)
			continue;
		relay_run(&e->input, pfd[0].revents, pfd[1].revents);
		if (pfd[2].revents && e->reaped)
			e->quiet_end = now + INIT_DRAIN_QUIET_MS;
		relay_run(&e->output, pfd[2].revents, pfd[3].revents);
		if (e->reaped && ((e->output.eof && e->output.len == 0) || now >= e->quiet_end ||
				  now >= e->drain_end))
			exec_report(c, e);
	}
}
