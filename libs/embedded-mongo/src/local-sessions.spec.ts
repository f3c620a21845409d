import { UUID } from 'bson';
import { keyOf } from './bson-order';
import { LocalSessions } from './store';

/** The session cache behind $listLocalSessions: bounded, so a client minting session ids cannot grow it. */
describe('LocalSessions', () => {
  it('keeps at most LIMIT sessions, dropping the least recently used', () => {
    const sessions = new LocalSessions();
    const ids = Array.from({ length: LocalSessions.LIMIT + 1 }, () => new UUID());
    for (const id of ids) sessions.touch(id);
    const listed = sessions.list().map((s) => (s._id as { id: UUID }).id.toHexString());
    expect(listed).toHaveLength(LocalSessions.LIMIT);
    expect(listed[0]).toBe(ids[1].toHexString());
    expect(listed.includes(ids[0].toHexString())).toBe(false);
    // using a session again makes it the most recent
    sessions.touch(ids[1]);
    expect((sessions.list().at(-1)!._id as { id: UUID }).id.toHexString()).toBe(ids[1].toHexString());
  });

  it('forgets ended sessions and those unused for 30 minutes', () => {
    const sessions = new LocalSessions();
    const [a, b] = [new UUID(), new UUID()];
    sessions.touch(a);
    sessions.touch(b);
    sessions.end(keyOf(a));
    expect(sessions.list().map((s) => (s._id as { id: UUID }).id.toHexString())).toEqual([b.toHexString()]);
    expect(sessions.list(Date.now() + LocalSessions.TIMEOUT_MS + 1000)).toEqual([]);
  });
});
