/** Document validation of a collection: its validator, level and action, and mongod-shaped failure details. */
import type { Document } from 'bson';
import { CommandError, ErrorCode } from './errors';
import { checkSchema, validateSchema } from './json-schema';
import { compileFilter } from './query-engine';
import type { CollectionOptions, WriteOptions } from './collection-options';

export class CollectionValidator {
  private readonly validate: (doc: Document) => boolean;

  constructor(private readonly options: CollectionOptions & { validator: Document }) {
    if (options.validator.$jsonSchema !== undefined) checkSchema(options.validator.$jsonSchema);
    this.validate = compileFilter(options.validator);
  }

  /** Throws code 121 when `doc` fails the validator under the collection's level and action. */
  check(doc: Document, previous: Document | undefined, opts: WriteOptions): void {
    if (opts.bypassDocumentValidation) return;
    const level = this.options.validationLevel ?? 'strict';
    if (level === 'off') return;
    if (this.validate(doc)) return;
    if (previous && level === 'moderate' && !this.validate(previous)) return;
    if ((this.options.validationAction ?? 'error') === 'warn') return;
    throw new CommandError(ErrorCode.DocumentValidationFailure, 'Document failed validation', {
      errInfo: { failingDocumentId: doc._id, details: this.details(doc) },
    });
  }

  private details(doc: Document): Document {
    const validator = this.options.validator ?? {};
    const schema = validator.$jsonSchema as Document | undefined;
    if (schema && Object.keys(validator).length === 1) {
      const details: Document = { operatorName: '$jsonSchema' };
      if (schema.title !== undefined) details.title = schema.title;
      details.schemaRulesNotSatisfied = validateSchema(schema, doc);
      return details;
    }
    const clauses = Object.entries(validator)
      .filter(([k, v]) => !compileFilter({ [k]: v })(doc))
      .map(([k, v]) => {
        if (k === '$jsonSchema')
          return { operatorName: '$jsonSchema', schemaRulesNotSatisfied: validateSchema(v as Document, doc) };
        return { operatorName: k.startsWith('$') ? k : '$eq', specifiedAs: { [k]: v } };
      });
    return {
      operatorName: '$and',
      clausesNotSatisfied: clauses.map((details, index) => ({ index, details })),
    };
  }
}
