import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayUnique, IsArray, IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { AUDIT_TRIGGERS, CHECKS, JOB_STATUSES, SEVERITIES } from '@odtp/integrity';
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
