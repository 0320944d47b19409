/* lifecycle_child.c: the process create leaves behind: it waits for start on the FIFO, then is the VMM and exits with the container's status. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../vmm/run.h"
#include "../vmm/run_exec.h"
#include "exec_wire.h"
#include "internal.h"

#ifndef CLOSE_RANGE_UNSHARE
#include <linux/close_range.h>
#endif

/* Only fds 0-2 (the container's stdio) go on: the caller's others are not the VM's. */
static void child_close_fds(void)
{
	int fd;

	if (close_range(3, ~0U, 0) == 0)
		return;
	for (fd = 3; fd < 1024; fd++)
		close(fd);
}

/* As after an exec: default dispositions (a caller's handler must never run here). */
static void child_reset_signals(const sigset_t *mask)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	int sig;

	for (sig = 1; sig < _NSIG; sig++)
		sigaction(sig, &dfl, NULL); /* fails harmlessly for KILL, STOP, glibc's own */
	sigprocmask(SIG_SETMASK, mask, NULL);
}

/*
 * The open blocks until `start` opens the FIFO for reading (runc's exec.fifo idea); the
 * byte tells start that this process got there alive.
 */
static int child_wait_for_start(const char *fifo)
{
	int fd;

	do
		fd = open(fifo, O_WRONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -errno;
	if (write(fd, "0", 1) != 1) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	return 0;
}

/*
 * The exec socket, next to the FIFO, made before start so an exec that comes right after
 * start finds it; the VMM accepts once it runs (vmm/run_exec.c). Without it the container
 * runs and only exec fails.
 */
static void child_exec_listener(const char *fifo)
{
	char dir[OCI_MAX_PATH];
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", fifo);
	slash = strrchr(dir, '/');
	if (!slash)
		return;
	*slash = '\0';
	fd = oci_exec_listen(dir);
	if (fd < 0)
		log_error("exec will not be served: %s/%s: %s", dir, OCI_EXEC_SOCK_FILE,
			  strerror(-fd));
	else
		run_exec_set_listener(fd);
}

void oci_child_run(const struct oci_child *c)
{
	int r;

	/* Its own session: the caller's terminal signals and process group are not ours. */
	setsid();
	child_reset_signals(&c->parent_mask);
	if (c->console_slave >= 0) {
		r = oci_console_attach(c->console_slave);
		if (r) {
			log_error("cannot make the pseudo-terminal the container's: %s",
				  strerror(-r));
			_exit(RUN_EXIT_VMM_ERROR);
		}
	}
	child_close_fds();
	child_exec_listener(c->fifo);
	if (chdir("/") < 0)
		_exit(RUN_EXIT_VMM_ERROR);
	r = child_wait_for_start(c->fifo);
	if (r) {
		log_error("waiting for start: %s", strerror(-r));
		_exit(RUN_EXIT_VMM_ERROR);
	}
	/* exit, not _exit: the terminal mode is restored by an atexit handler. */
	exit(run_vm(c->cfg));
}
