/* init.h: microvm's guest init (PID 1): its state and the steps main() runs in order. */
#ifndef MICROVM_GUEST_INIT_H
#define MICROVM_GUEST_INIT_H

#include <stdbool.h>
#include <stdnoreturn.h>
#include "../vmm/util.h"
#include "job.h"

/* Where init finds the module list the initramfs script writes (one path a line). */
#define INIT_MODULE_LIST "/etc/microvm/modules"
/* Where the root share is mounted before it becomes "/". */
#define INIT_NEWROOT "/newroot"
/* How long the virtio-console driver gets to announce the stdio ports. */
#define INIT_PORT_WAIT_MS 2000
/* The command's PATH when the job gives none (the usual root PATH). */
#define INIT_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/*
 * Status of the command when init cannot enter its working directory: 126, "could not be
 * invoked", as for a command that is not executable (env -C says 125, but microvm exits
 * 125 for its own errors, so a guest 125 would be ambiguous).
 */
#define INIT_STATUS_NO_WORKDIR 126

struct init {
	int console;        /* /dev/console for messages, -1 while there is none */
	int stdio[3];       /* the command's stdin, stdout, stderr; -1 until stdio_open() */
	bool stderr_is_console; /* stdio[2] fell back to /dev/console: say things once */
	bool under_microvm; /* the status port answered with the magic */
	struct job job;     /* job.verbose: say each step on the console */
};

/* log.c: "microvm-init: " lines. */
/* Only when the job asked for verbose: on the console. */
void init_say(struct init *in, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Always: on the console and, once stdio exists, on the command's stderr. */
void init_error(struct init *in, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* status.c: the status port and power-off. */
/* 0: the port answered with the magic (ioperm granted); -ENODEV: not microvm; -errno. */
int status_probe(void) MUST_CHECK;
/* Report kind/value when under microvm; a final kind makes microvm stop the VM. */
void status_report(struct init *in, unsigned kind, unsigned value);
/* Report STATUS_INIT_FAILED (the caller already said why) and power off. */
noreturn void init_fail(struct init *in);
noreturn void init_power_off(struct init *in);

/* mounts.c */
/* devtmpfs on /dev, proc, sysfs; then fds 0-2 and the console are made to exist. */
int mounts_early(struct init *in) MUST_CHECK;
/* The job's root share becomes "/" with /dev /proc /sys moved in; init stays PID 1. */
int mounts_switch_root(struct init *in) MUST_CHECK;
/* The job's other shares, each on its directory (created when the root allows it). */
int mounts_shares(struct init *in) MUST_CHECK;

/* modules.c: finit_module() each path listed in list; a missing list means none. */
int modules_load(struct init *in, const char *list) MUST_CHECK;

/* stdio.c: open the stdin/stdout/stderr virtio-console ports, or /dev/console. */
int stdio_open(struct init *in) MUST_CHECK;
void stdio_close(struct init *in);

/* command.c: run the job's command, reaping every child until it ends; *wstatus as wait(). */
int command_run(struct init *in, int *wstatus) MUST_CHECK;

#endif
