/* SPDX-License-Identifier: ISC */
/*
 * Which programs the shim cannot reach, read from their ELF headers.
 *
 * Trusts nothing in the file: every count and offset is bounded before
 * it is used, and a file that does not parse is "not ours" (exec itself
 * will refuse it or run it as it would anyway). Runs between fork and
 * exec in other people's programs: open, pread, close, no allocation.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "intercept.h"

#if defined(__x86_64__)
#define NATIVE_MACHINE	EM_X86_64
#elif defined(__aarch64__)
#define NATIVE_MACHINE	EM_AARCH64
#elif defined(__i386__)
#define NATIVE_MACHINE	EM_386
#elif defined(__riscv)
#define NATIVE_MACHINE	EM_RISCV
#else
#error "add this machine's EM_ value"
#endif

#define MAX_PHDRS	64	/* real programs have about a dozen */
#define NOTE_BYTES	2048	/* a PT_NOTE segment is a few dozen bytes */
#define SHSTR_BYTES	4096	/* section names of a Go binary: ~500 */
#define GO_NOTE_TYPE	4	/* Go's build ID note (cmd/link) */

static int
read_at(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	return n >= 0 && (size_t)n == len ? 0 : -1;
}

/* Whether a PT_NOTE segment holds a note whose owner is "Go". */
static int
has_go_note(int fd, const ElfW(Phdr) *ph)
{
	unsigned char buf[NOTE_BYTES];
	size_t len = ph->p_filesz, off = 0;
	ElfW(Nhdr) nh;

	if (len > sizeof(buf))
		len = sizeof(buf);
	if (read_at(fd, buf, len, (off_t)ph->p_offset) < 0)
		return 0;
	while (off + sizeof(nh) <= len) {
		memcpy(&nh, buf + off, sizeof(nh));
		off += sizeof(nh);
		if (nh.n_namesz == 3 || nh.n_namesz == 4) {
			if (off + 3 <= len && memcmp(buf + off, "Go", 3) == 0 &&
			    nh.n_type == GO_NOTE_TYPE)
				return 1;
		}
		off += (nh.n_namesz + 3u) & ~3u;
		off += (nh.n_descsz + 3u) & ~3u;
	}
	return 0;
}

/* Whether the section names include ".go.buildinfo". */
static int
has_go_section(int fd, const ElfW(Ehdr) *eh)
{
	static const char want[] = ".go.buildinfo";
	char names[SHSTR_BYTES];
	ElfW(Shdr) sh;
	size_t len, i;

	if (eh->e_shoff == 0 || eh->e_shstrndx == SHN_UNDEF ||
	    eh->e_shstrndx >= eh->e_shnum ||
	    eh->e_shentsize != sizeof(sh))
		return 0;
	if (read_at(fd, &sh, sizeof(sh), (off_t)(eh->e_shoff +
	    (ElfW(Off))eh->e_shstrndx * sizeof(sh))) < 0)
		return 0;
	len = sh.sh_size < sizeof(names) ? sh.sh_size : sizeof(names);
	if (len < sizeof(want) || read_at(fd, names, len,
	    (off_t)sh.sh_offset) < 0)
		return 0;
	for (i = 0; i + sizeof(want) <= len; i++)
		if (memcmp(names + i, want, sizeof(want)) == 0)
			return 1;
	return 0;
}

/* 1: a native ELF the shim cannot reach; 0: anything else. */
static int
elf_needs_trap(int fd)
{
	ElfW(Phdr) ph[MAX_PHDRS];
	ElfW(Ehdr) eh;
	int interp = 0, go = 0;
	size_t n, i;

	if (read_at(fd, &eh, sizeof(eh), 0) < 0 ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 :
	    ELFCLASS32) || eh.e_machine != NATIVE_MACHINE ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) ||
	    eh.e_phentsize != sizeof(ph[0]))
		return 0;
	n = eh.e_phnum < MAX_PHDRS ? eh.e_phnum : MAX_PHDRS;
	if (n == 0 || read_at(fd, ph, n * sizeof(ph[0]),
	    (off_t)eh.e_phoff) < 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (ph[i].p_type == PT_INTERP)
			interp = 1;
		else if (ph[i].p_type == PT_NOTE && !go)
			go = has_go_note(fd, &ph[i]);
	}
	if (!interp || go)
		return 1;
	return has_go_section(fd, &eh);
}

/* The interpreter of a "#!" line in buf (n bytes), into out. */
static int
shebang(const char *buf, size_t n, char *out, size_t len)
{
	size_t i = 2, start;

	while (i < n && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	start = i;
	while (i < n && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' &&
	    buf[i] != '\0')
		i++;
	if (i == start || i == n || i - start >= len)
		return -1;
	memcpy(out, buf + start, i - start);
	out[i - start] = '\0';
	return 0;
}

static int
needs_trap(const char *path, int depth)
{
	char head[256], interp[256];
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return 0;
	/* Privileged programs are never ours: no_new_privs would take their
	 * privilege (set-ID bits, file capabilities) away. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & (S_ISUID | S_ISGID)) ||
	    fgetxattr(fd, "security.capability", NULL, 0) >= 0)
		goto out;
	n = pread(fd, head, sizeof(head), 0);
	if (n >= 4 && memcmp(head, ELFMAG, SELFMAG) == 0)
		rc = elf_needs_trap(fd);
	else if (n > 2 && head[0] == '#' && head[1] == '!' && depth == 0 &&
	    shebang(head, (size_t)n, interp, sizeof(interp)) == 0)
		rc = needs_trap(interp, depth + 1);
out:
	close(fd);
	return rc;
}

int
intercept_needs_trap(const char *path)
{
	int saved = errno, rc = needs_trap(path, 0);

	errno = saved;
	return rc;
}

int
intercept_find(const char *file, const char *path_env, char *out,
    size_t len)
{
	const char *p, *end;
	struct stat st;
	size_t flen = strlen(file), dlen;
	int saved = errno, rc = -1;

	if (flen == 0)
		return -1;
	if (strchr(file, '/') != NULL) {
		if (flen >= len)
			return -1;
		memcpy(out, file, flen + 1);
		return 0;
	}
	p = path_env != NULL ? path_env : "/bin:/usr/bin";
	for (;;) {
		end = strchr(p, ':');
		dlen = end != NULL ? (size_t)(end - p) : strlen(p);
		/* An empty entry is the current directory, as in execvp. */
		if (dlen == 0 && flen + 1 < len) {
			memcpy(out, file, flen + 1);
		} else if (dlen + 1 + flen < len) {
			memcpy(out, p, dlen);
			out[dlen] = '/';
			memcpy(out + dlen + 1, file, flen + 1);
		} else {
			out[0] = '\0';
		}
		if (out[0] != '\0' && stat(out, &st) == 0 &&
		    S_ISREG(st.st_mode) && access(out, X_OK) == 0) {
			rc = 0;
			break;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	errno = saved;
	return rc;
}

int
intercept_bind_errno(int err)
{
	switch (err) {
	case EADDRINUSE:
	case EADDRNOTAVAIL:
	case EINVAL:
	case ENOMEM:
		return err;
	default:
		return EACCES;
	}
}
