/* test_oci_state.c: container ids, state.json, status, and create/start/kill/delete with a real VMM process (its guest cannot boot). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check_run.h"
#include "oci/internal.h"
#include "oci/oci.h"

static char dir[] = "/tmp/microvm-test-oci-state-XXXXXX";
static char root[600], bundle[600], pidfile[600];

static void need(bool ok, const char *what)
{
	if (!ok) {
		perror(what);
		exit(EXIT_FAILURE);
	}
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	need(f && fputs(text, f) >= 0 && fclose(f) == 0, path);
}

/*
 * A bundle whose VM cannot boot (the "kernel" is text): the VMM process still waits for
 * start, then exits 125, which is all the lifecycle needs.
 */
static void setup_dir(const char *terminal)
{
	char path[700], text[1400];

	need(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(root, sizeof(root), "%s/state", dir);
	snprintf(bundle, sizeof(bundle), "%s/bundle", dir);
	snprintf(pidfile, sizeof(pidfile), "%s/init.pid", dir);
	need(mkdir(bundle, 0755) == 0, "mkdir");
	snprintf(path, sizeof(path), "%s/rootfs", bundle);
	need(mkdir(path, 0755) == 0, "mkdir");
	snprintf(path, sizeof(path), "%s/vmlinuz", dir);
	write_file(path, "not a kernel");
	snprintf(text, sizeof(text), "kernel: %s/vmlinuz\ninitrd: %s/vmlinuz\n", dir, dir);
	snprintf(path, sizeof(path), "%s/runtime.yaml", dir);
	write_file(path, text);
	need(setenv(OCI_RUNTIME_CONFIG_ENV, path, 1) == 0, "setenv");
	snprintf(text, sizeof(text), "{\"ociVersion\":\"1.0.2-dev\",\"process\":{\"terminal\":%s,"
		 "\"args\":[\"true\"],\"cwd\":\"/\"},\"root\":{\"path\":\"rootfs\"},"
		 "\"annotations\":{\"k\":\"v\\\"q\"}}", terminal);
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	write_file(path, text);
}

static void teardown_dir(void)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	strcpy(dir, "/tmp/microvm-test-oci-state-XXXXXX");
}

static void setup_plain(void)
{
	setup_dir("false");
}

START_TEST(test_ids)
{
	char err[OCI_ERR_MAX];

	ck_assert_int_eq(oci_check_id("abc-DEF_1.2+3", err, sizeof(err)), 0);
	ck_assert_int_lt(oci_check_id("", err, sizeof(err)), 0);
	ck_assert_int_lt(oci_check_id(".", err, sizeof(err)), 0);
	ck_assert_int_lt(oci_check_id("..", err, sizeof(err)), 0);
	ck_assert_int_lt(oci_check_id("a/b", err, sizeof(err)), 0);
	ck_assert_int_lt(oci_check_id("a b", err, sizeof(err)), 0);
}
END_TEST

/* Written, read back, and the status follows the process and the FIFO. */
START_TEST(test_state_roundtrip_and_status)
{
	struct oci_annotation ann = { "key", "va\"lue" };
	struct oci_state st = { .id = "c1", .oci_version = "1.0.2-dev", .bundle = "/b",
				.rootfs = "/b/rootfs", .created = "2024-01-02T03:04:05.000000001Z",
				.pid = getpid(), .annotations = &ann, .nannotations = 1 }, got;
	char fifo[700];

	st.start_time = oci_process_start_time(getpid());
	ck_assert_uint_gt(st.start_time, 0);
	ck_assert_int_eq(mkdir(root, 0755), 0);
	ck_assert_int_eq(oci_state_write(root, &st), 0);
	ck_assert_int_eq(oci_state_read(root, &got), 0);
	ck_assert_str_eq(got.id, "c1");
	ck_assert_str_eq(got.bundle, "/b");
	ck_assert_str_eq(got.created, st.created);
	ck_assert_int_eq(got.pid, getpid());
	ck_assert_uint_eq(got.nannotations, 1);
	ck_assert_str_eq(got.annotations[0].value, "va\"lue");
	ck_assert_int_eq(oci_state_status(root, &got), OCI_RUNNING);
	snprintf(fifo, sizeof(fifo), "%s/%s", root, OCI_FIFO_FILE);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_int_eq(oci_state_status(root, &got), OCI_CREATED);
	got.start_time++; /* the pid now names another process */
	ck_assert_int_eq(oci_state_status(root, &got), OCI_STOPPED);
	oci_state_free(&got);
	ck_assert_int_eq(oci_state_remove(root), 0);
	ck_assert_int_eq(access(root, F_OK), -1);
	ck_assert_int_eq(oci_state_read(root, &got), -ENOENT);
}
END_TEST

static struct oci_globals globals(void)
{
	return (struct oci_globals){ .root = root };
}

static pid_t read_pid_file(void)
{
	char buf[32] = "";
	FILE *f = fopen(pidfile, "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	return (pid_t)atoi(buf);
}

static enum oci_status status_of(const char *id)
{
	struct oci_globals g = globals();
	char sdir[700];
	struct oci_state st;
	enum oci_status s;

	ck_assert_int_eq(oci_state_dir(&g, id, sdir, sizeof(sdir)), 0);
	ck_assert_int_eq(oci_state_read(sdir, &st), 0);
	s = oci_state_status(sdir, &st);
	oci_state_free(&st);
	return s;
}

/* create leaves a process waiting; start lets it run; it exits with the VMM's status. */
START_TEST(test_create_start_exit_delete)
{
	struct oci_globals g = globals();
	struct oci_create_opts o = { .bundle = bundle, .pid_file = pidfile };
	int wstatus;
	pid_t pid;

	ck_assert_int_eq(oci_cmd_create(&g, "c1", &o), 0);
	pid = read_pid_file();
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(status_of("c1"), OCI_CREATED);
	ck_assert_int_eq(oci_cmd_create(&g, "c1", &o), 1); /* the id is taken */
	ck_assert_int_eq(oci_cmd_start(&g, "c1"), 0);
	ck_assert_int_eq(waitpid(pid, &wstatus, 0), pid);
	ck_assert(WIFEXITED(wstatus));
	ck_assert_int_eq(WEXITSTATUS(wstatus), 125); /* the "kernel" cannot be loaded */
	ck_assert_int_eq(status_of("c1"), OCI_STOPPED);
	ck_assert_int_eq(oci_cmd_start(&g, "c1"), 1);
	ck_assert_int_eq(oci_cmd_kill(&g, "c1", "KILL"), 1); /* not running */
	ck_assert_int_eq(oci_cmd_delete(&g, "c1", false), 0);
	/* containerd deletes twice: the second, forced, must succeed; unforced it fails. */
	ck_assert_int_eq(oci_cmd_delete(&g, "c1", true), 0);
	ck_assert_int_eq(oci_cmd_delete(&g, "c1", false), 1);
	ck_assert_int_eq(oci_cmd_state(&g, "c1"), 1);
}
END_TEST

/* kill reaches the waiting process; delete of a created container kills it. */
START_TEST(test_kill_and_delete_created)
{
	struct oci_globals g = globals();
	struct oci_create_opts o = { .bundle = bundle, .pid_file = pidfile };
	int wstatus;
	pid_t pid;

	ck_assert_int_eq(oci_cmd_create(&g, "k1", &o), 0);
	pid = read_pid_file();
	ck_assert_int_eq(oci_cmd_kill(&g, "k1", "SIGTERM"), 0);
	ck_assert_int_eq(waitpid(pid, &wstatus, 0), pid);
	ck_assert(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGTERM);
	ck_assert_int_eq(status_of("k1"), OCI_STOPPED);
	ck_assert_int_eq(oci_cmd_delete(&g, "k1", false), 0);

	ck_assert_int_eq(oci_cmd_create(&g, "k2", &o), 0);
	pid = read_pid_file();
	ck_assert_int_eq(oci_cmd_kill(&g, "k2", "NOSUCHSIGNAL"), 1);
	ck_assert_int_eq(oci_cmd_delete(&g, "k2", false), 0);
	ck_assert_int_eq(waitpid(pid, &wstatus, 0), pid);
	ck_assert(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL);
	ck_assert_int_eq(oci_cmd_state(&g, "k2"), 1);
}
END_TEST

START_TEST(test_create_refusals)
{
	struct oci_globals g = globals();
	struct oci_create_opts o = { .bundle = bundle, .console_socket = "/nonexistent.sock" };
	struct oci_create_opts nobundle = { .bundle = "/no/such/bundle" };

	/* A console socket without process.terminal, like runc, and a bad bundle. */
	ck_assert_int_eq(oci_cmd_create(&g, "r1", &o), 1);
	ck_assert_int_eq(oci_cmd_create(&g, "r2", &nobundle), 1);
	ck_assert_int_eq(oci_cmd_create(&g, "bad/id", &nobundle), 1);
	ck_assert_int_eq(oci_cmd_state(&g, "r1"), 1); /* nothing left behind */
}
END_TEST

START_TEST(test_dispatch)
{
	char *create[] = { "microvm", "--root", "/x", "--log-format", "json", "create", "id" };
	char *version[] = { "microvm", "-v" };
	char *verbose_run[] = { "microvm", "-v", "run" };
	char *run[] = { "microvm", "--root", "/x", "run" };
	char *kill[] = { "microvm", "--root=/x", "--systemd-cgroup", "kill", "id", "9" };

	ck_assert(oci_wants(7, create));
	ck_assert(oci_wants(2, version));
	ck_assert(!oci_wants(3, verbose_run));
	ck_assert(!oci_wants(4, run));
	ck_assert(oci_wants(6, kill));
}
END_TEST

static void setup_terminal(void)
{
	setup_dir("true");
}

/* The pty master arrives on the console socket with SCM_RIGHTS. */
START_TEST(test_console_socket)
{
	struct oci_globals g = globals();
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct oci_create_opts o = { .bundle = bundle, .pid_file = pidfile,
				     .console_socket = addr.sun_path };
	char name[64] = "", control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { name, sizeof(name) - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	int lsock, conn, master;
	pid_t pid;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/console.sock", dir);
	lsock = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(lsock, (struct sockaddr *)&addr, sizeof(addr)), 0);
	ck_assert_int_eq(listen(lsock, 1), 0);
	ck_assert_int_eq(oci_cmd_create(&g, "t1", &o), 0);
	conn = accept(lsock, NULL, NULL);
	ck_assert_int_ge(conn, 0);
	ck_assert_int_gt(recvmsg(conn, &msg, 0), 0);
	ck_assert_str_eq(name, "/dev/ptmx");
	ck_assert_ptr_nonnull(CMSG_FIRSTHDR(&msg));
	ck_assert_int_eq(CMSG_FIRSTHDR(&msg)->cmsg_type, SCM_RIGHTS);
	memcpy(&master, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
	ck_assert(isatty(master));
	ck_assert_ptr_nonnull(ptsname(master)); /* a master, not a slave */
	pid = read_pid_file();
	ck_assert_int_eq(oci_cmd_delete(&g, "t1", true), 0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}
END_TEST

/* runc's `state` layout: the keys containerd's go-runc reads; pid 0 once stopped. */
START_TEST(test_state_print)
{
	struct oci_state st = { .id = "p1", .oci_version = "1.0.2-dev", .bundle = "/b",
				.rootfs = "/b/rootfs", .created = "2024-01-02T03:04:05.5Z",
				.pid = 42 };
	const char *keys[] = { "ociVersion", "id", "status", "bundle", "rootfs", "created",
			       "owner" };
	char buf[2048] = "", err[128];
	struct oci_json j;
	size_t i;
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	oci_state_print(f, &st, OCI_STOPPED);
	fclose(f);
	ck_assert_int_eq(oci_json_parse(&j, buf, strlen(buf), err, sizeof(err)), 0);
	for (i = 0; i < ARRAY_SIZE(keys); i++)
		ck_assert_ptr_nonnull(oci_json_get(&j, oci_json_root(&j), keys[i]));
	ck_assert_str_eq(oci_json_str(oci_json_get(&j, oci_json_root(&j), "status")), "stopped");
	ck_assert_str_eq(oci_json_str(oci_json_get(&j, oci_json_root(&j), "pid")), "0");
	ck_assert_ptr_null(oci_json_get(&j, oci_json_root(&j), "annotations"));
	oci_json_free(&j);
}
END_TEST

/* containerd reads the last {"level":"error","msg":...} line of --log. */
START_TEST(test_json_log)
{
	char path[700], *text = NULL, err[128];
	struct oci_globals g = { .root = root, .log_path = path, .log_json = true };
	struct oci_json j;
	size_t len;

	snprintf(path, sizeof(path), "%s/log.json", dir);
	ck_assert_int_eq(oci_log_open(&g), 0);
	oci_error("bad \"thing\"\tat %d", 3);
	oci_debug("not written without --debug");
	oci_log_close();
	ck_assert_int_eq(oci_read_file(path, 4096, &text, &len), 0);
	ck_assert_ptr_eq(strchr(text, '\n'), text + len - 1); /* one line */
	ck_assert_int_eq(oci_json_parse(&j, text, len, err, sizeof(err)), 0);
	ck_assert_str_eq(oci_json_str(oci_json_get(&j, oci_json_root(&j), "level")), "error");
	ck_assert_str_eq(oci_json_str(oci_json_get(&j, oci_json_root(&j), "msg")),
			 "bad \"thing\"\tat 3");
	ck_assert_ptr_nonnull(oci_json_get(&j, oci_json_root(&j), "time"));
	oci_json_free(&j);
	free(text);
}
END_TEST

/* Without /dev/kvm, create refuses at once and leaves nothing behind. */
START_TEST(test_create_needs_kvm)
{
	struct oci_globals g = globals();
	struct oci_create_opts o = { .bundle = bundle, .pid_file = pidfile };

	ck_assert_int_eq(oci_cmd_create(&g, "nokvm", &o), 1);
	ck_assert_int_eq(access(pidfile, F_OK), -1);
	ck_assert_int_eq(oci_cmd_state(&g, "nokvm"), 1);
}
END_TEST

/* create checks /dev/kvm: the lifecycle tests need it (the guest never boots anyway). */
static Suite *oci_state_suite(void)
{
	Suite *s = suite_create("oci_state");
	TCase *tc = tcase_create("state");
	TCase *tt;
	bool kvm = access("/dev/kvm", R_OK | W_OK) == 0;

	tcase_add_checked_fixture(tc, setup_plain, teardown_dir);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_ids);
	tcase_add_test(tc, test_state_roundtrip_and_status);
	tcase_add_test(tc, test_create_refusals);
	tcase_add_test(tc, test_dispatch);
	tcase_add_test(tc, test_state_print);
	tcase_add_test(tc, test_json_log);
	if (kvm) {
		tcase_add_test(tc, test_create_start_exit_delete);
		tcase_add_test(tc, test_kill_and_delete_created);
	} else {
		fprintf(stderr, "no /dev/kvm: only checking that create refuses\n");
		tcase_add_test(tc, test_create_needs_kvm);
	}
	suite_add_tcase(s, tc);
	if (kvm) {
		tt = tcase_create("terminal");
		tcase_add_checked_fixture(tt, setup_terminal, teardown_dir);
		tcase_set_timeout(tt, 30);
		tcase_add_test(tt, test_console_socket);
		suite_add_tcase(s, tt);
	}
	return s;
}

int main(void)
{
	return check_run(oci_state_suite());
}
