import { escapeHtml, renderHtmlPage } from '@notify/stand-in-kit';
import type { CallbackAttempt, SandboxMessage } from './sandbox-message.js';

/** Nothing on the page needs scripts or remote content, so none is allowed. */
export const PAGE_CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

const STYLE = `
  :root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #f6f8fa; --ok: #1a7f37; --bad: #cf222e; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); }
  header { padding: 12px 24px; border-bottom: 1px solid var(--line); background: var(--bg); display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header span { color: var(--muted); }
  main { padding: 16px 24px; display: grid; gap: 16px; }
  article { border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; }
  article h2 { font-size: 14px; margin: 0 0 8px; font-family: ui-monospace, monospace; font-weight: 600; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
  dt { color: var(--muted); }
  dd { margin: 0; word-break: break-word; }
  pre { white-space: pre-wrap; word-break: break-word; background: var(--bg); padding: 8px; margin: 0; font: inherit; }
  table { border-collapse: collapse; margin-top: 8px; width: 100%; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); font-variant-numeric: tabular-nums; }
  th { color: var(--muted); font-weight: 600; }
  .ok { color: var(--ok); }
  .bad { color: var(--bad); }
  .muted { color: var(--muted); }
  .empty { color: var(--muted); padding: 32px 0; text-align: center; }
`;

const HEADER =
  "<h1>WhatsApp sandbox</h1><span>stand-in for Twilio's Messages API, nothing here was delivered</span>";

function layout(title: string, body: string): string {
  return renderHtmlPage({ title, style: STYLE, header: HEADER, body });
}

function row(label: string, value: string): string {
  return `<dt>${escapeHtml(label)}</dt><dd>${value}</dd>`;
}

function callbackCell(attempts: CallbackAttempt[], status: string): string {
  const forStatus = attempts.filter((attempt) => attempt.status === status);
  if (forStatus.length === 0) return '<span class="muted">no callback</span>';
  return forStatus
    .map((attempt) => {
      const outcome = attempt.error === null ? 'ok' : 'bad';
      const label = attempt.httpStatus === null ? 'no answer' : `HTTP ${attempt.httpStatus}`;
      const detail = attempt.error === null ? '' : ` (${escapeHtml(attempt.error)})`;
      return `<span class="${outcome}">#${attempt.attempt} ${escapeHtml(label)}</span>${detail}`;
    })
    .join('<br>');
}

function renderMessage(message: SandboxMessage): string {
  const content: string[] = [];
  if (message.body !== null) content.push(row('Body', `<pre>${escapeHtml(message.body)}</pre>`));
  if (message.contentSid !== null) content.push(row('Content SID', escapeHtml(message.contentSid)));
  if (message.contentVariables !== null) {
    content.push(
      row('Variables', `<pre>${escapeHtml(JSON.stringify(message.contentVariables, null, 2))}</pre>`),
    );
  }
  for (const url of message.mediaUrls) content.push(row('Media', escapeHtml(url)));

  const history = message.statusHistory
    .map(
      (change) =>
        `<tr><td>${escapeHtml(change.status)}</td><td>${escapeHtml(change.at)}</td><td>${
          change.status === 'queued' ? '' : callbackCell(message.callbacks, change.status)
        }</td></tr>`,
    )
    .join('');

  return `<article>
<h2>${escapeHtml(message.sid)}</h2>
<dl>
${row('Channel', message.channel === 'sms' ? 'SMS' : 'WhatsApp')}
${row('To', escapeHtml(message.to))}
${row('From', escapeHtml(message.from))}
${content.join('\n')}
${row('Status', escapeHtml(message.status) + (message.errorCode === null ? '' : ` (error ${message.errorCode})`))}
${row('Status callback', message.statusCallback === null ? '(none)' : escapeHtml(message.statusCallback))}
</dl>
<table><thead><tr><th>Status</th><th>At</th><th>Callback</th></tr></thead><tbody>${history}</tbody></table>
</article>`;
}

export function renderMessagesPage(messages: SandboxMessage[]): string {
  if (messages.length === 0) {
    return layout('WhatsApp sandbox', '<p class="empty">No messages received yet.</p>');
  }
  return layout(
    `WhatsApp sandbox (${messages.length})`,
    [...messages].reverse().map(renderMessage).join('\n'),
  );
}
