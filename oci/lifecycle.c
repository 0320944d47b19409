/* lifecycle.c: create, start, kill and delete, with runc's checks, messages and exit statuses. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"

/* How long start waits for the VMM process to answer, and delete for it to die. */
#define OCI_START_WAIT_MS 60000
#define OCI_KILL_WAIT_MS 10000
#define OCI_POLL_MS 50
#define OCI_KVM_DEVICE "/dev/kvm"

/* Everything create prepares before it forks. */
struct create_ctx {
	char bundle[PATH_MAX];
	char dir[PATH_MAX];
	char fifo[PATH_MAX];
	struct oci_spec spec;
	struct vm_config cfg;
	int console_slave;
	bool dir_made;
};

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX], *p;

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(buf, mode) < 0 && errno != EEXIST ? -errno : 0;
}

/* Like runc: a temporary file beside it, renamed, so the reader never sees it half written. */
static int write_pid_file(const char *path, pid_t pid)
{
	char tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, n, r = 0;

	if (slash)
		n = snprintf(tmp, sizeof(tmp), "%.*s/.%s", (int)(slash - path), path, slash + 1);
	else
		n = snprintf(tmp, sizeof(tmp), ".%s", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0)
		return -errno;
	if (dprintf(fd, "%d", (int)pid) < 0)
		r = -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

/* runc's own words for a terminal without a socket and the reverse. */
static int create_check_terminal(const struct create_ctx *c, const struct oci_create_opts *o)
{
	if (c->spec.terminal && !o->console_socket) {
		oci_error("cannot allocate tty if runc will detach without setting console socket");
		return -EINVAL;
	}
	if (!c->spec.terminal && o->console_socket) {
		oci_error("cannot use console socket if runc will not detach or allocate tty");
		return -EINVAL;
	}
	return 0;
}

/* Bundle, spec, VM configuration: everything that can be wrong before any file is made. */
static int create_prepare(struct create_ctx *c, const char *id, const struct oci_create_opts *o)
{
	const char *bundle = o->bundle ? o->bundle : ".";
	char err[OCI_ERR_MAX];

	if (oci_check_id(id, err, sizeof(err)) < 0) {
		oci_error("%s", err);
		return -EINVAL;
	}
	if (!realpath(bundle, c->bundle)) {
		oci_error("bundle %s: %s", bundle, strerror(errno));
		return -EINVAL;
	}
	if (oci_spec_load(c->bundle, &c->spec, err, sizeof(err)) < 0 ||
	    oci_build_vm_config(&c->spec, c->bundle, &c->cfg, err, sizeof(err)) < 0) {
		oci_error("%s", err);
		return -EINVAL;
	}
	/* Now, not after start: the caller reports create's errors best. */
	if (access(OCI_KVM_DEVICE, R_OK | W_OK) < 0) {
		oci_error("%s: %s (microvm needs KVM)", OCI_KVM_DEVICE, strerror(errno));
		return -ENODEV;
	}
	return create_check_terminal(c, o);
}

static int create_state_dir(struct create_ctx *c, const struct oci_globals *g, const char *id)
{
	char abs[PATH_MAX];
	int r;

	r = mkdir_p(g->root, 0711);
	if (r == 0 && oci_state_dir(g, id, c->dir, sizeof(c->dir)) < 0)
		r = -ENAMETOOLONG;
	if (r) {
		oci_error("state directory %s: %s", g->root, strerror(-r));
		return r;
	}
	if (mkdir(c->dir, 0711) < 0) {
		r = -errno;
		if (r == -EEXIST)
			oci_error("container with id exists: %s", id);
		else
			oci_error("cannot create %s: %s", c->dir, strerror(-r));
		return r;
	}
	c->dir_made = true;
	/* Absolute: the VMM process leaves the caller's working directory. */
	if (!realpath(c->dir, abs) ||
	    (size_t)snprintf(c->fifo, sizeof(c->fifo), "%s/%s", abs, OCI_FIFO_FILE) >=
		    sizeof(c->fifo)) {
		oci_error("state directory %s: %s", c->dir, strerror(errno ? errno : ENAMETOOLONG));
		return -EINVAL;
	}
	if (mkfifo(c->fifo, 0600) < 0) {
		r = -errno;
		oci_error("cannot create %s: %s", c->fifo, strerror(-r));
		return r;
	}
	return 0;
}

static int create_record(struct create_ctx *c, const char *id, pid_t pid, const char *pid_file)
{
	char created[48], *rootfs = NULL;
	struct oci_state st = {
		.id = (char *)id,
		.oci_version = c->spec.oci_version,
		.bundle = c->bundle,
		.created = created,
		.pid = pid,
		.annotations = c->spec.annotations,
		.nannotations = c->spec.nannotations,
	};
	int r;

	oci_now_rfc3339(created, sizeof(created));
	st.start_time = oci_process_start_time(pid);
	if (st.start_time == 0) {
		oci_error("the VMM process %d exited at once", (int)pid);
		return -ESRCH;
	}
	if (c->spec.root_path[0] == '/')
		rootfs = strdup(c->spec.root_path);
	else if (asprintf(&rootfs, "%s/%s", c->bundle, c->spec.root_path) < 0)
		rootfs = NULL;
	st.rootfs = rootfs;
	r = rootfs ? oci_state_write(c->dir, &st) : -ENOMEM;
	free(rootfs);
	if (r) {
		oci_error("cannot write the state of %s: %s", id, strerror(-r));
		return r;
	}
	if (pid_file && (r = write_pid_file(pid_file, pid)) < 0)
		oci_error("pid file %s: %s", pid_file, strerror(-r));
	return r;
}

static int create_spawn(struct create_ctx *c, const char *id, const struct oci_create_opts *o)
{
	struct oci_child child = { .cfg = &c->cfg, .fifo = c->fifo,
				   .console_slave = c->console_slave };
	sigset_t all;
	pid_t pid;

	fflush(NULL); /* the child must not write our buffers again */
	/* Blocked across fork: the child resets the handlers it inherited before any runs. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &child.parent_mask);
	pid = fork();
	if (pid == 0)
		oci_child_run(&child);
	sigprocmask(SIG_SETMASK, &child.parent_mask, NULL);
	if (pid < 0) {
		oci_error("fork: %s", strerror(errno));
		return -errno;
	}
	if (c->console_slave >= 0)
		close(c->console_slave);
	c->console_slave = -1;
	oci_debug("container %s: VMM process %d waits for start", id, (int)pid);
	if (create_record(c, id, pid, o->pid_file) < 0) {
		kill(pid, SIGKILL);
		return -EIO;
	}
	return 0;
}

int oci_cmd_create(const struct oci_globals *g, const char *id, const struct oci_create_opts *o)
{
	struct create_ctx *c = calloc(1, sizeof(*c));
	char err[OCI_ERR_MAX];
	int r;

	if (!c) {
		oci_error("out of memory");
		return 1;
	}
	c->console_slave = -1;
	r = create_prepare(c, id, o);
	if (r == 0)
		r = create_state_dir(c, g, id);
	if (r == 0 && o->console_socket) {
		r = oci_console_send(o->console_socket, &c->console_slave, err, sizeof(err));
		if (r)
			oci_error("%s", err);
	}
	if (r == 0)
		r = create_spawn(c, id, o);
	if (r && c->dir_made && oci_state_remove(c->dir) < 0)
		oci_debug("could not remove the state of %s", id);
	if (c->console_slave >= 0)
		close(c->console_slave);
	oci_spec_free(&c->spec);
	config_free(&c->cfg);
	free(c);
	return r ? 1 : 0;
}

/* The container's state, or an error message naming it; 0 or -errno. */
static int load_state(const struct oci_globals *g, const char *id, char *dir, size_t dirlen,
		      struct oci_state *st, bool quiet_if_gone)
{
	char err[OCI_ERR_MAX];
	int r;

	if (oci_check_id(id, err, sizeof(err)) < 0) {
		oci_error("%s", err);
		return -EINVAL;
	}
	if (oci_state_dir(g, id, dir, dirlen) < 0) {
		oci_error("container id too long");
		return -ENAMETOOLONG;
	}
	r = oci_state_read(dir, st);
	if (r == -ENOENT && !quiet_if_gone)
		oci_error("container %s does not exist", id);
	else if (r && r != -ENOENT)
		oci_error("cannot read the state of %s: %s", id, strerror(-r));
	return r;
}

static bool still_alive(const struct oci_state *st)
{
	return oci_process_start_time(st->pid) == st->start_time;
}

/* Read the VMM's byte from the FIFO: it is past its wait and runs the guest now. */
static int start_handshake(const char *fifo, const struct oci_state *st)
{
	int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	int waited = 0, r = -ETIMEDOUT;
	char byte;

	if (fd < 0)
		return -errno;
	while (waited < OCI_START_WAIT_MS) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, OCI_POLL_MS);

		if (n > 0 && read(fd, &byte, 1) == 1) {
			r = 0;
			break;
		}
		if ((n > 0 && (p.revents & POLLHUP)) || !still_alive(st)) {
			r = -ESRCH;
			break;
		}
		waited += OCI_POLL_MS;
	}
	close(fd);
	return r;
}

int oci_cmd_start(const struct oci_globals *g, const char *id)
{
	char dir[PATH_MAX], fifo[PATH_MAX + 16];
	struct oci_state st;
	enum oci_status s;
	int r;

	if (load_state(g, id, dir, sizeof(dir), &st, false) < 0)
		return 1;
	s = oci_state_status(dir, &st);
	if (s != OCI_CREATED) {
		oci_error(s == OCI_RUNNING ? "cannot start an already running container" :
					     "cannot start a container that has stopped");
		oci_state_free(&st);
		return 1;
	}
	snprintf(fifo, sizeof(fifo), "%s/%s", dir, OCI_FIFO_FILE);
	r = start_handshake(fifo, &st);
	if (r == 0)
		unlink(fifo); /* from now on the status is running */
	else
		oci_error("cannot start container %s: %s", id,
			  r == -ESRCH ? "its VMM process exited" : strerror(-r));
	oci_state_free(&st);
	return r ? 1 : 0;
}

int oci_cmd_kill(const struct oci_globals *g, const char *id, const char *signal)
{
	char dir[PATH_MAX];
	struct oci_state st;
	int sig = SIGTERM, r = 0;

	if (signal && oci_parse_signal(signal, &sig) < 0) {
		oci_error("unknown signal \"%s\"", signal);
		return 1;
	}
	if (load_state(g, id, dir, sizeof(dir), &st, false) < 0)
		return 1;
	/* containerd recognises these words as "the process already finished". */
	if (oci_state_status(dir, &st) == OCI_STOPPED) {
		oci_error("container not running");
		r = 1;
	} else if (kill(st.pid, sig) < 0) {
		oci_error("kill %d: %s", (int)st.pid, strerror(errno));
		r = 1;
	}
	oci_state_free(&st);
	return r;
}

/* SIGKILL, then wait until the pid is gone or a zombie (our caller reaps it). */
static int kill_and_wait(const struct oci_state *st)
{
	struct timespec pause = { 0, OCI_POLL_MS * 1000000L };
	int waited;

	if (kill(st->pid, SIGKILL) < 0 && errno != ESRCH)
		return -errno;
	for (waited = 0; waited < OCI_KILL_WAIT_MS; waited += OCI_POLL_MS) {
		if (!still_alive(st))
			return 0;
		nanosleep(&pause, NULL);
	}
	return -ETIMEDOUT;
}

/* Created or stopped: always; running: only with --force (SIGKILL first), like runc. */
static int delete_existing(const char *id, const char *dir, struct oci_state *st, bool force)
{
	enum oci_status s = oci_state_status(dir, st);
	int r = 0;

	if (s == OCI_RUNNING && !force) {
		oci_error("cannot delete container %s that is not stopped: running", id);
		return 1;
	}
	if (s != OCI_STOPPED && (r = kill_and_wait(st)) < 0) {
		oci_error("kill container %s: %s", id, strerror(-r));
		return 1;
	}
	r = oci_state_remove(dir);
	if (r) {
		oci_error("cannot remove %s: %s", dir, strerror(-r));
		return 1;
	}
	return 0;
}

int oci_cmd_delete(const struct oci_globals *g, const char *id, bool force)
{
	char dir[PATH_MAX];
	struct oci_state st;
	int r;

	r = load_state(g, id, dir, sizeof(dir), &st, force);
	if (r == -ENOENT || (r && force && r != -EINVAL && r != -ENAMETOOLONG)) {
		/* An aborted create may have left the directory without its state file. */
		if (oci_state_remove(dir) < 0)
			oci_debug("cannot remove %s", dir);
		return force ? 0 : 1;
	}
	if (r)
		return 1;
	r = delete_existing(id, dir, &st, force);
	oci_state_free(&st);
	return r;
}
