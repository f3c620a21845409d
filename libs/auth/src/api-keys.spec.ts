import * as fs from 'node:fs';
import { configLine, generateKey, hashKey, parseApiKeys, verifyKey } from './api-keys';
import { ensureDevelopmentKey } from './dev-key';
import { tempDir } from '../../../test/support/temp-dirs';

describe('API keys', () => {
  const admin = 'odtp_admin-key';
  const viewer = 'odtp_viewer-key';
  const entries = parseApiKeys(`ops:admin:${hashKey(admin)}, ro:viewer:${hashKey(viewer)}`);

  it('parses id:role:sha256 entries', () => {
    expect(entries).toEqual([
      { id: 'ops', role: 'admin', hash: hashKey(admin) },
      { id: 'ro', role: 'viewer', hash: hashKey(viewer) },
    ]);
    expect(parseApiKeys('')).toEqual([]);
  });

  it.each([
    [
      'ops:root:' + 'a'.repeat(64),
      'entry 1 must be <id>:<viewer|admin>:<64 hex digits of sha256> (see odtp-db apikey create)',
    ],
    [
      'ops:admin:abc',
      'entry 1 must be <id>:<viewer|admin>:<64 hex digits of sha256> (see odtp-db apikey create)',
    ],
    [`a:admin:${'a'.repeat(64)},a:viewer:${'b'.repeat(64)}`, 'key id "a" appears twice'],
  ])('rejects %s', (value, message) => {
    expect(() => parseApiKeys(value)).toThrow(message);
  });

  it('verifies a presented key against the hashes', () => {
    expect(verifyKey(entries, admin)?.id).toBe('ops');
    expect(verifyKey(entries, viewer)?.role).toBe('viewer');
    expect(verifyKey(entries, 'odtp_other')).toBeUndefined();
  });

  it('generates distinct 256-bit keys and matching config lines', () => {
    const a = generateKey();
    expect(a).toMatch(/^odtp_[A-Za-z0-9_-]{43}$/);
    expect(generateKey()).not.toBe(a);
    expect(configLine('ci', 'viewer', a)).toBe(`ci:viewer:${hashKey(a)}`);
  });

  it('keeps a development key: generated once (the file holds only its hash), then reused', () => {
    const dir = tempDir('odtp-devkey-');
    const first = ensureDevelopmentKey(dir);
    expect(first.generatedKey).toMatch(/^odtp_/);
    expect(fs.readFileSync(first.file, 'utf8')).toBe(`dev:admin:${hashKey(first.generatedKey!)}\n`);
    expect(fs.statSync(first.file).mode & 0o777).toBe(0o600);
    const second = ensureDevelopmentKey(dir);
    expect(second).toEqual({ entry: first.entry, file: first.file });
  });
});
