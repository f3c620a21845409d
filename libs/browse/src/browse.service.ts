import { Inject, Injectable, Module } from '@nestjs/common';
import { APP_CONFIG } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { EJSON, ObjectId } from 'bson';
import type { Document } from 'bson';
import { DatabaseService } from '@odtp/database';
import {
  COLLECTION_NAMES,
  derivedValidator,
  referencedId,
  referenceGraph,
  valuesAt as schemaValuesAt,
} from '@odtp/schema';
import type { SchemaOptions, ValidatorState } from '@odtp/schema';
import type { CollectionName, Edge } from '@odtp/schema';
import type { Filter } from 'mongodb';
import { badRequest, BrowseError, BrowseErrorCode } from './errors';
import { convertValue, CursorCodec, cursorSecret, fieldsOf } from './query-params';
import type { FieldInfo } from './query-params';

export const SORT_ORDERS = ['asc', 'desc'] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];
export const MAX_LIMIT = 200;
export const DEFAULT_LIMIT = 20;

export interface CollectionSummary {
  name: string;
  count: number;
  validator: ValidatorState;
  validationLevel: string | null;
  validationAction: string | null;
  indexes: { name: string; key: Document; unique: boolean }[];
}

export interface DocumentPage {
  items: Document[];
  /** Pass as `after` for the next page; null on the last page. */
  next: string | null;
}

export interface OutgoingReference {
  path: string;
  id: unknown;
  target: string;
  exists: boolean;
}

export interface IncomingReferences {
  from: string;
  path: string;
  count: number;
}

export interface DocumentView {
  document: Document;
  references: OutgoingReference[];
  incoming: IncomingReferences[];
}

export interface ListQuery {
  filters: Record<string, string>;
  sort?: string;
  order?: SortOrder;
  limit?: number;
  after?: string;
}

function isTarget(name: string): name is CollectionName {
  return (COLLECTION_NAMES as readonly string[]).includes(name);
}

function relaxed(doc: Document): Document {
  return EJSON.serialize(doc, { relaxed: true }) as Document;
}

/** Values at a dotted path, arrays expanded, nulls left out. */
function valuesAt(doc: unknown, path: string): unknown[] {
  return schemaValuesAt(doc, path).filter((v) => v !== null);
}

/** Read-only browsing of the target collections, with typed filters and reference resolution. */
@Injectable()
export class BrowseService {
  private readonly edges: Edge[] = referenceGraph();
  /** The validators of the application that runs on the database (what `schema apply` sets). */
  private readonly schemaOptions: SchemaOptions;
  private readonly fields: Map<string, FieldInfo[]>;
  private readonly cursors: CursorCodec;
  private readonly maxTimeMS: number;

  constructor(
    private readonly database: DatabaseService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.schemaOptions = { app: config.app, strictCollections: config.strictCollections };
    this.cursors = new CursorCodec(cursorSecret(config.browseCursorSecret, process.cwd()));
    this.maxTimeMS = config.queryTimeoutMs;
    this.fields = new Map(
      COLLECTION_NAMES.map((n) => [
        n,
        fieldsOf(derivedValidator(n, this.schemaOptions).$jsonSchema as Document),
      ]),
    );
  }

  private collection(name: string): CollectionName {
    if (!isTarget(name))
      throw new BrowseError(
        BrowseErrorCode.UnknownCollection,
        `unknown collection "${name}" (known: ${COLLECTION_NAMES.join(', ')})`,
      );
    return name;
  }

  async collections(): Promise<CollectionSummary[]> {
    const db = this.database.db();
    const infos = new Map((await db.listCollections().toArray()).map((c) => [c.name, c as Document]));
    const out: CollectionSummary[] = [];
    for (const name of COLLECTION_NAMES) {
      const info = infos.get(name);
      const options = (info?.options ?? {}) as Document;
      const applied = options.validator as Document | undefined;
      const derived = derivedValidator(name, this.schemaOptions);
      const validator = !applied
        ? 'missing'
        : EJSON.stringify(applied) === EJSON.stringify(derived)
          ? 'same'
          : 'differs';
      const indexes = info
        ? (await db.collection(name).indexes()).map((i) => ({
            name: i.name as string,
            key: i.key as Document,
            unique: i.unique === true,
          }))
        : [];
      out.push({
        name,
        count: info ? await db.collection(name).estimatedDocumentCount() : 0,
        validator,
        validationLevel: (options.validationLevel as string | undefined) ?? null,
        validationAction: (options.validationAction as string | undefined) ?? null,
        indexes,
      });
    }
    return out;
  }

  private field(collection: CollectionName, path: string): FieldInfo {
    if (path.includes('$')) throw badRequest(`field name must not contain "$" (got "${path}")`);
    const f = this.fields.get(collection)!.find((x) => x.path === path);
    if (!f) throw badRequest(`unknown field "${path}" for ${collection}`);
    return f;
  }

  async list(name: string, q: ListQuery): Promise<DocumentPage> {
    const collection = this.collection(name);
    const limit = q.limit ?? DEFAULT_LIMIT;
    const sortField = q.sort ?? '_id';
    if (sortField !== '_id') this.field(collection, sortField);
    const dir = q.order === 'desc' ? -1 : 1;
    const clauses: Document[] = [];
    for (const [path, raw] of Object.entries(q.filters)) {
      const f = this.field(collection, path);
      const value = convertValue(f, raw);
      // A reference the application may store as a 24-hex string matches in either form.
      clauses.push({
        [path]:
          value instanceof ObjectId && f.types.includes('string')
            ? { $in: [value, value.toHexString()] }
            : value,
      });
    }
    if (q.after) {
      const c = this.cursors.decode(q.after, sortField, q.order ?? 'asc');
      const op = dir === 1 ? '$gt' : '$lt';
      clauses.push(
        sortField === '_id'
          ? { _id: { [op]: c.id } }
          : { $or: [{ [sortField]: { [op]: c.value } }, { [sortField]: c.value, _id: { [op]: c.id } }] },
      );
    }
    const filter = (clauses.length ? { $and: clauses } : {}) as Filter<Document>;
    const sort: Document = sortField === '_id' ? { _id: dir } : { [sortField]: dir, _id: dir };
    const docs = await this.database
      .db()
      .collection(collection)
      .find(filter, { sort: sort as never, limit: limit + 1, maxTimeMS: this.maxTimeMS })
      .toArray();
    const page = docs.slice(0, limit);
    const last = page[page.length - 1];
    const next =
      docs.length > limit && last
        ? this.cursors.encode({
            sort: sortField,
            order: q.order ?? 'asc',
            value: sortField === '_id' ? last._id : (valuesAt(last, sortField)[0] ?? null),
            id: last._id,
          })
        : null;
    return { items: page.map(relaxed), next };
  }

  async get(name: string, rawId: string): Promise<DocumentView> {
    const collection = this.collection(name);
    if (!/^[0-9a-fA-F]{24}$/.test(rawId))
      throw badRequest(`"${rawId.slice(0, 40)}" is not a valid ObjectId (24 hex digits)`);
    const id = new ObjectId(rawId);
    const db = this.database.db();
    const document = await db.collection(collection).findOne({ _id: id }, { maxTimeMS: this.maxTimeMS });
    if (!document)
      throw new BrowseError(BrowseErrorCode.UnknownDocument, `no document ${rawId} in ${collection}`);
    const references: OutgoingReference[] = [];
    for (const edge of this.edges.filter((e) => e.from === collection)) {
      const values = valuesAt(document, edge.path);
      const ids = values.map(referencedId).filter((v): v is ObjectId => v !== undefined);
      const found = new Set(
        ids.length
          ? (
              await db
                .collection(edge.to)
                .find({ _id: { $in: ids } }, { projection: { _id: 1 }, maxTimeMS: this.maxTimeMS })
                .toArray()
            ).map((d) => (d._id as ObjectId).toHexString())
          : [],
      );
      for (const v of values) {
        const ref = referencedId(v);
        references.push({
          path: edge.path,
          id: v instanceof ObjectId ? v.toHexString() : v,
          target: edge.to,
          exists: ref !== undefined && found.has(ref.toHexString()),
        });
      }
    }
    const incoming: IncomingReferences[] = [];
    for (const edge of this.edges.filter((e) => e.to === collection)) {
      incoming.push({
        from: edge.from,
        path: edge.path,
        count: await db
          .collection(edge.from)
          .countDocuments({ [edge.path]: { $in: [id, id.toHexString()] } }, { maxTimeMS: this.maxTimeMS }),
      });
    }
    return { document: relaxed(document), references, incoming };
  }
}

@Module({ providers: [BrowseService], exports: [BrowseService] })
export class BrowseModule {}
