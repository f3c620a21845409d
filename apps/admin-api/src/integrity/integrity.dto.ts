import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateBy,
} from 'class-validator';
import {
  AUDIT_TRIGGERS,
  CHECKS,
  JOB_STATUSES,
  ORPHAN_POLICIES,
  REPAIR_KINDS,
  SEVERITIES,
} from '@odtp/integrity';
import type { OrphanPolicy } from '@odtp/integrity';
import { APP_LEVELS } from '@odtp/config';
import type { CheckName } from '@odtp/integrity';
import { COLLECTION_NAMES } from '@odtp/schema';

export class StartAuditDto {
  @ApiPropertyOptional({ description: 'checks to run (default: all)', enum: CHECKS, isArray: true })
  @IsOptional()
  @IsArray()
  @ArrayUnique()
  @IsIn(CHECKS, { each: true })
  checks?: CheckName[];

  @ApiPropertyOptional({
    description: 'reference values resolved per $in query',
    minimum: 1,
    maximum: 10000,
    default: 1000,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10000)
  batchSize?: number;

  @ApiPropertyOptional({ description: 'sample ids kept per finding', minimum: 0, maximum: 1000, default: 20 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1000)
  sampleLimit?: number;
}

export class AuditSummaryDto {
  @ApiProperty({ description: 'violations in findings of severity error' })
  errors!: number;

  @ApiProperty({ description: 'violations in findings of severity warning (orphans)' })
  warnings!: number;

  @ApiProperty({ description: 'documents read, each collection counted once' })
  scanned!: number;
}

export class AuditProgressDto {
  @ApiPropertyOptional({ description: 'collection being read' })
  collection?: string;

  @ApiProperty({ description: 'documents read so far' })
  scanned!: number;
}

export class AuditJobDto {
  @ApiProperty({ description: 'audit id (also the id of its report)' })
  id!: string;

  @ApiProperty({ description: 'job state', enum: JOB_STATUSES })
  status!: string;

  @ApiProperty({ description: 'when it started', type: String, format: 'date-time' })
  startedAt!: Date;

  @ApiPropertyOptional({ description: 'when it ended', type: String, format: 'date-time' })
  finishedAt?: Date;

  @ApiProperty({ description: 'who started it', enum: AUDIT_TRIGGERS })
  trigger!: string;

  @ApiProperty({ description: 'progress of the scan', type: AuditProgressDto })
  progress!: AuditProgressDto;

  @ApiPropertyOptional({ description: 'why it failed' })
  error?: string;

  @ApiPropertyOptional({ description: 'totals, once done', type: AuditSummaryDto })
  summary?: AuditSummaryDto;
}

export class FindingDto {
  @ApiProperty({ description: 'the check', enum: CHECKS })
  check!: string;

  @ApiProperty({
    description: 'error, or warning (orphans, and type drift where the application itself writes id strings)',
    enum: SEVERITIES,
  })
  severity!: string;

  @ApiProperty({ description: 'collection checked', example: 'steps' })
  collection!: string;

  @ApiProperty({
    description: 'reference path, unique key, parents (orphans) or $jsonSchema',
    example: 'executionRef',
  })
  path!: string;

  @ApiPropertyOptional({
    description: 'referenced collection (broken-inverse: the path that must point back)',
    example: 'executions',
  })
  target?: string;

  @ApiProperty({ description: 'documents of the collection looked at' })
  scanned!: number;

  @ApiProperty({
    description: 'violations found (reference values for reference checks, documents otherwise)',
  })
  violations!: number;

  @ApiPropertyOptional({ description: 'distinct missing ids (dangling-reference)' })
  distinctMissing?: number;

  @ApiProperty({ description: '_id of offending documents (capped)', type: 'array', items: {} })
  samples!: unknown[];

  @ApiProperty({ description: 'time spent on the pass that produced it, in milliseconds' })
  durationMs!: number;

  @ApiPropertyOptional({
    description:
      'why the check did not run (an orphan check that would scan an unindexed collection too often)',
  })
  skipped?: string;

  @ApiPropertyOptional({
    description: 'what the finding means for the application that runs on the database (ODTP_APP)',
  })
  note?: string;
}

export class AuditReportSummaryDto {
  @ApiProperty({ description: 'report id' })
  id!: string;

  @ApiProperty({ description: 'the application level the audit respected (ODTP_APP)', enum: APP_LEVELS })
  app!: string;

  @ApiProperty({ description: 'when the audit started', type: String, format: 'date-time' })
  startedAt!: Date;

  @ApiProperty({ description: 'when it ended', type: String, format: 'date-time' })
  finishedAt!: Date;

  @ApiProperty({ description: 'database audited' })
  database!: string;

  @ApiProperty({ description: 'totals', type: AuditSummaryDto })
  summary!: AuditSummaryDto;
}

export class AuditReportDto extends AuditReportSummaryDto {
  @ApiProperty({
    description: 'one finding per check and edge or collection, including those with 0 violations',
    type: [FindingDto],
  })
  findings!: FindingDto[];
}

export class PageQueryDto {
  @ApiPropertyOptional({ description: 'page number, from 1', minimum: 1, default: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  page?: number;

  @ApiPropertyOptional({ description: 'items per page', minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  pageSize?: number;
}

export class FindingsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'only findings of this check', enum: CHECKS })
  @IsOptional()
  @IsIn(CHECKS)
  check?: CheckName;

  @ApiPropertyOptional({ description: 'only findings of this collection', enum: COLLECTION_NAMES })
  @IsOptional()
  @IsIn(COLLECTION_NAMES)
  collection?: string;
}

export class ReportPageDto {
  @ApiProperty({ description: 'reports, newest first (without findings)', type: [AuditReportSummaryDto] })
  items!: AuditReportSummaryDto[];

  @ApiProperty({ description: 'page number' })
  page!: number;

  @ApiProperty({ description: 'items per page' })
  pageSize!: number;

  @ApiProperty({ description: 'reports kept in all' })
  total!: number;
}

export class FindingPageDto {
  @ApiProperty({ description: 'findings of the page', type: [FindingDto] })
  items!: FindingDto[];

  @ApiProperty({ description: 'page number' })
  page!: number;

  @ApiProperty({ description: 'items per page' })
  pageSize!: number;

  @ApiProperty({ description: 'findings matching the filter' })
  total!: number;
}

export class StartRepairDto {
  @ApiProperty({ description: 'the audit report to repair from (the database is re-audited for its checks)' })
  @IsString()
  @Matches(/^[0-9a-f-]{36}$/, { message: 'reportId must be an audit report id' })
  reportId!: string;

  @ApiPropertyOptional({
    description: 'only plan (default true); false applies, journaling every before-image',
    default: true,
  })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;

  @ApiPropertyOptional({
    description: 'what to do with orphans per collection (default quarantine into <collection>_quarantine)',
    example: { outputs: 'keep', logs: 'delete' },
    type: 'object',
    additionalProperties: { type: 'string', enum: [...ORPHAN_POLICIES] },
  })
  @IsOptional()
  @ValidateBy({
    name: 'orphanPolicies',
    validator: {
      validate: (v: unknown) =>
        typeof v === 'object' &&
        v !== null &&
        !Array.isArray(v) &&
        Object.entries(v).every(
          ([k, p]) =>
            (COLLECTION_NAMES as readonly string[]).includes(k) &&
            (ORPHAN_POLICIES as readonly unknown[]).includes(p),
        ),
      defaultMessage: () => 'orphans must map collection names to quarantine, delete or keep',
    },
  })
  orphans?: Record<string, OrphanPolicy>;
}

export class RepairActionDto {
  @ApiProperty({
    description:
      'what is done: pull/unset a reference, convert id strings to ObjectIds, stringify ObjectIds the application finds by id strings, add-to-set/set the missing side of a two-way link, quarantine/delete an orphan, rename-key a duplicate; manual ones are left to a person',
    enum: REPAIR_KINDS,
  })
  kind!: string;

  @ApiProperty({ description: 'the check whose violation it repairs', enum: CHECKS })
  check!: string;

  @ApiProperty({ description: 'collection of the changed document' })
  collection!: string;

  @ApiProperty({ description: '_id of the changed document' })
  docId!: unknown;

  @ApiPropertyOptional({ description: 'path changed' })
  path?: string;

  @ApiPropertyOptional({ description: 'value pulled, set or added' })
  value?: unknown;

  @ApiProperty({ description: 'why' })
  reason!: string;
}

export class RepairRunDto {
  @ApiProperty({ description: 'run id (for undo)' })
  runId!: string;

  @ApiProperty({ description: 'whether nothing was changed' })
  dryRun!: boolean;

  @ApiProperty({
    description: 'actions per round (each round re-audits what the previous changed)',
    type: 'array',
    items: { type: 'array', items: { $ref: '#/components/schemas/RepairActionDto' } },
  })
  rounds!: RepairActionDto[][];

  @ApiProperty({ description: 'actions applied' })
  applied!: number;

  @ApiProperty({
    description: 'actions left to a person (manual, or kept because still referenced)',
    type: [RepairActionDto],
  })
  skipped!: RepairActionDto[];

  @ApiProperty({ description: 'error violations left for the repaired checks' })
  remainingErrors!: number;
}

export class UndoResultDto {
  @ApiProperty({ description: 'documents restored from their before-images' })
  restored!: number;
}
