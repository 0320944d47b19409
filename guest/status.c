/* status.c: the microvm status port (guest/protocol.h) and powering the guest off. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/reboot.h>
#include <unistd.h>
#include "init.h"
#include "protocol.h"

int status_probe(void)
{
	/* PID 1 has CAP_SYS_RAWIO; IO_STRICT_DEVMEM limits /dev/port, not ioperm(). */
	if (ioperm(MICROVM_STATUS_PORT, MICROVM_STATUS_PORT_SPAN, 1) < 0)
		return -errno;
	/* An unclaimed port reads as all ones on x86 (QEMU, KVM with no device there). */
	return inl(MICROVM_STATUS_PORT) == MICROVM_STATUS_MAGIC ? 0 : -ENODEV;
}

void status_report(struct init *in, unsigned kind, unsigned value)
{
	if (!in->under_microvm)
		return;
	outl(MICROVM_STATUS(kind, value), MICROVM_STATUS_PORT);
}

noreturn void init_power_off(struct init *in)
{
	init_say(in, "powering off");
	reboot(RB_POWER_OFF);
	/*
	 * Unreachable unless the kernel refused. PID 1 exiting makes the kernel panic, which
	 * microvm reports (pvpanic or reset): better than a guest that idles until a timeout.
	 */
	init_error(in, "power-off failed: %s; exiting so the kernel panics", strerror(errno));
	exit(1);
}

noreturn void init_fail(struct init *in)
{
	status_report(in, STATUS_INIT_FAILED, 0);
	init_power_off(in);
}
