import { Decimal128, Long, MaxKey, MinKey, ObjectId, Timestamp } from 'bson';
import { bsonTypeName, compareBson, formatValue, keyOf, matchesBsonType } from './bson-order';

describe('compareBson', () => {
  it('compares Decimal128 and 64-bit integers by exact value', () => {
    const d = (s: string) => Decimal128.fromString(s);
    const cases: [unknown, unknown, number][] = [
      [d('0.1'), 0.1, -1], // the double 0.1 is 0.1000000000000000055511151231257827...
      [d('0.375'), 0.375, 0],
      [d('0.1000000000000000055511151231257828'), 0.1, 1],
      [d('0.1000000000000000055511151231257827'), 0.1, -1],
      [d('1.00000000000000000000001'), 1, 1],
      [d('1.0'), 1, 0],
      [d('1E+2'), 100, 0],
      [d('-0.5'), -0.5, 0],
      [d('-2.5'), d('-2.50'), 0],
      [d('NaN'), Number.NaN, 0],
      [d('NaN'), -Infinity, -1],
      [d('Infinity'), Infinity, 0],
      [Long.fromString('9007199254740993'), 9007199254740992, 1],
      [Long.fromString('9007199254740993'), Long.fromString('9007199254740993'), 0],
      [Long.fromString('9007199254740993'), d('9007199254740993'), 0],
      [3, 2.5, 1],
    ];
    expect(cases.map(([a, b]) => [compareBson(a, b), compareBson(b, a)])).toEqual(
      cases.map(([, , c]) => [c, c === 0 ? 0 : -c]),
    );
  });

  it('orders types as MongoDB does', () => {
    const values = [
      new MaxKey(),
      /re/,
      Timestamp.fromBits(1, 1),
      new Date(0),
      true,
      new ObjectId('650000000000000000000001'),
      [1],
      { a: 1 },
      'a',
      1,
      null,
      new MinKey(),
    ];
    const sorted = [...values].sort(compareBson).map(bsonTypeName);
    expect(sorted).toEqual([
      'minKey',
      'null',
      'int',
      'string',
      'object',
      'array',
      'objectId',
      'bool',
      'date',
      'timestamp',
      'regex',
      'maxKey',
    ]);
  });

  it('compares numbers by value across int, long, double and decimal', () => {
    expect(compareBson(Long.fromNumber(5), 5)).toBe(0);
    expect(compareBson(Decimal128.fromString('2.5'), 3)).toBe(-1);
    expect(compareBson(Number.NaN, -Infinity)).toBe(-1);
  });

  it('compares strings by code unit (no collation) and objects field by field', () => {
    expect(['b', 'B', 'a', 'A'].sort(compareBson)).toEqual(['A', 'B', 'a', 'b']);
    expect(compareBson({ a: 1, b: 2 }, { a: 1, b: 3 })).toBe(-1);
    expect(compareBson({ a: 1 }, { a: 1, b: 0 })).toBe(-1);
  });
});

describe('type names and keys', () => {
  it('names BSON types with $type aliases', () => {
    expect(
      [
        1,
        2.5,
        2 ** 40,
        'x',
        true,
        null,
        new Date(0),
        [],
        {},
        new ObjectId(),
        Long.fromNumber(1),
        Decimal128.fromString('1'),
      ].map(bsonTypeName),
    ).toEqual([
      'int',
      'double',
      'double',
      'string',
      'bool',
      'null',
      'date',
      'array',
      'object',
      'objectId',
      'long',
      'decimal',
    ]);
    expect(matchesBsonType(3, 'number')).toBe(true);
    expect(matchesBsonType(3, 16)).toBe(true);
    expect(matchesBsonType('3', 'number')).toBe(false);
  });

  it('gives equal keys to equal values and distinct keys otherwise', () => {
    expect(keyOf(1)).toBe(keyOf(Long.fromNumber(1)));
    expect(keyOf(new ObjectId('650000000000000000000001'))).toBe(
      keyOf(new ObjectId('650000000000000000000001')),
    );
    expect(keyOf('650000000000000000000001')).not.toBe(keyOf(new ObjectId('650000000000000000000001')));
    expect(keyOf(null)).toBe(keyOf(undefined));
    expect(keyOf({ a: 1, b: 2 })).not.toBe(keyOf({ b: 2, a: 1 }));
  });

  it('formats values as mongod prints them in duplicate key messages', () => {
    expect(formatValue({ a: 1, b: 'x', c: new ObjectId('650000000000000000000001'), d: null })).toBe(
      `{ a: 1, b: "x", c: ObjectId('650000000000000000000001'), d: null }`,
    );
  });
});
