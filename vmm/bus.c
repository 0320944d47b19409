/* bus.c: registering device ranges and dispatching guest port-I/O and MMIO accesses. */
#include <errno.h>
#include <string.h>
#include "bus.h"

static bool ranges_overlap(const struct bus_range *a, const struct bus_range *b)
{
	return a->base < b->base + b->len && b->base < a->base + a->len;
}

int bus_register(struct bus *bus, const struct bus_range *range)
{
	unsigned i, pos = 0;

	if (range->len == 0 || range->base + range->len < range->base)
		return -EINVAL;
	if (bus->n == BUS_MAX_RANGES)
		return -ENOSPC;
	for (i = 0; i < bus->n; i++) {
		if (ranges_overlap(&bus->range[i], range))
			return -EEXIST;
		if (bus->range[i].base < range->base)
			pos = i + 1;
	}
	memmove(&bus->range[pos + 1], &bus->range[pos], (bus->n - pos) * sizeof(*range));
	bus->range[pos] = *range;
	bus->n++;
	return 0;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, uint32_t len)
{
	unsigned lo = 0, hi = bus->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->range[mid];

		if (addr < r->base) {
			hi = mid;
		} else if (addr - r->base >= r->len) {
			lo = mid + 1;
		} else {
			if (len > r->len - (addr - r->base))
				return NULL;
			return r;
		}
	}
	return NULL;
}

bool bus_read(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len)
{
	const struct bus_range *r = bus_find(bus, addr, len);

	memset(data, 0xff, len);
	if (!r)
		return false;
	if (r->read)
		r->read(r->opaque, addr - r->base, data, len);
	return true;
}

bool bus_write(const struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len)
{
	const struct bus_range *r = bus_find(bus, addr, len);

	if (!r)
		return false;
	if (r->write)
		r->write(r->opaque, addr - r->base, data, len);
	return true;
}
