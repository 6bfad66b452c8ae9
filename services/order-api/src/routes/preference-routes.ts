import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CustomerReference, E164, Email, Timestamp } from '@notify/contracts';
import { MAX_UNSUBSCRIBE_TOKEN_LENGTH, verifyUnsubscribeToken } from '@notify/service-kit';
import Type from 'typebox';
import type { PreferenceRecord, PreferenceRepository } from '../adapters/preference-repository.js';
import { normalCustomerKey } from '../domain/order-messages.js';
import type { ApiInstance } from '../http/api-instance.js';
import { refuseOtherMethods } from '../http/method-not-allowed.js';
import { problemResponses } from '../http/order-schemas.js';
import { HttpProblem, statusTitle } from '../http/problem.js';
import type { PreferencePropagation } from '../preferences/preference-propagation.js';

const ChannelPreference = Type.Object({ optedOut: Type.Boolean() }, { additionalProperties: false });

export const CustomerParams = Type.Object(
  {
    ref: Type.Union([CustomerReference, Email, E164], {
      description:
        'The customer: your customer reference when your orders give one (customer.reference), else the email address or phone number (E.164)',
    }),
  },
  { additionalProperties: false },
);

export const PreferencesBody = Type.Object(
  { email: ChannelPreference, whatsapp: ChannelPreference },
  {
    additionalProperties: false,
    description:
      'Both channels, whole (PUT replaces). Opting out of whatsapp also stops its SMS fallback. ' +
      'Logistic, payment and fraud notifications are transactional and never skipped.',
  },
);

export const PreferencesView = Type.Object(
  {
    customer: Type.String(),
    email: ChannelPreference,
    whatsapp: ChannelPreference,
    source: Type.Unsafe<'api' | 'unsubscribe-link'>({
      type: 'string',
      enum: ['api', 'unsubscribe-link'],
      description: 'Who changed them last: you through this API, or the customer through an unsubscribe link',
    }),
    version: Type.Integer({ minimum: 1 }),
    updatedAt: Timestamp,
  },
  { additionalProperties: false },
);

const UnsubscribeQuery = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: MAX_UNSUBSCRIBE_TOKEN_LENGTH }) },
  { additionalProperties: false },
);

function viewOf(record: PreferenceRecord) {
  return {
    customer: record.customerKey,
    email: record.email,
    whatsapp: record.whatsapp,
    source: record.source,
    version: record.version,
    updatedAt: record.updatedAt.toISOString(),
  };
}

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>` +
  `<meta name="viewport" content="width=device-width"></head><body><h1>${title}</h1>${body}</body></html>`;

export interface PreferenceRouteDeps {
  readonly preferences: PreferenceRepository;
  readonly propagation: Pick<PreferencePropagation, 'publish'>;
  /** UNSUBSCRIBE_SECRET: verifies the tokens the email service signs into its links. */
  readonly unsubscribeSecret: string;
}

/**
 * Customer preferences. The rule for clients: preferences are kept per API client and
 * customer, so a client reads and sets only those of its own customers (the ones it
 * names in its orders); another client's preferences for the same address are another
 * record. Unsubscribe links change the record of the client whose order the mail was for.
 */
export function preferenceRoutes(app: ApiInstance, deps: PreferenceRouteDeps): void {
  const path = '/customers/:ref/preferences';
  app.get(
    path,
    {
      schema: {
        summary: "A customer's notification preferences",
        description: 'Yours for this customer; 404 when none were set (then every channel is sent).',
        tags: ['customers'],
        params: CustomerParams,
        response: { 200: PreferencesView, ...problemResponses(400, 401, 404, 429, 503) },
      },
    },
    async (request) => {
      const record = await deps.preferences.get(request.clientId, normalCustomerKey(request.params.ref));
      if (!record) {
        throw new HttpProblem(404, statusTitle(404), { detail: 'no preferences are set for this customer' });
      }
      return viewOf(record);
    },
  );
  app.put(
    path,
    {
      schema: {
        summary: "Set a customer's notification preferences",
        description:
          'Takes effect for orders already queued too: the email and whatsapp services check before each ' +
          'send and report the channel `skipped`, and the order still completes.',
        tags: ['customers'],
        params: CustomerParams,
        body: PreferencesBody,
        response: { 200: PreferencesView, ...problemResponses(400, 401, 413, 415, 429, 503) },
      },
    },
    async (request) => {
      const { record, changed } = await deps.preferences.put(
        request.clientId,
        normalCustomerKey(request.params.ref),
        request.body,
        'api',
      );
      if (changed) await deps.propagation.publish(record);
      request.log.info({ version: record.version, changed }, 'customer preferences set');
      return viewOf(record);
    },
  );
  refuseOtherMethods(app, path, ['GET', 'PUT']);

  // One-click unsubscribe (RFC 8058). A GET never changes anything (link scanners follow
  // links): it shows a button that POSTs. The POST is what mail clients send for the
  // List-Unsubscribe-Post header, with a body of List-Unsubscribe=One-Click; the signed
  // token is the authority, so the body is read (capped) but not needed.
  app.register(async (plain) => {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) =>
      done(null, body),
    );
    const config = { public: true };
    const claimOf = (token: string) => {
      const claim = verifyUnsubscribeToken(token, deps.unsubscribeSecret);
      if (!claim)
        throw new HttpProblem(400, statusTitle(400), { detail: 'this unsubscribe link is not valid' });
      return claim;
    };
    scope.get(
      '/unsubscribe',
      {
        config,
        schema: {
          summary: 'The page an email unsubscribe link opens',
          tags: ['customers'],
          querystring: UnsubscribeQuery,
          produces: ['text/html'],
        },
      },
      async (request, reply) => {
        claimOf(request.query.token);
        const action = `/unsubscribe?token=${encodeURIComponent(request.query.token)}`;
        return reply
          .type('text/html; charset=utf-8')
          .header('cache-control', 'no-store')
          .send(
            page(
              'Unsubscribe from order emails',
              `<form method="post" action="${action}"><input type="hidden" name="List-Unsubscribe" value="One-Click">` +
                '<button type="submit">Unsubscribe</button></form>',
            ),
          );
      },
    );
    scope.post(
      '/unsubscribe',
      {
        config,
        schema: {
          summary: 'One-click unsubscribe from order emails (RFC 8058)',
          tags: ['customers'],
          querystring: UnsubscribeQuery,
          produces: ['text/html'],
        },
      },
      async (request, reply) => {
        const claim = claimOf(request.query.token);
        const { record, changed } = await deps.preferences.optOut(
          claim.client,
          claim.customerKey,
          claim.channel,
          'unsubscribe-link',
        );
        if (changed) await deps.propagation.publish(record);
        request.log.info({ client: claim.client, changed }, 'unsubscribed through an email link');
        return reply
          .type('text/html; charset=utf-8')
          .header('cache-control', 'no-store')
          .send(page('Unsubscribed', '<p>You will get no more order emails from us.</p>'));
      },
    );
    refuseOtherMethods(scope, '/unsubscribe', ['GET', 'POST']);
  });
}
