/* status_port.h: the I/O port on which microvm-init reports that it runs and how the command ended. */
#ifndef MICROVM_STATUS_PORT_H
#define MICROVM_STATUS_PORT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "../../guest/protocol.h"

struct status_port {
	_Atomic bool ready;	    /* STATUS_READY seen: init runs */
	_Atomic uint32_t report; /* the final report (kind << 24 | value), 0 until then */
	void (*final)(void *ctx); /* called once, on the vCPU thread, with the final report */
	void *ctx;
};

void status_port_init(struct status_port *sp, void (*final)(void *), void *ctx);
/* Bus callbacks for MICROVM_STATUS_PORT_SPAN ports from MICROVM_STATUS_PORT. */
void status_port_bus_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len);
void status_port_bus_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len);

bool status_port_ready(const struct status_port *sp);
/* true and *kind / *value when init made its final report. */
bool status_port_final(const struct status_port *sp, unsigned *kind, unsigned *value);

#endif
