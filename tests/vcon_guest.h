/* vcon_guest.h: Linux's virtio-console driver for tests: rings, kicks, control messages, port handshake. */
#ifndef MICROVM_TESTS_VCON_GUEST_H
#define MICROVM_TESTS_VCON_GUEST_H
/*
 * No KVM: guest RAM is a fake_mem buffer and QUEUE_NOTIFY writes go through the
 * transport's bus callback (which signals the queue's eventfd, as KVM's ioeventfd
 * would). The traffic follows drivers/char/virtio_console.c: page-sized control and
 * receive buffers, one 8-byte message per control transmit buffer. Waits are bounded;
 * failures are Check assertions.
 */
#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_config.h>
#include "fake_driver.h"
#include "../devices/virtio_console/console.h"

#define VCG_WAIT_MS 5000
#define VCG_QUIET_MS 150 /* how long "nothing happens" is watched */
#define VCG_PAGE 4096U
#define VCG_CTRL_RX 2U
#define VCG_CTRL_TX 3U
#define VCG_FEATURES                                                               \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |        \
	 (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_CONSOLE_F_MULTIPORT))
#define VCG_RUNNING                                                                \
	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |                    \
	 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)

/* The driver's side of one device. */
struct vcg {
	struct fake_mem *m;
	struct vcon_device *dev;
	unsigned nq; /* 2 * (ports + 2), as init_vqs asks for */
	struct fake_ring r[VMMIO_MAX_QUEUES];
	uint16_t kicked[VMMIO_MAX_QUEUES];
	uint64_t buf[VMMIO_MAX_QUEUES][VCON_QUEUE_SIZE]; /* gpa behind each posted head */
};

/* A control message from the device. */
struct vcg_msg {
	uint32_t id;
	uint16_t event, value;
	uint32_t len;
	char name[VCG_PAGE];
};

static inline unsigned vcg_rxq(uint32_t id)
{
	return 2 + 2 * id;
}

static inline unsigned vcg_txq(uint32_t id)
{
	return 3 + 2 * id;
}

int64_t vcg_now_ms(void);
void vcg_nap_ms(long ms);

/* For dev (already vcon_init'ed on m) with nports ids, spare ones included. */
void vcg_init(struct vcg *g, struct fake_mem *m, struct vcon_device *dev, unsigned nports);
uint32_t vcg_rd(struct vcg *g, uint64_t off);
void vcg_wr(struct vcg *g, uint64_t off, uint32_t v);
/* virtio_mmio's probe with fresh rings, then DRIVER_OK. */
void vcg_up(struct vcg *g);
/* virtqueue_kick_prepare with EVENT_IDX: notify only if avail_event was passed. */
void vcg_kick(struct vcg *g, unsigned q);
/* One device-writable buffer of len bytes, as add_inbuf / fill_queue post it. */
uint16_t vcg_post_in(struct vcg *g, unsigned q, uint32_t len, bool kick);
/* One driver-readable buffer holding data, as __send_to_port queues it. */
uint16_t vcg_send_out(struct vcg *g, unsigned q, const void *data, uint32_t len, bool kick);
bool vcg_poll_used(struct vcg *g, unsigned q, uint32_t *id, uint32_t *len, int ms);
void vcg_expect_used(struct vcg *g, unsigned q, uint16_t head, uint32_t want_len);
void vcg_expect_no_used(struct vcg *g, unsigned q);
/* __send_control_msg: one 8-byte buffer, and the device has to use it. */
void vcg_ctrl_send(struct vcg *g, uint32_t id, uint16_t event, uint16_t value);
/* control_work_handler: take a message, put the page back. */
void vcg_ctrl_recv(struct vcg *g, struct vcg_msg *m);
void vcg_expect_ctrl(struct vcg *g, uint32_t id, uint16_t event, uint16_t value);
void vcg_post_ctrl_bufs(struct vcg *g, unsigned n);
/*
 * add_port for id: fill its receive queue, PORT_READY; the host opens and names it. The
 * open comes first, so a guest that finds the port by name finds it connected.
 */
void vcg_add_named_port(struct vcg *g, uint32_t id, const char *name, uint16_t open_value);
/* The next receive entry of port id holds exactly len bytes of s. */
void vcg_expect_input(struct vcg *g, uint32_t id, const void *s, uint32_t len);

#endif
