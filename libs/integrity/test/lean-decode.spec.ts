import { Binary, deserialize, Int32, ObjectId, serialize } from 'bson';
import type { Document } from 'bson';
import { decodeLean } from '../src/lean-decode';
import { PendingRefs } from '../src/pending-refs';

const A = new ObjectId('64b7f0c2a1b2c3d4e5f60718');
const B = new ObjectId('64b7f0c2a1b2c3d4e5f60719');
const C = new ObjectId('64b7f0c2a1b2c3d4e5f6071a');

describe('decodeLean', () => {
  it('reads ObjectIds and nulls from the bytes, as deserialize would', () => {
    const doc = decodeLean(serialize({ _id: A, stepRef: B, parent: null }));
    expect(Object.keys(doc)).toEqual(['_id', 'stepRef', 'parent']);
    expect(doc._id).toBeInstanceOf(ObjectId);
    expect((doc._id as ObjectId).toHexString()).toBe('64b7f0c2a1b2c3d4e5f60718');
    expect((doc.stepRef as ObjectId).toHexString()).toBe('64b7f0c2a1b2c3d4e5f60719');
    expect(doc.parent).toBeNull();
  });

  it('reads a document at an offset of a larger buffer (a reply), leanly or by deserialize', () => {
    const first = serialize({ _id: C });
    const lean = serialize({ _id: A, stepRef: B });
    const other = serialize({ _id: B, steps: [A, C] });
    const reply = Buffer.concat([first, lean, other]);
    expect(decodeLean(reply, first.length)).toEqual({ _id: A, stepRef: B });
    expect(decodeLean(reply, first.length + lean.length)).toEqual({ _id: B, steps: [A, C] });
    expect(decodeLean(reply, 0)).toEqual({ _id: C });
  });

  it.each<[string, Document]>([
    ['an id string', { _id: A, stepRef: '64b7f0c2a1b2c3d4e5f60719' }],
    ['an array of ids', { _id: A, steps: [B, C] }],
    ['an [ObjectId, string] pair', { _id: A, stepRef: [B, '64b7f0c2a1b2c3d4e5f60719'] }],
    ['a sub-document', { _id: A, ref: { id: B, kind: 'step' } }],
    ['a number id', { _id: 7, stepRef: B }],
    ['a binary', { _id: A, stepRef: new Binary(Buffer.from('abc')) }],
    ['an Int32 then an ObjectId', { _id: A, n: new Int32(3), stepRef: B }],
  ])('decodes a document holding %s exactly as deserialize does', (_what, source) => {
    const bytes = serialize(source);
    expect(decodeLean(bytes)).toEqual(deserialize(bytes));
  });

  it('keeps a field named __proto__ a field (the prototype stays Object.prototype)', () => {
    const bytes = serialize({ _id: A, ['__proto__']: B }, { serializeFunctions: false });
    const doc = decodeLean(bytes);
    expect(Object.getPrototypeOf(doc)).toBe(Object.prototype);
    expect(Object.hasOwn(doc, '__proto__')).toBe(Object.hasOwn(deserialize(bytes), '__proto__'));
  });

  it('names fields correctly beyond the names it caches, non-ASCII ones included', () => {
    for (let i = 0; i < 40; i++) {
      const name = i % 2 ? `réf_${i}` : `ref_${i}`;
      const doc = decodeLean(serialize({ _id: A, [name]: B }));
      expect(Object.keys(doc)).toEqual(['_id', name]);
    }
  });

  it('reads a document inside a larger buffer (a reply batch) from its own offset', () => {
    const one = serialize({ _id: A, stepRef: B });
    const two = serialize({ _id: C, stepRef: null });
    const batch = Buffer.concat([one, two]);
    expect(decodeLean(batch.subarray(one.length))).toEqual({ _id: C, stepRef: null });
    expect(decodeLean(batch)).toEqual({ _id: A, stepRef: B });
  });

  it.each<[string, (b: Buffer) => Buffer, string]>([
    ['a name without its end', (b) => b.subarray(0, 12), "the EOO isn't 0x00"],
    [
      'an ObjectId cut short',
      (b) => Buffer.concat([b.subarray(0, 4), b.subarray(4, 14), Buffer.from([0])]),
      'illegal CString',
    ],
    [
      'a size beyond the bytes',
      (b) => Buffer.concat([Buffer.from([0xff, 0, 0, 0]), b.subarray(4)]),
      'buffer length 43 must === bson size 255',
    ],
  ])('refuses %s with deserialize error, without reading past the document', (_what, cut, error) => {
    const b = serialize({ _id: A, stepRef: B });
    const bad = cut(Buffer.from(b));
    if (bad.length >= 4 && bad.readInt32LE(0) !== 0xff) bad.writeInt32LE(bad.length, 0);
    expect(() => decodeLean(bad)).toThrow(error);
  });
});

describe('PendingRefs', () => {
  it('gives back each reference: its target key, document and value', () => {
    const p = new PendingRefs(10);
    p.add(A, B, B);
    p.add('doc-2', '64b7f0c2a1b2c3d4e5f6071a', C);
    p.add(C, [B, '64b7f0c2a1b2c3d4e5f60719'], B);
    expect(p.count).toBe(3);
    expect(p.targets().map((t) => t.toHexString())).toEqual([
      '64b7f0c2a1b2c3d4e5f60719',
      '64b7f0c2a1b2c3d4e5f6071a',
    ]);
    expect([0, 1, 2].map((i) => p.key(i))).toEqual([
      '64b7f0c2a1b2c3d4e5f60719',
      '64b7f0c2a1b2c3d4e5f6071a',
      '64b7f0c2a1b2c3d4e5f60719',
    ]);
    expect(p.docId(0)).toEqual(A);
    expect(p.docId(1)).toBe('doc-2');
    expect(p.docId(2)).toEqual(C);
    expect(p.value(0)).toEqual(B);
    expect(p.distinct).toBe(2);
    expect([0, 1, 2].map((i) => p.targetIndex(i))).toEqual([0, 1, 0]);
    expect(p.value(1)).toBe('64b7f0c2a1b2c3d4e5f6071a');
    expect(p.value(2)).toEqual([B, '64b7f0c2a1b2c3d4e5f60719']);
  });

  it('is full at `size` distinct targets', () => {
    const p = new PendingRefs(3);
    expect([A, B, A, C].map((t) => p.add(new ObjectId(), t, t))).toEqual([false, false, false, true]);
  });

  it('is full at 50 references per id of `size` (many documents, few targets), past its first growth', () => {
    const p = new PendingRefs(100);
    const docs = Array.from({ length: 5000 }, () => new ObjectId());
    const full = docs.map((d, i) => p.add(d, i % 2 ? A : B, i % 2 ? A : B));
    expect(full.indexOf(true)).toBe(4999);
    expect(p.count).toBe(5000);
    expect(p.docId(4321)).toEqual(docs[4321]);
    expect(p.key(4321)).toBe(A.toHexString());
  });

  it('finds each of many targets again by its bytes, and no other id', () => {
    const size = 5000;
    const p = new PendingRefs(size);
    // ids that differ in one byte only (the table must tell them apart), and ids of one second (a shared prefix)
    const ids = Array.from({ length: size - 1 }, (_, k) => {
      const b = Buffer.from(A.id);
      b.writeUInt16BE(k, k % 2 ? 10 : 4);
      return new ObjectId(b);
    });
    ids.forEach((id, k) => expect(p.add(`doc-${k}`, id, id)).toBe(false));
    expect(p.add('again', ids[17], ids[17])).toBe(false);
    expect(p.distinct).toBe(size - 1);
    expect(ids.map((id) => p.indexOf(id))).toEqual(ids.map((_, k) => k));
    expect(p.indexOf(new ObjectId())).toBe(-1);
    expect(p.targetIndex(size - 1)).toBe(17);
    expect(p.targets().map(String)).toEqual(ids.map(String));
    const fresh = new ObjectId();
    expect(p.add('last', fresh, fresh)).toBe(true);
  });
});
