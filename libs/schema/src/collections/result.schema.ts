import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import type { Types } from 'mongoose';
import { CREATED_AT, DEPRECATED, RefArrayProp, RefProp, SCHEMA_OPTIONS, UPDATED_AT } from './common';

/** results: the overall result of an execution run: the outputs of its steps. */
@Schema({ collection: 'results', ...SCHEMA_OPTIONS })
export class Result {
  @RefProp('executions', 'the execution', { required: true })
  executionRef!: Types.ObjectId;

  @RefProp('digitalTwins', 'the digital twin', { nullable: true })
  digitalTwinRef?: Types.ObjectId | null;

  @RefArrayProp('outputs', 'the outputs of the run')
  output!: Types.ObjectId[];

  @Prop({ type: String, nullable: true, description: 'title' })
  title?: string | null;

  @Prop({ type: String, nullable: true, description: 'description' })
  description?: string | null;

  @Prop({ type: [String], default: [], description: 'tags' })
  tags!: string[];

  @Prop(CREATED_AT)
  created_at!: Date;

  @Prop(UPDATED_AT)
  updated_at!: Date;

  @Prop(DEPRECATED)
  deprecated!: boolean;
}

export const ResultSchema = SchemaFactory.createForClass(Result);
