/*
 * coins.h: per-user coin switching.
 *
 * coins.cc keeps the user->coin map (btcpool's names: a "puname" mines a
 * "coin"), checks and applies changes, and is the one place a change
 * goes through, whatever its source:
 *
 *	api.cc		the btcpool switch API (/switch, /switch/multi-user)
 *	coinpull.cc	the periodic pull of switch.user-coin-url
 *	redis.cc	the other nodes, through the Redis hash and channel
 *	coinstate.cc	the state file, loaded at start
 *
 * Applying a change moves every connected miner of the user to an
 * upstream of its new coin (splitter_switch, upstream.h); new logins of
 * the user go to that coin (coins_login_coin).
 */
#ifndef SLUICE_COINS_H
#define SLUICE_COINS_H

#include "sluice.h"
#include "stats.h"

struct miner;

enum coins_source {
	COINS_SRC_API,
	COINS_SRC_PULL,
	COINS_SRC_REDIS,
	COINS_SRC_STATE,
	COINS_SRC_MAX
};

/* btcpool's error numbers (seed 004), answered as err_no. */
#define COINS_OK			0
#define COINS_E_PUNAME_EMPTY		101
#define COINS_E_PUNAME_INVALID		102
#define COINS_E_COIN_EMPTY		103
#define COINS_E_COIN_UNKNOWN		104
#define COINS_E_READ			105
#define COINS_E_WRITE			107
#define COINS_E_USERCOINS_EMPTY		108

#define COINS_PUNAME_MAX	128

struct coins_change {
	const char	*puname;
	const char	*coin;
};

/* coins.cc: the map and the switch. */
void		 coins_start(void);
void		 coins_reload(void);
void		 coins_stop(void);
const char	*coins_err_text(int);
const char	*coins_source_text(enum coins_source);
int		 coins_check(const char *puname, const char *coin);
int		 coins_apply(const struct coins_change *, size_t,
		     enum coins_source);
const char	*coins_get(const char *puname);
size_t		 coins_users(void);
void		 coins_count(size_t *miners, size_t *upstreams);
void		 coins_foreach(void (*)(const char *puname, const char *coin,
		     void *), void *);
void		 coins_puname(const char *user, char *buf, size_t len);
int		 coins_login_coin(struct miner *);
int		 coins_can_mine(const struct miner *, int coin);
uint64_t	 coins_refused(const char *coin);
void		 coins_share(const char *coin, const struct stats_hist_at *,
		     int64_t now_ms);
struct stats_hist **coins_hist(const char *coin);
double		 coins_hashrate(const char *coin, enum stats_window,
		     int64_t now_ms);
uint64_t	 coins_switches(enum coins_source);

/* Counted failures of the sources, sluice_switch_errors_total{kind}. */
enum coins_error {
	COINS_ERR_STATE,	/* the state file could not be written/read */
	COINS_ERR_PULL,		/* a pull failed or was refused */
	COINS_ERR_REDIS,	/* Redis refused, dropped or was down */
	COINS_ERR_MAX
};
void		 coins_error(enum coins_error);
uint64_t	 coins_errors(enum coins_error);
const char	*coins_error_text(enum coins_error);

/* coinstate.cc: the map in switch.state-file. */
int		 coinstate_load(void);
int		 coinstate_save(const struct coins_change *, size_t);

/* coinpull.cc: the periodic pull of switch.user-coin-url. */
void		 coinpull_start(void);
void		 coinpull_reload(void);
void		 coinpull_stop(void);
/* For /1/coins: the last pull (unix time, 0: none), ok, error or NULL. */
void		 coinpull_status(time_t *last, int *ok, const char **error);

#endif /* SLUICE_COINS_H */
