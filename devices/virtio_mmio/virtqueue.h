/* virtqueue.h: split virtqueues (VIRTIO 1.2 2.7): checked chain walking, used-ring publishing. */
#ifndef MICROVM_VIRTQUEUE_H
#define MICROVM_VIRTQUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_ring.h>
#include "../../vmm/memory.h"
#include "../../vmm/util.h"

/* The largest queue size a split ring allows. */
#define VQ_MAX_SIZE 32768U

/*
 * Guest-physical to host translation for the buffers a chain points at. The default is
 * gm_translate over guest RAM; the DAX issue installs one that also covers the DAX window.
 * It must return NULL, never fault, for anything it cannot vouch for. Rings and indirect
 * tables always go through gm_translate: they must be RAM.
 */
typedef void *(*vq_translate_fn)(void *ctx, uint64_t gpa, uint64_t len);

enum vq_ring { VQ_RING_DESC, VQ_RING_AVAIL, VQ_RING_USED, VQ_NRINGS };

/*
 * One popped descriptor chain as host iovecs. Driver-readable ("out") segments always
 * come first in iov, device-writable ("in") ones after them: the walker refuses a
 * readable descriptor after a writable one, so the split is a single index.
 * Owned by one worker; allocate once with vq_chain_init(cap = the queue's max size).
 */
struct vq_chain {
	uint16_t head;       /* give back to vq_push(), also after -EBADMSG */
	unsigned nout, nin;  /* segment counts; zero-length descriptors make no segment */
	uint32_t out_bytes;  /* total driver-readable bytes */
	uint32_t in_bytes;   /* total device-writable bytes */
	struct iovec *out;   /* = iov */
	struct iovec *in;    /* = iov + nout */
	unsigned ndesc;      /* data descriptors walked, for the queue-size bound */
	unsigned cap;
	struct iovec *iov;
};

struct vq_stats {
	uint64_t bad_chains;  /* chains refused with -EBADMSG */
	uint64_t ring_errors; /* ring corruption that broke the queue (-EIO) */
};

struct vq {
	pthread_mutex_t lock;
	/* Fixed at vq_init. */
	uint16_t index;
	uint16_t max_size;
	const struct guest_memory *mem;
	/* Set-up state: written by the transport while the device is inactive; protected by lock. */
	uint16_t size;
	bool ready;
	bool event_idx;         /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;          /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	uint64_t gpa[VQ_NRINGS];
	vq_translate_fn translate;
	void *translate_ctx;
	/* Host views of the rings, checked once by vq_enable (guest RAM never moves). */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	/* Ring progress: protected by lock. */
	uint16_t last_avail_idx; /* next avail slot to pop */
	uint16_t used_idx;       /* shadow of used->idx: only we write it */
	uint16_t signalled_used; /* used_idx at the last notify decision */
	bool signalled_valid;
	bool notify_armed;       /* guest asked to notify us for its next buffer */
	bool broken;             /* ring corrupt: pops fail with -EIO until reset */
	struct vq_stats stats;
};

/* max_size: a power of two up to VQ_MAX_SIZE. */
int vq_init(struct vq *vq, uint16_t index, uint16_t max_size,
	    const struct guest_memory *mem) MUST_CHECK;
void vq_destroy(struct vq *vq);
/* Back to the state after vq_init (keeps the statistics and the translator). */
void vq_reset(struct vq *vq);

/* Set-up, refused with -EBUSY once the queue is ready. num: power of two, 1..max_size. */
int vq_set_size(struct vq *vq, uint32_t num) MUST_CHECK;
int vq_set_ring_addr(struct vq *vq, enum vq_ring ring, uint64_t gpa) MUST_CHECK;
uint64_t vq_ring_addr(struct vq *vq, enum vq_ring ring);
/*
 * Check the layout (size set, rings aligned 16/2/4 and wholly inside RAM) and make
 * the queue ready. -EINVAL bad size or alignment, -EFAULT a ring outside RAM.
 */
int vq_enable(struct vq *vq, bool event_idx, bool indirect) MUST_CHECK;
bool vq_is_ready(struct vq *vq);
void vq_set_translator(struct vq *vq, vq_translate_fn fn, void *ctx);
struct vq_stats vq_get_stats(struct vq *vq);

int vq_chain_init(struct vq_chain *chain, unsigned cap) MUST_CHECK;
void vq_chain_free(struct vq_chain *chain);

/*
 * Take the next available chain.
 *   0        chain filled.
 *   -EAGAIN  nothing available (or the queue is not ready); notifications are re-armed
 *            and the ring re-checked first, so sleeping on the notify eventfd is safe.
 *   -EBADMSG this chain is malformed; chain->head is valid and consumed: answer it
 *            with vq_push(head, 0) and carry on.
 *   -EIO     the ring itself is corrupt (avail index ran more than the queue size
 *            ahead, head index out of range); the queue is now broken: set
 *            DEVICE_NEEDS_RESET (vmmio_set_needs_reset).
 */
int vq_pop(struct vq *vq, struct vq_chain *chain) MUST_CHECK;
/*
 * vq_pop for a pool of threads sharing a queue: after a chain is taken (0 or -EBADMSG),
 * guest notifications are re-armed if the ring is now empty, so the guest's next buffer
 * kicks the notify eventfd while the caller serves this one; *more says whether chains
 * were still pending, which the caller must then hand to a sibling (the guest will not
 * kick for them). Otherwise as vq_pop.
 */
int vq_pop_watched(struct vq *vq, struct vq_chain *chain, bool *more) MUST_CHECK;
/*
 * vq_pop_watched, but only a chain accept(chain, arg) says yes to: otherwise -EBUSY and
 * the chain stays first in the ring for the next pop. accept runs under the queue lock,
 * on a chain the walker has checked; it must only look. Malformed chains are taken
 * (-EBADMSG).
 */
typedef bool vq_accept_fn(const struct vq_chain *chain, void *arg);
int vq_pop_if(struct vq *vq, struct vq_chain *chain, vq_accept_fn *accept, void *arg,
	      bool *more) MUST_CHECK;
/* Publish (head, len) on the used ring. -EINVAL head out of range or queue not ready. */
int vq_push(struct vq *vq, uint16_t head, uint32_t len) MUST_CHECK;
/* Does the guest want an interrupt for what was pushed since the last decision? */
bool vq_should_notify(struct vq *vq);
/* vq_push and vq_should_notify under one lock hold. */
int vq_push_notify(struct vq *vq, uint16_t head, uint32_t len, bool *notify) MUST_CHECK;
/* vring_need_event: did moving an index from old to new_idx pass event? (wraps at 2^16) */
bool vq_need_event(uint16_t event, uint16_t new_idx, uint16_t old);

/* Copy between a chain's segments and a flat buffer; return the bytes copied. */
size_t vq_chain_read(const struct vq_chain *chain, size_t offset, void *dst, size_t len);
size_t vq_chain_write(const struct vq_chain *chain, size_t offset, const void *src, size_t len);

#endif
