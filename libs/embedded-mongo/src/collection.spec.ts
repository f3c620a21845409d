import { ObjectId } from 'bson';
import { Store } from './store';

describe('Collection.plan', () => {
  const coll = new Store().db('t').create('c', {});
  coll.createIndex({ v: 2, key: { a: 1 }, name: 'a_1' });
  const id = new ObjectId();

  it('marks equality plans that are the whole filter as exact (no predicate needed)', () => {
    expect(coll.plan({ _id: id })).toMatchObject({ stage: 'IDHACK', exact: true });
    expect(coll.plan({ _id: { $in: [id] } })).toMatchObject({
      stage: 'IXSCAN',
      indexName: '_id_',
      exact: true,
    });
    expect(coll.plan({ a: 5 })).toMatchObject({ stage: 'IXSCAN', indexName: 'a_1', exact: true });
  });

  it('keeps the predicate when the filter has more than the indexed equality, or a range', () => {
    expect(coll.plan({ _id: id, b: 1 }).exact).toBe(false);
    expect(coll.plan({ a: 5, b: 1 }).exact).toBe(false);
    expect(coll.plan({ a: { $gt: 5 } }).exact).toBeUndefined();
    expect(coll.plan({ b: 1 })).toEqual({ stage: 'COLLSCAN', sorted: false });
  });
});
