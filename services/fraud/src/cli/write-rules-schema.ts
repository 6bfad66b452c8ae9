import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { rulesJsonSchema } from '../fraud-rules-json-schema.js';

// Regenerates rules/rules.schema.json from the TypeBox schema, for editors and for
// operators who validate a rules file before rolling it out.
const target = process.argv[2] ?? fileURLToPath(new URL('../../rules/rules.schema.json', import.meta.url));
await writeFile(target, rulesJsonSchema());
console.log(`wrote ${target}`);
