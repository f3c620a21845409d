import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Schema as MongooseSchema } from 'mongoose';
import type { Types } from 'mongoose';
import { COMPONENT_TYPES, CREATED_AT, DEPRECATED, RefProp, SCHEMA_OPTIONS, UPDATED_AT } from './common';

/** steps: one component version run inside an execution. */
@Schema({ collection: 'steps', ...SCHEMA_OPTIONS })
export class Step {
  @RefProp('executions', 'the execution (inverse of executions.steps)', { required: true })
  executionRef!: Types.ObjectId;

  @RefProp('versions', 'the component version the step runs', { required: true })
  component_version!: Types.ObjectId;

  @Prop({ type: Date, nullable: true, description: 'when the step was created or last ran' })
  timestamp?: Date | null;

  @Prop({ type: Date, nullable: true, description: 'when the step started' })
  start_timestamp?: Date | null;

  @Prop({ type: Date, nullable: true, description: 'when the step ended' })
  end_timestamp?: Date | null;

  @Prop({ type: String, enum: COMPONENT_TYPES, description: 'how the step runs' })
  type?: string;

  @Prop({ type: MongooseSchema.Types.Mixed, nullable: true, description: 'inputs of the step' })
  inputs?: unknown;

  @Prop({ type: MongooseSchema.Types.Mixed, nullable: true, description: 'outputs of the step' })
  outputs?: unknown;

  @Prop({ type: MongooseSchema.Types.Mixed, nullable: true, description: 'parameter values (environment)' })
  parameters?: unknown;

  @Prop({ type: MongooseSchema.Types.Mixed, nullable: true, description: 'port mappings ("host:container")' })
  ports?: unknown;

  @Prop({
    type: MongooseSchema.Types.Mixed,
    nullable: true,
    description: 'false, or the path of a secrets file',
  })
  secrets?: unknown;

  @Prop({ type: Boolean, nullable: true, description: 'whether the step is run' })
  run_step?: boolean | null;

  @Prop({
    type: MongooseSchema.Types.Mixed,
    nullable: true,
    description: 'error flag or message of the last run',
  })
  error?: unknown;

  @Prop({ type: String, nullable: true, description: 'output of docker (unbounded)' })
  msg?: string | null;

  @RefProp('outputs', 'the latest output of the step', { nullable: true })
  output?: Types.ObjectId | null;

  @Prop({ ...CREATED_AT, required: false })
  created_at?: Date;

  @Prop({ ...UPDATED_AT, required: false })
  updated_at?: Date;

  @Prop(DEPRECATED)
  deprecated!: boolean;
}

export const StepSchema = SchemaFactory.createForClass(Step);
