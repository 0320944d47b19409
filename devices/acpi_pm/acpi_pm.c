/* acpi_pm.c: guest power-off through the FADT sleep control register, reset through RESET_REG. */
#include "../../vmm/layout.h"
#include "acpi_pm.h"

#define SLEEP_CTL_OFFSET 0U
#define RESET_OFFSET (LAYOUT_ACPI_RESET_PORT - LAYOUT_ACPI_SLEEP_CTL_PORT)
/* ACPI 6.4, 4.8.3.7: the sleep control register holds SLP_TYP in bits 2..4, SLP_EN in bit 5. */
#define SLP_EN 0x20
#define SLP_TYP(v) (((v) >> 2) & 0x7)

void acpi_pm_init(struct acpi_pm *pm, void (*poweroff)(void *), void (*reset)(void *), void *ctx)
{
	pm->poweroff = poweroff;
	pm->reset = reset;
	pm->ctx = ctx;
}

void acpi_pm_bus_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	/* Sleep status reads 0: the guest never waits for a wake that we do not model. */
	if (len == 1)
		data[0] = 0;
}

void acpi_pm_bus_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct acpi_pm *pm = opaque;

	if (len != 1)
		return;
	if (offset == SLEEP_CTL_OFFSET && (data[0] & SLP_EN) &&
	    SLP_TYP(data[0]) == LAYOUT_ACPI_SLP_TYP_S5)
		pm->poweroff(pm->ctx);
	else if (offset == RESET_OFFSET && data[0] == LAYOUT_ACPI_RESET_VALUE)
		pm->reset(pm->ctx);
}
