import { escapeHtml as e } from './html-escape.js';
import type { OrderConfirmationView } from './order-confirmation.js';

// Email clients ignore <style> blocks and external CSS to varying degrees, so layout is
// tables with inline styles. Every string from the view goes through escapeHtml: the
// view holds customer data (names, product names, addresses) as plain text.

const FONT = 'font-family:Arial,Helvetica,sans-serif;';
const CELL = `${FONT}font-size:14px;line-height:20px;color:#18181b;padding:8px 0;border-bottom:1px solid #e4e4e7;`;
const HEAD = `${FONT}font-size:12px;line-height:16px;color:#71717a;text-transform:uppercase;padding:8px 0;border-bottom:2px solid #e4e4e7;`;

function itemRows(view: OrderConfirmationView): string {
  return view.lines
    .map(
      (line) => `<tr>
<td style="${CELL}">${e(line.name)}<br><span style="color:#71717a;font-size:12px;">${e(view.skuLabel)} ${e(line.sku)}</span></td>
<td align="center" style="${CELL}">${e(line.quantity)}</td>
<td align="right" style="${CELL}white-space:nowrap;">${e(line.unitPrice)}</td>
<td align="right" style="${CELL}white-space:nowrap;">${e(line.lineTotal)}</td>
</tr>`,
    )
    .join('\n');
}

function totalRows(view: OrderConfirmationView): string {
  return view.totals
    .map((t) => {
      const weight = t.emphasis ? 'font-weight:bold;font-size:16px;' : '';
      return `<tr>
<td colspan="3" align="right" style="${FONT}font-size:14px;padding:6px 12px 6px 0;color:#3f3f46;${weight}">${e(t.label)}</td>
<td align="right" style="${FONT}font-size:14px;padding:6px 0;white-space:nowrap;${weight}">${e(t.amount)}</td>
</tr>`;
    })
    .join('\n');
}

export function renderOrderConfirmationHtml(view: OrderConfirmationView): string {
  return `<!DOCTYPE html>
<html lang="${e(view.locale)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(view.subject)}</title>
</head>
<body style="margin:0;padding:0;background:#f4f4f5;">
<div style="display:none;max-height:0;overflow:hidden;">${e(view.intro)}</div>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f4f4f5;">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" style="max-width:600px;width:100%;background:#ffffff;border-radius:8px;">
<tr><td style="padding:32px 32px 8px;"><h1 style="${FONT}margin:0;font-size:22px;line-height:28px;color:#18181b;">${e(view.heading)}</h1></td></tr>
<tr><td style="${FONT}padding:8px 32px;font-size:15px;line-height:22px;color:#18181b;">
<p style="margin:0 0 12px;">${e(view.greeting)}</p>
<p style="margin:0;">${e(view.intro)}</p>
</td></tr>
<tr><td style="padding:16px 32px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">
<tr>
<th align="left" style="${HEAD}">${e(view.columns.item)}</th>
<th align="center" style="${HEAD}">${e(view.columns.quantity)}</th>
<th align="right" style="${HEAD}">${e(view.columns.price)}</th>
<th align="right" style="${HEAD}">${e(view.columns.total)}</th>
</tr>
${itemRows(view)}
${totalRows(view)}
</table>
</td></tr>
<tr><td style="${FONT}padding:8px 32px 16px;font-size:14px;line-height:20px;color:#18181b;">
<p style="margin:0 0 4px;font-weight:bold;">${e(view.shipToLabel)}</p>
<p style="margin:0;">${view.shipTo.map(e).join('<br>')}</p>
</td></tr>
<tr><td style="${FONT}padding:8px 32px 32px;font-size:15px;line-height:22px;color:#18181b;">
<p style="margin:0 0 12px;">${e(view.closing)}</p>
<p style="margin:0;">${e(view.signOff)}</p>
</td></tr>
</table>
<p style="${FONT}font-size:12px;line-height:16px;color:#71717a;margin:16px 0 0;max-width:600px;">${e(view.footer)}</p>
</td></tr>
</table>
</body>
</html>
`;
}
