/* sandbox.c: least privilege for the VMM: a private root holding only the shares and /proc, fewer capabilities. */
/*
 * The model.
 * - When: once, during start-up, after /dev/kvm, the console file, the kernel and the
 *   initrd were opened and read, before the virtio-fs devices open their shared
 *   directories and before any thread exists. Namespaces and capabilities belong to a
 *   thread and are inherited by the threads it creates later, so doing this on the only
 *   thread covers them all; with a second thread already running it would cover just one,
 *   so a process with more than one thread is refused (-EINVAL).
 * - Mounts (needs CAP_SYS_ADMIN): unshare(CLONE_NEWNS); every mount made private so
 *   nothing propagates either way; a small tmpfs (nosuid, nodev, noexec) mounted over
 *   /tmp (or another existing directory: the namespace is private, the host sees nothing)
 *   becomes the new root. In it, share i is a recursive bind mount of its host directory
 *   at /shares/i, nosuid and nodev (no device node in a share can be opened through it;
 *   the passthrough never opens one anyway), and read-only for a read-only share so even
 *   root gets EROFS; /proc is a fresh proc mount, read-only, showing only our own process
 *   where the kernel can (subset=pid,hidepid=ptraceable, Linux 5.8+): the passthrough
 *   reopens inodes through /proc/self/fd. pivot_root into it, detach the old root, chdir
 *   /, and the tmpfs root itself becomes read-only. From then on the host's file system
 *   outside the shares has no name in this process. If the host root cannot be pivoted
 *   (an initramfs), the tmpfs is moved over / and chroot'ed into instead.
 * - Capabilities: all but what the passthrough backend uses (sandbox_kept_caps below) leave
 *   the bounding, effective, permitted and inheritable sets; the ambient set is cleared;
 *   no_new_privs is set. So a compromised VMM cannot mount, load modules, ptrace, use raw
 *   I/O, create device nodes or set file capabilities, and /proc/<pid>/root of processes
 *   holding more capabilities than we do is closed to it. Setting security.* extended
 *   attributes needs CAP_SYS_ADMIN, so guests get EPERM for those (security.capability
 *   and trusted.* were already refused by the passthrough).
 * - RLIMIT_CORE is 0 (soft and hard): a core dump would hold guest memory.
 * - Without CAP_SYS_ADMIN (a user with access to /dev/kvm) the mount part is skipped with
 *   one log_info line and the shares are opened by their host paths; capabilities are
 *   still dropped as far as the process may (the bounding set needs CAP_SETPCAP).
 * - seccomp filters (seccomp.c) are loaded after this, per thread, and are independent of
 *   it: --seccomp=off changes nothing here, and disabling this (enable = false) changes
 *   nothing there.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "sandbox.h"

/* Capabilities the passthrough backend uses (devices/virtio_fs/pt_*.c); every other goes. */
static const int sandbox_kept_caps[] = {
	CAP_CHOWN,	     /* SETATTR of owner and group (fchownat) */
	CAP_DAC_OVERRIDE,    /* ops that run as the VMM rather than as the guest caller */
	CAP_DAC_READ_SEARCH, /* open_by_handle_at (inode eviction), linkat(AT_EMPTY_PATH) */
	CAP_FOWNER,	     /* chmod, utimes, xattrs, O_NOATIME on other users' files */
	CAP_FSETID,	     /* chmod keeps setgid on a file whose group is not ours */
	CAP_SETUID,	     /* setfsuid to the guest caller around creating ops (pt_creds.c) */
	CAP_SETGID,	     /* setfsgid; setgroups(0) on each worker thread (pt_creds.c) */
};

/* Existing directories the tmpfs root may be mounted over, in order of preference. */
static const char *const sandbox_stage_dirs[] = { "/tmp", "/mnt", "/run", "/var/tmp", "/dev" };

#define SANDBOX_TMPFS_OPTS "size=64k,nr_inodes=64,mode=0755"
#define SANDBOX_PROC_OPTS "subset=pid,hidepid=ptraceable"

PRINTF_LIKE(4, 5) static int sandbox_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

void sandbox_config_from_vm(const struct vm_config *vc, bool enable, struct sandbox_config *sc)
{
	unsigned i;

	memset(sc, 0, sizeof(*sc));
	sc->enable = enable;
	sc->nshares = vc->nshares < SANDBOX_MAX_SHARES ? vc->nshares : SANDBOX_MAX_SHARES;
	for (i = 0; i < sc->nshares; i++)
		sc->shares[i] = (struct sandbox_share){ .path = vc->shares[i].path,
							.readonly = vc->shares[i].readonly };
}

const char *sandbox_share_path(const struct sandbox *sb, unsigned i)
{
	if (i >= sb->nshares)
		return NULL;
	return sb->private_root ? sb->path[i] : sb->host_path[i];
}

/* The number of threads in this process from /proc/self/status; 0 if it cannot be read. */
static unsigned sandbox_threads(void)
{
	char buf[4096], *p;
	unsigned n = 0;
	ssize_t len;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	p = strstr(buf, "\nThreads:");
	if (p && sscanf(p + 9, "%u", &n) != 1)
		n = 0;
	return n;
}

/* Opens each share's directory, so a missing or wrong path is reported by its name. */
static int sandbox_open_shares(const struct sandbox_config *cfg, int *fds, char *err,
			       size_t errlen)
{
	unsigned i;
	int e;

	for (i = 0; i < cfg->nshares; i++) {
		const char *path = cfg->shares[i].path;

		fds[i] = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fds[i] >= 0)
			continue;
		e = errno;
		while (i > 0)
			close(fds[--i]);
		if (e == ENOENT)
			return sandbox_fail(err, errlen, -e, "share path %s does not exist", path);
		if (e == ENOTDIR)
			return sandbox_fail(err, errlen, -e, "share path %s is not a directory",
					    path);
		return sandbox_fail(err, errlen, -e, "cannot open share path %s: %s", path,
				    strerror(e));
	}
	return 0;
}

/* 1: in a private mount namespace; 0: not permitted to make one; or -errno. */
static int sandbox_unshare(char *err, size_t errlen)
{
	if (unshare(CLONE_NEWNS) != 0) {
		if (errno == EPERM)
			return 0;
		return sandbox_fail(err, errlen, -errno,
				    "sandbox: cannot create a private mount namespace: %s",
				    strerror(errno));
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return sandbox_fail(err, errlen, -errno, "sandbox: cannot make the mounts private: %s",
				    strerror(errno));
	return 1;
}

/*
 * Mounts the tmpfs that becomes the root and moves into it. 1: done; 0: mounting is not
 * permitted here (an LSM may refuse what the capability allows); or -errno.
 */
static int sandbox_stage_root(char *err, size_t errlen)
{
	const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	struct stat st;
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(sandbox_stage_dirs); i++) {
		const char *dir = sandbox_stage_dirs[i];

		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		if (mount("microvm", dir, "tmpfs", flags, SANDBOX_TMPFS_OPTS) != 0) {
			if (errno == EPERM || errno == EACCES)
				return 0;
			return sandbox_fail(err, errlen, -errno,
					    "sandbox: cannot mount a tmpfs on %s: %s", dir,
					    strerror(errno));
		}
		if (chdir(dir) != 0)
			return sandbox_fail(err, errlen, -errno, "sandbox: cannot enter %s: %s", dir,
					    strerror(errno));
		return 1;
	}
	return sandbox_fail(err, errlen, -ENOENT,
			    "sandbox: no directory to mount the private root on (/tmp, /mnt ...)");
}

/* nosuid, nodev and maybe read-only on the mount at path and every mount below it. */
static int sandbox_restrict(const char *path, bool readonly)
{
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV;
	struct statvfs sv;

#ifdef MOUNT_ATTR_SIZE_VER0
	struct mount_attr a = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					    (readonly ? MOUNT_ATTR_RDONLY : 0) };

	if (syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &a, sizeof(a)) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
#endif
	/* Before Linux 5.12: the top mount only, keeping the flags it had. */
	if (statvfs(path, &sv) != 0)
		return -errno;
	if (readonly || (sv.f_flag & ST_RDONLY))
		flags |= MS_RDONLY;
	if (sv.f_flag & ST_NOEXEC)
		flags |= MS_NOEXEC;
	return mount(NULL, path, NULL, flags, NULL) == 0 ? 0 : -errno;
}

/* Share i at shares/<i> of the staged root (the current directory). */
static int sandbox_bind_share(struct sandbox *sb, unsigned i, int fd, bool readonly,
			      char *err, size_t errlen)
{
	char src[32], dst[32];
	int ret = 0;

	/* The descriptor names the directory even if the stage now hides its path. */
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	snprintf(dst, sizeof(dst), "shares/%u", i);
	if (mkdir(dst, 0755) != 0 || mount(src, dst, NULL, MS_BIND | MS_REC, NULL) != 0)
		ret = -errno;
	if (ret == 0)
		ret = sandbox_restrict(dst, readonly);
	if (ret)
		return sandbox_fail(err, errlen, ret, "sandbox: cannot bind share path %s: %s",
				    sb->host_path[i], strerror(-ret));
	snprintf(sb->path[i], sizeof(sb->path[i]), SANDBOX_SHARES_DIR "/%u", i);
	return 0;
}

/* A proc of our own, read-only (no sysctl writes); only our process where supported. */
static int sandbox_mount_proc(char *err, size_t errlen)
{
	const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY;
	int ret = 0;

	if (mkdir("proc", 0555) != 0)
		ret = -errno;
	else if (mount("proc", "proc", "proc", flags, SANDBOX_PROC_OPTS) == 0 ||
		 mount("proc", "proc", "proc", flags, NULL) == 0)
		return 0;
	/* A container may forbid new proc mounts: the existing one, read-only, will do. */
	else if (mount("/proc", "proc", NULL, MS_BIND | MS_REC, NULL) != 0)
		ret = -errno;
	if (ret == 0)
		ret = sandbox_restrict("proc", true);
	if (ret)
		return sandbox_fail(err, errlen, ret, "sandbox: cannot mount /proc: %s",
				    strerror(-ret));
	return 0;
}

/* Makes the current directory the root and lets go of the old one. */
static int sandbox_pivot(void)
{
	int old = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), ret = 0;

	if (old < 0)
		return -errno;
	/* The old root ends up mounted on top of the new one: unmount it from under us. */
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (fchdir(old) != 0 || umount2(".", MNT_DETACH) != 0)
			ret = -errno;
	} else if (errno == EINVAL) {
		/* The root is an initramfs (rootfs), which cannot be pivoted away. */
		if (mount(".", "/", NULL, MS_MOVE, NULL) != 0 || chroot(".") != 0)
			ret = -errno;
	} else {
		ret = -errno;
	}
	close(old);
	if (ret == 0 && chdir("/") != 0)
		ret = -errno;
	return ret;
}

/* Builds the private root in the staged tmpfs and switches to it. */
static int sandbox_build_root(struct sandbox *sb, const struct sandbox_config *cfg,
			      const int *fds, char *err, size_t errlen)
{
	const unsigned long ro = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV |
				 MS_NOEXEC;
	unsigned i;
	int ret = 0;

	if (mkdir("shares", 0755) != 0)
		return sandbox_fail(err, errlen, -errno, "sandbox: cannot create /shares: %s",
				    strerror(errno));
	for (i = 0; i < cfg->nshares && ret == 0; i++)
		ret = sandbox_bind_share(sb, i, fds[i], cfg->shares[i].readonly, err, errlen);
	if (ret == 0)
		ret = sandbox_mount_proc(err, errlen);
	if (ret)
		return ret;
	ret = sandbox_pivot();
	if (ret == 0 && mount(NULL, "/", NULL, ro, NULL) != 0)
		ret = -errno;
	if (ret)
		return sandbox_fail(err, errlen, ret, "sandbox: cannot switch to the private root: %s",
				    strerror(-ret));
	sb->private_root = true;
	return 0;
}

static uint64_t sandbox_kept_mask(void)
{
	uint64_t m = 0;
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(sandbox_kept_caps); i++)
		m |= 1ULL << sandbox_kept_caps[i];
	return m;
}

/* Drops what it may from the bounding set: that needs CAP_SETPCAP, effective until capset. */
static bool sandbox_drop_bounding(uint64_t keep)
{
	bool all = true;
	int cap, has;

	/* PR_CAPBSET_READ fails with EINVAL past the last capability this kernel knows. */
	for (cap = 0; cap < 64 && (has = prctl(PR_CAPBSET_READ, cap, 0, 0, 0)) >= 0; cap++) {
		if (has == 0 || (keep & (1ULL << cap)))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
			all = false;
	}
	return all;
}

static int sandbox_drop_caps(struct sandbox *sb, char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	uint64_t keep = sandbox_kept_mask();
	unsigned i;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return sandbox_fail(err, errlen, -errno, "sandbox: cannot set no_new_privs: %s",
				    strerror(errno));
	sb->bounding_dropped = sandbox_drop_bounding(keep);
	/* EINVAL before Linux 4.3, which has no ambient set to clear. */
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (syscall(SYS_capget, &hdr, data) != 0)
		return sandbox_fail(err, errlen, -errno, "sandbox: capget: %s", strerror(errno));
	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		uint32_t k = (uint32_t)(keep >> (32 * i));

		data[i].effective &= k;
		data[i].permitted &= k;
		data[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data) != 0)
		return sandbox_fail(err, errlen, -errno, "sandbox: cannot drop capabilities: %s",
				    strerror(errno));
	sb->caps_dropped = true;
	if (!sb->bounding_dropped)
		log_debug("sandbox: the bounding set stays as it was (no CAP_SETPCAP)");
	return 0;
}

/* The mount part: 0 also when it is not permitted here (then the host paths stay). */
static int sandbox_enter_mounts(struct sandbox *sb, const struct sandbox_config *cfg,
				char *err, size_t errlen)
{
	int fds[SANDBOX_MAX_SHARES];
	unsigned i;
	int ns = sandbox_unshare(err, errlen), ret;

	if (ns < 0)
		return ns;
	/* After unshare: a bind mount's source must be a mount of our own namespace. */
	ret = sandbox_open_shares(cfg, fds, err, errlen);
	if (ret)
		return ret;
	if (ns)
		ns = sandbox_stage_root(err, errlen);
	if (ns > 0)
		ret = sandbox_build_root(sb, cfg, fds, err, errlen);
	else if (ns < 0)
		ret = ns;
	else
		log_info("running without a private mount namespace (needs CAP_SYS_ADMIN): "
			 "the VMM can name every host path its user can");
	for (i = 0; i < cfg->nshares; i++)
		close(fds[i]);
	return ret;
}

int sandbox_enter(struct sandbox *sb, const struct sandbox_config *cfg, char *err,
		  size_t errlen)
{
	const struct rlimit nocore = { 0, 0 };
	unsigned i, threads;
	int ret;

	memset(sb, 0, sizeof(*sb));
	if (cfg->nshares > SANDBOX_MAX_SHARES)
		return sandbox_fail(err, errlen, -E2BIG, "sandbox: more than %u shares",
				    SANDBOX_MAX_SHARES);
	sb->nshares = cfg->nshares;
	for (i = 0; i < cfg->nshares; i++)
		sb->host_path[i] = cfg->shares[i].path;
	if (!cfg->enable)
		return 0;
	threads = sandbox_threads();
	if (threads > 1)
		return sandbox_fail(err, errlen, -EINVAL,
				    "sandbox: %u threads already run; it must be entered before "
				    "any thread is created", threads);
	if (setrlimit(RLIMIT_CORE, &nocore) != 0)
		return sandbox_fail(err, errlen, -errno, "sandbox: cannot disable core dumps: %s",
				    strerror(errno));
	ret = sandbox_enter_mounts(sb, cfg, err, errlen);
	if (ret == 0)
		ret = sandbox_drop_caps(sb, err, errlen);
	if (ret == 0)
		log_info("sandbox: %s; capabilities reduced to the %zu the passthrough uses",
			 sb->private_root ? "private root, shares at " SANDBOX_SHARES_DIR "/N"
					  : "host paths",
			 ARRAY_SIZE(sandbox_kept_caps));
	return ret;
}
