import { Prop } from '@nestjs/mongoose';
import { Schema as MongooseSchema } from 'mongoose';
import type { PropOptions } from '@nestjs/mongoose';

/**
 * Options odtp-db adds to mongoose path options: a description (every derived `$jsonSchema` rule carries
 * one) and whether the path may hold null.
 */
export interface OdtpPathOptions {
  description: string;
  nullable?: boolean;
}

export const COMPONENT_TYPES = ['ephemeral', 'persistent', 'interactive'] as const;
export const STATUSES = [
  'active',
  'inactive',
  'archived',
  'deprecated',
  'running',
  'completed',
  'failed',
  'pending',
] as const;
export const EMAIL_PATTERN = '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$';
export const URL_PATTERN = '^https?://\\S+$';
export const COMMIT_PATTERN = '^[0-9a-f]{7,40}$';

type Extra = Omit<PropOptions, 'type'> & Record<string, unknown>;

/** A reference to one document of `to`. */
export function RefProp(to: string, description: string, extra: Extra = {}): PropertyDecorator {
  return Prop({ type: MongooseSchema.Types.ObjectId, ref: to, description, ...extra });
}

/** An array of references to documents of `to`. */
export function RefArrayProp(to: string, description: string, extra: Extra = {}): PropertyDecorator {
  return Prop({
    type: [{ type: MongooseSchema.Types.ObjectId, ref: to }],
    default: [],
    description,
    ...extra,
  });
}

/** Options of the timestamp and flag paths every collection has. */
export const CREATED_AT = { type: Date, required: true, description: 'when the document was created' };
export const UPDATED_AT = { type: Date, required: true, description: 'when the document was last changed' };
export const DEPRECATED = {
  type: Boolean,
  default: false,
  description: 'hidden from new work but kept for history',
};

export const SCHEMA_OPTIONS = { versionKey: false, minimize: false, strict: false } as const;
