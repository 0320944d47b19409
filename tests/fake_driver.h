/* fake_driver.h: a guest virtio driver for tests: rings in a plain buffer, MMIO bring-up. */
#ifndef MICROVM_TESTS_FAKE_DRIVER_H
#define MICROVM_TESTS_FAKE_DRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include "../vmm/memory.h"
#include "../devices/virtio_mmio/transport.h"
#include "../devices/virtio_mmio/virtqueue.h"

/* Guest RAM at gpa 0: a page-aligned buffer handed to gm_init_from_buffer. */
struct fake_mem {
	struct guest_memory mem;
	uint8_t *ram;
	uint64_t size;
	uint64_t next; /* bump allocator; gpa 0 is never handed out, so 0 means "full" */
};

/* One split ring laid out the way Linux does: desc table, avail ring, used ring. */
struct fake_ring {
	struct fake_mem *m;
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t avail_idx; /* driver's shadow of avail->idx */
	uint16_t next_desc; /* next free descriptor slot (tests never run out) */
	uint16_t last_used; /* used entries already consumed by fake_ring_get_used */
};

/* A buffer of a chain: driver-readable, or device-writable when write is set. */
struct fake_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

int fake_mem_init(struct fake_mem *m, uint64_t size);
void fake_mem_destroy(struct fake_mem *m);
/* Zeroed guest memory aligned to align (a power of two); 0 when exhausted. */
uint64_t fake_alloc(struct fake_mem *m, uint64_t len, uint64_t align);
void *fake_host(struct fake_mem *m, uint64_t gpa);

int fake_ring_init(struct fake_ring *r, struct fake_mem *m, uint16_t size);
/* Write descriptor i of the ring's table, or of the table at table_gpa. */
void fake_desc(struct fake_ring *r, uint16_t i, uint64_t gpa, uint32_t len, uint16_t flags,
	       uint16_t next);
void fake_table_desc(struct fake_mem *m, uint64_t table_gpa, uint16_t i, uint64_t gpa,
		     uint32_t len, uint16_t flags, uint16_t next);
/* Link segs into a chain of fresh ring descriptors; returns the head. */
uint16_t fake_chain(struct fake_ring *r, const struct fake_seg *segs, unsigned n);
/* Put segs in a new indirect table behind one ring descriptor; returns the head. */
uint16_t fake_indirect_chain(struct fake_ring *r, const struct fake_seg *segs, unsigned n);
/* Publish head in the avail ring and bump avail->idx with release, as virtio_ring.c. */
void fake_publish(struct fake_ring *r, uint16_t head);
void fake_set_avail_idx(struct fake_ring *r, uint16_t idx);
void fake_set_avail_flags(struct fake_ring *r, uint16_t flags);
void fake_set_used_event(struct fake_ring *r, uint16_t idx);
uint16_t fake_avail_event(struct fake_ring *r);
uint16_t fake_used_flags(struct fake_ring *r);
uint16_t fake_used_idx(struct fake_ring *r);
/* The next unconsumed used element; false when used->idx has not moved. */
bool fake_ring_get_used(struct fake_ring *r, uint32_t *id, uint32_t *len);

/* A vq set up over the ring directly, without a transport. */
int fake_vq_setup(struct vq *vq, struct fake_ring *r, bool event_idx, bool indirect);

/* Driver-side register access through the transport's bus callbacks. */
uint32_t fake_mmio_read(struct vmmio *t, uint64_t offset);
void fake_mmio_write(struct vmmio *t, uint64_t offset, uint32_t v);
/* Program ring r as queue index: QUEUE_SEL, QUEUE_NUM, addresses, QUEUE_READY = 1. */
void fake_mmio_setup_queue(struct vmmio *t, struct fake_ring *r, uint32_t index);
/*
 * Linux's probe sequence: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queues
 * 0..n-1 from rings, DRIVER_OK. Returns STATUS as read back at the end.
 */
uint32_t fake_mmio_bring_up(struct vmmio *t, uint64_t features, struct fake_ring *rings,
			    unsigned n);

#endif
