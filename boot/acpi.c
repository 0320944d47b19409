/* acpi.c: lay out RSDP, XSDT, FADT, MADT and DSDT for a hardware-reduced ACPI machine. */
#include <errno.h>
#include <string.h>
#include "../vmm/layout.h"
#include "../guest/protocol.h"
#include "acpi.h"
#include "aml.h"

/*
 * Table layout, ACPI 6.5 chapter 5. Offsets are written out rather than taken from
 * packed structs so that every byte the guest sees is visible here.
 */
#define SDT_HEADER_LEN 36
#define RSDP_LEN 36
#define RSDP_V1_LEN 20
#define FADT_LEN 276 /* ACPI 6.0 and later: ends with the hypervisor vendor identity */
#define MADT_ENTRIES_OFF 44
#define MADT_LAPIC_LEN 8
#define MADT_IOAPIC_LEN 12
#define TABLE_ALIGN 16

#define DSDT_REVISION 2 /* 2 or more: AML integers are 64-bit */
#define FADT_REVISION 6
#define FADT_MINOR_REVISION 5
#define MADT_REVISION 5
#define XSDT_REVISION 1
#define RSDP_REVISION 2

/* FADT fixed feature flags (table 5.10) and IA-PC boot architecture flags (table 5.11). */
#define FADT_F_WBINVD (1U << 0)
#define FADT_F_PWR_BUTTON (1U << 4) /* no fixed-feature power button */
#define FADT_F_SLP_BUTTON (1U << 5) /* no fixed-feature sleep button */
#define FADT_F_RESET_REG_SUP (1U << 10)
#define FADT_F_HW_REDUCED_ACPI (1U << 20)
#define IAPC_8042 (1U << 1)
#define IAPC_VGA_NOT_PRESENT (1U << 2)
#define IAPC_MSI_NOT_SUPPORTED (1U << 3)
#define IAPC_PCIE_ASPM_CONTROLS (1U << 4)
#define IAPC_CMOS_RTC_NOT_PRESENT (1U << 5)

/* FADT field offsets (table 5.9). */
#define FADT_DSDT 40
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_MINOR_VERSION 131
#define FADT_X_DSDT 140
#define FADT_SLEEP_CONTROL_REG 244
#define FADT_SLEEP_STATUS_REG 256
#define FADT_HYPERVISOR_ID 268

/* Generic Address Structure (table 5.1). */
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1

#define MADT_PCAT_COMPAT (1U << 0)
#define MADT_TYPE_LAPIC 0
#define MADT_TYPE_IOAPIC 1
#define MADT_LAPIC_ENABLED (1U << 0)
#define IOAPIC_ID 0 /* what KVM's in-kernel IOAPIC reports in its ID register after reset */

#define OEM_ID "MICROV"
#define OEM_REVISION 1
#define CREATOR_ID "MVMM"
#define CREATOR_REVISION 1

#define ACPI_MAX_VCPUS 255 /* xAPIC IDs are 8 bits and 0xff is the broadcast ID */
#define ACPI_MAX_VIRTIO 100 /* device names are VR00..VR99 */

/* A bump allocator over the caller's buffer; buf_gpa is where the guest sees buf[0]. */
struct acpi_out {
	uint8_t *buf;
	size_t cap;
	size_t used;
	uint64_t gpa;
};

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)-sum;
}

/* Reserve len bytes, aligned; they and the padding before them are zeroed. */
static int out_reserve(struct acpi_out *o, size_t len, size_t *off)
{
	size_t start = (o->used + TABLE_ALIGN - 1) & ~(size_t)(TABLE_ALIGN - 1);

	if (start > o->cap || len > o->cap - start)
		return -ENOSPC;
	memset(o->buf + o->used, 0, start - o->used + len);
	o->used = start + len;
	*off = start;
	return 0;
}

static void sdt_header(uint8_t *t, const char *sig, uint8_t revision)
{
	char table_id[9];

	memcpy(t, sig, 4);
	t[8] = revision;
	memcpy(t + 10, OEM_ID, 6);
	/* "MVM" and the signature, space padded: one OEM table ID per table. */
	memcpy(table_id, "MVM", 3);
	memcpy(table_id + 3, sig, 4);
	table_id[7] = ' ';
	memcpy(t + 16, table_id, 8);
	put_le(t + 24, OEM_REVISION, 4);
	memcpy(t + 28, CREATOR_ID, 4);
	put_le(t + 32, CREATOR_REVISION, 4);
}

/* Length and checksum go in last, once the body is final. */
static void sdt_finish(uint8_t *t, size_t len)
{
	put_le(t + 4, len, 4);
	t[9] = 0;
	t[9] = acpi_checksum(t, len);
}

static void put_gas_io8(uint8_t *g, uint16_t port)
{
	g[0] = GAS_SYSTEM_IO;
	g[1] = 8; /* register bit width */
	g[2] = 0; /* bit offset */
	g[3] = GAS_ACCESS_BYTE;
	put_le(g + 4, port, 8);
}

static void dsdt_com1(struct aml_writer *w)
{
	aml_device_begin(w, "COM1");
	aml_name(w, "_HID");
	aml_eisaid(w, "PNP0501");
	aml_name(w, "_UID");
	aml_integer(w, 0);
	aml_name(w, "_CRS");
	aml_resources_begin(w);
	aml_res_io(w, LAYOUT_COM1_PORT, 8);
	/* The ISA convention, edge-triggered and active-high: a pulse or a raised line both work. */
	aml_res_irq_noflags(w, LAYOUT_COM1_IRQ);
	aml_resources_end(w);
	aml_end(w);
}

/* pvpanic (drivers/misc/pvpanic/pvpanic-mmio.c binds QEMU0001 and takes an I/O resource). */
static void dsdt_pvpanic(struct aml_writer *w)
{
	aml_device_begin(w, "PEVT");
	aml_name(w, "_HID");
	aml_string(w, "QEMU0001");
	aml_name(w, "_UID");
	aml_integer(w, 0);
	aml_name(w, "_CRS");
	aml_resources_begin(w);
	aml_res_io(w, MICROVM_PVPANIC_PORT, 1);
	aml_resources_end(w);
	aml_end(w);
}

static void dsdt_virtio(struct aml_writer *w, const struct acpi_mmio_device *dev, unsigned idx)
{
	char name[5] = { 'V', 'R', (char)('0' + idx / 10), (char)('0' + idx % 10), 0 };

	aml_device_begin(w, name);
	aml_name(w, "_HID");
	aml_string(w, "LNRO0005"); /* matched by drivers/virtio/virtio_mmio.c */
	aml_name(w, "_UID");
	aml_integer(w, idx);
	aml_name(w, "_CCA"); /* DMA is cache coherent */
	aml_integer(w, 1);
	aml_name(w, "_CRS");
	aml_resources_begin(w);
	if (dev->base + (dev->size - 1) <= UINT32_MAX)
		aml_res_memory32_fixed(w, (uint32_t)dev->base, (uint32_t)dev->size, true);
	else
		aml_res_qword_memory(w, dev->base, dev->size, true);
	/* Edge: the transport pulses its GSI (irqfd or a KVM_IRQ_LINE 1-then-0), never holds it. */
	aml_res_interrupt(w, dev->gsi, AML_IRQ_CONSUMER | AML_IRQ_EDGE);
	aml_resources_end(w);
	aml_end(w);
}

/*
 * \_S5: the SLP_TYP for soft-off. In hardware-reduced mode ACPICA writes
 * (SLP_TYP << 2) & 0x1c | SLP_EN (0x20) to SLEEP_CONTROL_REG, so 0x34 for this value.
 */
static void dsdt_s5(struct aml_writer *w)
{
	aml_name(w, "_S5");
	aml_package_begin(w, 2);
	aml_integer(w, LAYOUT_ACPI_SLP_TYP_S5);
	aml_integer(w, 0);
	aml_end(w);
}

static int dsdt_aml(uint8_t *buf, size_t cap, const struct acpi_config *cfg, size_t *len)
{
	struct aml_writer w;
	unsigned i;

	aml_init(&w, buf, cap);
	aml_scope_begin(&w, "\\_SB");
	dsdt_com1(&w);
	dsdt_pvpanic(&w);
	for (i = 0; i < cfg->nvirtio; i++)
		dsdt_virtio(&w, &cfg->virtio[i], i);
	aml_end(&w);
	dsdt_s5(&w);
	return aml_finish(&w, len);
}

static int build_dsdt(struct acpi_out *o, const struct acpi_config *cfg, uint64_t *gpa)
{
	size_t off, room, aml_len;
	int ret;

	/* The AML length is known only after writing it: take all the room, then give back. */
	ret = out_reserve(o, SDT_HEADER_LEN, &off);
	if (ret)
		return ret;
	room = o->cap - o->used;
	ret = dsdt_aml(o->buf + o->used, room, cfg, &aml_len);
	if (ret)
		return ret;
	o->used += aml_len;
	sdt_header(o->buf + off, "DSDT", DSDT_REVISION);
	sdt_finish(o->buf + off, SDT_HEADER_LEN + aml_len);
	*gpa = o->gpa + off;
	return 0;
}

static int build_fadt(struct acpi_out *o, uint64_t dsdt_gpa, uint64_t *gpa)
{
	uint8_t *t;
	size_t off;
	int ret;

	ret = out_reserve(o, FADT_LEN, &off);
	if (ret)
		return ret;
	t = o->buf + off;
	sdt_header(t, "FACP", FADT_REVISION);
	/* No FACS: hardware-reduced machines have no global lock or waking vector. */
	if (dsdt_gpa <= UINT32_MAX)
		put_le(t + FADT_DSDT, dsdt_gpa, 4);
	put_le(t + FADT_X_DSDT, dsdt_gpa, 8);
	/*
	 * No VGA, no CMOS RTC, no PCI (so no MSI, no ASPM). 8042 stays clear: the i8042
	 * model only takes the reset command, and a clear flag stops Linux's i8042 driver
	 * from probing it (i8042_pnp_init returns -ENODEV); the kernel's keyboard-controller
	 * reboot writes port 0x64 without looking at this flag.
	 */
	put_le(t + FADT_IAPC_BOOT_ARCH, IAPC_VGA_NOT_PRESENT | IAPC_MSI_NOT_SUPPORTED |
		       IAPC_PCIE_ASPM_CONTROLS | IAPC_CMOS_RTC_NOT_PRESENT, 2);
	put_le(t + FADT_FLAGS, FADT_F_WBINVD | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON |
		       FADT_F_RESET_REG_SUP | FADT_F_HW_REDUCED_ACPI, 4);
	put_gas_io8(t + FADT_RESET_REG, LAYOUT_ACPI_RESET_PORT);
	t[FADT_RESET_VALUE] = LAYOUT_ACPI_RESET_VALUE;
	t[FADT_MINOR_VERSION] = FADT_MINOR_REVISION;
	put_gas_io8(t + FADT_SLEEP_CONTROL_REG, LAYOUT_ACPI_SLEEP_CTL_PORT);
	put_gas_io8(t + FADT_SLEEP_STATUS_REG, LAYOUT_ACPI_SLEEP_STS_PORT);
	memcpy(t + FADT_HYPERVISOR_ID, "microvm ", 8);
	sdt_finish(t, FADT_LEN);
	*gpa = o->gpa + off;
	return 0;
}

/*
 * No interrupt source overrides. QEMU declares ISA IRQ0 -> GSI2 because it reroutes
 * GSI 0 to IOAPIC pin 2; we keep KVM's default routing, where the PIT raises pin 0,
 * so the identity mapping is the truth (Firecracker's MADT has no override either).
 * Hardware-reduced Linux sets up neither the PIT nor the 8259 in any case.
 */
static int build_madt(struct acpi_out *o, unsigned vcpus, uint64_t *gpa)
{
	size_t off, len = MADT_ENTRIES_OFF + vcpus * MADT_LAPIC_LEN + MADT_IOAPIC_LEN;
	uint8_t *t, *e;
	unsigned i;
	int ret;

	ret = out_reserve(o, len, &off);
	if (ret)
		return ret;
	t = o->buf + off;
	sdt_header(t, "APIC", MADT_REVISION);
	put_le(t + 36, LAYOUT_LAPIC_ADDR, 4);
	/* KVM_CREATE_IRQCHIP does model the two 8259s, so say they are there (to be masked). */
	put_le(t + 40, MADT_PCAT_COMPAT, 4);
	e = t + MADT_ENTRIES_OFF;
	for (i = 0; i < vcpus; i++, e += MADT_LAPIC_LEN) {
		e[0] = MADT_TYPE_LAPIC;
		e[1] = MADT_LAPIC_LEN;
		e[2] = (uint8_t)i; /* ACPI processor UID */
		e[3] = (uint8_t)i; /* APIC ID: KVM gives vCPU n the APIC ID n */
		put_le(e + 4, MADT_LAPIC_ENABLED, 4);
	}
	e[0] = MADT_TYPE_IOAPIC;
	e[1] = MADT_IOAPIC_LEN;
	e[2] = IOAPIC_ID;
	put_le(e + 4, LAYOUT_IOAPIC_ADDR, 4);
	put_le(e + 8, 0, 4); /* GSI base: pins 0..23 are GSIs 0..23 */
	sdt_finish(t, len);
	*gpa = o->gpa + off;
	return 0;
}

static int build_xsdt(struct acpi_out *o, const uint64_t *tables, unsigned n, uint64_t *gpa)
{
	size_t off, len = SDT_HEADER_LEN + 8 * (size_t)n;
	unsigned i;
	int ret;

	ret = out_reserve(o, len, &off);
	if (ret)
		return ret;
	sdt_header(o->buf + off, "XSDT", XSDT_REVISION);
	for (i = 0; i < n; i++)
		put_le(o->buf + off + SDT_HEADER_LEN + 8 * i, tables[i], 8);
	sdt_finish(o->buf + off, len);
	*gpa = o->gpa + off;
	return 0;
}

/* ACPI 2.0+ RSDP: no RSDT, the XSDT only; first checksum over 20 bytes, second over 36. */
static void build_rsdp(uint8_t *r, uint64_t xsdt_gpa)
{
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, OEM_ID, 6);
	r[15] = RSDP_REVISION;
	put_le(r + 20, RSDP_LEN, 4);
	put_le(r + 24, xsdt_gpa, 8);
	r[8] = acpi_checksum(r, RSDP_V1_LEN);
	r[32] = acpi_checksum(r, RSDP_LEN);
}

static int acpi_check_device(const struct acpi_mmio_device *d)
{
	if (d->size == 0 || d->base + (d->size - 1) < d->base)
		return -EINVAL;
	/* The MADT declares one IOAPIC with LAYOUT_IOAPIC_PINS pins from GSI 0. */
	if (d->gsi >= LAYOUT_IOAPIC_PINS)
		return -EINVAL;
	return 0;
}

static int acpi_check_config(const struct acpi_config *cfg)
{
	unsigned i;

	if (cfg->vcpus == 0 || cfg->vcpus > ACPI_MAX_VCPUS)
		return -EINVAL;
	if (cfg->nvirtio > ACPI_MAX_VIRTIO || (cfg->nvirtio && !cfg->virtio))
		return -EINVAL;
	for (i = 0; i < cfg->nvirtio; i++)
		if (acpi_check_device(&cfg->virtio[i]))
			return -EINVAL;
	return 0;
}

int acpi_build_tables(uint8_t *buf, size_t cap, uint64_t buf_gpa,
		      const struct acpi_config *cfg, size_t *used)
{
	struct acpi_out o = { .buf = buf, .cap = cap, .used = 0, .gpa = buf_gpa };
	uint64_t dsdt, tables[2], xsdt;
	size_t rsdp;
	int ret;

	ret = acpi_check_config(cfg);
	if (ret)
		return ret;
	ret = out_reserve(&o, RSDP_LEN, &rsdp); /* offset 0, where the guest looks */
	if (!ret)
		ret = build_dsdt(&o, cfg, &dsdt);
	if (!ret)
		ret = build_fadt(&o, dsdt, &tables[0]);
	if (!ret)
		ret = build_madt(&o, cfg->vcpus, &tables[1]);
	if (!ret)
		ret = build_xsdt(&o, tables, ARRAY_SIZE(tables), &xsdt);
	if (ret)
		return ret;
	build_rsdp(buf + rsdp, xsdt);
	*used = o.used;
	return 0;
}

int acpi_build(struct guest_memory *mem, const struct acpi_config *cfg, uint64_t *rsdp_gpa)
{
	const size_t cap = LAYOUT_ACPI_END - LAYOUT_ACPI_START;
	uint8_t *buf = gm_translate(mem, LAYOUT_ACPI_START, cap);
	size_t used;
	int ret;

	if (!buf)
		return -EFAULT;
	ret = acpi_build_tables(buf, cap, LAYOUT_ACPI_START, cfg, &used);
	if (ret)
		return ret;
	*rsdp_gpa = LAYOUT_ACPI_START;
	return 0;
}
