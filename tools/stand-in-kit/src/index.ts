export { escapeHtml } from './html-escape.js';
export { assertNotProduction } from './production-guard.js';
