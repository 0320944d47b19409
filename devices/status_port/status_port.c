/* status_port.c: microvm-init's status port: READY once, then one final report that stops the VM. */
#include <string.h>
#include "../../vmm/util.h"
#include "status_port.h"

void status_port_init(struct status_port *sp, void (*final)(void *), void *ctx)
{
	atomic_store(&sp->ready, false);
	atomic_store(&sp->report, 0);
	sp->final = final;
	sp->ctx = ctx;
}

/* Only a full 32-bit access at the base reads the magic; anything else reads as open bus. */
void status_port_bus_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	uint32_t magic = MICROVM_STATUS_MAGIC;

	(void)opaque;
	if (offset == 0 && len == 4)
		memcpy(data, &magic, 4);
	else
		memset(data, 0xff, len);
}

static void status_port_final_report(struct status_port *sp, uint32_t v)
{
	uint32_t none = 0;

	/* The first final report wins; a guest that reports twice cannot change its status. */
	if (!atomic_compare_exchange_strong(&sp->report, &none, v)) {
		log_debug("status port: report 0x%x after the final one ignored", v);
		return;
	}
	log_info("guest init reported kind %u value %u", v >> 24, v & 0xffffffU);
	if (sp->final)
		sp->final(sp->ctx);
}

void status_port_bus_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct status_port *sp = opaque;
	uint32_t v;

	if (offset != 0 || len != 4) {
		log_debug("status port: %u-byte write at +%llu ignored", len,
			  (unsigned long long)offset);
		return;
	}
	memcpy(&v, data, 4);
	switch (v >> 24) {
	case STATUS_READY:
		atomic_store(&sp->ready, true);
		break;
	case STATUS_EXITED:
	case STATUS_KILLED:
	case STATUS_INIT_FAILED:
		status_port_final_report(sp, v);
		break;
	default:
		log_debug("status port: unknown report 0x%x ignored", v);
	}
}

bool status_port_ready(const struct status_port *sp)
{
	return atomic_load(&sp->ready);
}

bool status_port_final(const struct status_port *sp, unsigned *kind, unsigned *value)
{
	uint32_t v = atomic_load(&sp->report);

	if (!v)
		return false;
	*kind = v >> 24;
	*value = v & 0xffffffU;
	return true;
}
