/* acpi.h: build RSDP, XSDT, FADT (hardware-reduced), MADT and DSDT into guest memory. */
#ifndef MICROVM_ACPI_H
#define MICROVM_ACPI_H

#include <stddef.h>
#include <stdint.h>
#include "../vmm/memory.h"
#include "../vmm/util.h"

/* A virtio-mmio device as the DSDT describes it: _HID "LNRO0005" with this _CRS. */
struct acpi_mmio_device {
	uint64_t base;
	uint64_t size;
	uint32_t gsi;
};

struct acpi_config {
	unsigned vcpus;
	const struct acpi_mmio_device *virtio;
	unsigned nvirtio;
};

/*
 * Write all tables into buf, which the guest will see at guest-physical buf_gpa.
 * The RSDP is at offset 0. *used receives the bytes written. -ENOSPC if cap is short.
 */
int acpi_build_tables(uint8_t *buf, size_t cap, uint64_t buf_gpa,
		      const struct acpi_config *cfg, size_t *used) MUST_CHECK;

/* Build the tables at LAYOUT_ACPI_START; *rsdp_gpa receives the RSDP address. */
int acpi_build(struct guest_memory *mem, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa) MUST_CHECK;

#endif
