import { createHash } from 'node:crypto';
import { ObjectId } from 'bson';
import type { Document } from 'bson';
import type { CollectionName } from '@odtp/schema';
import { DomainError, HTTP } from '@odtp/errors';

/** The ObjectId of a seeded document: sha1 of "<collection>:<natural key>", first 12 bytes. */
export function naturalKeyId(collection: string, key: string): ObjectId {
  return new ObjectId(createHash('sha1').update(`${collection}:${key}`).digest('hex').slice(0, 24));
}

/** A reference to another seeded document by its natural key, resolved to its ObjectId when loading. */
export class SeedRef {
  constructor(
    readonly collection: CollectionName,
    readonly key: string,
  ) {}
}

export function ref(collection: CollectionName, key: string): SeedRef {
  return new SeedRef(collection, key);
}

export interface SeedDocument {
  /** Natural key: unique within the collection; the document's _id derives from it. */
  key: string;
  doc: Document;
}

/** One seed file: documents of one collection. */
export interface SeedFile {
  file: string;
  collection: CollectionName;
  documents: SeedDocument[];
}

export class SeedError extends DomainError {
  constructor(
    readonly file: string,
    readonly documentKey: string,
    readonly field: string,
    problem: string,
  ) {
    super(
      { code: 'INVALID_SEED', httpStatus: HTTP.badRequest, exitCode: 1 },
      `${file}: document "${documentKey}", field ${field}: ${problem}`,
    );
  }
}
