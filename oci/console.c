/* console.c: process.terminal: a pty whose master goes to the caller's console socket, whose slave is the VMM's stdio. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "internal.h"

/* runc sends the master's name as the message; receivers take the fd and ignore the name. */
#define OCI_MASTER_NAME "/dev/ptmx"

static int console_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* One message: the name as data, the fd as SCM_RIGHTS. */
static int console_send_fd(int sock, int fd)
{
	char name[] = OCI_MASTER_NAME;
	struct iovec iov = { .iov_base = name, .iov_len = sizeof(name) - 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cm;
	ssize_t n;

	memset(&control, 0, sizeof(control));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

static int console_open_pty(int *master, int *slave)
{
	char name[64];
	int err;

	*slave = -1;
	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0)
		return -errno;
	if (grantpt(*master) < 0 || unlockpt(*master) < 0 ||
	    ptsname_r(*master, name, sizeof(name)) != 0)
		goto fail;
	*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		goto fail;
	return 0;
fail:
	err = errno ? -errno : -EIO;
	close(*master);
	*master = -1;
	return err;
}

int oci_console_send(const char *path, int *slave, char *err, size_t errlen)
{
	int master, sock, r;

	r = console_open_pty(&master, slave);
	if (r) {
		snprintf(err, errlen, "cannot create a pseudo-terminal: %s", strerror(-r));
		return r;
	}
	sock = console_connect(path);
	if (sock < 0) {
		snprintf(err, errlen, "console socket %s: %s", path, strerror(-sock));
		r = sock;
	} else {
		r = console_send_fd(sock, master);
		if (r)
			snprintf(err, errlen, "cannot send the terminal to %s: %s", path,
				 strerror(-r));
		close(sock);
	}
	close(master); /* the caller holds it now; we keep only the slave */
	if (r) {
		close(*slave);
		*slave = -1;
	}
	return r;
}

int oci_console_attach(int slave)
{
	int fd;

	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return -errno;
	for (fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return -errno;
	if (slave > 2)
		close(slave);
	return 0;
}
