/* layout.h: the guest-physical memory map and I/O ports shared by boot, ACPI and devices. */
#ifndef MICROVM_LAYOUT_H
#define MICROVM_LAYOUT_H

/* Low memory, below 1 MiB: boot structures the VMM writes before the first vCPU runs. */
#define LAYOUT_GDT_ADDR 0x500ULL
#define LAYOUT_IDT_ADDR 0x520ULL
#define LAYOUT_PVH_INFO_ADDR 0x6000ULL /* struct hvm_start_info, then memmap, modlist */
#define LAYOUT_ZERO_PAGE_ADDR 0x7000ULL /* struct boot_params */
#define LAYOUT_PML4_ADDR 0x9000ULL
#define LAYOUT_PDPT_ADDR 0xa000ULL
#define LAYOUT_PD_ADDR 0xb000ULL /* four pages: 2 MiB pages identity-mapping 4 GiB */
#define LAYOUT_BOOT_STACK_ADDR 0x8ff0ULL
#define LAYOUT_CMDLINE_ADDR 0x20000ULL
#define LAYOUT_CMDLINE_MAX 0x10000ULL /* bytes including the NUL */
#define LAYOUT_EBDA_START 0x9fc00ULL /* [EBDA_START, 1 MiB) is not RAM in the e820 map */
#define LAYOUT_ACPI_START 0xe0000ULL /* RSDP first (the kernel scans here), then tables */
#define LAYOUT_ACPI_END 0x100000ULL
#define LAYOUT_HIMEM_START 0x100000ULL /* bzImage protected-mode kernel load address */

/* The 32-bit MMIO hole: RAM above 3 GiB continues at 4 GiB. */
#define LAYOUT_MMIO_HOLE_START 0xc0000000ULL
#define LAYOUT_MMIO_HOLE_END 0x100000000ULL

/* virtio-mmio devices: one 4 KiB window each, GSIs from 16 up (IOAPIC pins 16..23). */
#define LAYOUT_VIRTIO_MMIO_BASE 0xd0000000ULL
#define LAYOUT_VIRTIO_MMIO_SIZE 0x1000ULL
#define LAYOUT_VIRTIO_GSI_BASE 16U
#define LAYOUT_VIRTIO_MAX_DEVICES 8U

/*
 * virtio-fs DAX windows (shared memory region 0 of each share): above the end of RAM (and
 * never below 4 GiB), each at its own 1 GiB-aligned base, in share order. 1 GiB keeps them
 * clear of RAM and of each other and satisfies the guest's devm_memremap_pages (which
 * wants 2 MiB at least) and lets the host back them with huge mappings. KVM memory slots
 * from LAYOUT_DAX_FIRST_SLOT up (0 and 1 are RAM).
 */
#define LAYOUT_DAX_ALIGN 0x40000000ULL
#define LAYOUT_DAX_FIRST_SLOT 8U

#define LAYOUT_IOAPIC_ADDR 0xfec00000ULL
#define LAYOUT_LAPIC_ADDR 0xfee00000ULL
#define LAYOUT_IOAPIC_PINS 24U

/* Port I/O. */
#define LAYOUT_COM1_PORT 0x3f8U
#define LAYOUT_COM1_IRQ 4U
#define LAYOUT_I8042_DATA_PORT 0x60U
#define LAYOUT_I8042_CMD_PORT 0x64U
/* Hardware-reduced ACPI registers, named in the FADT. */
#define LAYOUT_ACPI_SLEEP_CTL_PORT 0x600U /* write SLP_TYP << 2 | SLP_EN: power off */
#define LAYOUT_ACPI_SLEEP_STS_PORT 0x601U
#define LAYOUT_ACPI_RESET_PORT 0x602U /* write LAYOUT_ACPI_RESET_VALUE: reset */
#define LAYOUT_ACPI_RESET_VALUE 0x1U
#define LAYOUT_ACPI_SLP_TYP_S5 5U /* _S5 package value the guest writes on power-off */

#endif
