/*
 * coalesced_mmio.c: guest register writes that KVM queues in a ring instead of exiting.
 *
 * A write whose effect nobody needs before the next read of the device (the virtio-mmio
 * InterruptACK) need not stop the vCPU: KVM appends it to a ring page shared by all vCPUs
 * and the guest goes on. Whoever next depends on those writes drains the ring first and
 * applies them in order, so what the guest and the device observe is as if each write had
 * exited at once. When the ring is full, KVM exits for the write as usual.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>
#include "coalesced_mmio.h"

void coalesced_mmio_init(struct coalesced_mmio *c, int kvm_fd, int vm_fd)
{
	int offset = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);

	memset(c, 0, sizeof(*c));
	c->vm_fd = vm_fd;
	c->page_offset = offset > 0 ? (unsigned)offset : 0;
	pthread_mutex_init(&c->lock, NULL);
}

/* The ring is bytes long: its header, then as many entries as fit. */
static void coalesced_set_ring(struct coalesced_mmio *c, void *ring, size_t bytes)
{
	c->ring = ring;
	c->max_entries = (unsigned)((bytes - sizeof(*c->ring)) / sizeof(c->ring->coalesced_mmio[0]));
}

void coalesced_mmio_init_detached(struct coalesced_mmio *c, void *ring, size_t bytes)
{
	memset(c, 0, sizeof(*c));
	c->vm_fd = -1;
	c->page_offset = 1; /* "supported": zones are recorded, without KVM */
	pthread_mutex_init(&c->lock, NULL);
	coalesced_set_ring(c, ring, bytes);
	c->detached = true;
}

/* Unregister every zone: their writes exit to userspace again. */
static void coalesced_mmio_forget_zones(struct coalesced_mmio *c)
{
	while (c->nzones) {
		const struct coalesced_zone *z = &c->zones[--c->nzones];
		struct kvm_coalesced_mmio_zone zone = { .addr = z->gpa, .size = z->len };

		if (c->vm_fd >= 0 && ioctl(c->vm_fd, KVM_UNREGISTER_COALESCED_MMIO, &zone) < 0) {
			/* Only for a zone KVM never had; it cannot queue writes then either. */
		}
	}
}

void coalesced_mmio_map_ring(struct coalesced_mmio *c, int vcpu_fd)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	if (c->ring || c->page_offset == 0)
		return;
	/* A mapping of its own: it outlives the vCPUs, whose devices may still drain. */
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd,
		 (off_t)(c->page_offset * page));
	if (p == MAP_FAILED) {
		coalesced_mmio_forget_zones(c); /* they exit as before: nothing is lost */
		return;
	}
	coalesced_set_ring(c, p, page);
}

int coalesced_mmio_add(struct coalesced_mmio *c, uint64_t gpa, uint32_t len,
		       coalesced_write_fn *write, void *opaque)
{
	struct kvm_coalesced_mmio_zone zone = { .addr = gpa, .size = len };

	if (c->page_offset == 0)
		return -ENOTSUP;
	if (c->nzones == COALESCED_MMIO_MAX_ZONES)
		return -ENOSPC;
	/* Before any vCPU runs: no drain reads the table while it grows. */
	if (c->vm_fd >= 0 && ioctl(c->vm_fd, KVM_REGISTER_COALESCED_MMIO, &zone) < 0)
		return -errno;
	c->zones[c->nzones++] = (struct coalesced_zone){ gpa, len, write, opaque };
	return 0;
}

static void coalesced_apply(struct coalesced_mmio *c, const struct kvm_coalesced_mmio *e)
{
	unsigned i;

	for (i = 0; i < c->nzones; i++) {
		const struct coalesced_zone *z = &c->zones[i];

		if (e->phys_addr >= z->gpa && e->phys_addr - z->gpa < z->len) {
			z->write(z->opaque, e->phys_addr, e->data,
				 e->len <= sizeof(e->data) ? e->len : 0);
			return;
		}
	}
}

void coalesced_mmio_drain(struct coalesced_mmio *c)
{
	struct kvm_coalesced_mmio_ring *ring = c->ring;
	uint32_t first, last;

	/* KVM writes an entry, then publishes it by moving last (release). */
	if (!ring || __atomic_load_n(&ring->first, __ATOMIC_RELAXED) ==
			     __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&c->lock);
	first = ring->first;
	last = __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE);
	while (first != last && first < c->max_entries && last < c->max_entries) {
		struct kvm_coalesced_mmio e = ring->coalesced_mmio[first];

		coalesced_apply(c, &e);
		first = (first + 1) % c->max_entries;
		/* Frees the slot for KVM only once we have copied it. */
		__atomic_store_n(&ring->first, first, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&c->lock);
}

void coalesced_mmio_destroy(struct coalesced_mmio *c)
{
	if (c->ring && !c->detached)
		munmap(c->ring, (size_t)sysconf(_SC_PAGESIZE));
	pthread_mutex_destroy(&c->lock);
	c->ring = NULL;
	c->nzones = 0;
}
