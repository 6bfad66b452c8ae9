import { escapeHtml, renderHtmlPage } from '@notify/stand-in-kit';
import type { MailAddress, ReceivedMail } from './received-mail.js';

/**
 * Scripts, plugins, forms and remote loads are all off. There is deliberately no
 * default-src: it would fall back onto frame-src and could block the srcdoc frame,
 * which inherits this policy and is additionally sandboxed.
 */
export const PAGE_CONTENT_SECURITY_POLICY =
  "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; connect-src 'none'; " +
  "font-src 'none'; media-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'";

const STYLE = `
  :root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #f6f8fa; --accent: #0969da; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: #fff; }
  header { padding: 12px 24px; border-bottom: 1px solid var(--line); background: var(--bg); display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header span { color: var(--muted); }
  main { padding: 16px 24px; }
  a { color: var(--accent); text-decoration: none; }
  a:hover { text-decoration: underline; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { color: var(--muted); font-weight: 600; white-space: nowrap; }
  td.when { white-space: nowrap; color: var(--muted); font-variant-numeric: tabular-nums; }
  .empty { color: var(--muted); padding: 32px 0; text-align: center; }
  pre { white-space: pre-wrap; word-break: break-word; background: var(--bg); border: 1px solid var(--line); padding: 12px; margin: 0; }
  iframe { width: 100%; min-height: 480px; border: 1px solid var(--line); background: #fff; }
  section { margin-top: 20px; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
  dl.meta dt { color: var(--muted); }
  dl.meta dd { margin: 0; word-break: break-word; }
`;

const HEADER =
  '<h1><a href="/">Mail catcher</a></h1><span>development stand-in, nothing here was delivered</span>';

function layout(title: string, body: string): string {
  return renderHtmlPage({ title, style: STYLE, header: HEADER, body });
}

function formatAddress(address: MailAddress): string {
  return address.name ? `${address.name} <${address.address}>` : address.address;
}

function formatAddresses(addresses: MailAddress[]): string {
  return escapeHtml(addresses.map(formatAddress).join(', '));
}

export function renderInbox(mails: ReceivedMail[]): string {
  if (mails.length === 0) {
    return layout('Mail catcher', '<p class="empty">No mail received yet.</p>');
  }
  const rows = [...mails]
    .reverse()
    .map(
      (mail) => `<tr>
<td><a href="/messages/${encodeURIComponent(mail.id)}">${escapeHtml(mail.subject || '(no subject)')}</a></td>
<td>${formatAddresses(mail.from)}</td>
<td>${formatAddresses(mail.to.length > 0 ? mail.to : mail.envelope.to.map((address) => ({ name: '', address })))}</td>
<td class="when">${escapeHtml(mail.date ?? mail.receivedAt)}</td>
</tr>`,
    )
    .join('\n');
  return layout(
    `Mail catcher (${mails.length})`,
    `<table>
<thead><tr><th>Subject</th><th>From</th><th>To</th><th>Date</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`,
  );
}

function metaRow(label: string, value: string): string {
  return `<dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value)}</dd>`;
}

export function renderMessage(mail: ReceivedMail): string {
  const meta = [
    metaRow('Subject', mail.subject || '(no subject)'),
    metaRow('From', mail.from.map(formatAddress).join(', ')),
    metaRow('To', mail.to.map(formatAddress).join(', ')),
    mail.cc.length > 0 ? metaRow('Cc', mail.cc.map(formatAddress).join(', ')) : '',
    mail.replyTo.length > 0 ? metaRow('Reply-To', mail.replyTo.map(formatAddress).join(', ')) : '',
    metaRow('Envelope from', mail.envelope.from ?? '(null sender)'),
    metaRow('Envelope to', mail.envelope.to.join(', ')),
    metaRow('Date', mail.date ?? '(none)'),
    metaRow('Received', mail.receivedAt),
    metaRow('Message-ID', mail.messageId ?? '(none)'),
    metaRow('Size', `${mail.size} bytes`),
  ].join('\n');

  const html =
    mail.html === null
      ? '<p class="empty">No HTML body.</p>'
      : // srcdoc is an attribute, so escaping the whole document is exactly what keeps it intact;
        // the empty sandbox then denies it scripts, forms, navigation and our origin.
        `<iframe sandbox="" referrerpolicy="no-referrer" title="HTML body" srcdoc="${escapeHtml(mail.html)}"></iframe>`;
  const text =
    mail.text === null ? '<p class="empty">No text body.</p>' : `<pre>${escapeHtml(mail.text)}</pre>`;
  const attachments =
    mail.attachments.length === 0
      ? ''
      : `<section><h2>Attachments</h2><table><thead><tr><th>File</th><th>Type</th><th>Size</th></tr></thead><tbody>${mail.attachments
          .map(
            (attachment) =>
              `<tr><td>${escapeHtml(attachment.filename ?? '(unnamed)')}</td><td>${escapeHtml(attachment.contentType)}</td><td>${attachment.size} bytes</td></tr>`,
          )
          .join('')}</tbody></table></section>`;
  const headers = Object.entries(mail.headers)
    .map(([name, value]) => `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`)
    .join('');

  return layout(
    mail.subject || '(no subject)',
    `<dl class="meta">
${meta}
</dl>
<section><h2>HTML body</h2>${html}</section>
<section><h2>Text body</h2>${text}</section>
${attachments}
<section><details><summary>All headers</summary><table><tbody>${headers}</tbody></table></details></section>
<section><a href="/api/messages/${encodeURIComponent(mail.id)}">JSON</a></section>`,
  );
}

export function renderNotFound(id: string): string {
  return layout(
    'Not found',
    `<p class="empty">No message with id ${escapeHtml(id)}. It may have been cleared.</p>`,
  );
}
