/**
 * The CRUD operations of MongoDB's unified test format, run through the official Node.js driver: each returns the
 * result in the shape the format's `expectResult` describes (driver result objects as they are; cursors read out).
 */
import type { Document } from 'bson';
import type { ChangeStream, ClientSession, Collection, Db, MongoClient } from 'mongodb';
import type { Entities } from './match';

export class UnsupportedOperation extends Error {}

type Args = Document;

/** The options of an operation: its arguments without the positional ones, with `session` resolved. */
function options(args: Args, positional: string[], entities: Entities): Document {
  const out: Document = {};
  for (const [k, v] of Object.entries(args)) {
    if (positional.includes(k)) continue;
    if (k === 'session') out.session = entities.get(String(v)) as ClientSession;
    else if (k === 'returnDocument') out.returnDocument = String(v).toLowerCase();
    else out[k] = v;
  }
  return out;
}

/**
 * `createChangeStream` on a client, database or collection: the stream is opened (its aggregate sent) before the
 * operation returns, as the format requires, so that later operations are seen by it.
 */
async function createChangeStream(
  target: MongoClient | Db | Collection,
  a: Args,
  entities: Entities,
): Promise<ChangeStream> {
  const stream = target.watch(
    (a.pipeline as Document[] | undefined) ?? [],
    options(a, ['pipeline'], entities),
  );
  const cursor = stream as unknown as { cursor?: { cursorInit?: () => Promise<void> } };
  if (typeof cursor.cursor?.cursorInit !== 'function')
    throw new UnsupportedOperation(
      'createChangeStream (this driver does not let a stream be opened eagerly)',
    );
  await cursor.cursor.cursorInit();
  return stream;
}

async function changeStreamOp(stream: ChangeStream, name: string): Promise<unknown> {
  switch (name) {
    case 'iterateUntilDocumentOrError':
      return stream.next();
    case 'iterateOnce':
      return stream.tryNext();
    case 'close':
      return stream.close();
    default:
      throw new UnsupportedOperation(`change stream operation ${name}`);
  }
}

async function collectionOp(coll: Collection, name: string, a: Args, entities: Entities): Promise<unknown> {
  const o = (...positional: string[]): Document => options(a, positional, entities);
  switch (name) {
    case 'createChangeStream':
      return createChangeStream(coll, a, entities);
    case 'insertOne':
      return coll.insertOne(a.document as Document, o('document'));
    case 'insertMany':
      return coll.insertMany(a.documents as Document[], o('documents'));
    case 'find':
      return coll.find(a.filter as Document, o('filter')).toArray();
    case 'findOne':
      return coll.findOne(a.filter as Document, o('filter'));
    case 'aggregate':
      return coll.aggregate(a.pipeline as Document[], o('pipeline')).toArray();
    case 'count':
      return coll.count(a.filter as Document, o('filter'));
    case 'countDocuments':
      return coll.countDocuments(a.filter as Document, o('filter'));
    case 'estimatedDocumentCount':
      return coll.estimatedDocumentCount(o());
    case 'distinct':
      return coll.distinct(String(a.fieldName), a.filter as Document, o('fieldName', 'filter'));
    case 'updateOne':
      return coll.updateOne(a.filter as Document, a.update as Document, o('filter', 'update'));
    case 'updateMany':
      return coll.updateMany(a.filter as Document, a.update as Document, o('filter', 'update'));
    case 'replaceOne':
      return coll.replaceOne(a.filter as Document, a.replacement as Document, o('filter', 'replacement'));
    case 'deleteOne':
      return coll.deleteOne(a.filter as Document, o('filter'));
    case 'deleteMany':
      return coll.deleteMany(a.filter as Document, o('filter'));
    case 'findOneAndUpdate':
      return coll.findOneAndUpdate(a.filter as Document, a.update as Document, o('filter', 'update'));
    case 'findOneAndReplace':
      return coll.findOneAndReplace(
        a.filter as Document,
        a.replacement as Document,
        o('filter', 'replacement'),
      );
    case 'findOneAndDelete':
      return coll.findOneAndDelete(a.filter as Document, o('filter'));
    case 'bulkWrite':
      return coll.bulkWrite(a.requests as never[], o('requests'));
    case 'createIndex':
      return coll.createIndex(a.keys as Document, o('keys'));
    case 'dropIndex':
      return coll.dropIndex(String(a.name), o('name'));
    case 'listIndexes':
      return coll.listIndexes(o()).toArray();
    case 'drop':
      return coll.drop(o());
    case 'rename':
      return coll.rename(String(a.to), o('to'));
    default:
      throw new UnsupportedOperation(`collection operation ${name}`);
  }
}

async function databaseOp(db: Db, name: string, a: Args, entities: Entities): Promise<unknown> {
  const o = (...positional: string[]): Document => options(a, positional, entities);
  switch (name) {
    case 'createChangeStream':
      return createChangeStream(db, a, entities);
    case 'aggregate':
      return db.aggregate(a.pipeline as Document[], o('pipeline')).toArray();
    case 'runCommand':
      return db.command(a.command as Document, o('command', 'commandName'));
    case 'createCollection':
      return db.createCollection(String(a.collection), o('collection'));
    case 'dropCollection':
      return db.dropCollection(String(a.collection), o('collection'));
    case 'listCollections':
      return db.listCollections(a.filter as Document, o('filter')).toArray();
    case 'listCollectionNames':
      return (
        await db.listCollections(a.filter as Document, { ...o('filter'), nameOnly: true }).toArray()
      ).map((c) => c.name);
    default:
      throw new UnsupportedOperation(`database operation ${name}`);
  }
}

async function clientOp(client: MongoClient, name: string, a: Args, entities: Entities): Promise<unknown> {
  switch (name) {
    case 'createChangeStream':
      return createChangeStream(client, a, entities);
    case 'listDatabases':
      return (
        await client
          .db('admin')
          .admin()
          .listDatabases(options(a, [], entities))
      ).databases;
    case 'listDatabaseNames':
      return (await client.db('admin').admin().listDatabases({ nameOnly: true })).databases.map(
        (d) => d.name,
      );
    default:
      throw new UnsupportedOperation(`client operation ${name}`);
  }
}

async function sessionOp(session: ClientSession, name: string): Promise<unknown> {
  switch (name) {
    case 'startTransaction':
      return session.startTransaction();
    case 'commitTransaction':
      return session.commitTransaction();
    case 'abortTransaction':
      return session.abortTransaction();
    case 'endSession':
      return session.endSession();
    default:
      throw new UnsupportedOperation(`session operation ${name}`);
  }
}

/** Runs operation `name` on the entity `object` (a client, database, collection or session). */
export function runEntityOperation(
  object: unknown,
  name: string,
  args: Args,
  entities: Entities,
): Promise<unknown> {
  const kind = (object as { constructor?: { name?: string } })?.constructor?.name;
  if (kind === 'Collection') return collectionOp(object as Collection, name, args, entities);
  if (kind === 'Db') return databaseOp(object as Db, name, args, entities);
  if (kind === 'MongoClient') return clientOp(object as MongoClient, name, args, entities);
  if (kind === 'ClientSession') return sessionOp(object as ClientSession, name);
  if (kind === 'ChangeStream') return changeStreamOp(object as ChangeStream, name);
  return Promise.reject(new UnsupportedOperation(`operation ${name} on ${kind ?? 'an unknown entity'}`));
}
