import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import type { Types } from 'mongoose';
import {
  COMPONENT_TYPES,
  CREATED_AT,
  DEPRECATED,
  RefArrayProp,
  SCHEMA_OPTIONS,
  STATUSES,
  UPDATED_AT,
  URL_PATTERN,
} from './common';

/** components: GitHub repositories of dockerised ODTP components. */
@Schema({ collection: 'components', ...SCHEMA_OPTIONS })
export class Component {
  @Prop({
    type: String,
    nullable: true,
    description: 'author as written in the manifest (null for v0.5 manifests)',
  })
  author?: string | null;

  @Prop({ type: String, required: true, minlength: 1, description: 'component name from the manifest' })
  componentName!: string;

  @Prop({
    type: String,
    required: true,
    match: new RegExp(URL_PATTERN),
    description: 'repository URL: the identity of the component, unique',
  })
  repoLink!: string;

  @Prop({ type: String, enum: STATUSES, description: 'lifecycle status' })
  status?: string;

  @Prop({ type: String, nullable: true, description: 'title' })
  title?: string | null;

  @Prop({
    type: String,
    enum: COMPONENT_TYPES,
    description: 'how the component runs: ephemeral, persistent or interactive',
  })
  type?: string;

  @Prop({ type: String, nullable: true, description: 'description' })
  description?: string | null;

  @Prop({ type: [String], default: [], description: 'tags' })
  tags!: string[];

  @RefArrayProp('versions', 'the versions of the component (inverse of versions.componentId)')
  versions!: Types.ObjectId[];

  @Prop(CREATED_AT)
  created_at!: Date;

  @Prop(UPDATED_AT)
  updated_at!: Date;

  @Prop(DEPRECATED)
  deprecated!: boolean;
}

export const ComponentSchema = SchemaFactory.createForClass(Component);
ComponentSchema.index({ repoLink: 1 }, { unique: true });
