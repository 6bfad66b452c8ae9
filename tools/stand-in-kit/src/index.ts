export { escapeHtml } from './html-escape.js';
export { renderHtmlPage } from './html-page.js';
export type { HtmlPage } from './html-page.js';
export { assertNotProduction } from './production-guard.js';
