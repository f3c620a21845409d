import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import type { Types } from 'mongoose';
import { CREATED_AT, DEPRECATED, EMAIL_PATTERN, RefArrayProp, SCHEMA_OPTIONS, UPDATED_AT } from './common';

/** users: people who own and run digital twins. */
@Schema({ collection: 'users', ...SCHEMA_OPTIONS })
export class User {
  @Prop({ type: String, required: true, minlength: 1, description: 'display name, unique across users' })
  displayName!: string;

  @Prop({ type: String, match: new RegExp(EMAIL_PATTERN), nullable: true, description: 'e-mail address' })
  email?: string | null;

  @Prop({ type: String, nullable: true, description: 'GitHub account or repository of the user' })
  github?: string | null;

  @RefArrayProp('digitalTwins', 'the digital twins the user owns (inverse of digitalTwins.userRef)')
  digitalTwins!: Types.ObjectId[];

  @Prop(CREATED_AT)
  created_at!: Date;

  @Prop(UPDATED_AT)
  updated_at!: Date;

  @Prop(DEPRECATED)
  deprecated!: boolean;
}

export const UserSchema = SchemaFactory.createForClass(User);
UserSchema.index({ displayName: 1 }, { unique: true });
