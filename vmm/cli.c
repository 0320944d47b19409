/* cli.c: the microvm command line: subcommand, --config, and overrides of common keys. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "config_value.h"

enum {
	OPT_CONFIG = 0x100,
	OPT_KERNEL,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_MEMORY,
	OPT_VCPUS,
	OPT_CONSOLE,
	OPT_SECCOMP,
	OPT_ENV,
	OPT_WORKDIR,
	OPT_TIMEOUT,
	OPT_ROOT,
	/* Long twins of -h, -V, -v: distinct values tell long from short in getopt errors. */
	OPT_HELP,
	OPT_VERSION,
	OPT_VERBOSE,
};

/* Before the subcommand: only these. "+" stops at the first word ("run"). */
static const char global_short[] = "+:hVv";
static const struct option global_long[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ NULL, 0, NULL, 0 },
};

/* "+" keeps GNU getopt from moving words after "--" or stray words around. */
static const char run_short[] = "+:hVv";
static const struct option run_long[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "vcpus", required_argument, NULL, OPT_VCPUS },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "env", required_argument, NULL, OPT_ENV },
	{ "workdir", required_argument, NULL, OPT_WORKDIR },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static int usage_error(char *err, size_t errlen, const char *fmt, ...) PRINTF_LIKE(3, 4);

static int usage_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Turn getopt's '?' and ':' into a message naming the word the user typed. */
static int getopt_error(int c, char **argv, char *err, size_t errlen)
{
	char q[64];

	config_quote(argv[optind - 1], q, sizeof(q));
	if (c == ':')
		return usage_error(err, errlen, "option '%s' requires an argument", q);
	/*
	 * optopt is the short option's letter; for a long option it is 0 (unknown) or its
	 * value (an argument it does not take), and only then is argv[optind - 1] the word.
	 */
	if (optopt > 0 && optopt < OPT_CONFIG)
		return usage_error(err, errlen, "unknown option '-%c'",
				   isprint(optopt) ? optopt : '?');
	return usage_error(err, errlen, "unknown option '%s'", q);
}

/* Options common to both levels; 1 when c was one of them. */
static int common_option(int c, struct cli_options *opts)
{
	switch (c) {
	case 'h':
	case OPT_HELP:
		opts->action = CLI_HELP;
		return 1;
	case 'V':
	case OPT_VERSION:
		opts->action = CLI_VERSION;
		return 1;
	case 'v':
	case OPT_VERBOSE:
		opts->verbose++; /* -vv: per-exit diagnostics */
		return 1;
	}
	return 0;
}

static int run_option(int c, const char *arg, struct cli_options *opts, char *err,
		      size_t errlen)
{
	switch (c) {
	case OPT_ENV:
		if (opts->nenv == CLI_MAX_ENV)
			return usage_error(err, errlen, "--env: at most %u are allowed", CLI_MAX_ENV);
		opts->env[opts->nenv++] = arg;
		break;
	case OPT_WORKDIR:
		opts->workdir = arg;
		break;
	case OPT_TIMEOUT:
		opts->timeout = arg;
		break;
	case OPT_ROOT:
		opts->root = arg;
		break;
	case OPT_CONFIG:
		opts->config_path = arg;
		break;
	case OPT_KERNEL:
		opts->kernel = arg;
		break;
	case OPT_INITRD:
		opts->initrd = arg;
		break;
	case OPT_CMDLINE:
		opts->cmdline = arg;
		break;
	case OPT_MEMORY:
		opts->memory = arg;
		break;
	case OPT_VCPUS:
		opts->vcpus = arg;
		break;
	case OPT_CONSOLE:
		opts->console = arg;
		break;
	case OPT_SECCOMP:
		opts->seccomp = arg;
		break;
	}
	return 0;
}

/* What follows the options: nothing, or "--" and a command for the guest. */
static int run_rest(int argc, char **argv, const char *last_arg, struct cli_options *opts,
		    char *err, size_t errlen)
{
	char q[64];

	/* getopt swallows "--" itself; it is ours unless it was an option's argument. */
	if (optind > 1 && strcmp(argv[optind - 1], "--") == 0 && argv[optind - 1] != last_arg) {
		opts->command_argc = argc - optind;
		opts->command_argv = opts->command_argc ? &argv[optind] : NULL;
		return 0;
	}
	if (optind < argc) {
		config_quote(argv[optind], q, sizeof(q));
		return usage_error(err, errlen, "run: unexpected argument '%s' (put a guest "
				   "command after '--')", q);
	}
	return 0;
}

/* argv[0] is "run". */
static int parse_run(int argc, char **argv, struct cli_options *opts, char *err, size_t errlen)
{
	const char *last_arg = NULL;
	int c;

	optind = 0; /* full reset of glibc's getopt state: tests parse many times */
	while ((c = getopt_long(argc, argv, run_short, run_long, NULL)) != -1) {
		if (c == '?' || c == ':')
			return getopt_error(c, argv, err, errlen);
		if (!common_option(c, opts) && run_option(c, optarg, opts, err, errlen) < 0)
			return -EINVAL;
		last_arg = optarg;
	}
	if (run_rest(argc, argv, last_arg, opts, err, errlen) < 0)
		return -EINVAL;
	if (opts->action == CLI_RUN && !opts->config_path && !opts->kernel)
		return usage_error(err, errlen, "run: --kernel is required without --config");
	return 0;
}

int cli_parse(int argc, char **argv, struct cli_options *opts, char *err, size_t errlen)
{
	char q[64];
	int c;

	*opts = (struct cli_options){ .action = CLI_RUN };
	optind = 0;
	opterr = 0; /* our messages, not getopt's */
	while ((c = getopt_long(argc, argv, global_short, global_long, NULL)) != -1) {
		if (c == '?' || c == ':')
			return getopt_error(c, argv, err, errlen);
		common_option(c, opts);
	}
	if (opts->action != CLI_RUN)
		return 0; /* --help and --version win over anything after them */
	if (optind >= argc)
		return usage_error(err, errlen, "missing command");
	if (strcmp(argv[optind], "help") == 0) {
		opts->action = CLI_HELP;
		return 0;
	}
	if (strcmp(argv[optind], "run") == 0)
		return parse_run(argc - optind, argv + optind, opts, err, errlen);
	config_quote(argv[optind], q, sizeof(q));
	return usage_error(err, errlen, "unknown command '%s'", q);
}

static int override_fail(struct config_error *err, const char *flag, const char *why)
{
	snprintf(err->msg, sizeof(err->msg), "%s: %s", flag, why);
	return -EINVAL;
}

/* The path overrides: checked for existence by config_validate, which names the flag. */
static int apply_paths(const struct cli_options *opts, struct vm_config *cfg,
		       struct config_error *err)
{
	static const struct config_pos from_cli = { 0, 0 };
	struct config_why why;

	if (opts->kernel) {
		if (config_check_path(opts->kernel, &why) < 0)
			return override_fail(err, "--kernel", why.msg);
		if (config_set_string(&cfg->kernel, opts->kernel) < 0)
			return override_fail(err, "--kernel", "out of memory");
		cfg->kernel_pos = from_cli;
	}
	if (opts->initrd) {
		if (config_check_path(opts->initrd, &why) < 0)
			return override_fail(err, "--initrd", why.msg);
		if (config_set_string(&cfg->initrd, opts->initrd) < 0)
			return override_fail(err, "--initrd", "out of memory");
		cfg->initrd_pos = from_cli;
	}
	return 0;
}

static int apply_console(const char *text, struct vm_config *cfg, struct config_error *err)
{
	static const struct config_pos from_cli = { 0, 0 };
	struct config_why why;
	enum console_kind kind;
	const char *path;

	if (config_parse_console(text, &kind, &path, &why) < 0)
		return override_fail(err, "--console", why.msg);
	free(cfg->console_path);
	cfg->console_path = NULL;
	cfg->console = kind;
	cfg->console_pos = from_cli;
	cfg->console_set = true;
	if (path && config_set_string(&cfg->console_path, path) < 0)
		return override_fail(err, "--console", "out of memory");
	return 0;
}

int cli_apply_overrides(const struct cli_options *opts, struct vm_config *cfg,
			struct config_error *err)
{
	struct config_why why;

	if (opts->vcpus && config_parse_vcpus(opts->vcpus, &cfg->vcpus, &why) < 0)
		return override_fail(err, "--vcpus", why.msg);
	if (opts->memory && config_parse_memory(opts->memory, &cfg->memory_bytes, &why) < 0)
		return override_fail(err, "--memory", why.msg);
	if (opts->cmdline) {
		if (config_check_cmdline(opts->cmdline, &why) < 0)
			return override_fail(err, "--cmdline", why.msg);
		if (config_set_string(&cfg->cmdline, opts->cmdline) < 0)
			return override_fail(err, "--cmdline", "out of memory");
	}
	if (opts->console && apply_console(opts->console, cfg, err) < 0)
		return -EINVAL;
	if (cli_apply_job(opts, cfg, err) < 0)
		return -EINVAL;
	if (opts->seccomp) {
		/* Off only for debugging a filter that stops a legitimate call. */
		if (strcmp(opts->seccomp, "on") != 0 && strcmp(opts->seccomp, "off") != 0)
			return override_fail(err, "--seccomp", "expected on or off");
		cfg->seccomp_off = strcmp(opts->seccomp, "off") == 0;
	}
	return apply_paths(opts, cfg, err);
}

void cli_print_help(FILE *out)
{
	fputs("Usage: microvm run [OPTIONS] [-- COMMAND [ARG...]]\n"
	      "       microvm help | --help | -h\n"
	      "       microvm --version | -V\n"
	      "\n"
	      "Boot a Linux kernel in a KVM virtual machine.\n"
	      "\n"
	      "Options for run (each overrides the same key of the --config file):\n"
	      "  --config FILE        read the VM from a YAML file (see microvm.yaml(5))\n"
	      "  --kernel PATH        bzImage or ELF vmlinux to boot (required without --config)\n"
	      "  --initrd PATH        initramfs to load\n",
	      out);
	fprintf(out,
		"  --cmdline STRING     kernel command line (default \"%s\")\n"
		"  --memory SIZE        guest RAM with a K, M, G or T suffix (default %lluM)\n"
		"  --vcpus N            number of vCPUs, 1..%u (default %u)\n",
		CONFIG_DEFAULT_CMDLINE, CONFIG_DEFAULT_MEMORY >> 20, CONFIG_MAX_VCPUS,
		CONFIG_DEFAULT_VCPUS);
	fputs("  --console KIND       stdio (default), none, or file:PATH; with a command the\n"
	      "                       kernel console is hidden unless given (or -v)\n"
	      "  --env NAME=VALUE     environment of the command (repeatable; adds to env:)\n"
	      "  --workdir DIR        working directory of the command in the guest\n"
	      "  --timeout DURATION   stop the guest after 30, 30s, 500ms, 2m or 1h (exit 124)\n"
	      "  --root TAG           the share with this tag is the command's root file system\n"
	      "  --seccomp on|off     per-thread system call filters (default on; off only\n"
	      "                       to debug a filter, never in production)\n"
	      "  -v, --verbose        log what the VMM does to stderr\n"
	      "  -h, --help           show this help and exit\n"
	      "  -V, --version        show the version and exit\n"
	      "\n"
	      "Words after '--' are a command that microvm-init (in the initrd) runs in the\n"
	      "guest, with its stdin, stdout and stderr connected to microvm's.\n"
	      "Exit status: with a command, the command's status (128+N if killed by signal N);\n"
	      "without, 0 when the guest powers off or reboots. 122: the guest stopped before\n"
	      "the command's status was reported (boot failure), 123: the guest kernel\n"
	      "panicked, 124: --timeout expired, 125: usage, configuration, KVM or VMM error,\n"
	      "159: a VMM thread made a forbidden system call (seccomp).\n",
	      out);
}
