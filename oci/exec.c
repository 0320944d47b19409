/* exec.c: `microvm exec`: a second process in a running container, through its VMM's exec socket. */
/*
 * runc's contract: the process comes from --process FILE (a process object) or from the
 * container's own process with the arguments, --env, --cwd, --user and
 * --additional-gids put in; its stdio are ours. We send it to the VMM
 * (oci/exec_wire.h) and fork a helper that stands for the process: it is what
 * --pid-file names, it exits with the process's status (or dies of its signal) and it
 * forwards the signals it gets (containerd's shim signals that pid). With --detach we
 * return once the helper runs; otherwise we wait for it and pass it the signals we get
 * (the helper has a session of its own, so a terminal's ^C reaches the process once).
 * The helper keeps no copy of the stdio descriptors, so the caller's pipes end when the
 * process's ports close.
 *
 * A terminal (--tty, or terminal in the process file): with --detach, a new pty whose
 * master goes to --console-socket as create does (oci/console.c); in the foreground, our
 * own stdin if it is a terminal. Its slave, in raw mode (the guest's pty does the line
 * discipline), is the process's stdio; the helper makes it its controlling terminal, so
 * a resize of the master brings it SIGWINCH, which the VMM turns into the guest pty's
 * new size.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include "../guest/protocol.h"
#include "../vmm/config_value.h"
#include "exec_wire.h"

#define EXEC_MAX_GROUPS 65536U

static volatile sig_atomic_t exec_pending[NSIG];
static volatile sig_atomic_t exec_helper_pid; /* the foreground caller passes signals on */

/* The process's terminal on our side, while we set it up and (foreground) wait. */
struct exec_tty {
	int fd;       /* -1: no terminal */
	bool own;     /* a pty slave we opened (closed after the fork), not our stdin */
	bool restore; /* saved holds our stdin's mode from before raw */
	struct termios saved;
};

/* Signals passed on: all a shell or the shim might send but the uncatchable, SIGCHLD,
 * SIGPIPE and those the kernel sends for a fault of our own. */
static bool exec_forwardable(int sig)
{
	switch (sig) {
	case SIGKILL: case SIGSTOP: case SIGCHLD: case SIGPIPE:
	case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGTRAP: case SIGSYS:
		return false;
	default:
		return sig < SIGRTMIN || sig > SIGRTMAX; /* glibc keeps a few RT signals */
	}
}

static void exec_on_signal(int sig)
{
	exec_pending[sig] = 1;
}

/* The helper: every forwardable signal caught, blocked except while it waits (ppoll). */
static void exec_helper_signals(sigset_t *waiting)
{
	struct sigaction sa = { .sa_handler = exec_on_signal };
	sigset_t set;

	sigemptyset(&set);
	for (int sig = 1; sig < NSIG; sig++)
		if (exec_forwardable(sig))
			sigaddset(&set, sig);
	sigprocmask(SIG_BLOCK, &set, waiting);
	for (int sig = 1; sig < NSIG; sig++)
		if (exec_forwardable(sig))
			sigaction(sig, &sa, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (exec_forwardable(sig))
			sigdelset(waiting, sig);
}

static void exec_forward(int sock)
{
	for (int sig = 1; sig < NSIG; sig++) {
		if (!exec_pending[sig])
			continue;
		exec_pending[sig] = 0;
		if (oci_exec_send_status(sock, (uint32_t)sig) < 0)
			return;
	}
}

/* The helper's end: the process's status as our own, a signal death as a signal death. */
static __attribute__((noreturn)) void exec_helper_exit(uint32_t status)
{
	unsigned kind = status >> 24, value = status & 0xffffffU;
	sigset_t set;

	if (kind == STATUS_KILLED && value > 0 && value < NSIG) {
		signal((int)value, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, (int)value);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise((int)value);
	}
	_exit(oci_exec_exit_code(status));
}

/* A session of our own; a pty we opened becomes its terminal (for SIGWINCH), then closed. */
static void exec_helper_session(int ctty)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	setsid();
	if (ctty >= 0) {
		if (ioctl(ctty, TIOCSCTTY, 0) < 0)
			oci_debug("exec: the terminal's resizes will not be passed on: %s",
				  strerror(errno));
		close(ctty); /* the VMM's copies alone keep it open: the master sees the end */
	}
	/* The caller's pipes are the VMM's now: holding them would keep them from ending. */
	for (int fd = 0; fd < 3; fd++)
		if (null >= 0)
			dup2(null, fd);
	if (null > 2)
		close(null);
}

/*
 * Wait for the status, passing signals on. They are blocked but inside ppoll, so one that
 * comes while we send the last is not lost until the next. ready is closed once the
 * helper takes signals: a resize the caller makes after we return reaches it.
 */
static __attribute__((noreturn)) void exec_helper(int sock, int ctty, int ready)
{
	uint32_t status = MICROVM_STATUS(STATUS_KILLED, SIGKILL);
	sigset_t waiting;
	int r = -EPROTO;

	exec_helper_session(ctty);
	exec_helper_signals(&waiting);
	close(ready);
	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };

		exec_forward(sock);
		if (ppoll(&p, 1, NULL, &waiting) >= 0) {
			r = oci_exec_recv_status(sock, &status);
			break;
		}
		if (errno != EINTR)
			break;
	}
	/* The VMM went away without a status: the process died with the VM. */
	exec_helper_exit(r == 0 ? status : MICROVM_STATUS(STATUS_KILLED, SIGKILL));
}

static int exec_write_pid(const char *path, pid_t pid)
{
	char tmp[OCI_MAX_PATH];
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "%d", (int)pid);
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

static int exec_raw(int fd, struct termios *saved)
{
	struct termios t;

	if (tcgetattr(fd, &t) < 0)
		return -errno;
	if (saved)
		*saved = t;
	cfmakeraw(&t);
	return tcsetattr(fd, TCSANOW, &t) < 0 ? -errno : 0;
}

/* The terminal the process gets (see the top of the file). On failure a message is out. */
static int exec_tty_open(const struct oci_spec *proc, const struct oci_exec_opts *o,
			 struct exec_tty *t)
{
	char err[OCI_ERR_MAX];
	struct winsize ws = { .ws_row = proc->console_rows, .ws_col = proc->console_cols };
	int r;

	if (!o->console_socket) {
		if (!isatty(STDIN_FILENO)) {
			oci_error("exec --tty in the foreground needs a terminal on stdin "
				  "(or --detach with --console-socket)");
			return -ENOTTY;
		}
		t->fd = STDIN_FILENO;
		r = exec_raw(t->fd, &t->saved);
		t->restore = r == 0;
	} else {
		r = oci_console_send(o->console_socket, &t->fd, err, sizeof(err));
		if (r) {
			oci_error("%s", err);
			return r;
		}
		t->own = true;
		if (ws.ws_row && ws.ws_col && ioctl(t->fd, TIOCSWINSZ, &ws) < 0)
			oci_debug("exec: cannot size the terminal: %s", strerror(errno));
		r = exec_raw(t->fd, NULL);
	}
	if (r)
		oci_error("exec: cannot put the terminal in raw mode: %s", strerror(-r));
	return r;
}

static void exec_tty_close(struct exec_tty *t)
{
	if (t->restore && tcsetattr(t->fd, TCSANOW, &t->saved) < 0)
		oci_debug("exec: the terminal's mode was not restored: %s", strerror(errno));
	t->restore = false;
	if (t->own && t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->own = false;
}

/* The foreground caller: what we get goes to the helper, which sends it on. */
static void exec_relay_signal(int sig)
{
	if (exec_helper_pid > 0)
		kill((pid_t)exec_helper_pid, sig);
}

static int exec_wait(pid_t pid)
{
	struct sigaction sa = { .sa_handler = exec_relay_signal };
	int st;

	exec_helper_pid = pid;
	for (int sig = 1; sig < NSIG; sig++)
		if (exec_forwardable(sig))
			sigaction(sig, &sa, NULL);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 1;
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

/* Connect, send the request with the process's stdio; the socket, or -1 (said why). */
static int exec_send(const char *dir, const struct oci_spec *proc, const struct exec_tty *t)
{
	int stdio[3] = { 0, 1, 2 }, tty[3] = { t->fd, t->fd, t->fd }, sock, r;
	size_t len;
	char *blob;

	r = oci_exec_blob(proc, &blob, &len);
	if (r) {
		oci_error("exec: the process is too large or empty: %s", strerror(-r));
		return -1;
	}
	sock = oci_exec_connect(dir);
	r = sock < 0 ? sock :
		       oci_exec_send(sock, blob, len, t->fd >= 0 ? OCI_EXEC_F_TERMINAL : 0,
				     t->fd >= 0 ? tty : stdio);
	free(blob);
	if (r == 0)
		return sock;
	oci_error("exec: cannot reach the container's VMM: %s", strerror(-r));
	if (sock >= 0)
		close(sock);
	return -1;
}

/* The helper, once it has its terminal and its signal handlers (or is gone). */
static pid_t exec_fork_helper(int sock, int ctty)
{
	int ready[2];
	char byte;
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		exec_helper(sock, ctty, ready[1]);
	}
	close(ready[1]);
	while (pid > 0 && read(ready[0], &byte, 1) < 0 && errno == EINTR)
		;
	close(ready[0]);
	return pid;
}

/* Send proc with our stdio (or its terminal), then fork the helper. Our exit status. */
int oci_exec_run(const char *dir, const struct oci_spec *proc, const struct oci_exec_opts *o)
{
	struct exec_tty t = { .fd = -1 };
	int sock = -1, r, status = 1;
	pid_t pid;

	if (proc->terminal && exec_tty_open(proc, o, &t) < 0)
		goto out;
	sock = exec_send(dir, proc, &t);
	if (sock < 0)
		goto out;
	pid = exec_fork_helper(sock, t.own ? t.fd : -1);
	/* The helper's alone now: when it dies, the VMM sees it hang up. */
	close(sock);
	sock = -1;
	if (pid < 0) {
		oci_error("exec: fork: %s", strerror(errno));
		goto out;
	}
	if (o->pid_file && (r = exec_write_pid(o->pid_file, pid)) < 0) {
		oci_error("pid file %s: %s", o->pid_file, strerror(-r));
		kill(pid, SIGKILL);
		goto out;
	}
	status = o->detach ? 0 : exec_wait(pid);
out:
	if (sock >= 0)
		close(sock);
	exec_tty_close(&t);
	return status;
}

/* --user "UID[:GID]" as runc takes it: numbers only; without GID the process's stays. */
static int exec_user(struct oci_spec *p, const char *user)
{
	unsigned long uid, gid = p->gid;
	char *end;

	if (*user < '0' || *user > '9')
		return -EINVAL;
	errno = 0;
	uid = strtoul(user, &end, 10);
	if (*end == ':' && end[1] >= '0' && end[1] <= '9')
		gid = strtoul(end + 1, &end, 10);
	if (errno || *end || uid > UINT32_MAX || gid > UINT32_MAX)
		return -EINVAL;
	p->user_set = true;
	p->uid = (uint32_t)uid;
	p->gid = (uint32_t)gid;
	return 0;
}

/* --env NAME=VALUE: replaces the container's NAME, else added (the last one counts). */
static int exec_env(struct oci_spec *p, const char *entry)
{
	const char *eq = strchr(entry, '=');
	size_t n = eq ? (size_t)(eq - entry) + 1 : strlen(entry);

	for (unsigned i = 0; eq && i < p->env.n; i++)
		if (strncmp(p->env.v[i], entry, n) == 0)
			return config_set_string(&p->env.v[i], entry);
	return config_strv_push(&p->env, entry, CONFIG_MAX_ENV);
}

/* --additional-gids GID[,GID...]: appended to the process's groups, as runc does. */
static int exec_gids(struct oci_spec *p, const char *list)
{
	const char *s = list;
	char *end;

	while (*s) {
		unsigned long gid;
		uint32_t *g;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		errno = 0;
		gid = strtoul(s, &end, 10);
		if (errno || gid > UINT32_MAX || (*end && *end != ','))
			return -EINVAL;
		if (p->ngroups >= EXEC_MAX_GROUPS)
			return -E2BIG;
		g = realloc(p->groups, (p->ngroups + 1) * sizeof(*g));
		if (!g)
			return -ENOMEM;
		p->groups = g;
		p->groups[p->ngroups++] = (uint32_t)gid;
		s = *end ? end + 1 : end;
	}
	return 0;
}

/* The container's own process with the command line's changes put in. */
static int exec_amend(struct oci_spec *p, const struct oci_exec_opts *o, char *err,
		      size_t errlen)
{
	int r = 0;

	config_strv_clear(&p->args);
	for (unsigned i = 0; r == 0 && i < o->nargs; i++)
		r = config_strv_push(&p->args, o->args[i], CONFIG_MAX_COMMAND_WORDS);
	for (unsigned i = 0; r == 0 && i < o->nenv; i++)
		r = exec_env(p, o->env[i]);
	if (r == 0 && o->cwd)
		r = config_set_string(&p->cwd, o->cwd);
	if (r) {
		snprintf(err, errlen, "the process is too large: %s", strerror(-r));
		return r;
	}
	if (o->user && exec_user(p, o->user) < 0) {
		snprintf(err, errlen, "--user %s: expected UID[:GID]", o->user);
		return -EINVAL;
	}
	for (unsigned i = 0; r == 0 && i < o->ngids; i++)
		if ((r = exec_gids(p, o->gids[i])) < 0)
			snprintf(err, errlen, "--additional-gids %s: expected GID[,GID...]",
				 o->gids[i]);
	p->terminal = o->tty;
	p->console_rows = p->console_cols = 0;
	return r;
}

/* The process: --process FILE (runc then ignores the other flags), or the amended one. */
static int exec_process(const struct oci_state *st, const struct oci_exec_opts *o,
			struct oci_spec *p, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	if (o->process) {
		r = oci_read_file(o->process, 1U << 20, &text, &len);
		if (r) {
			snprintf(err, errlen, "%s: %s", o->process, strerror(-r));
			return r;
		}
		r = oci_process_parse(text, len, p, err, errlen);
		free(text);
		return r;
	}
	r = oci_spec_load(st->bundle, p, err, errlen);
	return r ? r : exec_amend(p, o, err, errlen);
}

/* runc's checks and words (its checkTerminal), for exec's --detach. */
static int exec_check_terminal(const struct oci_spec *p, const struct oci_exec_opts *o)
{
	if (o->detach && p->terminal && !o->console_socket) {
		oci_error("cannot allocate tty if runc will detach without setting console socket");
		return -EINVAL;
	}
	if ((!o->detach || !p->terminal) && o->console_socket) {
		oci_error("cannot use console socket if runc will not detach or allocate tty");
		return -EINVAL;
	}
	return 0;
}

/*
 * Only a running container: a stopped one has no VM (runc's words), and a created one
 * has not booted it yet (runc could exec there; a microVM starts at `start`).
 */
static int exec_check_status(const char *dir, const struct oci_state *st)
{
	switch (oci_state_status(dir, st)) {
	case OCI_RUNNING:
		return 0;
	case OCI_CREATED:
		oci_error("cannot exec in a created container: its microVM boots at start");
		return -EBUSY;
	default:
		oci_error("cannot exec in a stopped container");
		return -ESRCH;
	}
}

int oci_cmd_exec(const struct oci_globals *g, const char *id, const struct oci_exec_opts *o)
{
	char dir[OCI_MAX_PATH], err[OCI_ERR_MAX];
	struct oci_state st = { 0 };
	struct oci_spec proc = { 0 };
	int r, status = 1;

	if (oci_check_id(id, err, sizeof(err)) < 0) {
		oci_error("%s", err);
		return 1;
	}
	if (oci_state_dir(g, id, dir, sizeof(dir)) < 0) {
		oci_error("container id too long");
		return 1;
	}
	r = oci_state_read(dir, &st);
	if (r) {
		oci_error(r == -ENOENT ? "container %s does not exist" : "cannot read %s", id);
		return 1;
	}
	if (exec_check_status(dir, &st) < 0)
		status = 1;
	else if (exec_process(&st, o, &proc, err, sizeof(err)) < 0)
		oci_error("exec: %s", err);
	else if (exec_check_terminal(&proc, o) == 0)
		status = oci_exec_run(dir, &proc, o);
	oci_spec_free(&proc);
	oci_state_free(&st);
	return status;
}
