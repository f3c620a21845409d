import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, Matches, ValidateBy } from 'class-validator';
import {
  CHECKS,
  JOB_STATUSES,
  JOB_TRIGGERS,
  ORPHAN_POLICIES,
  parseOrphans,
  REPAIR_KINDS,
  STORED_ACTIONS_LIMIT,
} from '@odtp/integrity';
import type { OrphanPolicy } from '@odtp/integrity';
import { COLLECTION_NAMES } from '@odtp/schema';
import { JobInstanceDto } from './integrity.dto';

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
      // the lib's own rule (the CLI's --orphans goes through it too)
      validate: (v: unknown) => {
        if (typeof v !== 'object' || v === null) return false;
        try {
          parseOrphans(v);
          return true;
        } catch {
          return false;
        }
      },
      defaultMessage: () =>
        `orphans must map collection names (${COLLECTION_NAMES.join(', ')}) to ${ORPHAN_POLICIES.join(', ')}`,
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

export class RepairProgressDto {
  @ApiProperty({ description: 'rounds done (a round re-audits what the previous one changed)' })
  round!: number;

  @ApiProperty({ description: 'changes applied so far' })
  applied!: number;
}

export class RepairRunSummaryDto {
  @ApiProperty({ description: 'run id (for GET, DELETE and undo)' })
  runId!: string;

  @ApiProperty({ description: 'the audit report it repairs from' })
  reportId!: string;

  @ApiProperty({ description: 'a plan only: nothing is changed' })
  dryRun!: boolean;

  @ApiProperty({
    description:
      'running; done; failed; cancelled; interrupted (its process shut down, SIGTERM or Ctrl-C, between two changes: what it changed is journaled, undo restores it); abandoned (its process died: no heartbeat for JOB_LEASE_TTL_MS)',
    enum: JOB_STATUSES,
  })
  status!: string;

  @ApiProperty({ description: 'who started it', enum: JOB_TRIGGERS })
  trigger!: string;

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

  @ApiPropertyOptional({
    description: 'when someone asked to cancel it (the instance running it stops at its next heartbeat)',
    type: String,
    format: 'date-time',
  })
  cancelRequestedAt?: Date;

  @ApiPropertyOptional({ description: 'when it ended', type: String, format: 'date-time' })
  finishedAt?: Date;

  @ApiProperty({ description: 'progress so far', type: RepairProgressDto })
  progress!: RepairProgressDto;

  @ApiProperty({ description: 'actions planned over all rounds (applied unless dryRun), once done' })
  actions!: number;

  @ApiProperty({ description: 'actions left to a person, once done' })
  skippedActions!: number;

  @ApiPropertyOptional({ description: 'error violations left for the repaired checks, once done' })
  remainingErrors?: number;

  @ApiPropertyOptional({
    description:
      'why it failed, was cancelled, interrupted or abandoned (no internal detail: see the server log)',
  })
  error?: string;

  @ApiPropertyOptional({ description: 'when it was undone', type: String, format: 'date-time' })
  undoneAt?: Date;
}

export class RepairRunRecordDto extends RepairRunSummaryDto {
  @ApiProperty({
    description: `actions per round (at most ${STORED_ACTIONS_LIMIT} actions are kept with skipped; see truncated)`,
    type: 'array',
    items: { type: 'array', items: { $ref: '#/components/schemas/RepairActionDto' } },
  })
  rounds!: RepairActionDto[][];

  @ApiProperty({
    description: 'actions left to a person (manual, or kept because still referenced)',
    type: [RepairActionDto],
  })
  skipped!: RepairActionDto[];

  @ApiProperty({ description: `whether actions beyond the first ${STORED_ACTIONS_LIMIT} were left out` })
  truncated!: boolean;
}

export class RepairRunPageDto {
  @ApiProperty({
    description: 'repair runs, newest first (without their actions)',
    type: [RepairRunSummaryDto],
  })
  items!: RepairRunSummaryDto[];

  @ApiProperty({ description: 'page number' })
  page!: number;

  @ApiProperty({ description: 'items per page' })
  pageSize!: number;

  @ApiProperty({ description: 'repair runs kept in all' })
  total!: number;
}

export class UndoRepairDto {
  @ApiPropertyOptional({
    description:
      'restore documents changed since the run too (their later changes are lost); without it such conflicts refuse the whole undo (409)',
    default: false,
  })
  @IsOptional()
  @IsBoolean()
  force?: boolean;
}

export class UndoConflictDto {
  @ApiProperty({ description: 'collection of the document' })
  collection!: string;

  @ApiProperty({ description: '_id of the document' })
  docId!: unknown;

  @ApiProperty({ description: 'why undo would overwrite something' })
  reason!: string;
}

export class UndoResultDto {
  @ApiProperty({ description: 'documents restored from their journaled before-images' })
  restored!: number;

  @ApiProperty({
    description: 'documents changed since the run that force restored anyway (empty without force)',
    type: [UndoConflictDto],
  })
  conflicts!: UndoConflictDto[];
}
