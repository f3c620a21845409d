import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { APP_LEVELS } from '@odtp/config';
import type { AppLevel } from '@odtp/config';
import { APPLY_STATUSES, VALIDATION_ACTIONS, VALIDATION_LEVELS, VALIDATOR_STATES } from '@odtp/schema';
import type { ValidationAction, ValidationLevel } from '@odtp/schema';
import { IsBoolean, IsIn, IsOptional } from 'class-validator';

export class RulesQueryDto {
  @ApiPropertyOptional({
    description:
      'the application level to derive the validators for (default: ODTP_APP, the application that runs on the database)',
    enum: APP_LEVELS,
  })
  @IsOptional()
  @IsIn(APP_LEVELS)
  rules?: AppLevel;
}

export class ApplySchemaDto extends RulesQueryDto {
  @ApiPropertyOptional({
    description: 'validationLevel to set on every collection',
    enum: VALIDATION_LEVELS,
    default: 'strict',
  })
  @IsOptional()
  @IsIn(VALIDATION_LEVELS)
  level?: ValidationLevel;

  @ApiPropertyOptional({
    description: 'validationAction to set on every collection',
    enum: VALIDATION_ACTIONS,
    default: 'error',
  })
  @IsOptional()
  @IsIn(VALIDATION_ACTIONS)
  action?: ValidationAction;

  @ApiPropertyOptional({
    description:
      'apply even while violations or duplicates exist, or the rules would reject what the application writes (a blocked unique index is still not created)',
    default: false,
  })
  @IsOptional()
  @IsBoolean()
  force?: boolean;

  @ApiPropertyOptional({ description: 'drop indexes the schema does not declare', default: false })
  @IsOptional()
  @IsBoolean()
  prune?: boolean;
}

export class EdgeDto {
  @ApiProperty({ description: 'collection holding the reference', example: 'steps' })
  from!: string;

  @ApiProperty({ description: 'dotted path of the reference', example: 'executionRef' })
  path!: string;

  @ApiProperty({ description: 'collection referenced', example: 'executions' })
  to!: string;

  @ApiProperty({ description: 'whether the path holds an array of references', example: false })
  many!: boolean;

  @ApiPropertyOptional({
    description: 'path in the target collection that must point back',
    example: 'steps',
  })
  inverse?: string;
}

export class IndexDto {
  @ApiProperty({ description: 'collection', example: 'users' })
  collection!: string;

  @ApiProperty({ description: 'index name', example: 'displayName_1' })
  name!: string;

  @ApiProperty({
    description: 'key pattern',
    example: { displayName: 1 },
    type: 'object',
    additionalProperties: { type: 'number' },
  })
  key!: Record<string, number>;

  @ApiProperty({ description: 'unique index', example: true })
  unique!: boolean;

  @ApiProperty({ description: 'why the index exists', example: 'uniqueness rule' })
  reason!: string;
}

export class SchemaOverviewDto {
  @ApiProperty({
    description: 'the application the schemas were derived for (ODTP_APP)',
    enum: APP_LEVELS,
  })
  app!: string;

  @ApiProperty({
    description: 'the collections of the target schema',
    type: [String],
    example: ['users', 'digitalTwins'],
  })
  collections!: string[];

  @ApiProperty({ description: 'the reference graph', type: [EdgeDto] })
  graph!: EdgeDto[];

  @ApiProperty({
    description: 'derived $jsonSchema per collection',
    type: 'object',
    additionalProperties: { type: 'object' },
  })
  schemas!: Record<string, unknown>;

  @ApiProperty({ description: 'derived indexes', type: [IndexDto] })
  indexes!: IndexDto[];
}

export class DuplicateGroupDto {
  @ApiProperty({ description: 'unique index the duplicates block', example: 'displayName_1' })
  index!: string;

  @ApiProperty({
    description: 'the duplicated key',
    example: { displayName: 'ann' },
    type: 'object',
    additionalProperties: true,
  })
  key!: Record<string, unknown>;

  @ApiProperty({
    description: '_ids of the documents sharing the key',
    type: [String],
    example: ['650000000000000000000011'],
  })
  ids!: unknown[];
}

export class CollectionPlanDto {
  @ApiProperty({ description: 'collection', example: 'users' })
  collection!: string;

  @ApiProperty({ description: 'the application level the validator was derived for', enum: APP_LEVELS })
  app!: string;

  @ApiProperty({
    description:
      'rules of that validator that would reject what the running application (ODTP_APP) writes; apply refuses them unless force',
    type: [String],
    example: ['digitalTwins.userRef: ODTP 0.5 writes a string'],
  })
  conflicts!: string[];

  @ApiProperty({ description: 'whether the collection exists', example: true })
  exists!: boolean;

  @ApiProperty({
    description: 'applied validator compared with the derived one',
    enum: VALIDATOR_STATES,
  })
  validator!: string;

  @ApiProperty({ description: 'current validationLevel', nullable: true, type: String, example: 'strict' })
  level!: string | null;

  @ApiProperty({ description: 'current validationAction', nullable: true, type: String, example: 'error' })
  action!: string | null;

  @ApiProperty({ description: 'documents violating the derived schema', example: 0 })
  violations!: number;

  @ApiProperty({ description: 'up to 10 _ids of violating documents', type: [String], example: [] })
  samples!: unknown[];

  @ApiProperty({
    description: 'derived indexes that do not exist',
    type: [String],
    example: ['displayName_1'],
  })
  missingIndexes!: string[];

  @ApiProperty({ description: 'existing indexes the schema does not declare', type: [String], example: [] })
  extraIndexes!: string[];

  @ApiProperty({ description: 'duplicates that block a missing unique index', type: [DuplicateGroupDto] })
  duplicates!: DuplicateGroupDto[];
}

export class ApplyResultDto {
  @ApiProperty({
    description: 'applied, or unchanged when there was nothing to do',
    enum: APPLY_STATUSES.filter((s) => s !== 'refused'),
  })
  status!: string;

  @ApiProperty({
    description: 'what was done',
    type: [String],
    example: ['users: created with validator (strict, error)'],
  })
  changes!: string[];

  @ApiProperty({ description: 'what --force could not fix', type: [String], example: [] })
  problems!: string[];

  @ApiProperty({ description: 'the plan apply started from', type: [CollectionPlanDto] })
  plan!: CollectionPlanDto[];
}
