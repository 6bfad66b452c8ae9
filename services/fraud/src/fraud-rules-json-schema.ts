import { FraudRulesSchema } from './fraud-rules.js';

/** The rules schema as a standalone JSON Schema document (draft 2020-12 keywords only). */
export function rulesJsonSchema(): string {
  const doc = { $schema: 'https://json-schema.org/draft/2020-12/schema', ...FraudRulesSchema };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
