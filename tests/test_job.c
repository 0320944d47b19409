/* test_job.c: the job file and its cpio archive (read back by the real cpio tool), the status and pvpanic ports, the console tail. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check_run.h"
#include "devices/pvpanic/pvpanic.h"
#include "devices/serial/console_tail.h"
#include "devices/status_port/status_port.h"
#include "guest/protocol.h"
#include "vmm/config_value.h"
#include "vmm/job.h"

static void job_config(struct vm_config *cfg)
{
	config_init(cfg);
	ck_assert_int_eq(config_strv_push(&cfg->command, "/bin/sh", 10), 0);
	ck_assert_int_eq(config_strv_push(&cfg->command, "-c", 10), 0);
	ck_assert_int_eq(config_strv_push(&cfg->command, "echo 'a b'\nexit 3", 10), 0);
	ck_assert_int_eq(config_strv_push(&cfg->env, "A=1", 10), 0);
	ck_assert_int_eq(config_set_string(&cfg->workdir, "/w"), 0);
	cfg->nshares = 2;
	ck_assert_int_eq(config_set_string(&cfg->shares[0].tag, "root"), 0);
	cfg->shares[0].readonly = true;
	ck_assert_int_eq(config_set_string(&cfg->shares[1].tag, "scratch"), 0);
	ck_assert_int_eq(config_set_string(&cfg->shares[1].mount, "/scratch"), 0);
	ck_assert_int_eq(config_set_string(&cfg->root_tag, "root"), 0);
}

START_TEST(test_job_file_records)
{
	static const char want[] = MICROVM_JOB_MAGIC "a/bin/sh\0a-c\0aecho 'a b'\nexit 3\0eA=1\0"
				   "w/w\0rro\troot\0mrw\tscratch\t/scratch\0v1";
	struct vm_config cfg;
	struct job_blob b;

	job_config(&cfg);
	ck_assert_int_eq(job_build_file(&cfg, true, &b), 0);
	ck_assert_uint_eq(b.len, sizeof(want)); /* the final NUL of want is the last record's */
	ck_assert(memcmp(b.data, want, b.len) == 0);
	job_blob_free(&b);
	config_free(&cfg);
}
END_TEST

/* The archive must be what Linux's unpacker (and cpio) reads: extract the job with cpio. */
START_TEST(test_job_process_records)
{
	static const char want[] = MICROVM_JOB_MAGIC "a/bin/true\0u1000:100\0G10,20\0t1\0"
				   "lRLIMIT_NOFILE\t1024\t18446744073709551615\0hbox";
	static uint32_t groups[] = { 10, 20 };
	static struct config_rlimit rl = { "RLIMIT_NOFILE", 1024, UINT64_MAX };
	struct vm_config cfg;
	struct job_blob b;

	config_init(&cfg);
	ck_assert_int_eq(config_strv_push(&cfg.command, "/bin/true", 10), 0);
	cfg.process = (struct config_process){ .user_set = true, .uid = 1000, .gid = 100,
					       .groups = groups, .ngroups = 2, .terminal = true,
					       .rlimits = &rl, .nrlimits = 1,
					       .hostname = (char *)"box" };
	ck_assert_int_eq(job_build_file(&cfg, false, &b), 0);
	ck_assert_uint_eq(b.len, sizeof(want));
	ck_assert(memcmp(b.data, want, b.len) == 0);
	job_blob_free(&b);
	cfg.process = (struct config_process){ 0 }; /* static storage: not config_free's */
	config_free(&cfg);
}
END_TEST

START_TEST(test_job_cpio_extracts)
{
	char dir[] = "/tmp/microvm-test-job-XXXXXX", cmd[256], path[128];
	struct job_blob archive, file;
	struct vm_config cfg;
	char *back;
	FILE *f;
	long n;

	job_config(&cfg);
	ck_assert_int_eq(job_build_cpio(&cfg, false, &archive), 0);
	ck_assert_int_eq(job_build_file(&cfg, false, &file), 0);
	ck_assert_uint_eq(archive.len % 4, 0);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/job.cpio", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(archive.data, 1, archive.len, f), archive.len);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd %s && cpio --quiet -id < job.cpio", dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/microvm/job", dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	back = malloc(file.len + 16);
	n = (long)fread(back, 1, file.len + 16, f);
	fclose(f);
	ck_assert_int_eq(n, (long)file.len);
	ck_assert(memcmp(back, file.data, file.len) == 0);
	free(back);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	job_blob_free(&archive);
	job_blob_free(&file);
	config_free(&cfg);
}
END_TEST

START_TEST(test_job_too_large)
{
	struct vm_config cfg;
	struct job_blob b;
	char *big = malloc(600000);

	memset(big, 'x', 599999);
	big[599999] = '\0';
	config_init(&cfg);
	ck_assert_int_eq(config_strv_push(&cfg.command, big, 10), 0);
	ck_assert_int_eq(config_strv_push(&cfg.command, big, 10), 0);
	ck_assert_int_eq(job_build_cpio(&cfg, false, &b), -E2BIG);
	free(big);
	config_free(&cfg);
}
END_TEST

static int finals;
static void count_final(void *ctx)
{
	(void)ctx;
	finals++;
}

static void port_write(struct status_port *sp, uint32_t v, uint32_t len)
{
	status_port_bus_write(sp, 0, (const uint8_t *)&v, len);
}

START_TEST(test_status_port)
{
	struct status_port sp;
	unsigned kind, value;
	uint32_t magic = 0;

	finals = 0;
	status_port_init(&sp, count_final, NULL);
	status_port_bus_read(&sp, 0, (uint8_t *)&magic, 4);
	ck_assert_uint_eq(magic, MICROVM_STATUS_MAGIC);
	ck_assert(!status_port_ready(&sp));
	port_write(&sp, MICROVM_STATUS(STATUS_READY, 0), 4);
	ck_assert(status_port_ready(&sp));
	ck_assert(!status_port_final(&sp, &kind, &value));
	port_write(&sp, MICROVM_STATUS(STATUS_EXITED, 42), 2); /* wrong width: ignored */
	port_write(&sp, MICROVM_STATUS(9, 1), 4);              /* unknown kind: ignored */
	ck_assert(!status_port_final(&sp, &kind, &value));
	port_write(&sp, MICROVM_STATUS(STATUS_EXITED, 42), 4);
	port_write(&sp, MICROVM_STATUS(STATUS_KILLED, 9), 4); /* after the final: ignored */
	ck_assert(status_port_final(&sp, &kind, &value));
	ck_assert_uint_eq(kind, STATUS_EXITED);
	ck_assert_uint_eq(value, 42);
	ck_assert_int_eq(finals, 1);
}
END_TEST

START_TEST(test_pvpanic)
{
	struct pvpanic p;
	uint8_t v = 0;

	finals = 0;
	pvpanic_init(&p, count_final, NULL);
	pvpanic_bus_read(&p, 0, &v, 1);
	ck_assert_uint_eq(v, PVPANIC_PANICKED);
	v = 2; /* CRASH_LOADED: not offered, not a panic */
	pvpanic_bus_write(&p, 0, &v, 1);
	ck_assert(!pvpanic_seen(&p));
	v = 1;
	pvpanic_bus_write(&p, 0, &v, 1);
	pvpanic_bus_write(&p, 0, &v, 1);
	ck_assert(pvpanic_seen(&p));
	ck_assert_int_eq(finals, 1);
}
END_TEST

START_TEST(test_console_tail_keeps_newest)
{
	struct console_tail *t = calloc(1, sizeof(*t));
	char *out = malloc(CONSOLE_TAIL_BYTES + 1);
	size_t i, n;

	for (i = 0; i < CONSOLE_TAIL_BYTES + 100; i++)
		console_tail_put(t, (char)('a' + i % 26));
	n = console_tail_copy(t, out, CONSOLE_TAIL_BYTES + 1);
	ck_assert_uint_eq(n, CONSOLE_TAIL_BYTES);
	ck_assert_int_eq(out[n - 1], 'a' + (int)((CONSOLE_TAIL_BYTES + 99) % 26));
	ck_assert_int_eq(out[0], 'a' + 100 % 26);
	n = console_tail_copy(t, out, 5); /* a short buffer gets the newest bytes */
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(out[3], 'a' + (int)((CONSOLE_TAIL_BYTES + 99) % 26));
	for (i = 0; i < 30; i++)
		console_tail_put(t, "Kernel panic - not syncing!"[i % 27]);
	ck_assert(console_tail_contains(t, "Kernel panic - not syncing"));
	ck_assert(!console_tail_contains(t, "no such words"));
	free(out);
	free(t);
}
END_TEST

static Suite *job_suite(void)
{
	Suite *s = suite_create("job");
	TCase *tc = tcase_create("job");

	tcase_add_test(tc, test_job_file_records);
	tcase_add_test(tc, test_job_process_records);
	tcase_add_test(tc, test_job_cpio_extracts);
	tcase_add_test(tc, test_job_too_large);
	tcase_add_test(tc, test_status_port);
	tcase_add_test(tc, test_pvpanic);
	tcase_add_test(tc, test_console_tail_keeps_newest);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(job_suite());
}
