/* test_config_job.c: the command-mode keys (command, env, workdir, timeout, root, mount, cache: immutable) from YAML and flags. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check_run.h"
#include "vmm/cli.h"
#include "vmm/config.h"

static char dir[] = "/tmp/microvm-test-config-job-XXXXXX";

static void need(bool ok, const char *what)
{
	if (!ok) {
		perror(what);
		exit(EXIT_FAILURE);
	}
}

static void touch(const char *name)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	need(f && fclose(f) == 0, path);
}

static void setup_dir(void)
{
	char path[256];

	need(mkdtemp(dir) != NULL, "mkdtemp");
	need(chdir(dir) == 0, "chdir");
	touch("vmlinuz");
	touch("initrd");
	snprintf(path, sizeof(path), "%s/share", dir);
	need(mkdir(path, 0755) == 0, path);
}

/* Parse text as "t.yaml" (relative paths: the cwd, our scratch dir), then validate. */
static int load(const char *text, struct vm_config *cfg, struct config_error *err)
{
	int r;

	config_init(cfg);
	r = config_load_string("t.yaml", text, strlen(text), cfg, err);
	if (r == 0)
		r = config_validate(cfg, err);
	return r;
}

#define BASE "kernel: vmlinuz\ninitrd: initrd\n"

START_TEST(test_full_job)
{
	struct config_error err = { "" };
	struct vm_config cfg;

	ck_assert_msg(load(BASE "command: [/usr/bin/python3, -c, 'print(1)']\n"
			   "env: {LANG: C.UTF-8, EMPTY: }\nworkdir: /scratch\ntimeout: 90s\n"
			   "root: rootfs\nshares:\n"
			   "  - {tag: rootfs, path: share, readonly: true, cache: immutable}\n"
			   "  - {tag: scratch, path: share, mount: /scratch}\n",
			   &cfg, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(cfg.command.n, 3);
	ck_assert_str_eq(cfg.command.v[0], "/usr/bin/python3");
	ck_assert_str_eq(cfg.command.v[2], "print(1)");
	ck_assert_ptr_null(cfg.command.v[3]);
	ck_assert_uint_eq(cfg.env.n, 2);
	ck_assert_str_eq(cfg.env.v[0], "LANG=C.UTF-8");
	ck_assert_str_eq(cfg.env.v[1], "EMPTY=");
	ck_assert_str_eq(cfg.workdir, "/scratch");
	ck_assert_uint_eq(cfg.timeout_ms, 90000);
	ck_assert_str_eq(cfg.root_tag, "rootfs");
	ck_assert_int_eq(cfg.shares[0].cache, CACHE_IMMUTABLE);
	ck_assert_ptr_null(cfg.shares[0].mount);
	ck_assert_str_eq(cfg.shares[1].mount, "/scratch");
	ck_assert(!cfg.console_set);
	config_free(&cfg);
}
END_TEST

START_TEST(test_env_list_and_scalar_command)
{
	struct config_error err = { "" };
	struct vm_config cfg;

	ck_assert_msg(load(BASE "command: /bin/true\nenv: [A=1, B=x=y]\ntimeout: 1500ms\n"
			   "console: none\n", &cfg, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(cfg.command.n, 1);
	ck_assert_str_eq(cfg.env.v[1], "B=x=y");
	ck_assert_uint_eq(cfg.timeout_ms, 1500);
	ck_assert(cfg.console_set);
	config_free(&cfg);
}
END_TEST

struct bad_case {
	const char *yaml;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	{ BASE "command: []\n", "t.yaml:3:10: command: the list is empty" },
	{ BASE "command: {a: b}\n", "t.yaml:3:10: command: expected a list of words, got a mapping" },
	{ BASE "command: [ls, [x]]\n", "t.yaml:3:15: command: expected a word, got a list" },
	{ BASE "command: [ls]\nenv: [NOEQUALS]\n",
	  "t.yaml:4:7: env: expected NAME=VALUE, got 'NOEQUALS'" },
	{ BASE "command: [ls]\nenv: [=x]\n", "t.yaml:4:7: env: expected NAME=VALUE, got '=x'" },
	{ BASE "command: [ls]\nenv: {'A=B': c}\n",
	  "t.yaml:4:7: env: a variable name cannot contain '='" },
	{ BASE "command: [ls]\nenv: x\n",
	  "t.yaml:4:6: env: expected a mapping NAME: VALUE or a list of NAME=VALUE" },
	{ BASE "command: [ls]\nworkdir: relative\n",
	  "t.yaml:4:10: workdir: expected an absolute path in the guest, got 'relative'" },
	{ BASE "command: [ls]\nworkdir: \"/a\\tb\"\n",
	  "t.yaml:4:10: workdir: a guest path cannot contain a TAB or a newline" },
	{ BASE "timeout: 0\n",
	  "t.yaml:3:10: timeout: expected a duration such as 30, 30s, 500ms, 2m or 1h (at most "
	  "a year), got '0'" },
	{ BASE "timeout: 5d\n",
	  "t.yaml:3:10: timeout: expected a duration such as 30, 30s, 500ms, 2m or 1h (at most "
	  "a year), got '5d'" },
	{ BASE "timeout: 9000h\n",
	  "t.yaml:3:10: timeout: expected a duration such as 30, 30s, 500ms, 2m or 1h (at most "
	  "a year), got '9000h'" },
	{ BASE "timeout: -5\n",
	  "t.yaml:3:10: timeout: expected a duration such as 30, 30s, 500ms, 2m or 1h (at most "
	  "a year), got '-5'" },
	{ BASE "command: [ls]\nroot: nosuch\nshares:\n  - {tag: a, path: share}\n",
	  "t.yaml:4:7: root: no share has the tag 'nosuch'" },
	{ BASE "root: a\nshares:\n  - {tag: a, path: share}\n",
	  "t.yaml:3:7: root: only used with a command (command: or words after --)" },
	{ BASE "command: [ls]\nroot: a\nshares:\n  - {tag: a, path: share, mount: /x}\n",
	  "t.yaml:6:34: shares[0].mount: the root share is mounted on /, not elsewhere" },
	{ BASE "shares:\n  - {tag: a, path: share, mount: /x}\n",
	  "t.yaml:4:34: shares[0].mount: only used with a command (command: or words after --)" },
	{ BASE "command: [ls]\nshares:\n  - {tag: a, path: share, mount: x}\n",
	  "t.yaml:5:34: shares[0].mount: expected an absolute path in the guest, got 'x'" },
	{ BASE "shares:\n  - {tag: a, path: share, cache: immutable}\n",
	  "t.yaml:4:34: shares[0].cache: immutable needs readonly: true (a writable share "
	  "changes under the guest's cache)" },
	{ "kernel: vmlinuz\ncommand: [ls]\n",
	  "t.yaml:2:10: a command needs an initrd with microvm-init (build one with "
	  "microvm-initramfs)" },
	{ BASE "workdir: /x\n",
	  "t.yaml:3:10: env and workdir are only used with a command (command: or words after "
	  "--)" },
	{ BASE "command: [ls]\nshares: [{tag: a, path: share}, {tag: b, path: share},\n"
	  "  {tag: c, path: share}, {tag: d, path: share}, {tag: e, path: share},\n"
	  "  {tag: f, path: share}, {tag: g, path: share}, {tag: h, path: share}]\n",
	  "t.yaml:3:10: with a command at most 7 shares are allowed (one virtio-mmio slot "
	  "carries its stdio)" },
};

START_TEST(test_bad_job)
{
	const struct bad_case *c = &bad_cases[_i];
	struct config_error err = { "" };
	struct vm_config cfg;

	ck_assert_msg(load(c->yaml, &cfg, &err) == -EINVAL, "case %d accepted", _i);
	ck_assert_str_eq(err.msg, c->msg);
	config_free(&cfg);
}
END_TEST

/* The words after -- replace command:, --env adds to env:, the rest replace their keys. */
START_TEST(test_cli_overrides)
{
	char *argv[] = { "microvm", "run", "--config", "vm.yaml", "--env", "B=2", "--workdir",
			 "/w", "--timeout", "2m", "--root", "r", "--", "sh", "-c", "exit 3", NULL };
	struct config_error err = { "" };
	struct cli_options opts;
	struct vm_config cfg;
	char msg[256];

	ck_assert_int_eq(cli_parse(16, argv, &opts, msg, sizeof(msg)), 0);
	ck_assert_msg(load(BASE "command: [ls]\nenv: [A=1]\nshares: [{tag: r, path: share}]\n",
			   &cfg, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(cli_apply_overrides(&opts, &cfg, &err), 0);
	ck_assert_msg(config_validate(&cfg, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(cfg.command.n, 3);
	ck_assert_str_eq(cfg.command.v[2], "exit 3");
	ck_assert_uint_eq(cfg.env.n, 2);
	ck_assert_str_eq(cfg.env.v[1], "B=2");
	ck_assert_str_eq(cfg.workdir, "/w");
	ck_assert_uint_eq(cfg.timeout_ms, 120000);
	ck_assert_str_eq(cfg.root_tag, "r");
	config_free(&cfg);
}
END_TEST

START_TEST(test_cli_bad_values)
{
	static const char *const cases[][3] = {
		{ "--env", "X", "--env: expected NAME=VALUE, got 'X'" },
		{ "--workdir", "w", "--workdir: expected an absolute path in the guest, got 'w'" },
		{ "--timeout", "soon", "--timeout: expected a duration such as 30, 30s, 500ms, 2m "
				       "or 1h (at most a year), got 'soon'" },
		{ "--root", "a b", "--root: " },
	};
	char *argv[] = { "microvm", "run", "--kernel", "vmlinuz", (char *)cases[_i][0],
			 (char *)cases[_i][1], NULL };
	struct config_error err = { "" };
	struct cli_options opts;
	struct vm_config cfg;
	char msg[256];

	ck_assert_int_eq(cli_parse(6, argv, &opts, msg, sizeof(msg)), 0);
	config_init(&cfg);
	ck_assert_int_eq(cli_apply_overrides(&opts, &cfg, &err), -EINVAL);
	ck_assert_msg(strncmp(err.msg, cases[_i][2], strlen(cases[_i][2])) == 0, "%s", err.msg);
	config_free(&cfg);
}
END_TEST

static Suite *job_suite(void)
{
	Suite *s = suite_create("config_job");
	TCase *tc = tcase_create("job");

	tcase_add_test(tc, test_full_job);
	tcase_add_test(tc, test_env_list_and_scalar_command);
	tcase_add_loop_test(tc, test_bad_job, 0, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, test_cli_overrides);
	tcase_add_loop_test(tc, test_cli_bad_values, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	char cmd[128];
	int status;

	setup_dir();
	status = check_run(job_suite());
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0) {
		/* A leftover scratch directory in /tmp is harmless. */
	}
	return status;
}
