/* i8042.h: the keyboard controller, only as far as the guest uses it to reset the machine. */
#ifndef MICROVM_I8042_H
#define MICROVM_I8042_H

#include <stdint.h>

struct i8042 {
	void (*reset)(void *ctx); /* called when the guest pulses the CPU reset line */
	void *ctx;
};

void i8042_init(struct i8042 *kbc, void (*reset)(void *), void *ctx);
/* Bus callbacks for ports 0x60 (offset 0) to 0x64 (offset 4). */
void i8042_bus_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len);
void i8042_bus_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len);

#endif
