/* cli.c: runc's command line: global options, the subcommands containerd and Docker call, and their options. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "oci.h"
#include "internal.h"

enum {
	OPT_ROOT = 0x100,
	OPT_LOG,
	OPT_LOG_FORMAT,
	OPT_SYSTEMD_CGROUP,
	OPT_DEBUG,
	OPT_CRIU,
	OPT_ROOTLESS,
	OPT_VERSION,
	OPT_HELP,
	OPT_BUNDLE,
	OPT_CONSOLE_SOCKET,
	OPT_PID_FILE,
	OPT_NO_PIVOT,
	OPT_NO_NEW_KEYRING,
	OPT_PRESERVE_FDS,
	OPT_ALL,
	OPT_FORCE,
	OPT_FORMAT,
	OPT_PROCESS,
	OPT_DETACH,
	OPT_TTY,
	OPT_CWD,
	OPT_ENV,
	OPT_USER,
	OPT_GIDS,
	OPT_IGNORED_ARG, /* exec: accepted, no meaning for a microVM (labels, caps, cgroup) */
	OPT_IGNORED_FLAG,
};

/* Go's flag package takes -name and --name alike: getopt_long_only does too. */
static const struct option oci_global_opts[] = {
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "systemd-cgroup", no_argument, NULL, OPT_SYSTEMD_CGROUP },
	{ "debug", no_argument, NULL, OPT_DEBUG },
	{ "criu", required_argument, NULL, OPT_CRIU },
	{ "rootless", required_argument, NULL, OPT_ROOTLESS },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "v", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "h", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Commands runc has that a microVM cannot honour (yet): refused with a clear message. */
static const char *const oci_refused[] = {
	"list", "pause", "resume", "update", "events", "checkpoint", "restore", "spec", "init",
};

static const char *const oci_commands[] = {
	"create", "start", "state", "kill", "delete", "ps", "exec", "features",
};

void oci_print_version(FILE *out)
{
	fprintf(out, "microvm version %s\nspec: %s\n", PACKAGE_VERSION, OCI_SPEC_VERSION);
}

static bool oci_is_command(const char *word)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(oci_commands); i++)
		if (strcmp(word, oci_commands[i]) == 0)
			return true;
	for (i = 0; i < ARRAY_SIZE(oci_refused); i++)
		if (strcmp(word, oci_refused[i]) == 0)
			return true;
	return false;
}

/* How many words the global option at argv[i] takes (1 or 2), 0 if it is not one. */
static int oci_global_words(const char *arg)
{
	const char *name = arg;
	size_t i, len;

	if (name[0] != '-')
		return 0;
	name += name[1] == '-' ? 2 : 1;
	len = strcspn(name, "=");
	for (i = 0; oci_global_opts[i].name; i++) {
		if (strlen(oci_global_opts[i].name) != len ||
		    strncmp(oci_global_opts[i].name, name, len) != 0 ||
		    oci_global_opts[i].val == OPT_VERSION || oci_global_opts[i].val == OPT_HELP)
			continue;
		return oci_global_opts[i].has_arg == required_argument && !name[len] ? 2 : 1;
	}
	return 0;
}

bool oci_wants(int argc, char **argv)
{
	int i = 1, n;

	while (i < argc && (n = oci_global_words(argv[i])) > 0)
		i += n;
	if (i >= argc)
		return false;
	if (i == argc - 1 && (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--version")))
		return true; /* runc's -v; before "run" it stays microvm's --verbose */
	return oci_is_command(argv[i]);
}

static void oci_usage(FILE *out)
{
	fputs("Usage: microvm [--root DIR] [--log FILE] [--log-format text|json] [--debug]\n"
	      "               [--systemd-cgroup] COMMAND [OPTIONS] ID\n"
	      "\n"
	      "Runtime mode: microvm as an OCI runtime (runc's command line); each container\n"
	      "is one microVM. Commands: create, start, state, kill, delete, ps, exec, features.\n"
	      "The guest kernel and initrd come from " OCI_RUNTIME_CONFIG_DEFAULT " (or\n"
	      "$" OCI_RUNTIME_CONFIG_ENV "); see RUNTIME MODE in microvm(1).\n",
	      out);
}

/* One global option; 1 when it ends the run (--version, --help), -EINVAL when unknown. */
static int oci_global_option(int c, struct oci_globals *g)
{
	switch (c) {
	case OPT_ROOT:
		g->root = optarg;
		return 0;
	case OPT_LOG:
		g->log_path = optarg;
		return 0;
	case OPT_LOG_FORMAT:
		if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
			fprintf(stderr, "microvm: unknown log-format \"%s\"\n", optarg);
			return -EINVAL;
		}
		g->log_json = strcmp(optarg, "json") == 0;
		return 0;
	case OPT_SYSTEMD_CGROUP:
		g->systemd_cgroup = true;
		return 0;
	case OPT_DEBUG:
		g->debug = true;
		return 0;
	case OPT_CRIU:
	case OPT_ROOTLESS:
		return 0; /* accepted for compatibility; nothing to do in a VM */
	case OPT_VERSION:
		oci_print_version(stdout);
		return 1;
	case OPT_HELP:
		oci_usage(stdout);
		return 1;
	default:
		return -EINVAL;
	}
}

static int oci_parse_globals(int argc, char **argv, struct oci_globals *g, bool *done)
{
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long_only(argc, argv, "+", oci_global_opts, NULL)) != -1) {
		r = oci_global_option(c, g);
		if (r == 1) {
			*done = true;
			return 0;
		}
		if (r < 0) {
			if (c == '?' || c == ':')
				fprintf(stderr, "microvm: flag provided but not defined: %s\n",
					argv[optind - 1]);
			return -EINVAL;
		}
	}
	return 0;
}

/* Exactly n positional words after the options (runc's checkArgs). */
static int oci_args(const char *cmd, int argc, int min, int max)
{
	int n = argc - optind;

	if (n >= min && n <= max)
		return 0;
	oci_error("\"%s\" requires %s %d argument%s", cmd,
		  n < min ? (min == max ? "exactly" : "a minimum of") : "a maximum of",
		  n < min ? min : max, (n < min ? min : max) == 1 ? "" : "s");
	return -EINVAL;
}

static int oci_run_create(const struct oci_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bundle", required_argument, NULL, OPT_BUNDLE },
		{ "b", required_argument, NULL, OPT_BUNDLE },
		{ "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
		{ "no-new-keyring", no_argument, NULL, OPT_NO_NEW_KEYRING },
		{ "preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS },
		{ NULL, 0, NULL, 0 },
	};
	struct oci_create_opts o = { 0 };
	int c;

	optind = 0;
	while ((c = getopt_long_only(argc, argv, "+", opts, NULL)) != -1) {
		if (c == OPT_BUNDLE)
			o.bundle = optarg;
		else if (c == OPT_CONSOLE_SOCKET)
			o.console_socket = optarg;
		else if (c == OPT_PID_FILE)
			o.pid_file = optarg;
		else if (c == OPT_PRESERVE_FDS && strcmp(optarg, "0") != 0)
			oci_debug("--preserve-fds %s: extra fds do not reach the guest", optarg);
		else if (c == '?' || c == ':') {
			oci_error("create: flag provided but not defined: %s", argv[optind - 1]);
			return 1;
		}
	}
	if (oci_args("create", argc, 1, 1) < 0)
		return 1;
	return oci_cmd_create(g, argv[optind], &o);
}

/* start, state: just an id. */
static int oci_run_simple(const struct oci_globals *g, int argc, char **argv)
{
	optind = 1;
	if (argc > 1 && argv[1][0] == '-' && strcmp(argv[1], "--") != 0) {
		oci_error("%s: flag provided but not defined: %s", argv[0], argv[1]);
		return 1;
	}
	optind += argc > 1 && strcmp(argv[1], "--") == 0;
	if (oci_args(argv[0], argc, 1, 1) < 0)
		return 1;
	if (strcmp(argv[0], "start") == 0)
		return oci_cmd_start(g, argv[optind]);
	return oci_cmd_state(g, argv[optind]);
}

/* kill and delete: one flag each (--all, --force), an id, and kill's signal. */
static int oci_run_kill_delete(const struct oci_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, OPT_ALL }, { "a", no_argument, NULL, OPT_ALL },
		{ "force", no_argument, NULL, OPT_FORCE }, { "f", no_argument, NULL, OPT_FORCE },
		{ NULL, 0, NULL, 0 },
	};
	bool is_kill = strcmp(argv[0], "kill") == 0, force = false;
	int c;

	optind = 0;
	while ((c = getopt_long_only(argc, argv, "+", opts, NULL)) != -1) {
		if ((c == OPT_ALL && is_kill) || (c == OPT_FORCE && !is_kill)) {
			force = c == OPT_FORCE;
			continue;
		}
		oci_error("%s: flag provided but not defined: %s", argv[0], argv[optind - 1]);
		return 1;
	}
	if (oci_args(argv[0], argc, 1, is_kill ? 2 : 1) < 0)
		return 1;
	if (is_kill)
		return oci_cmd_kill(g, argv[optind], argc - optind > 1 ? argv[optind + 1] : NULL);
	return oci_cmd_delete(g, argv[optind], force);
}

static int oci_run_ps(const struct oci_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "f", required_argument, NULL, OPT_FORMAT },
		{ NULL, 0, NULL, 0 },
	};
	const char *format = "table";
	int c;

	optind = 0;
	while ((c = getopt_long_only(argc, argv, "+", opts, NULL)) != -1) {
		if (c != OPT_FORMAT) {
			oci_error("ps: flag provided but not defined: %s", argv[optind - 1]);
			return 1;
		}
		format = optarg;
	}
	if (strcmp(format, "json") && strcmp(format, "table")) {
		oci_error("invalid format option");
		return 1;
	}
	if (oci_args("ps", argc, 1, INT32_MAX) < 0)
		return 1;
	return oci_cmd_ps(g, argv[optind], strcmp(format, "json") == 0, argv + optind + 1,
			  argc - optind - 1);
}

static const struct option oci_exec_opts[] = {
	{ "process", required_argument, NULL, OPT_PROCESS },
	{ "p", required_argument, NULL, OPT_PROCESS },
	{ "detach", no_argument, NULL, OPT_DETACH },
	{ "d", no_argument, NULL, OPT_DETACH },
	{ "tty", no_argument, NULL, OPT_TTY },
	{ "t", no_argument, NULL, OPT_TTY },
	{ "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
	{ "pid-file", required_argument, NULL, OPT_PID_FILE },
	{ "cwd", required_argument, NULL, OPT_CWD },
	{ "env", required_argument, NULL, OPT_ENV },
	{ "e", required_argument, NULL, OPT_ENV },
	{ "user", required_argument, NULL, OPT_USER },
	{ "u", required_argument, NULL, OPT_USER },
	{ "additional-gids", required_argument, NULL, OPT_GIDS },
	{ "g", required_argument, NULL, OPT_GIDS },
	{ "process-label", required_argument, NULL, OPT_IGNORED_ARG },
	{ "apparmor", required_argument, NULL, OPT_IGNORED_ARG },
	{ "cap", required_argument, NULL, OPT_IGNORED_ARG },
	{ "c", required_argument, NULL, OPT_IGNORED_ARG },
	{ "cgroup", required_argument, NULL, OPT_IGNORED_ARG },
	{ "preserve-fds", required_argument, NULL, OPT_IGNORED_ARG },
	{ "no-new-privs", no_argument, NULL, OPT_IGNORED_FLAG },
	{ "ignore-paths", no_argument, NULL, OPT_IGNORED_FLAG },
	{ NULL, 0, NULL, 0 },
};

/* --env and --additional-gids repeat: their values go to o->env and o->gids (argc each). */
static int oci_exec_option(int c, struct oci_exec_opts *o)
{
	switch (c) {
	case OPT_PROCESS: o->process = optarg; break;
	case OPT_DETACH: o->detach = true; break;
	case OPT_TTY: o->tty = true; break;
	case OPT_CONSOLE_SOCKET: o->console_socket = optarg; break;
	case OPT_PID_FILE: o->pid_file = optarg; break;
	case OPT_CWD: o->cwd = optarg; break;
	case OPT_USER: o->user = optarg; break;
	case OPT_ENV: o->env[o->nenv++] = optarg; break;
	case OPT_GIDS: o->gids[o->ngids++] = optarg; break;
	case OPT_IGNORED_ARG:
	case OPT_IGNORED_FLAG: oci_debug("exec: an option without effect in a microVM"); break;
	default: return -EINVAL;
	}
	return 0;
}

/* exec [options] ID [COMMAND ARGS...]: without --process the command is required. */
static int oci_run_exec(const struct oci_globals *g, int argc, char **argv)
{
	struct oci_exec_opts o = { 0 };
	/* At most one --env or --additional-gids per word. */
	char **env = calloc((size_t)argc, sizeof(*env)), **gids = calloc((size_t)argc, sizeof(*gids));
	int c, status = 1;

	o.env = env;
	o.gids = gids;
	optind = 0;
	while (env && gids && (c = getopt_long_only(argc, argv, "+", oci_exec_opts, NULL)) != -1) {
		if (oci_exec_option(c, &o) < 0) {
			oci_error("exec: flag provided but not defined: %s", argv[optind - 1]);
			goto out;
		}
	}
	if (!env || !gids)
		oci_error("out of memory");
	else if (oci_args("exec", argc, o.process ? 1 : 2, INT32_MAX) == 0) {
		o.args = argv + optind + 1;
		o.nargs = (unsigned)(argc - optind - 1);
		status = oci_cmd_exec(g, argv[optind], &o);
	}
out:
	free(env);
	free(gids);
	return status;
}

static int oci_dispatch(const struct oci_globals *g, int argc, char **argv)
{
	const char *cmd = argv[0];

	if (!strcmp(cmd, "create"))
		return oci_run_create(g, argc, argv);
	if (!strcmp(cmd, "start") || !strcmp(cmd, "state"))
		return oci_run_simple(g, argc, argv);
	if (!strcmp(cmd, "kill") || !strcmp(cmd, "delete"))
		return oci_run_kill_delete(g, argc, argv);
	if (!strcmp(cmd, "ps"))
		return oci_run_ps(g, argc, argv);
	if (!strcmp(cmd, "features"))
		return oci_cmd_features();
	if (!strcmp(cmd, "exec"))
		return oci_run_exec(g, argc, argv);
	oci_error("%s is not supported by microvm's runtime mode", cmd);
	return 1;
}

int oci_main(int argc, char **argv)
{
	struct oci_globals g = { .root = OCI_DEFAULT_ROOT };
	bool done = false;
	int status;

	if (oci_parse_globals(argc, argv, &g, &done) < 0)
		return 1;
	if (done)
		return 0;
	if (optind >= argc) {
		oci_usage(stderr);
		return 1;
	}
	if (oci_log_open(&g) < 0) {
		fprintf(stderr, "microvm: cannot open the log file %s\n", g.log_path);
		return 1;
	}
	oci_debug("%s %s", argv[optind], optind + 1 < argc ? argv[argc - 1] : "");
	status = oci_dispatch(&g, argc - optind, argv + optind);
	oci_log_close();
	return status;
}
