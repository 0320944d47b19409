/* vcon_guest.c: Linux's virtio-console driver for tests (see vcon_guest.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <endian.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include "vcon_guest.h"

int64_t vcg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void vcg_nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

void vcg_init(struct vcg *g, struct fake_mem *m, struct vcon_device *dev, unsigned nports)
{
	memset(g, 0, sizeof(*g));
	g->m = m;
	g->dev = dev;
	g->nq = 2 * (nports + 2);
	ck_assert_uint_le(g->nq, VMMIO_MAX_QUEUES);
}

uint32_t vcg_rd(struct vcg *g, uint64_t off)
{
	return fake_mmio_read(&g->dev->transport, off);
}

void vcg_wr(struct vcg *g, uint64_t off, uint32_t v)
{
	fake_mmio_write(&g->dev->transport, off, v);
}

void vcg_up(struct vcg *g)
{
	unsigned q;

	for (q = 0; q < g->nq; q++) {
		vcg_wr(g, VIRTIO_MMIO_QUEUE_SEL, q);
		ck_assert_uint_eq(vcg_rd(g, VIRTIO_MMIO_QUEUE_NUM_MAX), VCON_QUEUE_SIZE);
		ck_assert_int_eq(fake_ring_init(&g->r[q], g->m, VCON_QUEUE_SIZE), 0);
		g->kicked[q] = 0;
	}
	ck_assert_uint_eq(fake_mmio_bring_up(&g->dev->transport, VCG_FEATURES, g->r, g->nq),
			  VCG_RUNNING);
}

void vcg_kick(struct vcg *g, unsigned q)
{
	struct fake_ring *r = &g->r[q];
	uint16_t old = g->kicked[q];

	g->kicked[q] = r->avail_idx;
	atomic_thread_fence(memory_order_seq_cst);
	if (vq_need_event(fake_avail_event(r), r->avail_idx, old))
		vcg_wr(g, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

uint16_t vcg_post_in(struct vcg *g, unsigned q, uint32_t len, bool kick)
{
	uint64_t gpa = fake_alloc(g->m, len, 16);
	uint16_t head;

	ck_assert_uint_ne(gpa, 0);
	head = fake_chain(&g->r[q], &(struct fake_seg){ gpa, len, true }, 1);
	g->buf[q][head] = gpa;
	fake_publish(&g->r[q], head);
	if (kick)
		vcg_kick(g, q);
	return head;
}

uint16_t vcg_send_out(struct vcg *g, unsigned q, const void *data, uint32_t len, bool kick)
{
	uint64_t gpa = fake_alloc(g->m, len, 16);
	uint16_t head;

	ck_assert_uint_ne(gpa, 0);
	memcpy(fake_host(g->m, gpa), data, len);
	head = fake_chain(&g->r[q], &(struct fake_seg){ gpa, len, false }, 1);
	fake_publish(&g->r[q], head);
	if (kick)
		vcg_kick(g, q);
	return head;
}

bool vcg_poll_used(struct vcg *g, unsigned q, uint32_t *id, uint32_t *len, int ms)
{
	struct fake_ring *ring = &g->r[q];
	int64_t end = vcg_now_ms() + ms;

	while (!fake_ring_get_used(ring, id, len)) {
		if (vcg_now_ms() >= end)
			return false;
		vcg_nap_ms(1);
	}
	fake_set_used_event(ring, ring->last_used); /* virtqueue_enable_cb */
	return true;
}

void vcg_expect_used(struct vcg *g, unsigned q, uint16_t head, uint32_t want_len)
{
	uint32_t id = 0, len = 0;

	ck_assert_msg(vcg_poll_used(g, q, &id, &len, VCG_WAIT_MS), "no used entry on queue %u", q);
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, want_len);
}

void vcg_expect_no_used(struct vcg *g, unsigned q)
{
	uint32_t id, len;

	ck_assert_msg(!vcg_poll_used(g, q, &id, &len, VCG_QUIET_MS), "queue %u: unexpected entry %u",
		      q, id);
}

void vcg_ctrl_send(struct vcg *g, uint32_t id, uint16_t event, uint16_t value)
{
	struct virtio_console_control c = { htole32(id), htole16(event), htole16(value) };

	vcg_expect_used(g, VCG_CTRL_TX, vcg_send_out(g, VCG_CTRL_TX, &c, sizeof(c), true), 0);
}

void vcg_ctrl_recv(struct vcg *g, struct vcg_msg *m)
{
	struct virtio_console_control c;
	uint32_t id = 0, len = 0;
	const uint8_t *p;

	ck_assert_msg(vcg_poll_used(g, VCG_CTRL_RX, &id, &len, VCG_WAIT_MS), "no control message");
	ck_assert_uint_ge(len, sizeof(c));
	ck_assert_uint_le(len, VCG_PAGE);
	p = fake_host(g->m, g->buf[VCG_CTRL_RX][id]);
	memcpy(&c, p, sizeof(c));
	m->id = le32toh(c.id);
	m->event = le16toh(c.event);
	m->value = le16toh(c.value);
	m->len = len;
	memcpy(m->name, p + sizeof(c), len - sizeof(c));
	m->name[len - sizeof(c)] = '\0';
	vcg_post_in(g, VCG_CTRL_RX, VCG_PAGE, true);
}

void vcg_expect_ctrl(struct vcg *g, uint32_t id, uint16_t event, uint16_t value)
{
	struct vcg_msg m;

	vcg_ctrl_recv(g, &m);
	ck_assert_msg(m.id == id && m.event == event && m.value == value,
		      "got id %u event %u value %u, want %u %u %u", m.id, m.event, m.value, id,
		      event, value);
	ck_assert_uint_eq(m.len, sizeof(struct virtio_console_control));
}

void vcg_post_ctrl_bufs(struct vcg *g, unsigned n)
{
	while (n--)
		vcg_post_in(g, VCG_CTRL_RX, VCG_PAGE, true);
}

void vcg_add_named_port(struct vcg *g, uint32_t id, const char *name, uint16_t open_value)
{
	struct vcg_msg m;
	unsigned i;

	for (i = 0; i < 4; i++)
		vcg_post_in(g, vcg_rxq(id), VCG_PAGE, true);
	vcg_ctrl_send(g, id, VIRTIO_CONSOLE_PORT_READY, 1);
	vcg_expect_ctrl(g, id, VIRTIO_CONSOLE_PORT_OPEN, open_value);
	vcg_ctrl_recv(g, &m);
	ck_assert_uint_eq(m.id, id);
	ck_assert_uint_eq(m.event, VIRTIO_CONSOLE_PORT_NAME);
	ck_assert_str_eq(m.name, name);
	/* With its NUL: name_size = len - 8 + 1 in Linux, then strscpy. */
	ck_assert_uint_eq(m.len, sizeof(struct virtio_console_control) + strlen(name) + 1);
}

void vcg_expect_input(struct vcg *g, uint32_t id, const void *s, uint32_t len)
{
	uint32_t head = 0, got = 0;

	ck_assert_msg(vcg_poll_used(g, vcg_rxq(id), &head, &got, VCG_WAIT_MS), "no input arrived");
	ck_assert_uint_eq(got, len);
	ck_assert_mem_eq(fake_host(g->m, g->buf[vcg_rxq(id)][head]), s, len);
}
