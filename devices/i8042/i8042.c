/* i8042.c: keyboard controller stub: empty buffers, and command 0xFE resets the machine (reboot=k). */
#include "i8042.h"

#define I8042_DATA_OFFSET 0
#define I8042_COMMAND_OFFSET 4
#define I8042_CMD_PULSE_RESET 0xfe

void i8042_init(struct i8042 *kbc, void (*reset)(void *), void *ctx)
{
	kbc->reset = reset;
	kbc->ctx = ctx;
}

void i8042_bus_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	(void)opaque;
	/* Status 0: output buffer empty (nothing to read) and input buffer empty (ready). */
	if (len == 1 && (offset == I8042_DATA_OFFSET || offset == I8042_COMMAND_OFFSET))
		data[0] = 0;
}

void i8042_bus_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct i8042 *kbc = opaque;

	if (len == 1 && offset == I8042_COMMAND_OFFSET && data[0] == I8042_CMD_PULSE_RESET)
		kbc->reset(kbc->ctx);
}
