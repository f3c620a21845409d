import { Prop, raw, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Schema as MongooseSchema } from 'mongoose';
import type { Types } from 'mongoose';
import {
  COMMIT_PATTERN,
  COMPONENT_TYPES,
  CREATED_AT,
  DEPRECATED,
  RefProp,
  SCHEMA_OPTIONS,
  UPDATED_AT,
  URL_PATTERN,
} from './common';

/** versions: tagged commits of components, with the manifest fields of that commit. */
@Schema({ collection: 'versions', ...SCHEMA_OPTIONS })
export class Version {
  // Not required by the validator: the seed's shape carries the link only in component.componentId.
  // The auditor reports versions that no component reaches.
  @RefProp('components', 'the component this is a version of (inverse of components.versions)')
  componentId?: Types.ObjectId;

  @Prop(
    raw({
      componentId: {
        type: MongooseSchema.Types.ObjectId,
        ref: 'components',
        description: 'denormalised copy of componentId',
      },
      componentName: { type: String, description: 'denormalised component name' },
      repoLink: { type: String, match: new RegExp(URL_PATTERN), description: 'denormalised repository URL' },
      type: { type: String, enum: COMPONENT_TYPES, description: 'denormalised component type' },
    }),
  )
  component?: { componentId?: Types.ObjectId; componentName?: string; repoLink?: string; type?: string };

  @Prop({
    type: String,
    required: true,
    minlength: 1,
    description: 'git tag of the version, unique per component',
  })
  component_version!: string;

  @Prop({
    type: String,
    match: new RegExp(COMMIT_PATTERN),
    nullable: true,
    description: 'git commit hash (7-40 hex digits)',
  })
  commitHash?: string | null;

  @Prop({ type: String, nullable: true, description: 'ODTP version the component was written for' })
  odtp_version?: string | null;

  @Prop({ type: String, nullable: true, description: 'docker image of the version' })
  imageLink?: string | null;

  @Prop({ type: MongooseSchema.Types.Mixed, nullable: true, description: 'parameters from the manifest' })
  parameters?: unknown;

  @Prop({ type: String, nullable: true, description: 'title' })
  title?: string | null;

  @Prop({ type: String, nullable: true, description: 'description' })
  description?: string | null;

  @Prop({ type: String, enum: COMPONENT_TYPES, description: 'how the component runs' })
  type?: string;

  @Prop({ type: [String], default: [], description: 'tags' })
  tags!: string[];

  @Prop({ type: MongooseSchema.Types.Mixed, nullable: true, description: 'tools from the manifest' })
  tools?: unknown;

  @Prop({ type: String, nullable: true, description: 'licence from the manifest' })
  license?: string | null;

  @Prop({ type: MongooseSchema.Types.Mixed, nullable: true, description: 'ports from the manifest' })
  ports?: unknown;

  @Prop({ type: MongooseSchema.Types.Mixed, nullable: true, description: 'secrets from the manifest' })
  secrets?: unknown;

  @Prop({ type: MongooseSchema.Types.Mixed, nullable: true, description: 'devices from the manifest' })
  devices?: unknown;

  @Prop({ type: MongooseSchema.Types.Mixed, nullable: true, description: 'data inputs from the manifest' })
  'data-inputs'?: unknown;

  @Prop({ type: MongooseSchema.Types.Mixed, nullable: true, description: 'data outputs from the manifest' })
  'data-outputs'?: unknown;

  @Prop({
    type: MongooseSchema.Types.Mixed,
    nullable: true,
    description: 'docker build arguments from the manifest',
  })
  'build-args'?: unknown;

  @Prop(CREATED_AT)
  created_at!: Date;

  @Prop(UPDATED_AT)
  updated_at!: Date;

  @Prop(DEPRECATED)
  deprecated!: boolean;
}

export const VersionSchema = SchemaFactory.createForClass(Version);
VersionSchema.index({ componentId: 1, component_version: 1 }, { unique: true });
