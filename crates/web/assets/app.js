// netlens live dashboard: polls the JSON endpoints every second and draws
// the numbers as text and the charts as inline SVG (no libraries).
'use strict';

const TOKEN = new URLSearchParams(location.search).get('token');
const HEADERS = TOKEN ? { Authorization: 'Bearer ' + TOKEN } : {};
const SVG = 'http://www.w3.org/2000/svg';
const ENDPOINTS = ['summary', 'throughput', 'mix', 'talkers', 'flows', 'alerts', 'forecast', 'status'];

function $(id) { return document.getElementById(id); }

function si(v, unit, digits) {
  const prefixes = ['', 'k', 'M', 'G', 'T', 'P'];
  let i = 0;
  let x = Math.abs(v);
  while (x >= 1000 && i < prefixes.length - 1) { x /= 1000; i++; }
  const d = digits === undefined ? (x >= 100 || i === 0 ? 0 : 1) : digits;
  return (v < 0 ? '-' : '') + x.toFixed(d) + ' ' + prefixes[i] + unit;
}
const bits = (v) => si(v, 'bit/s');
const bytes = (v) => si(v, 'B');
const count = (v) => Number(v).toLocaleString('en-US');
const pct = (v) => (100 * v).toFixed(1) + ' %';

function setText(id, text, raw) {
  const el = $(id);
  if (!el) return;
  el.textContent = text;
  if (raw !== undefined) el.dataset.value = String(raw);
}

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function fillTable(table, head, rows) {
  table.replaceChildren();
  const tr = el('tr');
  head.forEach(([name, cls]) => tr.appendChild(el('th', cls ? { class: cls } : {}, name)));
  table.appendChild(tr);
  rows.forEach((cells) => {
    const r = el('tr');
    cells.forEach(([text, cls]) => r.appendChild(el('td', cls ? { class: cls } : {}, text)));
    table.appendChild(r);
  });
}

function drawBars(table, rows) {
  table.replaceChildren();
  if (rows.length === 0) {
    const r = el('tr');
    r.appendChild(el('td', { class: 'muted' }, 'no traffic yet'));
    table.appendChild(r);
    return;
  }
  const max = Math.max(...rows.map((r) => r.bytes), 1);
  rows.slice(0, 8).forEach((row) => {
    const r = el('tr', { 'data-name': row.name, 'data-bytes': String(row.bytes) });
    r.appendChild(el('td', { class: 'name' }, row.name));
    const bar = el('td', { class: 'bar' });
    const fill = el('div', { class: 'fill' });
    fill.style.width = (100 * row.bytes / max).toFixed(1) + '%';
    bar.appendChild(fill);
    r.appendChild(bar);
    r.appendChild(el('td', { class: 'num' }, bytes(row.bytes) + ' · ' + pct(row.share)));
    table.appendChild(r);
  });
}

function hhmmss(unix) {
  return new Date(unix * 1000).toISOString().slice(11, 19);
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function drawThroughput(tp, fc) {
  const svg = $('chart-throughput');
  svg.replaceChildren();
  const W = 1000, H = 280, L = 90, R = 12, T = 12, B = 28;
  const n = Math.min(tp.last_complete, tp.bits_per_s.length);
  const hist = tp.bits_per_s.slice(0, n);
  svg.dataset.points = String(hist.length);
  if (hist.length < 2) {
    svg.appendChild(svgEl('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' }, 'waiting for traffic…'));
    return;
  }
  const showFc = fc.available && fc.point.length > 0;
  const t0 = tp.start;
  const tEnd = Math.max(t0 + hist.length - 1, showFc ? fc.start + (fc.point.length - 1) * fc.interval_s : 0);
  let ymax = Math.max(...hist);
  if (showFc) ymax = Math.max(ymax, ...fc.point, ...fc.upper.filter((v) => isFinite(v)));
  ymax = niceMax(ymax * 1.05);
  const x = (t) => L + (W - L - R) * (t - t0) / Math.max(tEnd - t0, 1);
  const y = (v) => T + (H - T - B) * (1 - Math.min(v, ymax) / ymax);
  for (let i = 0; i <= 4; i++) {
    const v = ymax * i / 4;
    svg.appendChild(svgEl('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
    svg.appendChild(svgEl('text', { x: L - 8, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, bits(v)));
  }
  for (let i = 0; i <= 5; i++) {
    const t = t0 + (tEnd - t0) * i / 5;
    svg.appendChild(svgEl('text', { x: x(t), y: H - 8, 'text-anchor': i === 0 ? 'start' : i === 5 ? 'end' : 'middle', class: 'axis' }, hhmmss(t)));
  }
  let line = '';
  hist.forEach((v, i) => { line += (i ? 'L' : 'M') + x(t0 + i).toFixed(1) + ',' + y(v).toFixed(1); });
  const area = line + 'L' + x(t0 + hist.length - 1).toFixed(1) + ',' + y(0) + 'L' + x(t0).toFixed(1) + ',' + y(0) + 'Z';
  svg.appendChild(svgEl('path', { d: area, class: 'area' }));
  svg.appendChild(svgEl('path', { d: line, class: 'series', 'data-points': String(hist.length) }));
  if (showFc) {
    const ts = fc.point.map((_, i) => fc.start + i * fc.interval_s);
    let band = '';
    ts.forEach((t, i) => { band += (i ? 'L' : 'M') + x(t).toFixed(1) + ',' + y(fc.upper[i]).toFixed(1); });
    for (let i = ts.length - 1; i >= 0; i--) band += 'L' + x(ts[i]).toFixed(1) + ',' + y(fc.lower[i]).toFixed(1);
    svg.appendChild(svgEl('path', { d: band + 'Z', class: 'band' }));
    let fl = 'M' + x(t0 + hist.length - 1).toFixed(1) + ',' + y(hist[hist.length - 1]).toFixed(1);
    ts.forEach((t, i) => { fl += 'L' + x(t).toFixed(1) + ',' + y(fc.point[i]).toFixed(1); });
    svg.appendChild(svgEl('path', { d: fl, class: 'forecast', 'data-points': String(fc.point.length) }));
  }
}

function render(d) {
  const s = d.summary;
  setText('kpi-current', bits(s.current_bps), s.current_bps);
  setText('kpi-peak', bits(s.peak_bps), s.peak_bps);
  setText('kpi-average', bits(s.average_bps), s.average_bps);
  setText('kpi-packets', count(s.packets), s.packets);
  setText('kpi-bytes', bytes(s.bytes) + ' · ' + count(s.malformed) + ' malformed', s.bytes);
  setText('kpi-active', count(s.active_flows), s.active_flows);
  setText('kpi-ended', count(s.flows_ended) + ' flows ended', s.flows_ended);
  setText('kpi-alerts', count(s.alerts), s.alerts);
  const labels = Object.entries(d.alerts.by_label).sort((a, b) => b[1] - a[1]);
  setText('kpi-alert-labels', labels.map(([k, v]) => k + ' ' + count(v)).join(' · ') || 'none');

  const st = d.status;
  const src = st.source;
  setText('source', src.mode + ': ' + src.name + (src.mode === 'replay' ? ' at ' + (src.speed > 0 ? src.speed + '×' : 'full speed') : '') + (src.detector ? ' · detector ' + src.detector : ' · no detector'));
  const badge = $('state');
  const state = st.error ? 'failed' : st.finished ? 'finished' : 'running';
  badge.textContent = state;
  badge.className = 'badge ' + state;
  setText('capture-time', st.capture_time ? st.capture_time.replace('T', ' ') + ' · ' + st.replay_position_s.toFixed(0) + ' s of capture' : '');
  setText('error', st.error ? 'pipeline error: ' + st.error : (st.warnings.length ? 'warning: ' + st.warnings[0] : ''));

  setText('tp-note', 'per second' + (s.first_ts ? ', capture time UTC' : ''));
  drawThroughput(d.throughput, d.forecast);
  const fc = d.forecast;
  setText('forecast-text', fc.available
    ? '· forecast: ' + fc.model + ' on ' + fc.history_points + ' s, next ' + fc.point.length + ' s mean ' + bits(fc.point.reduce((a, b) => a + b, 0) / fc.point.length) + (fc.backtest_mae != null ? ', backtest MAE ' + bits(fc.backtest_mae) : '')
    : '· forecast: ' + fc.note);

  drawBars($('mix-protocols'), d.mix.protocols);
  drawBars($('mix-apps'), d.mix.applications);

  fillTable($('talkers'), [['address'], ['packets', 'num'], ['bytes', 'num'], ['share', 'num']],
    d.talkers.top.map((t) => [[t.address], [count(t.packets), 'num'], [bytes(t.bytes), 'num'], [pct(t.share), 'num']]));

  setText('flows-note', count(d.flows.active) + ' active (idle timeout ' + d.flows.idle_timeout_s + ' s), largest by bytes');
  fillTable($('flows'), [['proto'], ['source'], ['destination'], ['packets', 'num'], ['bytes', 'num'], ['duration', 'num']],
    d.flows.top.map((f) => [[f.protocol], [f.src + ':' + f.src_port], [f.dst + ':' + f.dst_port], [count(f.packets), 'num'], [bytes(f.bytes), 'num'], [f.duration_s.toFixed(1) + ' s', 'num']]));

  setText('alerts-note', count(d.alerts.total) + ' total, newest first');
  const chips = $('alert-labels');
  chips.replaceChildren(...labels.map(([k, v]) => el('span', { class: 'chip', 'data-label': k }, k + ': ' + count(v))));
  const rows = d.alerts.recent.slice(0, 15).map((a) => [
    [a.ts_start.replace('T', ' ').slice(0, 23)],
    [a.label, a.score >= 0.9 ? 'sev-high' : 'sev-mid'],
    [a.src_ip + ':' + a.src_port],
    [a.dst_ip + ':' + a.dst_port],
    [a.score.toFixed(2), 'num'],
    [a.top_features.slice(0, 2).map((f) => f.name).join(', ')],
  ]);
  fillTable($('alerts'), [['flow start (UTC)'], ['class'], ['source'], ['destination'], ['score', 'num'], ['top features']], rows);
  document.body.dataset.updated = String(Date.now());
}

async function fetchJson(name) {
  const r = await fetch('api/' + name + (TOKEN ? '?token=' + encodeURIComponent(TOKEN) : ''), { headers: HEADERS, cache: 'no-store' });
  if (!r.ok) throw new Error('/api/' + name + ': HTTP ' + r.status);
  return r.json();
}

async function tick() {
  try {
    const parts = await Promise.all(ENDPOINTS.map(fetchJson));
    const d = {};
    ENDPOINTS.forEach((k, i) => { d[k] = parts[i]; });
    render(d);
  } catch (e) {
    setText('error', String(e));
  } finally {
    setTimeout(tick, 1000);
  }
}

document.addEventListener('DOMContentLoaded', tick);
