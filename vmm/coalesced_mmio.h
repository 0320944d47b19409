/* coalesced_mmio.h: guest register writes that KVM queues in a ring instead of exiting. */
#ifndef MICROVM_COALESCED_MMIO_H
#define MICROVM_COALESCED_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util.h"

struct kvm_coalesced_mmio_ring;

#define COALESCED_MMIO_MAX_ZONES 16U

/* Applies one queued write; it must not take locks that a drainer may hold. */
typedef void coalesced_write_fn(void *opaque, uint64_t gpa, const uint8_t *data, uint32_t len);

struct coalesced_zone {
	uint64_t gpa;
	uint32_t len;
	coalesced_write_fn *write;
	void *opaque;
};

struct coalesced_mmio {
	int vm_fd;
	unsigned page_offset; /* KVM_CAP_COALESCED_MMIO: the ring's page in a vCPU mapping; 0: none */
	struct kvm_coalesced_mmio_ring *ring; /* NULL until the first vCPU is mapped */
	unsigned max_entries;
	pthread_mutex_t lock; /* one consumer at a time */
	struct coalesced_zone zones[COALESCED_MMIO_MAX_ZONES];
	unsigned nzones;
	bool detached; /* coalesced_mmio_init_detached: the caller owns the ring */
};

/* Whether KVM can queue writes, from the KVM fd. Nothing is registered yet. */
void coalesced_mmio_init(struct coalesced_mmio *c, int kvm_fd, int vm_fd);
/*
 * Tests: a ring in ordinary memory (bytes long) that the caller fills as KVM would, zones
 * recorded without KVM. coalesced_mmio_destroy leaves the memory to the caller.
 */
void coalesced_mmio_init_detached(struct coalesced_mmio *c, void *ring, size_t bytes);
/* Map the VM's ring through the first vCPU's fd, before any vCPU runs. */
void coalesced_mmio_map_ring(struct coalesced_mmio *c, int vcpu_fd);
/*
 * Let guest writes to [gpa, gpa + len) queue instead of exiting; write applies each at
 * the next coalesced_mmio_drain. -ENOTSUP without KVM support (the writes then exit as
 * before), -ENOSPC past COALESCED_MMIO_MAX_ZONES, or the ioctl's -errno.
 */
int coalesced_mmio_add(struct coalesced_mmio *c, uint64_t gpa, uint32_t len,
		       coalesced_write_fn *write, void *opaque) MUST_CHECK;
/* Apply every queued write, oldest first. Any thread; cheap when nothing is queued. */
void coalesced_mmio_drain(struct coalesced_mmio *c);
void coalesced_mmio_destroy(struct coalesced_mmio *c);

#endif
