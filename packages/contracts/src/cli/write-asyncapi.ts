import { writeFileSync } from 'node:fs';
import { asyncApiDocument } from '../asyncapi.js';

// Writes the AsyncAPI document to the file given (default: asyncapi.json).
const file = process.argv[2] ?? 'asyncapi.json';
const doc = asyncApiDocument();
writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
console.log(`wrote AsyncAPI ${doc.asyncapi} (${Object.keys(doc.channels).length} channels) to ${file}`);
