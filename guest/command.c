/* command.c: run the job's command as init's child, forward signals, reap every process. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "init.h"

extern char **environ;

/* The signals init waits for; PID 1 gets none it has no handler for, so it has handlers. */
static const int cmd_signals[] = { SIGCHLD, SIGTERM, SIGINT };

static void cmd_on_signal(int sig)
{
	(void)sig; /* never runs: the signals stay blocked and sigwaitinfo() takes them */
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

/* In the child, before exec: fds 0-2, own session, working directory, environment. */
static int cmd_child_setup(struct init *in, const sigset_t *mask)
{
	const char *dir = in->job.workdir ? in->job.workdir : "/";

	sigprocmask(SIG_SETMASK, mask, NULL);
	setsid();
	for (int i = 0; i < 3; i++)
		if (dup2(in->stdio[i], i) < 0) /* dup2 clears O_CLOEXEC on the copy */
			return 1;
	if (chdir(dir) < 0) {
		dprintf(2, "microvm-init: cannot change directory to '%s': %s\n", dir,
			strerror(errno));
		return INIT_STATUS_NO_WORKDIR;
	}
	environ = cmd_environment(&in->job);
	if (!environ) {
		dprintf(2, "microvm-init: out of memory\n");
		return 1;
	}
	return 0;
}

/* The child: never returns. execvp() searches the PATH of environ, the job's. */
static noreturn void cmd_child(struct init *in, const sigset_t *mask, int report_fd)
{
	const char *name = in->job.argv[0];
	int status = cmd_child_setup(in, mask);
	int err;

	if (status)
		_exit(status);
	execvp(name, in->job.argv);
	err = errno;
	/* The shell's words and statuses: 127 not found, 126 found but not executable. */
	if (err == ENOENT && !strchr(name, '/'))
		dprintf(2, "microvm-init: %s: command not found\n", name);
	else
		dprintf(2, "microvm-init: %s: %s\n", name, strerror(err));
	if (write(report_fd, &err, sizeof(err)) < 0)
		_exit(126);
	_exit(err == ENOENT ? 127 : 126);
}

static int cmd_block_signals(sigset_t *set, sigset_t *old)
{
	struct sigaction sa = { .sa_handler = cmd_on_signal };

	sigemptyset(set);
	for (size_t i = 0; i < ARRAY_SIZE(cmd_signals); i++) {
		sigaddset(set, cmd_signals[i]);
		if (sigaction(cmd_signals[i], &sa, NULL) < 0)
			return -errno;
	}
	return sigprocmask(SIG_BLOCK, set, old) < 0 ? -errno : 0;
}

/* Whether exec worked: the CLOEXEC pipe closes empty on success, carries errno otherwise. */
static void cmd_exec_result(struct init *in, int fd, pid_t pid)
{
	int err = 0;
	ssize_t n;

	do
		n = read(fd, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n == (ssize_t)sizeof(err))
		init_say(in, "could not execute %s: %s", in->job.argv[0], strerror(err));
	else
		init_say(in, "running %s as pid %d", in->job.argv[0], (int)pid);
}

/* Reap all exited children; true once pid was among them. */
static bool cmd_reap(pid_t pid, int *wstatus)
{
	bool done = false;
	pid_t got;
	int st;

	while ((got = waitpid(-1, &st, WNOHANG)) > 0) {
		if (got == pid) {
			*wstatus = st;
			done = true;
		}
	}
	return done;
}

static int cmd_wait(struct init *in, const sigset_t *set, pid_t pid, int *wstatus)
{
	for (;;) {
		int sig = sigwaitinfo(set, NULL);

		if (sig < 0 && errno == EINTR)
			continue;
		if (sig < 0)
			return -errno;
		if (sig == SIGCHLD) {
			if (cmd_reap(pid, wstatus))
				return 0;
			continue;
		}
		init_say(in, "forwarding signal %d to pid %d", sig, (int)pid);
		kill(pid, sig);
	}
}

int command_run(struct init *in, int *wstatus)
{
	sigset_t set, old;
	int report[2], err;
	pid_t pid;

	err = cmd_block_signals(&set, &old);
	if (!err && pipe2(report, O_CLOEXEC) < 0)
		err = -errno;
	if (err) {
		init_error(in, "cannot prepare to run the command: %s", strerror(-err));
		return err;
	}
	pid = fork();
	if (pid == 0)
		cmd_child(in, &old, report[1]);
	close(report[1]);
	if (pid < 0) {
		err = -errno;
		close(report[0]);
		init_error(in, "cannot fork: %s", strerror(-err));
		return err;
	}
	cmd_exec_result(in, report[0], pid);
	err = cmd_wait(in, &set, pid, wstatus);
	if (err)
		init_error(in, "waiting for the command failed: %s", strerror(-err));
	return err;
}
