import { Prop, raw, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Schema as MongooseSchema } from 'mongoose';
import type { Types } from 'mongoose';
import { CREATED_AT, DEPRECATED, RefProp, SCHEMA_OPTIONS, UPDATED_AT } from './common';

export const OUTPUT_TYPES = ['output', 'snapshot'] as const;

/** outputs: files a step produced, stored in S3. */
@Schema({ collection: 'outputs', ...SCHEMA_OPTIONS })
export class Output {
  @RefProp('steps', 'the step that produced the output', { required: true })
  stepRef!: Types.ObjectId;

  @Prop({ type: String, required: true, enum: OUTPUT_TYPES, description: 'output or snapshot' })
  output_type!: string;

  @Prop({ type: String, nullable: true, description: 'S3 bucket' })
  s3_bucket?: string | null;

  @Prop({ type: String, nullable: true, description: 'S3 key (a prefix: odtp/<stepId>)' })
  s3_key?: string | null;

  @Prop({ type: String, nullable: true, description: 'file name' })
  file_name?: string | null;

  @Prop({ type: Number, min: 0, nullable: true, description: 'size in bytes' })
  file_size?: number | null;

  @Prop({ type: String, nullable: true, description: 'MIME or file type' })
  file_type?: string | null;

  @Prop(
    raw({
      description: { type: String, description: 'what the output holds' },
      tags: { type: [String], description: 'tags' },
      other_info: { type: MongooseSchema.Types.Mixed, description: 'anything else' },
    }),
  )
  metadata?: { description?: string; tags?: string[]; other_info?: unknown };

  @Prop(
    raw({
      public: { type: Boolean, description: 'readable by everyone' },
      authorized_users: {
        type: [{ type: MongooseSchema.Types.ObjectId, ref: 'users' }],
        description: 'users allowed to read the output',
      },
    }),
  )
  access_control?: { public?: boolean; authorized_users?: Types.ObjectId[] };

  @Prop(CREATED_AT)
  created_at!: Date;

  @Prop(UPDATED_AT)
  updated_at!: Date;

  @Prop(DEPRECATED)
  deprecated!: boolean;
}

export const OutputSchema = SchemaFactory.createForClass(Output);
