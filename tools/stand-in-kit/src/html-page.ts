import { escapeHtml } from './html-escape.js';

export interface HtmlPage {
  /** Plain text; escaped here. */
  title: string;
  /** The stand-in's own style sheet, inlined: its pages load nothing from anywhere. */
  style: string;
  /** Markup inside `<header>`, written by the stand-in, never taken from what it received. */
  header: string;
  /** Markup inside `<main>`; whatever came from a client must already be escaped. */
  body: string;
}

/** The document every stand-in page is framed in. */
export function renderHtmlPage(page: HtmlPage): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>${page.style}</style>
</head>
<body>
<header>${page.header}</header>
<main>
${page.body}
</main>
</body>
</html>
`;
}
