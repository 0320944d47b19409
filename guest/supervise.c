/* supervise.c: init's loop while the command runs: reap, forward signals, control port, terminal. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "init.h"

/* Reads of the control port per wake-up: a host that floods it cannot starve the rest. */
#define SUP_CONTROL_READS 16
/* Signals that come before the command exists wait in a 64-bit set. */
_Static_assert(NSIG - 1 <= 64, "every signal has a bit in struct cmd's early");

enum { SUP_SIGNALS, SUP_CONTROL, SUP_IN_FROM, SUP_IN_TO, SUP_OUT_FROM, SUP_OUT_TO, SUP_NFDS };

/*
 * A signal from the host (guest/protocol.h). Without a terminal it goes to the command
 * alone, as runc kill and docker kill signal a container's first process: a shell or a
 * supervisor passes it on as it chooses, and whatever is left dies with the VM. With a
 * terminal it goes to the command's process group (setsid made the command its leader),
 * as the terminal driver sends a typed ^C.
 */
static void sup_deliver(struct cmd *c, int sig)
{
	bool group = c->in->job.terminal;

	init_say(c->in, "signal %d from the host to %s %d", sig,
		 group ? "process group" : "pid", (int)c->pid);
	if (kill(group ? -c->pid : c->pid, sig) < 0)
		init_say(c->in, "signal %d not delivered: %s", sig, strerror(errno));
}

static void sup_on_control(void *ctx, const struct ctl_msg *msg)
{
	struct cmd *c = ctx;

	if (msg->kind == CTL_EXEC) {
		exec_start(c, msg);
		return;
	}
	if (msg->kind == CTL_KILL) {
		exec_kill(c, msg->serial, msg->signal);
		return;
	}
	if (msg->kind == CTL_RESIZE) {
		exec_resize(c, msg->serial, msg->rows, msg->cols);
		return;
	}
	if (msg->kind == CTL_SIGNAL && c->pid > 0)
		sup_deliver(c, msg->signal);
	else if (msg->kind == CTL_SIGNAL) /* 1 <= signal <= 64 (ctl_parse) */
		c->early |= UINT64_C(1) << (msg->signal - 1);
	if (msg->kind != CTL_WINSIZE || c->pty.master < 0)
		return;
	int err = pty_resize(c->pty.master, msg->rows, msg->cols);

	if (err)
		init_say(c->in, "cannot resize the terminal: %s", strerror(-err));
	else
		c->got_winsize = true;
}

void supervise_control(struct cmd *c)
{
	struct init *in = c->in;
	char buf[256];

	for (int i = 0; i < SUP_CONTROL_READS && in->control >= 0; i++) {
		ssize_t n = read(in->control, buf, sizeof(buf));

		if (n > 0) {
			ctl_feed(&c->ctl, buf, (size_t)n, sup_on_control, c);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		/* The host closed it (0) or it broke: no more control, never an error. */
		init_say(in, "the control port is closed");
		close(in->control);
		in->control = -1;
	}
}

/*
 * Reap all exited children (PID 1 adopts every orphan); true once the command was among
 * them. Exec'd processes are reported on the events port as they end (exec.c).
 */
static bool sup_reap(struct cmd *c, int *wstatus)
{
	bool done = false;
	pid_t got;
	int st;

	while ((got = waitpid(-1, &st, WNOHANG)) > 0) {
		if (got == c->pid) {
			*wstatus = st;
			done = true;
		} else {
			exec_reaped(c, got, st);
		}
	}
	return done;
}

/* SIGCHLD: reap; SIGTERM and SIGINT sent to init itself go on to the command. */
static int sup_signals(struct cmd *c, int *wstatus, bool *done)
{
	struct signalfd_siginfo si;
	ssize_t n;

	while ((n = read(c->sigfd, &si, sizeof(si))) == (ssize_t)sizeof(si)) {
		int sig = (int)si.ssi_signo;

		if (sig == SIGCHLD) {
			*done = sup_reap(c, wstatus) || *done;
			continue;
		}
		init_say(c->in, "forwarding signal %d to pid %d", sig, (int)c->pid);
		kill(c->pid, sig);
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		return -errno;
	return 0;
}

static void sup_deliver_early(struct cmd *c)
{
	for (int sig = 1; sig < NSIG; sig++)
		if (c->early & (UINT64_C(1) << (sig - 1)))
			sup_deliver(c, sig);
	c->early = 0;
}

static void sup_fill(struct cmd *c, struct pollfd *pfd)
{
	pfd[SUP_SIGNALS] = (struct pollfd){ .fd = c->sigfd, .events = POLLIN };
	pfd[SUP_CONTROL] = (struct pollfd){ .fd = c->in->control, .events = POLLIN };
	relay_poll(&c->input, &pfd[SUP_IN_FROM], &pfd[SUP_IN_TO]);
	relay_poll(&c->output, &pfd[SUP_OUT_FROM], &pfd[SUP_OUT_TO]);
}

/* What the terminal still holds once the command is gone goes out before the status. */
static void sup_drain(struct relay *r)
{
	long long end = cmd_now_ms() + INIT_DRAIN_MAX_MS;

	while (!r->eof || r->len > 0) {
		struct pollfd pfd[2];
		long long left = end - cmd_now_ms();
		int n;

		if (left <= 0)
			break;
		relay_poll(r, &pfd[0], &pfd[1]);
		if (pfd[0].fd < 0 && pfd[1].fd < 0)
			break;
		n = poll(pfd, 2, (int)(left < INIT_DRAIN_QUIET_MS ? left : INIT_DRAIN_QUIET_MS));
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
		if (n > 0)
			relay_run(r, pfd[0].revents, pfd[1].revents);
	}
}

/* The command's descriptors, then the exec'd processes' terminals (exec.c). */
int supervise(struct cmd *c, int *wstatus)
{
	struct pollfd pfd[SUP_NFDS + EXEC_MAX_POLL];
	bool done = false;
	int err = 0;

	sup_deliver_early(c);
	while (!done && !err) {
		sup_fill(c, pfd);
		exec_poll(c, pfd + SUP_NFDS);
		if (poll(pfd, ARRAY_SIZE(pfd), exec_timeout(c)) < 0) {
			err = errno == EINTR ? 0 : -errno;
			continue;
		}
		if (pfd[SUP_SIGNALS].revents)
			err = sup_signals(c, wstatus, &done);
		if (pfd[SUP_CONTROL].revents)
			supervise_control(c);
		relay_run(&c->input, pfd[SUP_IN_FROM].revents, pfd[SUP_IN_TO].revents);
		relay_run(&c->output, pfd[SUP_OUT_FROM].revents, pfd[SUP_OUT_TO].revents);
		exec_run(c, pfd + SUP_NFDS);
	}
	if (!err && c->pty.master >= 0)
		sup_drain(&c->output);
	return err;
}
