/* port_io.c: port data: guest output to the host descriptor, host input into guest buffers. */
/*
 * Output (transmitq): each buffer is written out whole and in order. A full pipe blocks
 * the thread, and the guest then sees a full queue: back-pressure. After a write error
 * (EPIPE: the reader went away; SIGPIPE is ignored by the VMM) the port's output is
 * discarded, but its buffers are still consumed, so a guest writer never waits forever.
 * Output a guest sends on an input port is discarded the same way.
 *
 * Input (receiveq): only while the guest has the port open, because Linux throws away
 * what arrives for a closed port (in_intr -> discard_port_data). One guest buffer is
 * popped and held; when the host descriptor polls readable one read() fills it, and one
 * read does not block on a descriptor that polled readable (unless another process
 * drains it first). read() 0 or an error is EOF: the guest gets PORT_OPEN(0) after the
 * data already used, and Linux's read() then returns 0 (port_fops_read, !host_connected).
 * Only read, write and poll: the SECCOMP_ROLE_CONSOLE list (vmm/seccomp.c).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include "vcon_internal.h"

/* All of buf to fd; a non-blocking host descriptor that is full is waited for. */
static int vcon_write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		return n < 0 ? -errno : -EIO;
	}
	return 0;
}

static void vcon_write_chain(struct vcon_port *p, const struct vq_chain *c)
{
	unsigned i;
	int ret;

	for (i = 0; i < c->nout; i++) {
		size_t len = c->out[i].iov_len;

		if (p->dir != VCON_FROM_GUEST || p->write_failed) {
			p->bytes_dropped += len;
			continue;
		}
		ret = vcon_write_all(p->host_fd, c->out[i].iov_base, len);
		if (ret) {
			log_info("virtio-console: port %s: write failed (%s); discarding its output",
				 p->name, strerror(-ret));
			p->write_failed = true;
			p->bytes_dropped += len;
			continue;
		}
		p->bytes_from_guest += len;
	}
}

int vcon_io_tx(struct vcon_device *dev, struct vcon_port *p, unsigned budget, bool *more)
{
	struct vq_chain *c = &dev->chain;
	unsigned n;
	int ret;

	for (n = 0; n < budget; n++) {
		ret = vq_pop(p->tx, c);
		if (ret == -EAGAIN)
			return 0;
		if (ret == 0)
			vcon_write_chain(p, c);
		else if (ret != -EBADMSG)
			return -EIO;
		/* Nothing is written into a transmit buffer: used length 0, also when malformed. */
		if (vcon_complete(dev, p->tx, c->head, 0))
			return -EIO;
	}
	*more = true;
	return 0;
}

static bool vcon_io_rx_wanted(const struct vcon_port *p)
{
	return p->dir == VCON_TO_GUEST && p->guest_open && !p->host_eof;
}

bool vcon_io_rx_waits(const struct vcon_port *p)
{
	return vcon_io_rx_wanted(p) && p->rx_held;
}

int vcon_io_rx_arm(struct vcon_device *dev, struct vcon_port *p, bool *more)
{
	struct vq_chain *c = &p->rx_chain;
	unsigned n;
	int ret;

	for (n = 0; vcon_io_rx_wanted(p) && !p->rx_held; n++) {
		if (n == VCON_QUEUE_SIZE) {
			*more = true; /* a queue's worth of unusable buffers: go on next round */
			return 0;
		}
		ret = vq_pop(p->rx, c);
		if (ret == -EAGAIN)
			return 0; /* the guest's next buffer kicks us */
		if (ret == 0 && c->nin > 0) {
			p->rx_held = true;
			return 0;
		}
		if (ret != 0 && ret != -EBADMSG)
			return -EIO;
		/* Malformed, or nothing the device may write: back empty. */
		if (vcon_complete(dev, p->rx, c->head, 0))
			return -EIO;
	}
	return 0;
}

/* read() gave 0 or failed: no more input; tell a guest that knows the port. */
static void vcon_io_host_eof(struct vcon_port *p, int err)
{
	if (err)
		log_info("virtio-console: port %s: read failed (%s); input ends", p->name,
			 strerror(err));
	p->host_eof = true;
	if (p->ready)
		p->owed |= VCON_OWE_OPEN;
}

int vcon_io_rx_fill(struct vcon_device *dev, struct vcon_port *p)
{
	struct vq_chain *c = &p->rx_chain;
	ssize_t n;

	if (!vcon_io_rx_waits(p))
		return 0;
	/* The first writable segment only: a second read could block. Linux posts one page. */
	n = read(p->host_fd, c->in[0].iov_base, c->in[0].iov_len);
	if (n > 0) {
		p->rx_held = false;
		p->bytes_to_guest += (uint64_t)n;
		return vcon_complete(dev, p->rx, c->head, (uint32_t)n);
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	/* The held buffer stays with the device: nothing more will fill it. */
	vcon_io_host_eof(p, n < 0 ? errno : 0);
	return 0;
}
