import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import type { Types } from 'mongoose';
import { RefProp, SCHEMA_OPTIONS } from './common';

/** logs: log lines of steps (written when ODTP_LOGS_IN_DB=TRUE, or moved from legacy steps.logs). */
@Schema({ collection: 'logs', ...SCHEMA_OPTIONS })
export class Log {
  @RefProp('steps', 'the step that logged', { required: true })
  stepRef!: Types.ObjectId;

  @Prop({ type: Date, required: true, description: 'when the line was logged' })
  timestamp!: Date;

  @Prop({ type: String, nullable: true, description: 'level (DEBUG, INFO, ...)' })
  type?: string | null;

  @Prop({ type: String, required: true, description: 'the logged text (many lines joined)' })
  logstring!: string;

  @Prop({ type: Date, description: 'when the document was created' })
  created_at?: Date;
}

export const LogSchema = SchemaFactory.createForClass(Log);
