/*
 * coinstate.cc: the user->coin map in switch.state-file, so a restart
 * keeps every switch.
 *
 *	{"version":1,"user_coin":{"puname":"coin",...}}
 *
 * coins_apply() calls coinstate_save() before it changes the map: the
 * whole map as it will be is written to a temporary file beside the state
 * file, synced, renamed over it and the folder synced, so a crash leaves
 * the old map or the new one, never half of either. If that fails the
 * change is refused (error 107). The file is streamed, one entry a line,
 * so memory stays flat however big the map (COINS_USERS_MAX entries).
 *
 * coinstate_load() runs once at start and feeds each entry through
 * coins_apply(COINS_SRC_STATE), which neither saves nor moves miners.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coins.h"
#include "config.h"

#define COINSTATE_VERSION	1
#define COINSTATE_MAX_BYTES	(256 << 20)	/* 1e6 entries of 128+64 */
#define COINSTATE_BUFSIZE	(64 << 10)

/*
 * The pending changes by puname (the last one wins, as in coins_set), so
 * the walk of the map can write an entry's new coin, and the changes of
 * users the map does not have yet can be written after it.
 */
struct coinstate_set {
	const struct coins_change *ch;
	size_t		*slot;		/* index into ch plus 1; 0: free */
	char		*seen;		/* per slot: met during the map walk */
	size_t		 cap;		/* a power of two */
};

/* One write of the file. */
struct coinstate_out {
	FILE			*f;
	struct coinstate_set	*set;
	size_t			 n;	/* entries written */
};

static int	 coinstate_warned;	/* a failed save was reported */

static size_t	 coinstate_find(struct coinstate_set *, const char *);
static void	 coinstate_set_init(struct coinstate_set *,
		     const struct coins_change *, size_t);
static void	 coinstate_set_free(struct coinstate_set *);
static void	 coinstate_string(FILE *, const char *);
static void	 coinstate_entry(struct coinstate_out *, const char *,
		     const char *);
static void	 coinstate_walk(const char *, const char *, void *);
static int	 coinstate_write(const char *, const char *,
		     struct coinstate_set *, const char **);
static void	 coinstate_dir(const char *, char *, size_t);

/* The slot of puname: its own, or the free one where it would go. */
static size_t
coinstate_find(struct coinstate_set *s, const char *puname)
{
	size_t	 i = strhash(puname) & (s->cap - 1);

	while (s->slot[i] != 0 &&
	    strcmp(s->ch[s->slot[i] - 1].puname, puname) != 0)
		i = (i + 1) & (s->cap - 1);
	return i;
}

/* Index n changes by puname. */
static void
coinstate_set_init(struct coinstate_set *s, const struct coins_change *ch,
    size_t n)
{
	size_t	 i;

	s->ch = ch;
	for (s->cap = 16; s->cap < 2 * n; s->cap *= 2)
		;
	s->slot = XCALLOC(size_t, s->cap);
	s->seen = XCALLOC(char, s->cap);
	for (i = 0; i < n; i++)
		s->slot[coinstate_find(s, ch[i].puname)] = i + 1;
}

static void
coinstate_set_free(struct coinstate_set *s)
{
	free(s->slot);
	free(s->seen);
}

/* A JSON string. Punames and coin names are plain, but be safe. */
static void
coinstate_string(FILE *f, const char *s)
{
	unsigned char	 c;

	putc('"', f);
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			putc('\\', f);
			putc(c, f);
		} else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			putc(c, f);
	}
	putc('"', f);
}

/* One "puname":"coin" member, one a line. */
static void
coinstate_entry(struct coinstate_out *o, const char *puname, const char *coin)
{
	if (o->n++ > 0)
		putc(',', o->f);
	putc('\n', o->f);
	coinstate_string(o->f, puname);
	putc(':', o->f);
	coinstate_string(o->f, coin);
}

/* coins_foreach: an entry of the map, or its pending change. */
static void
coinstate_walk(const char *puname, const char *coin, void *arg)
{
	struct coinstate_out	*o = (struct coinstate_out *)arg;
	struct coinstate_set	*s = o->set;
	size_t			 i = coinstate_find(s, puname);

	if (s->slot[i] != 0) {
		s->seen[i] = 1;
		coin = s->ch[s->slot[i] - 1].coin;
	}
	coinstate_entry(o, puname, coin);
}

/* The folder of a path, for its fsync. */
static void
coinstate_dir(const char *path, char *buf, size_t len)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL)
		xstrlcpy(buf, ".", len);
	else if (slash == path)
		xstrlcpy(buf, "/", len);
	else {
		if ((size_t)(slash - path) + 1 < len)
			len = (size_t)(slash - path) + 1;
		xstrlcpy(buf, path, len);
	}
}

/*
 * Write the map plus the changes to tmp, sync it, rename it to path and
 * sync the folder. Returns 0, or -1 with errno set and *op naming the
 * step that failed; tmp is gone either way.
 */
static int
coinstate_write(const char *path, const char *tmp, struct coinstate_set *s,
    const char **op)
{
	struct coinstate_out	 o = { NULL, s, 0 };
	char			 dir[4096];
	size_t			 i;
	int			 fd, dfd, saved;

	*op = "open";
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return -1;
	if ((o.f = fdopen(fd, "w")) == NULL) {
		saved = errno;
		close(fd);
		goto fail;
	}
	setvbuf(o.f, NULL, _IOFBF, COINSTATE_BUFSIZE);
	fprintf(o.f, "{\"version\":%d,\"user_coin\":{", COINSTATE_VERSION);
	coins_foreach(coinstate_walk, &o);
	for (i = 0; i < s->cap; i++) {
		if (s->slot[i] != 0 && !s->seen[i])
			coinstate_entry(&o, s->ch[s->slot[i] - 1].puname,
			    s->ch[s->slot[i] - 1].coin);
	}
	fputs("\n}}\n", o.f);
	*op = "write";
	if (fflush(o.f) != 0 || ferror(o.f)) {
		saved = errno != 0 ? errno : EIO;
		fclose(o.f);
		goto fail;
	}
	*op = "fsync";
	if (fsync(fd) != 0) {
		saved = errno;
		fclose(o.f);
		goto fail;
	}
	*op = "close";
	if (fclose(o.f) != 0) {
		saved = errno;
		goto fail;
	}
	*op = "rename";
	if (rename(tmp, path) != 0) {
		saved = errno;
		goto fail;
	}
	/* The rename is durable once the folder is synced. */
	*op = "fsync folder";
	coinstate_dir(path, dir, sizeof dir);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if (fsync(dfd) != 0) {
		saved = errno;
		close(dfd);
		errno = saved;
		return -1;
	}
	close(dfd);
	return 0;
fail:
	unlink(tmp);
	errno = saved;
	return -1;
}

/*
 * Write the map as it will be once ch[0..n) are applied: 0, or -1 after
 * one warning (until a save works again).
 */
int
coinstate_save(const struct coins_change *ch, size_t n)
{
	const char		*path = sl.conf->sw.state_file, *op;
	struct coinstate_set	 s;
	char			*tmp;
	int			 rc, saved;

	coinstate_set_init(&s, ch, n);
	xasprintf(&tmp, "%s.tmp", path);
	rc = coinstate_write(path, tmp, &s, &op);
	saved = errno;
	free(tmp);
	coinstate_set_free(&s);
	if (rc != 0) {
		if (!coinstate_warned)
			log_warnx("type=switch_state status=error file=%s "
			    "op=\"%s\" reason=\"%s\" (changes are refused "
			    "until it can be written)", log_word(path), op,
			    log_esc(strerror(saved)));
		coinstate_warned = 1;
		return -1;
	}
	if (coinstate_warned)
		log_info("type=switch_state status=ok file=%s",
		    log_word(path));
	coinstate_warned = 0;
	return 0;
}

/*
 * Load the state file at start: a missing file is an empty map; an
 * unreadable or corrupt one is warned about and leaves the map empty
 * (-1). Entries for a coin the config no longer has, or with a bad
 * puname, are skipped with one warning; the next save drops them.
 */
int
coinstate_load(void)
{
	const char		*path = sl.conf->sw.state_file, *key;
	struct coins_change	 one;
	struct stat		 st;
	json_error_t		 jerr;
	json_t			*root, *uc, *v;
	FILE			*f;
	char			 why[256];
	size_t			 loaded = 0, skipped = 0;
	int			 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, sizeof why, "%s", strerror(errno));
		goto bad;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > COINSTATE_MAX_BYTES) {
		snprintf(why, sizeof why, "not a regular file of at most "
		    "%d MiB", COINSTATE_MAX_BYTES >> 20);
		close(fd);
		goto bad;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		snprintf(why, sizeof why, "%s", strerror(errno));
		close(fd);
		goto bad;
	}
	root = json_loadf(f, 0, &jerr);
	fclose(f);
	if (root == NULL) {
		snprintf(why, sizeof why, "line %d: %s", jerr.line, jerr.text);
		goto bad;
	}
	v = json_object_get(root, "version");
	uc = json_object_get(root, "user_coin");
	if (!json_is_integer(v) ||
	    json_integer_value(v) != COINSTATE_VERSION ||
	    !json_is_object(uc)) {
		snprintf(why, sizeof why, "not {\"version\":%d,\"user_coin\":"
		    "{...}}", COINSTATE_VERSION);
		json_decref(root);
		goto bad;
	}
	json_object_foreach(uc, key, v) {
		one.puname = key;
		one.coin = json_string_value(v);
		if (one.coin == NULL || coins_check(key, one.coin) != COINS_OK ||
		    coins_apply(&one, 1, COINS_SRC_STATE) != COINS_OK)
			skipped++;
		else
			loaded++;
	}
	json_decref(root);
	if (skipped > 0)
		log_warnx("type=switch_state status=skipped file=%s "
		    "skipped=%zu reason=\"unknown coin or invalid puname\"",
		    log_word(path), skipped);
	log_info("type=switch_state status=loaded file=%s users=%zu",
	    log_word(path), loaded);
	return 0;
bad:
	log_warnx("type=switch_state status=error file=%s op=load "
	    "reason=\"%s\" (starting with an empty map)", log_word(path),
	    log_esc(why));
	return -1;
}
