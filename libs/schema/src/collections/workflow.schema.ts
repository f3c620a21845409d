import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import type { Types } from 'mongoose';
import { CREATED_AT, DEPRECATED, RefArrayProp, SCHEMA_OPTIONS, UPDATED_AT } from './common';

/** workflows (ODTP v0.5): ordered lists of component versions, reused by executions. */
@Schema({ collection: 'workflows', ...SCHEMA_OPTIONS })
export class Workflow {
  @Prop({ type: String, nullable: true, description: 'name' })
  name?: string | null;

  @RefArrayProp('versions', 'the component versions, in step order')
  versions!: Types.ObjectId[];

  @Prop(CREATED_AT)
  created_at!: Date;

  @Prop(UPDATED_AT)
  updated_at!: Date;

  @Prop(DEPRECATED)
  deprecated!: boolean;
}

export const WorkflowSchema = SchemaFactory.createForClass(Workflow);
