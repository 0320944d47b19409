/* config_internal.h: what the config files share among themselves (not for other modules). */
#ifndef MICROVM_CONFIG_INTERNAL_H
#define MICROVM_CONFIG_INTERNAL_H

#include "config.h"

/*
 * Write "file:line:col: " (a value from the file) or "flag: " (from the command line),
 * then the message, into err. Returns -EINVAL.
 */
int config_fail_at(const struct vm_config *cfg, struct config_pos pos, const char *flag,
		   struct config_error *err, const char *fmt, ...) PRINTF_LIKE(5, 6);
/* The command-mode checks of config_validate (config_job.c). */
int config_validate_job(const struct vm_config *cfg, struct config_error *err) MUST_CHECK;

#endif
