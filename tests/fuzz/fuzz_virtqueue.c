/* fuzz_virtqueue.c: libFuzzer target: the split-virtqueue chain walker over input-filled RAM. */
/*
 * Input: a 16-byte header, then guest RAM. Every RAM region is its own heap block of
 * exactly its size, so AddressSanitizer sees any access one byte past it.
 *   [0]     bits 0-3 log2 of the queue size (capped at FZ_MAX_SIZE), bit 4 EVENT_IDX,
 *           bit 5 INDIRECT_DESC, bit 6 take the size from [1..2] as is (bad sizes too),
 *           bit 7 split layout (below)
 *   [1..2]  raw queue size (little endian)
 *   [3]     push policy: bit 0 answer with the chain's writable length rather than
 *           what we wrote, bit 1 also try a head out of range (must be refused),
 *           bit 2 refuse each chain once (vq_pop_if): it must stay first in the ring
 *   [4..15] gpa of the descriptor table, avail ring, used ring (u32 little endian each)
 * Shared layout: the rest of the input is one region at gpa 0 and the rings are wherever
 * [4..15] put them (misaligned, overlapping, outside). Split layout: the descriptor
 * table, avail ring and used ring are each a region of exactly their size (at 4, 8 and
 * 12 GiB, filled from the input in that order), so reading one entry past a ring
 * faults; the rest is the data region at gpa 0.
 * Every chain the walker accepts is checked: segments inside RAM, none empty, the totals
 * match, out before in, no more segments than the queue size; then it is read and written
 * through vq_chain_read/vq_chain_write and returned with vq_push, as a device would.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../devices/virtio_mmio/virtqueue.h"

#define FZ_HDR 16U
#define FZ_MAX_SIZE 256U
#define FZ_CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#define FZ_GIB (1ULL << 30)

struct fz_vq {
	struct guest_memory mem; /* regions are heap blocks, freed with fz_free_memory */
	struct vq vq;
	struct vq_chain chain;
	uint8_t policy;
};

static uint32_t fz_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* One segment: non-empty and wholly inside one RAM region (the default translator's promise). */
static void fz_check_segment(const struct fz_vq *f, const struct iovec *v)
{
	const uint8_t *base = v->iov_base;

	FZ_CHECK(v->iov_len > 0);
	for (unsigned i = 0; i < f->mem.nregions; i++) {
		const struct guest_region *r = &f->mem.region[i];

		if (base >= r->host && base < r->host + r->size) {
			FZ_CHECK(v->iov_len <= (size_t)(r->host + r->size - base));
			return;
		}
	}
	__builtin_trap();
}

static void fz_check_chain(const struct fz_vq *f)
{
	const struct vq_chain *c = &f->chain;
	uint64_t out = 0, in = 0;
	unsigned i;

	FZ_CHECK(c->head < f->vq.size);
	FZ_CHECK(c->nout + c->nin <= c->cap && c->ndesc <= f->vq.size);
	FZ_CHECK(c->nout + c->nin <= c->ndesc);
	FZ_CHECK(c->out == c->iov && c->in == c->iov + c->nout);
	for (i = 0; i < c->nout + c->nin; i++) {
		fz_check_segment(f, &c->iov[i]);
		if (i < c->nout)
			out += c->iov[i].iov_len;
		else
			in += c->iov[i].iov_len;
	}
	FZ_CHECK(out == c->out_bytes && in == c->in_bytes);
	FZ_CHECK(out + in > 0);
}

/*
 * Reads the whole readable part, then from its middle; writes a pattern into the writable
 * part from a third of the way in. Descriptors may alias each other (and the rings), so a
 * chain can carry more bytes than RAM has: the buffer is sized per chain.
 */
static uint32_t fz_use_chain(struct fz_vq *f)
{
	const struct vq_chain *c = &f->chain;
	size_t big = c->out_bytes > c->in_bytes ? c->out_bytes : c->in_bytes;
	size_t half = c->out_bytes / 2, n;
	uint8_t *buf = malloc(big + 1);

	if (!buf)
		__builtin_trap();
	n = vq_chain_read(c, 0, buf, big + 1);
	FZ_CHECK(n == c->out_bytes);
	n = vq_chain_read(c, half, buf, big + 1);
	FZ_CHECK(n == c->out_bytes - half);
	FZ_CHECK(vq_chain_read(c, c->out_bytes, buf, 1) == 0);
	memset(buf, 0xa5, c->in_bytes);
	n = vq_chain_write(c, c->in_bytes / 3, buf, c->in_bytes);
	FZ_CHECK(n == c->in_bytes - c->in_bytes / 3);
	FZ_CHECK(vq_chain_write(c, c->in_bytes, buf, 1) == 0);
	free(buf);
	return (f->policy & 1) ? c->in_bytes : (uint32_t)n;
}

static bool fz_refuse(const struct vq_chain *chain, void *arg)
{
	(void)chain;
	(void)arg;
	return false;
}

/* A pop; with policy bit 2, refused once first, after which the same chain must come. */
static int fz_pop(struct fz_vq *f)
{
	uint16_t head;
	bool more;
	int ret;

	if (!(f->policy & 4))
		return vq_pop(&f->vq, &f->chain);
	ret = vq_pop_if(&f->vq, &f->chain, fz_refuse, NULL, &more);
	if (ret != -EBUSY)
		return ret;
	head = f->chain.head;
	ret = vq_pop(&f->vq, &f->chain);
	FZ_CHECK(ret == 0 && f->chain.head == head);
	return ret;
}

/* Pops until the queue is empty or broken; a device answers every head it was given. */
static void fz_drain(struct fz_vq *f)
{
	unsigned budget = 4U * f->vq.size + 8, i;
	bool notify;

	for (i = 0; i < budget; i++) {
		int ret = fz_pop(f);
		uint32_t len = 0;

		if (ret == -EAGAIN)
			return;
		if (ret == -EIO) {
			FZ_CHECK(vq_pop(&f->vq, &f->chain) == -EIO);
			FZ_CHECK(vq_get_stats(&f->vq).ring_errors == 1);
			return;
		}
		FZ_CHECK(ret == 0 || ret == -EBADMSG);
		FZ_CHECK(f->chain.head < f->vq.size);
		if (ret == 0) {
			fz_check_chain(f);
			len = fz_use_chain(f);
		} else {
			FZ_CHECK(f->chain.nout == 0 && f->chain.nin == 0);
		}
		FZ_CHECK(vq_push_notify(&f->vq, f->chain.head, len, &notify) == 0);
		if (f->policy & 2)
			FZ_CHECK(vq_push(&f->vq, f->vq.size, 0) == -EINVAL);
	}
}

static uint32_t fz_queue_size(const uint8_t *hdr)
{
	if (hdr[0] & 0x40)
		return (uint32_t)hdr[1] | (uint32_t)hdr[2] << 8;
	return 1U << ((hdr[0] & 0x0f) > 8 ? 8 : (hdr[0] & 0x0f));
}

/* A region of len bytes at gpa, filled from the input as far as it goes, zeros after. */
static void fz_add_region(struct guest_memory *m, uint64_t gpa, uint64_t len,
			  const uint8_t **src, size_t *left)
{
	struct guest_region *r = &m->region[m->nregions++];
	size_t n = *left < len ? *left : (size_t)len;

	r->gpa = gpa;
	r->size = len;
	r->host = calloc(1, len ? len : 1);
	if (!r->host)
		__builtin_trap();
	memcpy(r->host, *src, n);
	*src += n;
	*left -= n;
	m->ram_bytes += len;
}

static void fz_make_memory(struct fz_vq *f, const uint8_t *hdr, const uint8_t *src, size_t left)
{
	uint32_t num = fz_queue_size(hdr);

	memset(&f->mem, 0, sizeof(f->mem));
	if ((hdr[0] & 0x80) && num && num <= FZ_MAX_SIZE && !(num & (num - 1))) {
		fz_add_region(&f->mem, 4 * FZ_GIB, 16ULL * num, &src, &left);
		fz_add_region(&f->mem, 8 * FZ_GIB, 6 + 2ULL * num, &src, &left);
		fz_add_region(&f->mem, 12 * FZ_GIB, 6 + 8ULL * num, &src, &left);
	}
	fz_add_region(&f->mem, 0, left, &src, &left);
}

static void fz_free_memory(struct fz_vq *f)
{
	for (unsigned i = 0; i < f->mem.nregions; i++)
		free(f->mem.region[i].host);
}

/* The ring addresses: from the header, or the split layout's own regions. */
static uint64_t fz_ring_gpa(const uint8_t *hdr, unsigned ring, unsigned nregions)
{
	return nregions > 1 ? (uint64_t)(ring + 1) * 4 * FZ_GIB : fz_le32(hdr + 4 + 4 * ring);
}

/* Queue set-up as the transport does it; a refused layout is a fine outcome too. */
static int fz_setup(struct fz_vq *f, const uint8_t *hdr)
{
	uint32_t num = fz_queue_size(hdr);
	int ret;

	if (vq_init(&f->vq, 0, FZ_MAX_SIZE, &f->mem))
		__builtin_trap();
	ret = vq_set_size(&f->vq, num);
	FZ_CHECK(ret == 0 || (ret == -EINVAL && (num == 0 || num > FZ_MAX_SIZE || (num & (num - 1)))));
	if (ret == 0)
		ret = vq_set_ring_addr(&f->vq, VQ_RING_DESC, fz_ring_gpa(hdr, 0, f->mem.nregions));
	if (ret == 0)
		ret = vq_set_ring_addr(&f->vq, VQ_RING_AVAIL, fz_ring_gpa(hdr, 1, f->mem.nregions));
	if (ret == 0)
		ret = vq_set_ring_addr(&f->vq, VQ_RING_USED, fz_ring_gpa(hdr, 2, f->mem.nregions));
	if (ret == 0)
		ret = vq_enable(&f->vq, hdr[0] & 0x10, hdr[0] & 0x20);
	if (ret == 0)
		FZ_CHECK(vq_set_size(&f->vq, 1) == -EBUSY);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_vq f = { 0 };

	if (size < FZ_HDR)
		return 0;
	f.policy = data[3];
	fz_make_memory(&f, data, data + FZ_HDR, size - FZ_HDR);
	if (vq_chain_init(&f.chain, FZ_MAX_SIZE))
		__builtin_trap();
	if (fz_setup(&f, data) == 0)
		fz_drain(&f);
	vq_destroy(&f.vq);
	vq_chain_free(&f.chain);
	fz_free_memory(&f);
	return 0;
}
