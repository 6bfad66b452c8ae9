import { createHash, randomBytes } from 'node:crypto';

// RabbitMQ's internal users store `base64(salt ++ sha256(salt ++ utf8(password)))` with a
// 4-byte random salt when the hashing module is rabbit_password_hashing_sha256, which is
// what a definitions file names in `hashing_algorithm`.

export const HASHING_ALGORITHM = 'rabbit_password_hashing_sha256';

export function rabbitPasswordHash(password: string, salt: Buffer = randomBytes(4)): string {
  if (salt.length !== 4) throw new Error('RabbitMQ password salts are 4 bytes');
  const digest = createHash('sha256')
    .update(Buffer.concat([salt, Buffer.from(password, 'utf8')]))
    .digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

/** True when `hash` (as found in a definitions file) was made from `password`. */
export function rabbitPasswordMatches(password: string, hash: string): boolean {
  const raw = Buffer.from(hash, 'base64');
  if (raw.length !== 36) return false;
  return rabbitPasswordHash(password, raw.subarray(0, 4)) === hash;
}
