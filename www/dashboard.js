/*
 * dashboard.js: sluice's dashboard. Polls the HTTP API every few seconds
 * (/1/summary, /1/workers, /1/upstreams, /1/coins, /1/fleet) and /1/history for the
 * chart, and fills index.html. No library: the chart is a canvas drawn
 * here, the tables page through their rows so that 10,000 workers cost
 * 50 rows of DOM.
 *
 * Rules kept throughout:
 * - text from the API (worker names, addresses, pools, coins) reaches the
 *   DOM through textContent or new Option() only, never as HTML;
 * - a failed request is shown in the status line, never thrown to the
 *   console; endpoints that this sluice lacks (dashboard.json lists those
 *   it has) are not asked for, so no 404 is ever logged;
 * - with an access token configured, the token is asked for once, kept in
 *   sessionStorage (this tab only) and sent as "Authorization: Bearer".
 */
'use strict';

(function () {
	const REFRESH_MS = 5000;
	const FETCH_MS = 10000;
	const PAGE_ROWS = 50;
	const TOKEN_KEY = 'sluice.token';
	/* Range: seconds shown, history step, seconds between chart loads. */
	const RANGES = {
		'1h': [3600, 60, 10],
		'24h': [86400, 300, 60],
		'30d': [30 * 86400, 3600, 300]
	};
	/* Worker status by the age of its last accepted share. */
	const ACTIVE_MS = 2 * 60 * 1000;
	const LATE_MS = 10 * 60 * 1000;

	const collator = new Intl.Collator(undefined,
	    { numeric: true, sensitivity: 'base' });
	const intFmt = new Intl.NumberFormat();

	const state = {
		token: sessionStorage.getItem(TOKEN_KEY),
		dash: null,		/* dashboard.json */
		authNeeded: false,
		timer: 0,
		busy: false,
		again: false,
		skew: 0,		/* server clock minus ours, ms */
		range: '1h',
		series: 'total',	/* "total", "coin:NAME", "worker:NAME" */
		histAt: 0,
		histSeq: 0,
		coins: [],
		restricted: true,
		feed: null		/* the live feed: {ctl, miner, asked} */
	};
	/* The live feed: lines shown at most, a raw line's characters. */
	const FEED_LINES = 200;
	const FEED_RAW = 400;
	const FEED_DIRS = {
		miner_to_proxy: 'miner → sluice',
		proxy_to_miner: 'sluice → miner',
		pool_to_proxy: 'pool → sluice',
		proxy_to_pool: 'sluice → pool'
	};

	let workers, upstreams, coins, fleet, chart;

	function $(id) {
		return document.getElementById(id);
	}

	/* Helpers: formatting. */

	function fmtInt(n) {
		return intFmt.format(n || 0);
	}

	/* Hashes per second with a unit, three significant digits. */
	function fmtHs(hs) {
		const units = ['H/s', 'kH/s', 'MH/s', 'GH/s', 'TH/s', 'PH/s'];
		let i = 0;

		hs = Number(hs) || 0;
		while (hs >= 1000 && i < units.length - 1) {
			hs /= 1000;
			i++;
		}
		return (hs >= 100 || hs === 0 ? hs.toFixed(0) :
		    hs.toPrecision(3)) + ' ' + units[i];
	}

	function fmtKhs(khs) {
		return fmtHs((Number(khs) || 0) * 1000);
	}

	/* A duration in seconds, two units at most: "3d 4h", "5m 12s". */
	function fmtDur(s) {
		const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
		const m = Math.floor(s % 3600 / 60), r = Math.floor(s % 60);

		if (d > 0)
			return d + 'd ' + h + 'h';
		if (h > 0)
			return h + 'h ' + m + 'm';
		if (m > 0)
			return m + 'm ' + r + 's';
		return r + 's';
	}

	function fmtAge(ms) {
		if (!ms)
			return 'never';
		return fmtDur(Math.max(0, (serverNow() - ms) / 1000)) + ' ago';
	}

	function pad2(n) {
		return (n < 10 ? '0' : '') + n;
	}

	/* Chart axis and tooltip times, in the browser's time zone. */
	function fmtTime(ts, span, seconds) {
		const d = new Date(ts * 1000);
		const hm = pad2(d.getHours()) + ':' + pad2(d.getMinutes()) +
		    (seconds ? ':' + pad2(d.getSeconds()) : '');

		if (span <= 36 * 3600)
			return hm;
		return d.toLocaleDateString(undefined,
		    { month: 'short', day: 'numeric' }) + (seconds ? ' ' + hm : '');
	}

	function serverNow() {
		return Date.now() + state.skew;
	}

	/* Helpers: the API. */

	function has(endpoint) {
		const e = state.dash && state.dash.endpoints;

		return Array.isArray(e) ? e.indexOf(endpoint) !== -1 : true;
	}

	/*
	 * GET a JSON document of the API. Throws an Error whose "auth" is the
	 * status for 401 and 403, whose message is the API's {"error"} or the
	 * status otherwise.
	 */
	async function api(path) {
		const headers = { Accept: 'application/json' };
		const ctl = new AbortController();
		const t = setTimeout(function () { ctl.abort(); }, FETCH_MS);
		let r, body = null, date;

		if (state.token)
			headers.Authorization = 'Bearer ' + state.token;
		try {
			r = await fetch(path, { headers: headers,
			    cache: 'no-store', credentials: 'omit',
			    signal: ctl.signal });
		} finally {
			clearTimeout(t);
		}
		/* The server's clock, for the age of the last shares. */
		date = Date.parse(r.headers.get('Date') || '');
		if (!isNaN(date))
			state.skew = Math.abs(date - Date.now()) > 5000 ?
			    date - Date.now() : 0;
		try {
			body = await r.json();
		} catch (e) {
			body = null;
		}
		if (r.status === 401 || r.status === 403) {
			const e = new Error(r.status === 401 ?
			    'an access token is required' :
			    'the access token was refused');
			e.auth = r.status;
			throw e;
		}
		if (!r.ok)
			throw new Error(path + ': ' + (body && body.error ?
			    body.error : 'HTTP ' + r.status));
		if (body === null)
			throw new Error(path + ': not JSON');
		return body;
	}

	function setStatus(text, bad) {
		const s = $('status');

		s.textContent = text;
		s.classList.toggle('error', !!bad);
	}

	function setTile(id, text, title) {
		const v = $(id).querySelector('.value');

		v.textContent = text;
		if (title !== undefined)
			$(id).title = title;
	}

	/* A sortable, filterable table that shows one page of its rows. */

	/*
	 * cols: [{label, value(row), text(row)?, num?, cls(row)?, left?}];
	 * opts: {sort, dir, key(row), filter(row, lowercase text)?,
	 * empty, onPick(key)?}.
	 */
	function Table(id, cols, opts) {
		const self = this;
		const tr = document.querySelector('#' + id + ' thead tr');

		this.el = $(id);
		this.body = this.el.querySelector('tbody');
		this.pager = $(id + '-pager');
		this.cols = cols;
		this.opts = opts;
		this.rows = [];
		this.view = [];
		this.sortCol = opts.sort || 0;
		this.sortDir = opts.dir || 1;
		this.filter = '';
		this.page = 0;
		this.picked = null;
		this.dirty = true;
		cols.forEach(function (c, i) {
			const th = document.createElement('th');
			const b = document.createElement('button');

			th.scope = 'col';
			if (c.left)
				th.className = 'text';
			b.type = 'button';
			b.textContent = c.label;
			b.addEventListener('click', function () { self.sortBy(i); });
			th.appendChild(b);
			tr.appendChild(th);
		});
		if (this.pager) {
			this.pager.addEventListener('click', function (ev) {
				const b = ev.target.closest('button[data-page]');

				if (b === null)
					return;
				self.page += Number(b.dataset.page);
				self.render();
			});
		}
		if (opts.onPick) {
			this.body.addEventListener('click', function (ev) {
				const row = ev.target.closest('tr[data-key]');

				if (row !== null)
					self.pick(row.dataset.key);
			});
			this.body.addEventListener('keydown', function (ev) {
				const row = ev.target.closest('tr[data-key]');

				if (row !== null && (ev.key === 'Enter' || ev.key === ' ')) {
					ev.preventDefault();
					self.pick(row.dataset.key);
				}
			});
		}
	}

	Table.prototype.setRows = function (rows) {
		this.rows = rows;
		this.dirty = true;
		this.render();
	};

	Table.prototype.setFilter = function (text) {
		this.filter = text.trim().toLowerCase();
		this.page = 0;
		this.dirty = true;
		this.render();
	};

	Table.prototype.sortBy = function (i) {
		if (this.sortCol === i)
			this.sortDir = -this.sortDir;
		else {
			this.sortCol = i;
			this.sortDir = this.cols[i].num ? -1 : 1;
		}
		this.page = 0;
		this.dirty = true;
		this.render();
	};

	Table.prototype.pick = function (key) {
		this.picked = key;
		this.render();
		this.opts.onPick(key);
	};

	/* Filter and sort: keys computed once per row, not per comparison. */
	Table.prototype.compute = function () {
		const c = this.cols[this.sortCol], d = this.sortDir;
		const key = this.opts.key, f = this.filter, match = this.opts.filter;
		let rows = this.rows, items;

		if (f !== '' && match)
			rows = rows.filter(function (r) { return match(r, f); });
		items = rows.map(function (r) {
			return { k: c.value(r), n: String(key(r)), r: r };
		});
		items.sort(function (a, b) {
			let x;

			if (c.num)
				x = (a.k - b.k) * d;
			else
				x = collator.compare(String(a.k), String(b.k)) * d;
			return x || collator.compare(a.n, b.n);
		});
		this.view = items.map(function (it) { return it.r; });
		this.dirty = false;
	};

	Table.prototype.render = function () {
		const t0 = performance.now();
		const self = this, cols = this.cols, frag = document.createDocumentFragment();
		let pages, rows, tr, td;

		if (this.dirty)
			this.compute();
		pages = Math.max(1, Math.ceil(this.view.length / PAGE_ROWS));
		this.page = Math.min(Math.max(this.page, 0), pages - 1);
		rows = this.view.slice(this.page * PAGE_ROWS,
		    (this.page + 1) * PAGE_ROWS);
		rows.forEach(function (r) {
			tr = document.createElement('tr');
			if (self.opts.onPick) {
				tr.dataset.key = String(self.opts.key(r));
				tr.tabIndex = 0;
				tr.setAttribute('aria-selected',
				    tr.dataset.key === self.picked ? 'true' : 'false');
			}
			cols.forEach(function (c) {
				td = document.createElement('td');
				td.textContent = c.text ? c.text(r) : c.value(r);
				if (c.left)
					td.className = 'text';
				if (c.cls)
					td.classList.add('st', c.cls(r));
				if (c.title)
					td.title = c.title(r);
				tr.appendChild(td);
			});
			frag.appendChild(tr);
		});
		if (rows.length === 0) {
			tr = document.createElement('tr');
			td = document.createElement('td');
			td.colSpan = cols.length;
			td.className = 'empty';
			td.textContent = this.filter !== '' && this.rows.length > 0 ?
			    'Nothing matches the filter.' : this.opts.empty;
			tr.appendChild(td);
			frag.appendChild(tr);
		}
		this.body.replaceChildren(frag);
		this.el.querySelectorAll('thead th').forEach(function (th, i) {
			if (i === self.sortCol)
				th.setAttribute('aria-sort', self.sortDir > 0 ?
				    'ascending' : 'descending');
			else
				th.removeAttribute('aria-sort');
		});
		if (this.pager)
			this.renderPager(pages);
		this.el.dataset.rows = String(this.view.length);
		this.el.dataset.renderMs = (performance.now() - t0).toFixed(1);
	};

	Table.prototype.renderPager = function (pages) {
		const b = this.pager.querySelectorAll('button');
		const first = this.page * PAGE_ROWS;

		this.pager.hidden = pages <= 1;
		b[0].disabled = this.page === 0;
		b[1].disabled = this.page >= pages - 1;
		this.pager.querySelector('.pages').textContent =
		    fmtInt(first + 1) + '–' + fmtInt(Math.min(first + PAGE_ROWS,
		    this.view.length)) + ' of ' + fmtInt(this.view.length) +
		    ' · page ' + fmtInt(this.page + 1) + ' of ' + fmtInt(pages);
	};

	/* Workers: status by the age of the last share. */

	/* /1/workers row: name, ip, connections, accepted, rejected, invalid,
	 * hashes, last share ms, kH/s over 1 min, 10 min, 1 h, 12 h, 24 h. */
	function workerStatus(r) {
		const age = serverNow() - r[7];

		if (r[2] === 0)
			return 'offline';
		if (!r[7])
			return 'waiting';
		if (age <= ACTIVE_MS)
			return 'active';
		return age <= LATE_MS ? 'late' : 'idle';
	}

	const STATUS_RANK = { active: 0, late: 1, waiting: 2, idle: 3, offline: 4 };

	function num(i) {
		return function (r) { return Number(r[i]) || 0; };
	}

	function khsCol(label, i) {
		return { label: label, num: true, value: num(i),
		    text: function (r) { return fmtKhs(r[i]); } };
	}

	function intCol(label, i) {
		return { label: label, num: true, value: num(i),
		    text: function (r) { return fmtInt(r[i]); } };
	}

	function makeWorkers() {
		return new Table('workers', [
			{ label: 'Worker', left: true,
			    value: function (r) { return r[0]; } },
			{ label: 'Status', left: true, num: true,
			    value: function (r) {
				return STATUS_RANK[workerStatus(r)];
			    },
			    text: workerStatus,
			    cls: function (r) { return 'st-' + workerStatus(r); } },
			{ label: 'Address', left: true,
			    value: function (r) { return r[1] || ''; } },
			intCol('Conns', 2),
			khsCol('1 min', 8),
			khsCol('10 min', 9),
			khsCol('1 h', 10),
			khsCol('24 h', 12),
			intCol('Accepted', 3),
			intCol('Rejected', 4),
			intCol('Invalid', 5),
			{ label: 'Last share', num: true, value: num(7),
			    text: function (r) { return fmtAge(r[7]); },
			    title: function (r) {
				return r[7] ? new Date(r[7]).toLocaleString() : '';
			    } }
		], {
			sort: 0,
			dir: 1,
			key: function (r) { return r[0]; },
			filter: function (r, f) {
				return String(r[0]).toLowerCase().indexOf(f) !== -1 ||
				    String(r[1] || '').toLowerCase().indexOf(f) !== -1;
			},
			empty: 'No workers yet.',
			onPick: pickWorker
		});
	}

	function field(name) {
		return function (o) { return o[name]; };
	}

	function makeUpstreams() {
		return new Table('upstreams', [
			{ label: 'Id', num: true, value: field('id') },
			{ label: 'Pool', left: true,
			    value: function (o) { return o.pool || '–'; } },
			{ label: 'Coin', left: true, value: field('coin') },
			{ label: 'State', left: true, value: field('state'),
			    cls: function (o) {
				return 'st-' + (o.state === 'active' ? 'up' : o.state);
			    } },
			{ label: 'Miners', num: true, value: field('miners'),
			    text: function (o) { return fmtInt(o.miners); } },
			{ label: 'Jobs', num: true, value: field('jobs'),
			    text: function (o) { return fmtInt(o.jobs); } },
			{ label: 'Accepted', num: true, value: field('accepted'),
			    text: function (o) { return fmtInt(o.accepted); } },
			{ label: 'Rejected', num: true, value: field('rejected'),
			    text: function (o) { return fmtInt(o.rejected); } },
			{ label: 'Latency', num: true, value: field('latency_ms'),
			    text: function (o) { return fmtInt(o.latency_ms) + ' ms'; } }
		], {
			key: field('id'),
			empty: 'No upstreams.'
		});
	}

	function coinHs(i) {
		return { label: ['1 min', '10 min', '1 h'][i], num: true,
		    value: function (o) { return o.hashrate[i] || 0; },
		    text: function (o) { return fmtKhs(o.hashrate[i]); } };
	}

	function makeCoins() {
		return new Table('coins', [
			{ label: 'Coin', left: true, value: field('name') },
			{ label: 'Algorithm', left: true,
			    value: function (o) { return o.algo || '–'; } },
			{ label: 'Default', left: true,
			    value: function (o) { return o['default'] ? 'yes' : ''; } },
			{ label: 'Miners', num: true, value: field('miners'),
			    text: function (o) { return fmtInt(o.miners); } },
			{ label: 'Upstreams', num: true, value: field('upstreams'),
			    text: function (o) { return fmtInt(o.upstreams); } },
			{ label: 'Refused', num: true, value: field('refused'),
			    text: function (o) { return fmtInt(o.refused); } },
			coinHs(0), coinHs(1), coinHs(2)
		], {
			key: field('name'),
			empty: 'No coins.'
		});
	}

	/* The nodes sharing fleet.redis: shown when there are any. */
	function makeFleet() {
		return new Table('fleet', [
			{ label: 'Node', left: true, value: field('name') },
			{ label: 'Version', left: true, value: field('version') },
			{ label: 'Uptime', num: true, value: field('uptime'),
			    text: function (o) { return fmtDur(o.uptime || 0); } },
			{ label: 'Miners', num: true, value: field('miners'),
			    text: function (o) { return fmtInt(o.miners); } },
			{ label: 'Workers', num: true, value: field('workers'),
			    text: function (o) { return fmtInt(o.workers); } },
			{ label: 'Upstreams', num: true,
			    value: function (o) { return o.upstreams.active; },
			    text: function (o) {
				    return fmtInt(o.upstreams.active) + ' / ' +
					fmtInt(o.upstreams.total);
			    } },
			coinHs(0), coinHs(1), coinHs(2),
			{ label: 'Accepted', num: true, value: field('accepted'),
			    text: function (o) { return fmtInt(o.accepted); } },
			{ label: 'Rejected', num: true, value: field('rejected'),
			    text: function (o) { return fmtInt(o.rejected); } }
		], {
			key: field('name'),
			empty: 'No nodes.'
		});
	}

	/* The chart: one series on a canvas, gaps left open. */

	function Chart(canvas, tip) {
		const self = this;

		this.canvas = canvas;
		this.tip = tip;
		this.points = [];
		this.from = 0;
		this.to = 0;
		this.step = 60;
		this.hover = -1;
		canvas.addEventListener('mousemove', function (ev) {
			self.onMove(ev);
		});
		canvas.addEventListener('mouseleave', function () {
			self.hover = -1;
			self.tip.hidden = true;
			self.paint();
		});
		window.addEventListener('resize', function () { self.paint(); });
	}

	Chart.prototype.draw = function (points, from, to, step) {
		this.points = (points || []).filter(function (p) {
			return Array.isArray(p) && p[0] >= from && p[0] <= to;
		});
		this.from = from;
		this.to = to;
		this.step = step;
		this.hover = -1;
		this.tip.hidden = true;
		this.paint();
	};

	/* Seconds between two time labels: the first that makes at most 6. */
	const TICKS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
	    43200, 86400, 172800, 345600, 604800];

	/* Label times between t0 and t1, round in the browser's time zone. */
	function timeTicks(t0, t1) {
		const off = new Date(t0 * 1000).getTimezoneOffset() * 60;
		const out = [];
		let step = TICKS[TICKS.length - 1], t, i;

		for (i = 0; i < TICKS.length; i++) {
			if ((t1 - t0) / TICKS[i] <= 6) {
				step = TICKS[i];
				break;
			}
		}
		for (t = Math.ceil((t0 - off) / step) * step + off; t <= t1;
		    t += step)
			out.push(t);
		return out;
	}

	/* A round number at or above v: 1, 2 or 5 times a power of ten. */
	function niceCeil(v) {
		const p = Math.pow(10, Math.floor(Math.log10(v)));
		const m = v / p;

		return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
	}

	Chart.prototype.layout = function () {
		const c = this.canvas, pts = this.points;
		const w = c.clientWidth, h = c.clientHeight;
		let t0 = this.from, max = 0;

		/* Start where the data starts, not at an empty window's edge. */
		if (pts.length > 0)
			t0 = Math.max(this.from, Math.min(pts[0][0],
			    this.to - 4 * this.step));
		pts.forEach(function (p) { max = Math.max(max, Number(p[1]) || 0); });
		return {
			w: w, h: h, left: 72, right: 14, top: 10, bottom: 24,
			t0: t0, t1: this.to,
			max: max > 0 ? niceCeil(max * 1.1) : 1000
		};
	};

	Chart.prototype.x = function (L, t) {
		return L.left + (t - L.t0) / Math.max(1, L.t1 - L.t0) *
		    (L.w - L.left - L.right);
	};

	Chart.prototype.y = function (L, v) {
		return L.h - L.bottom - v / L.max * (L.h - L.top - L.bottom);
	};

	Chart.prototype.paint = function () {
		const c = this.canvas, ctx = c.getContext('2d');
		const css = getComputedStyle(c), dpr = window.devicePixelRatio || 1;
		const pts = this.points, self = this;
		const L = this.layout();
		const color = function (n) { return css.getPropertyValue(n).trim(); };
		let i, v, x, y, seg = [], segs = [];

		if (L.w === 0 || L.h === 0)
			return;
		if (c.width !== Math.round(L.w * dpr) ||
		    c.height !== Math.round(L.h * dpr)) {
			c.width = Math.round(L.w * dpr);
			c.height = Math.round(L.h * dpr);
		}
		ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
		ctx.clearRect(0, 0, L.w, L.h);
		ctx.font = '11px system-ui, sans-serif';
		ctx.lineWidth = 1;

		/* Grid and labels: four steps up, about six times across. */
		ctx.strokeStyle = color('--grid');
		ctx.fillStyle = color('--muted');
		ctx.textAlign = 'right';
		ctx.textBaseline = 'middle';
		for (i = 0; i <= 4; i++) {
			v = L.max * i / 4;
			y = Math.round(this.y(L, v)) + 0.5;
			ctx.beginPath();
			ctx.moveTo(L.left, y);
			ctx.lineTo(L.w - L.right, y);
			ctx.stroke();
			ctx.fillText(fmtHs(v), L.left - 8, y);
		}
		ctx.textBaseline = 'top';
		timeTicks(L.t0, L.t1).forEach(function (tk) {
			x = self.x(L, tk);
			ctx.textAlign = x < L.left + 20 ? 'left' :
			    x > L.w - L.right - 20 ? 'right' : 'center';
			ctx.fillText(fmtTime(tk, L.t1 - L.t0, false), x,
			    L.h - L.bottom + 6);
		});

		/* The series, broken where samples are missing. */
		for (i = 0; i < pts.length; i++) {
			if (i > 0 && pts[i][0] - pts[i - 1][0] > 2.5 * this.step) {
				segs.push(seg);
				seg = [];
			}
			seg.push([this.x(L, pts[i][0]), this.y(L, Number(pts[i][1]) || 0)]);
		}
		if (seg.length > 0)
			segs.push(seg);
		segs.forEach(function (s) {
			if (s.length === 1) {
				ctx.fillStyle = color('--accent');
				ctx.beginPath();
				ctx.arc(s[0][0], s[0][1], 3, 0, 2 * Math.PI);
				ctx.fill();
				return;
			}
			ctx.beginPath();
			ctx.moveTo(s[0][0], self.y(L, 0));
			s.forEach(function (p) { ctx.lineTo(p[0], p[1]); });
			ctx.lineTo(s[s.length - 1][0], self.y(L, 0));
			ctx.closePath();
			ctx.fillStyle = color('--fill');
			ctx.fill();
			ctx.beginPath();
			s.forEach(function (p, j) {
				if (j === 0)
					ctx.moveTo(p[0], p[1]);
				else
					ctx.lineTo(p[0], p[1]);
			});
			ctx.strokeStyle = color('--accent');
			ctx.lineWidth = 2;
			ctx.stroke();
			ctx.lineWidth = 1;
		});

		if (this.hover >= 0 && this.hover < pts.length) {
			x = this.x(L, pts[this.hover][0]);
			y = this.y(L, Number(pts[this.hover][1]) || 0);
			ctx.strokeStyle = color('--muted');
			ctx.beginPath();
			ctx.moveTo(Math.round(x) + 0.5, L.top);
			ctx.lineTo(Math.round(x) + 0.5, L.h - L.bottom);
			ctx.stroke();
			ctx.fillStyle = color('--accent');
			ctx.beginPath();
			ctx.arc(x, y, 4, 0, 2 * Math.PI);
			ctx.fill();
		}
		c.dataset.points = String(pts.length);
	};

	/* Hover: the nearest point's time, hashrate and shares. */
	Chart.prototype.onMove = function (ev) {
		const pts = this.points, L = this.layout();
		const rect = this.canvas.getBoundingClientRect();
		const t = L.t0 + (ev.clientX - rect.left - L.left) /
		    Math.max(1, L.w - L.left - L.right) * (L.t1 - L.t0);
		let lo = 0, hi = pts.length - 1, mid, p;

		if (pts.length === 0)
			return;
		while (lo < hi) {
			mid = (lo + hi) >> 1;
			if (pts[mid][0] < t)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > 0 && t - pts[lo - 1][0] < pts[lo][0] - t)
			lo--;
		this.hover = lo;
		p = pts[lo];
		this.tip.textContent = fmtTime(p[0], L.t1 - L.t0, true) + ' · ' +
		    fmtHs(p[1]) + ' · ' + fmtInt(p[2]) + ' accepted, ' +
		    fmtInt(p[3]) + ' rejected, ' + fmtInt(p[4]) + ' invalid';
		this.tip.hidden = false;
		this.paint();
	};

	/* The chart's data: /1/history for the chosen series and range. */

	function chartNote(text) {
		$('chart-note').textContent = text;
	}

	async function loadHistory(force) {
		const r = RANGES[state.range], now = Math.floor(serverNow() / 1000);
		const from = now - r[0], series = state.series;
		let q, h, name, list, seq;

		if (!force && now - state.histAt < r[2])
			return;
		state.histAt = now;
		/* A later load (another series or range) wins over this one. */
		seq = ++state.histSeq;
		if (!has('/1/history')) {
			chart.draw([], from, now, r[1]);
			chartNote('No history: this sluice has no /1/history ' +
			    'endpoint, so the chart stays empty.');
			return;
		}
		q = '1/history?from=' + from + '&to=' + now + '&step=' + r[1];
		try {
			if (series.indexOf('worker:') === 0) {
				name = series.slice(7);
				/* Asking for a worker without data would be a 404. */
				if (has('/1/history/workers')) {
					list = await api('1/history/workers');
					if (seq !== state.histSeq)
						return;
					if (!Array.isArray(list.workers) ||
					    list.workers.indexOf(name) === -1) {
						chart.draw([], from, now, r[1]);
						chartNote('No history for worker ' + name +
						    ' yet.');
						return;
					}
				}
				q += '&worker=' + encodeURIComponent(name);
			} else if (series.indexOf('coin:') === 0)
				q += '&coin=' + encodeURIComponent(series.slice(5));
			h = await api(q);
		} catch (e) {
			if (seq !== state.histSeq)
				return;
			if (e.auth) {
				authFailed(e);
				return;
			}
			chartNote('History: ' + e.message);
			return;
		}
		if (seq !== state.histSeq)
			return;
		chart.draw(h.points, from, now, r[1]);
		if (!Array.isArray(h.points) || h.points.length === 0)
			chartNote('No points in this range yet: a sample is taken ' +
			    'every 10 seconds.');
		else if (h.persisted === false)
			chartNote('History is not persisted right now (see the ' +
			    'log): these points are from memory only.');
		else
			chartNote('');
	}

	function setSeries(value) {
		state.series = value;
		$('series').value = value;
		loadHistory(true);
	}

	/* A worker's row was clicked: chart it. */
	function pickWorker(name) {
		const sel = $('series');
		let opt = sel.querySelector('option[data-worker]');

		if (opt === null) {
			opt = new Option('', '');
			opt.dataset.worker = '1';
			sel.appendChild(opt);
		}
		opt.text = 'Worker: ' + name;
		opt.value = 'worker:' + name;
		setSeries(opt.value);
		$('chart').scrollIntoView({ block: 'nearest' });
	}

	/* The series menu: total, each coin when there are several, a worker. */
	function renderSeries(list) {
		const sel = $('series');
		const names = list.length > 1 ? list.map(field('name')) : [];

		if (names.join('\n') === state.coins.join('\n'))
			return;
		state.coins = names;
		sel.querySelectorAll('option[data-coin]').forEach(function (o) {
			o.remove();
		});
		names.forEach(function (n) {
			const o = new Option('Coin: ' + n, 'coin:' + n);

			o.dataset.coin = '1';
			sel.insertBefore(o, sel.querySelector('option[data-worker]'));
		});
		if (state.series.indexOf('coin:') === 0 &&
		    names.indexOf(state.series.slice(5)) === -1)
			setSeries('total');
		else
			sel.value = state.series;
	}

	/* Rendering the documents. */

	function renderSummary(s) {
		const k = (s.hashrate && s.hashrate.total) || [];
		const hs = (s.sluice && s.sluice.hashrate_hs) ||
		    k.map(function (v) { return v * 1000; });
		const u = s.upstreams || {}, res = s.results || {};

		setTile('tile-hr1m', fmtHs(hs[0]));
		setTile('tile-hr10m', fmtHs(hs[1]));
		setTile('tile-hr1h', fmtHs(hs[2]));
		setTile('tile-hr24h', fmtHs(hs[4]));
		setTile('tile-miners', fmtInt(s.miners && s.miners.now),
		    'Most at once: ' + fmtInt(s.miners && s.miners.max));
		setTile('tile-workers', fmtInt(s.workers));
		setTile('tile-upstreams', fmtInt(u.active) + ' / ' +
		    fmtInt(u.sleep) + ' / ' + fmtInt(u.error),
		    'active / asleep / in error, of ' + fmtInt(u.total));
		setTile('tile-shares', fmtInt(res.accepted) + ' / ' +
		    fmtInt(res.rejected) + ' / ' + fmtInt(res.invalid));
		setTile('tile-uptime', fmtDur(s.uptime || 0));
		$('host').textContent = s.worker_id || '';
		$('info').textContent = 'v' + s.version + ' · ' + s.mode + ' · ' +
		    (s.algo || 'no job yet');
		$('readonly').hidden = !s.restricted;
		state.restricted = !!s.restricted;
		document.title = 'sluice · ' + (s.worker_id || '');
	}

	function schedule() {
		clearTimeout(state.timer);
		state.timer = setTimeout(refresh, REFRESH_MS);
	}

	/* One round of polling; the next is scheduled when this one ends. */
	async function refresh() {
		let docs;

		clearTimeout(state.timer);
		if (state.authNeeded)
			return;
		if (state.busy) {
			state.again = true;
			return;
		}
		if (document.hidden) {
			schedule();
			return;
		}
		state.busy = true;
		try {
			docs = await Promise.all([api('1/summary'), api('1/workers'),
			    api('1/upstreams'),
			    has('/1/coins') ? api('1/coins') : null,
			    has('/1/capture/stream') ? api('1/miners') : null,
			    has('/1/fleet') ? api('1/fleet') : null]);
			renderSummary(docs[0]);
			workers.setRows(docs[1].workers || []);
			upstreams.setRows(docs[2].upstreams || []);
			if (docs[3] !== null) {
				$('coins-panel').hidden = docs[3].coins.length <= 1;
				coins.setRows(docs[3].coins);
				renderSeries(docs[3].coins);
			}
			if (docs[4] !== null)
				renderFeedMiners(docs[4]);
			if (docs[5] !== null) {
				$('fleet-panel').hidden = docs[5].nodes.length === 0;
				$('fleet-total').textContent =
				    fmtInt(docs[5].total.nodes) + ' nodes, ' +
				    fmtInt(docs[5].total.miners) + ' miners, ' +
				    fmtKhs(docs[5].total.hashrate[0]);
				fleet.setRows(docs[5].nodes);
			}
			setStatus('live');
			$('updated').textContent = 'Updated ' +
			    new Date().toLocaleTimeString() + ', every ' +
			    REFRESH_MS / 1000 + ' s.';
			await loadHistory(false);
		} catch (e) {
			if (e.auth) {
				state.busy = false;
				authFailed(e);
				return;
			}
			setStatus('cannot reach sluice: ' + e.message, true);
		}
		state.busy = false;
		if (state.again) {
			state.again = false;
			refresh();
			return;
		}
		schedule();
	}

	/* The live feed (/1/capture/stream) of one miner. */

	/* Fill the miner list from /1/miners, keeping the choice. */
	function renderFeedMiners(doc) {
		const sel = $('feed-miner'), was = sel.value;
		const f = doc.format || [];
		const iId = f.indexOf('id'), iIp = f.indexOf('ip');
		const iRig = f.indexOf('rig_id'), iUser = f.indexOf('user');

		$('feed-panel').hidden = false;
		while (sel.options.length > 1)
			sel.remove(1);
		(doc.miners || []).forEach(function (m) {
			const o = document.createElement('option');

			o.value = String(m[iId]);
			o.textContent = '#' + m[iId] + ' ' + (m[iRig] || m[iUser] ||
			    '') + ' ' + (m[iIp] || '');
			sel.appendChild(o);
		});
		sel.value = was;
		if (sel.value !== was)
			sel.value = '';
	}

	/* Add one record to the list, the newest at the bottom. */
	function feedLine(rec) {
		const list = $('feed'), li = document.createElement('li');
		const t = new Date(rec.ts_recv / 1000);
		const raw = rec.raw_base64 ? '(base64) ' + rec.raw : rec.raw;
		const keep = list.scrollTop + list.clientHeight >=
		    list.scrollHeight - 4;

		li.className = rec.direction.endsWith('to_proxy') ?
		    'to-proxy' : 'from-proxy';
		li.dataset.direction = rec.direction;
		li.textContent = pad2(t.getHours()) + ':' + pad2(t.getMinutes()) +
		    ':' + pad2(t.getSeconds()) + '.' +
		    String(t.getMilliseconds()).padStart(3, '0') + '  ' +
		    (FEED_DIRS[rec.direction] || rec.direction) + '  ' +
		    (raw.length > FEED_RAW ? raw.slice(0, FEED_RAW) + '…' :
		    raw) + (rec.parse_error ? '  [' + rec.parse_error + ']' :
		    '');
		list.appendChild(li);
		while (list.children.length > FEED_LINES)
			list.removeChild(list.firstChild);
		if (keep)
			list.scrollTop = list.scrollHeight;
	}

	/* One Server-Sent Event: a record, or the end of the feed. */
	function feedEvent(text) {
		let ev = 'message', data = '';

		text.split('\n').forEach(function (l) {
			if (l.startsWith('event: '))
				ev = l.slice(7);
			else if (l.startsWith('data: '))
				data += l.slice(6);
		});
		if (ev === 'record' && data !== '')
			feedLine(JSON.parse(data));
		else if (ev === 'cutoff' || ev === 'stop')
			$('feed-note').textContent = ev === 'cutoff' ?
			    'The feed was cut off: this page did not keep up.' :
			    'sluice stopped the feed.';
	}

	/*
	 * Watch a miner: ask for its capture (when the API takes a POST),
	 * then read the feed with fetch, which can send the token (an
	 * EventSource cannot).
	 */
	async function feedWatch() {
		const id = $('feed-miner').value;
		const headers = {};
		let asked = false, r, reader, buf = '', i;

		if (id === '')
			return;
		feedStop();
		if (state.token)
			headers.Authorization = 'Bearer ' + state.token;
		if (!state.restricted && state.token) {
			r = await fetch('1/capture', { method: 'POST',
			    headers: Object.assign({ 'Content-Type':
			    'application/json' }, headers), credentials: 'omit',
			    body: JSON.stringify({ miner: Number(id),
			    seconds: 300 }) });
			asked = r.ok;
		}
		const feed = { ctl: new AbortController(), miner: id,
		    asked: asked };
		state.feed = feed;
		$('feed').textContent = '';
		$('feed-stop').disabled = false;
		$('feed-note').textContent = asked ?
		    'Recording miner #' + id + ' for 5 minutes.' :
		    'Showing what the capture records of miner #' + id + '.';
		try {
			r = await fetch('1/capture/stream?session=miner:' + id,
			    { headers: headers, credentials: 'omit',
			    cache: 'no-store', signal: feed.ctl.signal });
			if (!r.ok)
				throw new Error('HTTP ' + r.status);
			reader = r.body.pipeThrough(new TextDecoderStream())
			    .getReader();
			for (;;) {
				const chunk = await reader.read();

				if (chunk.done)
					break;
				buf += chunk.value;
				while ((i = buf.indexOf('\n\n')) !== -1) {
					feedEvent(buf.slice(0, i));
					buf = buf.slice(i + 2);
				}
			}
		} catch (e) {
			if (e.name !== 'AbortError')
				$('feed-note').textContent = 'The feed failed: ' +
				    e.message;
		}
		if (state.feed === feed)
			feedStop();
	}

	/* Stop reading, and the recording this page asked for. */
	function feedStop() {
		const feed = state.feed;
		const headers = {};

		state.feed = null;
		$('feed-stop').disabled = true;
		if (feed === null)
			return;
		feed.ctl.abort();
		if (feed.asked) {
			if (state.token)
				headers.Authorization = 'Bearer ' + state.token;
			fetch('1/capture', { method: 'DELETE', headers: headers,
			    credentials: 'omit' }).catch(function () {});
		}
	}

	/* The token. */

	function askToken(message) {
		clearTimeout(state.timer);
		feedStop();
		state.authNeeded = true;
		$('main').hidden = true;
		$('logout').hidden = true;
		$('auth').hidden = false;
		$('auth-msg').textContent = message;
		setStatus('access token needed');
		$('token').focus();
	}

	function authFailed(e) {
		state.token = null;
		sessionStorage.removeItem(TOKEN_KEY);
		askToken(e.auth === 403 ? 'That token was refused.' :
		    'Enter the access token.');
	}

	function showMain() {
		state.authNeeded = false;
		$('auth').hidden = true;
		$('main').hidden = false;
		$('logout').hidden = !state.token;
		chart.paint();
	}

	async function submitToken(ev) {
		const t = $('token').value.trim();

		ev.preventDefault();
		/* A header carries printable ASCII only. */
		if (!/^[\x20-\x7e]+$/.test(t)) {
			$('auth-msg').textContent = t === '' ?
			    'Enter the access token.' :
			    'A token is printable ASCII characters.';
			return;
		}
		state.token = t;
		try {
			await api('1/summary');
		} catch (e) {
			if (e.auth) {
				authFailed(e);
				return;
			}
			$('auth-msg').textContent = 'Cannot reach sluice: ' +
			    e.message;
			return;
		}
		sessionStorage.setItem(TOKEN_KEY, t);
		$('token').value = '';
		showMain();
		refresh();
	}

	function logout() {
		state.token = null;
		sessionStorage.removeItem(TOKEN_KEY);
		askToken('');
	}

	/* Start: what this sluice serves, then the token if it wants one. */
	async function start() {
		try {
			state.dash = await api('dashboard.json');
		} catch (e) {
			setStatus('cannot reach sluice: ' + e.message, true);
			state.timer = setTimeout(start, REFRESH_MS);
			return;
		}
		if (state.dash.token && !state.token) {
			askToken('');
			return;
		}
		showMain();
		refresh();
	}

	function init() {
		workers = makeWorkers();
		upstreams = makeUpstreams();
		coins = makeCoins();
		fleet = makeFleet();
		chart = new Chart($('chart'), $('chart-tip'));
		$('auth').addEventListener('submit', submitToken);
		$('logout').addEventListener('click', logout);
		$('feed-watch').addEventListener('click', function () {
			feedWatch().catch(function (e) {
				$('feed-note').textContent = 'The feed failed: ' +
				    e.message;
			});
		});
		$('feed-stop').addEventListener('click', feedStop);
		$('workers-filter').addEventListener('input', function (ev) {
			workers.setFilter(ev.target.value);
		});
		$('series').addEventListener('change', function (ev) {
			setSeries(ev.target.value);
		});
		document.querySelectorAll('button[data-range]').forEach(function (b) {
			b.addEventListener('click', function () {
				document.querySelectorAll('button[data-range]').forEach(
				    function (o) {
					o.setAttribute('aria-pressed', String(o === b));
				});
				state.range = b.dataset.range;
				loadHistory(true);
			});
		});
		document.addEventListener('visibilitychange', function () {
			if (!document.hidden && !state.authNeeded && state.dash)
				refresh();
		});
		start();
	}

	init();
})();
