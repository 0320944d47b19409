/* mg_gen.c: the hostile driver's garbage: random numbers, addresses, descriptors, FUSE requests. */
#include "mmio_garbage.h"

/* ---- pseudo-random numbers (xorshift64*): the seed alone reproduces a run ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

void mg_seed(unsigned long long seed)
{
	rng_state = (seed + 1) * 0x9e3779b97f4a7c15ULL;
}

uint64_t mg_rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

uint32_t mg_below(uint64_t n)
{
	return n ? (uint32_t)(mg_rnd() % n) : 0;
}

bool mg_chance(unsigned pct)
{
	return mg_below(100) < pct;
}

/* Values drivers and bugs like: edges, status bits, small indexes, else anything. */
uint32_t mg_value(void)
{
	static const uint32_t pick[] = { 0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0x100, 0x400, 0x401,
					 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000,
					 0xffffffff, 0xfffffffe, 0x0b, 0x0f, 0x4f, 0x8f, 0x40 };

	return mg_chance(40) ? pick[mg_below(sizeof(pick) / sizeof(pick[0]))] : (uint32_t)mg_rnd();
}

/* ---- addresses: inside the region's areas, or where nothing of any length fits ---- */

uint64_t mg_gpa(struct mg *m, uint32_t off)
{
	return m->phys + off;
}

void *mg_host(struct mg *m, uint64_t gpa)
{
	return m->reg + (gpa - m->phys);
}

bool mg_in_area(struct mg *m, uint64_t gpa, uint32_t start, uint32_t end)
{
	return gpa >= m->phys + start && gpa < m->phys + end;
}

/* Below 4 GiB, so a LOW register alone is safe whatever HIGH holds (RAM ends below 3 GiB). */
static uint64_t ring_outside(struct mg *m)
{
	switch (mg_below(4)) {
	case 0:
		/* 8 bytes or less before the end: no used or descriptor ring fits. */
		return m->ram_top - 8 + mg_below(8);
	case 1: /* the device windows themselves */
		return MG_MMIO_BASE + mg_below(MG_NWIN) * MG_WIN;
	case 2:
		return MG_HOLE + (mg_rnd() & 0x3ffffff0ULL);
	default:
		return m->ram_top + (mg_rnd() & 0xfffff0ULL);
	}
}

/*
 * A ring inside the region, aligned as 2.7 wants. Sloppy: some misaligned, avail rings
 * now and then over the descriptors (the device then reads garbage indexes).
 */
static uint64_t ring_inside(struct mg *m, enum mg_ring r, bool sloppy)
{
	uint32_t off;

	if (r == R_DESC)
		off = mg_below(A_AVAIL - MG_DESC_MAX);
	else if (r == R_AVAIL)
		off = !sloppy || mg_chance(70) ? A_AVAIL + mg_below(A_USED - A_AVAIL - MG_AVAIL_MAX)
					       : mg_below(A_AVAIL - MG_AVAIL_MAX);
	else /* mostly its own area, else over the avail rings; never over descriptors */
		off = mg_chance(80) ? A_USED + mg_below(A_DATA - A_USED - MG_USED_MAX)
				    : A_AVAIL + mg_below(A_USED - A_AVAIL - MG_USED_MAX);
	if (!sloppy || mg_chance(85))
		off &= ~15U; /* the rest checks the alignment rules */
	return mg_gpa(m, off);
}

uint64_t mg_ring_addr(struct mg *m, enum mg_ring r, bool valid)
{
	if (valid)
		return ring_inside(m, r, false);
	return mg_chance(75) ? ring_inside(m, r, true) : ring_outside(m);
}

/* Descriptor lengths: mostly small, some exact struct sizes, some up to MG_BUF_MAX. */
uint32_t mg_len(void)
{
	static const uint32_t sizes[] = { 0, 1, 15, 16, 40, 56, 64, 80, 104, 4096, 4097 };

	switch (mg_below(4)) {
	case 0:
		return mg_below(65);
	case 1:
		return sizes[mg_below(sizeof(sizes) / sizeof(sizes[0]))];
	case 2:
		return mg_below(4097);
	default:
		return mg_below(MG_BUF_MAX + 1);
	}
}

/* A buffer that can never fit in RAM: across its end, wrapping, in the hole, far away. */
static void buffer_outside(struct mg *m, uint64_t *addr, uint32_t *len)
{
	uint32_t k = 1 + mg_below(4096);

	switch (mg_below(5)) {
	case 0:
		*addr = m->ram_top - k;
		*len = k + 1 + mg_below(MG_BUF_MAX);
		break;
	case 1: /* anywhere in RAM, with a length that runs past its end */
		*addr = mg_below(m->ram_top);
		*len = (uint32_t)(m->ram_top - *addr) + 1 + mg_below(MG_BUF_MAX);
		break;
	case 2:
		*addr = ~0ULL - mg_below(4096);
		*len = 4096 + mg_below(MG_BUF_MAX);
		break;
	case 3:
		*addr = MG_HOLE + (mg_rnd() & 0x3fffffffULL);
		*len = mg_len();
		break;
	default:
		*addr = mg_rnd() | (1ULL << 52);
		*len = mg_chance(50) ? 0xffffffffU : mg_len();
		break;
	}
}

static const struct mg_dev *dax_dev(struct mg *m)
{
	unsigned w, first = mg_below(MG_NWIN);

	for (w = 0; w < MG_NWIN; w++)
		if (m->dev[(first + w) % MG_NWIN].shm_len)
			return &m->dev[(first + w) % MG_NWIN];
	return NULL;
}

static void gen_buffer(struct mg *m, bool writable, uint64_t *addr, uint32_t *len)
{
	unsigned pick = mg_below(100);
	const struct mg_dev *d;

	*len = mg_len();
	if (pick < 55 || (pick < 65 && writable)) {
		*addr = mg_gpa(m, A_DATA + mg_below(MG_REGION - A_DATA - MG_BUF_MAX));
	} else if (pick < 65) { /* the device only reads these: descriptors as request bytes */
		*addr = mg_gpa(m, mg_below(A_DATA - MG_BUF_MAX));
	} else if (pick < 78 && (d = dax_dev(m)) != NULL) {
		*addr = d->shm_base + mg_below(d->shm_len - MG_BUF_MAX);
		if (mg_chance(20)) { /* across the window's end */
			*addr = d->shm_base + d->shm_len - 1 - mg_below(16);
			*len = 17 + mg_below(4096);
		}
	} else {
		buffer_outside(m, addr, len);
	}
}

/* Indirect tables only ever lie over descriptors, or outside RAM. */
static void gen_indirect(struct mg *m, uint64_t *addr, uint32_t *len)
{
	static const uint32_t odd[] = { 0, 8, 17, 15, 16 * MG_QMAX + 16, 1U << 20, 0xfffffff0U };

	*len = mg_chance(80) ? 16 * (1 + mg_below(64))
			     : odd[mg_below(sizeof(odd) / sizeof(odd[0]))];
	if (mg_chance(75)) {
		*addr = mg_gpa(m, mg_below(A_AVAIL - MG_DESC_MAX));
		if (mg_chance(80))
			*addr &= ~15ULL;
	} else {
		*addr = ring_outside(m);
	}
}

static void gen_desc(struct mg *m, struct vring_desc *d)
{
	uint16_t flags = 0;
	uint64_t addr;
	uint32_t len;

	if (mg_chance(50))
		flags |= VRING_DESC_F_NEXT;
	if (mg_chance(40))
		flags |= VRING_DESC_F_WRITE;
	if (mg_chance(8))
		flags |= VRING_DESC_F_INDIRECT;
	if (mg_chance(3))
		flags |= (uint16_t)(mg_rnd() & 0xfff8); /* undefined bits */
	if (flags & VRING_DESC_F_INDIRECT)
		gen_indirect(m, &addr, &len);
	else
		gen_buffer(m, flags & VRING_DESC_F_WRITE, &addr, &len);
	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = mg_chance(80) ? (uint16_t)mg_below(64) : (uint16_t)mg_rnd();
}

/* ---- FUSE requests in the data area's slots: plausible opcodes, lying lengths ---- */

static const uint32_t fuse_opcodes[] = {
	FUSE_LOOKUP, FUSE_FORGET, FUSE_GETATTR, FUSE_SETATTR, FUSE_READLINK, FUSE_SYMLINK,
	FUSE_MKNOD, FUSE_MKDIR, FUSE_UNLINK, FUSE_RMDIR, FUSE_RENAME, FUSE_LINK, FUSE_OPEN,
	FUSE_READ, FUSE_WRITE, FUSE_STATFS, FUSE_RELEASE, FUSE_FSYNC, FUSE_SETXATTR,
	FUSE_GETXATTR, FUSE_LISTXATTR, FUSE_REMOVEXATTR, FUSE_FLUSH, FUSE_INIT, FUSE_OPENDIR,
	FUSE_READDIR, FUSE_RELEASEDIR, FUSE_FSYNCDIR, FUSE_GETLK, FUSE_SETLK, FUSE_SETLKW,
	FUSE_ACCESS, FUSE_CREATE, FUSE_INTERRUPT, FUSE_BMAP, FUSE_DESTROY, FUSE_IOCTL,
	FUSE_POLL, FUSE_BATCH_FORGET, FUSE_FALLOCATE, FUSE_READDIRPLUS, FUSE_RENAME2,
	FUSE_LSEEK, FUSE_COPY_FILE_RANGE, FUSE_SETUPMAPPING, FUSE_REMOVEMAPPING, FUSE_SYNCFS,
};

/* A name: ordinary, dot-dot, with a slash, empty, too long, or without its NUL. */
static uint32_t gen_name(uint8_t *p, uint32_t room)
{
	static const char *const names[] = { "a", "hostile", ".", "..", "a/b", "/", "", "x\n" };
	uint32_t n;

	if (room < 2)
		return 0;
	switch (mg_below(4)) {
	case 0: /* long, or filling everything that is left without a NUL */
		n = mg_chance(50) ? room : (300 < room ? 300 : room - 1);
		memset(p, 'n', n);
		if (n < room)
			p[n++] = 0;
		return n;
	default: {
		const char *name = names[mg_below(sizeof(names) / sizeof(names[0]))];

		n = (uint32_t)strlen(name) + 1;
		if (n > room)
			n = room;
		memcpy(p, name, n - 1);
		p[n - 1] = 0;
		return n;
	}
	}
}

/* The fixed argument part: random bytes of a plausible size, small numbers up front. */
static uint32_t gen_args(uint32_t opcode, uint8_t *p, uint32_t room)
{
	static const uint32_t sizes[] = { 0, 8, 16, 24, 32, 40, 48, 64, 80, 88, 104 };
	struct fuse_init_in init = { .major = 7, .minor = mg_below(40),
				     .max_readahead = (uint32_t)mg_rnd(),
				     .flags = (uint32_t)mg_rnd(), .flags2 = (uint32_t)mg_rnd() };
	uint32_t n, i;

	if (opcode == FUSE_INIT) {
		n = mg_chance(70) ? (uint32_t)sizeof(init) : 16;
		memcpy(p, &init, n < room ? n : room);
		return n < room ? n : room;
	}
	n = mg_chance(85) ? sizes[mg_below(sizeof(sizes) / sizeof(sizes[0]))] : mg_below(256);
	if (n > room)
		n = room;
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)mg_rnd();
	/* fh, offsets and sizes first in most _in structs: small values reach deeper. */
	for (i = 0; i + 8 <= n && i < 24; i += 8)
		if (mg_chance(60)) {
			uint64_t v = mg_below(mg_chance(50) ? 8 : 70000);

			memcpy(p + i, &v, 8);
		}
	return n;
}

static uint32_t gen_fuse_request(uint8_t *buf, uint32_t cap)
{
	struct fuse_in_header h = { 0 };
	uint32_t total = sizeof(h);

	if (mg_chance(12))
		h.opcode = FUSE_INIT;
	else if (mg_chance(90))
		h.opcode = fuse_opcodes[mg_below(sizeof(fuse_opcodes) / sizeof(fuse_opcodes[0]))];
	else
		h.opcode = (uint32_t)mg_rnd();
	h.unique = mg_rnd();
	h.nodeid = mg_chance(50) ? 1 : mg_chance(70) ? mg_below(16) : mg_rnd();
	h.uid = mg_chance(70) ? 0 : (uint32_t)mg_rnd();
	h.gid = mg_chance(70) ? 0 : (uint32_t)mg_rnd();
	h.pid = mg_below(1000);
	h.total_extlen = mg_chance(90) ? 0 : (uint16_t)mg_rnd();
	total += gen_args(h.opcode, buf + total, cap - total);
	if (mg_chance(50))
		total += gen_name(buf + total, cap - total);
	if (mg_chance(20))
		total += gen_name(buf + total, cap - total);
	switch (mg_below(10)) {
	case 0:
		h.len = total + 1 + mg_below(2 * cap); /* longer than what follows */
		break;
	case 1:
		h.len = mg_below(total); /* shorter, even shorter than the header */
		break;
	case 2:
		h.len = (uint32_t)mg_rnd();
		break;
	default:
		h.len = total;
		break;
	}
	memcpy(buf, &h, sizeof(h));
	return total;
}

/* ---- filling the region (every device reset) ---- */

void mg_region_fill(struct mg *m)
{
	struct vring_desc d;
	uint32_t off, i;

	for (off = 0; off < A_AVAIL; off += sizeof(d)) {
		gen_desc(m, &d);
		memcpy(m->reg + off, &d, sizeof(d));
	}
	for (off = A_AVAIL; off < A_USED; off += 8) {
		uint64_t v = mg_rnd();

		memcpy(m->reg + off, &v, 8);
	}
	memset(m->reg + A_USED, 0, A_DATA - A_USED);
	for (i = 0; i < MG_NSLOTS; i++)
		m->req_len[i] = gen_fuse_request(m->reg + A_DATA + i * MG_SLOT, MG_SLOT);
	__sync_synchronize();
}

uint64_t mg_slot_gpa(struct mg *m, uint32_t slot)
{
	return mg_gpa(m, A_DATA + slot * MG_SLOT);
}

void mg_set_desc(struct vring_desc *t, uint32_t i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	struct vring_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };

	memcpy(&t[i], &d, sizeof(d));
}

/* Request + reply chains in a queue's own table, some split, some indirect, some looping. */
static uint32_t plant_chain(struct mg *m, struct vring_desc *t, uint32_t i, uint32_t size)
{
	uint32_t slot = mg_below(MG_NSLOTS), reply = mg_below(MG_NSLOTS);
	uint32_t len = mg_chance(85) ? m->req_len[slot] : mg_len(), cut = mg_below(len + 1);
	uint32_t rlen = mg_chance(85) ? MG_SLOT : mg_len();

	if (i + 2 < size && mg_chance(30)) { /* the request split over two descriptors */
		mg_set_desc(t, i, mg_slot_gpa(m, slot), cut, VRING_DESC_F_NEXT, (uint16_t)(i + 1));
		mg_set_desc(t, i + 1, mg_slot_gpa(m, slot) + cut, len - cut, VRING_DESC_F_NEXT,
			    (uint16_t)(i + 2));
		mg_set_desc(t, i + 2, mg_slot_gpa(m, reply), rlen, VRING_DESC_F_WRITE, 0);
		return 3;
	}
	if (mg_chance(15)) { /* through an indirect table over the descriptors */
		uint64_t tab = mg_gpa(m, mg_below(A_AVAIL - MG_DESC_MAX) & ~15U);
		struct vring_desc *it = mg_host(m, tab);

		mg_set_desc(it, 0, mg_slot_gpa(m, slot), len, VRING_DESC_F_NEXT, 1);
		mg_set_desc(it, 1, mg_slot_gpa(m, reply), rlen, VRING_DESC_F_WRITE,
			    mg_chance(10) ? 0 : (uint16_t)mg_below(4));
		mg_set_desc(t, i, tab, mg_chance(90) ? 32 : 16 * mg_below(4),
			    VRING_DESC_F_INDIRECT, 0);
		return 1;
	}
	mg_set_desc(t, i, mg_slot_gpa(m, slot), len, VRING_DESC_F_NEXT, (uint16_t)(i + 1));
	/* Now and then the reply links back to the request: a loop. */
	mg_set_desc(t, i + 1, mg_slot_gpa(m, reply), rlen,
		    VRING_DESC_F_WRITE | (mg_chance(10) ? VRING_DESC_F_NEXT : 0), (uint16_t)i);
	return 2;
}

void mg_plant_chains(struct mg *m, const struct mg_queue *q)
{
	struct vring_desc *t;
	uint32_t i = 0;

	if (!mg_in_area(m, q->ring[R_DESC], 0, A_AVAIL - MG_DESC_MAX) || q->size < 2 ||
	    q->size > MG_QMAX)
		return;
	t = mg_host(m, q->ring[R_DESC]);
	while (i + 1 < q->size)
		i += mg_chance(25) ? 1 : plant_chain(m, t, i, q->size);
}
