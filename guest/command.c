/* command.c: start the job's command as init's child: stdio or terminal, limits, user, exec. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include "init.h"

extern char **environ;

/* The signals init waits for (through a signalfd); they stay blocked in init. */
static const int cmd_signals[] = { SIGCHLD, SIGTERM, SIGINT };

static void cmd_on_signal(int sig)
{
	(void)sig; /* never runs in init: the signals stay blocked and the signalfd takes them */
}

static bool cmd_has_env(const struct job *job, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < job->nenv; i++)
		if (!strncmp(job->env[i], name, len) && job->env[i][len] == '=')
			return true;
	return false;
}

/* The job's environment only, plus PATH and HOME when it lacks them. */
static char **cmd_environment(const struct job *job)
{
	char **env = calloc(job->nenv + 3, sizeof(*env));
	size_t n = 0;

	if (!env)
		return NULL;
	for (size_t i = 0; i < job->nenv; i++)
		env[n++] = job->env[i];
	if (!cmd_has_env(job, "PATH"))
		env[n++] = (char *)"PATH=" INIT_DEFAULT_PATH;
	if (!cmd_has_env(job, "HOME"))
		env[n++] = (char *)"HOME=/";
	return env;
}

/*
 * In the child: init's handlers become the defaults again before the mask is lifted, so a
 * signal that comes before exec acts on the command as it would after (not lost).
 */
static void cmd_child_signals(const sigset_t *mask)
{
	for (size_t i = 0; i < ARRAY_SIZE(cmd_signals); i++)
		signal(cmd_signals[i], SIG_DFL);
	sigprocmask(SIG_SETMASK, mask, NULL);
}

/* fds 0-2; dup2 clears O_CLOEXEC on a copy, a descriptor already in place keeps it. */
static int cmd_child_stdio(int slave, const int stdio[3])
{
	if (slave >= 0)
		return pty_child(slave);
	for (int i = 0; i < 3; i++) {
		if (stdio[i] == i ? fcntl(i, F_SETFD, 0) < 0 : dup2(stdio[i], i) < 0)
			return -errno;
	}
	return 0;
}

/*
 * The working directory is entered as root first; a directory only the job's user may
 * enter (a share owned by it) gets a second try after the switch, as runc does.
 */
static int cmd_child_workdir(const struct job *job, bool last_try)
{
	const char *dir = job->workdir ? job->workdir : "/";

	if (chdir(dir) == 0)
		return 0;
	if (!last_try && job->user_set && (errno == EACCES || errno == EPERM))
		return -EAGAIN;
	dprintf(2, "microvm-init: cannot change directory to '%s': %s\n", dir, strerror(errno));
	return -errno;
}

int cmd_child_setup(const struct job *job, int slave, const int stdio[3], const sigset_t *mask)
{
	int wd;

	cmd_child_signals(mask);
	setsid();
	if (cmd_child_stdio(slave, stdio))
		return 1;
	if (creds_rlimits(job))
		return INIT_STATUS_NO_SETUP;
	wd = cmd_child_workdir(job, false);
	if (wd && wd != -EAGAIN)
		return INIT_STATUS_NO_WORKDIR;
	if (creds_identity(job))
		return INIT_STATUS_NO_SETUP;
	if (wd && cmd_child_workdir(job, true))
		return INIT_STATUS_NO_WORKDIR;
	environ = cmd_environment(job);
	if (!environ) {
		dprintf(2, "microvm-init: out of memory\n");
		return 1;
	}
	return 0;
}

/* execvp() searches the PATH of environ, the job's. */
noreturn void cmd_child_exec(const struct job *job, int report_fd)
{
	const char *name = job->argv[0];
	int err;

	execvp(name, job->argv);
	err = errno;
	/* The shell's words and statuses: 127 not found, 126 found but not executable. */
	if (err == ENOENT && !strchr(name, '/'))
		dprintf(2, "microvm-init: %s: command not found\n", name);
	else
		dprintf(2, "microvm-init: %s: %s\n", name, strerror(err));
	if (report_fd >= 0 && write(report_fd, &err, sizeof(err)) < 0)
		_exit(126);
	_exit(err == ENOENT ? 127 : 126);
}

/* The child: never returns. */
static noreturn void cmd_child(struct cmd *c, const sigset_t *mask, int report_fd)
{
	int status = cmd_child_setup(&c->in->job, c->pty.slave, c->in->stdio, mask);

	if (status)
		_exit(status);
	cmd_child_exec(&c->in->job, report_fd);
}

/* PID 1 gets no signal it has no handler for, so each has one; then they go to a signalfd. */
static int cmd_block_signals(struct cmd *c, sigset_t *old)
{
	struct sigaction sa = { .sa_handler = cmd_on_signal };
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(cmd_signals); i++) {
		sigaddset(&set, cmd_signals[i]);
		if (sigaction(cmd_signals[i], &sa, NULL) < 0)
			return -errno;
	}
	if (sigprocmask(SIG_BLOCK, &set, old) < 0)
		return -errno;
	c->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return c->sigfd < 0 ? -errno : 0;
}

/* Whether exec worked: the CLOEXEC pipe closes empty on success, carries errno otherwise. */
static void cmd_exec_result(struct cmd *c, int fd)
{
	int err = 0;
	ssize_t n;

	do
		n = read(fd, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n == (ssize_t)sizeof(err))
		init_say(c->in, "could not execute %s: %s", c->in->job.argv[0], strerror(err));
	else
		init_say(c->in, "running %s as pid %d", c->in->job.argv[0], (int)c->pid);
}

long long cmd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * The host sends the terminal's size as the job starts; the command should see it from
 * its first TIOCGWINSZ, so the line gets a short wait (24x80 when it does not come).
 */
static void cmd_wait_winsize(struct cmd *c)
{
	long long deadline = cmd_now_ms() + INIT_WINSIZE_WAIT_MS;
	long long left;

	supervise_control(c);
	while (!c->got_winsize && c->in->control >= 0 &&
	       (left = deadline - cmd_now_ms()) > 0) {
		struct pollfd pfd = { .fd = c->in->control, .events = POLLIN };

		if (poll(&pfd, 1, (int)left) > 0)
			supervise_control(c);
	}
}

/* The terminal: a pty, and the stdin/stdout ports non-blocking for init's relay. */
static int cmd_terminal(struct cmd *c)
{
	struct init *in = c->in;
	int err = pty_open(in, &in->job, &c->pty);

	for (int i = 0; !err && i < 2; i++) {
		int fl = fcntl(in->stdio[i], F_GETFL);

		if (fl < 0 || fcntl(in->stdio[i], F_SETFL, fl | O_NONBLOCK) < 0) {
			err = -errno;
			init_error(in, "cannot make the %s port non-blocking: %s",
				   i ? "stdout" : "stdin", strerror(-err));
		}
	}
	if (err)
		return err;
	relay_init(&c->input, in->stdio[0], c->pty.master);
	relay_init(&c->output, c->pty.master, in->stdio[1]);
	cmd_wait_winsize(c);
	return 0;
}

static int cmd_prepare(struct cmd *c, sigset_t *old, int report[2])
{
	int err = cmd_block_signals(c, old);

	if (!err && pipe2(report, O_CLOEXEC) < 0)
		err = -errno;
	if (err) {
		init_error(c->in, "cannot prepare to run the command: %s", strerror(-err));
		return err;
	}
	if (c->in->job.terminal)
		return cmd_terminal(c);
	supervise_control(c); /* signals that came early are kept for the command */
	return 0;
}

static int cmd_start(struct cmd *c)
{
	sigset_t old;
	int report[2] = { -1, -1 }, err;

	err = cmd_prepare(c, &old, report);
	if (err)
		goto out;
	c->pid = fork();
	if (c->pid == 0)
		cmd_child(c, &old, report[1]);
	close(report[1]);
	report[1] = -1;
	if (c->pid < 0) {
		err = -errno;
		init_error(c->in, "cannot fork: %s", strerror(-err));
		goto out;
	}
	cmd_exec_result(c, report[0]);
	report[0] = -1;
out:
	for (int i = 0; i < 2; i++)
		if (report[i] >= 0)
			close(report[i]);
	/* The command has its own copy (or is gone): the master then sees EIO at its end. */
	if (c->pty.slave >= 0)
		close(c->pty.slave);
	c->pty.slave = -1;
	return err;
}

int command_run(struct init *in, int *wstatus)
{
	struct cmd c = { .in = in, .sigfd = -1, .pty = { -1, -1 } };
	int err;

	relay_init(&c.input, -1, -1);
	relay_init(&c.output, -1, -1);
	err = cmd_start(&c);
	if (!err) {
		err = supervise(&c, wstatus);
		if (err)
			init_error(in, "waiting for the command failed: %s", strerror(-err));
	}
	pty_close(&c.pty);
	if (c.sigfd >= 0)
		close(c.sigfd);
	return err;
}
