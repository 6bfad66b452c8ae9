import { describe, expect, it } from 'vitest';
import { renderHtmlPage } from './html-page.js';

const page = {
  title: 'Inbox (2)',
  style: 'body { margin: 0; }',
  header: '<h1>Stand-in</h1>',
  body: '<p>two items</p>',
};

describe('renderHtmlPage', () => {
  it('frames header and body in a complete UTF-8 document with the inlined style', () => {
    expect(renderHtmlPage(page)).toBe(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Inbox (2)</title>
<style>body { margin: 0; }</style>
</head>
<body>
<header><h1>Stand-in</h1></header>
<main>
<p>two items</p>
</main>
</body>
</html>
`);
  });

  it('escapes the title, which may carry a subject a client chose', () => {
    const html = renderHtmlPage({ ...page, title: '<script>alert(1)</script>' });
    expect(html).toContain('<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>');
    expect(html).not.toContain('<script>');
  });

  it('loads nothing from elsewhere: no links, scripts or remote URLs of its own', () => {
    expect(renderHtmlPage(page)).not.toMatch(/<link|<script|https?:\/\//);
  });
});
