// edgelog serve: the dashboard. Plain script, no framework, no build step, nothing external.
// The page's Content-Security-Policy allows this file and app.css only, so there is no inline
// script or style, no eval, and every string that came from the logs or the server enters the
// DOM as text (textContent / append of a string), never as markup.
// Sizes are shown in DECIMAL units: 1 KB = 1000 bytes, 1 MB = 1000 KB, 1 GB = 1000 MB.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const SVGNS = 'http://www.w3.org/2000/svg';
  const S = {
    info: null, refreshMs: 30000, tzMin: null, report: null, hosts: new Set(),
    ctrl: null, sqlCtrl: null, timer: 0, lastTry: 0, signedOut: false, alertsOff: false, alertsBusy: false,
    charts: [],
  };

  // ---- DOM helpers -------------------------------------------------------------------------
  function el(tag, props, kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null || v === false) continue;
      if (k === 'text') e.textContent = String(v);
      else if (k === 'cls') e.className = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of kids || []) if (c != null) e.append(c); // strings become text nodes
    return e;
  }
  function sv(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text != null) e.textContent = String(text);
    return e;
  }

  // ---- Names and units ---------------------------------------------------------------------
  const LABELS = {
    requests: 'Requests', unique_clients: 'Unique clients', bytes: 'Bytes',
    requests_per_s_avg: 'Average requests/s', requests_per_s_peak: 'Peak requests/s',
    hit_ratio_requests: 'Cache hit ratio (requests)', hit_ratio_bytes: 'Cache hit ratio (bytes)',
    hit_ratio: 'Cache hit ratio', ratio_4xx: '4xx ratio', ratio_5xx: '5xx ratio',
    bytes_p50: 'Response size p50', bytes_p95: 'Response size p95', bytes_p99: 'Response size p99',
    request_time_p50: 'Request time p50', request_time_p95: 'Request time p95',
    request_time_p99: 'Request time p99', request_time_max: 'Request time max',
    malformed_lines: 'Malformed lines', errors_4xx: '4xx errors', errors_5xx: '5xx errors',
    s2xx: '2xx', s3xx: '3xx', s4xx: '4xx', s5xx: '5xx', client_ip: 'Client IP', user_agent: 'User agent',
    cache_status: 'Cache status', bytes_from_cache: 'Bytes from cache', referer: 'Referrer',
    request_id: 'Request ID', os: 'OS', misses: 'Cache misses', kind: 'Kind',
    first_time: 'First request', last_time: 'Last request',
  };
  const label = (c) => LABELS[c] || (c.charAt(0).toUpperCase() + c.slice(1)).replace(/_/g, ' ');

  // The unit of a column, from its name: ratio, bytes, sec/ms/us (durations), rate, code, count.
  function unit(col) {
    const c = String(col).toLowerCase();
    if (c.includes('ratio')) return 'ratio';
    if (c === 'bytes' || c.endsWith('bytes') || c.startsWith('bytes_')) return 'bytes';
    if (c.startsWith('request_time')) return c.endsWith('_ms') ? 'ms' : c.endsWith('_us') ? 'us' : 'sec';
    if (c.includes('per_s')) return 'rate';
    if (c === 'status' || c === 'id' || c.endsWith('_id') || c === 'port' || c.endsWith('_port')) return 'code';
    return 'count';
  }
  const UNIT_NAME = { bytes: 'Bytes', count: 'Counts', ratio: 'Ratios', rate: 'Per second', sec: 'Time', ms: 'Time', us: 'Time' };

  // ---- Formatting --------------------------------------------------------------------------
  const nf = (min, max) => new Intl.NumberFormat(undefined, { minimumFractionDigits: min, maximumFractionDigits: max });
  const NF0 = nf(0, 0), NF1 = nf(1, 1), NF01 = nf(0, 1), NF2 = nf(0, 2);
  const PCT = new Intl.NumberFormat(undefined, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const PCT01 = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });
  const SIZES = ['KB', 'MB', 'GB', 'TB', 'PB', 'EB'];

  function bytes(n, axis) {
    if (Math.abs(n) < 1000) return NF0.format(n) + ' B';
    let v = n, i = -1;
    do { v /= 1000; i++; } while (Math.abs(v) >= 999.95 && i < SIZES.length - 1);
    return (axis ? NF01 : NF1).format(v) + ' ' + SIZES[i];
  }
  function secs(s) {
    const ms = s * 1000;
    if (Math.abs(ms) < 10 && ms !== 0) return NF1.format(ms) + ' ms';
    if (Math.abs(ms) < 1000) return NF0.format(ms) + ' ms';
    return NF2.format(s) + ' s';
  }
  function fmtNum(u, v, axis) {
    switch (u) {
      case 'ratio': return (axis ? PCT01 : PCT).format(v);
      case 'bytes': return bytes(v, axis);
      case 'sec': return secs(v);
      case 'ms': return secs(v / 1e3);
      case 'us': return secs(v / 1e6);
      case 'rate': return NF2.format(v);
      case 'code': return String(v);
      default: return Number.isInteger(v) ? NF0.format(v) : NF2.format(v);
    }
  }

  // Times are shown in the report's zone (its "tz"), or the browser's until that is known.
  const offMin = (ms) => (S.tzMin != null ? S.tzMin : -new Date(ms).getTimezoneOffset());
  const wall = (ms) => new Date(ms + offMin(ms) * 60e3); // read with getUTC* / timeZone UTC
  const dtf = (o) => new Intl.DateTimeFormat(undefined, { timeZone: 'UTC', hourCycle: 'h23', ...o });
  const DT = {
    min: dtf({ month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }),
    sec: dtf({ month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' }),
    long: dtf({ year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }),
    day: dtf({ month: 'short', day: 'numeric' }),
    hm: dtf({ hour: '2-digit', minute: '2-digit' }),
  };
  const TIME_RE = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/i;
  function fmtTime(v, style) {
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) return String(v);
    const d = wall(ms);
    return DT[style || (d.getUTCSeconds() ? 'sec' : 'min')].format(d);
  }
  function zoneText(min) {
    const a = Math.abs(min);
    return (min < 0 ? '-' : '+') + String(Math.floor(a / 60)).padStart(2, '0') + ':' + String(a % 60).padStart(2, '0');
  }
  function parseTz(tz) {
    if (tz === 'Z' || tz === 'UTC') return 0;
    const m = /^([+-])(\d\d):?(\d\d)$/.exec(tz || '');
    return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : null;
  }

  function fmt(col, v, tstyle) {
    if (v == null) return '—';
    if (typeof v === 'string') return TIME_RE.test(v) ? fmtTime(v, tstyle) : v;
    if (typeof v === 'number') return Number.isFinite(v) ? fmtNum(unit(col), v) : String(v);
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  // The exact value, for a title (hover), where the shown one is rounded or scaled.
  function raw(col, v) {
    if (typeof v === 'number' && ['bytes', 'ratio', 'rate', 'sec', 'ms', 'us'].includes(unit(col))) return String(v);
    if (typeof v === 'string' && TIME_RE.test(v)) return v;
    return null;
  }
  // "+12.3%" / "−4.0%" against the previous window; ratios change in percentage points.
  function change(col, now, before) {
    if (typeof now !== 'number' || typeof before !== 'number') return null;
    const sign = (x) => (x > 0 ? '+' : x < 0 ? '−' : '±');
    if (unit(col) === 'ratio') {
      const pp = (now - before) * 100;
      return { text: sign(pp) + NF1.format(Math.abs(pp)) + ' pp', dir: Math.sign(pp) };
    }
    if (before === 0) return now === 0 ? { text: '±0%', dir: 0 } : { text: 'new', dir: 1 };
    const c = ((now - before) / Math.abs(before)) * 100;
    return { text: sign(c) + NF1.format(Math.abs(c)) + '%', dir: Math.sign(c) };
  }
  const changeEl = (tag, col, now, before) => {
    const ch = change(col, now, before);
    if (!ch) return el(tag, { cls: 'd', text: before == null ? '' : 'n/a' });
    return el(tag, { cls: 'd ' + (ch.dir > 0 ? 'up' : ch.dir < 0 ? 'down' : 'same'), text: ch.text, title: 'previous: ' + fmt(col, before) });
  };
  const scanText = (s) => s ? `${NF0.format(s.rows || 0)} rows from ${NF0.format(s.objects || 0)} objects` +
    (s.malformed_lines ? `, ${NF0.format(s.malformed_lines)} malformed lines` : '') +
    (s.unreadable_objects && s.unreadable_objects.length ? `, ${NF0.format(s.unreadable_objects.length)} unreadable objects skipped` : '') : '';

  // ---- Talking to the server ---------------------------------------------------------------
  class HttpError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }
  async function api(url, opts) {
    const r = await fetch(url, opts);
    if (r.status === 401) { signedOut(); throw new HttpError(401, 'You are not signed in.'); }
    if (!r.ok) {
      let msg = `${r.status} ${r.statusText}`.trim();
      try {
        const j = JSON.parse(await r.text());
        if (j && j.error && j.error.message) msg = String(j.error.message);
      } catch (_) { /* not JSON: keep the status line */ }
      throw new HttpError(r.status, msg);
    }
    return r;
  }
  const errText = (e) => (e instanceof HttpError ? e.message : `Cannot reach the server (${e.message || e}).`);
  function showError(id, e) {
    const box = $(id);
    box.textContent = e ? errText(e) : '';
    box.hidden = !e;
  }
  function signedOut() {
    if (S.signedOut) return;
    S.signedOut = true;
    clearTimeout(S.timer);
    $('notice').replaceChildren('Your session has ended or you are not signed in. ', el('a', { href: '/login', text: 'Sign in' }));
    $('notice').hidden = false;
  }

  // The selected range as query parameters (shared by the report and the SQL box).
  function rangeParams(p) {
    const r = $('range').value;
    if (r === 'custom') {
      const a = fromLocal($('since').value), b = fromLocal($('until').value);
      if (a) p.set('since', a);
      if (b) p.set('until', b);
    } else if (r !== 'all') p.set('last', r);
    return p;
  }
  // datetime-local values are read and written in the report's zone.
  function fromLocal(v) {
    if (!v) return '';
    const s = v.length === 16 ? v + ':00' : v;
    const ms = Date.parse(s + 'Z');
    return Number.isNaN(ms) ? '' : s + zoneText(S.tzMin != null ? S.tzMin : -new Date(s).getTimezoneOffset());
  }
  const toLocal = (iso) => (iso && !Number.isNaN(Date.parse(iso)) ? wall(Date.parse(iso)).toISOString().slice(0, 16) : '');

  // ---- Report: fetch, poll ------------------------------------------------------------------
  async function loadReport(user) {
    if (S.signedOut) return;
    if (S.ctrl) {
      if (!user) return; // a poll never overlaps a fetch
      S.ctrl.abort(); // a newer choice wins
    }
    const ctrl = (S.ctrl = new AbortController());
    const p = rangeParams(new URLSearchParams());
    const host = $('host').value;
    if (host) p.set('host', host);
    if ($('compare').checked && !$('compare').disabled) p.set('compare', 'previous');
    busy(true, user);
    try {
      const qs = String(p);
      const rep = await (await api('/api/report' + (qs ? '?' + qs : ''), { signal: ctrl.signal })).json();
      if (ctrl !== S.ctrl) return;
      if (!host) learnHosts(rep);
      renderReport(rep);
      showError('report-error', null);
      $('updated').textContent = 'Updated ' + new Date().toLocaleTimeString();
    } catch (e) {
      if (e.name !== 'AbortError' && ctrl === S.ctrl) showError('report-error', e);
    } finally {
      if (ctrl === S.ctrl) {
        S.ctrl = null;
        S.lastTry = Date.now();
        busy(false);
        schedule(S.refreshMs);
      }
    }
  }
  function busy(on, user) {
    $('busy').hidden = !on;
    $('panels').classList.toggle('loading', Boolean(on && user && S.report));
  }
  function schedule(ms) {
    clearTimeout(S.timer);
    if (!S.signedOut) S.timer = setTimeout(tick, Math.max(0, ms));
  }
  function tick() {
    if (document.hidden) return; // resumed by visibilitychange
    loadReport(false);
    loadAlerts();
  }
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && !S.signedOut && !S.ctrl) schedule(S.refreshMs - (Date.now() - S.lastTry));
  });

  function learnHosts(rep) {
    const t = rep.panels && rep.panels.hosts && rep.panels.hosts.tables && rep.panels.hosts.tables.top;
    const i = t ? t.columns.indexOf('host') : -1;
    const before = S.hosts.size;
    if (i >= 0) for (const r of t.rows) if (r[i] != null && r[i] !== '') S.hosts.add(String(r[i]));
    if (S.hosts.size !== before) fillHosts(); // untouched otherwise: an open list stays open
  }
  function fillHosts() {
    const sel = $('host'), cur = sel.value;
    if (cur) S.hosts.add(cur);
    const opts = [el('option', { value: '', text: 'All hosts' })];
    for (const h of [...S.hosts].sort()) opts.push(el('option', { value: h, text: h }));
    sel.replaceChildren(...opts);
    sel.value = cur;
  }

  // ---- Report: render ------------------------------------------------------------------------
  function renderReport(rep) {
    S.report = rep;
    S.tzMin = parseTz(rep.tz);
    $('zone').textContent = S.tzMin != null ? `(UTC${zoneText(S.tzMin)})` : '';
    $('custom-zone').textContent = S.tzMin != null ? `UTC${zoneText(S.tzMin)}` : 'local time';
    $('span').textContent = spanText(rep);
    const src = rep.sources || (S.info && S.info.sources) || [];
    $('sources').textContent = src.length ? 'Sources: ' + src.join(', ') + (S.info && typeof S.info.format === 'string' ? ` (${S.info.format})` : '') + ' ·' : '';
    $('scan').textContent = scanText(rep.scan);
    $('scan').title = rep.scan && rep.scan.unreadable_objects ? 'skipped: ' + rep.scan.unreadable_objects.slice(0, 5).join(', ') : '';
    S.charts = [];
    const frag = document.createDocumentFragment();
    for (const [name, p] of Object.entries(rep.panels || {})) frag.append(renderPanel(name, p, rep));
    $('panels').replaceChildren(frag);
    drawCharts(true);
  }
  function spanText(rep) {
    const r = rep.range || {};
    let text;
    if (!r.since && !r.until) {
      const f = rep.panels && rep.panels.overview && rep.panels.overview.tables.figures;
      const row = f && f.rows[0];
      const first = row && row[f.columns.indexOf('first_time')], last = row && row[f.columns.indexOf('last_time')];
      text = 'All data' + (first && last ? `: ${fmtTime(first, 'long')} – ${fmtTime(last, 'long')}` : '');
    } else text = `${r.since ? fmtTime(r.since, 'long') : 'the start'} – ${r.until ? fmtTime(r.until, 'long') : 'now'}`;
    const c = rep.compare;
    if (c) text += `, compared with ${c.since ? fmtTime(c.since, 'long') : '…'} – ${c.until ? fmtTime(c.until, 'long') : '…'}`;
    return text;
  }

  function renderPanel(name, p, rep) {
    const title = String(p.title || name), cut = title.indexOf(':');
    const sec = el('section', { cls: 'panel', 'data-panel': name }, [
      el('h2', { text: cut > 0 ? title.slice(0, cut) : title }),
      cut > 0 ? el('p', { cls: 'desc', text: title.slice(cut + 1).trim().replace(/^./, (ch) => ch.toUpperCase()) }) : null,
    ]);
    const grid = el('div', { cls: 'tables' });
    let figs = null;
    for (const [tn, t] of Object.entries(p.tables || {})) {
      if (t.kind === 'figures' && t.rows.length) {
        if (!figs) grid.append((figs = el('div', { cls: 'figs wide' })));
        figureTiles(figs, t);
        continue;
      }
      figs = null;
      const wide = t.kind === 'series' || t.columns.length >= 5; // many columns: the whole width
      const box = el('div', { cls: 'tbl ' + t.kind + (wide ? ' wide' : ''), 'data-table': tn },
        [el('h3', { text: t.title || label(tn) })]);
      if (!t.rows.length || !t.columns.length) box.append(el('p', { cls: 'empty', text: 'Nothing in this range.' }));
      else if (t.kind === 'series') seriesCharts(box, t, rep);
      else box.append(topTable(t));
      grid.append(box);
    }
    sec.append(grid);
    return sec;
  }

  function figureTiles(grid, t) {
    const row = t.rows[0], prev = t.previous_rows && t.previous_rows[0];
    t.columns.forEach((c, i) => {
      if (c === 'first_time' || c === 'last_time') return; // shown in the header
      const v = row[i];
      const tile = el('div', { cls: 'fig' + (v == null ? ' na' : ''), 'data-col': c }, [
        el('div', { cls: 'k', text: label(c), title: c }),
        el('div', { cls: 'v', text: fmt(c, v), title: v == null ? 'not in these logs' : raw(c, v) }),
      ]);
      if (prev) tile.append(changeEl('div', c, v, prev[i]));
      grid.append(tile);
    });
  }

  // Times of one column all with seconds, or all without.
  const timeStyles = (cols, rows) => cols.map((c, i) => (rows.some((r) => typeof r[i] === 'string' && TIME_RE.test(r[i]) &&
    wall(Date.parse(r[i])).getUTCSeconds()) ? 'sec' : 'min'));

  // A ranked table; the first measure column gets a small bar (and a change column on compare).
  function topTable(t) {
    const cols = t.columns, rows = t.rows, ts = timeStyles(cols, rows);
    const num = cols.map((c, i) => rows.some((r) => typeof r[i] === 'number'));
    const bar = cols.findIndex((c, i) => num[i] && unit(c) !== 'code');
    const max = bar < 0 ? 0 : rows.reduce((m, r) => Math.max(m, Number(r[bar]) || 0), 0);
    let prev = null;
    if (bar >= 0 && t.previous_rows) {
      const keyOf = (r) => JSON.stringify(cols.map((c, i) => (num[i] && unit(c) !== 'code' ? null : r[i])));
      prev = new Map(t.previous_rows.map((r) => [keyOf(r), r]));
      prev.keyOf = keyOf;
    }
    const head = [];
    cols.forEach((c, i) => {
      head.push(el('th', { cls: num[i] ? 'n' : null, title: c, scope: 'col', text: label(c) }));
      if (i === bar) head.push(el('th', { cls: 'barc', 'aria-hidden': 'true' }));
    });
    const body = rows.map((r) => {
      const tr = el('tr');
      cols.forEach((c, i) => {
        const v = r[i], long = typeof v === 'string' && v.length > 32 && !TIME_RE.test(v);
        const td = el('td', { cls: num[i] ? 'n' : long ? 't long' : 't', text: fmt(c, v, ts[i]), title: raw(c, v) });
        tr.append(td);
        if (i !== bar) return;
        if (prev) { // the change against the previous window, under the number
          const p = prev.get(prev.keyOf(r));
          td.append(p ? changeEl('div', c, v, p[i]) : el('div', { cls: 'd', text: 'new', title: 'not in the previous window' }));
        }
        const fill = el('span', { cls: 'fill' });
        fill.style.width = (max > 0 ? Math.max(0, (Number(v) || 0) / max) * 100 : 0).toFixed(1) + '%'; // CSSOM, allowed by the CSP
        tr.append(el('td', { cls: 'barc', 'aria-hidden': 'true' }, [el('span', { cls: 'bar' }, [fill])]));
      });
      return tr;
    });
    const table = el('table', null, [el('thead', null, [el('tr', null, head)]), el('tbody', null, body)]);
    return el('div', { cls: 'scroll' }, [table]);
  }

  // ---- Charts: one chart per unit ----------------------------------------------------------
  function seriesCharts(box, t, rep) {
    const ti = Math.max(0, t.columns.indexOf('time'));
    const groups = new Map();
    t.columns.forEach((c, i) => {
      if (i === ti) return;
      const u = unit(c) === 'code' ? 'count' : unit(c);
      if (!groups.has(u)) groups.set(u, []);
      groups.get(u).push(i);
    });
    let shift = 0;
    if (rep.compare && rep.compare.since && rep.range && rep.range.since) shift = Date.parse(rep.range.since) - Date.parse(rep.compare.since);
    for (const [u, idx] of groups) {
      const holder = el('div', { cls: 'chart', role: 'img', 'aria-label': `${t.title || ''}: ${idx.map((i) => label(t.columns[i])).join(', ')}` });
      const fig = el('figure', null, [groups.size > 1 ? el('figcaption', { text: UNIT_NAME[u] || u }) : null, holder, legend(t, idx, shift)]);
      box.append(fig);
      S.charts.push({ holder, t, ti, idx, u, shift: Number.isFinite(shift) ? shift : 0, width: 0 });
    }
  }
  function colourOf(col, used) {
    const c = String(col);
    let k = /5xx/.test(c) ? 3 : /4xx/.test(c) ? 2 : /3xx/.test(c) ? 1 : -1;
    if (k < 0 || used.has(k)) k = [0, 4, 5, 1, 2, 3, 6, 7].find((x) => !used.has(x)) ?? used.size % 8;
    used.add(k);
    return k;
  }
  function colours(t, idx) {
    const used = new Set();
    return idx.map((i) => colourOf(t.columns[i], used));
  }
  function legend(t, idx, shift) {
    const cs = colours(t, idx);
    const items = idx.map((i, k) => el('span', { cls: 'item', title: t.columns[i] }, [el('span', { cls: 'sw c' + cs[k] }), label(t.columns[i])]));
    if (t.previous_rows && shift) items.push(el('span', { cls: 'item prev' }, [el('span', { cls: 'sw dash' }), 'previous window']));
    return el('div', { cls: 'legend' }, items);
  }
  function niceStep(span, n) {
    const raw0 = span / n, mag = Math.pow(10, Math.floor(Math.log10(raw0))), f = raw0 / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
  }
  const H = 3600e3, D = 24 * H;
  const XSTEPS = [60e3, 5 * 60e3, 10 * 60e3, 15 * 60e3, 30 * 60e3, H, 2 * H, 3 * H, 6 * H, 12 * H, D, 2 * D, 7 * D, 14 * D, 28 * D];

  function drawCharts(force) {
    for (const c of S.charts) {
      const w = Math.round(c.holder.clientWidth);
      if (w > 0 && (force || Math.abs(w - c.width) > 8)) drawChart(c, w);
    }
  }
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => drawCharts(false), 150);
  });

  function drawChart(c, width) {
    c.width = width;
    const { t, ti, idx, u } = c;
    const W = Math.max(260, width), Hh = W < 520 ? 170 : 210;
    const pts = (rows, shift) => rows.map((r) => [Date.parse(r[ti]) + shift, r]).filter((p) => !Number.isNaN(p[0])).sort((a, b) => a[0] - b[0]);
    const cur = pts(t.rows, 0), prev = c.shift && t.previous_rows ? pts(t.previous_rows, c.shift) : [];
    const all = cur.concat(prev);
    if (!all.length) return c.holder.replaceChildren(el('p', { cls: 'empty', text: 'No times to draw.' }));
    let x0 = Math.min(...all.map((p) => p[0])), x1 = Math.max(...all.map((p) => p[0]));
    if (x1 - x0 < 60e3) { x0 -= 30 * 60e3; x1 += 30 * 60e3; }
    let ymax = 0;
    for (const [, r] of all) for (const i of idx) if (typeof r[i] === 'number' && r[i] > ymax) ymax = r[i];
    if (!(ymax > 0)) ymax = 1;
    const step = niceStep(ymax, 4), top = Math.ceil(ymax / step - 1e-9) * step;
    const yt = [];
    for (let v = 0; v <= top + step / 2; v += step) yt.push(v);
    const ylabels = yt.map((v) => fmtNum(u, v, true));
    const ml = Math.min(90, 10 + 6.6 * Math.max(...ylabels.map((s) => s.length))), mr = 14, mt = 10, mb = 24;
    const pw = W - ml - mr, ph = Hh - mt - mb;
    const X = (ms) => ml + ((ms - x0) / (x1 - x0)) * pw, Y = (v) => mt + ph - (v / top) * ph;
    const svg = sv('svg', { viewBox: `0 0 ${W} ${Hh}`, width: W, height: Hh, class: 'plot' });
    yt.forEach((v, k) => {
      const y = Y(v).toFixed(1);
      svg.append(sv('line', { x1: ml, x2: W - mr, y1: y, y2: y, class: k ? 'grid' : 'axis' }));
      svg.append(sv('text', { x: ml - 6, y, dy: '0.32em', 'text-anchor': 'end', class: 'tick' }, ylabels[k]));
    });
    // time ticks on whole hours/days of the report's zone
    const maxTicks = Math.max(2, Math.floor(pw / 64));
    const xs = XSTEPS.find((s) => (x1 - x0) / s <= maxTicks) || 28 * D;
    const off = offMin(x0) * 60e3;
    for (let ms = Math.ceil((x0 + off) / xs) * xs - off; ms <= x1; ms += xs) {
      const d = wall(ms), midnight = d.getUTCHours() === 0 && d.getUTCMinutes() === 0;
      const x = X(ms).toFixed(1);
      svg.append(sv('line', { x1: x, x2: x, y1: mt + ph, y2: mt + ph + 4, class: 'axis' }));
      svg.append(sv('text', { x, y: Hh - 6, 'text-anchor': 'middle', class: 'tick' + (midnight ? ' day' : '') },
        (xs >= D || midnight ? DT.day : DT.hm).format(d)));
    }
    const cs = colours(t, idx);
    const line = (list, i, cls) => {
      let d = '', pen = 'M';
      for (const [ms, r] of list) {
        if (typeof r[i] !== 'number') { pen = 'M'; continue; }
        d += `${pen}${X(ms).toFixed(1)},${Y(r[i]).toFixed(1)}`;
        pen = 'L';
      }
      if (d) svg.append(sv('path', { d, class: cls }));
    };
    idx.forEach((i, k) => line(prev, i, `line prev s${cs[k]}`));
    idx.forEach((i, k) => {
      line(cur, i, `line s${cs[k]}`);
      if (cur.length <= 48) for (const [ms, r] of cur) if (typeof r[i] === 'number')
        svg.append(sv('circle', { cx: X(ms).toFixed(1), cy: Y(r[i]).toFixed(1), r: cur.length === 1 ? 3.5 : 2.2, class: `dot f${cs[k]}` }));
    });
    // hover: one invisible column per bucket with its values as a tooltip
    cur.forEach(([ms, r], k) => {
      const a = k ? (X(cur[k - 1][0]) + X(ms)) / 2 : ml, b = k < cur.length - 1 ? (X(ms) + X(cur[k + 1][0])) / 2 : W - mr;
      const hit = sv('rect', { x: a.toFixed(1), y: mt, width: Math.max(1, b - a).toFixed(1), height: ph, class: 'hit' });
      hit.append(sv('title', null, [fmtTime(r[ti]), ...idx.map((i) => `${label(t.columns[i])}: ${fmt(t.columns[i], r[i])}`)].join('\n')));
      svg.append(hit);
    });
    c.holder.replaceChildren(svg);
  }

  // ---- Alerts --------------------------------------------------------------------------------
  const ORDER = { FIRING: 0, PENDING: 1, ERROR: 2, NOT_EVALUATED: 3, OK: 4 };
  const stateName = (s) => (s === 'OK' ? 'OK' : String(s).toLowerCase().replace(/_/g, ' '));
  const stateCls = (s) => 'badge b-' + String(s).toLowerCase().replace(/[^a-z]+/g, '-');
  async function loadAlerts() {
    if (S.alertsOff || S.alertsBusy || S.signedOut) return;
    S.alertsBusy = true;
    try {
      renderAlerts(await (await api('/api/alerts')).json());
    } catch (e) {
      if (e.status !== 401) {
        const box = $('alerts');
        box.replaceChildren(el('h2', { text: 'Alerts' }), el('p', { cls: 'error', text: errText(e) }));
        box.hidden = false;
      }
    } finally {
      S.alertsBusy = false;
    }
  }
  function renderAlerts(a) {
    const box = $('alerts');
    if (!a || !a.enabled) { box.hidden = true; box.replaceChildren(); S.alertsOff = true; return; }
    const list = (a.alerts || []).slice().sort((x, y) => (ORDER[x.state] ?? 9) - (ORDER[y.state] ?? 9));
    const count = {};
    for (const x of list) count[x.state] = (count[x.state] || 0) + 1;
    const badges = Object.keys(count).map((s) => el('span', { cls: stateCls(s), text: `${count[s]} ${stateName(s)}` }));
    const head = el('div', { cls: 'alerthead' }, [el('h2', { text: 'Alerts' }), ...badges,
      el('span', { cls: 'meta', text: a.evaluated_at ? 'evaluated ' + fmtTime(a.evaluated_at) : 'not evaluated yet' })]);
    const table = (rows) => el('div', { cls: 'scroll' }, [el('table', null, [
      el('thead', null, [el('tr', null, ['State', 'Rule', 'Group', 'Since', 'Value', 'Message'].map((h) => el('th', { text: h })))]),
      el('tbody', null, rows.map((x) => el('tr', { cls: 'st-' + String(x.state).toLowerCase() }, [
        el('td', null, [el('span', { cls: stateCls(x.state), text: stateName(x.state).toUpperCase() })]),
        el('td', { text: x.rule }), el('td', { cls: 't', text: x.group && x.group !== '!error' ? x.group : '—', title: x.group || null }),
        el('td', { text: x.since ? fmtTime(x.since) : '—', title: x.since }),
        el('td', { cls: 't', text: x.value ?? '—' }), el('td', { cls: 't', text: x.message || '' }),
      ]))),
    ])]);
    const quiet = (x) => x.state === 'OK' || x.state === 'NOT_EVALUATED'; // folded away
    const bad = list.filter((x) => !quiet(x)), ok = list.filter(quiet);
    const kids = [head];
    if (!list.length) kids.push(el('p', { cls: 'empty', text: 'No rules have produced a state yet.' }));
    if (bad.length) kids.push(table(bad));
    const folded = Object.keys(count).filter((s) => quiet({ state: s })).map((s) => `${count[s]} ${stateName(s)}`).join(', ');
    if (ok.length) kids.push(el('details', null, [el('summary', { text: folded }), table(ok)]));
    box.replaceChildren(...kids);
    box.hidden = false;
  }

  // ---- SQL -----------------------------------------------------------------------------------
  function sqlRequest(format, signal) {
    const p = rangeParams(new URLSearchParams({ format }));
    return api('/api/query?' + p, { method: 'POST', body: $('sql').value, headers: { 'content-type': 'text/plain; charset=utf-8' }, signal });
  }
  async function runSql() {
    if (S.sqlCtrl) S.sqlCtrl.abort();
    const ctrl = (S.sqlCtrl = new AbortController());
    $('run').disabled = true;
    $('result-meta').textContent = 'Running…';
    try {
      const j = await (await sqlRequest('table', ctrl.signal)).json();
      if (ctrl !== S.sqlCtrl) return;
      showError('result-error', null);
      const cols = j.columns || [], rows = j.rows || [];
      const num = cols.map((c, i) => rows.some((r) => typeof r[i] === 'number')), ts = timeStyles(cols, rows);
      const table = el('table', null, [
        el('thead', null, [el('tr', null, cols.map((c, i) => el('th', { cls: num[i] ? 'n' : null, text: c, title: j.types ? j.types[i] : null })))]),
        el('tbody', null, rows.map((r) => el('tr', null, cols.map((c, i) => {
          const v = r[i], long = typeof v === 'string' && v.length > 32;
          return el('td', { cls: num[i] ? 'n' : long ? 't long' : 't', text: fmt(c, v, ts[i]), title: raw(c, v) });
        })))),
      ]);
      const kids = [el('div', { cls: 'scroll' }, [table])];
      if (!rows.length) kids.push(el('p', { cls: 'empty', text: 'No rows.' }));
      if (j.truncated) kids.unshift(el('p', { cls: 'warn', text: `Truncated at ${NF0.format(j.row_limit || rows.length)} rows: download the CSV for all of them, or add a LIMIT.` }));
      $('result').replaceChildren(...kids);
      const s = j.scan;
      $('result-meta').textContent = `${NF0.format(rows.length)} rows${j.truncated ? ` (truncated at ${NF0.format(j.row_limit || rows.length)} rows)` : ''}` +
        (s ? ` · scanned ${scanText(s)}${s.bytes != null ? `, ${bytes(s.bytes)}` : ''}` : '') + (j.elapsed_ms != null ? ` · ${NF0.format(j.elapsed_ms)} ms` : '');
    } catch (e) {
      if (e.name === 'AbortError' || ctrl !== S.sqlCtrl) return;
      $('result').replaceChildren();
      $('result-meta').textContent = '';
      showError('result-error', e);
    } finally {
      if (ctrl === S.sqlCtrl) { S.sqlCtrl = null; $('run').disabled = false; }
    }
  }
  async function downloadCsv() {
    const btn = $('csv');
    btn.disabled = true;
    try {
      const blob = await (await sqlRequest('csv')).blob();
      const url = URL.createObjectURL(blob);
      const a = el('a', { href: url, download: 'edgelog-query.csv', hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      showError('result-error', null);
    } catch (e) {
      // A CSV past the server's row or time limit ends cut short, which fetch reports as a network error.
      showError('result-error', e instanceof HttpError ? e : new HttpError(0, `The download stopped before its end (the server stops at its row and time limits): ${e.message || e}`));
    } finally {
      btn.disabled = false;
    }
  }

  // ---- Controls and start ----------------------------------------------------------------------
  function syncControls() {
    const r = $('range').value;
    $('custom').hidden = r !== 'custom';
    $('compare').disabled = r === 'all';
    $('compare').closest('label').classList.toggle('off', r === 'all');
  }
  function saveHash() {
    const p = new URLSearchParams({ range: $('range').value });
    if ($('range').value === 'custom') { p.set('since', $('since').value); p.set('until', $('until').value); }
    if ($('host').value) p.set('host', $('host').value);
    if ($('compare').checked) p.set('compare', '1');
    history.replaceState(null, '', '#' + p);
  }
  function restoreHash(defaultRange) {
    const p = new URLSearchParams(location.hash.slice(1)), sel = $('range');
    const want = p.get('range') || defaultRange || '24h';
    if (![...sel.options].some((o) => o.value === want)) sel.insertBefore(el('option', { value: want, text: 'Last ' + want }), sel.querySelector('option[value=all]'));
    sel.value = want;
    $('since').value = p.get('since') || '';
    $('until').value = p.get('until') || '';
    if (p.get('host')) { S.hosts.add(p.get('host')); fillHosts(); $('host').value = p.get('host'); }
    $('compare').checked = p.get('compare') === '1';
  }
  function changed() {
    syncControls();
    saveHash();
    loadReport(true);
  }

  $('range').addEventListener('change', () => {
    if ($('range').value === 'custom') {
      const r = (S.report && S.report.range) || {}, now = Date.now();
      if (!$('since').value) $('since').value = toLocal(r.since) || toLocal(new Date(now - D).toISOString());
      if (!$('until').value) $('until').value = toLocal(r.until) || toLocal(new Date(now).toISOString());
      syncControls();
      $('since').focus();
      return; // waits for Apply
    }
    changed();
  });
  $('apply').addEventListener('click', () => {
    const a = fromLocal($('since').value), b = fromLocal($('until').value);
    if (a && b && Date.parse(a) >= Date.parse(b)) return showError('report-error', new HttpError(400, 'The start of the range must be before its end.'));
    changed();
  });
  for (const id of ['since', 'until']) $(id).addEventListener('keydown', (e) => { if (e.key === 'Enter') $('apply').click(); });
  $('host').addEventListener('change', changed);
  $('compare').addEventListener('change', changed);
  $('refresh').addEventListener('click', () => { loadReport(true); loadAlerts(); });
  $('run').addEventListener('click', runSql);
  $('csv').addEventListener('click', downloadCsv);
  $('sql').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); runSql(); }
  });

  async function init() {
    try {
      S.info = await (await api('/api/info')).json();
    } catch (e) {
      if (e.status === 401) return;
      showError('report-error', e);
    }
    const info = S.info || {};
    S.refreshMs = Math.max(5, Number(info.refresh_seconds) || 30) * 1000;
    if (info.rules === false) S.alertsOff = true;
    $('footer').textContent = `edgelog ${info.version || ''} · refreshes every ${NF0.format(S.refreshMs / 1000)} s while this tab is visible` +
      (info.lake ? ` · lake: ${info.lake}` : '');
    $('updated').title = `Refreshes every ${NF0.format(S.refreshMs / 1000)} s while this tab is visible`;
    restoreHash(info.default_last);
    syncControls();
    loadReport(true);
    loadAlerts();
  }
  init();
})();
