/* virtqueue.c: split virtqueues: ring checks, chain walking, used ring, event suppression. */
/*
 * Lock order: vmmio.lock (transport registers) -> vq.lock. Worker threads take only
 * vq.lock, so several workers may share one queue: vq_pop and vq_push/vq_should_notify
 * each hold it for their whole ring update.
 *
 * The rings live in guest memory that the guest writes concurrently. Every index and
 * descriptor is loaded once into a local copy and only the copy is checked and used.
 * Ordering with the guest (VIRTIO 1.2, supplying and receiving used buffers):
 *   pop:  avail->idx is loaded with acquire before the ring slots it covers are read.
 *   push: the used element is stored before used->idx, which is stored with release.
 *   notification decisions store our index, issue a full fence, then load the guest's
 *   event field; the guest does the mirror image, so one of the two sees the other.
 *
 * Error policy: a malformed chain (-EBADMSG) is answered by the device with a used
 * entry of length 0: the guest gets its buffer back, everything else on the queue keeps
 * flowing, and a buggy request cannot take the whole device down. Corruption of the
 * ring itself (-EIO) leaves no trustworthy head to return, so the queue is marked
 * broken and the device sets DEVICE_NEEDS_RESET; the driver must reset it.
 */
#include <endian.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "virtqueue.h"

#define VQ_DESC_SIZE 16U

static uint16_t ring_load16(const __virtio16 *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static void ring_store16(__virtio16 *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

/* used_event sits after the avail ring, avail_event after the used ring. */
static __virtio16 *vq_used_event(struct vq *vq)
{
	return &vq->avail->ring[vq->size];
}

static __virtio16 *vq_avail_event(struct vq *vq)
{
	return (__virtio16 *)&vq->used->ring[vq->size];
}

static void *vq_gm_translate(void *ctx, uint64_t gpa, uint64_t len)
{
	return gm_translate(ctx, gpa, len);
}

static void vq_clear(struct vq *vq)
{
	vq->size = 0;
	vq->ready = false;
	vq->event_idx = false;
	vq->indirect = false;
	memset(vq->gpa, 0, sizeof(vq->gpa));
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->last_avail_idx = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_valid = false;
	vq->notify_armed = true;
	vq->broken = false;
}

int vq_init(struct vq *vq, uint16_t index, uint16_t max_size, const struct guest_memory *mem)
{
	int ret;

	if (max_size == 0 || max_size > VQ_MAX_SIZE || (max_size & (max_size - 1)))
		return -EINVAL;
	memset(vq, 0, sizeof(*vq));
	ret = pthread_mutex_init(&vq->lock, NULL);
	if (ret)
		return -ret;
	vq->index = index;
	vq->max_size = max_size;
	vq->mem = mem;
	vq->translate = vq_gm_translate;
	vq->translate_ctx = (void *)mem;
	vq_clear(vq);
	return 0;
}

void vq_destroy(struct vq *vq)
{
	pthread_mutex_destroy(&vq->lock);
}

void vq_reset(struct vq *vq)
{
	pthread_mutex_lock(&vq->lock);
	vq_clear(vq);
	pthread_mutex_unlock(&vq->lock);
}

int vq_set_size(struct vq *vq, uint32_t num)
{
	int ret = 0;

	pthread_mutex_lock(&vq->lock);
	if (vq->ready)
		ret = -EBUSY;
	else if (num == 0 || num > vq->max_size || (num & (num - 1)))
		ret = -EINVAL;
	else
		vq->size = (uint16_t)num;
	pthread_mutex_unlock(&vq->lock);
	return ret;
}

int vq_set_ring_addr(struct vq *vq, enum vq_ring ring, uint64_t gpa)
{
	int ret = 0;

	if ((unsigned)ring >= VQ_NRINGS)
		return -EINVAL;
	pthread_mutex_lock(&vq->lock);
	if (vq->ready)
		ret = -EBUSY;
	else
		vq->gpa[ring] = gpa;
	pthread_mutex_unlock(&vq->lock);
	return ret;
}

uint64_t vq_ring_addr(struct vq *vq, enum vq_ring ring)
{
	uint64_t gpa;

	if ((unsigned)ring >= VQ_NRINGS)
		return 0;
	pthread_mutex_lock(&vq->lock);
	gpa = vq->gpa[ring];
	pthread_mutex_unlock(&vq->lock);
	return gpa;
}

/* Sizes include the event fields (2.7: 6 + 2 * size and 6 + 8 * size bytes). */
static int vq_map_rings(struct vq *vq)
{
	uint64_t n = vq->size;

	if (n == 0)
		return -EINVAL;
	if ((vq->gpa[VQ_RING_DESC] & (VRING_DESC_ALIGN_SIZE - 1)) ||
	    (vq->gpa[VQ_RING_AVAIL] & (VRING_AVAIL_ALIGN_SIZE - 1)) ||
	    (vq->gpa[VQ_RING_USED] & (VRING_USED_ALIGN_SIZE - 1)))
		return -EINVAL;
	vq->desc = gm_translate(vq->mem, vq->gpa[VQ_RING_DESC], VQ_DESC_SIZE * n);
	vq->avail = gm_translate(vq->mem, vq->gpa[VQ_RING_AVAIL], 6 + 2 * n);
	vq->used = gm_translate(vq->mem, vq->gpa[VQ_RING_USED], 6 + 8 * n);
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		return -EFAULT;
	}
	return 0;
}

int vq_enable(struct vq *vq, bool event_idx, bool indirect)
{
	int ret;

	pthread_mutex_lock(&vq->lock);
	ret = vq->ready ? -EBUSY : vq_map_rings(vq);
	if (ret == 0) {
		vq->event_idx = event_idx;
		vq->indirect = indirect;
		vq->last_avail_idx = 0;
		vq->used_idx = 0;
		vq->signalled_valid = false;
		vq->broken = false;
		/* Start with notifications on: the guest's first buffer must wake us. */
		ring_store16(&vq->used->flags, 0);
		ring_store16(vq_avail_event(vq), 0);
		vq->notify_armed = true;
		vq->ready = true;
	}
	pthread_mutex_unlock(&vq->lock);
	return ret;
}

bool vq_is_ready(struct vq *vq)
{
	bool ready;

	pthread_mutex_lock(&vq->lock);
	ready = vq->ready;
	pthread_mutex_unlock(&vq->lock);
	return ready;
}

void vq_set_translator(struct vq *vq, vq_translate_fn fn, void *ctx)
{
	pthread_mutex_lock(&vq->lock);
	vq->translate = fn ? fn : vq_gm_translate;
	vq->translate_ctx = fn ? ctx : (void *)vq->mem;
	pthread_mutex_unlock(&vq->lock);
}

struct vq_stats vq_get_stats(struct vq *vq)
{
	struct vq_stats s;

	pthread_mutex_lock(&vq->lock);
	s = vq->stats;
	pthread_mutex_unlock(&vq->lock);
	return s;
}

int vq_chain_init(struct vq_chain *chain, unsigned cap)
{
	memset(chain, 0, sizeof(*chain));
	if (cap == 0)
		return -EINVAL;
	chain->iov = calloc(cap, sizeof(*chain->iov));
	if (!chain->iov)
		return -ENOMEM;
	chain->cap = cap;
	chain->out = chain->iov;
	chain->in = chain->iov;
	return 0;
}

void vq_chain_free(struct vq_chain *chain)
{
	free(chain->iov);
	memset(chain, 0, sizeof(*chain));
}

/* ---- popping: walking one chain ---- */

/* Where the walk currently reads descriptors: the ring's table or one indirect table. */
struct vq_walk {
	const uint8_t *table;
	uint32_t count; /* descriptors in table */
	bool in_indirect;
	bool seen_write;
};

/* One copy of the guest's descriptor; tables need not be aligned, so memcpy. */
static void vq_read_desc(const uint8_t *table, uint32_t i, struct vring_desc *d)
{
	memcpy(d, table + (size_t)i * VQ_DESC_SIZE, sizeof(*d));
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

/* 2.7.5.3.1: indirect only if negotiated, never nested, never with NEXT, whole entries. */
static int vq_enter_indirect(struct vq *vq, struct vq_walk *w, const struct vring_desc *d)
{
	const uint8_t *table;

	if (!vq->indirect || w->in_indirect || (d->flags & VRING_DESC_F_NEXT))
		return -EBADMSG;
	if (d->len == 0 || d->len % VQ_DESC_SIZE || d->len / VQ_DESC_SIZE > vq->size)
		return -EBADMSG;
	table = gm_translate(vq->mem, d->addr, d->len);
	if (!table)
		return -EBADMSG;
	w->table = table;
	w->count = d->len / VQ_DESC_SIZE;
	w->in_indirect = true;
	return 0;
}

static int vq_add_segment(struct vq *vq, struct vq_chain *c, struct vq_walk *w,
			  const struct vring_desc *d)
{
	bool write = d->flags & VRING_DESC_F_WRITE;
	uint32_t *total = write ? &c->in_bytes : &c->out_bytes;
	void *host;

	/*
	 * 2.7.5.3.1: no chain longer than the queue size, indirect parts included. This is
	 * also the loop detector: every hop but an indirect jump (which is terminal and
	 * cannot nest) lands here, so a looping chain ends after at most size + 1 steps.
	 */
	if (++c->ndesc > vq->size)
		return -EBADMSG;
	/* 2.7.4.2: device-writable descriptors come after all device-readable ones. */
	if (!write && w->seen_write)
		return -EBADMSG;
	w->seen_write |= write;
	if (d->len == 0)
		return 0;
	/* 2.7.5.2 caps a chain at 2^32 bytes; used.len is 32-bit, so must our totals be. */
	if (d->len > UINT32_MAX - *total || c->nout + c->nin >= c->cap)
		return -EBADMSG;
	host = vq->translate(vq->translate_ctx, d->addr, d->len);
	if (!host)
		return -EBADMSG;
	c->iov[c->nout + c->nin].iov_base = host;
	c->iov[c->nout + c->nin].iov_len = d->len;
	*total += d->len;
	if (write)
		c->nin++;
	else
		c->nout++;
	return 0;
}

static int vq_walk_chain(struct vq *vq, struct vq_chain *c)
{
	struct vq_walk w = { .table = (const uint8_t *)vq->desc, .count = vq->size };
	struct vring_desc d;
	uint32_t i = c->head;
	int ret;

	for (;;) {
		if (i >= w.count)
			return -EBADMSG;
		vq_read_desc(w.table, i, &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			ret = vq_enter_indirect(vq, &w, &d);
			if (ret)
				return ret;
			i = 0;
			continue;
		}
		ret = vq_add_segment(vq, c, &w, &d);
		if (ret)
			return ret;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		i = d.next;
	}
	return c->out_bytes == 0 && c->in_bytes == 0 ? -EBADMSG : 0;
}

static void vq_chain_start(struct vq_chain *c, uint16_t head)
{
	c->head = head;
	c->nout = 0;
	c->nin = 0;
	c->out_bytes = 0;
	c->in_bytes = 0;
	c->ndesc = 0;
	c->out = c->iov;
	c->in = c->iov;
}

/* ---- popping: the avail ring and notification suppression ---- */

static uint16_t vq_pending(struct vq *vq)
{
	uint16_t idx = le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));

	return (uint16_t)(idx - vq->last_avail_idx);
}

/*
 * The queue looked empty: ask the guest to notify us for its next buffer, then look
 * again. With EVENT_IDX that is avail_event = the next slot we will read; without it,
 * clearing VRING_USED_F_NO_NOTIFY.
 */
static uint16_t vq_arm_and_recheck(struct vq *vq)
{
	if (vq->event_idx)
		ring_store16(vq_avail_event(vq), vq->last_avail_idx);
	else
		ring_store16(&vq->used->flags, 0);
	vq->notify_armed = true;
	atomic_thread_fence(memory_order_seq_cst);
	return vq_pending(vq);
}

/*
 * We have work: while we are busy the guest need not notify. With EVENT_IDX nothing is
 * written: avail_event stays at the slot it was armed for, which the guest passes once,
 * so it stays quiet until we find the ring empty and arm again.
 */
static void vq_disarm(struct vq *vq)
{
	if (!vq->notify_armed)
		return;
	vq->notify_armed = false;
	if (!vq->event_idx)
		ring_store16(&vq->used->flags, VRING_USED_F_NO_NOTIFY);
}

/* Chains waiting; if none, notifications are armed first and the ring looked at again. */
static uint16_t vq_pending_or_arm(struct vq *vq)
{
	uint16_t pending = vq_pending(vq);

	return pending ? pending : vq_arm_and_recheck(vq);
}

static int vq_break(struct vq *vq)
{
	vq->broken = true;
	vq->stats.ring_errors++;
	return -EIO;
}

/* accept: NULL, or whether this (well-formed) chain is the caller's to take. */
static int vq_pop_locked(struct vq *vq, struct vq_chain *chain, vq_accept_fn *accept,
			 void *arg)
{
	uint16_t pending, head;

	if (!vq->ready)
		return -EAGAIN;
	if (vq->broken)
		return -EIO;
	pending = vq_pending_or_arm(vq);
	if (pending == 0)
		return -EAGAIN;
	/* The driver cannot have more than size buffers outstanding. */
	if (pending > vq->size)
		return vq_break(vq);
	vq_disarm(vq);
	head = ring_load16(&vq->avail->ring[vq->last_avail_idx & (vq->size - 1)]);
	vq->last_avail_idx++;
	if (head >= vq->size)
		return vq_break(vq);
	vq_chain_start(chain, head);
	if (vq_walk_chain(vq, chain)) {
		vq->stats.bad_chains++;
		chain->nout = chain->nin = 0;
		chain->out_bytes = chain->in_bytes = 0;
		return -EBADMSG;
	}
	chain->out = chain->iov;
	chain->in = chain->iov + chain->nout;
	if (accept && !accept(chain, arg)) {
		vq->last_avail_idx--; /* walking changed nothing else: it stays for others */
		return -EBUSY;
	}
	return 0;
}

int vq_pop(struct vq *vq, struct vq_chain *chain)
{
	int ret;

	pthread_mutex_lock(&vq->lock);
	ret = vq_pop_locked(vq, chain, NULL, NULL);
	pthread_mutex_unlock(&vq->lock);
	return ret;
}

int vq_pop_if(struct vq *vq, struct vq_chain *chain, vq_accept_fn *accept, void *arg,
	      bool *more)
{
	int ret;

	pthread_mutex_lock(&vq->lock);
	ret = vq_pop_locked(vq, chain, accept, arg);
	/* Nothing else pending: re-armed, so the guest's next buffer wakes a sleeper. */
	*more = (ret == 0 || ret == -EBADMSG) && vq_pending_or_arm(vq) != 0;
	pthread_mutex_unlock(&vq->lock);
	return ret;
}

int vq_pop_watched(struct vq *vq, struct vq_chain *chain, bool *more)
{
	return vq_pop_if(vq, chain, NULL, NULL, more);
}

/* ---- pushing and interrupt suppression ---- */

static int vq_push_locked(struct vq *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e;

	if (!vq->ready || head >= vq->size)
		return -EINVAL;
	e = &vq->used->ring[vq->used_idx & (vq->size - 1)];
	__atomic_store_n(&e->id, htole32(head), __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, htole32(len), __ATOMIC_RELAXED);
	vq->used_idx++;
	/* Release: the guest must never see the new index before the element it covers. */
	__atomic_store_n(&vq->used->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
	return 0;
}

static bool vq_should_notify_locked(struct vq *vq)
{
	uint16_t old = vq->signalled_used, new_idx = vq->used_idx;
	bool valid = vq->signalled_valid;

	if (!vq->ready || (valid && old == new_idx))
		return false;
	vq->signalled_used = new_idx;
	vq->signalled_valid = true;
	/* Our used->idx store must be visible before we read what the guest asked for. */
	atomic_thread_fence(memory_order_seq_cst);
	if (!vq->event_idx)
		return !(ring_load16(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	return !valid || vq_need_event(ring_load16(vq_used_event(vq)), new_idx, old);
}

int vq_push(struct vq *vq, uint16_t head, uint32_t len)
{
	int ret;

	pthread_mutex_lock(&vq->lock);
	ret = vq_push_locked(vq, head, len);
	pthread_mutex_unlock(&vq->lock);
	return ret;
}

bool vq_should_notify(struct vq *vq)
{
	bool notify;

	pthread_mutex_lock(&vq->lock);
	notify = vq_should_notify_locked(vq);
	pthread_mutex_unlock(&vq->lock);
	return notify;
}

int vq_push_notify(struct vq *vq, uint16_t head, uint32_t len, bool *notify)
{
	int ret;

	pthread_mutex_lock(&vq->lock);
	ret = vq_push_locked(vq, head, len);
	*notify = ret == 0 && vq_should_notify_locked(vq);
	pthread_mutex_unlock(&vq->lock);
	return ret;
}

bool vq_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return vring_need_event(event, new_idx, old);
}

/* ---- copying ---- */

static size_t vq_iov_copy(const struct iovec *iov, unsigned n, size_t offset, uint8_t *buf,
			  size_t len, bool to_iov)
{
	size_t done = 0;
	unsigned i;

	for (i = 0; i < n && done < len; i++) {
		size_t chunk;

		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		chunk = iov[i].iov_len - offset;
		if (chunk > len - done)
			chunk = len - done;
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + offset, buf + done, chunk);
		else
			memcpy(buf + done, (uint8_t *)iov[i].iov_base + offset, chunk);
		done += chunk;
		offset = 0;
	}
	return done;
}

size_t vq_chain_read(const struct vq_chain *chain, size_t offset, void *dst, size_t len)
{
	return vq_iov_copy(chain->out, chain->nout, offset, dst, len, false);
}

size_t vq_chain_write(const struct vq_chain *chain, size_t offset, const void *src, size_t len)
{
	return vq_iov_copy(chain->in, chain->nin, offset, (uint8_t *)src, len, true);
}
