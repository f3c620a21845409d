import { Binary, ObjectId } from 'bson';
import { idStringsToObjectIds, objectIdsToStrings } from './references';
import { mapAt, valuesAt } from './paths';

describe('dotted paths (one walker for the whole project)', () => {
  const id = new ObjectId('65a000000000000000000001');
  const doc = {
    a: [{ b: [{ c: 1 }, { c: [2, 3] }] }, { b: { c: 4 } }, { x: 1 }, 7],
    d: { e: null, f: id },
  };

  it('valuesAt traverses arrays at every level and flattens the final array', () => {
    expect(valuesAt(doc, 'a.b.c')).toEqual([1, 2, 3, 4]);
    expect(valuesAt(doc, ['d', 'e'])).toEqual([null]);
    expect(valuesAt(doc, 'd.f')).toEqual([id]);
    expect(valuesAt(doc, 'd.f.x')).toEqual([]);
    expect(valuesAt(doc, 'nope.x')).toEqual([]);
  });

  it('valuesAt never reads inherited properties or the inside of BSON values', () => {
    expect(valuesAt({}, '__proto__')).toEqual([]);
    expect(valuesAt({ a: {} }, 'a.constructor')).toEqual([]);
    expect(valuesAt({ a: new Binary(Buffer.from('xy')) }, 'a.sub_type')).toEqual([]);
    expect(valuesAt({ a: new Date(0) }, 'a.getTime')).toEqual([]);
  });

  it('mapAt copies what it changes, leaves absent paths alone and maps every array element', () => {
    const out = mapAt(doc, 'a.b.c', (v) => (typeof v === 'number' ? v * 10 : v)) as typeof doc;
    expect(valuesAt(out, 'a.b.c')).toEqual([10, 20, 30, 40]);
    expect(valuesAt(doc, 'a.b.c')).toEqual([1, 2, 3, 4]);
    expect(out.d).toBe(doc.d);
    expect(out.a[2]).toEqual({ x: 1 });
    expect(out.a[3]).toBe(7);
    expect(mapAt({ k: 1 }, 'missing.path', () => 'set')).toEqual({ k: 1 });
  });

  it('mapAt writes an own "__proto__" key only when the document has one, never through the prototype', () => {
    const polluted = mapAt({}, '__proto__.polluted', () => 1) as Record<string, unknown>;
    expect(Object.keys(polluted)).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('the reference converters are the walker with a value function', () => {
    const hexId = id.toHexString();
    expect(idStringsToObjectIds({ r: [hexId, 'no-id', 5] }, ['r'])).toEqual({ r: [id, 'no-id', 5] });
    expect(objectIdsToStrings({ s: { t: [id, 'x'] } }, ['s', 't'])).toEqual({ s: { t: [hexId, 'x'] } });
    const invalid: string[] = [];
    idStringsToObjectIds({ r: ['bad'] }, ['r'], (v) => invalid.push(v));
    expect(invalid).toEqual(['bad']);
  });
});
