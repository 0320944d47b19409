/* memory.h: guest RAM regions and the one checked guest-physical to host translation. */
#ifndef MICROVM_MEMORY_H
#define MICROVM_MEMORY_H

#include <stdint.h>
#include "util.h"

#define GUEST_MEMORY_MAX_REGIONS 4

struct guest_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host; /* mapping of size bytes */
};

/* Immutable once the VM runs, so readable from every thread without locks. */
struct guest_memory {
	unsigned nregions;
	struct guest_region region[GUEST_MEMORY_MAX_REGIONS];
	uint64_t ram_bytes; /* total RAM, as configured */
};

/*
 * Lay out ram_bytes of RAM: [0, min(ram, 3 GiB)) and the rest from 4 GiB, skipping the
 * 32-bit MMIO hole. Allocates anonymous memory for each region.
 */
int gm_create(struct guest_memory *mem, uint64_t ram_bytes) MUST_CHECK;
/* Describe caller-owned buffers as RAM, for tests: one region at gpa 0. */
void gm_init_from_buffer(struct guest_memory *mem, void *buf, uint64_t size);
void gm_destroy(struct guest_memory *mem);

/* Host pointer for [gpa, gpa + len) if it lies entirely in one region, else NULL. */
void *gm_translate(const struct guest_memory *mem, uint64_t gpa, uint64_t len);
/* Copy into / out of guest memory; -EFAULT when the range is not fully RAM. */
int gm_write(const struct guest_memory *mem, uint64_t gpa, const void *src, uint64_t len) MUST_CHECK;
int gm_read(const struct guest_memory *mem, uint64_t gpa, void *dst, uint64_t len) MUST_CHECK;
/* Highest guest-physical address + 1 of RAM below 4 GiB. */
uint64_t gm_low_ram_end(const struct guest_memory *mem);

#endif
