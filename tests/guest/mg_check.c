/* mg_check.c: after the garbage, each device must identify itself and serve a correct driver. */
#include "mmio_garbage.h"

/* ---- afterwards: every device identifies itself and still serves a correct driver ---- */

int mg_check_sane(struct mg *m, unsigned w)
{
	const struct mg_dev *d = &m->dev[w];
	uint32_t magic = mg_rd32(m, w, VIRTIO_MMIO_MAGIC_VALUE);
	uint32_t ver = mg_rd32(m, w, VIRTIO_MMIO_VERSION);
	uint32_t id = mg_rd32(m, w, VIRTIO_MMIO_DEVICE_ID);
	uint32_t vendor = mg_rd32(m, w, VIRTIO_MMIO_VENDOR_ID);
	unsigned i;
	int bad = magic != MG_MAGIC || ver != 2 || id != d->device_id || vendor != d->vendor;

	for (i = 0; i < sizeof(d->config); i++)
		bad |= (uint8_t)mg_read(m, w, VIRTIO_MMIO_CONFIG + i, 1) != d->config[i];
	mg_wr32(m, w, VIRTIO_MMIO_QUEUE_SEL, 0);
	bad |= mg_rd32(m, w, VIRTIO_MMIO_QUEUE_NUM_MAX) != d->qmax;
	printf("MMIOGARBAGE %s window=%u magic=0x%x version=%u device=%u vendor=0x%x\n",
	       bad ? "not ok: insane" : "sane", w, magic, ver, id, vendor);
	return bad;
}

struct alive {
	unsigned w, n;     /* window, requests sent */
	uint64_t reply;    /* 0: replies in the data area; else this guest-physical address */
	uint32_t used_len; /* of the last reply */
	struct vring_desc *desc;
	volatile uint16_t *avail;
	volatile uint8_t *used;
};

/* The textbook sequence (VIRTIO 1.2 3.1.1) with request queue 1 of size 8. */
static const char *alive_setup(struct mg *m, struct alive *a)
{
	const uint32_t s3 = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			    VIRTIO_CONFIG_S_FEATURES_OK;
	unsigned w = a->w;

	a->desc = (struct vring_desc *)m->reg;
	a->avail = (volatile uint16_t *)(m->reg + A_AVAIL);
	a->used = m->reg + A_USED;
	memset(m->reg, 0, 16 * 8);
	memset(m->reg + A_AVAIL, 0, 6 + 2 * 8);
	memset(m->reg + A_USED, 0, 6 + 8 * 8);
	mg_drive_to(m, w, 1);
	mg_driver_features(m, w, 1ULL << VIRTIO_F_VERSION_1);
	mg_wr32(m, w, VIRTIO_MMIO_STATUS, s3);
	if (mg_rd32(m, w, VIRTIO_MMIO_STATUS) != s3)
		return "FEATURES_OK with VERSION_1 alone refused";
	mg_wr32(m, w, VIRTIO_MMIO_QUEUE_SEL, 1);
	mg_wr32(m, w, VIRTIO_MMIO_QUEUE_NUM, 8);
	mg_wr64(m, w, VIRTIO_MMIO_QUEUE_DESC_LOW, mg_gpa(m, 0));
	mg_wr64(m, w, VIRTIO_MMIO_QUEUE_AVAIL_LOW, mg_gpa(m, A_AVAIL));
	mg_wr64(m, w, VIRTIO_MMIO_QUEUE_USED_LOW, mg_gpa(m, A_USED));
	mg_wr32(m, w, VIRTIO_MMIO_QUEUE_READY, 1);
	if (mg_rd32(m, w, VIRTIO_MMIO_QUEUE_READY) != 1)
		return "a well-formed queue 1 was not taken";
	mg_wr32(m, w, VIRTIO_MMIO_STATUS, s3 | VIRTIO_CONFIG_S_DRIVER_OK);
	if (mg_rd32(m, w, VIRTIO_MMIO_STATUS) != (s3 | VIRTIO_CONFIG_S_DRIVER_OK))
		return "DRIVER_OK not taken";
	return NULL;
}

/* One request and its reply buffer, as Linux's virtio-fs driver lays them out. */
static const char *alive_call(struct mg *m, struct alive *a, const void *req, uint32_t len,
			      struct fuse_out_header *oh, void *body, uint32_t body_len)
{
	unsigned n = a->n, i, t;
	uint8_t *rq = m->reg + A_DATA + 2 * n * MG_SLOT;
	uint64_t reply = a->reply ? a->reply : mg_slot_gpa(m, 2 * n + 1);
	uint32_t id, used_len;

	memcpy(rq, req, len);
	memset(rq + MG_SLOT, 0, MG_SLOT);
	mg_set_desc(a->desc, 2 * n, mg_slot_gpa(m, 2 * n), len, VRING_DESC_F_NEXT,
		    (uint16_t)(2 * n + 1));
	mg_set_desc(a->desc, 2 * n + 1, reply, MG_SLOT, VRING_DESC_F_WRITE, 0);
	a->avail[2 + n] = (uint16_t)(2 * n);
	__sync_synchronize();
	a->avail[1] = (uint16_t)(n + 1);
	__sync_synchronize();
	mg_wr32(m, a->w, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	for (t = 0; t < 20000 && *(volatile uint16_t *)(a->used + 2) != n + 1; t++)
		mg_msleep(1);
	if (*(volatile uint16_t *)(a->used + 2) != n + 1)
		return "no used entry within 20 s";
	memcpy(&id, (const uint8_t *)a->used + 4 + 8 * n, 4);
	memcpy(&used_len, (const uint8_t *)a->used + 8 + 8 * n, 4);
	a->n++;
	a->used_len = used_len;
	if (a->reply) /* in the DAX window, out of this program's reach */
		return id == 2 * n ? NULL : "used entry for another head";
	memcpy(oh, rq + MG_SLOT, sizeof(*oh));
	for (i = 0; i < body_len; i++)
		((uint8_t *)body)[i] = rq[MG_SLOT + sizeof(*oh) + i];
	if (id != 2 * n || used_len != oh->len || oh->len < sizeof(*oh))
		return "used entry does not match the reply";
	return NULL;
}

static const char *alive_requests(struct mg *m, struct alive *a, unsigned *minor, unsigned *mode)
{
	struct {
		struct fuse_in_header h;
		struct fuse_init_in in;
	} init = { { sizeof(init), FUSE_INIT, 0xa11fe, 0, 0, 0, 0, 0, 0 },
		   { .major = 7, .minor = 31, .max_readahead = 0x20000 } };
	struct {
		struct fuse_in_header h;
		struct fuse_getattr_in in;
	} ga = { { sizeof(ga), FUSE_GETATTR, 0xa11ff, 1, 0, 0, 0, 0, 0 }, { 0, 0, 0 } };
	struct fuse_out_header oh;
	struct fuse_init_out io;
	struct fuse_attr_out ao;
	const char *why = alive_call(m, a, &init, sizeof(init), &oh, &io, sizeof(io));

	if (why)
		return why;
	if (oh.error || oh.unique != 0xa11fe || io.major != 7)
		return "FUSE_INIT failed";
	*minor = io.minor;
	why = alive_call(m, a, &ga, sizeof(ga), &oh, &ao, sizeof(ao));
	if (why)
		return why;
	if (oh.error || oh.unique != 0xa11ff || !S_ISDIR(ao.attr.mode))
		return "GETATTR of the root failed";
	*mode = ao.attr.mode;
	return NULL;
}

/*
 * A reply buffer in an unmapped part of the device's DAX window: the host side is
 * PROT_NONE there, so the worker's copy faults and must be repaired, not kill microvm.
 * The whole reply must still be accounted for in the used entry.
 */
static const char *alive_dax_reply(struct mg *m, struct alive *a)
{
	const struct mg_dev *d = &m->dev[a->w];
	struct {
		struct fuse_in_header h;
		struct fuse_getattr_in in;
	} ga = { { sizeof(ga), FUSE_GETATTR, 0xda0, 1, 0, 0, 0, 0, 0 }, { 0, 0, 0 } };
	struct fuse_out_header oh;
	const char *why;

	if (!d->shm_len)
		return NULL;
	a->reply = d->shm_base + d->shm_len / 2;
	why = alive_call(m, a, &ga, sizeof(ga), &oh, NULL, 0);
	a->reply = 0;
	if (!why && a->used_len != sizeof(oh) + sizeof(struct fuse_attr_out))
		why = "GETATTR into the DAX window: wrong used length";
	return why;
}

int mg_check_alive(struct mg *m, unsigned w)
{
	struct alive a = { .w = w };
	unsigned minor = 0, mode = 0;
	const char *why;

	mg_reset_all(m);
	why = alive_setup(m, &a);
	if (!why)
		why = alive_requests(m, &a, &minor, &mode);
	if (!why)
		why = alive_dax_reply(m, &a);
	mg_wr32(m, w, VIRTIO_MMIO_STATUS, 0);
	if (why)
		printf("MMIOGARBAGE not ok: window %u not alive: %s (status 0x%x)\n", w, why,
		       mg_rd32(m, w, VIRTIO_MMIO_STATUS));
	else
		printf("MMIOGARBAGE alive window=%u fuse=7.%u root_mode=0%o\n", w, minor, mode);
	return why != NULL;
}
