// @reelmesh/dashboard: the owner's dashboard — the state model and its reducer (shared with the
// page in apps/dashboard), the loopback server with its one-time token, and the page's build.
export * from './model';
export { graphOf } from './graph';
export { DashboardStore } from './store';
export { startDashboardServer, SESSION_COOKIE, type DashboardServer, type DashboardServerOptions, type DashboardSource } from './server';
export { buildPage, PAGE_SOURCE, type PageAssets } from './page';
