/* vmmio_fixture.h: a recording test device behind a virtio-mmio transport over fake guest RAM. */
#ifndef MICROVM_TESTS_VMMIO_FIXTURE_H
#define MICROVM_TESTS_VMMIO_FIXTURE_H

#include <check.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "fake_driver.h"

#define NQ 2
#define QMAX 16
#define DEV_ID 26
#define DEV_FEATURE (1ULL << 0)
#define BASE LAYOUT_VIRTIO_MMIO_BASE
#define ST_ACK VIRTIO_CONFIG_S_ACKNOWLEDGE
#define ST_DRV VIRTIO_CONFIG_S_DRIVER
#define ST_FOK VIRTIO_CONFIG_S_FEATURES_OK
#define ST_DOK VIRTIO_CONFIG_S_DRIVER_OK
#define F_V1 (1ULL << VIRTIO_F_VERSION_1)
#define F_EVENT (1ULL << VIRTIO_RING_F_EVENT_IDX)

/* A device that records what the transport asks of it. */
struct tdev {
	uint8_t config[12];
	uint8_t written[12];
	unsigned config_writes;
	unsigned activations, resets, notifies, last_notify;
	uint64_t activated_features;
	struct vq *queues;
	int activate_ret;
	bool has_shm;
	struct vmmio *t;
	bool serve_on_notify; /* notify hook answers every chain with a 4-byte reply */
};

static void t_config_read(void *dev, uint32_t off, void *data, uint32_t len)
{
	struct tdev *d = dev;

	memcpy(data, d->config + off, len);
}

static void t_config_write(void *dev, uint32_t off, const void *data, uint32_t len)
{
	struct tdev *d = dev;

	memcpy(d->written + off, data, len);
	d->config_writes++;
}

static int t_activate(void *dev, struct vq *queues, unsigned n, uint64_t features)
{
	struct tdev *d = dev;

	ck_assert_uint_eq(n, NQ);
	d->activations++;
	d->activated_features = features;
	d->queues = queues;
	return d->activate_ret;
}

static void t_reset(void *dev)
{
	struct tdev *d = dev;

	d->resets++;
	d->queues = NULL;
}

static bool t_shm(void *dev, uint32_t id, struct vmmio_shm_region *r)
{
	struct tdev *d = dev;

	if (!d->has_shm || id != 0)
		return false;
	r->base = 0x123456789000ULL;
	r->len = 0x40000000ULL;
	return true;
}

static void t_serve(struct tdev *d, unsigned q)
{
	struct vq *vq = vmmio_queue(d->t, q);
	struct vq_chain c;

	ck_assert_int_eq(vq_chain_init(&c, QMAX), 0);
	while (vq_pop(vq, &c) == 0) {
		ck_assert_uint_eq(vq_chain_write(&c, 0, "pong", 4), 4);
		ck_assert_int_eq(vmmio_complete(d->t, vq, c.head, 4), 0);
	}
	vq_chain_free(&c);
}

static void t_notify(void *dev, unsigned q)
{
	struct tdev *d = dev;

	d->notifies++;
	d->last_notify = q;
	if (d->serve_on_notify)
		t_serve(d, q);
}

static const struct vmmio_dev_ops t_ops = {
	.name = "test",
	.device_id = DEV_ID,
	.features = DEV_FEATURE,
	.num_queues = NQ,
	.queue_max_size = QMAX,
	.config_len = sizeof(((struct tdev *)0)->config),
	.config_read = t_config_read,
	.config_write = t_config_write,
	.activate = t_activate,
	.reset = t_reset,
	.shm_region = t_shm,
	.vcpu_queues = 1U << 1, /* queue 1 is served by the notifying thread, queue 0 is not */
	.notify = t_notify,
};

struct fx {
	struct fake_mem m;
	struct fake_ring r[NQ];
	struct tdev d;
	struct vmmio t;
};

static inline void fx_init(struct fx *f)
{
	unsigned i;

	memset(&f->d, 0, sizeof(f->d));
	for (i = 0; i < sizeof(f->d.config); i++)
		f->d.config[i] = (uint8_t)(0xa0 + i);
	f->d.t = &f->t;
	ck_assert_int_eq(fake_mem_init(&f->m, 1 << 20), 0);
	for (i = 0; i < NQ; i++)
		ck_assert_int_eq(fake_ring_init(&f->r[i], &f->m, QMAX), 0);
	ck_assert_int_eq(vmmio_init(&f->t, &t_ops, &f->d, &f->m.mem, BASE, 16), 0);
}

static inline void fx_fini(struct fx *f)
{
	vmmio_destroy(&f->t);
	fake_mem_destroy(&f->m);
}

static inline uint32_t rd(struct fx *f, uint64_t off)
{
	return fake_mmio_read(&f->t, off);
}

static inline void wr(struct fx *f, uint64_t off, uint32_t v)
{
	fake_mmio_write(&f->t, off, v);
}

static inline void set_driver_features(struct fx *f, uint64_t features)
{
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
}

/* ACKNOWLEDGE, DRIVER, features, FEATURES_OK: the queue set-up window. */
static inline void to_features_ok(struct fx *f, uint64_t features)
{
	wr(f, VIRTIO_MMIO_STATUS, ST_ACK);
	wr(f, VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
	set_driver_features(f, features);
	wr(f, VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK);
	ck_assert_uint_eq(rd(f, VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK);
}

static inline uint64_t irq_count(struct fx *f)
{
	uint64_t v = 0;

	if (read(vmmio_irq_fd(&f->t), &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

#endif
