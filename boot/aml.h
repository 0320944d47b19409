/* aml.h: a small writer of ACPI Machine Language (ACPI 6.5 chapter 20) and resource descriptors. */
#ifndef MICROVM_AML_H
#define MICROVM_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../vmm/util.h"

#define AML_MAX_DEPTH 8

/*
 * Emitters never fail on their own: the first error (-ENOSPC when the buffer is full,
 * -EINVAL for a malformed name or value, -E2BIG when nesting is too deep or a package
 * is too long) is kept in err, later calls do nothing, and aml_finish reports it. That
 * keeps table builders a straight list of calls with one check at the end.
 */
struct aml_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err;
	unsigned depth;
	size_t open[AML_MAX_DEPTH]; /* where each open object's PkgLength goes */
	size_t res_start;           /* first descriptor byte of the open ResourceTemplate */
	bool in_resources;
};

void aml_init(struct aml_writer *w, uint8_t *buf, size_t cap);
/* 0 with *len = bytes written, or the first error; also -EINVAL if an object is still open. */
int aml_finish(const struct aml_writer *w, size_t *len) MUST_CHECK;

/* Data objects. */
void aml_integer(struct aml_writer *w, uint64_t value); /* Zero, One or the shortest prefix */
void aml_string(struct aml_writer *w, const char *s);   /* printable ASCII only */
void aml_eisaid(struct aml_writer *w, const char *id);  /* "PNP0501": 3 letters, 4 hex digits */
/* "\\_SB.COM1", "^FOO", "_HID", "": segments of 1-4 characters, padded with '_'. */
void aml_name_string(struct aml_writer *w, const char *path);

/* Name(name, <next data object>): the caller writes the value right after. */
void aml_name(struct aml_writer *w, const char *name);

/* Objects with a PkgLength: open, write the contents, close with aml_end. */
void aml_scope_begin(struct aml_writer *w, const char *name);
void aml_device_begin(struct aml_writer *w, const char *name);
void aml_package_begin(struct aml_writer *w, uint8_t nelements);
void aml_end(struct aml_writer *w);

/* ResourceTemplate(): a Buffer of resource descriptors closed by an End Tag. */
void aml_resources_begin(struct aml_writer *w);
void aml_resources_end(struct aml_writer *w);

/* Extended Interrupt Descriptor flags, byte 3 (ACPI 6.5 section 6.4.3.6). */
#define AML_IRQ_CONSUMER 0x01U
#define AML_IRQ_EDGE 0x02U       /* clear: level-triggered */
#define AML_IRQ_ACTIVE_LOW 0x04U /* clear: active-high */
#define AML_IRQ_SHARED 0x08U     /* clear: exclusive */

/* IO(Decode16, port, port, 1, len) */
void aml_res_io(struct aml_writer *w, uint16_t port, uint8_t len);
void aml_res_irq_noflags(struct aml_writer *w, unsigned irq); /* IRQNoFlags(){irq}, irq < 16 */
void aml_res_memory32_fixed(struct aml_writer *w, uint32_t base, uint32_t size, bool writable);
/* QWordMemory(ResourceConsumer, PosDecode, MinFixed, MaxFixed, NonCacheable, ...) */
void aml_res_qword_memory(struct aml_writer *w, uint64_t base, uint64_t size, bool writable);
void aml_res_interrupt(struct aml_writer *w, uint32_t gsi, unsigned flags);

#endif
