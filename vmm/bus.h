/* bus.h: a port-I/O or MMIO address space: sorted, non-overlapping device ranges. */
#ifndef MICROVM_BUS_H
#define MICROVM_BUS_H

#include <stdbool.h>
#include <stdint.h>
#include "util.h"

#define BUS_MAX_RANGES 32

/* offset is relative to the range base; len is 1..8. Devices lock internally. */
typedef void (*bus_read_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len);
typedef void (*bus_write_fn)(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len);

struct bus_range {
	uint64_t base;
	uint64_t len;
	const char *name;
	void *opaque;
	bus_read_fn read;   /* NULL: reads return all ones */
	bus_write_fn write; /* NULL: writes are ignored */
};

/* Filled during set-up, read-only once vCPUs run: no lock needed for lookups. */
struct bus {
	struct bus_range range[BUS_MAX_RANGES];
	unsigned n;
};

/* -EINVAL empty or wrapping range, -EEXIST overlap, -ENOSPC full. */
int bus_register(struct bus *bus, const struct bus_range *range) MUST_CHECK;
/* The range containing all of [addr, addr + len), or NULL. */
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, uint32_t len);
/* Dispatch an access; false when no device claims it (reads then return all ones). */
bool bus_read(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len);
bool bus_write(const struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len);

#endif
