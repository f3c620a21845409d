import type { Document } from 'bson';

/** Options of a collection and of one write: shared by the collection and its validator. */

export type ValidationLevel = 'off' | 'strict' | 'moderate';
export type ValidationAction = 'error' | 'warn';

export interface CollectionOptions {
  validator?: Document;
  validationLevel?: ValidationLevel;
  validationAction?: ValidationAction;
  /** The collection's default collation (operations without their own, and indexes created without one). */
  collation?: Document;
}

export interface WriteOptions {
  bypassDocumentValidation?: boolean;
  /** The session key of the transaction making the write, if any. */
  txn?: string;
  /** The write replaces the document whole (a change stream reports a replace, not an update). */
  replacement?: boolean;
}
