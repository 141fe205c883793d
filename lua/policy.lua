-- policy.lua: the built-in policy of sluice, written out in Lua.
--
-- Loading this script changes nothing: every hook below returns exactly
-- what sluice decides without a script (a unit test feeds the same inputs
-- to both and compares). Copy it and edit the copy; sluice-lua(7) has the
-- reference and a cookbook.
--
--   "lua": { "scripts": ["policy.lua"] }       in config.json
--
-- Every hook is optional: delete one and the built-in takes over. A hook
-- that raises an error, runs past lua.instruction-limit, allocates past
-- lua.memory-limit or returns the wrong types is logged as
-- type=lua_error, counted, and replaced by the built-in decision for that
-- one call; the miner is never dropped for it.
--
-- Globals: define hooks and helpers at the top level. Once the scripts
-- are loaded the global table is frozen: assigning a global, or reading
-- one that does not exist, is an error inside a hook. Keep state in
-- locals declared at the top level (they live until the next reload).

-- A "+N" difficulty below this is ignored, as xmrig-proxy does.
local MIN_DIFF = 100

-- on_connect(c): a new TCP connection, before anything is read from it.
--   c.ip, c.port (our bind port), c.tls, c.connections (open now from
--   c.ip), c.tokens (left in its rate-limit bucket), c.allowed (the
--   rate limiter's verdict).
-- Return nil to keep c.allowed, true to admit, false to refuse, or
-- false, seconds to refuse and ban c.ip for that long.
function on_connect(c)
	return c.allowed
end

-- on_login(m): the miner's login request.
--   m.ip, m.port, m.tls, m.login, m.pass, m.agent, m.rigid (nil when the
--   miner sent none), m.algo (array of algorithm names, maybe empty).
-- Return true to accept, or false, "message" to refuse: the miner gets
-- the message as its JSON-RPC error and is disconnected.
function on_login(m)
	if m.login == "" then
		return false, "Invalid payment address provided"
	end
	-- True when no access-password is configured, or it matches.
	if not sluice.check_password(m.pass) then
		return false, "Invalid password"
	end
	return true
end

-- custom_diff(m): after an accepted login.
-- Return user, diff: user is the miner's user from now on (API, logs,
-- worker names); diff is its difficulty, 0 for the pool's own.
function custom_diff(m)
	local user, n = string.match(m.login, "^(.*)%+(%d+)$")

	if user == nil then
		return m.login, sluice.config.custom_diff
	end
	n = tonumber(n)
	if n < MIN_DIFF then
		return user, sluice.config.custom_diff
	end
	return user, n
end

-- worker_name(m, mode): after custom_diff; m.user is set by now.
-- mode is the workers key: "rig_id", "user", "password", "agent", "ip"
-- or "none". Return the worker name, or nil for no worker.
function worker_name(m, mode)
	if mode == "rig_id" then
		return m.rigid or m.user
	elseif mode == "user" then
		return m.user
	elseif mode == "password" then
		-- Never the password itself: the API shows worker names.
		return sluice.secret_tag(m.pass)
	elseif mode == "agent" then
		return m.agent
	elseif mode == "ip" then
		return m.ip
	end
	return nil
end

-- upstream_login(m): simple mode only, before the miner's own pool
-- connection logs in. Return user, pass for that connection, or nil to
-- use the configured pool's user and pass.
function upstream_login(m)
	return nil
end
