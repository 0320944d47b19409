/* mounts.c: init's file systems: /dev /proc /sys, the root switch, and the job's shares. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "init.h"

struct mnt_spec {
	const char *source, *dir, *type;
	unsigned long flags;
	const char *data;
};

/* What every command expects; init cannot run without them. */
static const struct mnt_spec mnt_required[] = {
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
};

/* Shared memory and pseudo-terminals: useful to many programs, but not worth a failure. */
static const struct mnt_spec mnt_optional[] = {
	{ "tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666" },
};

static int mnt_mount(const struct mnt_spec *m)
{
	if (mkdir(m->dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return mount(m->source, m->dir, m->type, m->flags, m->data) < 0 ? -errno : 0;
}

/* Fill closed fds 0-2 with /dev/null, so every later open gets fd 3 or more. */
static int mnt_fill_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		int got;

		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		got = open("/dev/null", O_RDWR);
		if (got < 0)
			return -errno;
		if (got != fd)
			return -EBADF; /* a lower fd was closed: impossible, we fill in order */
	}
	return 0;
}

int mounts_early(struct init *in)
{
	int err;

	for (size_t i = 0; i < ARRAY_SIZE(mnt_required); i++) {
		err = mnt_mount(&mnt_required[i]);
		if (err) {
			init_error(in, "cannot mount %s on %s: %s", mnt_required[i].type,
				   mnt_required[i].dir, strerror(-err));
			return err;
		}
	}
	err = mnt_fill_std_fds();
	if (err) {
		init_error(in, "cannot open /dev/null for fds 0-2: %s", strerror(-err));
		return err;
	}
	/* The kernel opened /dev/console as fd 2 only if the initramfs had the node. */
	err = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (err >= 0)
		in->console = err;
	for (size_t i = 0; i < ARRAY_SIZE(mnt_optional); i++) {
		err = mnt_mount(&mnt_optional[i]);
		if (err)
			init_say(in, "no %s on %s: %s", mnt_optional[i].type, mnt_optional[i].dir,
				 strerror(-err));
	}
	return 0;
}

/* Move the running /dev, /proc or /sys into the new root, creating the mount point. */
static int mnt_move_into_root(struct init *in, const char *name)
{
	const struct job_share *root = &in->job.root;
	char from[16], to[sizeof(INIT_NEWROOT) + 16];
	struct stat st;

	snprintf(from, sizeof(from), "/%s", name);
	snprintf(to, sizeof(to), INIT_NEWROOT "/%s", name);
	if (stat(to, &st) < 0 && (errno != ENOENT || root->read_only || mkdir(to, 0755) < 0)) {
		int err = -errno;

		if (err == -ENOENT)
			init_error(in, "the read-only root share '%s' has no /%s: create that "
				   "directory in the shared directory", root->tag, name);
		else
			init_error(in, "cannot create /%s on the root share '%s': %s", name,
				   root->tag, strerror(-err));
		return err;
	}
	if (mount(from, to, NULL, MS_MOVE, NULL) < 0) {
		int err = -errno;

		init_error(in, "cannot move %s into the root share: %s", from, strerror(-err));
		return err;
	}
	return 0;
}

/* Make the current directory "/" as switch_root does; the old initramfs stays in RAM. */
static int mnt_become_root(struct init *in)
{
	const char *step = "chdir";
	int err;

	if (chdir(INIT_NEWROOT) == 0) {
		step = "mount --move";
		if (mount(".", "/", NULL, MS_MOVE, NULL) == 0) {
			step = "chroot";
			if (chroot(".") == 0) {
				step = "chdir /";
				if (chdir("/") == 0)
					return 0;
			}
		}
	}
	err = -errno;
	init_error(in, "root switch failed at %s: %s", step, strerror(-err));
	return err;
}

/*
 * A read-only root leaves programs no writable /tmp: put a tmpfs there when the root has
 * the directory. A job share on /tmp is mounted later, over it.
 */
static void mnt_tmp_for_readonly_root(struct init *in)
{
	static const struct mnt_spec tmp = { "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
					     "mode=1777" };
	struct stat st;
	int err;

	if (!in->job.root.read_only || stat("/tmp", &st) < 0 || !S_ISDIR(st.st_mode))
		return;
	err = mnt_mount(&tmp);
	if (err)
		init_say(in, "no tmpfs on /tmp: %s", strerror(-err));
	else
		init_say(in, "tmpfs on /tmp (the root is read-only)");
}

int mounts_switch_root(struct init *in)
{
	const struct job_share *root = &in->job.root;
	static const char *const moved[] = { "dev", "proc", "sys" };
	int err;

	if (mkdir(INIT_NEWROOT, 0755) < 0 && errno != EEXIST) {
		err = -errno;
		init_error(in, "cannot create %s: %s", INIT_NEWROOT, strerror(-err));
		return err;
	}
	if (mount(root->tag, INIT_NEWROOT, "virtiofs", root->read_only ? MS_RDONLY : 0,
		  NULL) < 0) {
		err = -errno;
		init_error(in, "cannot mount the root share '%s': %s", root->tag, strerror(-err));
		return err;
	}
	for (size_t i = 0; i < ARRAY_SIZE(moved); i++) {
		err = mnt_move_into_root(in, moved[i]);
		if (err)
			return err;
	}
	err = mnt_become_root(in);
	if (err)
		return err;
	init_say(in, "root is share '%s' (%s)", root->tag, root->read_only ? "ro" : "rw");
	mnt_tmp_for_readonly_root(in);
	return 0;
}

/* mkdir -p; 0 or the -errno of the first mkdir that failed (the mount may still work). */
static int mnt_mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);
	int err = 0;

	if (len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; *p && !err; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			err = -errno;
		*p = '/';
	}
	if (!err && mkdir(path, 0755) < 0 && errno != EEXIST)
		err = -errno;
	return err;
}

int mounts_shares(struct init *in)
{
	for (size_t i = 0; i < in->job.nmounts; i++) {
		const struct job_share *m = &in->job.mounts[i];
		int mkdir_err = mnt_mkdir_p(m->dir);

		if (mount(m->tag, m->dir, "virtiofs", m->read_only ? MS_RDONLY : 0, NULL) < 0) {
			int err = -errno;

			if (err == -ENOENT && mkdir_err)
				init_error(in, "cannot mount share '%s' on %s: the directory is "
					   "missing and cannot be created (%s)", m->tag, m->dir,
					   strerror(-mkdir_err));
			else
				init_error(in, "cannot mount share '%s' on %s: %s", m->tag, m->dir,
					   strerror(-err));
			return err;
		}
		init_say(in, "share '%s' on %s (%s)", m->tag, m->dir, m->read_only ? "ro" : "rw");
	}
	return 0;
}
