/* vfs_check.c: entry point of vfs_check: modes, the check runner and its report lines. */
/*
 * vfs_check checks, from inside a guest, that a virtio-fs mount behaves like a local file
 * system. It is linked statically: the test guest has busybox and nothing else.
 *
 *   vfs_check [--only NAME,...] [--timeout SECONDS] DIR
 *       every read-write check, each in DIR/NAME (DIR is made if missing)
 *   vfs_check --readonly DIR
 *       the read-only share checks in DIR, which the host prepared (see vc_readonly.c)
 *   vfs_check [--ready FILE] --wait-for FILE CONTENT SECONDS [--wait-for ...]
 *       read each FILE once (it must not hold CONTENT yet), create the --ready file, then
 *       re-open and read each FILE every 200 ms until it holds CONTENT
 *   vfs_check --verify-pattern FILE SIZE
 *       (host side) FILE holds SIZE bytes of the pattern the checks wrote into it
 *   vfs_check --probe DIR
 *       (host side) exit 0 when DIR's file system has what the checks need from the host
 *       file system (user.* extended attributes, fallocate), else 1
 *
 * Output: one line per check, "VFSCHECK ok NAME" or "VFSCHECK not ok NAME: detail", then
 * "VFSCHECK summary passed=N failed=M"; "VFSINFO ..." lines are informational. Exit
 * status: the number of failed checks (at most 100); 125 for a usage error.
 */
#include "vfs_check.h"
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define MAX_WAITS 8
#define EXIT_USAGE 125

struct tally {
	int passed, failed;
};

struct wait_item {
	const char *path, *content;
	int secs;
	bool done;
};

struct options {
	bool readonly;
	const char *dir, *only, *ready, *verify, *probe;
	size_t verify_size;
	int timeout;
	struct wait_item waits[MAX_WAITS];
	int nwaits;
};

static void report(struct tally *t, const char *name, int rc, const char *why)
{
	char *p, clean[VC_WHY_MAX];

	if (rc == 0) {
		t->passed++;
		printf("VFSCHECK ok %s\n", name);
	} else {
		t->failed++;
		/* One line per check, whatever the detail holds. */
		snprintf(clean, sizeof(clean), "%s", why[0] ? why : "failed without a reason");
		for (p = clean; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		printf("VFSCHECK not ok %s: %s\n", name, clean);
	}
	fflush(stdout);
}

static int finish(const struct tally *t)
{
	printf("VFSCHECK summary passed=%d failed=%d\n", t->passed, t->failed);
	fflush(stdout);
	return t->failed > 100 ? 100 : t->failed;
}

/* The check process: its own directory (DIR/NAME) unless read-only, a time limit. */
static void run_child(struct vc *v, const struct vc_check *c, bool own_dir, int fd)
{
	int rc = -1;

	v->why[0] = '\0';
	if (own_dir && (mkdir(c->name, 0755) != 0 || chdir(c->name) != 0))
		vc_fail(v, "cannot make and enter %s: %s", c->name, vc_errname(errno));
	else
		rc = c->fn(v);
	alarm(0);
	if (rc != 0 && write(fd, v->why, strlen(v->why)) < 0)
		rc = -1;
	_exit(rc ? 1 : 0);
}

/* Run one check in its own process, so that a crash or a hang costs only that check. */
static void run_one(struct vc *v, struct tally *t, const struct vc_check *c, bool own_dir,
		    int timeout)
{
	int p[2], status = 0;
	long t0 = vc_now_ms();
	ssize_t n = 0;
	pid_t pid;

	v->why[0] = '\0';
	fflush(NULL);
	if (pipe2(p, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
		vc_fail(v, "pipe/fork: %s", vc_errname(errno));
		report(t, c->name, -1, v->why);
		return;
	}
	if (pid == 0) {
		close(p[0]);
		alarm((unsigned)timeout);
		run_child(v, c, own_dir, p[1]);
	}
	close(p[1]);
	waitpid(pid, &status, 0);
	/* Not blocking: a helper process of the check may still hold the pipe open. */
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	n = read(p[0], v->why, sizeof(v->why) - 1);
	v->why[n > 0 ? n : 0] = '\0';
	close(p[0]);
	if (WIFSIGNALED(status) && n <= 0)
		vc_fail(v, "killed by signal %d (%s)%s", WTERMSIG(status), strsignal(WTERMSIG(status)),
			WTERMSIG(status) == SIGALRM ? ": time limit reached" : "");
	vc_info("time %s %ld ms", c->name, vc_now_ms() - t0);
	report(t, c->name, WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1, v->why);
}

static bool selected(const char *only, const char *name)
{
	size_t len = strlen(name);
	const char *p = only;

	if (!only)
		return true;
	while ((p = strstr(p, name)) != NULL) {
		if ((p == only || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
			return true;
		p += len;
	}
	return false;
}

/* A name in the --only list that no check in FAMILIES has: it would silently run nothing. */
static bool unknown_name(const char *only, const struct vc_check *const *families, char *out,
			 size_t size)
{
	const struct vc_check *const *f;
	const struct vc_check *c;
	const char *p = only;

	while (p && *p) {
		size_t len = strcspn(p, ",");
		bool found = false;

		for (f = families; *f && !found; f++)
			for (c = *f; c->name && !found; c++)
				found = strlen(c->name) == len && strncmp(c->name, p, len) == 0;
		if (!found) {
			snprintf(out, size, "--only: no check named '%.*s'", (int)len, p);
			return true;
		}
		p += len + (p[len] == ',');
	}
	return false;
}

/* The mount point above the current directory: the highest ancestor on the same device. */
static int find_root(struct vc *v)
{
	struct stat here, up;
	char *slash;

	if (!realpath(".", v->root) || stat(v->root, &here) != 0)
		return vc_fail(v, "realpath/stat of .: %s", vc_errname(errno));
	while (strcmp(v->root, "/") != 0) {
		char parent[VC_PATH_MAX];

		snprintf(parent, sizeof(parent), "%s", v->root);
		slash = strrchr(parent, '/');
		if (slash == parent)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(parent, &up) != 0 || up.st_dev != here.st_dev)
			break;
		snprintf(v->root, sizeof(v->root), "%s", parent);
	}
	return 0;
}

/* Enter the checked directory (made unless read-only) and find the mount root. */
static int setup(const struct options *o, const struct vc_check *const *families, struct vc *v)
{
	if (unknown_name(o->only, families, v->why, sizeof(v->why)))
		return -1;
	if (!o->readonly && mkdir(o->dir, 0755) != 0 && errno != EEXIST)
		return vc_fail(v, "mkdir %s: %s", o->dir, vc_errname(errno));
	if (chdir(o->dir) != 0)
		return vc_fail(v, "chdir %s: %s", o->dir, vc_errname(errno));
	return find_root(v);
}

static int run_checks(const struct options *o)
{
	static const struct vc_check *const rw[] = {
		vc_data_checks, vc_names_checks, vc_meta_checks, vc_lock_checks, vc_creds_checks,
		vc_escape_checks, NULL,
	};
	static const struct vc_check *const ro[] = { vc_readonly_checks, NULL };
	const struct vc_check *const *family;
	const struct vc_check *c;
	struct tally t = { 0, 0 };
	static struct vc v;

	if (setup(o, o->readonly ? ro : rw, &v) != 0) {
		report(&t, "setup", -1, v.why);
		return finish(&t);
	}
	vc_info("checking %s (mount root %s)", o->dir, v.root);
	for (family = o->readonly ? ro : rw; *family; family++)
		for (c = *family; c->name; c++)
			if (selected(o->only, c->name))
				run_one(&v, &t, c, !o->readonly, o->timeout);
	return finish(&t);
}

/* --- --wait-for ------------------------------------------------------------------------- */

/* BUF with line breaks and other control characters shown as '.', for one report line. */
static const char *oneline(const char *buf, char *out, size_t size)
{
	size_t i;

	for (i = 0; buf[i] && i + 1 < size; i++)
		out[i] = (unsigned char)buf[i] < 0x20 ? '.' : buf[i];
	out[i] = '\0';
	return out;
}

/* Read up to SIZE-1 bytes of PATH, freshly opened; describe an error instead. */
static void read_small(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(buf, size, "(open: %s)", vc_errname(errno));
		return;
	}
	n = read(fd, buf, size - 1);
	if (n < 0)
		snprintf(buf, size, "(read: %s)", vc_errname(errno));
	else
		buf[n] = '\0';
	close(fd);
}

/* The check name of a wait: host_change:BASENAME. */
static const char *wait_name(const struct wait_item *w, char *buf, size_t size)
{
	const char *base = strrchr(w->path, '/');

	snprintf(buf, size, "host_change:%s", base ? base + 1 : w->path);
	return buf;
}

static void wait_poll(struct wait_item *w, struct tally *t, long start)
{
	char buf[4096], name[300], why[VC_WHY_MAX], shown[101];
	long waited = vc_now_ms() - start;

	wait_name(w, name, sizeof(name));
	read_small(w->path, buf, sizeof(buf));
	if (strstr(buf, w->content)) {
		w->done = true;
		vc_info("%s: seen %ld ms after the ready signal", name, waited);
		report(t, name, 0, "");
	} else if (waited > w->secs * 1000L) {
		w->done = true;
		snprintf(why, sizeof(why), "no '%s' within %d s; last read '%s'", w->content, w->secs,
			 oneline(buf, shown, sizeof(shown)));
		report(t, name, -1, why);
	}
}

static int wait_for_changes(struct options *o)
{
	const struct timespec tick = { 0, 200 * 1000000L };
	struct tally t = { 0, 0 };
	char buf[4096], name[300], shown[101];
	long start;
	int i, left;

	for (i = 0; i < o->nwaits; i++) {
		read_small(o->waits[i].path, buf, sizeof(buf));
		vc_info("wait-for %s: first read '%s'", o->waits[i].path,
			oneline(buf, shown, sizeof(shown)));
		if (strstr(buf, o->waits[i].content)) {
			o->waits[i].done = true;
			report(&t, wait_name(&o->waits[i], name, sizeof(name)), -1,
			       "holds the new content at the first read (changed too early?)");
		}
	}
	if (o->ready) {
		int fd = open(o->ready, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0 || write(fd, "ready\n", 6) != 6 || close(fd) != 0)
			report(&t, "ready_file", -1, vc_errname(errno));
	}
	start = vc_now_ms();
	do {
		for (i = 0, left = 0; i < o->nwaits; i++) {
			if (!o->waits[i].done)
				wait_poll(&o->waits[i], &t, start);
			left += !o->waits[i].done;
		}
		if (left)
			nanosleep(&tick, NULL);
	} while (left);
	return finish(&t);
}

/* --- host-side helpers ------------------------------------------------------------------ */

static int verify_pattern(const struct options *o)
{
	struct tally t = { 0, 0 };
	struct vc v;

	v.why[0] = '\0';
	report(&t, o->verify, vc_verify_pattern_file(&v, o->verify, o->verify_size, 65536), v.why);
	return finish(&t);
}

static int probe(const char *dir)
{
	char path[VC_PATH_MAX];
	const char *missing = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/.vfs_check-probe", dir);
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		missing = "a writable directory";
	else if (fsetxattr(fd, "user.probe", "1", 1, 0) != 0)
		missing = "user.* extended attributes";
	else if (fallocate(fd, 0, 0, 4096) != 0)
		missing = "fallocate";
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	if (missing)
		printf("VFSPROBE %s lacks %s (%s)\n", dir, missing, vc_errname(errno));
	return missing ? 1 : 0;
}

/* --- options ---------------------------------------------------------------------------- */

static int usage(const char *why)
{
	fprintf(stderr, "vfs_check: %s\n"
		"usage: vfs_check [--only NAME,...] [--timeout SECONDS] DIR\n"
		"       vfs_check --readonly DIR\n"
		"       vfs_check [--ready FILE] --wait-for FILE CONTENT SECONDS [--wait-for ...]\n"
		"       vfs_check --verify-pattern FILE SIZE\n"
		"       vfs_check --probe DIR\n", why);
	return EXIT_USAGE;
}

static int parse_number(const char *s, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return errno || *end || end == s || *out < 0 || *out > max ? -1 : 0;
}

/* Parse argv into O; -1 on a usage error. */
static int parse(int argc, char **argv, struct options *o)
{
	long n;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		int left = argc - i - 1;

		if (strcmp(a, "--readonly") == 0) {
			o->readonly = true;
		} else if (strcmp(a, "--only") == 0 && left >= 1) {
			o->only = argv[++i];
		} else if (strcmp(a, "--timeout") == 0 && left >= 1) {
			if (parse_number(argv[++i], 86400, &n) || n == 0)
				return -1;
			o->timeout = (int)n;
		} else if (strcmp(a, "--ready") == 0 && left >= 1) {
			o->ready = argv[++i];
		} else if (strcmp(a, "--wait-for") == 0 && left >= 3 && o->nwaits < MAX_WAITS) {
			struct wait_item *w = &o->waits[o->nwaits++];

			w->path = argv[i + 1];
			w->content = argv[i + 2];
			if (parse_number(argv[i + 3], 3600, &n) || !w->content[0])
				return -1;
			w->secs = (int)n;
			i += 3;
		} else if (strcmp(a, "--verify-pattern") == 0 && left >= 2) {
			o->verify = argv[++i];
			if (parse_number(argv[++i], LONG_MAX, &n))
				return -1;
			o->verify_size = (size_t)n;
		} else if (strcmp(a, "--probe") == 0 && left >= 1) {
			o->probe = argv[++i];
		} else if (a[0] != '-' && !o->dir) {
			o->dir = a;
		} else {
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { .timeout = 300 };

	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	if (parse(argc, argv, &o) != 0)
		return usage("bad arguments");
	if (o.probe)
		return probe(o.probe);
	if (o.verify)
		return verify_pattern(&o);
	if (o.nwaits > 0)
		return o.dir ? usage("--wait-for takes no DIR") : wait_for_changes(&o);
	if (!o.dir)
		return usage("no directory to check");
	return run_checks(&o);
}
