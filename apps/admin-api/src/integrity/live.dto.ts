import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CHECKS, SEVERITIES } from '@odtp/integrity';
import type { LiveFinding, LiveSummary } from '@odtp/integrity';

export class LiveFindingDto {
  @ApiProperty({ description: 'the check', enum: CHECKS })
  check!: string;

  @ApiProperty({ description: 'error or warning', enum: SEVERITIES })
  severity!: string;

  @ApiProperty({ description: 'collection of the document', example: 'logs' })
  collection!: string;

  @ApiProperty({
    description: 'reference path, unique key, parents (orphans) or $jsonSchema',
    example: 'stepRef',
  })
  path!: string;

  @ApiPropertyOptional({ description: 'referenced collection', example: 'steps' })
  target?: string;

  @ApiProperty({ description: 'the document (its _id: an ObjectId as hex, other ids as JSON)' })
  docId!: string;

  @ApiPropertyOptional({ description: 'what is wrong, when the check says more than its name' })
  detail?: string;

  @ApiProperty({
    description: 'open, or resolved (the document was fixed or deleted)',
    enum: ['open', 'resolved'],
  })
  status!: string;

  @ApiProperty({ description: 'when the watch first saw it', type: String, format: 'date-time' })
  openedAt!: Date;
}

export class WatchStateDto {
  @ApiProperty({ description: 'change events the watch has read and recorded, since it first started' })
  events!: number;

  @ApiProperty({
    description: 'when the watch last recorded (a batch, or its position while idle)',
    type: String,
    format: 'date-time',
  })
  updatedAt!: Date;

  @ApiPropertyOptional({
    description: 'when the last change event was read',
    type: String,
    format: 'date-time',
  })
  lastEventAt?: Date;

  @ApiPropertyOptional({ description: 'the process watching (host and pid)' })
  watcher?: string;

  @ApiPropertyOptional({
    description:
      'when the change history no longer held the resume point (changes in between were not seen: run a full audit)',
    type: String,
    format: 'date-time',
  })
  gapAt?: Date;
}

export class LiveSectionDto {
  @ApiProperty({ description: 'open findings in all' })
  open!: number;

  @ApiProperty({
    description: 'open findings per check',
    type: 'object',
    additionalProperties: { type: 'number' },
    example: { 'dangling-reference': 2 },
  })
  byCheck!: Record<string, number>;

  @ApiProperty({
    description: 'the most recently opened findings, newest first (at most 20)',
    type: [LiveFindingDto],
  })
  recent!: LiveFindingDto[];

  @ApiPropertyOptional({
    description: 'the watch (absent: it never ran on this database)',
    type: WatchStateDto,
  })
  watch?: WatchStateDto;
}

function docIdText(id: unknown): string {
  if (typeof id === 'string') return id;
  const hex = (id as { toHexString?: () => string } | null)?.toHexString?.();
  return hex ?? JSON.stringify(id);
}

export function toLiveFindingDto(f: LiveFinding): LiveFindingDto {
  return {
    check: f.check,
    severity: f.severity,
    collection: f.collection,
    path: f.path,
    ...(f.target ? { target: f.target } : {}),
    docId: docIdText(f.docId),
    ...(f.detail ? { detail: f.detail } : {}),
    status: f.status,
    openedAt: f.openedAt,
  };
}

export function toLiveSectionDto(s: LiveSummary): LiveSectionDto {
  const state = s.state;
  return {
    open: s.open,
    byCheck: s.byCheck,
    recent: s.recent.map(toLiveFindingDto),
    ...(state
      ? {
          watch: {
            events: state.events,
            updatedAt: state.updatedAt,
            ...(state.lastEventAt ? { lastEventAt: state.lastEventAt } : {}),
            ...(state.instance ? { watcher: `${state.instance.host} pid ${state.instance.pid}` } : {}),
            ...(state.gapAt ? { gapAt: state.gapAt } : {}),
          },
        }
      : {}),
  };
}
