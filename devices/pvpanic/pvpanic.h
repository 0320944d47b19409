/* pvpanic.h: the pvpanic device (ACPI QEMU0001, one I/O port): the guest kernel says it panicked. */
#ifndef MICROVM_PVPANIC_H
#define MICROVM_PVPANIC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define PVPANIC_PANICKED 0x1U /* the guest kernel panicked (include/uapi/misc/pvpanic.h) */

struct pvpanic {
	_Atomic bool panicked;
	void (*panic)(void *ctx); /* called once, on the vCPU thread */
	void *ctx;
};

void pvpanic_init(struct pvpanic *p, void (*panic)(void *), void *ctx);
void pvpanic_bus_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len);
void pvpanic_bus_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len);
bool pvpanic_seen(const struct pvpanic *p);

#endif
