/// <reference lib="dom" />
// The page's views: each renders one slice of the state into its section, and only when that
// slice changed (the reducer never mutates, so a changed slice is a new object).
import type { DashboardState, DecisionView, RunReport } from '@reelmesh/dashboard/model';
import { GraphDrawing } from './graph-view';
import { Plots } from './plots';
import {
  chunksByAgent,
  clockTime,
  filterDecisions,
  formatBytes,
  formatMs,
  formatRate,
  formatSeconds,
  matrixGrid,
  overallProgress,
  percentText,
  ratio,
  reportIsMain,
  shortHash,
  type DecisionFilter,
} from './view';

type Child = Node | string | number | null | undefined | false;

/** An element with attributes and children; text is always set as text, never parsed as HTML. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | number | boolean | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c);
  return el;
}

const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** A bounded list (stored oldest first) drawn newest first, or one line saying it is empty. */
function newestFirst<T>(list: HTMLElement, items: readonly T[], empty: string, item: (x: T) => HTMLElement): void {
  list.replaceChildren(...(items.length === 0 ? [h('li', { class: 'empty' }, empty)] : [...items].reverse().map(item)));
}

function facts(dl: HTMLElement, rows: Array<[string, Child]>): void {
  dl.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export class Dashboard {
  #shown?: DashboardState;
  #shownFilter = '';
  readonly #graph = new GraphDrawing(byId('graph'));
  readonly #plots = new Plots(byId('plot-timeline'), byId('plot-agents'), byId('plot-startup'));
  readonly #filterText = byId<HTMLInputElement>('decision-filter');
  readonly #deniedOnly = byId<HTMLInputElement>('denied-only');

  filter(): DecisionFilter {
    return { text: this.#filterText.value, deniedOnly: this.#deniedOnly.checked };
  }

  connection(state: ConnectionState): void {
    const el = byId('connection');
    el.className = `conn conn-${state}`;
    setText(byId('connection-text'), state === 'reconnecting' ? 'reconnecting…' : state);
  }

  render(state: DashboardState): void {
    const prev = this.#shown;
    this.#shown = state;
    const changed = <K extends keyof DashboardState>(k: K) => !prev || prev[k] !== state[k];
    if (changed('graph') || changed('run') || changed('mode')) this.#header(state);
    if (changed('graph')) this.#graph.draw(state.graph);
    if (changed('graph') || changed('agents') || changed('chunks')) this.#graph.update(state.agents, chunksByAgent(state.chunks));
    if (changed('graph') || changed('progress')) this.#progress(state);
    const filterKey = JSON.stringify(this.filter());
    if (changed('decisions') || filterKey !== this.#shownFilter) {
      this.#shownFilter = filterKey;
      this.#decisions(state);
    }
    if (changed('agents') || changed('provenance') || changed('ledger')) this.#provenance(state);
    if (changed('agents') || changed('processes') || changed('kms')) this.#platform(state);
    if (changed('errors')) this.#errors(state);
    if (changed('report') || changed('mode')) this.#report(state);
  }

  /** Redraw the decisions only (the filter changed). */
  refilter(): void {
    if (this.#shown) this.render(this.#shown);
  }

  #header(s: DashboardState): void {
    document.body.classList.toggle('mode-report', reportIsMain(s));
    setText(byId('run-title'), s.graph.title || s.graph.id);
    setText(byId('run-sub'), `workflow ${s.graph.id} · owner ${s.graph.owner} · ${s.mode === 'report' ? 'finished run (report)' : 'live'}`);
    document.title = `${s.run.state} · ${s.graph.title || s.graph.id} — ReelMesh dashboard`;
    const status = byId('run-status');
    status.className = `run-state run-${s.run.state}`;
    setText(status, `Run: ${s.run.state}${s.run.error ? ` — ${s.run.error}` : ''}`);
    const bits = [s.run.chunks !== undefined ? `${s.run.chunks} chunks` : '', s.run.startedAt ? `started ${clockTime(s.run.startedAt)} UTC` : '', s.run.finishedAt ? `finished ${clockTime(s.run.finishedAt)} UTC` : ''].filter(Boolean);
    const factsEl = byId('run-facts');
    factsEl.replaceChildren(bits.join(' · '));
    if (s.run.state === 'done' && s.run.deliverable) factsEl.append(h('br'), 'deliverable ', h('code', { class: 'path' }, s.run.deliverable), s.run.format ? ` (${s.run.format})` : '');
  }

  #progress(s: DashboardState): void {
    const overall = overallProgress(s.progress);
    setText(byId('overall-progress'), overall.total > 0 ? `Overall ${overall.percent} (${overall.done} / ${overall.total} chunk-steps)` : 'Overall — (totals not known yet)');
    byId('overall-bar').style.width = `${ratio(overall.done, overall.total) * 100}%`;
    const list = byId('steps');
    const order = [...s.graph.steps.map((x) => x.name), ...Object.keys(s.progress).filter((k) => !s.graph.steps.some((x) => x.name === k))];
    const items = order.map((step) => {
      const p = s.progress[step] ?? { step, agent: '', done: 0, total: 0, chunksPerSecond: 0 };
      const bar = h('span');
      bar.style.width = `${ratio(p.done, p.total) * 100}%`;
      const complete = p.total > 0 && p.done >= p.total;
      return h(
        'li',
        { 'data-step': step, class: complete ? 'complete' : undefined },
        h('div', { class: 'step-head' }, h('span', { class: 'step-name' }, step), h('span', { class: 'muted' }, p.agent), h('span', { 'data-role': 'percent', class: 'percent' }, percentText(p.done, p.total))),
        h('div', { class: 'bar', role: 'progressbar', 'aria-label': `${step} progress`, 'aria-valuemin': 0, 'aria-valuemax': Math.max(p.total, 0), 'aria-valuenow': Math.min(p.done, Math.max(p.total, 0)) }, bar),
        h('div', { class: 'step-foot muted' }, h('span', {}, `${p.done} / ${p.total || '?'} chunks`), h('span', { 'data-role': 'rate' }, formatRate(p.chunksPerSecond))),
      );
    });
    list.replaceChildren(...items);
  }

  #decisions(s: DashboardState): void {
    setText(byId('allowed-count'), `${s.decisions.allowed} allowed`);
    setText(byId('denied-count'), `${s.decisions.denied} denied`);
    const rows = filterDecisions(s.decisions.recent, this.filter());
    setText(byId('decisions-shown'), `showing ${rows.length} of the latest ${s.decisions.recent.length}`);
    const body = byId('decisions').querySelector('tbody');
    if (!body) return;
    if (rows.length === 0) {
      body.replaceChildren(h('tr', {}, h('td', { colspan: 7, class: 'empty' }, s.decisions.recent.length ? 'No decision matches the filter.' : 'No policy decision yet.')));
      return;
    }
    body.replaceChildren(...rows.map((d) => this.#decisionRow(d)));
  }

  #decisionRow(d: DecisionView): HTMLTableRowElement {
    const verdict = d.allowed ? 'allowed' : 'denied';
    return h(
      'tr',
      { 'data-decision': verdict, class: d.allowed ? undefined : 'denied' },
      h('td', {}, h('time', { datetime: d.time }, clockTime(d.time))),
      h('td', {}, d.source),
      h('td', {}, d.destination),
      h('td', {}, d.method),
      h('td', { class: 'path' }, d.path),
      h('td', {}, h('span', { class: `verdict ${verdict}` }, verdict)),
      h('td', { class: 'reason' }, d.reason),
    );
  }

  #provenance(s: DashboardState): void {
    const cp = s.ledger.checkpoint;
    facts(byId('ledger'), [
      ['Entries', String(s.ledger.entries)],
      ['Head', s.ledger.head ? h('code', { title: s.ledger.head }, shortHash(s.ledger.head)) : '—'],
      ['Latest checkpoint', cp ? h('span', { id: 'checkpoint' }, `#${cp.index} · entries ${cp.from}..${cp.to}`) : 'none yet'],
      ['Checkpoint head', cp ? h('code', { title: cp.head }, shortHash(cp.head)) : '—'],
      ['Signed by', cp ? cp.signedBy : '—'],
      ['Signed at', cp ? `${clockTime(cp.time)} UTC` : '—'],
    ]);
    const body = byId('verified').querySelector('tbody');
    body?.replaceChildren(
      ...s.graph.agents.map((a) => {
        const p = s.agents[a.name]?.provenance;
        return h('tr', {}, h('th', { scope: 'row' }, a.name), h('td', { class: 'num' }, p?.chainsVerified ?? 0), h('td', { class: 'num' }, p?.recordsSigned ?? 0));
      }),
    );
    setText(byId('refusal-count'), `(${s.provenance.refused})`);
    newestFirst(byId('refusals'), s.provenance.refusals, 'No chunk refused: every provenance chain held.', (r) =>
      h(
        'li',
        { class: 'refusal' },
        h('div', {}, h('strong', {}, r.agent), ' refused chunk ', h('strong', {}, r.chunk), ` of ${r.step} (${r.artifact}) from `, h('strong', {}, r.from), h('span', { class: 'muted' }, ` · ${clockTime(r.time)}`)),
        h('div', { class: 'reason' }, 'Broken link: ', r.reason),
      ),
    );
  }

  #platform(s: DashboardState): void {
    const k = s.kms;
    byId('kms-total').replaceChildren(
      h('span', { class: 'count' }, `KMS: ${k.generateDataKey} GenerateDataKey`),
      h('span', { class: 'count' }, `${k.decrypt} Decrypt`),
      h('span', { class: k.failures ? 'count bad' : 'count' }, `${k.failures} failures`),
      h('span', { class: 'count' }, `${formatBytes(k.sealedBytes)} sealed`),
    );
    const kmsBody = byId('kms').querySelector('tbody');
    kmsBody?.replaceChildren(
      ...s.graph.agents.map((a) => {
        const x = s.agents[a.name]?.kms;
        return h('tr', {}, h('th', { scope: 'row' }, a.name), h('td', { class: 'num' }, x?.generateDataKey ?? 0), h('td', { class: 'num' }, x?.decrypt ?? 0), h('td', { class: x?.failures ? 'num bad' : 'num' }, x?.failures ?? 0), h('td', { class: 'num' }, formatBytes(x?.sealedBytes ?? 0)));
      }),
    );
    const procs = Object.values(s.processes).sort((a, b) => (a.agent ?? '').localeCompare(b.agent ?? '') || a.name.localeCompare(b.name));
    const body = byId('processes').querySelector('tbody');
    if (!body) return;
    if (procs.length === 0) {
      body.replaceChildren(h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'No process started yet.')));
      return;
    }
    body.replaceChildren(
      ...procs.map((p) =>
        h(
          'tr',
          { 'data-process': p.name },
          h('th', { scope: 'row' }, p.name),
          h('td', {}, p.agent ?? 'platform'),
          h('td', {}, p.role),
          h('td', {}, h('span', { class: `pstate pstate-${p.state}` }, p.state)),
          h('td', { class: 'num' }, formatMs(p.startupMs)),
          h('td', { class: p.restarts ? 'num warn' : 'num' }, p.restarts),
        ),
      ),
    );
  }

  #errors(s: DashboardState): void {
    setText(byId('error-count'), `(${s.errors.total})`);
    newestFirst(byId('errors'), s.errors.recent, 'No error.', (e) =>
      h(
        'li',
        { class: 'error' },
        h('div', { class: 'error-head' }, h('time', { datetime: e.time }, clockTime(e.time)), h('strong', {}, e.source)),
        h('p', {}, e.message),
        e.logLine ? h('pre', {}, h('code', {}, e.logLine)) : null,
      ),
    );
  }

  #report(s: DashboardState): void {
    const section = byId('report');
    const report = s.report;
    const main = byId('main');
    // In report mode the report leads the page; live, it follows the live views once the run finished.
    if (reportIsMain(s)) {
      if (main.firstElementChild !== section) main.prepend(section);
    } else if (main.lastElementChild !== section) main.append(section);
    section.hidden = !report;
    byId('nav-report').hidden = !report;
    if (!report) {
      this.#plots.destroy();
      return;
    }
    this.#verification(report);
    this.#result(report, s);
    this.#matrix(report);
    this.#plots.draw(
      report,
      s.timeline,
      s.graph.steps.map((x) => x.name),
      s.graph.agents.map((a) => a.name),
    );
  }

  #verification(r: RunReport): void {
    const v = r.verification;
    byId('verification').replaceChildren(
      h('p', { id: 'verification-result', class: v.ok ? 'verdict-big ok' : 'verdict-big bad' }, v.ok ? '✓ Verification passed' : '✗ Verification FAILED'),
      h('p', {}, v.summary),
      h(
        'ul',
        { class: 'checks' },
        ...v.checks.map((c) => h('li', { class: c.ok ? 'ok' : 'bad' }, h('span', { class: 'check-word' }, c.ok ? 'pass' : 'fail'), ` ${c.name}`, c.detail ? h('span', { class: 'muted' }, ` — ${c.detail}`) : null)),
      ),
    );
  }

  #result(r: RunReport, s: DashboardState): void {
    const x = r.result;
    const restarts = Object.values(x.restarts).reduce((a, b) => a + b, 0);
    facts(byId('result-numbers'), [
      ['Deliverable', h('code', { class: 'path' }, x.deliverable)],
      ['Chunks', String(x.chunks)],
      ['Wall', formatSeconds(x.wallSeconds)],
      ['Start-up', formatSeconds(x.startupSeconds)],
      ['Run', formatSeconds(x.runSeconds)],
      ['KMS calls', String(x.kmsCalls)],
      ['Provenance', `${x.provenance.recordsSigned} signed · ${x.provenance.chainsVerified} verified`],
      ['Restarts', `${restarts}${restarts ? ` (${Object.entries(x.restarts).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}`],
      ['Decisions', `${r.decisions.allowed} allowed · ${r.decisions.denied} denied`],
      ['Ledger', `${r.ledger.entries} entries${r.ledger.checkpoint ? ` · checkpoint #${r.ledger.checkpoint.index}` : ''}`],
      ['Security', `mesh ${x.security.mesh ? 'on' : 'off'} · encryption ${x.security.encryption ? 'on' : 'off'}`],
      ['Finished', `${clockTime(r.finishedAt)} UTC${s.mode === 'report' ? ` · ${r.runDir}` : ''}`],
    ]);
  }

  #matrix(r: RunReport): void {
    const table = byId<HTMLTableElement>('access-matrix');
    const head = table.tHead ?? table.createTHead();
    const body = table.tBodies[0] ?? table.createTBody();
    const m = r.matrix;
    if (!m) {
      setText(byId('matrix-summary'), 'No access matrix: the run had no mesh to try it on.');
      head.replaceChildren();
      body.replaceChildren();
      return;
    }
    setText(byId('matrix-summary'), `${m.attempts} attempts · ${m.unexpectedAllows} unexpected allows · ${m.unexpectedDenies} unexpected denies`);
    const grid = matrixGrid(m);
    head.replaceChildren(h('tr', {}, h('th', { scope: 'col' }, 'source ↓ · destination →'), ...grid.columns.map((c) => h('th', { scope: 'col' }, c))));
    body.replaceChildren(
      ...grid.rows.map((src) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, src),
          ...grid.columns.map((dst) => {
            const c = grid.cell(src, dst);
            if (!c) return h('td', { class: 'none' }, '—');
            const bad = c.mismatches > 0;
            return h(
              'td',
              { class: bad ? 'mismatch' : c.allowed > 0 ? 'some' : undefined, 'data-source': src, 'data-destination': dst, title: `${src} → ${dst}: ${c.allowed} of ${c.attempts} allowed, ${c.expectedAllowed} expected${bad ? `, ${c.mismatches} mismatched` : ''}` },
              h('span', { class: 'cell-main' }, `${c.allowed}/${c.attempts}`),
              bad ? h('span', { class: 'flag', 'aria-label': `${c.mismatches} mismatches` }, '!') : null,
              h('span', { class: 'cell-sub' }, `exp ${c.expectedAllowed}`),
            );
          }),
        ),
      ),
    );
  }
}
