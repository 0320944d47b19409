/* pvpanic.c: the pvpanic port: reads offer PANICKED only, a write with that bit reports a panic. */
#include <string.h>
#include "pvpanic.h"

void pvpanic_init(struct pvpanic *p, void (*panic)(void *), void *ctx)
{
	atomic_store(&p->panicked, false);
	p->panic = panic;
	p->ctx = ctx;
}

/* The driver reads the supported events and only sends those (CRASH_LOADED is not). */
void pvpanic_bus_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	(void)opaque;
	memset(data, 0, len);
	if (offset == 0 && len >= 1)
		data[0] = PVPANIC_PANICKED;
}

void pvpanic_bus_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct pvpanic *p = opaque;
	bool was = false;

	if (offset != 0 || len < 1 || !(data[0] & PVPANIC_PANICKED))
		return;
	if (atomic_compare_exchange_strong(&p->panicked, &was, true) && p->panic)
		p->panic(p->ctx);
}

bool pvpanic_seen(const struct pvpanic *p)
{
	return atomic_load(&p->panicked);
}
