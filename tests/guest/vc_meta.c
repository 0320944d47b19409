/* vc_meta.c: vfs_check's attribute checks: modes, owners, times and extended attributes. */
#include "vfs_check.h"
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static int expect_mode(struct vc *v, const char *path, mode_t want)
{
	struct stat st;

	VC_SYS(v, stat(path, &st));
	VC_REQUIRE(v, st.st_mode == want, "%s: st_mode 0%o, expected 0%o", path, st.st_mode, want);
	return 0;
}

/* chmod and fchmod modes (setuid included) are what stat reports, after a cache drop too. */
static int check_chmod(struct vc *v)
{
	int fd;

	if (vc_make_file(v, "mode", "x", 1))
		return -1;
	VC_SYS(v, chmod("mode", 0600));
	if (expect_mode(v, "mode", S_IFREG | 0600))
		return -1;
	VC_SYS(v, fd = open("mode", O_RDONLY));
	VC_SYS(v, fchmod(fd, 0604));
	VC_SYS(v, close(fd));
	vc_drop_caches();
	if (expect_mode(v, "mode", S_IFREG | 0604))
		return -1;
	VC_SYS(v, chmod("mode", 04751));
	if (expect_mode(v, "mode", S_IFREG | 04751))
		return -1;
	VC_SYS(v, mkdir("mode-dir", 0755));
	VC_SYS(v, chmod("mode-dir", 01700));
	vc_drop_caches();
	return expect_mode(v, "mode-dir", S_IFDIR | 01700);
}

/* chown and fchown (the guest is root) set exactly the owner and group asked for. */
static int check_chown(struct vc *v)
{
	struct stat st;
	int fd;

	if (vc_make_file(v, "owner", "x", 1))
		return -1;
	VC_SYS(v, chown("owner", 1234, 5678));
	VC_SYS(v, stat("owner", &st));
	VC_REQUIRE(v, st.st_uid == 1234 && st.st_gid == 5678, "owner %u:%u, expected 1234:5678",
		   st.st_uid, st.st_gid);
	VC_SYS(v, fd = open("owner", O_RDONLY));
	VC_SYS(v, fchown(fd, (uid_t)-1, 42));
	VC_SYS(v, close(fd));
	vc_drop_caches();
	VC_SYS(v, stat("owner", &st));
	VC_REQUIRE(v, st.st_uid == 1234 && st.st_gid == 42, "owner %u:%u, expected 1234:42",
		   st.st_uid, st.st_gid);
	return 0;
}

static int expect_times(struct vc *v, const char *path, const struct timespec *atim,
			const struct timespec *mtim)
{
	struct stat st;

	VC_SYS(v, stat(path, &st));
	if (atim)
		VC_REQUIRE(v, st.st_atim.tv_sec == atim->tv_sec && st.st_atim.tv_nsec == atim->tv_nsec,
			   "atime %lld.%09ld, expected %lld.%09ld", (long long)st.st_atim.tv_sec,
			   st.st_atim.tv_nsec, (long long)atim->tv_sec, atim->tv_nsec);
	VC_REQUIRE(v, st.st_mtim.tv_sec == mtim->tv_sec && st.st_mtim.tv_nsec == mtim->tv_nsec,
		   "mtime %lld.%09ld, expected %lld.%09ld", (long long)st.st_mtim.tv_sec,
		   st.st_mtim.tv_nsec, (long long)mtim->tv_sec, mtim->tv_nsec);
	return 0;
}

/* utimensat sets both times to the nanosecond; futimens with UTIME_OMIT keeps atime, and
 * UTIME_NOW moves mtime away from the value set before. */
static int check_utimensat(struct vc *v)
{
	const struct timespec set[2] = { { 1000000000, 123456789 }, { 1234567890, 987654321 } };
	const struct timespec later[2] = { { 0, UTIME_OMIT }, { 1300000000, 1 } };
	const struct timespec now[2] = { { 0, UTIME_OMIT }, { 0, UTIME_NOW } };
	struct stat st;
	int fd;

	if (vc_make_file(v, "times", "x", 1))
		return -1;
	VC_SYS(v, utimensat(AT_FDCWD, "times", set, 0));
	vc_drop_caches();
	if (expect_times(v, "times", &set[0], &set[1]))
		return -1;
	VC_SYS(v, fd = open("times", O_WRONLY));
	VC_SYS(v, futimens(fd, later));
	if (expect_times(v, "times", &set[0], &later[1]))
		return -1;
	VC_SYS(v, futimens(fd, now));
	VC_SYS(v, close(fd));
	VC_SYS(v, stat("times", &st));
	VC_REQUIRE(v, st.st_mtim.tv_sec != later[1].tv_sec, "UTIME_NOW left mtime unchanged");
	return 0;
}

/* The attribute list holds NAME (a run of NUL-terminated names). */
static bool list_has(const char *list, ssize_t len, const char *name)
{
	ssize_t off = 0;

	while (off < len) {
		if (strcmp(list + off, name) == 0)
			return true;
		off += (ssize_t)strlen(list + off) + 1;
	}
	return false;
}

/* set (create/replace flags honoured), get (size query, exact value, ERANGE with a short
 * buffer), list, remove (then ENODATA and gone from the list) on a regular file. */
static int check_xattr(struct vc *v)
{
	static const char val[] = "value-of-the-attribute";
	char buf[256], list[1024];
	ssize_t n;

	if (vc_make_file(v, "xattr", "x", 1))
		return -1;
	VC_SYS(v, setxattr("xattr", "user.test", val, strlen(val), XATTR_CREATE));
	VC_ERRNO(v, setxattr("xattr", "user.test", "x", 1, XATTR_CREATE), EEXIST);
	VC_ERRNO(v, setxattr("xattr", "user.absent", "x", 1, XATTR_REPLACE), ENODATA);
	VC_SYS(v, setxattr("xattr", "user.second", "", 0, 0));
	vc_drop_caches();
	VC_REQUIRE(v, getxattr("xattr", "user.test", NULL, 0) == (ssize_t)strlen(val),
		   "size query did not return %zu", strlen(val));
	VC_SYS(v, n = getxattr("xattr", "user.test", buf, sizeof(buf)));
	VC_REQUIRE(v, n == (ssize_t)strlen(val) && memcmp(buf, val, (size_t)n) == 0,
		   "getxattr returned %zd bytes '%.*s'", n, (int)(n > 0 ? n : 0), buf);
	VC_ERRNO(v, getxattr("xattr", "user.test", buf, 5), ERANGE);
	VC_REQUIRE(v, getxattr("xattr", "user.second", buf, sizeof(buf)) == 0, "empty value lost");
	VC_SYS(v, n = listxattr("xattr", list, sizeof(list)));
	VC_REQUIRE(v, list_has(list, n, "user.test") && list_has(list, n, "user.second"),
		   "listxattr (%zd bytes) lacks user.test or user.second", n);
	VC_ERRNO(v, listxattr("xattr", list, 3), ERANGE);
	VC_SYS(v, setxattr("xattr", "user.test", "new", 3, XATTR_REPLACE));
	VC_REQUIRE(v, getxattr("xattr", "user.test", buf, sizeof(buf)) == 3 &&
		   memcmp(buf, "new", 3) == 0, "XATTR_REPLACE did not replace the value");
	VC_SYS(v, removexattr("xattr", "user.test"));
	VC_ERRNO(v, getxattr("xattr", "user.test", buf, sizeof(buf)), ENODATA);
	VC_ERRNO(v, removexattr("xattr", "user.test"), ENODATA);
	VC_SYS(v, n = listxattr("xattr", list, sizeof(list)));
	VC_REQUIRE(v, !list_has(list, n, "user.test") && list_has(list, n, "user.second"),
		   "listxattr after removexattr is wrong");
	return 0;
}

/* The descriptor forms, on a directory; a 3000-byte value (ext4 keeps up to a block)
 * round-trips. */
static int check_xattr_fd(struct vc *v)
{
	static char big[3000], back[4096];
	char list[256];
	ssize_t n;
	int fd;

	vc_pattern(big, sizeof(big), 0, 99);
	VC_SYS(v, mkdir("xattr-dir", 0755));
	VC_SYS(v, fd = open("xattr-dir", O_RDONLY | O_DIRECTORY));
	VC_SYS(v, fsetxattr(fd, "user.big", big, sizeof(big), 0));
	VC_SYS(v, n = fgetxattr(fd, "user.big", back, sizeof(back)));
	VC_REQUIRE(v, n == (ssize_t)sizeof(big) && memcmp(big, back, sizeof(big)) == 0,
		   "fgetxattr returned %zd bytes, not the 3000-byte value", n);
	VC_SYS(v, n = flistxattr(fd, list, sizeof(list)));
	VC_REQUIRE(v, list_has(list, n, "user.big"), "flistxattr lacks user.big");
	VC_SYS(v, fremovexattr(fd, "user.big"));
	VC_ERRNO(v, fgetxattr(fd, "user.big", back, sizeof(back)), ENODATA);
	VC_SYS(v, close(fd));
	return 0;
}

const struct vc_check vc_meta_checks[] = {
	{ "chmod_fchmod", check_chmod },
	{ "chown_fchown", check_chown },
	{ "utimensat", check_utimensat },
	{ "xattr", check_xattr },
	{ "xattr_fd_dir", check_xattr_fd },
	{ NULL, NULL },
};
