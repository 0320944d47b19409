/* run.h: boot and run one VM from a validated configuration; returns the process exit status. */
#ifndef MICROVM_RUN_H
#define MICROVM_RUN_H

#include "config.h"

/* Exit statuses (also in microvm(1)). */
#define RUN_EXIT_GUEST_STOPPED 0 /* guest powered off or rebooted */
#define RUN_EXIT_VMM_ERROR 1     /* KVM missing or unusable, kernel not loadable, vCPU failure */
/* Stopped by a signal: 128 + the signal number, as a shell reports it. */

int run_vm(const struct vm_config *cfg);

#endif
