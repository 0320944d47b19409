/* mmio_garbage.h: what the files of the hostile virtio-mmio driver (mmio_garbage.c) share. */
#ifndef MICROVM_MMIO_GARBAGE_H
#define MICROVM_MMIO_GARBAGE_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/fuse.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#define MG_MMIO_BASE 0xd0000000ULL /* LAYOUT_VIRTIO_MMIO_BASE */
#define MG_WIN 0x1000U
#define MG_NWIN 8U                              /* LAYOUT_VIRTIO_MAX_DEVICES */
#define MG_MAP_LEN ((MG_NWIN + 1) * MG_WIN)     /* and the unclaimed page after them */
#define MG_MAGIC 0x74726976U
#define MG_FS_ID 26U
#define MG_MAXQ 8U  /* queues per device we look at */
#define MG_QMAX 1024U /* largest queue size the areas below are sized for */
#define MG_HOLE 0xc0000000ULL
/* The region and its areas (offsets): see the opening comment of mmio_garbage.c. */
#define MG_REGION (2U << 20)
#define A_AVAIL (768U << 10)
#define A_USED (1024U << 10)
#define A_DATA (1536U << 10)
#define MG_BUF_MAX (64U << 10)
#define MG_SLOT 4096U
#define MG_NSLOTS ((MG_REGION - A_DATA - MG_BUF_MAX) / MG_SLOT)
#define MG_DESC_MAX (16U * MG_QMAX)
#define MG_AVAIL_MAX (6U + 2U * MG_QMAX)
#define MG_USED_MAX (6U + 8U * MG_QMAX)

typedef uint16_t u16u __attribute__((aligned(1), may_alias));
typedef uint32_t u32u __attribute__((aligned(1), may_alias));
typedef uint64_t u64u __attribute__((aligned(1), may_alias));

enum mg_ring { R_DESC, R_AVAIL, R_USED };

struct mg_dev {
	bool present;
	uint32_t device_id, vendor, nqueues, qmax;
	uint64_t shm_base, shm_len;
	uint8_t config[64];
};

struct mg_queue {
	uint32_t sel, size;
	uint64_t ring[3];
	bool ready, publish; /* READY read back 1; avail ring in the avail area */
	bool valid;          /* set up to be served: sizes and indexes stay within the rules */
	uint16_t used_seen;
};

struct mg {
	volatile uint8_t *win;
	uint8_t *reg;     /* the region: host view */
	uint64_t phys;    /* and its guest-physical address */
	uint64_t ram_top; /* end of the highest System RAM range */
	struct mg_dev dev[MG_NWIN];
	uint32_t req_len[MG_NSLOTS];
	unsigned long accesses, completions, needs_reset, refused_features;
	bool verbose; /* a line per queue and iteration, for replaying a failure */
};

/* mg_gen.c: pseudo-random numbers (xorshift64*), seeded once: the seed reproduces a run. */
void mg_seed(unsigned long long seed);
uint64_t mg_rnd(void);
uint32_t mg_below(uint64_t n);
bool mg_chance(unsigned pct);
uint32_t mg_value(void);
uint32_t mg_len(void);
/* mg_gen.c: addresses in the region's areas, or where nothing of any length fits in RAM. */
uint64_t mg_gpa(struct mg *m, uint32_t off);
void *mg_host(struct mg *m, uint64_t gpa);
bool mg_in_area(struct mg *m, uint64_t gpa, uint32_t start, uint32_t end);
uint64_t mg_slot_gpa(struct mg *m, uint32_t slot);
/* valid: inside the region and aligned; else also misaligned or where no ring fits. */
uint64_t mg_ring_addr(struct mg *m, enum mg_ring r, bool valid);
void mg_set_desc(struct vring_desc *t, uint32_t i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next);
/* Only while every device is reset: descriptors, avail and used areas, FUSE requests. */
void mg_region_fill(struct mg *m);
/* Request and reply chains in the queue's own table (when it lies over the descriptors). */
void mg_plant_chains(struct mg *m, const struct mg_queue *q);

/* mg_regs.c: register access at exact widths and any alignment. */
void mg_msleep(unsigned ms);
uint64_t mg_read(struct mg *m, unsigned w, unsigned off, unsigned width);
void mg_write(struct mg *m, unsigned w, unsigned off, unsigned width, uint64_t v);
uint32_t mg_rd32(struct mg *m, unsigned w, unsigned off);
void mg_wr32(struct mg *m, unsigned w, unsigned off, uint32_t v);
void mg_wr64(struct mg *m, unsigned w, unsigned lo, uint64_t v); /* both halves, either order */
void mg_reset_all(struct mg *m);
uint64_t mg_device_features(struct mg *m, unsigned w);
void mg_driver_features(struct mg *m, unsigned w, uint64_t f);
/* Status 0 (reset), ACKNOWLEDGE|DRIVER, or FEATURES_OK: queue set-up is taken only there. */
void mg_drive_to(struct mg *m, unsigned w, unsigned stage);

/* mg_check.c: afterwards, each returns 1 (and prints why) when the device is not right. */
int mg_check_sane(struct mg *m, unsigned w);
int mg_check_alive(struct mg *m, unsigned w);

/* mg_timing.c: microseconds per trapped register read and write and per notify, printed. */
void mg_time_exits(struct mg *m, unsigned n);

#endif
