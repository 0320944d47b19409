/* hotplug.c: runtime ports on spare ids: requests from the VMM, carried out by the device thread. */
/*
 * Callers (the VMM's main thread) only leave a request in the port's `pend` under
 * hotplug_lock and signal hotplug_fd; the device thread, which owns the port state while
 * it serves, carries requests out at the start of a round. A request made while the
 * thread is parked waits until it serves again (the guest cannot talk to a parked device).
 *
 * Remove: the guest output already queued is written to the descriptor first, because
 * Linux discards a removed port's unused buffers (remove_port_data) and a process's
 * write() returns once its buffer is queued; QEMU flushes the same way before it sends
 * PORT_REMOVE. A receive buffer the device held is forgotten, not used: Linux detaches
 * the port's unused buffers itself. A port the guest was never told of gets no message.
 * The thread may not close descriptors (SECCOMP_ROLE_CONSOLE): it hands the removed
 * port's back, signals removed_fd, and vcon_port_collect closes it on the caller's side.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "vcon_internal.h"

static struct vcon_port *vcon_spare(struct vcon_device *dev, uint32_t id)
{
	if (id < 1 || id > dev->nports || !dev->ports[id - 1].spare)
		return NULL;
	return &dev->ports[id - 1];
}

static void vcon_signal(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0) {
		/* Only a counter overflow: the reader is woken already. */
	}
}

int vcon_port_add(struct vcon_device *dev, uint32_t id, const char *name, int fd,
		  enum vcon_direction dir)
{
	struct vcon_port *p = vcon_spare(dev, id);
	int ret = 0;

	if (!p || !name || !name[0] || strlen(name) > VCON_NAME_MAX ||
	    (dir != VCON_TO_GUEST && dir != VCON_FROM_GUEST)) {
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	pthread_mutex_lock(&dev->hotplug_lock);
	if (p->pend.in_use) {
		ret = -EBUSY;
	} else {
		p->pend.in_use = p->pend.add = true;
		p->pend.fd = fd;
		p->pend.dir = dir;
		strcpy(p->pend.name, name);
	}
	pthread_mutex_unlock(&dev->hotplug_lock);
	if (ret && fd >= 0)
		close(fd);
	if (ret == 0)
		vcon_signal(dev->hotplug_fd);
	return ret;
}

int vcon_port_remove(struct vcon_device *dev, uint32_t id)
{
	struct vcon_port *p = vcon_spare(dev, id);
	bool over = false;
	int ret = 0;

	if (!p)
		return -EINVAL;
	pthread_mutex_lock(&dev->hotplug_lock);
	if (!p->pend.in_use || p->pend.removing) {
		ret = -EBUSY;
	} else if (p->pend.add) { /* never carried out: nothing to tell the guest */
		p->pend.add = false;
		p->pend.closing = p->pend.fd;
		p->pend.fd = -1;
		p->pend.removing = p->pend.done = over = true;
	} else {
		p->pend.removing = p->pend.remove = true;
	}
	pthread_mutex_unlock(&dev->hotplug_lock);
	if (ret == 0)
		vcon_signal(over ? dev->removed_fd : dev->hotplug_fd);
	return ret;
}

int vcon_removed_fd(const struct vcon_device *dev)
{
	return dev->removed_fd;
}

unsigned vcon_port_collect(struct vcon_device *dev, uint32_t *ids, unsigned max)
{
	uint64_t count;
	unsigned i, n = 0;

	if (read(dev->removed_fd, &count, sizeof(count)) < 0) {
		/* EAGAIN: look anyway, a caller may ask without polling */
	}
	for (i = 0; i < dev->nports && n < max; i++) {
		struct vcon_port *p = &dev->ports[i];
		int fd = -1;

		if (!p->spare)
			continue;
		pthread_mutex_lock(&dev->hotplug_lock);
		if (p->pend.done) {
			fd = p->pend.closing;
			p->pend.closing = -1;
			p->pend.done = p->pend.removing = p->pend.in_use = false;
			ids[n++] = p->id;
		}
		pthread_mutex_unlock(&dev->hotplug_lock);
		if (fd >= 0)
			close(fd);
	}
	if (n == max) /* more may be over: keep the descriptor readable */
		vcon_signal(dev->removed_fd);
	return n;
}

/* The port goes back to a spare: no descriptor, no guest state. */
static int vcon_do_remove(struct vcon_device *dev, struct vcon_port *p)
{
	bool more = false;
	int ret = vcon_io_tx(dev, p, VCON_QUEUE_SIZE, &more);

	/* Told of it (PORT_ADD went out): the guest must forget it; otherwise say nothing. */
	p->owed = dev->driver_ready && !(p->owed & VCON_OWE_ADD) ? VCON_OWE_REMOVE : 0;
	pthread_mutex_lock(&dev->hotplug_lock);
	p->pend.closing = p->host_fd;
	p->pend.done = true;
	pthread_mutex_unlock(&dev->hotplug_lock);
	vcon_signal(dev->removed_fd);
	p->host_fd = -1;
	p->present = false;
	p->ready = p->guest_open = p->rx_held = p->host_ready = false;
	p->host_eof = true;
	p->write_failed = true;
	return ret;
}

static void vcon_do_add(struct vcon_device *dev, struct vcon_port *p, const struct vcon_pending *r)
{
	p->dir = r->dir;
	p->host_fd = r->fd;
	strcpy(p->name, r->name);
	p->host_eof = p->dir == VCON_TO_GUEST && p->host_fd < 0;
	p->write_failed = p->dir == VCON_FROM_GUEST && p->host_fd < 0;
	p->ready = p->guest_open = p->rx_held = p->host_ready = false;
	p->present = true;
	/* A PORT_REMOVE still owed goes first (control.c sends it before PORT_ADD). */
	if (dev->driver_ready)
		p->owed |= VCON_OWE_ADD;
}

int vcon_hotplug_apply(struct vcon_device *dev, bool *more)
{
	uint64_t count;
	unsigned i;
	int ret = 0;

	if (read(dev->hotplug_fd, &count, sizeof(count)) < 0)
		return 0; /* EAGAIN: no request since the last round */
	for (i = 0; i < dev->nports && ret == 0; i++) {
		struct vcon_port *p = &dev->ports[i];
		struct vcon_pending r;

		if (!p->spare)
			continue;
		pthread_mutex_lock(&dev->hotplug_lock);
		r = p->pend;
		p->pend.remove = p->pend.add = false;
		if (r.add)
			p->pend.fd = -1;
		pthread_mutex_unlock(&dev->hotplug_lock);
		if (r.remove)
			ret = vcon_do_remove(dev, p);
		if (r.add)
			vcon_do_add(dev, p, &r);
		*more = *more || r.add || r.remove;
	}
	return ret;
}

void vcon_hotplug_release(struct vcon_device *dev)
{
	unsigned i;

	for (i = 0; i < dev->nports; i++) {
		struct vcon_port *p = &dev->ports[i];

		if (!p->spare)
			continue;
		if (p->pend.fd >= 0)
			close(p->pend.fd);
		if (p->pend.closing >= 0)
			close(p->pend.closing);
		if (p->host_fd >= 0)
			close(p->host_fd);
		p->pend.fd = p->pend.closing = p->host_fd = -1;
	}
}
