import { deserialize, ObjectId, serialize } from 'bson';
import { element, pickFields, rawDocument } from './raw-bson';

const str = (s: string): Uint8Array => {
  const bytes = Buffer.from(s, 'utf8');
  const out = Buffer.alloc(4 + bytes.length + 1);
  out.writeInt32LE(bytes.length + 1, 0);
  bytes.copy(out, 4);
  return out;
};

describe('pickFields', () => {
  const id = new ObjectId('650000000000000000000001');
  const doc = serialize({ _id: id, a: 1, b: 'x', c: [1, 2], d: { e: true } });

  it('keeps the wanted top-level fields in document order, with or without _id', () => {
    expect(deserialize(pickFields(doc, new Set(['d', 'a']), true))).toEqual({
      _id: id,
      a: 1,
      d: { e: true },
    });
    expect(deserialize(pickFields(doc, new Set(['b']), false))).toEqual({ b: 'x' });
    expect(deserialize(pickFields(doc, new Set(['missing']), false))).toEqual({});
  });

  it('a repeated name does not stop the walk before the other wanted fields', () => {
    const a = element(0x02, 'a', str('first'));
    const a2 = element(0x02, 'a', str('second'));
    const b = element(0x02, 'b', str('bee'));
    const picked = pickFields(rawDocument([a, a2, b]), new Set(['a', 'b']), false);
    // Both `a` elements are copied as they are, and `b` after them.
    expect(Buffer.from(picked)).toEqual(rawDocument([a, a2, b]));
  });
});
