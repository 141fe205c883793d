/*
 * coins.cc: the user->coin map and the switch.
 *
 * Every change, whatever its source (the switch API, the pull, Redis, the
 * state file at start), goes through coins_apply(): checked whole first
 * (a multi-user change is applied whole or not at all), written to the
 * state file and handed to Redis, then applied to the map and to the
 * connected miners of its users, which move to an upstream of their new
 * coin (splitter_switch). New logins ask coins_login_coin().
 *
 * The map is a hash of interned strings; its size is bounded by
 * COINS_USERS_MAX, so a pull or a client cannot grow it without end.
 */
#include <stdlib.h>
#include <string.h>

#include "coins.h"
#include "config.h"
#include "miner.h"
#include "redis.h"
#include "stats.h"
#include "upstream.h"

#define COINS_USERS_MAX		1000000

struct coins_entry {
	struct coins_entry	*next;
	uint32_t		 hash;
	uint32_t		 gen;	/* the apply that last touched it */
	char			*puname;	/* interned */
	char			*coin;		/* interned */
};

static struct coins_entry	**coins_tab;
static size_t			  coins_cap;	/* a power of two, or 0 */
static size_t			  coins_n;
static uint32_t			  coins_gen;
static uint64_t			  coins_switch_count[COINS_SRC_MAX];
static uint64_t			  coins_error_count[COINS_ERR_MAX];

/*
 * Per coin, by name: its hashrate and refused moves (for /1/coins), its
 * history ring (history.cc).
 */
struct coins_stat {
	char			*name;	/* interned; NULL: free */
	struct stats_rate	 rate;
	uint64_t		 refused;
	struct stats_hist	*hist;
};
static struct coins_stat	  coins_stats[2 * CONFIG_MAX_COINS];

static uint32_t	 coins_hash(const char *);
static struct coins_entry *coins_find(const char *, uint32_t);
static void	 coins_grow(void);
static int	 coins_set(const char *, const char *);
static void	 coins_move(void);
static struct coins_stat *coins_stat_get(const char *);

/* FNV-1a. */
static uint32_t
coins_hash(const char *s)
{
	uint32_t	 h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct coins_entry *
coins_find(const char *puname, uint32_t h)
{
	struct coins_entry	*e;

	if (coins_cap == 0)
		return NULL;
	for (e = coins_tab[h & (coins_cap - 1)]; e != NULL; e = e->next) {
		if (e->hash == h && strcmp(e->puname, puname) == 0)
			return e;
	}
	return NULL;
}

/* Double the table. */
static void
coins_grow(void)
{
	struct coins_entry	**tab, *e, *next;
	size_t			  cap = coins_cap == 0 ? 64 : coins_cap * 2, i;

	tab = XCALLOC(struct coins_entry *, cap);
	for (i = 0; i < coins_cap; i++) {
		for (e = coins_tab[i]; e != NULL; e = next) {
			next = e->next;
			e->next = tab[e->hash & (cap - 1)];
			tab[e->hash & (cap - 1)] = e;
		}
	}
	free(coins_tab);
	coins_tab = tab;
	coins_cap = cap;
}

/* Map puname to coin; 1 if that changed the map, 0 if it was so. */
static int
coins_set(const char *puname, const char *coin)
{
	uint32_t		 h = coins_hash(puname);
	struct coins_entry	*e;

	if ((e = coins_find(puname, h)) != NULL) {
		e->gen = coins_gen;
		if (strcmp(e->coin, coin) == 0)
			return 0;
		intern_drop(e->coin);
		e->coin = intern(coin);
		return 1;
	}
	if (coins_n + 1 > coins_cap / 2 * 3 / 2 || coins_cap == 0)
		coins_grow();
	e = XCALLOC(struct coins_entry, 1);
	e->hash = h;
	e->gen = coins_gen;
	e->puname = intern(puname);
	e->coin = intern(coin);
	e->next = coins_tab[h & (coins_cap - 1)];
	coins_tab[h & (coins_cap - 1)] = e;
	coins_n++;
	return 1;
}

/* Load the state file, after the config and before the first login. */
void
coins_start(void)
{
	if (coinstate_load() != 0)
		coins_error(COINS_ERR_STATE);
}

/*
 * The config changed: miners whose coin is gone, or whose user's coin
 * came back, go where the map now says.
 */
void
coins_reload(void)
{
	struct miner	*m;
	int		 want;

	for (m = miner_first(); m != NULL; m = miner_next(m)) {
		if (m->upstream == NULL || m->state != MINER_READY)
			continue;
		want = coins_login_coin(m);
		if (want != upstream_coin_index(m->upstream))
			splitter_switch(m, want);
	}
}

/* Shutdown: free the map. */
void
coins_stop(void)
{
	struct coins_entry	*e, *next;
	size_t			 i;

	for (i = 0; i < coins_cap; i++) {
		for (e = coins_tab[i]; e != NULL; e = next) {
			next = e->next;
			intern_drop(e->puname);
			intern_drop(e->coin);
			free(e);
		}
	}
	free(coins_tab);
	coins_tab = NULL;
	coins_cap = coins_n = 0;
	for (i = 0; i < sizeof coins_stats / sizeof coins_stats[0]; i++) {
		intern_drop(coins_stats[i].name);
		coins_stats[i].name = NULL;
		stats_hist_free(&coins_stats[i].hist);
	}
}

/* btcpool's err_msg for each err_no. */
const char *
coins_err_text(int err)
{
	switch (err) {
	case COINS_OK:
		return "";
	case COINS_E_PUNAME_EMPTY:
		return "puname is empty";
	case COINS_E_PUNAME_INVALID:
		return "puname invalid";
	case COINS_E_COIN_EMPTY:
		return "coin is empty";
	case COINS_E_COIN_UNKNOWN:
		return "coin is inexistent";
	case COINS_E_READ:
		return "read record failed";
	case COINS_E_WRITE:
		return "write record failed";
	case COINS_E_USERCOINS_EMPTY:
		return "usercoins is empty";
	}
	return "unknown error";
}

/* The metric label of a source. */
const char *
coins_source_text(enum coins_source s)
{
	switch (s) {
	case COINS_SRC_API:
		return "api";
	case COINS_SRC_PULL:
		return "pull";
	case COINS_SRC_REDIS:
		return "redis";
	case COINS_SRC_STATE:
		return "state";
	case COINS_SRC_MAX:
		break;
	}
	return "?";
}

/*
 * Check one change: a puname of 1 to 128 letters, digits, "_", "-" or
 * "." and a coin the config has. COINS_OK or the error number.
 */
int
coins_check(const char *puname, const char *coin)
{
	size_t	 len;

	if (puname == NULL || puname[0] == '\0')
		return COINS_E_PUNAME_EMPTY;
	len = strlen(puname);
	if (len > COINS_PUNAME_MAX || !config_coin_name_ok(puname, len))
		return COINS_E_PUNAME_INVALID;
	if (coin == NULL || coin[0] == '\0')
		return COINS_E_COIN_EMPTY;
	if (config_coin(sl.conf, coin) == NULL)
		return COINS_E_COIN_UNKNOWN;
	return COINS_OK;
}

/*
 * Apply changes from a source, all or none: COINS_OK or the error number
 * of the first bad change, or COINS_E_WRITE when they cannot be kept
 * (the state file, Redis down, the map full). Changes to the coin a user
 * is on succeed and change nothing.
 */
int
coins_apply(const struct coins_change *ch, size_t n, enum coins_source src)
{
	struct coins_entry	*e;
	size_t			 i, fresh = 0, differ = 0, changed = 0;
	int			 err;

	if (n == 0)
		return COINS_E_USERCOINS_EMPTY;
	for (i = 0; i < n; i++) {
		if ((err = coins_check(ch[i].puname, ch[i].coin)) != COINS_OK)
			return err;
		e = coins_find(ch[i].puname, coins_hash(ch[i].puname));
		if (e == NULL)
			fresh++;
		if (e == NULL || strcmp(e->coin, ch[i].coin) != 0)
			differ++;
	}
	if (coins_n + fresh > COINS_USERS_MAX) {
		log_warnx("type=switch status=refused reason=\"the map holds "
		    "%d users at most\"", COINS_USERS_MAX);
		return COINS_E_WRITE;
	}
	/* A change made here must reach the other nodes, or not be made. */
	if ((src == COINS_SRC_API || src == COINS_SRC_PULL) &&
	    sl.conf->sw.redis != NULL && !redis_ready()) {
		coins_error(COINS_ERR_REDIS);
		return COINS_E_WRITE;
	}
	/* Nothing new for the file (a switch to the coin a user is on). */
	if (differ > 0 && src != COINS_SRC_STATE &&
	    coinstate_save(ch, n) != 0) {
		coins_error(COINS_ERR_STATE);
		if (src != COINS_SRC_REDIS)
			return COINS_E_WRITE;
	}
	coins_gen++;
	for (i = 0; i < n; i++)
		changed += (size_t)coins_set(ch[i].puname, ch[i].coin);
	coins_switch_count[src] += changed;
	if (changed > 0 && (src == COINS_SRC_API || src == COINS_SRC_PULL) &&
	    sl.conf->sw.redis != NULL && redis_publish(ch, n) != 0)
		coins_error(COINS_ERR_REDIS);
	if (src != COINS_SRC_STATE)
		coins_move();
	return COINS_OK;
}

/*
 * Move the connected miners of the users this apply touched (their
 * entries carry coins_gen) that are not on their coin yet.
 */
static void
coins_move(void)
{
	struct coins_entry	*e;
	struct miner		*m, *next;
	char			 pn[COINS_PUNAME_MAX + 1];
	int			 want, have, moved = 0, refused = 0;

	for (m = miner_first(); m != NULL; m = next) {
		next = miner_next(m);
		if (m->upstream == NULL || m->peer.user == NULL ||
		    (m->state != MINER_READY && m->state != MINER_WAIT_READY))
			continue;
		coins_puname(m->peer.user, pn, sizeof pn);
		if ((e = coins_find(pn, coins_hash(pn))) == NULL ||
		    e->gen != coins_gen)
			continue;
		want = config_coin_index(sl.conf, e->coin);
		have = upstream_coin_index(m->upstream);
		if (want < 0 || want == have)
			continue;
		if (!coins_can_mine(m, want)) {
			coins_stat_get(e->coin)->refused++;
			refused++;
			log_debug("type=switch_refused id=%llu user=%s coin=%s "
			    "algo=%s", (unsigned long long)m->peer.id,
			    log_word(m->peer.user), e->coin,
			    log_word(sl.conf->coins[want].algo));
			continue;
		}
		if (splitter_switch(m, want) == 0)
			moved++;
	}
	if (moved > 0 || refused > 0)
		log_info("type=switch moved=%d refused=%d", moved, refused);
}

/*
 * Count the logged-in miners and the upstreams of each configured coin:
 * miners[i] and upstreams[i] for sl.conf->coins[i] (either may be NULL).
 */
void
coins_count(size_t *miners, size_t *upstreams)
{
	struct miner	*m;
	struct upstream	*u;
	int		 i;

	if (miners != NULL) {
		memset(miners, 0, sl.conf->ncoins * sizeof *miners);
		for (m = miner_first(); m != NULL; m = miner_next(m)) {
			if (m->upstream != NULL && m->logged_in &&
			    (i = upstream_coin_index(m->upstream)) >= 0)
				miners[i]++;
		}
	}
	if (upstreams != NULL) {
		memset(upstreams, 0, sl.conf->ncoins * sizeof *upstreams);
		for (u = upstream_first(); u != NULL; u = upstream_next(u)) {
			if ((i = upstream_coin_index(u)) >= 0)
				upstreams[i]++;
		}
	}
}

/* The coin of a user, or NULL: the default coin. */
const char *
coins_get(const char *puname)
{
	struct coins_entry	*e = coins_find(puname, coins_hash(puname));

	return e != NULL ? e->coin : NULL;
}

/* Users in the map. */
size_t
coins_users(void)
{
	return coins_n;
}

/* Call fn for every entry of the map. */
void
coins_foreach(void (*fn)(const char *, const char *, void *), void *arg)
{
	struct coins_entry	*e;
	size_t			 i;

	for (i = 0; i < coins_cap; i++) {
		for (e = coins_tab[i]; e != NULL; e = e->next)
			fn(e->puname, e->coin, arg);
	}
}

/*
 * The switch key of a login user (what the custom-diff step left): the
 * user up to its first ".", so WALLET.rig1 and WALLET switch together.
 */
void
coins_puname(const char *user, char *buf, size_t len)
{
	size_t	 n = strcspn(user, ".");

	if (n >= len)
		n = len - 1;
	memcpy(buf, user, n);
	buf[n] = '\0';
}

/*
 * The coin a logging-in miner goes to: its user's, unless the map has
 * none for it, or names a coin the config no longer has, or one whose
 * algorithm the miner said it cannot mine; then the default coin.
 */
int
coins_login_coin(struct miner *m)
{
	char		 pn[COINS_PUNAME_MAX + 1];
	const char	*coin;
	int		 i;

	if (coins_n == 0 || m->peer.user == NULL)
		return (int)sl.conf->default_coin;
	coins_puname(m->peer.user, pn, sizeof pn);
	if ((coin = coins_get(pn)) == NULL ||
	    (i = config_coin_index(sl.conf, coin)) < 0)
		return (int)sl.conf->default_coin;
	if (!coins_can_mine(m, i)) {
		log_debug("type=switch_refused id=%llu user=%s coin=%s "
		    "reason=login", (unsigned long long)m->peer.id,
		    log_word(m->peer.user), coin);
		return (int)sl.conf->default_coin;
	}
	return i;
}

/*
 * Can the miner mine the coin's algorithm? Yes when the miner sent no
 * algo list (as xmrig-proxy assumes) or the coin names no algorithm.
 */
int
coins_can_mine(const struct miner *m, int coin)
{
	const char	*algo = sl.conf->coins[coin].algo, *p;
	size_t		 len;

	if (m->algos == NULL || algo == NULL)
		return 1;
	len = strlen(algo);
	for (p = m->algos; (p = strstr(p, algo)) != NULL; p += len) {
		if ((p == m->algos || p[-1] == ',') &&
		    (p[len] == ',' || p[len] == '\0'))
			return 1;
	}
	return 0;
}

/*
 * The stats of a coin, made on first use; when every entry is taken, one
 * of a coin the config no longer has is reused.
 */
static struct coins_stat *
coins_stat_get(const char *name)
{
	struct coins_stat	*c, *spare = NULL;
	size_t			 i, n = sizeof coins_stats / sizeof coins_stats[0];

	for (i = 0; i < n; i++) {
		c = &coins_stats[i];
		if (c->name == name)
			return c;
	}
	for (i = 0; i < n; i++) {
		c = &coins_stats[i];
		if (c->name != NULL && strcmp(c->name, name) == 0)
			return c;
		if (spare == NULL && (c->name == NULL ||
		    config_coin(sl.conf, c->name) == NULL))
			spare = c;
	}
	if (spare == NULL)
		spare = &coins_stats[0];
	intern_drop(spare->name);
	stats_hist_free(&spare->hist);
	memset(spare, 0, sizeof *spare);
	spare->name = intern(name);
	stats_rate_init(&spare->rate, stats_clock_ms());
	return spare;
}

/*
 * A share ended on an upstream of coin (a name, interned or not): its
 * counted difficulty (at->hashes) and its place in the history ring.
 */
void
coins_share(const char *coin, const struct stats_hist_at *at, int64_t now_ms)
{
	struct coins_stat	*c = coins_stat_get(coin);

	if (at->hashes != 0)
		stats_rate_add(&c->rate, at->hashes, now_ms);
	stats_hist_add(&c->hist, at);
}

/* A coin's history ring, for history.cc (*ring is NULL without one). */
struct stats_hist **
coins_hist(const char *coin)
{
	return &coins_stat_get(coin)->hist;
}

/* A coin's hashrate over a window. */
double
coins_hashrate(const char *coin, enum stats_window w, int64_t now_ms)
{
	return stats_rate_get(&coins_stat_get(coin)->rate, w, now_ms);
}

/* Miners refused a move to coin (its algorithm), since start. */
uint64_t
coins_refused(const char *coin)
{
	return coins_stat_get(coin)->refused;
}

/* Users moved by a source, since start. */
uint64_t
coins_switches(enum coins_source src)
{
	return coins_switch_count[src];
}

/* Count a failure of a source. */
void
coins_error(enum coins_error kind)
{
	coins_error_count[kind]++;
}

uint64_t
coins_errors(enum coins_error kind)
{
	return coins_error_count[kind];
}

/* The metric label of a failure. */
const char *
coins_error_text(enum coins_error kind)
{
	switch (kind) {
	case COINS_ERR_STATE:
		return "state";
	case COINS_ERR_PULL:
		return "pull";
	case COINS_ERR_REDIS:
		return "redis";
	case COINS_ERR_MAX:
		break;
	}
	return "?";
}
