/* test_config.c: YAML configs good and bad, size parsing, the command line and overrides. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "vmm/cli.h"
#include "vmm/config.h"

/* Scratch directory with the files configs refer to; "@D@" in a case stands for it. */
static char tmpdir[] = "/tmp/microvm-test-config-XXXXXX";

/* Setup runs outside any test, where ck_assert cannot report: fail loudly instead. */
static void need(bool ok, const char *what)
{
	if (!ok) {
		perror(what);
		exit(EXIT_FAILURE);
	}
}

static char *expand(const char *tmpl)
{
	size_t dlen = strlen(tmpdir), n = 0;
	const char *p;
	char *out, *o;

	for (p = strstr(tmpl, "@D@"); p; p = strstr(p + 3, "@D@"))
		n++;
	out = malloc(strlen(tmpl) + n * dlen + 1);
	need(out != NULL, "malloc");
	for (o = out, p = tmpl; *p;) {
		if (strncmp(p, "@D@", 3) == 0) {
			memcpy(o, tmpdir, dlen);
			o += dlen;
			p += 3;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

static void write_file(const char *name, const char *text)
{
	char *path = expand(name);
	FILE *f = fopen(path, "w");

	char *body = expand(text);

	need(f != NULL, path);
	fputs(body, f);
	free(body);
	need(fclose(f) == 0, path);
	free(path);
}

static void make_dir(const char *name)
{
	char *path = expand(name);

	need(mkdir(path, 0755) == 0, path);
	free(path);
}

/* Load a template as "t.yaml", then validate the whole config as main does. */
static int load_and_validate(const char *tmpl, struct vm_config *cfg, struct config_error *err)
{
	char *text = expand(tmpl);
	int r;

	config_init(cfg);
	r = config_load_string("t.yaml", text, strlen(text), cfg, err);
	if (r == 0)
		r = config_validate(cfg, err);
	free(text);
	return r;
}

/* ---- good configs ---- */

struct want_share {
	const char *tag, *path;
	unsigned queues;
	bool readonly;
	enum cache_mode cache;
	uint64_t dax;
	bool not_on_vcpu; /* serve_on_vcpu: false (the default is true) */
};

struct good_case {
	const char *yaml;
	unsigned vcpus;
	uint64_t memory;
	const char *initrd; /* NULL: none */
	const char *cmdline;
	enum console_kind console;
	const char *console_path;
	unsigned nshares;
	struct want_share share[2]; /* first two shares checked */
};

#define K "kernel: @D@/vmlinuz\n"
#define DEF_MEM CONFIG_DEFAULT_MEMORY
#define DEF_CMD CONFIG_DEFAULT_CMDLINE
#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static const struct good_case good_cases[] = {
	{ K, 1, DEF_MEM, NULL, DEF_CMD, CONSOLE_STDIO, NULL, 0, { { 0 } } },
	{ "vcpus: 4\nmemory: 1G\n" K "initrd: @D@/initrd.img\ncmdline: \"console=ttyS0\"\n"
	  "console: none\n",
	  4, GIB, "@D@/initrd.img", "console=ttyS0", CONSOLE_NONE, NULL, 0, { { 0 } } },
	{ K "memory: 536870912\n", 1, 512 * MIB, NULL, DEF_CMD, CONSOLE_STDIO, NULL, 0, { { 0 } } },
	{ K "memory: 4G\n", 1, 4 * GIB, NULL, DEF_CMD, CONSOLE_STDIO, NULL, 0, { { 0 } } },
	{ K "memory: 512m\n", 1, 512 * MIB, NULL, DEF_CMD, CONSOLE_STDIO, NULL, 0, { { 0 } } },
	{ K "memory: 32M\nvcpus: 64\n", 64, 32 * MIB, NULL, DEF_CMD, CONSOLE_STDIO, NULL, 0,
	  { { 0 } } },
	{ K "memory: 1T\n", 1, 1024 * GIB, NULL, DEF_CMD, CONSOLE_STDIO, NULL, 0, { { 0 } } },
	{ K "memory: 262144K\n", 1, 256 * MIB, NULL, DEF_CMD, CONSOLE_STDIO, NULL, 0, { { 0 } } },
	{ K "console: {file: @D@/log}\n", 1, DEF_MEM, NULL, DEF_CMD, CONSOLE_FILE, "@D@/log", 0,
	  { { 0 } } },
	{ K "console:\n  file: @D@/log\n", 1, DEF_MEM, NULL, DEF_CMD, CONSOLE_FILE, "@D@/log", 0,
	  { { 0 } } },
	{ K "console: file:@D@/log\n", 1, DEF_MEM, NULL, DEF_CMD, CONSOLE_FILE, "@D@/log", 0,
	  { { 0 } } },
	{ K "console: stdio\n", 1, DEF_MEM, NULL, DEF_CMD, CONSOLE_STDIO, NULL, 0, { { 0 } } },
	{ "{kernel: @D@/vmlinuz, vcpus: 2}", 2, DEF_MEM, NULL, DEF_CMD, CONSOLE_STDIO, NULL, 0,
	  { { 0 } } },
	{ K "initrd: ~\n", 1, DEF_MEM, NULL, DEF_CMD, CONSOLE_STDIO, NULL, 0, { { 0 } } },
	{ K "initrd:\n", 1, DEF_MEM, NULL, DEF_CMD, CONSOLE_STDIO, NULL, 0, { { 0 } } },
	{ K "vcpus: \"3\"\nmemory: '64M'\n", 3, 64 * MIB, NULL, DEF_CMD, CONSOLE_STDIO, NULL, 0,
	  { { 0 } } },
	{ K "cmdline: \"\"\n", 1, DEF_MEM, NULL, "", CONSOLE_STDIO, NULL, 0, { { 0 } } },
	{ "# a comment\n---\n" K "# another\n...\n", 1, DEF_MEM, NULL, DEF_CMD, CONSOLE_STDIO,
	  NULL, 0, { { 0 } } },
	{ "kernel: &k @D@/vmlinuz\ninitrd: *k\n", 1, DEF_MEM, "@D@/vmlinuz", DEF_CMD,
	  CONSOLE_STDIO, NULL, 0, { { 0 } } },
	{ K "shares:\n", 1, DEF_MEM, NULL, DEF_CMD, CONSOLE_STDIO, NULL, 0, { { 0 } } },
	{ K "shares: []\n", 1, DEF_MEM, NULL, DEF_CMD, CONSOLE_STDIO, NULL, 0, { { 0 } } },
	{ K "shares:\n  - tag: work\n    path: @D@/share\n", 1, DEF_MEM, NULL, DEF_CMD,
	  CONSOLE_STDIO, NULL, 1, { { "work", "@D@/share", 1, false, CACHE_AUTO, 0, false } } },
	{ K "shares:\n"
	    "  - tag: work\n    path: @D@/share\n    queues: 16\n    readonly: yes\n"
	    "    cache: never\n    dax_window: 2M\n"
	    "  - {tag: other, path: @D@/share2, queues: 2, readonly: false, cache: always,\n"
	    "     dax_window: 1G}\n",
	  1, DEF_MEM, NULL, DEF_CMD, CONSOLE_STDIO, NULL, 2,
	  { { "work", "@D@/share", 16, true, CACHE_NEVER, 2 * MIB, false },
	    { "other", "@D@/share2", 2, false, CACHE_ALWAYS, GIB, false } } },
	{ K "shares:\n  - {tag: a, path: @D@/share, readonly: TRUE, dax_window: 0,\n"
	    "     serve_on_vcpu: yes}\n"
	    "  - {tag: b, path: @D@/share, readonly: No, serve_on_vcpu: false}\n",
	  1, DEF_MEM, NULL, DEF_CMD, CONSOLE_STDIO, NULL, 2,
	  { { "a", "@D@/share", 1, true, CACHE_AUTO, 0, false },
	    { "b", "@D@/share", 1, false, CACHE_AUTO, 0, true } } },
	{ K "shares:\n  - {tag: 0123456789abcdef0123456789abcdef0123, path: @D@/share,\n"
	    "     dax_window: 64G}\n",
	  1, DEF_MEM, NULL, DEF_CMD, CONSOLE_STDIO, NULL, 1,
	  { { "0123456789abcdef0123456789abcdef0123", "@D@/share", 1, false, CACHE_AUTO,
	      64 * GIB, false } } },
	{ K "shares:\n  - {tag: s0, path: @D@/share}\n  - {tag: s1, path: @D@/share}\n"
	    "  - {tag: s2, path: @D@/share}\n  - {tag: s3, path: @D@/share}\n"
	    "  - {tag: s4, path: @D@/share}\n  - {tag: s5, path: @D@/share}\n"
	    "  - {tag: s6, path: @D@/share}\n  - {tag: s7, path: @D@/share}\n",
	  1, DEF_MEM, NULL, DEF_CMD, CONSOLE_STDIO, NULL, 8,
	  { { "s0", "@D@/share", 1, false, CACHE_AUTO, 0, false },
	    { "s1", "@D@/share", 1, false, CACHE_AUTO, 0, false } } },
};

static void check_str(const char *got, const char *tmpl)
{
	char *want;

	if (!tmpl) {
		ck_assert_ptr_null(got);
		return;
	}
	want = expand(tmpl);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	free(want);
}

static void check_share(const struct share_config *got, const struct want_share *want)
{
	check_str(got->tag, want->tag);
	check_str(got->path, want->path);
	ck_assert_uint_eq(got->queues, want->queues);
	ck_assert_int_eq(got->readonly, want->readonly);
	ck_assert_int_eq(got->cache, want->cache);
	ck_assert_uint_eq(got->dax_window, want->dax);
	ck_assert_int_eq(got->serve_on_vcpu, !want->not_on_vcpu);
}

START_TEST(test_good_config)
{
	const struct good_case *c = &good_cases[_i];
	struct config_error err = { "" };
	struct vm_config cfg;
	unsigned i;

	ck_assert_msg(load_and_validate(c->yaml, &cfg, &err) == 0, "case %d: %s", _i, err.msg);
	ck_assert_str_eq(cfg.source, "t.yaml");
	ck_assert_uint_eq(cfg.vcpus, c->vcpus);
	ck_assert_uint_eq(cfg.memory_bytes, c->memory);
	check_str(cfg.kernel, "@D@/vmlinuz");
	check_str(cfg.initrd, c->initrd);
	check_str(cfg.cmdline, c->cmdline);
	ck_assert_int_eq(cfg.console, c->console);
	check_str(cfg.console_path, c->console_path);
	ck_assert_uint_eq(cfg.nshares, c->nshares);
	for (i = 0; i < c->nshares && i < 2; i++)
		check_share(&cfg.shares[i], &c->share[i]);
	config_free(&cfg);
	config_free(&cfg); /* idempotent */
	ck_assert_ptr_null(cfg.kernel);
}
END_TEST

/* ---- bad configs: the exact message, position included ---- */

struct bad_case {
	const char *yaml;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	/* document shape */
	{ "", "t.yaml:1:1: the file is empty; at least 'kernel: PATH' is required" },
	{ "# only a comment\n", "t.yaml:1:1: the file is empty; at least 'kernel: PATH' is required" },
	{ "- a\n- b\n", "t.yaml:1:1: expected a mapping of keys such as 'kernel: PATH', got a list" },
	{ "\n  just text\n",
	  "t.yaml:2:3: expected a mapping of keys such as 'kernel: PATH', got a scalar" },
	{ K "---\nvcpus: 2\n", "t.yaml:3:1: only one YAML document is allowed" },
	{ "vcpus: 2\n", "t.yaml:1:1: missing required key 'kernel'" },
	{ "# c\n\n  vcpus: 2\n", "t.yaml:3:3: missing required key 'kernel'" },
	/* YAML syntax, with libyaml's own words */
	{ "vcpus: [1, 2\n", "t.yaml:2:1: did not find expected ',' or ']' (while parsing a flow "
			    "sequence at line 1, column 8)" },
	{ "a: b: c\n", "t.yaml:1:5: mapping values are not allowed in this context" },
	{ "kernel: \"abc\n", "t.yaml:2:1: found unexpected end of stream (while scanning a quoted "
			     "scalar at line 1, column 9)" },
	{ "vcpus: 2\n\tkernel: x\n", "t.yaml:2:1: found a tab character that violates indentation "
				      "(while scanning a plain scalar at line 1, column 8)" },
	{ "\tkernel: x\n", "t.yaml:1:1: found character that cannot start any token (while "
			   "scanning for the next token at line 1, column 1)" },
	{ "kernel: \xff\xfe\n", "t.yaml:1:9: invalid leading UTF-8 octet" },
	{ "kernel: *nothing\n", "t.yaml:1:9: found undefined alias" },
	/* keys */
	{ K "vcpu: 2\n", "t.yaml:2:1: unknown key 'vcpu'" },
	{ K "k\xc3\xa9y: 2\n", "t.yaml:2:1: unknown key 'k??y'" },
	{ "vcpus: 1\n" K "vcpus: 2\n", "t.yaml:3:1: duplicate key 'vcpus' (first at line 1)" },
	{ "{kernel: /x, kernel: @D@/vmlinuz}",
	  "t.yaml:1:14: duplicate key 'kernel' (first at line 1)" },
	{ K "? [a]\n: 1\n", "t.yaml:2:3: keys must be plain words, got a list" },
	/* vcpus */
	{ K "vcpus: abc\n", "t.yaml:2:8: vcpus: expected an integer 1..64, got 'abc'" },
	{ K "vcpus: 0\n", "t.yaml:2:8: vcpus: 0 is out of range 1..64" },
	{ K "vcpus: 65\n", "t.yaml:2:8: vcpus: 65 is out of range 1..64" },
	{ K "vcpus: -1\n", "t.yaml:2:8: vcpus: expected an integer 1..64, got '-1'" },
	{ K "vcpus: 0x2\n", "t.yaml:2:8: vcpus: expected an integer 1..64, got '0x2'" },
	{ K "vcpus: 99999999999999999999999\n",
	  "t.yaml:2:8: vcpus: expected an integer 1..64, got '99999999999999999999999'" },
	{ K "vcpus: [1]\n", "t.yaml:2:8: vcpus: expected an integer, got a list" },
	{ K "vcpus:\n  a: 1\n", "t.yaml:3:3: vcpus: expected an integer, got a mapping" },
	{ K "vcpus:\n", "t.yaml:2:7: vcpus: expected an integer, got an empty value" },
	/* memory */
	{ K "memory: 16M\n", "t.yaml:2:9: memory: 16M is out of range 32M..1T" },
	{ K "memory: 2T\n", "t.yaml:2:9: memory: 2T is out of range 32M..1T" },
	{ K "memory: 12X\n", "t.yaml:2:9: memory: expected a size such as 512M or 2G, got '12X'" },
	{ K "memory: 1.5G\n", "t.yaml:2:9: memory: expected a size such as 512M or 2G, got '1.5G'" },
	{ K "memory: 512MiB\n",
	  "t.yaml:2:9: memory: expected a size such as 512M or 2G, got '512MiB'" },
	{ K "memory: 33554433\n", "t.yaml:2:9: memory: 33554433 is not a multiple of 4K" },
	{ K "memory: 99999999999T\n",
	  "t.yaml:2:9: memory: expected a size such as 512M or 2G, got '99999999999T'" },
	{ K "memory: {a: 1}\n", "t.yaml:2:9: memory: expected a size, got a mapping" },
	/* paths */
	{ "kernel: /nonexistent/vmlinuz\n",
	  "t.yaml:1:9: kernel: /nonexistent/vmlinuz: No such file or directory" },
	{ "kernel: @D@\n", "t.yaml:1:9: kernel: @D@: not a regular file" },
	{ "kernel: \"\"\n", "t.yaml:1:9: kernel: expected a path, got an empty string" },
	{ "kernel: [a]\n", "t.yaml:1:9: kernel: expected a path, got a list" },
	{ "kernel: \"@D@/vmlinuz\\0x\"\n", "t.yaml:1:9: kernel: contains a NUL byte" },
	{ "kernel: \"/no\\tpe\"\n", "t.yaml:1:9: kernel: /no?pe: No such file or directory" },
	{ K "initrd: @D@/missing.img\n",
	  "t.yaml:2:9: initrd: @D@/missing.img: No such file or directory" },
	{ K "initrd: @D@/share\n", "t.yaml:2:9: initrd: @D@/share: not a regular file" },
	/* cmdline */
	{ K "cmdline: {a: b}\n", "t.yaml:2:10: cmdline: expected a string, got a mapping" },
	/* console */
	{ K "console: serial\n",
	  "t.yaml:2:10: console: expected stdio, none or file:PATH, got 'serial'" },
	{ K "console: \"file:\"\n",
	  "t.yaml:2:10: console: file: needs a path, as in file:/var/log/vm.log" },
	{ K "console: {path: x}\n", "t.yaml:2:10: console: missing required key 'file'" },
	{ K "console: {file: x, mode: y}\n", "t.yaml:2:20: console: unknown key 'mode'" },
	{ K "console: {file: [x]}\n", "t.yaml:2:17: console.file: expected a path, got a list" },
	{ K "console: [stdio]\n",
	  "t.yaml:2:10: console: expected stdio, none, file:PATH or a mapping, got a list" },
	{ K "console: {file: /nonexistent/dir/log}\n",
	  "t.yaml:2:17: console: /nonexistent/dir/log: No such file or directory" },
	{ K "console: file:@D@/share\n", "t.yaml:2:10: console: @D@/share: is a directory" },
	/* shares */
	{ K "shares: work\n", "t.yaml:2:9: shares: expected a list, got a scalar" },
	{ K "shares: {tag: a}\n", "t.yaml:2:9: shares: expected a list, got a mapping" },
	{ K "shares:\n  - work\n",
	  "t.yaml:3:5: shares[0]: expected a mapping with tag and path, got a scalar" },
	{ K "shares:\n  - path: @D@/share\n", "t.yaml:3:5: shares[0]: missing required key 'tag'" },
	{ K "shares:\n  - {tag: a, path: @D@/share}\n  - {tag: b}\n",
	  "t.yaml:4:5: shares[1]: missing required key 'path'" },
	{ K "shares:\n  - tag: a\n    path: @D@/share\n    size: 1\n",
	  "t.yaml:5:5: shares[0]: unknown key 'size'" },
	{ K "shares:\n  - tag: a\n    path: @D@/share\n    tag: b\n",
	  "t.yaml:5:5: shares[0]: duplicate key 'tag' (first at line 3)" },
	{ K "shares:\n  - tag: a\n    path: @D@/share\n  - tag: a\n    path: @D@/share\n",
	  "t.yaml:5:10: shares[1].tag: duplicate tag 'a' (first at line 3)" },
	{ K "shares:\n  - {tag: 0123456789abcdef0123456789abcdef01234, path: @D@/share}\n",
	  "t.yaml:3:11: shares[0].tag: must be 1..36 bytes long, got 37" },
	{ K "shares:\n  - {tag: \"\", path: @D@/share}\n",
	  "t.yaml:3:11: shares[0].tag: must be 1..36 bytes long, got 0" },
	{ K "shares:\n  - {tag: \"a b\", path: @D@/share}\n",
	  "t.yaml:3:11: shares[0].tag: 'a b' may only contain printable ASCII other than space" },
	{ K "shares:\n  - {tag: a, queues: 0, path: @D@/share}\n",
	  "t.yaml:3:22: shares[0].queues: 0 is out of range 1..16" },
	{ K "shares:\n  - {tag: a, queues: 17, path: @D@/share}\n",
	  "t.yaml:3:22: shares[0].queues: 17 is out of range 1..16" },
	{ K "shares:\n  - {tag: a, queues: many, path: @D@/share}\n",
	  "t.yaml:3:22: shares[0].queues: expected an integer 1..16, got 'many'" },
	{ K "shares:\n  - {tag: a, readonly: maybe, path: @D@/share}\n",
	  "t.yaml:3:24: shares[0].readonly: expected true, false, yes or no, got 'maybe'" },
	{ K "shares:\n  - {tag: a, readonly: {x: 1}, path: @D@/share}\n",
	  "t.yaml:3:24: shares[0].readonly: expected true or false, got a mapping" },
	{ K "shares:\n  - {tag: a, serve_on_vcpu: often, path: @D@/share}\n",
	  "t.yaml:3:29: shares[0].serve_on_vcpu: expected true, false, yes or no, got 'often'" },
	{ K "shares:\n  - {tag: a, cache: sometimes, path: @D@/share}\n",
	  "t.yaml:3:21: shares[0].cache: expected never, auto, always or immutable, got 'sometimes'" },
	{ K "shares:\n  - {tag: a, dax_window: 3M, path: @D@/share}\n",
	  "t.yaml:3:26: shares[0].dax_window: 3M is not a multiple of 2M" },
	{ K "shares:\n  - {tag: a, dax_window: 128G, path: @D@/share}\n",
	  "t.yaml:3:26: shares[0].dax_window: 128G is larger than 64G" },
	{ K "shares:\n  - {tag: a, dax_window: lots, path: @D@/share}\n",
	  "t.yaml:3:26: shares[0].dax_window: expected a size such as 0, 2M or 1G, got 'lots'" },
	{ K "shares:\n  - {tag: a, path: /nonexistent}\n",
	  "t.yaml:3:20: shares[0].path: /nonexistent: No such file or directory" },
	{ K "shares:\n  - {tag: a, path: @D@/vmlinuz}\n",
	  "t.yaml:3:20: shares[0].path: @D@/vmlinuz: not a directory" },
	{ K "shares: [{tag: a, path: /}, {tag: b, path: /}, {tag: c, path: /},\n"
	    "  {tag: d, path: /}, {tag: e, path: /}, {tag: f, path: /}, {tag: g, path: /},\n"
	    "  {tag: h, path: /}, {tag: i, path: /}]\n",
	  "t.yaml:4:22: shares: at most 8 shares are allowed" },
};

START_TEST(test_bad_config)
{
	const struct bad_case *c = &bad_cases[_i];
	struct config_error err = { "" };
	struct vm_config cfg;
	char *want = expand(c->msg);

	ck_assert_msg(load_and_validate(c->yaml, &cfg, &err) == -EINVAL, "case %d accepted", _i);
	ck_assert_str_eq(err.msg, want);
	free(want);
	config_free(&cfg);
}
END_TEST

START_TEST(test_cmdline_too_long)
{
	size_t n = 70000;
	char *text = malloc(n + 32);
	struct config_error err;
	struct vm_config cfg;

	ck_assert_ptr_nonnull(text);
	strcpy(text, "cmdline: ");
	memset(text + 9, 'x', n);
	strcpy(text + 9 + n, "\n");
	config_init(&cfg);
	ck_assert_int_eq(config_load_string("t.yaml", text, strlen(text), &cfg, &err), -EINVAL);
	ck_assert_str_eq(err.msg,
			 "t.yaml:1:10: cmdline: is 70000 bytes long, at most 65535 are allowed");
	config_free(&cfg);
	free(text);
}
END_TEST

/* len bounds the text: bytes after it are never read, and no NUL is needed. */
START_TEST(test_string_length_bounds_text)
{
	char *text = expand("kernel: @D@/vmlinuzGARBAGE");
	struct config_error err = { "" };
	struct vm_config cfg;

	config_init(&cfg);
	ck_assert_int_eq(config_load_string("t.yaml", text, strlen(text) - 7, &cfg, &err), 0);
	check_str(cfg.kernel, "@D@/vmlinuz");
	config_free(&cfg);
	free(text);
}
END_TEST

/* Every prefix of a full config either parses or fails with a positioned message. */
START_TEST(test_truncated_configs)
{
	char *text = expand(good_cases[22].yaml);
	size_t len = strlen(text), n;

	for (n = 0; n <= len; n++) {
		struct config_error err = { "" };
		struct vm_config cfg;
		int r;

		config_init(&cfg);
		r = config_load_string("t.yaml", text, n, &cfg, &err);
		ck_assert(r == 0 || r == -EINVAL);
		if (r)
			ck_assert_msg(strncmp(err.msg, "t.yaml:", 7) == 0, "%zu: %s", n, err.msg);
		config_free(&cfg);
	}
	free(text);
}
END_TEST

/* ---- sizes ---- */

static const struct {
	const char *text;
	int ret;
	uint64_t bytes;
} size_cases[] = {
	{ "0", 0, 0 },
	{ "4096", 0, 4096 },
	{ "4K", 0, 4096 },
	{ "4k", 0, 4096 },
	{ "512M", 0, 512ULL << 20 },
	{ "2G", 0, 2ULL << 30 },
	{ "1T", 0, 1ULL << 40 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "16777215T", 0, 16777215ULL << 40 },
	{ "18446744073709551616", -EINVAL, 0 },
	{ "16777216T", -EINVAL, 0 },
	{ "", -EINVAL, 0 },
	{ "M", -EINVAL, 0 },
	{ "12X", -EINVAL, 0 },
	{ "-1", -EINVAL, 0 },
	{ "+1", -EINVAL, 0 },
	{ " 1", -EINVAL, 0 },
	{ "1 ", -EINVAL, 0 },
	{ "1.5G", -EINVAL, 0 },
	{ "1GG", -EINVAL, 0 },
	{ "1MB", -EINVAL, 0 },
	{ "0x10", -EINVAL, 0 },
	{ "123456789012345678901234567890123", -EINVAL, 0 },
};

START_TEST(test_parse_size)
{
	uint64_t bytes = 12345;

	ck_assert_msg(config_parse_size(size_cases[_i].text, &bytes) == size_cases[_i].ret,
		      "'%s'", size_cases[_i].text);
	if (size_cases[_i].ret == 0)
		ck_assert_uint_eq(bytes, size_cases[_i].bytes);
	else
		ck_assert_uint_eq(bytes, 12345); /* untouched on error */
}
END_TEST

/* ---- files: relative paths, names in messages ---- */

static int load_file(const char *name, struct vm_config *cfg, struct config_error *err)
{
	char *path = expand(name);
	int r;

	config_init(cfg);
	r = config_load_file(path, cfg, err);
	free(path);
	return r;
}

START_TEST(test_file_relative_paths)
{
	struct config_error err = { "" };
	struct vm_config cfg;

	write_file("@D@/sub/vm.yaml", "kernel: ../vmlinuz\ninitrd: ../initrd.img\n"
				      "console: {file: console.log}\n"
				      "shares: [{tag: a, path: ../share}, {tag: b, path: /}]\n");
	ck_assert_int_eq(load_file("@D@/sub/vm.yaml", &cfg, &err), 0);
	check_str(cfg.source, "@D@/sub/vm.yaml");
	check_str(cfg.kernel, "@D@/sub/../vmlinuz");
	check_str(cfg.initrd, "@D@/sub/../initrd.img");
	check_str(cfg.console_path, "@D@/sub/console.log");
	check_str(cfg.shares[0].path, "@D@/sub/../share");
	check_str(cfg.shares[1].path, "/");
	ck_assert_int_eq(config_validate(&cfg, &err), 0);
	config_free(&cfg);
}
END_TEST

START_TEST(test_file_relative_to_cwd_dir)
{
	struct config_error err = { "" };
	struct vm_config cfg;
	char cwd[4096];

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	write_file("@D@/sub/here.yaml", "kernel: ../vmlinuz\n");
	ck_assert_int_eq(chdir(tmpdir), 0);
	config_init(&cfg);
	ck_assert_int_eq(config_load_file("sub/here.yaml", &cfg, &err), 0);
	ck_assert_str_eq(cfg.kernel, "sub/../vmlinuz");
	ck_assert_int_eq(config_validate(&cfg, &err), 0);
	config_free(&cfg);
	ck_assert_int_eq(chdir("sub"), 0);
	config_init(&cfg);
	ck_assert_int_eq(config_load_file("here.yaml", &cfg, &err), 0);
	ck_assert_str_eq(cfg.kernel, "../vmlinuz"); /* no directory part: as written */
	config_free(&cfg);
	ck_assert_int_eq(chdir(cwd), 0); /* CK_FORK=no runs every test in this process */
}
END_TEST

START_TEST(test_string_paths_as_written)
{
	struct config_error err = { "" };
	struct vm_config cfg;

	config_init(&cfg);
	ck_assert_int_eq(config_load_string("dir/t.yaml", "kernel: vmlinuz", 15, &cfg, &err), 0);
	ck_assert_str_eq(cfg.kernel, "vmlinuz");
	config_free(&cfg);
}
END_TEST

START_TEST(test_file_errors_name_file)
{
	struct config_error err = { "" };
	struct vm_config cfg;
	char *want;

	write_file("@D@/bad.yaml", "kernel: @D@/vmlinuz\nmemory: lots\n");
	ck_assert_int_eq(load_file("@D@/bad.yaml", &cfg, &err), -EINVAL);
	want = expand("@D@/bad.yaml:2:9: memory: expected a size such as 512M or 2G, got 'lots'");
	ck_assert_str_eq(err.msg, want);
	free(want);
	config_free(&cfg);

	ck_assert_int_eq(load_file("@D@/none.yaml", &cfg, &err), -ENOENT);
	want = expand("@D@/none.yaml: No such file or directory");
	ck_assert_str_eq(err.msg, want);
	free(want);
	config_free(&cfg);

	ck_assert_int_eq(load_file("@D@/share", &cfg, &err), -EINVAL);
	want = expand("@D@/share: not a regular file of at most 1048576 bytes");
	ck_assert_str_eq(err.msg, want);
	free(want);
	config_free(&cfg);
}
END_TEST

START_TEST(test_missing_kernel_without_file)
{
	struct config_error err = { "" };
	struct vm_config cfg;

	config_init(&cfg);
	ck_assert_int_eq(config_validate(&cfg, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "no kernel: give --kernel PATH or 'kernel:' in the --config file");
}
END_TEST

START_TEST(test_defaults)
{
	struct vm_config cfg;

	config_init(&cfg);
	ck_assert_uint_eq(cfg.vcpus, CONFIG_DEFAULT_VCPUS);
	ck_assert_uint_eq(cfg.memory_bytes, CONFIG_DEFAULT_MEMORY);
	ck_assert_str_eq(cfg.cmdline, CONFIG_DEFAULT_CMDLINE);
	ck_assert_int_eq(cfg.console, CONSOLE_STDIO);
	ck_assert_ptr_null(cfg.kernel);
	ck_assert_ptr_null(cfg.initrd);
	ck_assert_ptr_null(cfg.source);
	ck_assert_uint_eq(cfg.nshares, 0);
	config_free(&cfg); /* the default command line is not heap memory */
}
END_TEST

/* The shipped examples stay valid (their kernel and initrd may be absent here). */
START_TEST(test_example_configs)
{
	static const char *const names[] = { "configs/minimal.yaml", "configs/share.yaml" };
	const char *srcdir = getenv("top_srcdir");
	struct config_error err = { "" };
	struct vm_config cfg;
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", srcdir ? srcdir : ".", names[_i]);
	config_init(&cfg);
	ck_assert_msg(config_load_file(path, &cfg, &err) == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(cfg.kernel);
	if (_i == 1) {
		ck_assert_uint_eq(cfg.nshares, 2);
		ck_assert_str_eq(cfg.shares[1].tag, "docs");
		ck_assert_uint_eq(cfg.shares[0].queues, 2);
		ck_assert_uint_eq(cfg.shares[1].cache, CACHE_ALWAYS);
		ck_assert(cfg.shares[1].readonly);
	}
	config_free(&cfg);
}
END_TEST

/* ---- command line ---- */

#define MAX_ARGS 16

struct cli_good {
	const char *argv[MAX_ARGS]; /* after "microvm", NULL-terminated */
	enum cli_action action;
	const char *config, *kernel, *initrd, *cmdline, *memory, *vcpus, *console;
	int verbose;
	int command_argc;
	const char *command0;
};

static const struct cli_good cli_good_cases[] = {
	{ { "run", "--kernel", "k" }, CLI_RUN, NULL, "k", NULL, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ { "run", "--config", "vm.yaml" }, CLI_RUN, "vm.yaml", NULL, NULL, NULL, NULL, NULL, NULL,
	  0, 0, NULL },
	{ { "run", "--config=vm.yaml", "--kernel=k", "--initrd", "i", "--cmdline", "a b",
	    "--memory", "1G", "--vcpus", "2", "--console", "none", "-v" },
	  CLI_RUN, "vm.yaml", "k", "i", "a b", "1G", "2", "none", 1, 0, NULL },
	{ { "run", "--kernel", "k", "--verbose", "--console=file:/tmp/log" }, CLI_RUN, NULL, "k",
	  NULL, NULL, NULL, NULL, "file:/tmp/log", 1, 0, NULL },
	{ { "-v", "run", "--kernel", "k" }, CLI_RUN, NULL, "k", NULL, NULL, NULL, NULL, NULL, 1, 0,
	  NULL },
	{ { "run", "--kernel", "a", "--kernel", "b" }, CLI_RUN, NULL, "b", NULL, NULL, NULL, NULL,
	  NULL, 0, 0, NULL },
	{ { "run", "--kernel", "k", "--", "/bin/sh", "-c", "echo hi" }, CLI_RUN, NULL, "k", NULL,
	  NULL, NULL, NULL, NULL, 0, 3, "/bin/sh" },
	{ { "run", "--kernel", "k", "--", "--vcpus", "9" }, CLI_RUN, NULL, "k", NULL, NULL, NULL,
	  NULL, NULL, 0, 2, "--vcpus" },
	{ { "run", "--kernel", "k", "--" }, CLI_RUN, NULL, "k", NULL, NULL, NULL, NULL, NULL, 0, 0,
	  NULL },
	/* "--" as an option's argument is not the separator */
	{ { "run", "--kernel", "k", "--cmdline", "--" }, CLI_RUN, NULL, "k", NULL, "--", NULL, NULL,
	  NULL, 0, 0, NULL },
	{ { "run", "--cmdline", "--", "--kernel", "k" }, CLI_RUN, NULL, "k", NULL, "--", NULL, NULL,
	  NULL, 0, 0, NULL },
	{ { "--help" }, CLI_HELP, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ { "-h" }, CLI_HELP, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ { "help" }, CLI_HELP, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ { "run", "--help" }, CLI_HELP, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ { "--version" }, CLI_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ { "-V" }, CLI_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ { "--version", "bogus" }, CLI_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0,
	  NULL },
};

/* getopt may permute argv, so each parse gets a fresh copy. */
static int parse_args(const char *const *args, struct cli_options *opts, char **argv,
		      char *err, size_t errlen)
{
	int argc = 1;

	argv[0] = (char *)"microvm";
	while (args[argc - 1]) {
		argv[argc] = (char *)args[argc - 1];
		argc++;
	}
	argv[argc] = NULL;
	return cli_parse(argc, argv, opts, err, errlen);
}

static void check_opt(const char *got, const char *want)
{
	if (want)
		ck_assert_str_eq(got, want);
	else
		ck_assert_ptr_null(got);
}

START_TEST(test_cli_good)
{
	const struct cli_good *c = &cli_good_cases[_i];
	char *argv[MAX_ARGS + 2], err[256] = "";
	struct cli_options o;

	ck_assert_msg(parse_args(c->argv, &o, argv, err, sizeof(err)) == 0, "%d: %s", _i, err);
	ck_assert_int_eq(o.action, c->action);
	check_opt(o.config_path, c->config);
	check_opt(o.kernel, c->kernel);
	check_opt(o.initrd, c->initrd);
	check_opt(o.cmdline, c->cmdline);
	check_opt(o.memory, c->memory);
	check_opt(o.vcpus, c->vcpus);
	check_opt(o.console, c->console);
	ck_assert_int_eq(o.verbose, c->verbose);
	ck_assert_int_eq(o.command_argc, c->command_argc);
	if (c->command0) {
		ck_assert_str_eq(o.command_argv[0], c->command0);
		ck_assert_ptr_null(o.command_argv[o.command_argc]);
	} else {
		ck_assert_ptr_null(o.command_argv);
	}
}
END_TEST

static const struct {
	const char *argv[MAX_ARGS];
	const char *msg;
} cli_bad_cases[] = {
	{ { NULL }, "missing command" },
	{ { "-v" }, "missing command" },
	{ { "start" }, "unknown command 'start'" },
	{ { "--foo" }, "unknown option '--foo'" },
	{ { "-x" }, "unknown option '-x'" },
	{ { "--kernel", "k", "run" }, "unknown option '--kernel'" },
	{ { "run" }, "run: --kernel is required without --config" },
	{ { "run", "-v", "--initrd", "i" }, "run: --kernel is required without --config" },
	{ { "run", "--kernel" }, "option '--kernel' requires an argument" },
	{ { "run", "--kernel", "k", "--config" }, "option '--config' requires an argument" },
	{ { "run", "--kernel", "k", "--bogus=1" }, "unknown option '--bogus=1'" },
	{ { "run", "--kernel", "k", "-q" }, "unknown option '-q'" },
	{ { "run", "--kernel", "k", "--help=x" }, "unknown option '--help=x'" },
	{ { "run", "--kernel", "k", "extra" },
	  "run: unexpected argument 'extra' (put a guest command after '--')" },
	{ { "run", "extra", "--", "x" },
	  "run: unexpected argument 'extra' (put a guest command after '--')" },
};

START_TEST(test_cli_bad)
{
	char *argv[MAX_ARGS + 2], err[256] = "";
	struct cli_options o;

	ck_assert_int_eq(parse_args(cli_bad_cases[_i].argv, &o, argv, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, cli_bad_cases[_i].msg);
}
END_TEST

START_TEST(test_cli_help_text)
{
	char buf[4096] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	ck_assert_ptr_nonnull(f);
	cli_print_help(f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_ptr_nonnull(strstr(buf, "Usage: microvm run [OPTIONS]"));
	ck_assert_ptr_nonnull(strstr(buf, "--vcpus N            number of vCPUs, 1..64 (default 1)"));
	ck_assert_ptr_nonnull(strstr(buf, "(default 256M)"));
}
END_TEST

/* ---- overrides: flags after the file ---- */

static const char override_yaml[] =
	"vcpus: 2\nmemory: 64M\nkernel: @D@/vmlinuz\ninitrd: @D@/missing.img\n"
	"cmdline: from-file\nconsole: {file: @D@/log}\n";

struct override_case {
	struct cli_options opts;
	const char *msg; /* NULL: cli_apply_overrides and config_validate succeed */
};

static const struct override_case override_cases[] = {
	{ { .vcpus = "0" }, "--vcpus: 0 is out of range 1..64" },
	{ { .vcpus = "two" }, "--vcpus: expected an integer 1..64, got 'two'" },
	{ { .memory = "1X" }, "--memory: expected a size such as 512M or 2G, got '1X'" },
	{ { .memory = "16M" }, "--memory: 16M is out of range 32M..1T" },
	{ { .console = "tty" }, "--console: expected stdio, none or file:PATH, got 'tty'" },
	{ { .console = "file:" }, "--console: file: needs a path, as in file:/var/log/vm.log" },
	{ { .kernel = "" }, "--kernel: expected a path, got an empty string" },
	/* the file's missing initrd is reported at its position unless a flag replaces it */
	{ { .vcpus = "4" }, "t.yaml:4:9: initrd: @D@/missing.img: No such file or directory" },
	{ { .initrd = "/nonexistent.img" }, "--initrd: /nonexistent.img: No such file or directory" },
	{ { .initrd = "@D@/initrd.img", .kernel = "/nonexistent" },
	  "--kernel: /nonexistent: No such file or directory" },
	{ { .initrd = "@D@/initrd.img", .console = "file:/nonexistent/dir/log" },
	  "--console: /nonexistent/dir/log: No such file or directory" },
	{ { .initrd = "@D@/initrd.img", .console = "file:@D@" }, "--console: @D@: is a directory" },
	{ { .initrd = "@D@/initrd.img" }, NULL },
};

/* Templates in opts are expanded into owned copies. */
static void expand_opts(const struct cli_options *in, struct cli_options *out, char **owned)
{
	const char *const *src[] = { &in->kernel, &in->initrd, &in->console };
	const char **dst[] = { &out->kernel, &out->initrd, &out->console };
	unsigned i;

	*out = *in;
	for (i = 0; i < ARRAY_SIZE(src); i++) {
		owned[i] = *src[i] ? expand(*src[i]) : NULL;
		*dst[i] = owned[i];
	}
}

START_TEST(test_override_errors)
{
	const struct override_case *c = &override_cases[_i];
	struct config_error err = { "" };
	struct cli_options opts;
	struct vm_config cfg;
	char *owned[3], *text = expand(override_yaml);
	unsigned i;
	int r;

	config_init(&cfg);
	ck_assert_int_eq(config_load_string("t.yaml", text, strlen(text), &cfg, &err), 0);
	expand_opts(&c->opts, &opts, owned);
	r = cli_apply_overrides(&opts, &cfg, &err);
	if (r == 0)
		r = config_validate(&cfg, &err);
	if (c->msg) {
		char *want = expand(c->msg);

		ck_assert_int_eq(r, -EINVAL);
		ck_assert_str_eq(err.msg, want);
		free(want);
	} else {
		ck_assert_msg(r == 0, "%s", err.msg);
	}
	for (i = 0; i < ARRAY_SIZE(owned); i++)
		free(owned[i]);
	config_free(&cfg);
	free(text);
}
END_TEST

START_TEST(test_override_values)
{
	struct cli_options opts = { .vcpus = "8", .memory = "2G", .cmdline = "console=ttyS0 init=/x",
				    .console = "none", .initrd = "/other.img" };
	struct config_error err = { "" };
	struct vm_config cfg;
	char *text = expand(override_yaml);

	config_init(&cfg);
	ck_assert_int_eq(config_load_string("t.yaml", text, strlen(text), &cfg, &err), 0);
	ck_assert_int_eq(cli_apply_overrides(&opts, &cfg, &err), 0);
	ck_assert_uint_eq(cfg.vcpus, 8);
	ck_assert_uint_eq(cfg.memory_bytes, 2 * GIB);
	ck_assert_str_eq(cfg.cmdline, "console=ttyS0 init=/x");
	ck_assert_int_eq(cfg.console, CONSOLE_NONE);
	ck_assert_ptr_null(cfg.console_path);
	ck_assert_str_eq(cfg.initrd, "/other.img");
	ck_assert_uint_eq(cfg.initrd_pos.line, 0);
	check_str(cfg.kernel, "@D@/vmlinuz"); /* not overridden: kept with its position */
	ck_assert_uint_eq(cfg.kernel_pos.line, 3);
	ck_assert_uint_eq(cfg.kernel_pos.column, 9);
	config_free(&cfg);
	free(text);
}
END_TEST

/* No file: flags alone, on top of the defaults. */
START_TEST(test_override_without_file)
{
	struct cli_options opts = { .kernel = NULL, .console = NULL, .cmdline = "quiet" };
	struct config_error err = { "" };
	struct vm_config cfg;
	char *kernel = expand("@D@/vmlinuz"), *console = expand("file:@D@/new.log");

	opts.kernel = kernel;
	opts.console = console;
	config_init(&cfg);
	ck_assert_int_eq(cli_apply_overrides(&opts, &cfg, &err), 0);
	ck_assert_int_eq(config_validate(&cfg, &err), 0);
	ck_assert_str_eq(cfg.kernel, kernel);
	ck_assert_str_eq(cfg.cmdline, "quiet");
	ck_assert_int_eq(cfg.console, CONSOLE_FILE);
	ck_assert_str_eq(cfg.console_path, console + 5);
	ck_assert_uint_eq(cfg.vcpus, CONFIG_DEFAULT_VCPUS);
	config_free(&cfg);
	free(kernel);
	free(console);
}
END_TEST

/* ---- suite ---- */

static void make_scratch(void)
{
	need(mkdtemp(tmpdir) != NULL, "mkdtemp");
	write_file("@D@/vmlinuz", "");
	write_file("@D@/initrd.img", "");
	make_dir("@D@/share");
	make_dir("@D@/share2");
	make_dir("@D@/sub");
}

static void remove_scratch(void)
{
	char cmd[sizeof(tmpdir) + 16];

	/* Only ever our own mkdtemp directory. */
	if (strncmp(tmpdir, "/tmp/microvm-test-config-", 25) != 0 || strchr(tmpdir, 'X'))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("yaml");

	tcase_add_loop_test(tc, test_good_config, 0, (int)ARRAY_SIZE(good_cases));
	tcase_add_loop_test(tc, test_bad_config, 0, (int)ARRAY_SIZE(bad_cases));
	tcase_add_test(tc, test_cmdline_too_long);
	tcase_add_test(tc, test_string_length_bounds_text);
	tcase_add_test(tc, test_truncated_configs);
	tcase_add_loop_test(tc, test_parse_size, 0, (int)ARRAY_SIZE(size_cases));
	tcase_add_test(tc, test_file_relative_paths);
	tcase_add_test(tc, test_file_relative_to_cwd_dir);
	tcase_add_test(tc, test_string_paths_as_written);
	tcase_add_test(tc, test_file_errors_name_file);
	tcase_add_test(tc, test_missing_kernel_without_file);
	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_example_configs, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("cli");
	tcase_add_loop_test(tc, test_cli_good, 0, (int)ARRAY_SIZE(cli_good_cases));
	tcase_add_loop_test(tc, test_cli_bad, 0, (int)ARRAY_SIZE(cli_bad_cases));
	tcase_add_test(tc, test_cli_help_text);
	tcase_add_loop_test(tc, test_override_errors, 0, (int)ARRAY_SIZE(override_cases));
	tcase_add_test(tc, test_override_values);
	tcase_add_test(tc, test_override_without_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	make_scratch();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	remove_scratch();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
