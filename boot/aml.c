/* aml.c: encode AML names, data objects, packages and resource templates into a bounded buffer. */
#include <errno.h>
#include <string.h>
#include "aml.h"

/* Opcodes and prefixes, ACPI 6.5 section 20.3. */
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_EXT_OP_PREFIX 0x5b
#define AML_DEVICE_OP 0x82 /* after AML_EXT_OP_PREFIX */
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_ROOT_CHAR '\\'
#define AML_PARENT_PREFIX '^'
#define AML_NULL_NAME 0x00

/* Resource descriptor tags, ACPI 6.5 section 6.4. */
#define RES_IRQ_NOFLAGS 0x22 /* small item 0x04, 2 bytes */
#define RES_IO 0x47          /* small item 0x08, 7 bytes */
#define RES_END_TAG 0x79     /* small item 0x0f, 1 byte */
#define RES_MEMORY32_FIXED 0x86
#define RES_EXT_INTERRUPT 0x89
#define RES_QWORD_ADDRESS 0x8a

#define NAMESEG_LEN 4
#define MAX_SEGMENTS 16

void aml_init(struct aml_writer *w, uint8_t *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
}

int aml_finish(const struct aml_writer *w, size_t *len)
{
	if (w->err)
		return w->err;
	if (w->depth || w->in_resources)
		return -EINVAL;
	*len = w->len;
	return 0;
}

static void aml_fail(struct aml_writer *w, int err)
{
	if (!w->err)
		w->err = err;
}

/* Insert n bytes at pos, moving what follows: how a PkgLength lands in front of its body. */
static void aml_insert(struct aml_writer *w, size_t pos, const uint8_t *src, size_t n)
{
	if (w->err)
		return;
	if (n > w->cap - w->len) {
		aml_fail(w, -ENOSPC);
		return;
	}
	memmove(w->buf + pos + n, w->buf + pos, w->len - pos);
	memcpy(w->buf + pos, src, n);
	w->len += n;
}

static void aml_bytes(struct aml_writer *w, const uint8_t *src, size_t n)
{
	aml_insert(w, w->len, src, n);
}

static void aml_byte(struct aml_writer *w, uint8_t b)
{
	aml_bytes(w, &b, 1);
}

static void aml_le(struct aml_writer *w, uint64_t v, unsigned n)
{
	uint8_t b[8];
	unsigned i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(w, b, n);
}

/*
 * PkgLength counts itself. One byte holds up to 63; otherwise the top two bits of the
 * lead byte give the number of following bytes, its low nibble the low 4 bits of the
 * length, and each following byte 8 more bits (ACPI 6.5 section 20.2.4).
 */
static size_t aml_encode_pkglen(size_t body, uint8_t out[4])
{
	static const size_t limit[4] = { 1U << 6, 1U << 12, 1U << 20, 1U << 28 };
	size_t n, total, i;

	for (n = 1; n <= 4; n++) {
		total = body + n;
		if (total < limit[n - 1])
			break;
	}
	if (n > 4)
		return 0;
	if (n == 1) {
		out[0] = (uint8_t)total;
		return 1;
	}
	out[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
	for (i = 1; i < n; i++)
		out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	return n;
}

static size_t aml_encode_integer(uint64_t v, uint8_t out[9])
{
	size_t n, i;

	if (v <= 1) {
		out[0] = v ? AML_ONE_OP : AML_ZERO_OP;
		return 1;
	}
	if (v <= 0xff) {
		out[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= 0xffff) {
		out[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= 0xffffffffULL) {
		out[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		out[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	for (i = 0; i < n; i++)
		out[1 + i] = (uint8_t)(v >> (8 * i));
	return 1 + n;
}

void aml_integer(struct aml_writer *w, uint64_t value)
{
	uint8_t b[9];

	aml_bytes(w, b, aml_encode_integer(value, b));
}

void aml_string(struct aml_writer *w, const char *s)
{
	const char *p;

	for (p = s; *p; p++) {
		if (*p < 0x20 || *p > 0x7e) {
			aml_fail(w, -EINVAL);
			return;
		}
	}
	aml_byte(w, AML_STRING_PREFIX);
	aml_bytes(w, (const uint8_t *)s, (size_t)(p - s));
	aml_byte(w, 0);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Three 5-bit letters and four hex digits, stored most significant byte first. */
void aml_eisaid(struct aml_writer *w, const char *id)
{
	uint32_t v = 0;
	int i, d;

	if (strlen(id) != 7) {
		aml_fail(w, -EINVAL);
		return;
	}
	for (i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			aml_fail(w, -EINVAL);
			return;
		}
		v = (v << 5) | (uint32_t)(id[i] - 0x40);
	}
	for (i = 3; i < 7; i++) {
		d = hex_digit(id[i]);
		if (d < 0) {
			aml_fail(w, -EINVAL);
			return;
		}
		v = (v << 4) | (uint32_t)d;
	}
	/* Always a DWord, as iasl emits it, so a disassembler shows EisaId() again. */
	aml_byte(w, AML_DWORD_PREFIX);
	aml_le(w, __builtin_bswap32(v), 4);
}

static int name_char_ok(char c, int lead)
{
	if ((c >= 'A' && c <= 'Z') || c == '_')
		return 1;
	return !lead && c >= '0' && c <= '9';
}

/* One NameSeg from p into seg, padded with '_'; returns the character after it or NULL. */
static const char *parse_nameseg(const char *p, uint8_t seg[NAMESEG_LEN])
{
	size_t n = 0;

	while (*p && *p != '.') {
		if (n == NAMESEG_LEN || !name_char_ok(*p, n == 0))
			return NULL;
		seg[n++] = (uint8_t)*p++;
	}
	if (n == 0)
		return NULL;
	memset(seg + n, '_', NAMESEG_LEN - n);
	return p;
}

static size_t parse_namepath(const char *p, uint8_t segs[MAX_SEGMENTS][NAMESEG_LEN])
{
	size_t n = 0;

	if (!*p)
		return 0;
	for (;;) {
		if (n == MAX_SEGMENTS)
			return SIZE_MAX;
		p = parse_nameseg(p, segs[n++]);
		if (!p)
			return SIZE_MAX;
		if (!*p)
			return n;
		p++; /* the '.'; a trailing one fails on the next segment */
	}
}

void aml_name_string(struct aml_writer *w, const char *path)
{
	uint8_t segs[MAX_SEGMENTS][NAMESEG_LEN];
	size_t n;

	if (*path == AML_ROOT_CHAR)
		aml_byte(w, *path++);
	else
		while (*path == AML_PARENT_PREFIX)
			aml_byte(w, *path++);
	n = parse_namepath(path, segs);
	if (n == SIZE_MAX) {
		aml_fail(w, -EINVAL);
		return;
	}
	if (n == 0)
		aml_byte(w, AML_NULL_NAME);
	else if (n == 2)
		aml_byte(w, AML_DUAL_NAME_PREFIX);
	else if (n > 2) {
		aml_byte(w, AML_MULTI_NAME_PREFIX);
		aml_byte(w, (uint8_t)n);
	}
	aml_bytes(w, &segs[0][0], n * NAMESEG_LEN);
}

void aml_name(struct aml_writer *w, const char *name)
{
	aml_byte(w, AML_NAME_OP);
	aml_name_string(w, name);
}

static void aml_open(struct aml_writer *w)
{
	if (w->in_resources)
		aml_fail(w, -EINVAL);
	else if (w->depth == AML_MAX_DEPTH)
		aml_fail(w, -E2BIG);
	if (!w->err)
		w->open[w->depth++] = w->len;
}

void aml_end(struct aml_writer *w)
{
	uint8_t pkglen[4];
	size_t pos, n;

	if (w->err)
		return;
	if (w->depth == 0 || w->in_resources) {
		aml_fail(w, -EINVAL);
		return;
	}
	pos = w->open[--w->depth];
	n = aml_encode_pkglen(w->len - pos, pkglen);
	if (n == 0)
		aml_fail(w, -E2BIG);
	else
		aml_insert(w, pos, pkglen, n);
}

void aml_scope_begin(struct aml_writer *w, const char *name)
{
	aml_byte(w, AML_SCOPE_OP);
	aml_open(w);
	aml_name_string(w, name);
}

void aml_device_begin(struct aml_writer *w, const char *name)
{
	aml_byte(w, AML_EXT_OP_PREFIX);
	aml_byte(w, AML_DEVICE_OP);
	aml_open(w);
	aml_name_string(w, name);
}

void aml_package_begin(struct aml_writer *w, uint8_t nelements)
{
	aml_byte(w, AML_PACKAGE_OP);
	aml_open(w);
	aml_byte(w, nelements);
}

void aml_resources_begin(struct aml_writer *w)
{
	aml_byte(w, AML_BUFFER_OP);
	aml_open(w);
	if (w->err)
		return;
	w->res_start = w->len;
	w->in_resources = true;
}

/* The End Tag checksum makes all descriptor bytes, itself included, sum to zero. */
void aml_resources_end(struct aml_writer *w)
{
	uint8_t sum = RES_END_TAG, size[9];
	size_t i;

	if (w->err)
		return;
	if (!w->in_resources) {
		aml_fail(w, -EINVAL);
		return;
	}
	for (i = w->res_start; i < w->len; i++)
		sum = (uint8_t)(sum + w->buf[i]);
	aml_byte(w, RES_END_TAG);
	aml_byte(w, (uint8_t)-sum);
	/* BufferSize comes before the bytes but is only known now. */
	aml_insert(w, w->res_start, size,
		   aml_encode_integer(w->len - w->res_start, size));
	w->in_resources = false;
	aml_end(w);
}

static int aml_res_check(struct aml_writer *w)
{
	if (!w->in_resources)
		aml_fail(w, -EINVAL);
	return w->err == 0;
}

void aml_res_io(struct aml_writer *w, uint16_t port, uint8_t len)
{
	if (!aml_res_check(w))
		return;
	aml_byte(w, RES_IO);
	aml_byte(w, 0x01); /* decodes 16 address bits */
	aml_le(w, port, 2);  /* minimum base */
	aml_le(w, port, 2);  /* maximum base */
	aml_byte(w, 1);      /* alignment */
	aml_byte(w, len);
}

void aml_res_irq_noflags(struct aml_writer *w, unsigned irq)
{
	if (!aml_res_check(w))
		return;
	if (irq >= 16) {
		aml_fail(w, -EINVAL);
		return;
	}
	aml_byte(w, RES_IRQ_NOFLAGS);
	aml_le(w, 1U << irq, 2);
}

void aml_res_memory32_fixed(struct aml_writer *w, uint32_t base, uint32_t size, bool writable)
{
	if (!aml_res_check(w))
		return;
	aml_byte(w, RES_MEMORY32_FIXED);
	aml_le(w, 9, 2); /* length of what follows */
	aml_byte(w, writable ? 1 : 0);
	aml_le(w, base, 4);
	aml_le(w, size, 4);
}

void aml_res_qword_memory(struct aml_writer *w, uint64_t base, uint64_t size, bool writable)
{
	if (!aml_res_check(w))
		return;
	if (size == 0 || base + (size - 1) < base) {
		aml_fail(w, -EINVAL);
		return;
	}
	aml_byte(w, RES_QWORD_ADDRESS);
	aml_le(w, 43, 2); /* length of what follows, no resource source */
	aml_byte(w, 0);    /* memory range */
	aml_byte(w, 0x0d); /* consumer, positive decode, min and max fixed */
	aml_byte(w, writable ? 1 : 0); /* non-cacheable, AddressRangeMemory */
	aml_le(w, 0, 8);   /* granularity: must be 0 with fixed min and max */
	aml_le(w, base, 8);
	aml_le(w, base + (size - 1), 8);
	aml_le(w, 0, 8); /* translation offset */
	aml_le(w, size, 8);
}

void aml_res_interrupt(struct aml_writer *w, uint32_t gsi, unsigned flags)
{
	if (!aml_res_check(w))
		return;
	if (flags & ~(AML_IRQ_CONSUMER | AML_IRQ_EDGE | AML_IRQ_ACTIVE_LOW | AML_IRQ_SHARED)) {
		aml_fail(w, -EINVAL);
		return;
	}
	aml_byte(w, RES_EXT_INTERRUPT);
	aml_le(w, 6, 2); /* length of what follows: one interrupt, no resource source */
	aml_byte(w, (uint8_t)flags);
	aml_byte(w, 1);
	aml_le(w, gsi, 4);
}
