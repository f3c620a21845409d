export { EmbeddedMongo, MessageReader } from './server';
export type { EmbeddedMongoOptions } from './server';
export { CorruptDataError, DbPathLockedError } from './persistence';
export { compareBson, bsonTypeName } from './bson-order';
export { validateSchema } from './json-schema';
export { compileSchema } from './json-schema-compile';
