/* acpi_pm.h: the hardware-reduced ACPI sleep control and reset registers named in the FADT. */
#ifndef MICROVM_ACPI_PM_H
#define MICROVM_ACPI_PM_H

#include <stdint.h>

#define ACPI_PM_PORT_SPAN 3U

struct acpi_pm {
	void (*poweroff)(void *ctx);
	void (*reset)(void *ctx);
	void *ctx;
};

void acpi_pm_init(struct acpi_pm *pm, void (*poweroff)(void *), void (*reset)(void *), void *ctx);
/* Bus callbacks for the ACPI_PM_PORT_SPAN ports from LAYOUT_ACPI_SLEEP_CTL_PORT. */
void acpi_pm_bus_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len);
void acpi_pm_bus_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len);

#endif
