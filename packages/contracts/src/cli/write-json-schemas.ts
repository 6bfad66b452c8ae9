import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonSchemas } from '../json-schema.js';

// Writes one JSON Schema file per message type into the folder given (default: schemas).
const dir = process.argv[2] ?? 'schemas';
mkdirSync(dir, { recursive: true });
for (const [type, schema] of Object.entries(jsonSchemas())) {
  writeFileSync(join(dir, `${type}.json`), `${JSON.stringify(schema, null, 2)}\n`);
}
console.log(`wrote ${Object.keys(jsonSchemas()).length} schemas to ${dir}`);
