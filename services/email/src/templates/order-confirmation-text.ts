import type { OrderConfirmationView } from './order-confirmation.js';

/** The plain-text body: what a text-only client or a screen reader without HTML gets. */
export function renderOrderConfirmationText(view: OrderConfirmationView): string {
  const out: string[] = [view.heading, '', view.greeting, '', view.intro, ''];
  for (const line of view.lines) {
    out.push(`${line.quantity} × ${line.name}`);
    out.push(`    ${view.skuLabel} ${line.sku} · ${line.each}`);
    out.push(`    ${line.lineTotal}`);
    out.push('');
  }
  for (const total of view.totals) out.push(`${total.label}: ${total.amount}`);
  out.push(
    '',
    `${view.shipToLabel}:`,
    ...view.shipTo,
    '',
    view.closing,
    '',
    view.signOff,
    '',
    '-- ',
    view.footer,
  );
  return `${out.join('\n')}\n`;
}
