/* stdio.c: find the stdin/stdout/stderr virtio-console ports (or use /dev/console) and control. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "init.h"
#include "protocol.h"

#define STDIO_PORTS_DIR "/sys/class/virtio-ports"
#define STDIO_DRIVER_DIR "/sys/bus/virtio/drivers/virtio_console"
#define STDIO_POLL_NS (10 * 1000 * 1000)

static const char *const stdio_names[3] = {
	MICROVM_PORT_STDIN, MICROVM_PORT_STDOUT, MICROVM_PORT_STDERR,
};

static int stdio_flags(int i)
{
	return (i == 0 ? O_RDONLY : O_WRONLY) | O_NOCTTY | O_CLOEXEC;
}

/* A device bound to the driver shows as a "virtioN" link; probing is done by now. */
static bool stdio_have_device(void)
{
	DIR *d = opendir(STDIO_DRIVER_DIR);
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d)))
		found = !strncmp(e->d_name, "virtio", 6);
	closedir(d);
	return found;
}

/*
 * The driver creates a port's "name" attribute only when the host has named it, after the
 * port itself: "" until then.
 */
static void stdio_port_name(const char *dir, const char *port, char *name, size_t size)
{
	char path[512];
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "%s/%s/name", dir, port);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, name, size - 1);
		close(fd);
	}
	if (n < 0)
		n = 0;
	name[n] = '\0';
	name[strcspn(name, "\n")] = '\0';
}

/* The control port: optional, read by init alone, never blocking its loop. */
static void stdio_try_control(struct init *in, const char *dev)
{
	if (in->control >= 0)
		return;
	/* A failed open (the node not there yet) is tried again by the next scan. */
	in->control = open(dev, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (in->control >= 0)
		init_say(in, "%s is %s", MICROVM_PORT_CONTROL, dev);
}

/* The events port: optional, written by init alone (a few short lines). */
static void stdio_try_events(struct init *in, const char *dev)
{
	if (in->events >= 0)
		return;
	in->events = open(dev, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (in->events >= 0)
		init_say(in, "%s is %s", MICROVM_PORT_EVENTS, dev);
}

/*
 * Open a port whose name matches a stdio stream still missing, or the control port; errs
 * keeps why not. False while the port is unsettled: its name has not arrived yet, or it
 * is the control port and its node could not be opened yet.
 */
static bool stdio_try_port(struct init *in, const char *port, int errs[3])
{
	char name[64], dev[300];

	stdio_port_name(STDIO_PORTS_DIR, port, name, sizeof(name));
	/* devtmpfs adds the node from its own thread: it may lag the sysfs entry. */
	snprintf(dev, sizeof(dev), "/dev/%s", port);
	for (int i = 0; i < 3; i++) {
		if (in->stdio[i] >= 0 || strcmp(name, stdio_names[i]))
			continue;
		in->stdio[i] = open(dev, stdio_flags(i));
		errs[i] = in->stdio[i] < 0 ? errno : 0;
		if (in->stdio[i] >= 0)
			init_say(in, "%s is %s", stdio_names[i], dev);
	}
	if (!strcmp(name, MICROVM_PORT_CONTROL)) {
		stdio_try_control(in, dev);
		return in->control >= 0;
	}
	if (!strcmp(name, MICROVM_PORT_EVENTS)) {
		stdio_try_events(in, dev);
		return in->events >= 0;
	}
	return name[0] != '\0';
}

/*
 * Done when the three stdio ports are open and the control port too, or no port is
 * unsettled. The host adds every port at once, before it names any (the handshake in
 * devices/virtio_console/control.c), and Linux handles the messages in order: once the
 * stdio ports have names, a control port exists in sysfs if the host has one. So an
 * older host without it costs no wait.
 */
static bool stdio_scan(struct init *in, int errs[3])
{
	DIR *d = opendir(STDIO_PORTS_DIR);
	struct dirent *e;
	bool unsettled = false;

	if (d) {
		while ((e = readdir(d)))
			if (e->d_name[0] != '.' && !stdio_try_port(in, e->d_name, errs))
				unsettled = true;
		closedir(d);
	}
	return in->stdio[0] >= 0 && in->stdio[1] >= 0 && in->stdio[2] >= 0 &&
	       ((in->control >= 0 && in->events >= 0) || !unsettled);
}

/* The ports come from the host's control messages, handled by a kernel work queue. */
static void stdio_wait_ports(struct init *in, int errs[3])
{
	long long deadline = cmd_now_ms() + INIT_PORT_WAIT_MS;
	const struct timespec pause = { 0, STDIO_POLL_NS };

	while (!stdio_scan(in, errs) && cmd_now_ms() < deadline)
		nanosleep(&pause, NULL);
}

int stdio_open(struct init *in)
{
	int errs[3] = { ENOENT, ENOENT, ENOENT };
	bool device = stdio_have_device();

	if (device)
		stdio_wait_ports(in, errs);
	else
		init_say(in, "no virtio console: the command's stdio is /dev/console");
	for (int i = 0; i < 3; i++) {
		if (in->stdio[i] >= 0)
			continue;
		if (device)
			init_error(in, "no usable '%s' port (%s): using /dev/console",
				   stdio_names[i], strerror(errs[i]));
		in->stdio[i] = open("/dev/console", stdio_flags(i));
		if (in->stdio[i] < 0) {
			int err = -errno;

			init_error(in, "cannot open /dev/console for %s: %s", stdio_names[i],
				   strerror(-err));
			return err;
		}
		in->stderr_is_console = in->stderr_is_console || i == 2;
	}
	return 0;
}

int stdio_find_port(const struct init *in, const char *name, char *dev, size_t size)
{
	const char *ports = in->ports_dir ? in->ports_dir : STDIO_PORTS_DIR;
	DIR *d = opendir(ports);
	struct dirent *e;
	char found[64];
	int err = -ENOENT;

	if (!d)
		return -ENOENT;
	while (err && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		stdio_port_name(ports, e->d_name, found, sizeof(found));
		if (strcmp(found, name) == 0) {
			snprintf(dev, size, "%s/%s", in->dev_dir ? in->dev_dir : "/dev", e->d_name);
			/* devtmpfs may lag the sysfs entry: not there yet is not found yet. */
			err = access(dev, F_OK) == 0 ? 0 : -ENOENT;
		}
	}
	closedir(d);
	return err;
}

void stdio_close(struct init *in)
{
	for (int i = 0; i < 3; i++) {
		if (in->stdio[i] >= 0)
			close(in->stdio[i]);
		in->stdio[i] = -1;
	}
	if (in->control >= 0)
		close(in->control);
	in->control = -1;
	if (in->events >= 0)
		close(in->events);
	in->events = -1;
	in->stderr_is_console = false;
}
