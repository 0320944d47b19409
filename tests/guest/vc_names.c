/* vc_names.c: vfs_check's name space checks: rename, link, symlink, directories, errors. */
#include "vfs_check.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define BIG_DIR_ENTRIES 3000

static int ino_of(struct vc *v, const char *path, ino_t *ino)
{
	struct stat st;

	VC_SYS(v, lstat(path, &st));
	*ino = st.st_ino;
	return 0;
}

/* The old name is gone, the new one has the same inode and data. */
static int check_rename(struct vc *v)
{
	ino_t before = 0, after = 0;

	if (vc_make_file(v, "ren-a", "rename me\n", 10) || ino_of(v, "ren-a", &before))
		return -1;
	VC_SYS(v, rename("ren-a", "ren-b"));
	VC_ERRNO(v, access("ren-a", F_OK), ENOENT);
	if (ino_of(v, "ren-b", &after))
		return -1;
	VC_REQUIRE(v, before == after, "inode %lu became %lu", (unsigned long)before,
		   (unsigned long)after);
	return vc_expect_file(v, "ren-b", "rename me\n", 10);
}

/* Renaming over an existing file replaces it; the replaced inode lives on while open. */
static int check_rename_over(struct vc *v)
{
	struct stat st;
	int old;

	if (vc_make_file(v, "over-src", "new content\n", 12) ||
	    vc_make_file(v, "over-dst", "old\n", 4))
		return -1;
	VC_SYS(v, old = open("over-dst", O_RDONLY));
	VC_SYS(v, rename("over-src", "over-dst"));
	VC_ERRNO(v, access("over-src", F_OK), ENOENT);
	if (vc_expect_file(v, "over-dst", "new content\n", 12) || vc_expect_fd(v, old, 0, "old\n", 4))
		return -1;
	VC_SYS(v, fstat(old, &st));
	VC_REQUIRE(v, st.st_nlink == 0, "the replaced file has st_nlink %lu, expected 0",
		   (unsigned long)st.st_nlink);
	VC_SYS(v, close(old));
	return 0;
}

/* RENAME_NOREPLACE refuses an existing target with EEXIST and changes nothing. */
static int check_rename_noreplace(struct vc *v)
{
	if (vc_make_file(v, "nr-a", "A\n", 2) || vc_make_file(v, "nr-b", "B\n", 2))
		return -1;
	VC_ERRNO(v, renameat2(AT_FDCWD, "nr-a", AT_FDCWD, "nr-b", RENAME_NOREPLACE), EEXIST);
	if (vc_expect_file(v, "nr-a", "A\n", 2) || vc_expect_file(v, "nr-b", "B\n", 2))
		return -1;
	VC_SYS(v, renameat2(AT_FDCWD, "nr-a", AT_FDCWD, "nr-c", RENAME_NOREPLACE));
	VC_ERRNO(v, access("nr-a", F_OK), ENOENT);
	return vc_expect_file(v, "nr-c", "A\n", 2);
}

/* RENAME_EXCHANGE swaps two files' contents, and a file with a directory. */
static int check_rename_exchange(struct vc *v)
{
	struct stat st;

	if (vc_make_file(v, "ex-a", "first\n", 6) || vc_make_file(v, "ex-b", "second\n", 7))
		return -1;
	VC_SYS(v, renameat2(AT_FDCWD, "ex-a", AT_FDCWD, "ex-b", RENAME_EXCHANGE));
	if (vc_expect_file(v, "ex-a", "second\n", 7) || vc_expect_file(v, "ex-b", "first\n", 6))
		return -1;
	VC_SYS(v, mkdir("ex-d", 0755));
	VC_SYS(v, renameat2(AT_FDCWD, "ex-a", AT_FDCWD, "ex-d", RENAME_EXCHANGE));
	VC_SYS(v, lstat("ex-a", &st));
	VC_REQUIRE(v, S_ISDIR(st.st_mode), "ex-a is not the directory after the exchange");
	VC_ERRNO(v, renameat2(AT_FDCWD, "ex-a", AT_FDCWD, "ex-missing", RENAME_EXCHANGE), ENOENT);
	return vc_expect_file(v, "ex-d", "second\n", 7);
}

/* A directory moves with its contents; over a non-empty directory: ENOTEMPTY; into
 * itself: EINVAL. */
static int check_rename_dir(struct vc *v)
{
	VC_SYS(v, mkdir("rd-from", 0755));
	VC_SYS(v, mkdir("rd-to", 0755));
	VC_SYS(v, mkdir("rd-full", 0755));
	if (vc_make_file(v, "rd-from/child", "child\n", 6) ||
	    vc_make_file(v, "rd-full/occupant", "x", 1))
		return -1;
	VC_SYS(v, rename("rd-from", "rd-to/moved"));
	VC_ERRNO(v, access("rd-from/child", F_OK), ENOENT);
	if (vc_expect_file(v, "rd-to/moved/child", "child\n", 6))
		return -1;
	VC_ERRNO(v, rename("rd-to", "rd-full"), ENOTEMPTY);
	VC_ERRNO(v, rename("rd-to", "rd-to/moved/inside"), EINVAL);
	return 0;
}

/* A hard link: one inode, st_nlink 2 on both names, writes seen through both, and the
 * data survives unlinking the first name. Directories cannot be linked. */
static int check_hardlink(struct vc *v)
{
	struct stat a, b;
	int fd;

	if (vc_make_file(v, "hl-a", "linked\n", 7))
		return -1;
	VC_SYS(v, link("hl-a", "hl-b"));
	VC_SYS(v, stat("hl-a", &a));
	VC_SYS(v, stat("hl-b", &b));
	VC_REQUIRE(v, a.st_ino == b.st_ino, "inodes %lu and %lu differ", (unsigned long)a.st_ino,
		   (unsigned long)b.st_ino);
	VC_REQUIRE(v, a.st_nlink == 2 && b.st_nlink == 2, "st_nlink %lu/%lu, expected 2",
		   (unsigned long)a.st_nlink, (unsigned long)b.st_nlink);
	VC_SYS(v, fd = open("hl-b", O_WRONLY | O_APPEND));
	if (vc_write_all(v, fd, "more\n", 5))
		return -1;
	VC_SYS(v, close(fd));
	VC_SYS(v, unlink("hl-a"));
	VC_SYS(v, stat("hl-b", &b));
	VC_REQUIRE(v, b.st_nlink == 1, "st_nlink %lu after unlink, expected 1",
		   (unsigned long)b.st_nlink);
	VC_SYS(v, mkdir("hl-dir", 0755));
	VC_ERRNO(v, link("hl-dir", "hl-dir2"), EPERM);
	return vc_expect_file(v, "hl-b", "linked\nmore\n", 12);
}

/* readlink returns the target byte for byte; stat follows, lstat does not, O_NOFOLLOW
 * refuses, a dangling link gives ENOENT. */
static int check_symlink(struct vc *v)
{
	char target[1001], got[2048];
	struct stat l, f, s;
	ssize_t n;

	/* 1000 bytes in 100 components: long, yet every component is a valid name. */
	for (size_t i = 0; i < sizeof(target) - 1; i++)
		target[i] = i % 10 == 9 ? '/' : (char)('a' + i % 10);
	target[sizeof(target) - 1] = '\0';
	if (vc_make_file(v, "sl-file", "through the link\n", 17))
		return -1;
	VC_SYS(v, symlink("sl-file", "sl-good"));
	VC_SYS(v, symlink(target, "sl-long"));
	VC_SYS(v, n = readlink("sl-long", got, sizeof(got)));
	VC_REQUIRE(v, n == (ssize_t)strlen(target) && memcmp(got, target, (size_t)n) == 0,
		   "readlink returned %zd bytes, expected the %zu-byte target", n, strlen(target));
	VC_SYS(v, lstat("sl-long", &l));
	VC_REQUIRE(v, S_ISLNK(l.st_mode) && l.st_size == (off_t)strlen(target),
		   "lstat: mode 0%o size %lld", l.st_mode, (long long)l.st_size);
	VC_ERRNO(v, stat("sl-long", &s), ENOENT);
	VC_SYS(v, stat("sl-good", &s));
	VC_SYS(v, stat("sl-file", &f));
	VC_REQUIRE(v, s.st_ino == f.st_ino, "stat through the link reached another inode");
	VC_ERRNO(v, open("sl-good", O_RDONLY | O_NOFOLLOW), ELOOP);
	return vc_expect_file(v, "sl-good", "through the link\n", 17);
}

/* mkdir gives a directory with the mode asked; rmdir of a non-empty one: ENOTEMPTY. */
static int check_mkdir_rmdir(struct vc *v)
{
	struct stat st;

	VC_SYS(v, mkdir("md", 0750));
	VC_SYS(v, stat("md", &st));
	VC_REQUIRE(v, st.st_mode == (S_IFDIR | 0750), "st_mode 0%o, expected 040750", st.st_mode);
	VC_ERRNO(v, mkdir("md", 0755), EEXIST);
	if (vc_make_file(v, "md/f", "x", 1))
		return -1;
	VC_SYS(v, mkdir("md/sub", 0755));
	VC_ERRNO(v, rmdir("md"), ENOTEMPTY);
	VC_SYS(v, unlink("md/f"));
	VC_ERRNO(v, rmdir("md"), ENOTEMPTY);
	VC_SYS(v, rmdir("md/sub"));
	VC_SYS(v, rmdir("md"));
	VC_ERRNO(v, stat("md", &st), ENOENT);
	return 0;
}

/* unlink removes the name; an open descriptor still reads the data (st_nlink 0). */
static int check_unlink(struct vc *v)
{
	struct stat st;
	int fd;

	if (vc_make_file(v, "ul", "still readable\n", 15))
		return -1;
	VC_SYS(v, fd = open("ul", O_RDONLY));
	VC_SYS(v, unlink("ul"));
	VC_ERRNO(v, stat("ul", &st), ENOENT);
	VC_ERRNO(v, unlink("ul"), ENOENT);
	vc_drop_caches();
	if (vc_expect_fd(v, fd, 0, "still readable\n", 15))
		return -1;
	VC_SYS(v, fstat(fd, &st));
	VC_REQUIRE(v, st.st_nlink == 0, "st_nlink %lu of the unlinked open file",
		   (unsigned long)st.st_nlink);
	VC_SYS(v, close(fd));
	VC_SYS(v, mkdir("ul-dir", 0755));
	VC_ERRNO(v, unlink("ul-dir"), EISDIR);
	return 0;
}

static int check_excl_create(struct vc *v)
{
	if (vc_make_file(v, "excl", "first\n", 6))
		return -1;
	VC_ERRNO(v, open("excl", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
	return vc_expect_file(v, "excl", "first\n", 6);
}

static int check_open_missing(struct vc *v)
{
	struct stat st;

	VC_ERRNO(v, open("no-such-file", O_RDONLY), ENOENT);
	VC_ERRNO(v, stat("no-such-dir/file", &st), ENOENT);
	return 0;
}

static int check_rmdir_file(struct vc *v)
{
	if (vc_make_file(v, "not-a-dir", "x", 1))
		return -1;
	VC_ERRNO(v, rmdir("not-a-dir"), ENOTDIR);
	return vc_expect_file(v, "not-a-dir", "x", 1);
}

/* Other errors the host reports and the guest must see unchanged. */
static int check_errno_misc(struct vc *v)
{
	char name[300];

	if (vc_make_file(v, "plain", "x", 1))
		return -1;
	VC_SYS(v, mkdir("adir", 0755));
	VC_ERRNO(v, open("plain/x", O_RDONLY), ENOTDIR);
	VC_ERRNO(v, open("plain", O_RDONLY | O_DIRECTORY), ENOTDIR);
	VC_ERRNO(v, open("adir", O_WRONLY), EISDIR);
	VC_ERRNO(v, mkdir("plain", 0755), EEXIST);
	VC_ERRNO(v, symlink("x", "plain"), EEXIST);
	VC_ERRNO(v, link("plain", "adir"), EEXIST);
	VC_ERRNO(v, rename("adir", "plain"), ENOTDIR);
	VC_ERRNO(v, rename("plain", "adir"), EISDIR);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	VC_ERRNO(v, open(name, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
	return 0;
}

/* mknod of a FIFO gives a FIFO (not opened: nothing would write to it); S_IFREG works too. */
static int check_mkfifo(struct vc *v)
{
	struct stat st;

	VC_SYS(v, mknod("fifo", S_IFIFO | 0644, 0));
	VC_SYS(v, lstat("fifo", &st));
	VC_REQUIRE(v, st.st_mode == (S_IFIFO | 0644), "st_mode 0%o, expected 010644", st.st_mode);
	VC_SYS(v, mknod("regular-by-mknod", S_IFREG | 0600, 0));
	VC_SYS(v, lstat("regular-by-mknod", &st));
	VC_REQUIRE(v, st.st_mode == (S_IFREG | 0600) && st.st_size == 0, "st_mode 0%o size %lld",
		   st.st_mode, (long long)st.st_size);
	return 0;
}

/* --- directory listings ---------------------------------------------------------------- */

static const struct {
	const char *name;
	unsigned char type;
} small_entries[] = { { ".", DT_DIR }, { "..", DT_DIR }, { "f", DT_REG },
		      { "d", DT_DIR }, { "l", DT_LNK }, { "p", DT_FIFO } };

static int small_index(const char *name)
{
	int i;

	for (i = 0; i < (int)(sizeof(small_entries) / sizeof(small_entries[0])); i++)
		if (strcmp(name, small_entries[i].name) == 0)
			return i;
	return -1;
}

/* Each entry once with its type; seekdir to a telldir position resumes at the same entry. */
static int check_readdir_small(struct vc *v)
{
	int seen[6] = { 0 }, i, n = 0;
	char after[NAME_MAX + 1];
	struct dirent *e;
	long pos;
	DIR *d;

	VC_SYS(v, mkdir("rds", 0755));
	if (vc_make_file(v, "rds/f", "x", 1))
		return -1;
	VC_SYS(v, mkdir("rds/d", 0755));
	VC_SYS(v, symlink("f", "rds/l"));
	VC_SYS(v, mknod("rds/p", S_IFIFO | 0644, 0));
	d = opendir("rds");
	VC_REQUIRE(v, d, "opendir: %s", vc_errname(errno));
	while ((e = readdir(d)) != NULL) {
		i = small_index(e->d_name);
		VC_REQUIRE(v, i >= 0 && !seen[i]++, "unexpected or repeated entry '%s'", e->d_name);
		VC_REQUIRE(v, e->d_type == small_entries[i].type, "'%s' has d_type %d, expected %d",
			   e->d_name, e->d_type, small_entries[i].type);
		n++;
	}
	VC_REQUIRE(v, n == 6, "%d entries, expected 6", n);
	rewinddir(d);
	for (i = 0; i < 3; i++)
		VC_REQUIRE(v, readdir(d), "readdir after rewinddir ended early");
	pos = telldir(d);
	e = readdir(d);
	VC_REQUIRE(v, e, "readdir ended after 3 entries");
	snprintf(after, sizeof(after), "%s", e->d_name);
	seekdir(d, pos);
	e = readdir(d);
	VC_REQUIRE(v, e && strcmp(e->d_name, after) == 0, "seekdir resumed at '%s', expected '%s'",
		   e ? e->d_name : "(end)", after);
	closedir(d);
	return 0;
}

/* Mark NAME seen in the big directory; -1 for a stranger or a repeat. */
static int big_mark(struct vc *v, unsigned char *seen, const char *name, unsigned char type)
{
	char *end;
	long i;

	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	i = name[0] == 'e' ? strtol(name + 1, &end, 10) : -1;
	VC_REQUIRE(v, i >= 0 && i < BIG_DIR_ENTRIES && *end == '\0' && strlen(name) == 5,
		   "unexpected entry '%s'", name);
	VC_REQUIRE(v, !seen[i]++, "entry '%s' listed twice", name);
	VC_REQUIRE(v, type == DT_REG, "'%s' has d_type %d", name, type);
	return 0;
}

static int big_all_seen(struct vc *v, const unsigned char *seen, const char *how)
{
	int i;

	for (i = 0; i < BIG_DIR_ENTRIES; i++)
		VC_REQUIRE(v, seen[i], "%s: entry e%04d missing", how, i);
	return 0;
}

/* Raw getdents64 with a small buffer: many READDIR(PLUS) calls, each resuming at an offset. */
static int big_getdents(struct vc *v, unsigned char *seen)
{
	char buf[1024];
	ssize_t n, off;
	int fd;

	VC_SYS(v, fd = open("big", O_RDONLY | O_DIRECTORY));
	while ((n = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);

			if (big_mark(v, seen, e->d_name, e->d_type))
				return -1;
			off += e->d_reclen;
		}
	}
	VC_REQUIRE(v, n == 0, "getdents64: %s", vc_errname(errno));
	VC_SYS(v, close(fd));
	return big_all_seen(v, seen, "getdents64");
}

/* 3000 entries: readdir(3) and getdents64 each list every name exactly once. */
static int check_readdir_large(struct vc *v)
{
	static unsigned char seen[BIG_DIR_ENTRIES];
	char name[16];
	struct dirent *e;
	DIR *d;
	int i;

	VC_SYS(v, mkdir("big", 0755));
	for (i = 0; i < BIG_DIR_ENTRIES; i++) {
		snprintf(name, sizeof(name), "big/e%04d", i);
		VC_SYS(v, mknod(name, S_IFREG | 0644, 0));
	}
	vc_drop_caches();
	d = opendir("big");
	VC_REQUIRE(v, d, "opendir: %s", vc_errname(errno));
	while ((e = readdir(d)) != NULL)
		if (big_mark(v, seen, e->d_name, e->d_type))
			return -1;
	closedir(d);
	if (big_all_seen(v, seen, "readdir"))
		return -1;
	memset(seen, 0, sizeof(seen));
	return big_getdents(v, seen);
}

const struct vc_check vc_names_checks[] = {
	{ "rename", check_rename },
	{ "rename_over_existing", check_rename_over },
	{ "rename_noreplace", check_rename_noreplace },
	{ "rename_exchange", check_rename_exchange },
	{ "rename_dir", check_rename_dir },
	{ "hardlink", check_hardlink },
	{ "symlink_readlink", check_symlink },
	{ "mkdir_rmdir", check_mkdir_rmdir },
	{ "unlink", check_unlink },
	{ "excl_create_eexist", check_excl_create },
	{ "open_missing_enoent", check_open_missing },
	{ "rmdir_file_enotdir", check_rmdir_file },
	{ "errno_misc", check_errno_misc },
	{ "mknod_fifo", check_mkfifo },
	{ "readdir_small", check_readdir_small },
	{ "readdir_large", check_readdir_large },
	{ NULL, NULL },
};
