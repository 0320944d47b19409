/* fake_driver.c: builds descriptor tables and rings in a buffer the way a guest driver would. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "fake_driver.h"

int fake_mem_init(struct fake_mem *m, uint64_t size)
{
	void *buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (buf == MAP_FAILED)
		return -errno;
	m->ram = buf;
	m->size = size;
	m->next = 0x1000;
	gm_init_from_buffer(&m->mem, buf, size);
	return 0;
}

void fake_mem_destroy(struct fake_mem *m)
{
	munmap(m->ram, m->size);
	memset(m, 0, sizeof(*m));
}

uint64_t fake_alloc(struct fake_mem *m, uint64_t len, uint64_t align)
{
	uint64_t gpa = (m->next + align - 1) & ~(align - 1);

	if (gpa > m->size || len > m->size - gpa)
		return 0;
	m->next = gpa + len;
	memset(m->ram + gpa, 0, len);
	return gpa;
}

void *fake_host(struct fake_mem *m, uint64_t gpa)
{
	return m->ram + gpa;
}

int fake_ring_init(struct fake_ring *r, struct fake_mem *m, uint16_t size)
{
	memset(r, 0, sizeof(*r));
	r->m = m;
	r->size = size;
	r->desc_gpa = fake_alloc(m, 16ULL * size, 4096);
	r->avail_gpa = fake_alloc(m, 6ULL + 2ULL * size, 2);
	r->used_gpa = fake_alloc(m, 6ULL + 8ULL * size, 4096);
	return r->desc_gpa && r->avail_gpa && r->used_gpa ? 0 : -ENOMEM;
}

void fake_table_desc(struct fake_mem *m, uint64_t table_gpa, uint16_t i, uint64_t gpa,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc d = {
		.addr = htole64(gpa),
		.len = htole32(len),
		.flags = htole16(flags),
		.next = htole16(next),
	};

	memcpy(fake_host(m, table_gpa + 16ULL * i), &d, sizeof(d));
}

void fake_desc(struct fake_ring *r, uint16_t i, uint64_t gpa, uint32_t len, uint16_t flags,
	       uint16_t next)
{
	fake_table_desc(r->m, r->desc_gpa, i, gpa, len, flags, next);
}

uint16_t fake_chain(struct fake_ring *r, const struct fake_seg *segs, unsigned n)
{
	uint16_t head = r->next_desc % r->size;
	unsigned k;

	for (k = 0; k < n; k++) {
		uint16_t i = (head + k) % r->size;
		uint16_t flags = segs[k].write ? VRING_DESC_F_WRITE : 0;

		if (k + 1 < n)
			flags |= VRING_DESC_F_NEXT;
		fake_desc(r, i, segs[k].gpa, segs[k].len, flags, (i + 1) % r->size);
	}
	r->next_desc = (uint16_t)(head + n);
	return head;
}

uint16_t fake_indirect_chain(struct fake_ring *r, const struct fake_seg *segs, unsigned n)
{
	uint64_t table = fake_alloc(r->m, 16ULL * n, 16);
	uint16_t head = r->next_desc % r->size;
	unsigned k;

	for (k = 0; k < n; k++) {
		uint16_t flags = segs[k].write ? VRING_DESC_F_WRITE : 0;

		if (k + 1 < n)
			flags |= VRING_DESC_F_NEXT;
		fake_table_desc(r->m, table, (uint16_t)k, segs[k].gpa, segs[k].len, flags,
				(uint16_t)(k + 1));
	}
	fake_desc(r, head, table, 16U * n, VRING_DESC_F_INDIRECT, 0);
	r->next_desc = (uint16_t)(head + 1);
	return head;
}

static struct vring_avail *fake_avail(struct fake_ring *r)
{
	return fake_host(r->m, r->avail_gpa);
}

static struct vring_used *fake_used(struct fake_ring *r)
{
	return fake_host(r->m, r->used_gpa);
}

void fake_publish(struct fake_ring *r, uint16_t head)
{
	struct vring_avail *a = fake_avail(r);

	a->ring[r->avail_idx % r->size] = htole16(head);
	r->avail_idx++;
	__atomic_store_n(&a->idx, htole16(r->avail_idx), __ATOMIC_RELEASE);
}

void fake_set_avail_idx(struct fake_ring *r, uint16_t idx)
{
	r->avail_idx = idx;
	__atomic_store_n(&fake_avail(r)->idx, htole16(idx), __ATOMIC_RELEASE);
}

void fake_set_avail_flags(struct fake_ring *r, uint16_t flags)
{
	fake_avail(r)->flags = htole16(flags);
}

void fake_set_used_event(struct fake_ring *r, uint16_t idx)
{
	fake_avail(r)->ring[r->size] = htole16(idx);
}

uint16_t fake_avail_event(struct fake_ring *r)
{
	__virtio16 *p = (__virtio16 *)&fake_used(r)->ring[r->size];

	return le16toh(*p);
}

uint16_t fake_used_flags(struct fake_ring *r)
{
	return le16toh(fake_used(r)->flags);
}

uint16_t fake_used_idx(struct fake_ring *r)
{
	return le16toh(__atomic_load_n(&fake_used(r)->idx, __ATOMIC_ACQUIRE));
}

bool fake_ring_get_used(struct fake_ring *r, uint32_t *id, uint32_t *len)
{
	struct vring_used_elem *e;

	if (fake_used_idx(r) == r->last_used)
		return false;
	e = &fake_used(r)->ring[r->last_used % r->size];
	*id = le32toh(e->id);
	*len = le32toh(e->len);
	r->last_used++;
	return true;
}

int fake_vq_setup(struct vq *vq, struct fake_ring *r, bool event_idx, bool indirect)
{
	int ret = vq_init(vq, 0, r->size, &r->m->mem);

	if (ret == 0)
		ret = vq_set_size(vq, r->size);
	if (ret == 0)
		ret = vq_set_ring_addr(vq, VQ_RING_DESC, r->desc_gpa);
	if (ret == 0)
		ret = vq_set_ring_addr(vq, VQ_RING_AVAIL, r->avail_gpa);
	if (ret == 0)
		ret = vq_set_ring_addr(vq, VQ_RING_USED, r->used_gpa);
	if (ret == 0)
		ret = vq_enable(vq, event_idx, indirect);
	return ret;
}

uint32_t fake_mmio_read(struct vmmio *t, uint64_t offset)
{
	uint32_t v;

	vmmio_bus_read(t, offset, (uint8_t *)&v, 4);
	return le32toh(v);
}

void fake_mmio_write(struct vmmio *t, uint64_t offset, uint32_t v)
{
	v = htole32(v);
	vmmio_bus_write(t, offset, (const uint8_t *)&v, 4);
}

void fake_mmio_setup_queue(struct vmmio *t, struct fake_ring *r, uint32_t index)
{
	fake_mmio_write(t, VIRTIO_MMIO_QUEUE_SEL, index);
	fake_mmio_write(t, VIRTIO_MMIO_QUEUE_NUM, r->size);
	fake_mmio_write(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)r->desc_gpa);
	fake_mmio_write(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(r->desc_gpa >> 32));
	fake_mmio_write(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)r->avail_gpa);
	fake_mmio_write(t, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(r->avail_gpa >> 32));
	fake_mmio_write(t, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)r->used_gpa);
	fake_mmio_write(t, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(r->used_gpa >> 32));
	fake_mmio_write(t, VIRTIO_MMIO_QUEUE_READY, 1);
}

uint32_t fake_mmio_bring_up(struct vmmio *t, uint64_t features, struct fake_ring *rings,
			    unsigned n)
{
	uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	unsigned i;

	fake_mmio_write(t, VIRTIO_MMIO_STATUS, 0);
	fake_mmio_write(t, VIRTIO_MMIO_STATUS, s);
	s |= VIRTIO_CONFIG_S_DRIVER;
	fake_mmio_write(t, VIRTIO_MMIO_STATUS, s);
	fake_mmio_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	fake_mmio_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	fake_mmio_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	fake_mmio_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	s |= VIRTIO_CONFIG_S_FEATURES_OK;
	fake_mmio_write(t, VIRTIO_MMIO_STATUS, s);
	if (!(fake_mmio_read(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK))
		return fake_mmio_read(t, VIRTIO_MMIO_STATUS);
	for (i = 0; i < n; i++)
		fake_mmio_setup_queue(t, &rings[i], i);
	fake_mmio_write(t, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_DRIVER_OK);
	return fake_mmio_read(t, VIRTIO_MMIO_STATUS);
}
