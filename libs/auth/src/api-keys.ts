import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const ROLES = ['viewer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** One configured API key: an id for logs and the audit log, a role, and the sha256 of the key. */
export interface ApiKeyEntry {
  id: string;
  role: Role;
  hash: string;
}

/** Who made a request (never the key itself). */
export interface Principal {
  keyId: string;
  role: Role;
}

const ENTRY = /^([A-Za-z0-9_.-]{1,64}):(viewer|admin):([0-9a-f]{64})$/;

export class ApiKeyFormatError extends Error {}

/** Parse `ADMIN_API_KEYS`: comma-separated `<id>:<role>:<sha256 hex>` entries. */
export function parseApiKeys(value: string | undefined): ApiKeyEntry[] {
  if (!value || value.trim() === '') return [];
  const entries = value.split(',').map((raw, i) => {
    const m = ENTRY.exec(raw.trim());
    if (!m)
      throw new ApiKeyFormatError(
        `entry ${i + 1} must be <id>:<viewer|admin>:<64 hex digits of sha256> (see odtp-db apikey create)`,
      );
    return { id: m[1], role: m[2] as Role, hash: m[3] };
  });
  const ids = new Set<string>();
  for (const e of entries) {
    if (ids.has(e.id)) throw new ApiKeyFormatError(`key id "${e.id}" appears twice`);
    ids.add(e.id);
  }
  return entries;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new random key (256 bits), with a recognisable prefix. */
export function generateKey(): string {
  return `odtp_${randomBytes(32).toString('base64url')}`;
}

/** The entry whose hash matches `presented`, comparing every entry in constant time. */
export function verifyKey(entries: readonly ApiKeyEntry[], presented: string): ApiKeyEntry | undefined {
  const digest = Buffer.from(hashKey(presented), 'hex');
  let found: ApiKeyEntry | undefined;
  for (const e of entries) {
    if (timingSafeEqual(digest, Buffer.from(e.hash, 'hex')) && !found) found = e;
  }
  return found;
}

export function configLine(id: string, role: Role, key: string): string {
  return `${id}:${role}:${hashKey(key)}`;
}
