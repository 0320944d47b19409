/* vcon_internal.h: shared by the virtio-console files: port state, queue numbers, calls. */
#ifndef MICROVM_VIRTIO_CONSOLE_INTERNAL_H
#define MICROVM_VIRTIO_CONSOLE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include "console.h"

/*
 * Queue layout with VIRTIO_CONSOLE_F_MULTIPORT (VIRTIO 1.2 5.3.2; Linux's init_vqs):
 * receiveq0, transmitq0, control receiveq (c_ivq), control transmitq (c_ovq), then
 * receiveq/transmitq of port 1, 2, ... "Receive" is the guest's view: host to guest.
 */
#define VCON_CTRL_RX 2U /* host -> guest control messages */
#define VCON_CTRL_TX 3U /* guest -> host control messages */

static inline unsigned vcon_rx_queue(uint32_t id)
{
	return id == 0 ? 0U : 2U + 2U * id;
}

static inline unsigned vcon_tx_queue(uint32_t id)
{
	return vcon_rx_queue(id) + 1U;
}

/* Control messages the device owes the guest for a port, sent in this bit order. */
enum {
	VCON_OWE_ADD = 1U << 0,  /* PORT_ADD, after DEVICE_READY */
	VCON_OWE_OPEN = 1U << 1, /* PORT_OPEN with the host side's current state */
	VCON_OWE_NAME = 1U << 2, /* PORT_NAME, after PORT_READY (after OPEN: control.c) */
	VCON_OWE_REMOVE = 1U << 3, /* PORT_REMOVE of a runtime port, sent before all else */
};

/* A runtime port's requests (hotplug.c), under dev->hotplug_lock. */
struct vcon_pending {
	bool in_use;   /* added, and its removal not yet collected */
	bool removing; /* vcon_port_remove was called */
	bool remove;   /* for the thread: remove it */
	bool add;      /* for the thread: add it with fd, dir, name */
	bool done;     /* the removal is over: closing is for vcon_port_collect */
	int fd;
	int closing; /* the removed port's descriptor (the thread may not close) */
	enum vcon_direction dir;
	char name[VCON_NAME_MAX + 1];
};

struct vcon_port {
	uint32_t id;
	enum vcon_direction dir;
	int host_fd;
	char name[VCON_NAME_MAX + 1];
	struct vq *rx, *tx;
	int rx_notify, tx_notify; /* the queues' notify eventfds */
	struct vq_chain rx_chain; /* a popped receive buffer waiting for host input */
	/* Guest protocol state: cleared by reset; owned as dev->chain is. */
	unsigned owed;   /* VCON_OWE_* */
	bool ready;      /* the guest sent PORT_READY(1): it knows the port */
	bool guest_open; /* the guest sent PORT_OPEN(1): a reader or writer has it open */
	bool rx_held;    /* rx_chain holds a buffer */
	bool host_ready; /* poll saw host_fd readable (or hung up) */
	bool present;  /* the guest may know it: a fixed port, or a runtime port added */
	bool spare;    /* a runtime id: the device owns host_fd (closed on remove) */
	struct vcon_pending pend; /* spare ports only */
	/* Host state: survives resets, as the descriptor does. */
	bool host_eof;     /* TO_GUEST: read gave 0 or failed; the guest is told PORT_OPEN(0) */
	bool write_failed; /* FROM_GUEST: a write failed; the rest is discarded */
	uint64_t bytes_to_guest;
	uint64_t bytes_from_guest; /* written to host_fd */
	uint64_t bytes_dropped;    /* guest output discarded */
};

/* The guest sees the host side connected: input not at EOF, any output port. */
static inline bool vcon_host_connected(const struct vcon_port *p)
{
	return !(p->dir == VCON_TO_GUEST && p->host_eof);
}

/* Push (head, len); a failure means the ring is unusable: -EIO. */
int vcon_complete(struct vcon_device *dev, struct vq *vq, uint16_t head, uint32_t len) MUST_CHECK;

/*
 * control.c: the control queues. Each returns 0 or -EIO (a ring is corrupt) and sets
 * *more when it stopped at its budget with work left (notifications may be off).
 */
int vcon_ctrl_receive(struct vcon_device *dev, bool *more) MUST_CHECK;
int vcon_ctrl_send(struct vcon_device *dev, bool *more) MUST_CHECK;

/* port_io.c: data queues and host descriptors. Each returns 0 or -EIO; *more as above. */
int vcon_io_tx(struct vcon_device *dev, struct vcon_port *p, unsigned budget,
	       bool *more) MUST_CHECK;
int vcon_io_rx_arm(struct vcon_device *dev, struct vcon_port *p, bool *more) MUST_CHECK;
int vcon_io_rx_fill(struct vcon_device *dev, struct vcon_port *p) MUST_CHECK;
/* Is the port waiting for host_fd to become readable? */
bool vcon_io_rx_waits(const struct vcon_port *p);

/* hotplug.c: carry out pending runtime port requests (device thread); 0 or -EIO. */
int vcon_hotplug_apply(struct vcon_device *dev, bool *more) MUST_CHECK;
/* At destroy: close the descriptors of runtime ports and of requests never carried out. */
void vcon_hotplug_release(struct vcon_device *dev);

/* thread.c: the one device thread, parked except between activate and reset. */
int vcon_thread_create(struct vcon_device *dev) MUST_CHECK;
void vcon_thread_resume(struct vcon_device *dev);
/* After dev->stopping was set and stop_fd signalled: wait until the thread parked. */
void vcon_thread_park(struct vcon_device *dev);
void vcon_thread_destroy(struct vcon_device *dev);

#endif
