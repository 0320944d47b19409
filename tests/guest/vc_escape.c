/* vc_escape.c: vfs_check's escape attempts: `..` and symlinks must not lead out of the share. */
/*
 * What the guest can reach is decided in two places. Path walking (`..`, symlink targets)
 * happens in the guest kernel, in the guest's own name space: `/mnt/..` is the guest's `/`
 * and a symlink to "/" or "../../etc/passwd" resolves among the guest's files, never the
 * host's; the server only ever sees LOOKUP of one name in a directory it already knows.
 * The server's part is to act on the symlink itself, never on what its target means on the
 * host: SETATTR of a symlink (lchown, utimensat with AT_SYMLINK_NOFOLLOW) must change the
 * link. The end-to-end case plants a file outside the share (vfs-outside/secret, next to
 * the share directory) and host-made links to it (host-link-*) and checks on the host
 * afterwards that nothing touched the file.
 */
#include "vfs_check.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* The guest path of the directory that holds the mount point. */
static void parent_of(const char *path, char *out, size_t size)
{
	char *slash;

	snprintf(out, size, "%s", path);
	slash = strrchr(out, '/');
	if (slash == out || !slash)
		snprintf(out, size, "/");
	else
		*slash = '\0';
}

/* `..` of the mount root is the guest's directory above the mount point; a run of `..`
 * from inside the share ends at the guest's `/`; `..` of a subdirectory is its parent. */
static int check_escape_dotdot(struct vc *v)
{
	char p[VC_PATH_MAX + 64], up[VC_PATH_MAX];
	struct stat a, b, root;

	snprintf(p, sizeof(p), "%s/..", v->root);
	parent_of(v->root, up, sizeof(up));
	VC_SYS(v, stat(p, &a));
	VC_SYS(v, stat(up, &b));
	VC_SYS(v, stat(v->root, &root));
	VC_REQUIRE(v, same_file(&a, &b), "%s is not the guest's %s", p, up);
	VC_REQUIRE(v, a.st_dev != root.st_dev, "%s is on the share's device", p);
	VC_SYS(v, stat("../../../../../../../../../../../../../../../..", &a));
	VC_SYS(v, stat("/", &b));
	VC_REQUIRE(v, same_file(&a, &b), "a run of .. from the share is not the guest's /");
	VC_SYS(v, mkdir("dd", 0755));
	VC_SYS(v, mkdir("dd/sub", 0755));
	VC_SYS(v, stat("dd/sub/..", &a));
	VC_SYS(v, stat("dd", &b));
	VC_REQUIRE(v, same_file(&a, &b), "dd/sub/.. is not dd");
	return 0;
}

/* A symlink to "/" in the share leads to the guest's own root directory. */
static int check_escape_symlink_root(struct vc *v)
{
	struct stat a, b;
	char got[8];
	ssize_t n;

	VC_SYS(v, symlink("/", "esc-root"));
	VC_SYS(v, n = readlink("esc-root", got, sizeof(got)));
	VC_REQUIRE(v, n == 1 && got[0] == '/', "readlink gave %zd bytes", n);
	VC_SYS(v, stat("esc-root", &a));
	VC_SYS(v, stat("/", &b));
	VC_REQUIRE(v, same_file(&a, &b), "esc-root does not lead to the guest's /");
	return 0;
}

/* Opening PATH must fail, or give only guest content (no host passwd, no planted secret). */
static int expect_not_host(struct vc *v, const char *path)
{
	char buf[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		VC_REQUIRE(v, errno == ENOENT || errno == ENOTDIR, "open %s: %s (expected ENOENT)",
			   path, vc_errname(errno));
		return 0;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	VC_REQUIRE(v, !strstr(buf, "root:x:0:0") && !strstr(buf, VC_HOST_SECRET),
		   "%s shows a host file: '%.60s'", path, buf);
	return 0;
}

/* Every host-link-* entry the host planted in the share root, and what lies below it. */
static int expect_host_links_blind(struct vc *v)
{
	char p[VC_PATH_MAX + 600];
	struct dirent *e;
	int count = 0;
	DIR *d = opendir(v->root);

	VC_REQUIRE(v, d, "opendir %s: %s", v->root, vc_errname(errno));
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "host-link-", 10) != 0)
			continue;
		count++;
		snprintf(p, sizeof(p), "%s/%s", v->root, e->d_name);
		if (expect_not_host(v, p))
			break;
		snprintf(p, sizeof(p), "%s/%s/secret", v->root, e->d_name);
		if (expect_not_host(v, p))
			break;
	}
	closedir(d);
	if (e)
		return -1;
	vc_info("escape: host_links=%d", count);
	return 0;
}

/* Relative and absolute symlinks to /etc/passwd resolve in the guest, which has none. */
static int check_escape_symlink_passwd(struct vc *v)
{
	VC_SYS(v, symlink("../../../../../../../../../../etc/passwd", "esc-passwd-rel"));
	VC_SYS(v, symlink("/etc/passwd", "esc-passwd-abs"));
	VC_SYS(v, symlink("../../../../../../../../../../etc", "esc-etc"));
	if (expect_not_host(v, "esc-passwd-rel") || expect_not_host(v, "esc-passwd-abs") ||
	    expect_not_host(v, "esc-etc/passwd") || expect_not_host(v, "esc-etc/shadow"))
		return -1;
	return expect_host_links_blind(v);
}

/* The number of directories between the mount root and here. */
static int depth_below_root(struct vc *v, int *depth)
{
	char *here = realpath(".", NULL), *p;
	size_t rl = strlen(v->root);

	VC_REQUIRE(v, here, "realpath: %s", vc_errname(errno));
	*depth = 0;
	for (p = here + rl; *p; p++)
		*depth += *p == '/';
	free(here);
	return 0;
}

/* A link whose target, read on the host, names vfs-outside/secret beside the share. Acting
 * on the link itself (lchown, utimensat NOFOLLOW) changes the link; following it in the
 * guest finds nothing, even with O_CREAT. */
static int check_escape_symlink_setattr(struct vc *v)
{
	const struct timespec ts[2] = { { 1100000000, 0 }, { 1200000000, 5000 } };
	char target[512] = "";
	struct stat st;
	int depth = 0, i;

	if (depth_below_root(v, &depth))
		return -1;
	for (i = 0; i <= depth; i++)
		strcat(target, "../");
	strcat(target, "vfs-outside/secret");
	VC_SYS(v, symlink(target, "esc-link"));
	VC_SYS(v, lchown("esc-link", 4321, 4321));
	VC_SYS(v, utimensat(AT_FDCWD, "esc-link", ts, AT_SYMLINK_NOFOLLOW));
	VC_SYS(v, lstat("esc-link", &st));
	VC_REQUIRE(v, S_ISLNK(st.st_mode) && st.st_uid == 4321 && st.st_gid == 4321,
		   "the link is 0%o %u:%u after lchown 4321:4321", st.st_mode, st.st_uid, st.st_gid);
	VC_REQUIRE(v, st.st_mtim.tv_sec == ts[1].tv_sec && st.st_mtim.tv_nsec == ts[1].tv_nsec,
		   "the link's mtime is %lld.%09ld", (long long)st.st_mtim.tv_sec,
		   st.st_mtim.tv_nsec);
	VC_ERRNO(v, stat("esc-link", &st), ENOENT);
	VC_ERRNO(v, chmod("esc-link", 0777), ENOENT);
	VC_ERRNO(v, truncate("esc-link", 0), ENOENT);
	VC_ERRNO(v, open("esc-link", O_WRONLY | O_CREAT, 0644), ENOENT);
	return 0;
}

const struct vc_check vc_escape_checks[] = {
	{ "escape_dotdot", check_escape_dotdot },
	{ "escape_symlink_root", check_escape_symlink_root },
	{ "escape_symlink_passwd", check_escape_symlink_passwd },
	{ "escape_symlink_setattr", check_escape_symlink_setattr },
	{ NULL, NULL },
};
