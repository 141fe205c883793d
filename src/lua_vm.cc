/*
 * lua_vm.cc: the policy VM core. One LuaJIT state per loaded policy, its
 * limits, loading and reload checks, and the one wrapper every hook call
 * goes through. What each hook is given and may return is in lua_hook.cc;
 * the sandbox and the "sluice" table are in lua_sandbox.cc.
 *
 * Limits: the JIT is off in this VM, so the count hook sees every
 * instruction and the instruction limit stops a runaway hook. A custom
 * allocator enforces the memory limit; when the LuaJIT build refuses
 * custom allocators (lua_newstate returns NULL on 64-bit builds without
 * GC64) the VM falls back to luaL_newstate and the limit is checked from
 * the count hook and after each call instead.
 *
 * Errors: lua_vm_call() is the only place hook code runs. It installs the
 * limits and a traceback handler, calls lua_pcall, checks the returned
 * types with the hook's checker (lua_hook.cc), and on any failure logs a
 * rate-limited type=lua_error line, counts it per hook and returns -1 so
 * the caller (lua_hook.cc, then policy.cc) applies the built-in decision
 * or a denial, as policy.on-error says; the line names it as fallback=.
 * At load time the same failure is an entry in the errors list instead
 * ("FILE:LINE: message").
 *
 * No C++ object with a destructor lives across a raising lua_* call: Lua
 * errors are only raised inside lua_pcall/lua_cpcall, from C functions
 * that hold nothing but plain pointers.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lua.hpp>

#include "config.h"
#include "luavm.h"
#include "stats.h"

#define LUA_SCRIPT_MAX	(1 << 20)	/* bytes in one script */
#define LUA_COUNT_STEP	1000	/* instructions between count hooks */
#define LUA_MEM_SLACK	(1 << 20) /* room past the limit to fail cleanly */
#define LUA_HOOK_LOAD	STATS_NHOOKS	/* a script's top level */
#define LUA_KILL_INSNS	1	/* the instruction limit was hit */
#define LUA_KILL_MEMORY	2	/* the GC count passed the limit */

static_assert(STATS_NHOOKS == 5, "one error counter per hook");

/* A loaded script and what its file looked like when it was read. */
struct lua_script {
	char		*path;
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime;
	int		 missing;	/* stat failed at the last check */
};

/* The rate limit on type=lua_error lines, per hook. */
struct lua_errlog {
	time_t		 second;
	unsigned long	 suppressed;
};

/*
 * One policy VM: a Lua state, its limits and what one call counted, the
 * hooks found after loading, and the scripts it was built from.
 */
struct luavm {
	lua_State	*L;
	struct lua_sandbox sb;		/* see lua_sandbox.cc */
	struct config	*conf;		/* reference, for sb.conf */
	int		 custom_alloc;	/* our allocator limits */
	size_t		 mem_used;	/* bytes (custom allocator) */
	size_t		 mem_limit;
	int		 mem_enforce;	/* only inside lua_vm_call */
	int		 mem_denied;	/* the allocator said no */
	long long	 insn_limit;
	long long	 insns;		/* counted in this call */
	int		 step;		/* insns between count hooks */
	int		 killed;	/* LUA_KILL_*: raise on every insn */
	int		 hooks[STATS_NHOOKS]; /* refs, or LUA_NOREF */
	int		 handler_ref;	/* the message handler */
	struct lua_miner miner;		/* kept by lua_hook.cc */
	struct lua_script *scripts;
	size_t		 nscripts;
	struct lua_errlog errlog[STATS_NHOOKS];
};

/* The VM whose call is under way: the count hook reads it. */
static struct luavm	*lua_vm_running;

/* Tests set this to exercise the luaL_newstate fallback. */
int			 lua_vm_alloc_fallback;

static const char *const lua_vm_hook_names[STATS_NHOOKS] = {
	"on_connect", "on_login", "custom_diff", "worker_name",
	"upstream_login"
};

static const char *lua_vm_hook_text(int hook);
static time_t	 lua_vm_clock(void);
static void	*lua_vm_alloc(void *, void *, size_t, size_t);
static void	 lua_vm_count(lua_State *, lua_Debug *);
static int	 lua_vm_panic(lua_State *);
static int	 lua_vm_handler(lua_State *);
static void	 lua_vm_fail(struct luavm *, int hook, const char *msg,
		     struct strlist *);
static void	 lua_vm_defined(struct luavm *, int hook, char *, size_t);
static int	 lua_vm_read(struct luavm *, const char *, struct strlist *);

/* The name of a hook as scripts define it, or "load" for a top level. */
static const char *
lua_vm_hook_text(int hook)
{
	if (hook >= 0 && hook < STATS_NHOOKS)
		return lua_vm_hook_names[hook];
	return "load";
}

/* Seconds on the monotonic clock, for the error-line rate limit. */
static time_t
lua_vm_clock(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/*
 * The allocator: counts bytes and enforces the limit while a hook runs.
 * Past the limit it still grants up to LUA_MEM_SLACK more but marks the
 * call killed, so the next instruction raises "memory limit exceeded"
 * with the script's file:line (and the error path has room to build its
 * message); past the slack it refuses, which raises a bare memory error.
 * Outside lua_vm_call (argument tables, lua_close) it never refuses, so
 * an unprotected API call cannot reach the panic handler over the limit.
 */
static void *
lua_vm_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct luavm	*vm = (struct luavm *)ud;
	size_t		 want;
	void		*np;

	if (nsize == 0) {
		free(ptr);
		vm->mem_used -= osize;
		return NULL;
	}
	if (vm->mem_enforce && nsize > osize &&
	    (want = vm->mem_used - osize + nsize) > vm->mem_limit) {
		if (want > vm->mem_limit + LUA_MEM_SLACK) {
			vm->mem_denied = 1;
			return NULL;
		}
		if (!vm->killed) {
			vm->killed = LUA_KILL_MEMORY;
			lua_sethook(vm->L, lua_vm_count, LUA_MASKCOUNT, 1);
		}
	}
	if ((np = realloc(ptr, nsize)) == NULL)
		return NULL;
	vm->mem_used = vm->mem_used - osize + nsize;
	return np;
}

/* An error escaped every protected call: a bug, not a script problem. */
static int
lua_vm_panic(lua_State *L)
{
	fatalx("lua: unprotected error: %s",
	    lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?");
}

/*
 * The count hook: every LUA_COUNT_STEP instructions. Past the limit it
 * raises, and from then on fires on every instruction and raises again,
 * so a script that catches the error with pcall cannot keep running.
 * Without the custom allocator it also checks the memory limit here.
 */
static void
lua_vm_count(lua_State *L, lua_Debug *ar)
{
	struct luavm	*vm = lua_vm_running;
	char		 where[128], msg[192];

	(void)ar;
	if (vm == NULL)
		return;
	if (!vm->killed) {
		vm->insns += vm->step;
		if (vm->insns >= vm->insn_limit)
			vm->killed = LUA_KILL_INSNS;
		else if (!vm->custom_alloc &&
		    (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 > vm->mem_limit)
			vm->killed = LUA_KILL_MEMORY;
		else
			return;
		lua_sethook(L, lua_vm_count, LUA_MASKCOUNT, 1);
	}
	/* Not luaL_error: in a hook its own location prefix is empty. */
	lua_where(L, 0, where, sizeof where);
	if (vm->killed == LUA_KILL_MEMORY)
		snprintf(msg, sizeof msg, "%s memory limit exceeded (%d MiB)",
		    where, (int)(vm->mem_limit >> 20));
	else
		snprintf(msg, sizeof msg, "%s instruction limit exceeded "
		    "(%lld)", where, vm->insn_limit);
	lua_pushstring(L, msg);
	lua_error(L);
}

/*
 * The message handler of lua_vm_call. Keeps the message (a non-string
 * error object becomes a description; no metamethod runs here) and, at
 * -v, appends the traceback after "\nstack traceback:", where the wrapper
 * splits it off again.
 */
static int
lua_vm_handler(lua_State *L)
{
	if (lua_type(L, 1) != LUA_TSTRING) {
		lua_pushfstring(L, "(error object is a %s value)",
		    luaL_typename(L, 1));
		lua_replace(L, 1);
	}
	if (log_get_verbose() > 0)
		luaL_traceback(L, L, lua_tostring(L, 1), 1);
	return 1;
}

/*
 * THE wrapper: every call into Lua after setup goes through here.
 * Stack on entry: ..., fn, arg1..argN (nargs). On return the stack is as
 * it was below fn. Returns 0 with *res filled by check, or -1 after
 * reporting (logged and counted, or added to errors at load time).
 * hook is an enum stats_hook, or LUA_HOOK_LOAD for a script's top level.
 */
int
lua_vm_call(struct luavm *vm, int hook, int nargs, lua_check_fn check,
    struct lua_result *res, struct strlist *errors)
{
	lua_State	*L = vm->L;
	const char	*msg, *tb;
	char		 why[256], *text;
	int		 base, status, nres, over = 0;

	sluice_activity(ACT_LUA);
	base = lua_gettop(L) - nargs;		/* index of fn */
	lua_rawgeti(L, LUA_REGISTRYINDEX, vm->handler_ref);
	lua_insert(L, base);			/* ..., handler, fn, args */
	vm->insns = 0;
	vm->killed = vm->mem_denied = 0;
	lua_vm_running = vm;
	vm->mem_enforce = vm->custom_alloc;
	lua_sethook(L, lua_vm_count, LUA_MASKCOUNT, vm->step);
	status = lua_pcall(L, nargs, LUA_MULTRET, base);
	lua_sethook(L, NULL, 0, 0);
	vm->mem_enforce = 0;
	lua_vm_running = NULL;
	if (!vm->custom_alloc &&
	    (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 > vm->mem_limit) {
		lua_gc(L, LUA_GCCOLLECT, 0);
		over = (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 > vm->mem_limit;
	}

	if (status != 0 || over) {
		if (status == LUA_ERRMEM || over ||
		    (vm->mem_denied && !vm->killed)) {
			snprintf(why, sizeof why, "memory limit exceeded "
			    "(%d MiB)", (int)(vm->mem_limit >> 20));
			lua_vm_fail(vm, hook, why, errors);
		} else {
			msg = lua_tostring(L, -1);
			if (msg == NULL)
				msg = "(no message)";
			if ((tb = strstr(msg, "\nstack traceback:")) != NULL) {
				text = xstrndup(msg, tb - msg);
				if (errors == NULL)
					log_debug("lua: %s %s",
					    lua_vm_hook_text(hook), tb + 1);
				lua_vm_fail(vm, hook, text, errors);
				free(text);
			} else
				lua_vm_fail(vm, hook, msg, errors);
		}
		lua_settop(L, base - 1);
		if (vm->mem_denied || vm->killed == LUA_KILL_MEMORY ||
		    status == LUA_ERRMEM)
			lua_gc(L, LUA_GCCOLLECT, 0);
		return -1;
	}
	nres = lua_gettop(L) - base;
	if (check != NULL && check(L, base + 1, nres, res, why,
	    sizeof why) != 0) {
		lua_settop(L, base - 1);
		lua_vm_fail(vm, hook, why, errors);
		return -1;
	}
	lua_settop(L, base - 1);
	return 0;
}

/* "FILE:LINE" where the hook's function is defined, or the script. */
static void
lua_vm_defined(struct luavm *vm, int hook, char *buf, size_t len)
{
	lua_State	*L = vm->L;
	lua_Debug	 ar;

	if (hook >= STATS_NHOOKS || vm->hooks[hook] == LUA_NOREF) {
		xstrlcpy(buf, vm->nscripts > 0 ?
		    vm->scripts[vm->nscripts - 1].path : "?", len);
		return;
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, vm->hooks[hook]);
	if (lua_getinfo(L, ">S", &ar))
		snprintf(buf, len, "%s:%d", ar.short_src, ar.linedefined);
	else
		xstrlcpy(buf, "?", len);
}

/*
 * Report one failure. msg may start with "FILE:LINE: " (Lua's own
 * location prefix); that part becomes at=, else the hook's definition.
 * At load time (errors != NULL): "FILE:LINE: [hook: ]message".
 * At run time: a type=lua_error line, at most one per hook per second
 * (the next one says how many were suppressed), and the counter. The
 * line's fallback= is the on-error of the VM's config: main.cc swaps the
 * policy and sl.conf together, so it is what policy.cc then applies.
 */
static void
lua_vm_fail(struct luavm *vm, int hook, const char *msg,
    struct strlist *errors)
{
	const char	*p, *q, *rest = msg, *fallback;
	char		 at[160], clean[512];
	size_t		 i;
	time_t		 now;

	at[0] = '\0';
	for (p = strchr(msg, ':'); p != NULL; p = strchr(p + 1, ':')) {
		for (q = p + 1; *q >= '0' && *q <= '9'; q++)
			;
		if (q > p + 1 && q[0] == ':' && q[1] == ' ') {
			snprintf(at, sizeof at, "%.*s", (int)(q - msg), msg);
			rest = q + 2;
			break;
		}
	}
	if (at[0] == '\0')
		lua_vm_defined(vm, hook, at, sizeof at);

	if (errors != NULL) {
		if (hook < STATS_NHOOKS)
			strlist_add(errors, "%s: %s (sample call): %s", at,
			    lua_vm_hook_names[hook], rest);
		else
			strlist_add(errors, "%s: %s", at, rest);
		return;
	}
	if (hook >= STATS_NHOOKS)
		return;
	sl_stats.lua_errors[hook]++;
	now = lua_vm_clock();
	if (vm->errlog[hook].second == now) {
		vm->errlog[hook].suppressed++;
		return;
	}
	vm->errlog[hook].second = now;
	xstrlcpy(clean, rest, sizeof clean);
	for (i = 0; clean[i] != '\0'; i++) {
		if ((unsigned char)clean[i] < 0x20 || clean[i] == '"')
			clean[i] = clean[i] == '"' ? '\'' : ' ';
	}
	fallback = config_on_error_text(vm->conf->on_error[hook]);
	if (vm->errlog[hook].suppressed > 0) {
		log_warnx("type=lua_error hook=%s msg=\"%s\" at=%s "
		    "fallback=%s suppressed=%lu", lua_vm_hook_names[hook],
		    clean, at, fallback, vm->errlog[hook].suppressed);
		vm->errlog[hook].suppressed = 0;
	} else
		log_warnx("type=lua_error hook=%s msg=\"%s\" at=%s "
		    "fallback=%s", lua_vm_hook_names[hook], clean, at,
		    fallback);
}

/* Read a script, record its identity, load it as text, run its top level. */
static int
lua_vm_read(struct luavm *vm, const char *path, struct strlist *errors)
{
	struct lua_script	*s;
	struct stat		 st;
	char			*buf;
	ssize_t			 n;
	size_t			 off = 0;
	int			 fd, i;
	char			*name;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		strlist_add(errors, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > LUA_SCRIPT_MAX) {
		strlist_add(errors, "%s: %s", path, !S_ISREG(st.st_mode) ?
		    "not a regular file" : "larger than 1 MiB");
		close(fd);
		return -1;
	}
	buf = (char *)xmalloc((size_t)st.st_size + 1);
	while (off < (size_t)st.st_size &&
	    (n = read(fd, buf + off, (size_t)st.st_size - off)) > 0)
		off += (size_t)n;
	close(fd);
	s = &vm->scripts[vm->nscripts++];
	s->path = xstrdup(path);
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->size = st.st_size;
	s->mtime = st.st_mtim;

	if (off > 0 && buf[0] == 0x1b) {
		free(buf);
		strlist_add(errors, "%s: binary chunks are not allowed", path);
		return -1;
	}
	/* luaL_loadbufferx is protected: a syntax error is returned. */
	xasprintf(&name, "@%s", path);
	i = luaL_loadbufferx(vm->L, buf, off, name, "t");
	free(name);
	if (i != 0) {
		free(buf);
		strlist_add(errors, "%s", lua_tostring(vm->L, -1));
		lua_pop(vm->L, 1);
		return -1;
	}
	free(buf);
	if (lua_vm_call(vm, LUA_HOOK_LOAD, 0, NULL, NULL, errors) != 0)
		return -1;

	/* A hook name this script bound to something else is its error. */
	lua_rawgeti(vm->L, LUA_REGISTRYINDEX, vm->sb.globals_ref);
	for (i = 0; i < STATS_NHOOKS; i++) {
		lua_pushstring(vm->L, lua_vm_hook_names[i]);
		lua_rawget(vm->L, -2);
		if (!lua_isnil(vm->L, -1) && !lua_isfunction(vm->L, -1)) {
			strlist_add(errors, "%s: %s is a %s, not a function",
			    path, lua_vm_hook_names[i],
			    luaL_typename(vm->L, -1));
			lua_pop(vm->L, 2);
			return -1;
		}
		lua_pop(vm->L, 1);
	}
	lua_pop(vm->L, 1);
	return 0;
}

/*
 * Build a VM for conf: sandbox, scripts in order, hooks checked and
 * called once on samples. NULL with errors on any failure.
 */
struct luavm *
lua_vm_load(struct config *conf, struct strlist *errors)
{
	struct luavm	*vm;
	size_t		 i;
	int		 h;

	vm = XCALLOC(struct luavm, 1);
	vm->conf = config_ref(conf);
	vm->sb.conf = conf;
	vm->mem_limit = (size_t)conf->lua_memory_limit << 20;
	vm->insn_limit = conf->lua_instruction_limit;
	vm->step = vm->insn_limit < LUA_COUNT_STEP ? (int)vm->insn_limit :
	    LUA_COUNT_STEP;
	if (vm->step < 1)
		vm->step = 1;
	vm->miner.ref = LUA_NOREF;
	for (h = 0; h < STATS_NHOOKS; h++)
		vm->hooks[h] = LUA_NOREF;
	vm->scripts = XCALLOC(struct lua_script, conf->nlua_scripts + 1);

	/*
	 * A custom allocator when the build allows it; 64-bit LuaJIT
	 * without GC64 returns NULL here ("must use luaL_newstate"), and
	 * then the limit is checked from the count hook and after calls.
	 */
	if (!lua_vm_alloc_fallback)
		vm->L = lua_newstate(lua_vm_alloc, vm);
	if (vm->L != NULL)
		vm->custom_alloc = 1;
	else if ((vm->L = luaL_newstate()) == NULL)
		fatalx("lua: cannot create a state");
	lua_atpanic(vm->L, lua_vm_panic);
	/* JIT off: count hooks are not checked inside compiled traces. */
	luaJIT_setmode(vm->L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
	if (lua_cpcall(vm->L, lua_sandbox_open, &vm->sb) != 0) {
		strlist_add(errors, "lua: sandbox setup failed: %s",
		    lua_tostring(vm->L, -1));
		lua_vm_free(vm);
		return NULL;
	}
	lua_pushcfunction(vm->L, lua_vm_handler);
	vm->handler_ref = luaL_ref(vm->L, LUA_REGISTRYINDEX);

	for (i = 0; i < conf->nlua_scripts; i++) {
		if (lua_vm_read(vm, conf->lua_scripts[i], errors) != 0) {
			lua_vm_free(vm);
			return NULL;
		}
	}
	lua_rawgeti(vm->L, LUA_REGISTRYINDEX, vm->sb.globals_ref);
	for (h = 0; h < STATS_NHOOKS; h++) {
		lua_pushstring(vm->L, lua_vm_hook_names[h]);
		lua_rawget(vm->L, -2);
		if (lua_isfunction(vm->L, -1))
			vm->hooks[h] = luaL_ref(vm->L, LUA_REGISTRYINDEX);
		else
			lua_pop(vm->L, 1);
	}
	lua_pop(vm->L, 1);
	vm->sb.locked = 1;
	if (lua_hook_samples(vm, conf, errors) != 0) {
		lua_vm_free(vm);
		return NULL;
	}
	lua_gc(vm->L, LUA_GCCOLLECT, 0);
	return vm;
}

/* Close a VM. */
void
lua_vm_free(struct luavm *vm)
{
	size_t	 i;

	if (vm == NULL)
		return;
	if (vm->L != NULL)
		lua_close(vm->L);
	for (i = 0; i < vm->nscripts; i++)
		free(vm->scripts[i].path);
	free(vm->scripts);
	config_unref(vm->conf);
	free(vm);
}

/* Does the VM define this hook? */
int
lua_vm_has(const struct luavm *vm, int hook)
{
	return vm != NULL && vm->hooks[hook] != LUA_NOREF;
}

/* Bytes the VM holds (custom allocator) or LuaJIT's own count. */
size_t
lua_vm_memory(const struct luavm *vm)
{
	if (vm->custom_alloc)
		return vm->mem_used;
	return (size_t)lua_gc(vm->L, LUA_GCCOUNT, 0) * 1024 +
	    (size_t)lua_gc(vm->L, LUA_GCCOUNTB, 0);
}

/*
 * Has any script changed since it was read (or since the last time this
 * said so)? Each change is reported once, so a reload that fails on it
 * is not retried every tick; the next edit triggers the next reload.
 */
int
lua_vm_files_changed(struct luavm *vm)
{
	struct lua_script	*s;
	struct stat		 st;
	size_t			 i;
	int			 changed = 0;

	for (i = 0; i < vm->nscripts; i++) {
		s = &vm->scripts[i];
		if (stat(s->path, &st) != 0) {
			if (!s->missing)
				changed = 1;
			s->missing = 1;
			continue;
		}
		if (s->missing || st.st_dev != s->dev || st.st_ino != s->ino ||
		    st.st_size != s->size ||
		    st.st_mtim.tv_sec != s->mtime.tv_sec ||
		    st.st_mtim.tv_nsec != s->mtime.tv_nsec) {
			s->missing = 0;
			s->dev = st.st_dev;
			s->ino = st.st_ino;
			s->size = st.st_size;
			s->mtime = st.st_mtim;
			changed = 1;
		}
	}
	return changed;
}

/* The VM's Lua state, for lua_hook.cc to push arguments on. */
lua_State *
lua_vm_state(struct luavm *vm)
{
	return vm->L;
}

/* Push a hook the VM defines (check lua_vm_has first). */
void
lua_vm_push_hook(struct luavm *vm, int hook)
{
	lua_rawgeti(vm->L, LUA_REGISTRYINDEX, vm->hooks[hook]);
}

/* The table of the login under way: lua_hook.cc's, kept with the VM. */
struct lua_miner *
lua_vm_miner(struct luavm *vm)
{
	return &vm->miner;
}
