/* thread.c: the virtio-console device thread: one poll loop over its queues and host input. */
/*
 * The thread serves the control and data queues and the host input descriptors, and is
 * parked except between activate and reset.
 *
 * Like the virtio-fs workers (devices/virtio_fs/worker.c) it is created at start-up,
 * parked, by the unfiltered main thread, because no thread may be created once seccomp
 * filters are loaded; it loads its own SECCOMP_ROLE_CONSOLE filter before it parks, so
 * before it sees guest data. It sleeps in poll() on the queues' notify eventfds, the stop
 * eventfd and the input descriptors it has a guest buffer for; vq_pop re-arms guest
 * notifications before it reports a queue empty, so no kick is lost and an idle device
 * costs no CPU. A round that stopped at a budget polls with timeout 0 instead.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../vmm/parked_thread.h"
#include "vcon_internal.h"

/* Transmit chains per port per round: a busy writer does not starve the control queue. */
#define VCON_TX_BUDGET 32U
/* stop, both control queues, hotplug, and per port two queues and its host descriptor */
#define VCON_MAX_POLL (4U + 3U * VCON_MAX_PORTS)
#define VCON_THREAD_NAME "vcon"

struct vcon_thread {
	struct parked_thread parked; /* blocks signals and loads the console filter itself */
};

/* One round of work over every queue; 0 or -EIO. */
static int vcon_round(struct vcon_device *dev, bool *more)
{
	unsigned i;
	int ret = vcon_ctrl_receive(dev, more);

	if (ret == 0)
		ret = vcon_hotplug_apply(dev, more);

	for (i = 0; ret == 0 && i < dev->nports; i++)
		ret = vcon_io_tx(dev, &dev->ports[i], VCON_TX_BUDGET, more);
	for (i = 0; ret == 0 && i < dev->nports; i++) {
		struct vcon_port *p = &dev->ports[i];

		if (p->host_ready) {
			p->host_ready = false;
			ret = vcon_io_rx_fill(dev, p);
		}
		if (ret == 0)
			ret = vcon_io_rx_arm(dev, p, more);
	}
	if (ret == 0)
		ret = vcon_ctrl_send(dev, more);
	return ret;
}

static void vcon_add_fd(struct pollfd *fds, unsigned *n, int fd)
{
	fds[*n] = (struct pollfd){ .fd = fd, .events = POLLIN };
	(*n)++;
}

/* Eventfd counts only wake us: the rings say what there is to do. */
static void vcon_clear_eventfds(struct pollfd *fds, unsigned n)
{
	uint64_t count;
	unsigned i;

	for (i = 0; i < n; i++)
		if ((fds[i].revents & POLLIN) && read(fds[i].fd, &count, sizeof(count)) < 0) {
			/* EAGAIN: nothing to clear. */
		}
}

static void vcon_wait(struct vcon_device *dev, bool more)
{
	struct pollfd fds[VCON_MAX_POLL], hostfds[VCON_MAX_PORTS];
	struct vcon_port *owner[VCON_MAX_PORTS];
	unsigned n = 0, nhost = 0, i;

	vcon_add_fd(fds, &n, dev->stop_fd);
	vcon_add_fd(fds, &n, vmmio_notify_fd(&dev->transport, VCON_CTRL_RX));
	vcon_add_fd(fds, &n, vmmio_notify_fd(&dev->transport, VCON_CTRL_TX));
	for (i = 0; i < dev->nports; i++) {
		struct vcon_port *p = &dev->ports[i];

		vcon_add_fd(fds, &n, p->tx_notify);
		if (p->dir == VCON_TO_GUEST)
			vcon_add_fd(fds, &n, p->rx_notify);
		if (vcon_io_rx_waits(p)) {
			owner[nhost] = p;
			vcon_add_fd(hostfds, &nhost, p->host_fd);
		}
	}
	/* Not cleared here: vcon_hotplug_apply reads it to know there are requests. */
	fds[n] = (struct pollfd){ .fd = dev->hotplug_fd, .events = POLLIN };
	memcpy(fds + n + 1, hostfds, nhost * sizeof(*hostfds));
	if (poll(fds, n + 1 + nhost, more ? 0 : -1) <= 0)
		return;
	vcon_clear_eventfds(fds, n);
	/* POLLHUP, POLLERR, POLLNVAL too: the read that follows reports EOF or the error. */
	for (i = 0; i < nhost; i++)
		owner[i]->host_ready = fds[n + 1 + i].revents != 0;
}

/* A corrupt ring: DEVICE_NEEDS_RESET, then only the stop eventfd until the reset. */
static void vcon_wait_broken(struct vcon_device *dev)
{
	struct pollfd pfd = { .fd = dev->stop_fd, .events = POLLIN };

	while (!atomic_load(&dev->stopping))
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return;
}

/* Serve from activation until the device stops. */
static void vcon_serve(struct vcon_device *dev)
{
	bool more;

	while (!atomic_load(&dev->stopping) && !dev->broken) {
		more = false;
		if (vcon_round(dev, &more)) {
			log_info("virtio-console: driver corrupted a ring; device needs reset");
			vmmio_set_needs_reset(&dev->transport);
			dev->broken = true;
			break;
		}
		if (!atomic_load(&dev->stopping))
			vcon_wait(dev, more);
	}
	if (dev->broken)
		vcon_wait_broken(dev);
}

static void vcon_serve_thread(void *arg)
{
	vcon_serve(arg);
}

int vcon_thread_create(struct vcon_device *dev)
{
	struct vcon_thread *t = calloc(1, sizeof(*t));
	int ret;

	if (!t)
		return -ENOMEM;
	ret = parked_thread_create(&t->parked, VCON_THREAD_NAME, SECCOMP_ROLE_CONSOLE,
				   dev->seccomp, vcon_serve_thread, dev);
	if (ret) {
		free(t);
		return ret;
	}
	dev->thread = t;
	return 0;
}

void vcon_thread_resume(struct vcon_device *dev)
{
	if (dev->thread)
		parked_thread_resume(&dev->thread->parked);
}

void vcon_thread_park(struct vcon_device *dev)
{
	if (dev->thread)
		parked_thread_park(&dev->thread->parked);
}

void vcon_thread_destroy(struct vcon_device *dev)
{
	if (!dev->thread)
		return;
	parked_thread_destroy(&dev->thread->parked);
	free(dev->thread);
	dev->thread = NULL;
}
