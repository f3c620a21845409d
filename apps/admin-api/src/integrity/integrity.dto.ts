import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayNotEmpty, ArrayUnique, IsArray, IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import {
  AUDIT_LIMITS,
  CHECKS,
  JOB_STATUSES,
  JOB_TRIGGERS,
  READ_PREFERENCES,
  SEVERITIES,
} from '@odtp/integrity';
import { APP_LEVELS, AUDIT_MODES } from '@odtp/config';
import type { CheckName, JobStatus } from '@odtp/integrity';
import { COLLECTION_NAMES } from '@odtp/schema';
import { LiveSectionDto } from './live.dto';

const { batchSize: BATCH, sampleLimit: SAMPLES } = AUDIT_LIMITS;

/** The limits are the lib's (AUDIT_LIMITS), which parses the request again: the CLI's flags obey the same rules. */
export class StartAuditDto {
  @ApiPropertyOptional({ description: 'checks to run (default: all)', enum: CHECKS, isArray: true })
  @IsOptional()
  @IsArray()
  @ArrayNotEmpty()
  @ArrayUnique()
  @IsIn(CHECKS, { each: true })
  checks?: CheckName[];

  @ApiPropertyOptional({
    description: 'reference values resolved per $in query',
    minimum: BATCH.min,
    maximum: BATCH.max,
    default: BATCH.default,
  })
  @IsOptional()
  @IsInt()
  @Min(BATCH.min)
  @Max(BATCH.max)
  batchSize?: number;

  @ApiPropertyOptional({
    description: 'sample ids kept per finding',
    minimum: SAMPLES.min,
    maximum: SAMPLES.max,
    default: SAMPLES.default,
  })
  @IsOptional()
  @IsInt()
  @Min(SAMPLES.min)
  @Max(SAMPLES.max)
  sampleLimit?: number;

  @ApiPropertyOptional({
    description: 'read preference of every query (e.g. secondaryPreferred on a replica set; default primary)',
    enum: READ_PREFERENCES,
  })
  @IsOptional()
  @IsIn(READ_PREFERENCES)
  readPreference?: (typeof READ_PREFERENCES)[number];

  @ApiPropertyOptional({
    description:
      'full (default): every document read; incremental: only what changed since the last complete audit (the change stream since its position), every other violation carried over; a full audit runs instead when it cannot (coverage.fullBecause says why). An incremental audit runs every check.',
    enum: AUDIT_MODES,
  })
  @IsOptional()
  @IsIn(AUDIT_MODES)
  mode?: (typeof AUDIT_MODES)[number];
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

export class JobInstanceDto {
  @ApiProperty({ description: 'random id of the process run that runs it (new at each start)' })
  id!: string;

  @ApiProperty({ description: 'host name of that process' })
  host!: string;

  @ApiProperty({ description: 'its process id' })
  pid!: number;
}

export class AuditRequestDto {
  @ApiPropertyOptional({ description: 'checks asked for (absent: all)', enum: CHECKS, isArray: true })
  checks?: string[];

  @ApiPropertyOptional({ description: 'reference values resolved per $in query' })
  batchSize?: number;

  @ApiPropertyOptional({ description: 'sample ids kept per finding' })
  sampleLimit?: number;

  @ApiPropertyOptional({ description: 'read preference', enum: READ_PREFERENCES })
  readPreference?: string;

  @ApiPropertyOptional({ description: 'mode asked (absent: full)', enum: AUDIT_MODES })
  mode?: string;
}

export class AuditCoverageDto {
  @ApiProperty({ description: 'the mode that ran', enum: AUDIT_MODES })
  mode!: string;

  @ApiPropertyOptional({ description: 'why a full audit ran where an incremental one was asked' })
  fullBecause?: string;

  @ApiPropertyOptional({
    description:
      'incremental: the report it started from (its violations carried over where nothing changed)',
  })
  base?: string;

  @ApiPropertyOptional({ description: 'incremental: change events read since the base' })
  events?: number;

  @ApiPropertyOptional({ description: 'incremental: documents inserted, updated or replaced since the base' })
  changed?: number;

  @ApiPropertyOptional({ description: 'incremental: documents deleted since the base' })
  deleted?: number;

  @ApiPropertyOptional({
    description:
      'incremental: documents audited (the changed ones, the documents referencing a changed or deleted one, duplicate partners, children a changed parent lists)',
  })
  checked?: number;

  @ApiPropertyOptional({
    description:
      'incremental: child collections whose orphans were checked in full (a parent deleted, replaced, or its list updated, may have dropped one)',
    enum: COLLECTION_NAMES,
    isArray: true,
  })
  orphansRechecked?: string[];

  @ApiProperty({ description: 'incremental audits since the last full one (0 for a full audit)' })
  sinceFull!: number;
}

export class BacklogCountDto {
  @ApiProperty({ description: 'collection' })
  collection!: string;

  @ApiProperty({ description: 'reference path' })
  path!: string;

  @ApiProperty({
    description: 'string: id strings; both: [ObjectId, id string] pairs',
    enum: ['string', 'both'],
  })
  form!: string;

  @ApiProperty({ description: 'reference values in that form' })
  values!: number;
}

export class UpgradeSectionDto {
  @ApiProperty({
    description:
      'values in a form the configured application (or the ODTP 0.5 release beside a transition) writes that is not the target: what the upgrade converts, not findings',
    type: [BacklogCountDto],
  })
  backlog!: BacklogCountDto[];

  @ApiPropertyOptional({
    description:
      "an incremental audit carries the backlog of the full audit it descends from: that report's id (absent: counted by this audit)",
  })
  asOf?: string;
}

/** An audit run, as every instance sees it: running, or how it ended. */
export class AuditRunDto {
  @ApiProperty({ description: 'audit id (also the id of its report)' })
  id!: string;

  @ApiProperty({
    description:
      'running; done (the report is in GET /audits/{id}); failed; cancelled; interrupted (its process shut down, SIGTERM or Ctrl-C, after finishing its current batch); abandoned (its process died: no heartbeat for JOB_LEASE_TTL_MS)',
    enum: JOB_STATUSES,
  })
  status!: string;

  @ApiPropertyOptional({
    description: 'who started it (absent on reports stored before audits were jobs)',
    enum: JOB_TRIGGERS,
  })
  trigger?: string;

  @ApiPropertyOptional({ description: 'the process that runs or ran it', type: JobInstanceDto })
  instance?: JobInstanceDto;

  @ApiProperty({ description: 'when it started', type: String, format: 'date-time' })
  startedAt!: Date;

  @ApiPropertyOptional({
    description: 'last sign of life of the process running it (renewed about every second while it runs)',
    type: String,
    format: 'date-time',
  })
  heartbeatAt?: Date;

  @ApiPropertyOptional({ description: 'when it ended', type: String, format: 'date-time' })
  finishedAt?: Date;

  @ApiProperty({ description: 'the application level the audit respects (ODTP_APP)', enum: APP_LEVELS })
  app!: string;

  @ApiProperty({ description: 'database audited' })
  database!: string;

  @ApiPropertyOptional({ description: 'what was asked', type: AuditRequestDto })
  request?: AuditRequestDto;

  @ApiPropertyOptional({
    description: 'progress of the scan (as of the last heartbeat)',
    type: AuditProgressDto,
  })
  progress?: AuditProgressDto;

  @ApiPropertyOptional({ description: 'why it failed, was cancelled, interrupted or abandoned' })
  error?: string;

  @ApiPropertyOptional({
    description: 'when someone asked to cancel it (the instance running it stops at its next heartbeat)',
    type: String,
    format: 'date-time',
  })
  cancelRequestedAt?: Date;

  @ApiPropertyOptional({ description: 'totals, once done', type: AuditSummaryDto })
  summary?: AuditSummaryDto;

  @ApiPropertyOptional({
    description: 'once done, under ODTP_APP other than target: the upgrade backlog per path',
    type: UpgradeSectionDto,
  })
  upgrade?: UpgradeSectionDto;

  @ApiPropertyOptional({
    description:
      'once done: which mode ran and what it covered (absent on reports stored before audits had modes)',
    type: AuditCoverageDto,
  })
  coverage?: AuditCoverageDto;
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

export class AuditReportDto extends AuditRunDto {
  @ApiProperty({ description: 'when it ended', type: String, format: 'date-time' })
  declare finishedAt: Date;

  @ApiProperty({ description: 'totals', type: AuditSummaryDto })
  declare summary: AuditSummaryDto;

  @ApiProperty({
    description: 'one finding per check and edge or collection, including those with 0 violations',
    type: [FindingDto],
  })
  findings!: FindingDto[];

  @ApiPropertyOptional({
    description: 'once a live watch has run on the database: its open findings (as GET /audits/live)',
    type: LiveSectionDto,
  })
  live?: LiveSectionDto;
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

export class AuditListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'only runs in this state', enum: JOB_STATUSES })
  @IsOptional()
  @IsIn(JOB_STATUSES)
  status?: JobStatus;
}

export class AuditRunPageDto {
  @ApiProperty({
    description:
      'audit runs from every instance, newest first: running ones with their progress, done ones with their summary (findings: GET /audits/{id}), and those that failed, were cancelled, interrupted or abandoned',
    type: [AuditRunDto],
  })
  items!: AuditRunDto[];

  @ApiProperty({ description: 'page number' })
  page!: number;

  @ApiProperty({ description: 'items per page' })
  pageSize!: number;

  @ApiProperty({
    description: 'runs matching, in all (AUDIT_RETENTION reports are kept, and as many other runs)',
  })
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
