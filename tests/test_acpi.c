/* test_acpi.c: the ACPI tables and AML writer, checked byte by byte and through iasl. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem and environ */
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../boot/acpi.h"
#include "../boot/aml.h"
#include "../vmm/layout.h"

#define GPA LAYOUT_ACPI_START
#define CAP (LAYOUT_ACPI_END - LAYOUT_ACPI_START)

extern char **environ;

struct tables {
	uint8_t buf[CAP];
	size_t used;
	const uint8_t *rsdp, *xsdt, *fadt, *madt, *dsdt;
	unsigned vcpus, nvirtio;
	struct acpi_mmio_device dev[LAYOUT_VIRTIO_MAX_DEVICES];
};

static struct tables T;

static uint64_t rd(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = (v << 8) | p[n];
	return v;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* A table at gpa: inside what was written, with its signature and a zero checksum. */
static const uint8_t *table_at(uint64_t gpa, const char *sig)
{
	const uint8_t *t;
	uint32_t len;

	ck_assert_uint_ge(gpa, GPA);
	ck_assert_uint_le(gpa - GPA + 36, T.used);
	t = T.buf + (gpa - GPA);
	len = (uint32_t)rd(t + 4, 4);
	ck_assert_uint_ge(len, 36);
	ck_assert_uint_le(gpa - GPA + len, T.used);
	ck_assert_msg(memcmp(t, sig, 4) == 0, "expected %s, found %.4s", sig, t);
	ck_assert_uint_eq(sum(t, len), 0);
	return t;
}

/* Matrix for the loop tests: 1 and 4 vCPUs times 0, 1 and 3 virtio devices. */
static void build_case(int i)
{
	static const unsigned nvirtio[] = { 0, 1, 3 };
	struct acpi_config cfg;
	unsigned d;

	memset(T.buf, 0x5a, sizeof(T.buf));
	T.vcpus = i < 3 ? 1 : 4;
	T.nvirtio = nvirtio[i % 3];
	for (d = 0; d < T.nvirtio; d++) {
		T.dev[d].base = LAYOUT_VIRTIO_MMIO_BASE + d * LAYOUT_VIRTIO_MMIO_SIZE;
		T.dev[d].size = LAYOUT_VIRTIO_MMIO_SIZE;
		T.dev[d].gsi = LAYOUT_VIRTIO_GSI_BASE + d;
	}
	cfg = (struct acpi_config){ .vcpus = T.vcpus, .virtio = T.dev, .nvirtio = T.nvirtio };
	ck_assert_int_eq(acpi_build_tables(T.buf, CAP, GPA, &cfg, &T.used), 0);
	ck_assert_uint_le(T.used, CAP);
	T.rsdp = T.buf;
	T.xsdt = table_at(rd(T.rsdp + 24, 8), "XSDT");
	T.fadt = table_at(rd(T.xsdt + 36, 8), "FACP");
	T.madt = table_at(rd(T.xsdt + 44, 8), "APIC");
	T.dsdt = table_at(rd(T.fadt + 140, 8), "DSDT");
}

/* build_case already followed RSDP -> XSDT -> FADT, MADT -> DSDT and checked each table. */
START_TEST(rsdp_and_xsdt)
{
	build_case(_i);
	ck_assert_mem_eq(T.rsdp, "RSD PTR ", 8);
	ck_assert_uint_eq(sum(T.rsdp, 20), 0);
	ck_assert_uint_eq(sum(T.rsdp, 36), 0);
	ck_assert_uint_eq(T.rsdp[15], 2);
	ck_assert_uint_eq(rd(T.rsdp + 16, 4), 0); /* no RSDT */
	ck_assert_uint_eq(rd(T.rsdp + 20, 4), 36);
	ck_assert_uint_eq(rd(T.xsdt + 4, 4), 36 + 2 * 8); /* FADT and MADT only */
	ck_assert_uint_eq(T.xsdt[8], 1);
	ck_assert_uint_eq(T.dsdt[8], 2); /* 64-bit AML integers */
}
END_TEST

static void check_gas_io8(const uint8_t *g, uint64_t port)
{
	ck_assert_uint_eq(g[0], 1); /* SystemIO */
	ck_assert_uint_eq(g[1], 8);
	ck_assert_uint_eq(g[2], 0);
	ck_assert_uint_eq(g[3], 1); /* byte access */
	ck_assert_uint_eq(rd(g + 4, 8), port);
}

START_TEST(fadt_hardware_reduced)
{
	uint32_t flags;
	uint16_t boot;

	build_case(_i);
	ck_assert_uint_eq(rd(T.fadt + 4, 4), 276);
	ck_assert_uint_eq(T.fadt[8], 6);
	flags = (uint32_t)rd(T.fadt + 112, 4);
	ck_assert(flags & (1U << 20)); /* HW_REDUCED_ACPI */
	ck_assert(flags & (1U << 10)); /* RESET_REG_SUP */
	boot = (uint16_t)rd(T.fadt + 109, 2);
	ck_assert(boot & (1U << 5));    /* CMOS RTC not present */
	ck_assert(boot & (1U << 2));    /* VGA not present */
	ck_assert(!(boot & (1U << 1))); /* no 8042 for the i8042 driver to probe */
	ck_assert_uint_eq(rd(T.fadt + 46, 2), 0); /* no SCI */
	ck_assert_uint_eq(rd(T.fadt + 36, 4), 0); /* no FACS */
	ck_assert_uint_eq(rd(T.fadt + 132, 8), 0);
	ck_assert_uint_eq(rd(T.fadt + 40, 4), rd(T.fadt + 140, 8));
	check_gas_io8(T.fadt + 116, LAYOUT_ACPI_RESET_PORT);
	ck_assert_uint_eq(T.fadt[128], LAYOUT_ACPI_RESET_VALUE);
	check_gas_io8(T.fadt + 244, LAYOUT_ACPI_SLEEP_CTL_PORT);
	check_gas_io8(T.fadt + 256, LAYOUT_ACPI_SLEEP_STS_PORT);
}
END_TEST

START_TEST(madt_one_lapic_per_vcpu)
{
	unsigned off, lapics = 0, ioapics = 0;
	const uint8_t *e;
	uint32_t len;

	build_case(_i);
	len = (uint32_t)rd(T.madt + 4, 4);
	ck_assert_uint_eq(rd(T.madt + 36, 4), LAYOUT_LAPIC_ADDR);
	for (off = 44; off < len; off += e[1]) {
		e = T.madt + off;
		ck_assert_uint_ge(e[1], 2);
		ck_assert_uint_le(off + e[1], len);
		if (e[0] == 0) {
			ck_assert_uint_eq(e[1], 8);
			ck_assert_uint_eq(e[2], lapics); /* processor UID */
			ck_assert_uint_eq(e[3], lapics); /* APIC ID */
			ck_assert_uint_eq(rd(e + 4, 4), 1);
			lapics++;
		} else {
			ck_assert_uint_eq(e[0], 1);
			ck_assert_uint_eq(e[1], 12);
			ck_assert_uint_eq(e[2], 0);
			ck_assert_uint_eq(rd(e + 4, 4), LAYOUT_IOAPIC_ADDR);
			ck_assert_uint_eq(rd(e + 8, 4), 0);
			ioapics++;
		}
	}
	ck_assert_uint_eq(off, len);
	ck_assert_uint_eq(lapics, T.vcpus);
	ck_assert_uint_eq(ioapics, 1);
}
END_TEST

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static unsigned count_mem(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
	unsigned count = 0;
	const uint8_t *p = hay;

	while ((p = memmem(p, n - (size_t)(p - hay), needle, m)) != NULL) {
		count++;
		p++;
	}
	return count;
}

START_TEST(dsdt_devices)
{
	static const uint8_t pnp0501[] = { 0x0c, 0x41, 0xd0, 0x05, 0x01 };
	static const uint8_t s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a, 0x05, 0x00 };
	uint8_t mem32[12] = { 0x86, 0x09, 0x00, 0x01 }, irq[9] = { 0x89, 0x06, 0x00, 0x03, 0x01 };
	size_t len;
	unsigned d;

	build_case(_i);
	len = rd(T.dsdt + 4, 4);
	ck_assert_uint_eq(count_mem(T.dsdt, len, "LNRO0005", 8), T.nvirtio);
	ck_assert_uint_eq(count_mem(T.dsdt, len, pnp0501, sizeof(pnp0501)), 1);
	ck_assert_uint_eq(count_mem(T.dsdt, len, s5, sizeof(s5)), 1);
	for (d = 0; d < T.nvirtio; d++) {
		char name[16];

		snprintf(name, sizeof(name), "VR%02u", d);
		ck_assert_uint_eq(count_mem(T.dsdt, len, name, 4), 1);
		le32(mem32 + 4, (uint32_t)T.dev[d].base);
		le32(mem32 + 8, (uint32_t)T.dev[d].size);
		ck_assert_uint_eq(count_mem(T.dsdt, len, mem32, sizeof(mem32)), 1);
		le32(irq + 5, T.dev[d].gsi);
		ck_assert_uint_eq(count_mem(T.dsdt, len, irq, sizeof(irq)), 1);
	}
}
END_TEST

/* Every short buffer fails with -ENOSPC and nothing is written past its end. */
START_TEST(short_buffer_enospc)
{
	static uint8_t buf[CAP];
	struct acpi_config cfg;
	size_t used, cap, got, i;

	build_case(5); /* 4 vCPUs, 3 devices */
	used = T.used;
	cfg = (struct acpi_config){ .vcpus = T.vcpus, .virtio = T.dev, .nvirtio = T.nvirtio };
	for (cap = 0; cap < used; cap++) {
		memset(buf, 0xa5, used + 64);
		ck_assert_int_eq(acpi_build_tables(buf, cap, GPA, &cfg, &got), -ENOSPC);
		for (i = cap; i < used + 64; i++)
			ck_assert_uint_eq(buf[i], 0xa5);
	}
	ck_assert_int_eq(acpi_build_tables(buf, used, GPA, &cfg, &got), 0);
	ck_assert_uint_eq(got, used);
	ck_assert_mem_eq(buf, T.buf, used);
}
END_TEST

START_TEST(bad_config_einval)
{
	struct acpi_mmio_device dev = { .base = LAYOUT_VIRTIO_MMIO_BASE, .size = 0x1000, .gsi = 16 };
	struct acpi_config cfg = { .vcpus = 1, .virtio = &dev, .nvirtio = 1 };
	size_t used;

	ck_assert_int_eq(acpi_build_tables(T.buf, CAP, GPA, &cfg, &used), 0);
	cfg.vcpus = 0;
	ck_assert_int_eq(acpi_build_tables(T.buf, CAP, GPA, &cfg, &used), -EINVAL);
	cfg.vcpus = 256;
	ck_assert_int_eq(acpi_build_tables(T.buf, CAP, GPA, &cfg, &used), -EINVAL);
	cfg.vcpus = 255;
	ck_assert_int_eq(acpi_build_tables(T.buf, CAP, GPA, &cfg, &used), 0);
	cfg.virtio = NULL;
	ck_assert_int_eq(acpi_build_tables(T.buf, CAP, GPA, &cfg, &used), -EINVAL);
	cfg.virtio = &dev;
	dev.gsi = LAYOUT_IOAPIC_PINS;
	ck_assert_int_eq(acpi_build_tables(T.buf, CAP, GPA, &cfg, &used), -EINVAL);
	dev.gsi = 16;
	dev.size = 0;
	ck_assert_int_eq(acpi_build_tables(T.buf, CAP, GPA, &cfg, &used), -EINVAL);
	dev.base = UINT64_MAX - 0xfff; /* the last page: ends exactly at 2^64 - 1 */
	dev.size = 0x1000;
	ck_assert_int_eq(acpi_build_tables(T.buf, CAP, GPA, &cfg, &used), 0);
	dev.size = 0x1001;
	ck_assert_int_eq(acpi_build_tables(T.buf, CAP, GPA, &cfg, &used), -EINVAL);
}
END_TEST

/* A window above 4 GiB needs a QWordMemory descriptor with fixed min, max and length. */
START_TEST(high_mmio_qword)
{
	struct acpi_mmio_device dev = { .base = 0x100000000ULL, .size = 0x1000, .gsi = 20 };
	struct acpi_config cfg = { .vcpus = 2, .virtio = &dev, .nvirtio = 1 };
	uint8_t qword[46] = { 0x8a, 0x2b, 0x00, 0x00, 0x0d, 0x01 };
	uint64_t v[5] = { 0, dev.base, dev.base + 0xfff, 0, 0x1000 };
	const uint8_t *xsdt, *fadt, *dsdt;

	memcpy(qword + 6, v, sizeof(v)); /* little-endian host */
	ck_assert_int_eq(acpi_build_tables(T.buf, CAP, GPA, &cfg, &T.used), 0);
	xsdt = table_at(rd(T.buf + 24, 8), "XSDT");
	fadt = table_at(rd(xsdt + 36, 8), "FACP");
	dsdt = table_at(rd(fadt + 140, 8), "DSDT");
	ck_assert_uint_eq(count_mem(dsdt, rd(dsdt + 4, 4), qword, sizeof(qword)), 1);
	ck_assert_uint_eq(count_mem(dsdt, rd(dsdt + 4, 4), "\x86\x09\x00", 3), 0);
}
END_TEST

START_TEST(build_into_guest_memory)
{
	static uint8_t ram[LAYOUT_ACPI_END];
	struct acpi_config cfg = { .vcpus = 2 };
	struct guest_memory mem;
	uint64_t rsdp = 0;

	gm_init_from_buffer(&mem, ram, sizeof(ram));
	ck_assert_int_eq(acpi_build(&mem, &cfg, &rsdp), 0);
	ck_assert_uint_eq(rsdp, LAYOUT_ACPI_START);
	ck_assert_mem_eq(ram + LAYOUT_ACPI_START, "RSD PTR ", 8);
	ck_assert_uint_ge(rd(ram + LAYOUT_ACPI_START + 24, 8), LAYOUT_ACPI_START);
	ck_assert_uint_lt(rd(ram + LAYOUT_ACPI_START + 24, 8), LAYOUT_ACPI_END);
	/* RAM that stops short of 1 MiB cannot hold the tables. */
	gm_init_from_buffer(&mem, ram, LAYOUT_ACPI_END - 1);
	ck_assert_int_eq(acpi_build(&mem, &cfg, &rsdp), -EFAULT);
}
END_TEST

/* ---- AML writer ---- */

static uint8_t abuf[64];

static size_t aml_done(struct aml_writer *w)
{
	size_t len = 0;

	ck_assert_int_eq(aml_finish(w, &len), 0);
	return len;
}

#define CHECK_AML(call, ...)                                                   \
	do {                                                                   \
		static const uint8_t want_[] = { __VA_ARGS__ };                \
		struct aml_writer w_;                                          \
		aml_init(&w_, abuf, sizeof(abuf));                             \
		call;                                                          \
		ck_assert_uint_eq(aml_done(&w_), sizeof(want_));               \
		ck_assert_mem_eq(abuf, want_, sizeof(want_));                  \
	} while (0)

START_TEST(aml_integers)
{
	CHECK_AML(aml_integer(&w_, 0), 0x00);
	CHECK_AML(aml_integer(&w_, 1), 0x01);
	CHECK_AML(aml_integer(&w_, 2), 0x0a, 0x02);
	CHECK_AML(aml_integer(&w_, 0xff), 0x0a, 0xff);
	CHECK_AML(aml_integer(&w_, 0x100), 0x0b, 0x00, 0x01);
	CHECK_AML(aml_integer(&w_, 0x10000), 0x0c, 0x00, 0x00, 0x01, 0x00);
	CHECK_AML(aml_integer(&w_, 0x123456789ULL), 0x0e, 0x89, 0x67, 0x45, 0x23, 0x01, 0, 0, 0);
	CHECK_AML(aml_string(&w_, "AB"), 0x0d, 'A', 'B', 0x00);
	CHECK_AML(aml_eisaid(&w_, "PNP0501"), 0x0c, 0x41, 0xd0, 0x05, 0x01);
	CHECK_AML(aml_eisaid(&w_, "PNP0C0C"), 0x0c, 0x41, 0xd0, 0x0c, 0x0c);
}
END_TEST

START_TEST(aml_names)
{
	CHECK_AML(aml_name_string(&w_, "_HID"), '_', 'H', 'I', 'D');
	CHECK_AML(aml_name_string(&w_, "\\_SB"), '\\', '_', 'S', 'B', '_');
	CHECK_AML(aml_name_string(&w_, "\\_SB.COM1"), '\\', 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1');
	CHECK_AML(aml_name_string(&w_, "A.B2.C"), 0x2f, 3, 'A', '_', '_', '_', 'B', '2', '_', '_',
		  'C', '_', '_', '_');
	CHECK_AML(aml_name_string(&w_, "^^X"), '^', '^', 'X', '_', '_', '_');
	CHECK_AML(aml_name_string(&w_, ""), 0x00);
	CHECK_AML(aml_name_string(&w_, "\\"), '\\', 0x00);
	CHECK_AML(aml_name(&w_, "_UID"), 0x08, '_', 'U', 'I', 'D');
}
END_TEST

static int aml_error_of(void (*emit)(struct aml_writer *), size_t cap)
{
	struct aml_writer w;
	size_t len;

	aml_init(&w, abuf, cap);
	emit(&w);
	return aml_finish(&w, &len);
}

static void bad_lead_digit(struct aml_writer *w) { aml_name_string(w, "1ABC"); }
static void bad_long_seg(struct aml_writer *w) { aml_name_string(w, "ABCDE"); }
static void bad_empty_seg(struct aml_writer *w) { aml_name_string(w, "A..B"); }
static void bad_trailing_dot(struct aml_writer *w) { aml_name_string(w, "AB."); }
static void bad_lower(struct aml_writer *w) { aml_name_string(w, "com1"); }
static void bad_eisaid(struct aml_writer *w) { aml_eisaid(w, "pnp0501"); }
static void bad_eisaid_hex(struct aml_writer *w) { aml_eisaid(w, "PNP05G1"); }
static void bad_string(struct aml_writer *w) { aml_string(w, "a\nb"); }
static void unclosed(struct aml_writer *w) { aml_scope_begin(w, "\\_SB"); }
static void unopened(struct aml_writer *w) { aml_end(w); }
static void res_outside(struct aml_writer *w) { aml_res_io(w, 0x3f8, 8); }
static void irq_too_big(struct aml_writer *w)
{
	aml_resources_begin(w);
	aml_res_irq_noflags(w, 16);
	aml_resources_end(w);
}
static void device_in_resources(struct aml_writer *w)
{
	aml_resources_begin(w);
	aml_device_begin(w, "X");
}
static void too_deep(struct aml_writer *w)
{
	int i;

	for (i = 0; i <= AML_MAX_DEPTH; i++)
		aml_package_begin(w, 0);
}
static void big(struct aml_writer *w) { aml_string(w, "0123456789"); }

START_TEST(aml_errors)
{
	void (*einval[])(struct aml_writer *) = {
		bad_lead_digit, bad_long_seg, bad_empty_seg, bad_trailing_dot, bad_lower,
		bad_eisaid, bad_eisaid_hex, bad_string, unclosed, unopened, res_outside,
		irq_too_big, device_in_resources,
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(einval); i++)
		ck_assert_int_eq(aml_error_of(einval[i], sizeof(abuf)), -EINVAL);
	ck_assert_int_eq(aml_error_of(too_deep, sizeof(abuf)), -E2BIG);
	ck_assert_int_eq(aml_error_of(big, 0), -ENOSPC);
	ck_assert_int_eq(aml_error_of(big, 11), -ENOSPC);
	ck_assert_int_eq(aml_error_of(big, 12), 0); /* prefix, 10 characters, NUL */
}
END_TEST

/* Scope(\) holding one string of slen bytes; the PkgLength must cover exactly the rest. */
static void check_pkglen(size_t slen, size_t want_bytes)
{
	size_t cap = slen + 16, len, total, n;
	uint8_t *buf = malloc(cap);
	char *s = malloc(slen + 1);
	struct aml_writer w;

	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(s);
	memset(s, 'A', slen);
	s[slen] = 0;
	aml_init(&w, buf, cap);
	aml_scope_begin(&w, "\\");
	aml_string(&w, s);
	aml_end(&w);
	ck_assert_int_eq(aml_finish(&w, &len), 0);
	ck_assert_uint_eq(buf[0], 0x10);
	n = (size_t)(buf[1] >> 6) + 1;
	ck_assert_uint_eq(n, want_bytes);
	total = n == 1 ? (buf[1] & 0x3f) : (buf[1] & 0x0f);
	for (size_t i = 1; i < n; i++)
		total |= (size_t)buf[1 + i] << (4 + 8 * (i - 1));
	ck_assert_uint_eq(total, len - 1); /* everything after the opcode */
	ck_assert_uint_eq(len, 1 + n + 2 + slen + 2);
	free(s);
	free(buf);
}

START_TEST(aml_pkglen_sizes)
{
	/* body = 2 (root + null name) + slen + 2 (prefix, NUL); total = body + PkgLength bytes */
	check_pkglen(58, 1);                /* total 63 */
	check_pkglen(59, 2);                /* total 65 */
	check_pkglen(4095 - 6, 2);          /* total 4095 */
	check_pkglen(4095 - 5, 3);          /* total 4097 */
	check_pkglen((1U << 20) - 8, 3);    /* total 2^20 - 1 */
	check_pkglen((1U << 20) - 7, 4);    /* total 2^20 + 1 */
}
END_TEST

START_TEST(aml_resource_template)
{
	struct aml_writer w;
	size_t len, size;

	aml_init(&w, abuf, sizeof(abuf));
	aml_resources_begin(&w);
	aml_res_io(&w, 0x3f8, 8);
	aml_res_irq_noflags(&w, 4);
	aml_res_interrupt(&w, 17, AML_IRQ_CONSUMER | AML_IRQ_EDGE);
	aml_resources_end(&w);
	ck_assert_int_eq(aml_finish(&w, &len), 0);
	/* Buffer, PkgLength, BytePrefix size, 8 + 3 + 9 descriptor bytes, End Tag */
	ck_assert_uint_eq(abuf[0], 0x11);
	ck_assert_uint_eq(abuf[1], len - 1);
	ck_assert_uint_eq(abuf[2], 0x0a);
	size = abuf[3];
	ck_assert_uint_eq(size, 8 + 3 + 9 + 2);
	ck_assert_uint_eq(len, 4 + size);
	ck_assert_uint_eq(abuf[4 + size - 2], 0x79);
	ck_assert_uint_eq(sum(abuf + 4, size), 0);
}
END_TEST

/* ---- iasl: disassemble, look for the content, then recompile what it printed ---- */

static char tmpdir[192];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

/* Run iasl with args in tmpdir, output to log; -1 if iasl cannot be started. */
static int run_iasl(const char *log, char *const argv[])
{
	posix_spawn_file_actions_t fa;
	char logpath[256];
	pid_t pid;
	int status, ret;

	snprintf(logpath, sizeof(logpath), "%s/%s", tmpdir, log);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	ret = posix_spawnp(&pid, "iasl", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (ret)
		return -1;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static char *slurp(const char *name)
{
	char path[256];
	FILE *f;
	char *s;
	long n;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s missing", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return s;
}

static unsigned count_str(const char *hay, const char *needle)
{
	return count_mem((const uint8_t *)hay, strlen(hay), needle, strlen(needle));
}

/* Disassemble SIG.dat; iasl must start, succeed and print no error or warning. */
static char *iasl_disassemble(const uint8_t *table, const char *sig, int *missing)
{
	char dat[256], log[16], dsl[16], *text;
	char *argv[] = { "iasl", "-d", dat, NULL };
	FILE *f;
	int rc;

	snprintf(dat, sizeof(dat), "%s/%s.dat", tmpdir, sig);
	f = fopen(dat, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(table, 1, rd(table + 4, 4), f), rd(table + 4, 4));
	fclose(f);
	snprintf(log, sizeof(log), "%s.dis.log", sig);
	rc = run_iasl(log, argv);
	*missing = rc < 0;
	if (*missing)
		return NULL;
	ck_assert_int_eq(rc, 0);
	text = slurp(log);
	ck_assert_msg(!strstr(text, "Error") && !strstr(text, "Warning"), "%s", text);
	free(text);
	snprintf(dsl, sizeof(dsl), "%s.dsl", sig);
	return slurp(dsl);
}

/* Compile the disassembly back: iasl's compiler checks descriptors and field values. */
static void iasl_recompile(const char *sig)
{
	char dsl[256], prefix[256], log[16], *text;
	char *argv[] = { "iasl", "-p", prefix, dsl, NULL };

	snprintf(dsl, sizeof(dsl), "%s/%s.dsl", tmpdir, sig);
	snprintf(prefix, sizeof(prefix), "%s/%s-rt", tmpdir, sig);
	snprintf(log, sizeof(log), "%s.asl.log", sig);
	ck_assert_int_eq(run_iasl(log, argv), 0);
	text = slurp(log);
	ck_assert_msg(strstr(text, " 0 Errors, 0 Warnings") != NULL, "%s", text);
	free(text);
}

static void check_dsdt_text(const char *dsl)
{
	char want[64];
	unsigned d;

	ck_assert_uint_eq(count_str(dsl, "\"LNRO0005\""), T.nvirtio);
	ck_assert_ptr_nonnull(strstr(dsl, "EisaId (\"PNP0501\")"));
	ck_assert_ptr_nonnull(strstr(dsl, "0x03F8,"));
	ck_assert_ptr_nonnull(strstr(dsl, "IRQNoFlags ()"));
	ck_assert_ptr_nonnull(strstr(dsl, "{4}"));
	ck_assert_ptr_nonnull(strstr(dsl, "Name (_S5, Package (0x02)"));
	for (d = 0; d < T.nvirtio; d++) {
		snprintf(want, sizeof(want), "Device (VR%02u)", d);
		ck_assert_ptr_nonnull(strstr(dsl, want));
		snprintf(want, sizeof(want), "0x%08X,         // Address Base",
			 (unsigned)T.dev[d].base);
		ck_assert_msg(strstr(dsl, want) != NULL, "no %s", want);
		snprintf(want, sizeof(want), "0x%08X,\n", T.dev[d].gsi);
		ck_assert_msg(strstr(dsl, want) != NULL, "no GSI %s", want);
	}
	ck_assert_uint_eq(count_str(dsl, "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive"),
			  T.nvirtio);
}

static void check_fadt_madt_text(const char *facp, const char *apic)
{
	ck_assert_ptr_nonnull(strstr(facp, "Hardware Reduced (V5) : 1"));
	ck_assert_ptr_nonnull(strstr(facp, "CMOS RTC Not Present (V5) : 1"));
	ck_assert_ptr_nonnull(strstr(facp, "Reset Register Supported (V2) : 1"));
	ck_assert_ptr_nonnull(strstr(facp, "Address : 0000000000000600"));
	ck_assert_ptr_nonnull(strstr(facp, "Address : 0000000000000601"));
	ck_assert_ptr_nonnull(strstr(facp, "Address : 0000000000000602"));
	ck_assert_uint_eq(count_str(apic, "[Processor Local APIC]"), T.vcpus);
	ck_assert_uint_eq(count_str(apic, "[I/O APIC]"), 1);
	ck_assert_ptr_nonnull(strstr(apic, "Address : FEC00000"));
}

START_TEST(iasl_round_trip)
{
	static const char *sigs[] = { "DSDT", "FACP", "APIC", "XSDT" };
	const uint8_t *tables[4];
	char *text[4];
	int missing;
	size_t i;

	build_case(_i);
	tables[0] = T.dsdt;
	tables[1] = T.fadt;
	tables[2] = T.madt;
	tables[3] = T.xsdt;
	snprintf(tmpdir, sizeof(tmpdir), "%s/acpi-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	for (i = 0; i < ARRAY_SIZE(sigs); i++) {
		text[i] = iasl_disassemble(tables[i], sigs[i], &missing);
		if (missing) {
			fprintf(stderr, "SKIP iasl_round_trip: iasl not found (install acpica-tools)\n");
			nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
			return;
		}
		iasl_recompile(sigs[i]);
	}
	check_dsdt_text(text[0]);
	check_fadt_madt_text(text[1], text[2]);
	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		free(text[i]);
	nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}
END_TEST

static Suite *acpi_suite(void)
{
	Suite *s = suite_create("acpi");
	TCase *tables = tcase_create("tables"), *aml = tcase_create("aml");
	TCase *iasl = tcase_create("iasl");

	tcase_add_loop_test(tables, rsdp_and_xsdt, 0, 6);
	tcase_add_loop_test(tables, fadt_hardware_reduced, 0, 6);
	tcase_add_loop_test(tables, madt_one_lapic_per_vcpu, 0, 6);
	tcase_add_loop_test(tables, dsdt_devices, 0, 6);
	tcase_add_test(tables, short_buffer_enospc);
	tcase_add_test(tables, bad_config_einval);
	tcase_add_test(tables, high_mmio_qword);
	tcase_add_test(tables, build_into_guest_memory);
	tcase_add_test(aml, aml_integers);
	tcase_add_test(aml, aml_names);
	tcase_add_test(aml, aml_errors);
	tcase_add_test(aml, aml_pkglen_sizes);
	tcase_add_test(aml, aml_resource_template);
	tcase_add_loop_test(iasl, iasl_round_trip, 0, 6);
	tcase_set_timeout(iasl, 30);
	suite_add_tcase(s, tables);
	suite_add_tcase(s, aml);
	suite_add_tcase(s, iasl);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(acpi_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
