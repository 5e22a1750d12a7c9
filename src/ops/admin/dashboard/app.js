// The admin dashboard's script: polls the JSON API, renders jobs (with uPlot sparklines), job detail, DLQ triage,
// timers and audit; mutations send the CSRF token from /api/session. Plain DOM, no framework, no build step.
/* global document, window, fetch, location, URLSearchParams, uPlot */
'use strict';

(() => {
  const POLL_MS = { jobs: 2000, job: 2000, dlq: 10000, timers: 5000, audit: 10000 };
  const state = {
    session: undefined,
    view: 'jobs',
    job: undefined,
    timer: undefined,
    busy: false,
    sparks: new Map(),
  };
  let detailChart;

  // ---- small helpers -------------------------------------------------------------------------------------------
  const $ = (selector) => document.querySelector(selector);

  /** Builds an element; children are nodes or text (never parsed as HTML). */
  function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'class') el.className = value;
      else if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
      else el.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null) continue;
      el.append(child instanceof window.Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function duration(ms) {
    if (ms === undefined || ms === null) return '';
    const abs = Math.abs(ms);
    const sign = ms < 0 ? '-' : '';
    if (abs < 1000) return `${sign}${Math.round(abs)} ms`;
    if (abs < 60_000) return `${sign}${(abs / 1000).toFixed(1)} s`;
    if (abs < 3_600_000) return `${sign}${(abs / 60_000).toFixed(1)} min`;
    if (abs < 86_400_000) return `${sign}${(abs / 3_600_000).toFixed(1)} h`;
    return `${sign}${(abs / 86_400_000).toFixed(1)} d`;
  }

  const time = (iso) => (iso ? new Date(iso).toLocaleString() : '');
  const count = (n) => (typeof n === 'number' ? n.toLocaleString() : '');

  function toast(message, isError = false) {
    const el = $('#toast');
    el.textContent = message;
    el.className = isError ? 'error' : '';
    el.hidden = false;
    window.clearTimeout(toast.timer);
    toast.timer = window.setTimeout(() => (el.hidden = true), isError ? 8000 : 4000);
  }

  function fillTable(table, headers, rows) {
    const thead = table.querySelector('thead');
    if (headers && thead.childElementCount === 0)
      thead.append(
        h(
          'tr',
          {},
          headers.map((c) => h('th', { class: c.endsWith('#') ? 'num' : '' }, c.replace(/#$/, ''))),
        ),
      );
    table.querySelector('tbody').replaceChildren(...rows);
  }

  // ---- API -------------------------------------------------------------------------------------------------------
  async function api(path) {
    const res = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.message || `${res.status} ${res.statusText}`);
    return body;
  }

  async function session() {
    state.session = await api('/api/session');
    $('#who').textContent = `${state.session.user} (${state.session.role})`;
    $('#service').textContent = `${state.session.service} · ${state.session.prefix}`;
    document.body.classList.toggle('readonly', !state.session.canChange);
  }

  /** POSTs JSON with the CSRF token; fetches a new token once when the server says it is stale. */
  async function mutate(path, body, retried = false) {
    const res = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': state.session?.csrfToken ?? '' },
      body: JSON.stringify(body ?? {}),
    });
    const answer = await res.json().catch(() => ({}));
    if (res.status === 403 && answer.error === 'csrf' && !retried) {
      await session();
      return mutate(path, body, true);
    }
    if (!res.ok) throw new Error(answer.message || `${res.status} ${res.statusText}`);
    return answer;
  }

  function connected(up) {
    $('#conn').className = `dot ${up ? 'up' : 'down'}`;
    if (up) $('#updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  }

  // ---- charts ----------------------------------------------------------------------------------------------------
  function sparkline(key, container, t, values, color) {
    let chart = state.sparks.get(key);
    if (chart && chart.root.parentNode !== container) {
      container.append(chart.root);
    }
    if (!chart) {
      chart = new uPlot(
        {
          width: 120,
          height: 28,
          pxAlign: false,
          cursor: { show: false },
          select: { show: false },
          legend: { show: false },
          scales: { x: { time: false }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
          axes: [{ show: false }, { show: false }],
          series: [{}, { stroke: color, fill: `${color}22`, width: 1.5, points: { show: false } }],
        },
        [t, values],
        container,
      );
      state.sparks.set(key, chart);
    } else chart.setData([t, values]);
  }

  function detailChartOf(job) {
    const el = $('#job-chart');
    const data = [job.history.t, job.history.lag, job.history.timeLagMs.map((ms) => ms / 1000)];
    if (detailChart && detailChart.jobKey === `${job.domain}/${job.job}`) {
      detailChart.setData(data);
      return;
    }
    detailChart?.destroy();
    el.replaceChildren();
    detailChart = new uPlot(
      {
        width: Math.max(400, el.clientWidth - 14),
        height: 220,
        scales: { x: { time: true }, lag: { range: (u, min, max) => [0, Math.max(1, max)] }, s: {} },
        series: [
          {},
          { label: 'lag (entries)', scale: 'lag', stroke: '#2563eb', width: 2 },
          { label: 'time lag (s)', scale: 's', stroke: '#b25e09', width: 1.5, dash: [4, 3] },
        ],
        axes: [
          {},
          { scale: 'lag', label: 'entries' },
          { scale: 's', side: 1, label: 'seconds', grid: { show: false } },
        ],
      },
      data,
      el,
    );
    detailChart.jobKey = `${job.domain}/${job.job}`;
  }

  // ---- views -----------------------------------------------------------------------------------------------------
  function controlButton(job) {
    const paused = job.state === 'paused';
    return h(
      'button',
      {
        type: 'button',
        class: `change-only control ${paused ? '' : 'danger'}`,
        'data-action': paused ? 'resume' : 'pause',
        onclick: async (event) => {
          event.stopPropagation();
          const action = paused ? 'resume' : 'pause';
          if (!window.confirm(`${action} ${job.job}?`)) return;
          try {
            const result = await mutate(`/api/jobs/${encodeURIComponent(job.job)}/${action}`, {
              domain: job.domain,
            });
            toast(`${job.job} is ${result.state}`);
            refresh();
          } catch (error) {
            toast(`${action} failed: ${error.message}`, true);
          }
        },
      },
      paused ? 'Resume' : 'Pause',
    );
  }

  async function renderJobs() {
    const overview = await api('/api/overview');
    const tbody = $('#jobs tbody');
    const rows = overview.jobs.map((job) => {
      const key = `${job.domain}/${job.job}`;
      const lagSpark = h('div', { class: 'spark' });
      const timeSpark = h('div', { class: 'spark' });
      const row = h(
        'tr',
        {
          class: `level-${job.level}`,
          'data-job': job.job,
          'data-domain': job.domain,
          title: job.reasons.join('; ') || job.statusReason,
          onclick: () =>
            (location.hash = `#job/${encodeURIComponent(job.domain)}/${encodeURIComponent(job.job)}`),
        },
        h('td', { class: 'mono' }, job.job),
        h('td', {}, job.domain),
        h('td', {}, h('span', { class: `badge state ${job.state}` }, job.state)),
        h('td', {}, h('span', { class: `badge status ${job.status}`, title: job.statusReason }, job.status)),
        h('td', { class: 'num lag' }, count(job.lag)),
        h('td', {}, lagSpark),
        h('td', { class: 'num time-lag' }, duration(job.timeLagMs)),
        h('td', {}, timeSpark),
        h('td', { class: 'num pending' }, count(job.pending)),
        h('td', { class: 'num consumers' }, count(job.consumers)),
        h('td', { class: 'num dlq' }, count(job.dlqLength)),
        h('td', { class: 'change-only' }, controlButton(job)),
      );
      row.sparkWork = () => {
        sparkline(`${key}:lag`, lagSpark, job.history.t, job.history.lag, '#2563eb');
        sparkline(`${key}:time`, timeSpark, job.history.t, job.history.timeLagMs, '#b25e09');
      };
      return row;
    });
    tbody.replaceChildren(...rows);
    for (const row of rows) row.sparkWork();
    $('#jobs-empty').hidden = rows.length > 0;
  }

  async function renderJob() {
    const { domain, job: name } = state.job;
    const job = await api(`/api/jobs/${encodeURIComponent(name)}?domain=${encodeURIComponent(domain)}`);
    $('#job-name').textContent = `${job.job} (${job.domain})`;
    $('#job-state').textContent = job.state;
    $('#job-state').className = `badge ${job.state}`;
    $('#job-status').textContent = job.status;
    $('#job-status').className = `badge ${job.status}`;
    $('#job-reason').textContent = [job.statusReason, ...job.reasons].join(' · ');
    const toggle = $('#job-toggle');
    toggle.replaceWith(Object.assign(controlButton(job), { id: 'job-toggle' }));
    const card = (label, value) =>
      h('div', { class: 'card' }, h('b', {}, value), h('span', { class: 'muted' }, label));
    $('#job-cards').replaceChildren(
      card('lag', count(job.lag)),
      card('time lag', duration(job.timeLagMs)),
      card('pending', count(job.pending)),
      card('oldest pending', duration(job.oldestPendingAgeMs)),
      card('retries due', count(job.retryHintsDue)),
      card('consumers', count(job.consumers)),
      card('domain DLQ', count(job.dlqLength)),
      card('partitions', `${job.partitionsWithGroup}/${job.partitions}`),
    );
    detailChartOf(job);
    fillTable(
      $('#job-partitions'),
      [
        'Partition',
        'Length#',
        'Lag#',
        'Pending#',
        'Time lag#',
        'Oldest pending#',
        'Consumers#',
        'Last delivered',
      ],
      job.byPartition.map((p) =>
        h(
          'tr',
          {},
          h('td', {}, p.partition),
          h('td', { class: 'num' }, count(p.length)),
          h('td', { class: 'num' }, count(p.lag)),
          h('td', { class: 'num' }, count(p.pending)),
          h('td', { class: 'num' }, duration(p.timeLagMs)),
          h('td', { class: 'num' }, duration(p.oldestPendingAgeMs)),
          h('td', { class: 'num' }, count(p.consumers)),
          h('td', { class: 'mono' }, p.exists ? (p.lastDeliveredId ?? '') : 'no group'),
        ),
      ),
    );
    fillTable(
      $('#job-consumers'),
      ['Consumer', 'Pending#', 'Idle#', 'Inactive#'],
      job.consumerList.map((c) =>
        h(
          'tr',
          {},
          h('td', { class: 'mono' }, c.name),
          h('td', { class: 'num' }, count(c.pending)),
          h('td', { class: 'num' }, duration(c.idleMs)),
          h('td', { class: 'num' }, c.inactiveMs === undefined ? '' : duration(c.inactiveMs)),
        ),
      ),
    );
    fillTable(
      $('#job-pending'),
      ['Entry', 'Partition#', 'Consumer', 'Idle#', 'Deliveries#'],
      job.pendingEntries.map((p) =>
        h(
          'tr',
          {},
          h('td', { class: 'mono' }, p.entryId),
          h('td', { class: 'num' }, p.partition),
          h('td', { class: 'mono' }, p.consumer),
          h('td', { class: 'num' }, duration(p.idleMs)),
          h('td', { class: 'num' }, p.deliveries),
        ),
      ),
    );
    fillTable(
      $('#job-outcomes'),
      ['At', 'Outcome', 'Entry', 'Failures#', 'Reason'],
      job.recentOutcomes.map((o) =>
        h(
          'tr',
          {},
          h('td', {}, new Date(o.at).toLocaleTimeString()),
          h('td', {}, o.kind),
          h('td', { class: 'mono' }, o.entryId),
          h('td', { class: 'num' }, o.failures),
          h('td', { class: 'wrap' }, o.reason ?? ''),
        ),
      ),
    );
    const latencies = job.metrics
      ? [
          ['handler', job.metrics.handler],
          ['end to end', job.metrics.endToEnd],
        ]
      : [];
    fillTable(
      $('#job-latency'),
      ['Latency', 'Count#', 'Mean#', 'p50#', 'p95#', 'p99#'],
      latencies
        .filter(([, l]) => l)
        .map(([label, l]) =>
          h(
            'tr',
            {},
            h('td', {}, label),
            h('td', { class: 'num' }, count(l.count)),
            h('td', { class: 'num' }, duration(l.meanMs)),
            h('td', { class: 'num' }, duration(l.p50Ms)),
            h('td', { class: 'num' }, duration(l.p95Ms)),
            h('td', { class: 'num' }, duration(l.p99Ms)),
          ),
        ),
    );
    const outcomes = job.metrics ? Object.entries(job.metrics.outcomes) : [];
    $('#job-outcome-counts').textContent =
      outcomes.length === 0
        ? 'No outcomes counted by this process.'
        : outcomes.map(([k, v]) => `${k}: ${count(v)}`).join(' · ');
  }

  async function dlqAction(group, action) {
    const scope = { fingerprint: group.fingerprint };
    const job = $('#dlq-job').value.trim();
    if (job) scope.job = job;
    const what = `${group.count} dead letter${group.count === 1 ? '' : 's'} of fingerprint ${group.fingerprint || '(none)'}`;
    if (!window.confirm(`${action} ${what}?`)) return;
    try {
      const result = await mutate(`/api/dlq/${action}`, scope);
      toast(
        action === 'requeue'
          ? `requeued ${result.requeued} (missing ${result.missing}, not requeueable ${result.unrequeueable})`
          : `dropped ${result.dropped} (missing ${result.missing})`,
      );
      refresh();
    } catch (error) {
      toast(`${action} failed: ${error.message}`, true);
    }
  }

  async function toggleEntries(row, group) {
    const next = row.nextElementSibling;
    if (next && next.classList.contains('entries')) {
      next.remove();
      return;
    }
    const params = new URLSearchParams({ fingerprint: group.fingerprint, limit: '20' });
    const job = $('#dlq-job').value.trim();
    if (job) params.set('job', job);
    const { entries } = await api(`/api/dlq/entries?${params}`);
    const list = h(
      'table',
      { class: 'grid compact' },
      h(
        'tbody',
        {},
        entries.map((e) =>
          h(
            'tr',
            {},
            h('td', { class: 'mono' }, e.id),
            h('td', {}, time(e.failedAt)),
            h('td', {}, e.group),
            h('td', {}, e.type ?? ''),
            h('td', { class: 'mono' }, e.key ?? ''),
            h('td', { class: 'num' }, e.failures),
            h('td', { class: 'wrap mono' }, JSON.stringify(e.data ?? null).slice(0, 300)),
          ),
        ),
      ),
    );
    row.after(h('tr', { class: 'entries' }, h('td', { colspan: 8 }, list)));
  }

  async function renderDlq() {
    const params = new URLSearchParams();
    const job = $('#dlq-job').value.trim();
    if (job) params.set('job', job);
    const triage = await api(`/api/dlq?${params}`);
    const groups = triage.groups.length;
    $('#dlq-summary').textContent =
      `${count(triage.scanned)} dead letters in ${groups} group${groups === 1 ? '' : 's'}${
        triage.truncated ? ' (scan limit reached: counts are partial)' : ''
      }`;
    const exportLink = (group, format) => {
      const q = new URLSearchParams({ fingerprint: group.fingerprint, format });
      if (job) q.set('job', job);
      return h('a', { class: 'button', href: `/api/dlq/export?${q}`, download: '' }, format.toUpperCase());
    };
    const rows = triage.groups.map((group) => {
      const row = h(
        'tr',
        { 'data-fingerprint': group.fingerprint },
        h(
          'td',
          { class: 'mono', title: group.fingerprint },
          group.fingerprint ? group.fingerprint.slice(0, 12) : '(none)',
        ),
        h('td', { class: 'num count' }, count(group.count)),
        h('td', { class: 'mono' }, group.jobs.join(', ')),
        h('td', {}, group.types.join(', ')),
        h(
          'td',
          { class: 'wrap' },
          h('b', {}, group.reason),
          ' ',
          h('span', { class: 'muted' }, group.error.slice(0, 200)),
        ),
        h('td', {}, time(group.firstFailedAt)),
        h('td', {}, time(group.lastFailedAt)),
        h(
          'td',
          { class: 'actions' },
          h('button', { type: 'button', class: 'show', onclick: () => toggleEntries(row, group) }, 'Show'),
          h(
            'button',
            { type: 'button', class: 'change-only requeue', onclick: () => dlqAction(group, 'requeue') },
            'Requeue',
          ),
          h(
            'button',
            { type: 'button', class: 'change-only danger drop', onclick: () => dlqAction(group, 'drop') },
            'Drop',
          ),
          exportLink(group, 'jsonl'),
          exportLink(group, 'csv'),
        ),
      );
      return row;
    });
    $('#dlq tbody').replaceChildren(...rows);
    $('#dlq-empty').hidden = rows.length > 0;
  }

  async function renderTimers() {
    const within = $('#timers-within').value;
    const result = await api(`/api/timers?withinMs=${encodeURIComponent(within)}&limit=200`);
    $('#timers-summary').textContent =
      `${result.timers.length} timer${result.timers.length === 1 ? '' : 's'}`;
    $('#timers tbody').replaceChildren(
      ...result.timers.map((t) =>
        h(
          'tr',
          {},
          h('td', {}, time(t.dueAt)),
          h('td', { class: 'num' }, t.inMs < 0 ? `overdue ${duration(-t.inMs)}` : duration(t.inMs)),
          h('td', { class: 'mono' }, t.id),
          h('td', {}, t.type),
          h('td', { class: 'mono' }, t.key),
          h('td', { class: 'mono' }, t.targetGroup ?? ''),
          h('td', {}, `${t.domain}:${t.partition}`),
        ),
      ),
    );
  }

  async function renderAudit() {
    const { entries } = await api('/api/audit?limit=100');
    $('#audit tbody').replaceChildren(
      ...entries.map((e) =>
        h(
          'tr',
          {},
          h('td', {}, time(e.at)),
          h('td', {}, `${e.actor} (${e.role}, ${e.via}) from ${e.remoteAddress}`),
          h('td', { class: 'mono' }, e.action),
          h('td', { class: 'wrap' }, e.target),
          h('td', {}, e.stage),
          h('td', { class: 'wrap mono' }, e.detail === undefined ? '' : JSON.stringify(e.detail)),
        ),
      ),
    );
  }

  const RENDER = {
    jobs: renderJobs,
    job: renderJob,
    dlq: renderDlq,
    timers: renderTimers,
    audit: renderAudit,
  };

  // ---- routing and polling ---------------------------------------------------------------------------------------
  async function refresh() {
    if (state.busy) return;
    state.busy = true;
    try {
      await RENDER[state.view]();
      connected(true);
    } catch (error) {
      connected(false);
      toast(error.message, true);
    } finally {
      state.busy = false;
    }
  }

  function schedule() {
    window.clearInterval(state.timer);
    state.timer = window.setInterval(() => {
      if (!document.hidden) refresh();
    }, POLL_MS[state.view]);
  }

  function route() {
    const [view, domain, job] = location.hash.replace(/^#/, '').split('/').map(decodeURIComponent);
    state.view = view === 'job' && job ? 'job' : RENDER[view] ? view : 'jobs';
    state.job = state.view === 'job' ? { domain, job } : undefined;
    for (const section of document.querySelectorAll('.view'))
      section.hidden = section.id !== `view-${state.view}`;
    for (const link of document.querySelectorAll('nav a'))
      link.classList.toggle('active', link.dataset.view === (state.view === 'job' ? 'jobs' : state.view));
    if (state.view !== 'job' && detailChart) {
      detailChart.destroy();
      detailChart = undefined;
    }
    schedule();
    refresh();
  }

  async function start() {
    try {
      await session();
    } catch (error) {
      $('#who').textContent = 'not signed in';
      toast(`cannot start: ${error.message}`, true);
      return;
    }
    $('#dlq-filter').addEventListener('submit', (event) => {
      event.preventDefault();
      refresh();
    });
    $('#timers-within').addEventListener('change', () => refresh());
    window.addEventListener('hashchange', route);
    route();
  }

  start();
})();
