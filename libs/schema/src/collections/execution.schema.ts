import { Prop, raw, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Schema as MongooseSchema } from 'mongoose';
import type { Types } from 'mongoose';
import { CREATED_AT, DEPRECATED, RefArrayProp, RefProp, SCHEMA_OPTIONS, UPDATED_AT } from './common';

/** executions: runnable workflows of a digital twin; one step per component version. */
@Schema({ collection: 'executions', ...SCHEMA_OPTIONS })
export class Execution {
  @RefProp('digitalTwins', 'the digital twin (inverse of digitalTwins.executions)', { required: true })
  digitalTwinRef!: Types.ObjectId;

  @RefProp('workflows', 'the workflow the execution was created from', { nullable: true })
  workflow_id?: Types.ObjectId | null;

  @Prop({ type: String, required: true, minlength: 1, description: 'title, unique per digital twin' })
  title!: string;

  @Prop({ type: String, nullable: true, description: 'description' })
  description?: string | null;

  @Prop({ type: [String], default: [], description: 'tags' })
  tags!: string[];

  @Prop(
    raw({
      workflowExecutor: { type: String, description: 'executor name (barfi, odtpwf)' },
      workflowExecutorVersion: { type: String, description: 'executor version' },
      component_versions: {
        type: [{ type: MongooseSchema.Types.ObjectId, ref: 'versions' }],
        description: 'the component versions, in step order',
        // The seed's draft wrote {version: ObjectId} elements; the migrations turn them into plain ids.
        itemAlternatives: [
          {
            bsonType: 'object',
            required: ['version'],
            properties: { version: { bsonType: 'objectId', description: 'the version' } },
          },
        ],
      },
      workflowExecutorSchema: { type: MongooseSchema.Types.Mixed, description: 'executor-specific schema' },
    }),
  )
  workflowSchema?: {
    workflowExecutor?: string;
    workflowExecutorVersion?: string;
    component_versions?: Types.ObjectId[];
    workflowExecutorSchema?: unknown;
  };

  @Prop({ type: Date, nullable: true, description: 'when the run started (null until run)' })
  start_timestamp?: Date | null;

  @Prop({ type: Date, nullable: true, description: 'when the run ended (null until run)' })
  end_timestamp?: Date | null;

  @RefArrayProp('steps', 'the steps, in order (inverse of steps.executionRef)')
  steps!: Types.ObjectId[];

  @Prop({ type: String, nullable: true, description: 'folder the execution runs in' })
  execution_path?: string | null;

  // Not required: the seed's executions have none, and v0.4 wrote createdAt/updatedAt (renamed by a migration).
  @Prop({ ...CREATED_AT, required: false })
  created_at?: Date;

  @Prop({ ...UPDATED_AT, required: false })
  updated_at?: Date;

  @Prop(DEPRECATED)
  deprecated!: boolean;
}

export const ExecutionSchema = SchemaFactory.createForClass(Execution);
ExecutionSchema.index({ digitalTwinRef: 1, title: 1 }, { unique: true });
