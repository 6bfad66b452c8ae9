import { createHash } from 'node:crypto';
import type { Message, Options } from 'amqplib';

/**
 * The properties a message keeps when the system republishes it (retry, dead letter,
 * replay), with the given headers. A message that came without an id gets the hash of
 * its body, so every copy of it still carries one and the same id.
 */
export function republishProperties(msg: Message, headers: Record<string, unknown>): Options.Publish {
  const p = msg.properties;
  const out: Options.Publish = { headers };
  out.messageId = p.messageId ? String(p.messageId) : createHash('sha256').update(msg.content).digest('hex');
  if (p.correlationId) out.correlationId = p.correlationId;
  if (p.type) out.type = p.type;
  if (p.contentType) out.contentType = p.contentType;
  if (p.contentEncoding) out.contentEncoding = p.contentEncoding;
  if (p.timestamp) out.timestamp = p.timestamp;
  if (p.appId) out.appId = p.appId;
  return out;
}
