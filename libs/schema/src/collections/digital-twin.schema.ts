import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import type { Types } from 'mongoose';
import {
  CREATED_AT,
  DEPRECATED,
  RefArrayProp,
  RefProp,
  SCHEMA_OPTIONS,
  STATUSES,
  UPDATED_AT,
} from './common';

/** digitalTwins: the projects users own; everything they run is in their executions. */
@Schema({ collection: 'digitalTwins', ...SCHEMA_OPTIONS })
export class DigitalTwin {
  @RefProp('users', 'the owning user (inverse of users.digitalTwins)', { required: true })
  userRef!: Types.ObjectId;

  @Prop({ type: String, required: true, minlength: 1, description: 'name, unique per user' })
  name!: string;

  @Prop({ type: String, enum: STATUSES, description: 'lifecycle status' })
  status?: string;

  @Prop({ type: Boolean, description: 'visible to every user' })
  public?: boolean;

  @RefArrayProp('executions', 'the executions of the twin (inverse of executions.digitalTwinRef)')
  executions!: Types.ObjectId[];

  @Prop(CREATED_AT)
  created_at!: Date;

  @Prop(UPDATED_AT)
  updated_at!: Date;

  @Prop(DEPRECATED)
  deprecated!: boolean;
}

export const DigitalTwinSchema = SchemaFactory.createForClass(DigitalTwin);
DigitalTwinSchema.index({ userRef: 1, name: 1 }, { unique: true });
