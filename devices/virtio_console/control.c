/* control.c: the virtio-console control queues: the port handshake, open and close events. */
/*
 * The handshake of Linux's drivers/char/virtio_console.c (VIRTIO 1.2 5.3.6.2):
 *   guest DEVICE_READY(1), id VIRTIO_CONSOLE_BAD_ID  -> host PORT_ADD(id) for every port
 *   guest PORT_READY(id, 1), once add_port set it up  -> host PORT_OPEN(id, host
 *                                                       connected), PORT_NAME(id) + name
 *   guest PORT_OPEN(id, 1 or 0) as a program opens or closes /dev/vportNpM
 *   host PORT_OPEN(id, 0) when an input's host descriptor reaches EOF
 * Linux drops a message for an id it has not added, ignores the value of PORT_ADD and
 * PORT_NAME, and takes the name as the bytes after the header (strscpy up to a NUL).
 * PORT_OPEN goes before PORT_NAME (QEMU sends the name first): the guest finds a port by
 * its name in sysfs, which appears when PORT_NAME is handled, and a read() before
 * PORT_OPEN(1) returns 0 at once (port_fops_read, !host_connected); so by the time a
 * program can find the port, the host side is already connected.
 * The guest spins with a spinlock held until its own message is used, so the thread
 * takes guest messages first in every round.
 * What the device owes the guest is a set of bits per port, not a queue: a guest that
 * repeats DEVICE_READY or PORT_READY cannot make the device hold more than four
 * messages per port (PORT_REMOVE and PORT_ADD of a runtime port, hotplug.c, then OPEN
 * and NAME), and the latest PORT_OPEN state is the one sent.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include "vcon_internal.h"

static struct vcon_port *vcon_find_port(struct vcon_device *dev, uint32_t id)
{
	/* A runtime port the guest was told to remove, or never told of, is no port. */
	return id >= 1 && id <= dev->nports && dev->ports[id - 1].present ? &dev->ports[id - 1] :
									    NULL;
}

static void vcon_ctrl_ignore(struct vcon_device *dev, const char *why, uint32_t id,
			     uint16_t event)
{
	dev->bad_control++;
	log_debug("virtio-console: ignoring control message (%s): id %u event %u", why, id,
		  event);
}

static void vcon_device_ready(struct vcon_device *dev, uint16_t value)
{
	unsigned i;

	if (!value) {
		log_info("virtio-console: the driver could not set the device up");
		return;
	}
	dev->driver_ready = true;
	for (i = 0; i < dev->nports; i++)
		if (dev->ports[i].present)
			dev->ports[i].owed |= VCON_OWE_ADD;
}

static void vcon_port_ready(struct vcon_port *p, uint16_t value)
{
	if (!value) {
		log_info("virtio-console: the driver could not add port %u (%s)", p->id, p->name);
		return;
	}
	p->ready = true;
	p->owed |= VCON_OWE_NAME | VCON_OWE_OPEN;
}

static void vcon_ctrl_handle(struct vcon_device *dev, const struct virtio_console_control *m)
{
	uint32_t id = le32toh(m->id);
	uint16_t event = le16toh(m->event), value = le16toh(m->value);
	struct vcon_port *p = vcon_find_port(dev, id);

	if (event == VIRTIO_CONSOLE_DEVICE_READY) {
		vcon_device_ready(dev, value);
		return;
	}
	if (!p) {
		vcon_ctrl_ignore(dev, "no such port", id, event);
		return;
	}
	switch (event) {
	case VIRTIO_CONSOLE_PORT_READY:
		vcon_port_ready(p, value);
		break;
	case VIRTIO_CONSOLE_PORT_OPEN:
		p->guest_open = value != 0;
		break;
	default: /* PORT_ADD, NAME, RESIZE...: host-to-guest only */
		vcon_ctrl_ignore(dev, "unexpected event", id, event);
		break;
	}
}

int vcon_ctrl_receive(struct vcon_device *dev, bool *more)
{
	struct vq *vq = vmmio_queue(&dev->transport, VCON_CTRL_TX);
	struct vq_chain *c = &dev->chain;
	struct virtio_console_control m;
	unsigned n;
	int ret;

	for (n = 0; n < VCON_QUEUE_SIZE; n++) {
		ret = vq_pop(vq, c);
		if (ret == -EAGAIN)
			return 0;
		if (ret == 0 && c->out_bytes == sizeof(m)) {
			vq_chain_read(c, 0, &m, sizeof(m));
			vcon_ctrl_handle(dev, &m);
		} else if (ret == 0) {
			vcon_ctrl_ignore(dev, "bad length", VIRTIO_CONSOLE_BAD_ID, 0);
		} else if (ret != -EBADMSG) {
			return -EIO;
		}
		/* The guest reads nothing back: every buffer, even a malformed one, is used empty. */
		if (vcon_complete(dev, vq, c->head, 0))
			return -EIO;
	}
	*more = true;
	return 0;
}

/* The next message owed for p into buf, *bit its VCON_OWE_ bit; 0 when nothing is owed. */
static size_t vcon_ctrl_next(const struct vcon_port *p, uint8_t *buf, unsigned *bit)
{
	struct virtio_console_control m = { .id = htole32(p->id), .value = htole16(1) };
	size_t len = sizeof(m);

	if (p->owed & VCON_OWE_REMOVE) {
		*bit = VCON_OWE_REMOVE;
		m.event = htole16(VIRTIO_CONSOLE_PORT_REMOVE);
	} else if (p->owed & VCON_OWE_ADD) {
		*bit = VCON_OWE_ADD;
		m.event = htole16(VIRTIO_CONSOLE_PORT_ADD);
	} else if (p->owed & VCON_OWE_OPEN) {
		*bit = VCON_OWE_OPEN;
		m.event = htole16(VIRTIO_CONSOLE_PORT_OPEN);
		m.value = htole16(vcon_host_connected(p) ? 1 : 0);
	} else if (p->owed & VCON_OWE_NAME) {
		*bit = VCON_OWE_NAME;
		m.event = htole16(VIRTIO_CONSOLE_PORT_NAME);
		/* With its NUL, as QEMU sends it; Linux copies up to the NUL or the end. */
		memcpy(buf + len, p->name, strlen(p->name) + 1);
		len += strlen(p->name) + 1;
	} else {
		return 0;
	}
	memcpy(buf, &m, sizeof(m));
	return len;
}

/*
 * Put one message in the guest's next control buffer: 0 sent, -EAGAIN no buffer, -EBUSY
 * a queue's worth of unusable buffers skipped (try again next round), -EIO.
 */
static int vcon_ctrl_put(struct vcon_device *dev, struct vq *vq, const uint8_t *msg,
			 size_t len)
{
	struct vq_chain *c = &dev->chain;
	unsigned n;
	int ret;

	for (n = 0;; n++) {
		if (n == VCON_QUEUE_SIZE)
			return -EBUSY;
		ret = vq_pop(vq, c);
		if (ret == -EAGAIN)
			return ret;
		if (ret != 0 && ret != -EBADMSG)
			return -EIO;
		if (ret == 0 && c->in_bytes >= len)
			break;
		/* Malformed, or too small for the message (Linux posts pages): back empty. */
		log_debug("virtio-console: unusable control buffer (%d, %u bytes)", ret,
			  c->in_bytes);
		if (vcon_complete(dev, vq, c->head, 0))
			return -EIO;
	}
	vq_chain_write(c, 0, msg, len);
	return vcon_complete(dev, vq, c->head, (uint32_t)len);
}

int vcon_ctrl_send(struct vcon_device *dev, bool *more)
{
	struct vq *vq = vmmio_queue(&dev->transport, VCON_CTRL_RX);
	uint8_t msg[sizeof(struct virtio_console_control) + VCON_NAME_MAX + 1];
	unsigned i = 0, bit = 0;
	size_t len;
	int ret;

	/* Each pass sends one message or moves to the next port: at most 4 per port. */
	while (i < dev->nports) {
		struct vcon_port *p = &dev->ports[i];

		len = vcon_ctrl_next(p, msg, &bit);
		if (len == 0) {
			i++;
			continue;
		}
		ret = vcon_ctrl_put(dev, vq, msg, len);
		if (ret == -EAGAIN)
			return 0; /* notifications are re-armed: the guest's refill kicks us */
		if (ret == -EBUSY) {
			*more = true;
			return 0;
		}
		if (ret)
			return ret;
		p->owed &= ~bit;
	}
	return 0;
}
