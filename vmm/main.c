/* main.c: parse the command line and configuration, then run the VM. */
#include <stdio.h>
#include <stdlib.h>
#include "../oci/oci.h"
#include "cli.h"
#include "config.h"
#include "run.h"

static int main_load_config(const struct cli_options *opts, struct vm_config *cfg)
{
	struct config_error err = { { 0 } };

	config_init(cfg);
	if (opts->config_path && config_load_file(opts->config_path, cfg, &err)) {
		fprintf(stderr, "microvm: %s\n", err.msg);
		return -1;
	}
	if (cli_apply_overrides(opts, cfg, &err) || config_validate(cfg, &err)) {
		fprintf(stderr, "microvm: %s\n", err.msg);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cli_options opts;
	struct vm_config cfg;
	char err[512];
	int status;

	/* runc's command line (containerd, Docker): microvm as an OCI runtime. */
	if (oci_wants(argc, argv))
		return oci_main(argc, argv);
	if (cli_parse(argc, argv, &opts, err, sizeof(err))) {
		fprintf(stderr, "microvm: %s\nTry 'microvm --help'.\n", err);
		return EXIT_USAGE;
	}
	if (opts.action == CLI_HELP) {
		cli_print_help(stdout);
		return 0;
	}
	if (opts.action == CLI_VERSION) {
		oci_print_version(stdout); /* runc's layout: dockerd parses it */
		return 0;
	}
	log_set_verbose(opts.verbose);
	if (main_load_config(&opts, &cfg)) {
		config_free(&cfg);
		return EXIT_USAGE;
	}
	status = run_vm(&cfg);
	config_free(&cfg);
	return status;
}
