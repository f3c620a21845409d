import { ObjectId } from 'bson';
import type { Document } from 'bson';
import { updateOne } from 'mingo/updater';
import type { Modifier } from 'mingo/updater';
import { OPTIONS, structuredCloneBson } from './query-engine';
import { applySimpleUpdate } from './simple-update';

/** The general path's result, for comparison. */
function general(doc: Document, modifier: Document): Document {
  const copy = structuredCloneBson(doc);
  updateOne([copy], {}, modifier as Modifier<Document>, { cloneMode: 'deep' }, OPTIONS);
  return copy;
}

function simple(doc: Document, modifier: Document): Document | false {
  const copy = structuredCloneBson(doc);
  return applySimpleUpdate(copy, modifier, structuredCloneBson, undefined) ? copy : false;
}

const id = new ObjectId('65a1b2c3d4e5f60718293a4b');

describe('the $set/$unset fast path', () => {
  it.each([
    ['a new top-level field, appended', { _id: 1, a: 1 }, { $set: { b: id } }],
    ['an existing field keeps its place', { _id: 1, a: 1, b: 2 }, { $set: { a: 'x' } }],
    ['sub-documents created on the way', { _id: 1 }, { $set: { 'x.y.z': 3 } }],
    [
      'into an existing sub-document',
      { _id: 1, x: { y: 1, w: 2 } },
      { $set: { 'x.y': [1, 2], 'x.v': null } },
    ],
    ['unset of a field', { _id: 1, a: 1, b: 2 }, { $unset: { a: '' } }],
    ['unset of a missing path', { _id: 1, a: 1 }, { $unset: { 'q.r': '' } }],
    ['set and unset together', { _id: 1, a: 1, b: { c: 1 } }, { $set: { a: 2 }, $unset: { 'b.c': 1 } }],
  ])('%s: the same document as the general path', (_name, doc, modifier) => {
    expect(simple(doc, modifier)).toEqual(general(doc, modifier));
    expect(Object.keys(simple(doc, modifier) as Document)).toEqual(Object.keys(general(doc, modifier)));
  });

  it.each([
    ['an array on the way', { _id: 1, a: [{ b: 1 }] }, { $set: { 'a.0.b': 2 } }],
    ['a scalar on the way', { _id: 1, a: 5 }, { $set: { 'a.b': 2 } }],
    ['null on the way', { _id: 1, a: null }, { $set: { 'a.b': 2 } }],
    ['a Date on the way', { _id: 1, a: new Date(0) }, { $unset: { 'a.b': 1 } }],
    ['a positional path', { _id: 1, a: [1] }, { $set: { 'a.$': 2 } }],
    ['an array-filter path', { _id: 1, a: [1] }, { $set: { 'a.$[x]': 2 } }],
    ['conflicting paths', { _id: 1 }, { $set: { a: 1, 'a.b': 2 } }],
    ['the same path set and unset', { _id: 1 }, { $set: { a: 1 }, $unset: { a: 1 } }],
    ['a __proto__ part', { _id: 1 }, { $set: { '__proto__.x': 1 } }],
    ['an empty part', { _id: 1 }, { $set: { 'a..b': 1 } }],
    ['another operator', { _id: 1, n: 1 }, { $set: { a: 1 }, $inc: { n: 1 } }],
  ])('%s: left to the general path, the document untouched', (_name, doc, modifier) => {
    const copy = structuredCloneBson(doc as Document);
    expect(applySimpleUpdate(copy, modifier, structuredCloneBson, undefined)).toBe(false);
    expect(copy).toEqual(doc);
  });

  it('array filters are left to the general path', () => {
    const copy: Document = { _id: 1 };
    expect(applySimpleUpdate(copy, { $set: { a: 1 } }, structuredCloneBson, [{ x: 1 }])).toBe(false);
    expect(copy).toEqual({ _id: 1 });
  });

  it('the value is copied: changing the update afterwards does not change the document', () => {
    const value = { n: [1, 2] };
    const out = simple({ _id: 1 }, { $set: { v: value } }) as Document;
    value.n.push(3);
    expect(out).toEqual({ _id: 1, v: { n: [1, 2] } });
  });
});
