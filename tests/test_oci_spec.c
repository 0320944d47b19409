/* test_oci_spec.c: config.json as containerd and Docker write it -> oci_spec -> vm_config (with runtime.yaml). */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check_run.h"
#include "oci/internal.h"

static char dir[] = "/tmp/microvm-test-oci-spec-XXXXXX";

static void need(bool ok, const char *what)
{
	if (!ok) {
		perror(what);
		exit(EXIT_FAILURE);
	}
}

static void write_file(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	need(f && fputs(text, f) >= 0 && fclose(f) == 0, path);
}

static void make_dir(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	need(mkdir(path, 0755) == 0, path);
}

/* A bundle and a runtime.yaml, once for the whole run (the tests only read them). */
static void setup_dir(void)
{
	char yaml[1024], path[512];

	need(mkdtemp(dir) != NULL, "mkdtemp");
	write_file("vmlinuz", "k");
	write_file("initrd", "i");
	make_dir("bundle");
	make_dir("bundle/rootfs");
	make_dir("data");
	write_file("hosts", "127.0.0.1 localhost\n");
	snprintf(yaml, sizeof(yaml), "kernel: %s/vmlinuz\ninitrd: %s/initrd\nmemory: 512M\n"
		 "vcpus: 1\ncommand: [/bin/false]\nworkdir: /nowhere\n", dir, dir);
	write_file("runtime.yaml", yaml);
	snprintf(path, sizeof(path), "%s/runtime.yaml", dir);
	need(setenv(OCI_RUNTIME_CONFIG_ENV, path, 1) == 0, "setenv");
}

/* What Docker 20.10 writes, trimmed: compact JSON, proc and file binds among the mounts. */
#define DOCKER_SPEC_HEAD                                                                        \
	"{\"ociVersion\":\"1.0.2-dev\",\"process\":{\"terminal\":true,\"user\":{\"uid\":1000,"  \
	"\"gid\":100,\"additionalGids\":[10,20]},\"args\":[\"sh\",\"-c\",\"echo hi; exit 3\"],"   \
	"\"env\":[\"PATH=/usr/bin:/bin\",\"HOSTNAME=c0ffee\",\"X=a b\"],\"cwd\":\"/work\","      \
	"\"capabilities\":{\"bounding\":[\"CAP_CHOWN\"]},\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\"," \
	"\"hard\":4096,\"soft\":1024}],\"noNewPrivileges\":true},\"root\":{\"path\":\"rootfs\"," \
	"\"readonly\":true},\"hostname\":\"c0ffee\",\"mounts\":[{\"destination\":\"/proc\","     \
	"\"type\":\"proc\",\"source\":\"proc\",\"options\":[\"nosuid\",\"noexec\"]},"             \
	"{\"destination\":\"/dev/shm\",\"type\":\"bind\",\"source\":\"%s/data\",\"options\":"  \
	"[\"rbind\"]},{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"%s/hosts\"," \
	"\"options\":[\"rbind\",\"rprivate\"]},{\"destination\":\"/data\",\"source\":\"%s/data\"," \
	"\"options\":[\"rbind\",\"ro\"]}]"
#define DOCKER_SPEC_TAIL                                                                        \
	",\"annotations\":{\"io.microvm.vcpus\":\"2\",\"other\":\"x\"},\"linux\":{\"resources\":" \
	"{\"memory\":{\"limit\":100000000}},\"namespaces\":[{\"type\":\"pid\"}]}}"

static int parse(const char *text, struct oci_spec *spec, char *err, size_t errlen)
{
	return oci_spec_parse(text, strlen(text), spec, err, errlen);
}

static char *docker_spec(void)
{
	char *text;

	need(asprintf(&text, DOCKER_SPEC_HEAD DOCKER_SPEC_TAIL, dir, dir, dir) > 0, "asprintf");
	return text;
}

START_TEST(test_docker_spec_parsed)
{
	struct oci_spec s;
	char err[OCI_ERR_MAX], *text = docker_spec();

	ck_assert_int_eq(parse(text, &s, err, sizeof(err)), 0);
	ck_assert_str_eq(s.oci_version, "1.0.2-dev");
	ck_assert_str_eq(s.root_path, "rootfs");
	ck_assert(s.root_readonly);
	ck_assert_uint_eq(s.args.n, 3);
	ck_assert_str_eq(s.args.v[2], "echo hi; exit 3");
	ck_assert_uint_eq(s.env.n, 3);
	ck_assert_str_eq(s.env.v[2], "X=a b");
	ck_assert_str_eq(s.cwd, "/work");
	ck_assert(s.terminal && s.user_set);
	ck_assert_uint_eq(s.uid, 1000);
	ck_assert_uint_eq(s.gid, 100);
	ck_assert_uint_eq(s.ngroups, 2);
	ck_assert_uint_eq(s.groups[1], 20);
	ck_assert_uint_eq(s.nrlimits, 1);
	ck_assert_str_eq(s.rlimits[0].name, "RLIMIT_NOFILE");
	ck_assert_uint_eq(s.rlimits[0].soft, 1024);
	ck_assert_uint_eq(s.rlimits[0].hard, 4096);
	ck_assert_str_eq(s.hostname, "c0ffee");
	ck_assert_uint_eq(s.nmounts, 4);
	ck_assert(!s.mounts[0].bind);
	ck_assert(s.mounts[1].bind && !s.mounts[1].readonly);
	ck_assert(s.mounts[3].bind && s.mounts[3].readonly); /* no type, options rbind + ro */
	ck_assert_str_eq(oci_spec_annotation(&s, "io.microvm.vcpus"), "2");
	ck_assert_ptr_null(oci_spec_annotation(&s, "missing"));
	ck_assert_uint_eq(s.memory_limit, 100000000);
	oci_spec_free(&s);
	free(text);
}
END_TEST

static void expect_refused(const char *text, const char *words)
{
	struct oci_spec s;
	char err[OCI_ERR_MAX] = "";

	ck_assert_int_lt(parse(text, &s, err, sizeof(err)), 0);
	if (!strstr(err, words))
		ck_abort_msg("message '%s' lacks '%s'", err, words);
	oci_spec_free(&s);
}

START_TEST(test_bad_specs_refused)
{
	expect_refused("{\"root\": {\"path\": \"r\"}, \"process\": ", "config.json: line");
	expect_refused("[1, 2]", "expected a JSON object");
	expect_refused("{\"process\": {\"args\": [\"a\"]}}", "root.path: missing");
	expect_refused("{\"root\": {\"path\": \"r\"}}", "process: missing");
	expect_refused("{\"root\": {\"path\": \"r\"}, \"process\": {\"args\": []}}",
		       "process.args: missing or empty");
	expect_refused("{\"root\": {\"path\": \"r\"}, \"process\": {\"args\": [1, {}]}}",
		       "process.args[1]: expected a string");
	expect_refused("{\"root\": {\"path\": \"r\"}, \"process\": {\"args\": [\"a\"], "
		       "\"user\": {\"uid\": -1, \"gid\": 0}}}", "process.user.uid");
	expect_refused("{\"root\": {\"path\": \"r\"}, \"process\": {\"args\": [\"a\"], "
		       "\"user\": {\"uid\": \"0\", \"gid\": 0}}}", "process.user.uid");
	expect_refused("{\"root\": {\"path\": \"r\"}, \"process\": {\"args\": [\"a\"], "
		       "\"terminal\": \"yes\"}}", "process.terminal");
	expect_refused("{\"root\": {\"path\": \"r\", \"readonly\": 1}, \"process\": {\"args\": "
		       "[\"a\"]}}", "root.readonly");
	expect_refused("{\"root\": {\"path\": \"r\"}, \"process\": {\"args\": [\"a\"], "
		       "\"rlimits\": [{\"type\": \"NOFILE\", \"soft\": 1, \"hard\": 1}]}}",
		       "RLIMIT_<NAME>");
	expect_refused("{\"root\": {\"path\": \"r\"}, \"process\": {\"args\": [\"a\"]}, "
		       "\"mounts\": [{\"type\": \"bind\"}]}", "no destination");
}
END_TEST

/* null for a list (Go's nil slice) is an empty list, not an error. */
START_TEST(test_null_lists)
{
	struct oci_spec s;
	char err[OCI_ERR_MAX];

	ck_assert_int_eq(parse("{\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"a\"],"
			       "\"env\":null,\"rlimits\":null},\"mounts\":null}",
			       &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.env.n, 0);
	ck_assert_uint_eq(s.nmounts, 0);
	ck_assert(!s.user_set && !s.terminal);
	oci_spec_free(&s);
}
END_TEST

static int build(const char *text, struct vm_config *cfg, char *err, size_t errlen)
{
	char bundle[512];
	struct oci_spec s;
	int r;

	snprintf(bundle, sizeof(bundle), "%s/bundle", dir);
	config_init(cfg);
	r = parse(text, &s, err, errlen);
	ck_assert_msg(r == 0, "spec: %s", err);
	r = oci_build_vm_config(&s, bundle, cfg, err, errlen);
	oci_spec_free(&s);
	return r;
}

START_TEST(test_vm_config_from_docker_spec)
{
	char err[OCI_ERR_MAX], path[512], *text = docker_spec();
	struct vm_config cfg;

	ck_assert_msg(build(text, &cfg, err, sizeof(err)) == 0, "%s", err);
	/* runtime.yaml's machine, the container's command: its command and workdir go. */
	snprintf(path, sizeof(path), "%s/vmlinuz", dir);
	ck_assert_str_eq(cfg.kernel, path);
	ck_assert_uint_eq(cfg.vcpus, 2);		  /* the annotation */
	ck_assert_uint_eq(cfg.memory_bytes, 96ULL << 20); /* the limit, rounded up to MiB */
	ck_assert_uint_eq(cfg.command.n, 3);
	ck_assert_str_eq(cfg.command.v[0], "sh");
	ck_assert_str_eq(cfg.workdir, "/work");
	ck_assert_uint_eq(cfg.env.n, 3);
	/* The root share and one bind: /proc, /dev/shm and the /etc/hosts file are not shares. */
	ck_assert_uint_eq(cfg.nshares, 2);
	ck_assert_str_eq(cfg.root_tag, cfg.shares[0].tag);
	snprintf(path, sizeof(path), "%s/bundle/rootfs", dir);
	ck_assert_str_eq(cfg.shares[0].path, path);
	ck_assert(cfg.shares[0].readonly);
	ck_assert_ptr_null(cfg.shares[0].mount);
	ck_assert_str_eq(cfg.shares[1].mount, "/data");
	ck_assert(cfg.shares[1].readonly);
	ck_assert(cfg.process.user_set && cfg.process.terminal);
	ck_assert_uint_eq(cfg.process.uid, 1000);
	ck_assert_uint_eq(cfg.process.ngroups, 2);
	ck_assert_uint_eq(cfg.process.nrlimits, 1);
	ck_assert_str_eq(cfg.process.hostname, "c0ffee");
	config_free(&cfg);
	free(text);
}
END_TEST

START_TEST(test_memory_annotation_wins)
{
	char err[OCI_ERR_MAX];
	struct vm_config cfg;

	ck_assert_int_eq(build("{\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"a\"]},"
			       "\"annotations\":{\"io.microvm.memory\":\"1G\"},\"linux\":{"
			       "\"resources\":{\"memory\":{\"limit\":1048576}}}}",
			       &cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.memory_bytes, 1ULL << 30);
	ck_assert_uint_eq(cfg.vcpus, 1);
	ck_assert(!cfg.process.user_set);
	config_free(&cfg);
	ck_assert_int_lt(build("{\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"a\"]},"
			       "\"annotations\":{\"io.microvm.vcpus\":\"lots\"}}",
			       &cfg, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "io.microvm.vcpus"));
	config_free(&cfg);
}
END_TEST

START_TEST(test_too_many_binds)
{
	char err[OCI_ERR_MAX], *text, *mounts = NULL, *grown;
	struct vm_config cfg;
	int i;

	need(asprintf(&mounts, "%s", "") >= 0, "asprintf");
	for (i = 0; i < 7; i++) {
		need(asprintf(&grown, "%s%s{\"destination\":\"/m%d\",\"type\":\"bind\","
			      "\"source\":\"%s/data\"}", mounts, i ? "," : "", i, dir) > 0, "asprintf");
		free(mounts);
		mounts = grown;
	}
	need(asprintf(&text, "{\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"a\"]},"
		      "\"mounts\":[%s]}", mounts) > 0, "asprintf");
	ck_assert_int_lt(build(text, &cfg, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "too many host directories"));
	config_free(&cfg);
	free(text);
	free(mounts);
}
END_TEST

START_TEST(test_bad_bind_refused)
{
	char err[OCI_ERR_MAX];
	struct vm_config cfg;

	ck_assert_int_lt(build("{\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"a\"]},"
			       "\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\",\"source\":"
			       "\"/no/such/dir\"}]}", &cfg, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "/no/such/dir"));
	config_free(&cfg);
	ck_assert_int_lt(build("{\"root\":{\"path\":\"no-rootfs\"},\"process\":{\"args\":[\"a\"]}}",
			       &cfg, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "no-rootfs"));
	config_free(&cfg);
	ck_assert_int_lt(build("{\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"a\"],"
			       "\"env\":[\"=x\"]}}", &cfg, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "process.env"));
	config_free(&cfg);
}
END_TEST

START_TEST(test_missing_runtime_config_named)
{
	char err[OCI_ERR_MAX], old[512];
	struct vm_config cfg;

	snprintf(old, sizeof(old), "%s", getenv(OCI_RUNTIME_CONFIG_ENV));
	need(setenv(OCI_RUNTIME_CONFIG_ENV, "/no/such/runtime.yaml", 1) == 0, "setenv");
	ck_assert_int_lt(build("{\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"a\"]}}",
			       &cfg, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "/no/such/runtime.yaml"));
	ck_assert_ptr_nonnull(strstr(err, "RUNTIME MODE"));
	config_free(&cfg);
	need(setenv(OCI_RUNTIME_CONFIG_ENV, old, 1) == 0, "setenv");
}
END_TEST

START_TEST(test_signals)
{
	int sig = -1;

	ck_assert_int_eq(oci_parse_signal("9", &sig), 0);
	ck_assert_int_eq(sig, SIGKILL);
	ck_assert_int_eq(oci_parse_signal("KILL", &sig), 0);
	ck_assert_int_eq(sig, SIGKILL);
	ck_assert_int_eq(oci_parse_signal("SIGTERM", &sig), 0);
	ck_assert_int_eq(sig, SIGTERM);
	ck_assert_int_eq(oci_parse_signal("sigusr2", &sig), 0);
	ck_assert_int_eq(sig, SIGUSR2);
	ck_assert_int_eq(oci_parse_signal("winch", &sig), 0);
	ck_assert_int_eq(sig, SIGWINCH);
	ck_assert_int_lt(oci_parse_signal("SIGNOPE", &sig), 0);
	ck_assert_int_lt(oci_parse_signal("9x", &sig), 0);
	ck_assert_int_lt(oci_parse_signal("100000", &sig), 0);
}
END_TEST

static Suite *oci_spec_suite(void)
{
	Suite *s = suite_create("oci_spec");
	TCase *tc = tcase_create("spec");

	tcase_add_test(tc, test_docker_spec_parsed);
	tcase_add_test(tc, test_bad_specs_refused);
	tcase_add_test(tc, test_null_lists);
	tcase_add_test(tc, test_vm_config_from_docker_spec);
	tcase_add_test(tc, test_memory_annotation_wins);
	tcase_add_test(tc, test_too_many_binds);
	tcase_add_test(tc, test_bad_bind_refused);
	tcase_add_test(tc, test_missing_runtime_config_named);
	tcase_add_test(tc, test_signals);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	char cmd[600];
	int r;

	setup_dir();
	r = check_run(oci_spec_suite());
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return r;
}
