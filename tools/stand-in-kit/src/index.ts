export { escapeHtml } from './html-escape.js';
export { renderHtmlPage } from './html-page.js';
export type { HtmlPage } from './html-page.js';
export { assertNotProduction } from './production-guard.js';
export { BoundedStore, DEFAULT_WAIT_TIMEOUT_MS } from './bounded-store.js';
export type { BoundedStoreOptions, ItemPredicate } from './bounded-store.js';
