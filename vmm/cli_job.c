/* cli_job.c: the command-line overrides of command mode: the words after --, --env, --workdir, --timeout, --root. */
#include <errno.h>
#include <stdio.h>
#include "cli.h"
#include "config_value.h"

static int job_fail(struct config_error *err, const char *flag, const char *why)
{
	snprintf(err->msg, sizeof(err->msg), "%s: %s", flag, why);
	return -EINVAL;
}

/* Words after "--" replace command: from the file; --env adds to env:. */
static int apply_lists(const struct cli_options *opts, struct vm_config *cfg,
		       struct config_error *err)
{
	struct config_why why;
	int i;

	if (opts->command_argc > 0) {
		config_strv_clear(&cfg->command);
		cfg->command_pos = (struct config_pos){ 0, 0 };
		for (i = 0; i < opts->command_argc; i++)
			if (config_strv_push(&cfg->command, opts->command_argv[i],
					     CONFIG_MAX_COMMAND_WORDS) < 0)
				return job_fail(err, "--", "too many words or out of memory");
	}
	for (i = 0; i < (int)opts->nenv; i++) {
		if (config_check_env(opts->env[i], &why) < 0)
			return job_fail(err, "--env", why.msg);
		if (config_strv_push(&cfg->env, opts->env[i], CONFIG_MAX_ENV) < 0)
			return job_fail(err, "--env", "too many entries or out of memory");
	}
	return 0;
}

int cli_apply_job(const struct cli_options *opts, struct vm_config *cfg, struct config_error *err)
{
	static const struct config_pos from_cli = { 0, 0 };
	struct config_why why;

	if (apply_lists(opts, cfg, err) < 0)
		return -EINVAL;
	if (opts->workdir) {
		if (config_check_guest_path(opts->workdir, &why) < 0)
			return job_fail(err, "--workdir", why.msg);
		if (config_set_string(&cfg->workdir, opts->workdir) < 0)
			return job_fail(err, "--workdir", "out of memory");
		cfg->workdir_pos = from_cli;
	}
	if (opts->timeout && config_parse_timeout(opts->timeout, &cfg->timeout_ms, &why) < 0)
		return job_fail(err, "--timeout", why.msg);
	if (opts->root) {
		if (config_check_tag(opts->root, &why) < 0)
			return job_fail(err, "--root", why.msg);
		if (config_set_string(&cfg->root_tag, opts->root) < 0)
			return job_fail(err, "--root", "out of memory");
		cfg->root_pos = from_cli;
	}
	return 0;
}
