// `npm run demo`: posts a realistic order to a running system (`npm start`) and follows
// it live until every channel is final, one line per change.
import { CURRENCY_EXPONENTS } from '@notify/contracts';
import { followOrder, FollowTimeoutError, isOrderFinal } from '../follow-order.js';
import { localServicePorts } from '../local-ports.js';
import { OrderApiClient, OrderApiError } from '../order-client.js';
import { sampleOrder } from '../sample-order.js';

const timeoutMs = Number(process.env.DEMO_TIMEOUT_MS ?? 60_000);

function say(line: string) {
  process.stdout.write(`${line}\n`);
}

function money(minor: number, currency: string, locale: string): string {
  const exponent = (CURRENCY_EXPONENTS as Record<string, number>)[currency] ?? 2;
  return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(minor / 10 ** exponent);
}

function since(start: number): string {
  return `+${((Date.now() - start) / 1000).toFixed(2)}s`.padStart(8);
}

async function main(): Promise<number> {
  let apiUrl = process.env.API_URL;
  if (!apiUrl) {
    try {
      apiUrl = `http://127.0.0.1:${localServicePorts()['order-api']}`;
    } catch (err) {
      say((err as Error).message);
      return 1;
    }
  }
  const client = new OrderApiClient(apiUrl, process.env.API_KEY || undefined);
  const body = sampleOrder();
  const start = Date.now();
  let accepted;
  try {
    accepted = await client.postOrder(body);
  } catch (err) {
    if (err instanceof OrderApiError) {
      say(`the order API at ${apiUrl} refused the order: ${err.message}`);
      if (err.status === 401) say("set API_KEY to one of the keys in the API's API_KEYS");
      return 1;
    }
    say(
      `cannot reach the order API at ${apiUrl} (${(err as Error).message}); start the system with 'npm start' or set API_URL`,
    );
    return 1;
  }
  say(
    `order ${accepted.id} (${accepted.reference}) for ${body.customer.name} <${body.customer.email}>, ` +
      `${body.items.length} items, total ${money(accepted.total, accepted.currency, body.customer.locale)}: ${accepted.status}`,
  );
  say(`following ${apiUrl}/orders/${accepted.id} until every channel is final...`);
  try {
    const result = await followOrder(client, accepted.id, {
      timeoutMs,
      onChange: (change) => say(`${since(start)}  ${change.line}${change.final ? '  [final]' : ''}`),
      onStatus: (status) => say(`${since(start)}  order    ${status}`),
    });
    say(
      `every channel is final after ${((Date.now() - start) / 1000).toFixed(1)} s ` +
        `(followed through ${result.via === 'events' ? 'GET /orders/:id/events' : 'polling GET /orders/:id'}); order ${result.order.status}`,
    );
    return isOrderFinal(result.order) ? 0 : 1;
  } catch (err) {
    if (err instanceof FollowTimeoutError) {
      say(
        `gave up: order ${accepted.id} ${err.message} (DEMO_TIMEOUT_MS=${timeoutMs}); look at the services' logs`,
      );
      return 2;
    }
    say(`lost the order API while following: ${(err as Error).message}`);
    return 1;
  }
}

process.exitCode = await main();
