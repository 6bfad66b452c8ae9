import { allContracts } from './registry.js';

/**
 * JSON Schema (draft-07 compatible) for every contract, keyed by AMQP `type`, so a
 * client in any language can validate what it sends or receives.
 */
export function jsonSchemas(): Record<string, object> {
  const out: Record<string, object> = {};
  for (const c of allContracts) {
    out[c.type] = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      ...JSON.parse(JSON.stringify(c.schema)),
      $id: c.type,
      'x-exchange': c.exchange,
      'x-routing-key': c.routingKey,
    };
  }
  return out;
}
