/// <reference lib="dom" />
// The owner's dashboard page (browser entry, bundled by libs/dashboard/src/page.ts): the state
// arrives as a snapshot then as events over Server-Sent Events, each applied with the same reducer
// the CLI runs; the views are redrawn at most once per animation frame, whatever the burst.
import './dashboard.css';
import { applyEvent, type DashboardEvent, type DashboardState } from '@reelmesh/dashboard/model';
import { Dashboard } from './render';

function start(): void {
  const view = new Dashboard();
  let state: DashboardState | undefined;
  let frame = 0;

  const draw = () => {
    frame = 0;
    if (state) view.render(state);
  };
  const schedule = () => {
    if (frame === 0) frame = requestAnimationFrame(draw);
  };

  const source = new EventSource('/api/events');
  source.onopen = () => view.connection('connected');
  source.onerror = () => view.connection(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  source.onmessage = (message: MessageEvent<string>) => {
    let event: DashboardEvent;
    try {
      event = JSON.parse(message.data) as DashboardEvent;
    } catch {
      return; // not one of ours (the server sends only JSON events)
    }
    // A (re)connection starts with a snapshot that replaces the state; events before it have no base.
    if (event.type === 'snapshot') {
      view.connection('connected');
      state = event.state;
    } else if (state) state = applyEvent(state, event);
    else return;
    schedule();
  };

  const filter = document.getElementById('decision-filter');
  const deniedOnly = document.getElementById('denied-only');
  filter?.addEventListener('input', () => view.refilter());
  deniedOnly?.addEventListener('change', () => view.refilter());
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start, { once: true });
else start();
