/*
 * ratelimit.cc: the native per-IP connection limiter (seed 001 §17).
 *
 * Each address has a token bucket holding max-connections-per-minute
 * tokens, refilled continuously at one token per 60/max seconds. A
 * connection takes a token; an address whose bucket is empty is refused,
 * and policy.cc then bans it for ban-duration seconds. on_connect can ban
 * an address too. The table also counts open connections per address.
 *
 * The table is bounded so many addresses cannot grow memory: at most
 * RL_MAX entries. An entry with open connections is pinned; the others
 * sit on an idle list, least recently seen first, and a new address
 * evicts the head. The tick sweeps part of the hash table and drops idle
 * entries that carry no state any more (full bucket, no ban). Times are
 * milliseconds on a clock the caller passes in, so tests can inject it.
 */
#include <sys/queue.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "stats.h"

#define RL_SLOTS	65536	/* hash buckets, a power of two */
#define RL_MAX		65536	/* addresses tracked at most */
#define RL_SWEEP	2048	/* buckets the tick looks at */

struct rl_entry {
	struct rl_entry	*next;		/* hash chain */
	TAILQ_ENTRY(rl_entry) idle;	/* when conns == 0 */
	int64_t		 refilled;	/* last top-up (ms) */
	int64_t		 banned_until;	/* ms; 0 when not banned */
	double		 tokens;
	int		 conns;
	char		 ip[64];
};
TAILQ_HEAD(rl_idleq, rl_entry);

static struct rl_entry	**rl_slots;
static struct rl_idleq	  rl_idle = TAILQ_HEAD_INITIALIZER(rl_idle);
static size_t		  rl_n;
static size_t		  rl_max = RL_MAX;
static size_t		  rl_cursor;
static int		  rl_rate;	/* per minute, as last used */
static void		(*rl_ban_hook)(const char *, int);

static struct rl_entry	*rl_find(const char *, struct rl_entry ***);
static struct rl_entry	*rl_get(const char *, int64_t);
static void		 rl_remove(struct rl_entry *);
static void		 rl_refill(struct rl_entry *, int, int64_t);
static int		 rl_ban(const char *, int, int64_t, int);

/* The entry of ip, or NULL; *pp is where it hangs (for unlinking). */
static struct rl_entry *
rl_find(const char *ip, struct rl_entry ***pp)
{
	struct rl_entry	**p;

	if (rl_slots == NULL)
		return NULL;
	for (p = &rl_slots[strhash(ip) & (RL_SLOTS - 1)]; *p != NULL;
	    p = &(*p)->next) {
		if (strcmp((*p)->ip, ip) == 0) {
			if (pp != NULL)
				*pp = p;
			return *p;
		}
	}
	return NULL;
}

/* Unlink and free an idle entry. */
static void
rl_remove(struct rl_entry *e)
{
	struct rl_entry	**p = NULL;

	if (rl_find(e->ip, &p) == e)
		*p = e->next;
	if (e->conns == 0)
		TAILQ_REMOVE(&rl_idle, e, idle);
	free(e);
	rl_n--;
}

/*
 * The entry of ip, created with a full bucket if new. When the table is
 * full the longest-idle entry makes room; with none idle, NULL (the
 * address is not tracked and gets the verdict of a new one).
 */
static struct rl_entry *
rl_get(const char *ip, int64_t now)
{
	struct rl_entry	*e, **slot;

	if ((e = rl_find(ip, NULL)) != NULL) {
		if (e->conns == 0) {
			TAILQ_REMOVE(&rl_idle, e, idle);
			TAILQ_INSERT_TAIL(&rl_idle, e, idle);
		}
		return e;
	}
	if (rl_slots == NULL)
		rl_slots = XCALLOC(struct rl_entry *, RL_SLOTS);
	if (rl_n >= rl_max) {
		if ((e = TAILQ_FIRST(&rl_idle)) == NULL)
			return NULL;
		rl_remove(e);
	}
	e = XCALLOC(struct rl_entry, 1);
	xstrlcpy(e->ip, ip, sizeof e->ip);
	e->tokens = rl_rate;
	e->refilled = now;
	slot = &rl_slots[strhash(e->ip) & (RL_SLOTS - 1)];
	e->next = *slot;
	*slot = e;
	TAILQ_INSERT_TAIL(&rl_idle, e, idle);
	rl_n++;
	return e;
}

/* Top the bucket up for the time since the last refill. */
static void
rl_refill(struct rl_entry *e, int per_minute, int64_t now)
{
	if (now > e->refilled)
		e->tokens += (double)(now - e->refilled) * per_minute / 60000.0;
	if (e->tokens > per_minute)
		e->tokens = per_minute;
	e->refilled = now;
}

/*
 * A connection attempt from ip: RL_BANNED while a ban runs, RL_EMPTY when
 * the bucket has no token, else RL_OK having taken one. *tokens is what
 * is left (HUGE_VAL with the limit off), *conns the connections open now.
 * per_minute 0 turns the bucket off; bans still apply.
 */
enum rl_verdict
ratelimit_take(const char *ip, int per_minute, int64_t now, double *tokens,
    int *conns)
{
	struct rl_entry	*e;

	rl_rate = per_minute;
	*tokens = per_minute > 0 ? per_minute : HUGE_VAL;
	*conns = 0;
	if ((e = rl_get(ip, now)) == NULL)
		return RL_OK;
	*conns = e->conns;
	if (per_minute > 0) {
		rl_refill(e, per_minute, now);
		*tokens = e->tokens;
	}
	if (e->banned_until > now)
		return RL_BANNED;
	e->banned_until = 0;
	if (per_minute <= 0)
		return RL_OK;
	if (e->tokens < 1)
		return RL_EMPTY;
	e->tokens -= 1;
	*tokens = e->tokens;
	return RL_OK;
}

/* Ban ip for seconds from now; 1 if it was not banned before. */
int
ratelimit_ban(const char *ip, int seconds, int64_t now)
{
	int	 fresh = rl_ban(ip, seconds, now, 0);

	if (seconds > 0 && rl_ban_hook != NULL)
		rl_ban_hook(ip, seconds);
	return fresh;
}

/*
 * Another node's ban: never shortens one this node holds, and is not
 * told to the hook (it came from the fleet). 1 if it was not banned.
 */
int
ratelimit_ban_shared(const char *ip, int seconds, int64_t now)
{
	return rl_ban(ip, seconds, now, 1);
}

static int
rl_ban(const char *ip, int seconds, int64_t now, int extend_only)
{
	struct rl_entry	*e;
	int64_t		 until = now + (int64_t)seconds * 1000;
	int		 was;

	if (seconds <= 0 || (e = rl_get(ip, now)) == NULL)
		return 0;
	was = e->banned_until > now;
	if (!extend_only || until > e->banned_until)
		e->banned_until = until;
	return !was;
}

/* Who hears of the bans made here (fleet.cc, to share them). */
void
ratelimit_set_ban_hook(void (*hook)(const char *, int))
{
	rl_ban_hook = hook;
}

/* A connection from ip was admitted: pin its entry. */
void
ratelimit_connected(const char *ip, int64_t now)
{
	struct rl_entry	*e;

	if ((e = rl_get(ip, now)) == NULL)
		return;
	if (e->conns++ == 0)
		TAILQ_REMOVE(&rl_idle, e, idle);
}

/* A connection from ip closed. */
void
ratelimit_disconnected(const char *ip)
{
	struct rl_entry	*e;

	if ((e = rl_find(ip, NULL)) == NULL || e->conns == 0)
		return;
	if (--e->conns == 0)
		TAILQ_INSERT_TAIL(&rl_idle, e, idle);
}

/*
 * The tick: look at RL_SWEEP hash buckets (the whole table every
 * RL_SLOTS / RL_SWEEP seconds) and drop idle entries that no longer
 * matter: not banned, and a bucket that has refilled.
 */
void
ratelimit_expire(int64_t now)
{
	struct rl_entry	*e, *next;
	size_t		 i;
	double		 t;

	if (rl_slots == NULL)
		return;
	for (i = 0; i < RL_SWEEP; i++) {
		for (e = rl_slots[rl_cursor]; e != NULL; e = next) {
			next = e->next;
			if (e->conns > 0 || e->banned_until > now)
				continue;
			t = e->tokens;
			if (rl_rate > 0 && now > e->refilled)
				t += (double)(now - e->refilled) * rl_rate /
				    60000.0;
			if (rl_rate <= 0 || t >= rl_rate)
				rl_remove(e);
		}
		rl_cursor = (rl_cursor + 1) & (RL_SLOTS - 1);
	}
}

/*
 * What the table knows of ip: 0 with its tokens, open connections and
 * seconds of ban left; -1 when it is not tracked.
 */
int
ratelimit_info(const char *ip, int64_t now, double *tokens, int *conns,
    int *banned)
{
	struct rl_entry	*e;

	if ((e = rl_find(ip, NULL)) == NULL)
		return -1;
	*tokens = e->tokens;
	*conns = e->conns;
	*banned = e->banned_until > now ?
	    (int)((e->banned_until - now + 999) / 1000) : 0;
	return 0;
}

/* Addresses tracked now. */
size_t
ratelimit_count(void)
{
	return rl_n;
}

/* Bound the table (0: the default); for tests. */
void
ratelimit_set_max(size_t n)
{
	rl_max = n > 0 ? n : RL_MAX;
}

/* Forget everything (shutdown, tests). */
void
ratelimit_clear(void)
{
	struct rl_entry	*e, *next;
	size_t		 i;

	if (rl_slots == NULL)
		return;
	for (i = 0; i < RL_SLOTS; i++) {
		for (e = rl_slots[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(rl_slots);
	rl_slots = NULL;
	TAILQ_INIT(&rl_idle);
	rl_n = 0;
	rl_cursor = 0;
}
