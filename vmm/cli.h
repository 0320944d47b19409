/* cli.h: the microvm command line: subcommand, --config, and overrides of common keys. */
#ifndef MICROVM_CLI_H
#define MICROVM_CLI_H

#include <stdio.h>
#include "config.h"

enum cli_action { CLI_RUN, CLI_HELP, CLI_VERSION };

#define CLI_MAX_ENV 256U

struct cli_options {
	enum cli_action action;
	const char *config_path; /* NULL: no file, everything from flags */
	int verbose;
	/* Overrides; NULL / 0 = not given. Strings point into argv. */
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	const char *console; /* "stdio", "none" or "file:PATH" */
	const char *memory;
	const char *vcpus;
	const char *seccomp; /* "on" or "off" (debugging only) */
	const char *workdir;
	const char *timeout;
	const char *root;
	const char *env[CLI_MAX_ENV]; /* --env NAME=VALUE, in order */
	unsigned nenv;
	/* Words after "--", a command for the guest to run; 0 / NULL when absent. */
	int command_argc;
	char **command_argv; /* points into argv */
};

/*
 * Exit status for usage and configuration errors: 125, like every failure of microvm
 * itself (vmm/run.h), so that it is not mistaken for a guest command's own 1 or 2.
 */
#define EXIT_USAGE 125

/* Parse argv; on error writes a one-line message to err and returns -EINVAL. */
int cli_parse(int argc, char **argv, struct cli_options *opts, char *err, size_t errlen) MUST_CHECK;
/* Apply the overrides in opts onto cfg (after the file was loaded). */
int cli_apply_overrides(const struct cli_options *opts, struct vm_config *cfg,
			struct config_error *err) MUST_CHECK;
/* cli_job.c: the command-mode part of cli_apply_overrides. */
int cli_apply_job(const struct cli_options *opts, struct vm_config *cfg,
		  struct config_error *err) MUST_CHECK;
void cli_print_help(FILE *out);

#endif
