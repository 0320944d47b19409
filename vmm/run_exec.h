/* run_exec.h: runtime mode's exec: requests on the exec socket become processes in the guest. */
#ifndef MICROVM_RUN_EXEC_H
#define MICROVM_RUN_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util.h"

struct machine;
struct pollfd;

/* Exec'd processes served at once; each takes three spare virtio-console ports. */
#define RUN_EXEC_SLOTS 4U
#define RUN_EXEC_PORTS (3U * RUN_EXEC_SLOTS)
/* Port ids: stdin, stdout, stderr, control, events, then the slots' (run_job.c). */
#define RUN_EXEC_FIRST_PORT 6U
/* Descriptors run_exec_poll may ask for: listener, events, removals, one per slot. */
#define RUN_EXEC_MAX_POLL (3U + RUN_EXEC_SLOTS)
/*
 * The control pipe's size in runtime mode: room for every slot's request (at most
 * MICROVM_EXEC_MAX_BYTES each) with plenty to spare for signal lines.
 */
#define RUN_EXEC_CONTROL_PIPE (1U << 20)

enum run_exec_state { RUN_EXEC_FREE, RUN_EXEC_REQUEST, RUN_EXEC_RUNNING, RUN_EXEC_REMOVING };

struct run_exec_slot {
	enum run_exec_state state;
	int sock;        /* the helper's connection */
	int tty;         /* a terminal exec's host terminal (its size), else -1 */
	unsigned serial; /* the guest's name for the process */
	uint32_t status; /* MICROVM_STATUS(kind, value), once "exit" came */
	unsigned collected; /* ports whose removal is over (3: answer the helper) */
	bool hung_up;       /* the helper's side closed: its socket is no longer polled */
};

struct run_exec {
	bool ready;       /* run_exec_init ran: the descriptors below are valid */
	int listen_fd;    /* -1: exec is not served (command mode) */
	int events_fd[2]; /* pipe: [1] the events port writes, [0] the main thread reads */
	size_t control_cap; /* the control pipe's size (0: unknown, only lines go) */
	char line[64];    /* an events line being assembled */
	size_t len;       /* its bytes so far; more than fit: the line is dropped */
	unsigned next_serial;
	uint64_t bad_events; /* guest lines ignored: malformed, or no such process */
	struct run_exec_slot slots[RUN_EXEC_SLOTS];
};

/*
 * Runtime mode, before run_vm: the bound, listening SOCK_SEQPACKET socket the VMM
 * serves exec requests on (oci/exec_wire.h); the VMM owns it from here.
 */
void run_exec_set_listener(int fd);
/* At machine start, before the stdio device: the events pipe. 0 or -errno. */
int run_exec_init(struct machine *m) MUST_CHECK;
/* machine_wait: the descriptors to poll now, at most RUN_EXEC_MAX_POLL; then serve them. */
unsigned run_exec_poll(struct machine *m, struct pollfd *fds);
void run_exec_serve(struct machine *m, const struct pollfd *fds, unsigned n);
/*
 * Teardown, after the stdio device was drained (the process's last output is out):
 * every helper still waiting learns its process ended with the VM.
 */
void run_exec_destroy(struct machine *m);

#endif
