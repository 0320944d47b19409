/* pty.c: the command's pseudo-terminal (JOB_TERMINAL): init keeps the master, the command the slave. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include "init.h"

/* devtmpfs's /dev/ptmx reaches the devpts on /dev/pts (Linux 4.7+); the other is its own. */
static const char *const pty_masters[] = { "/dev/ptmx", "/dev/pts/ptmx" };

static int pty_open_master(void)
{
	int fd = -1;

	for (size_t i = 0; i < ARRAY_SIZE(pty_masters) && fd < 0; i++)
		fd = open(pty_masters[i], O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* TIOCGPTPEER opens the slave without a path lookup (4.13+); else by its name. */
static int pty_open_slave(int master)
{
	char name[64];
	int fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd >= 0 || (errno != EINVAL && errno != ENOTTY))
		return fd < 0 ? -errno : fd;
	if (ptsname_r(master, name, sizeof(name)))
		return -errno;
	fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int pty_resize(int master, unsigned short rows, unsigned short cols)
{
	struct winsize ws = { .ws_row = rows, .ws_col = cols };

	return ioctl(master, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

/* The pair, unlocked, sized 24x80; the slave belongs to the job's user as runc makes it. */
static int pty_setup(const struct job *job, struct pty *pty, const char **step)
{
	int unlock = 0, ret;

	*step = "open /dev/ptmx";
	ret = pty_open_master();
	if (ret < 0)
		return ret;
	pty->master = ret;
	*step = "unlock the pty";
	if (ioctl(pty->master, TIOCSPTLCK, &unlock) < 0)
		return -errno;
	*step = "open the pty slave";
	ret = pty_open_slave(pty->master);
	if (ret < 0)
		return ret;
	pty->slave = ret;
	*step = "set the pty size";
	ret = pty_resize(pty->master, PTY_DEFAULT_ROWS, PTY_DEFAULT_COLS);
	if (ret)
		return ret;
	*step = "give the pty to the user";
	if (job->user_set && fchown(pty->slave, job->uid, (gid_t)-1) < 0)
		return -errno;
	return 0;
}

int pty_open(struct init *in, const struct job *job, struct pty *pty)
{
	const char *step = "";
	int err;

	pty->master = pty->slave = -1;
	err = pty_setup(job, pty, &step);
	if (err) {
		init_error(in, "cannot %s: %s", step, strerror(-err));
		pty_close(pty);
		return err;
	}
	init_say(in, "the command's terminal is %s", ptsname(pty->master));
	return 0;
}

int pty_child(int slave)
{
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return -errno;
	for (int i = 0; i < 3; i++)
		if (dup2(slave, i) < 0)
			return -errno;
	return 0;
}

void pty_close(struct pty *pty)
{
	if (pty->slave >= 0)
		close(pty->slave);
	if (pty->master >= 0)
		close(pty->master);
	pty->master = pty->slave = -1;
}
