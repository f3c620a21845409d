import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { APP_LEVELS } from '@odtp/config';
import { MIGRATION_STATES } from '@odtp/migrations';
import { IsBoolean, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

const CHANGES = {
  type: 'object',
  additionalProperties: { type: 'integer' },
  example: { versions: 9, results: 2 },
} as const;

export class MigrationProgressDto {
  @ApiProperty({ description: 'the step (from 0) of the migration' })
  step!: number;

  @ApiProperty({ description: 'the collection its pass was reading' })
  collection!: string;

  @ApiProperty({ description: 'documents that pass had read (the checkpoint)' })
  processed!: number;

  @ApiProperty({ description: 'when the checkpoint was written', type: String, format: 'date-time' })
  at!: Date;
}

export class MigrationStatusDto {
  @ApiProperty({
    description: 'file name of the migration',
    example: '20261126080300-rename-version-fields.ts',
  })
  name!: string;

  @ApiProperty({
    description:
      'applied; pending; held (pending, but the application that runs on the database, ODTP_APP, relies on what it changes: see heldBecause); changed (the file was edited after it was applied); missing (applied, but the file is gone); broken (the file cannot be loaded: see error; nothing runs until it is fixed)',
    enum: MIGRATION_STATES,
  })
  state!: string;

  @ApiProperty({
    description: 'the application level the state was computed for (ODTP_APP)',
    enum: APP_LEVELS,
  })
  app!: string;

  @ApiProperty({
    description: 'the oldest application level the migration is safe for (from what it declares it changes)',
    enum: APP_LEVELS,
  })
  requires!: string;

  @ApiPropertyOptional({
    description: 'why it is held: what the application writes or queries that the migration would change',
    type: [String],
    example: ['ODTP 0.5 writes executions.dt_id (a string)'],
  })
  heldBecause?: string[];

  @ApiPropertyOptional({
    description:
      'why a broken migration file cannot be loaded (a syntax error with its line, a missing export)',
    example: "Unexpected token ',' (20270101000000-mark.js:2)",
  })
  error?: string;

  @ApiPropertyOptional({
    description:
      'how far an online run (a migration that changes what applications write) got before it stopped: up resumes there',
    type: () => MigrationProgressDto,
  })
  progress?: MigrationProgressDto;

  @ApiPropertyOptional({ description: 'when it was applied', type: String, format: 'date-time' })
  appliedAt?: Date;

  @ApiProperty({
    description: 'sha256 of the file (of the applied file when it is missing)',
    example: 'a814360c…',
  })
  checksum!: string;

  @ApiPropertyOptional({
    description: 'the checksum recorded when it was applied, when the file changed since',
  })
  appliedChecksum?: string;

  @ApiPropertyOptional({ description: 'why the migration cannot be rolled back' })
  irreversible?: string;

  @ApiPropertyOptional({
    description: 'documents changed per collection (applied) or that would change (plan)',
    ...CHANGES,
  })
  changes?: Record<string, number>;

  @ApiPropertyOptional({
    description:
      'in a plan: what the migration would leave alone or decide, as "collection.path: what" -> count',
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { 'components.repoLink: no version names a repoLink: left unset': 1 },
  })
  notes?: Record<string, number>;
}

export class PlanMigrationsDto {
  @ApiPropertyOptional({
    description: 'plan up to and including this migration (file name, with or without .ts)',
    example: '20261126080900-fold-dt-id',
  })
  @IsOptional()
  @IsString()
  @Matches(/^\d{14}-[a-z0-9][a-z0-9-]*(\.ts)?$/, {
    message: 'to must be a migration name such as 20261126080900-fold-dt-id',
  })
  to?: string;
}

export class UpMigrationsDto extends PlanMigrationsDto {
  @ApiPropertyOptional({
    description: 'only report what would run and the documents it would change',
    default: false,
  })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;

  @ApiPropertyOptional({
    description: 'record the new checksums of edited applied migrations (nothing runs twice)',
    default: false,
  })
  @IsOptional()
  @IsBoolean()
  acceptChanged?: boolean;

  @ApiPropertyOptional({ description: 'go on although applied migrations have no file here', default: false })
  @IsOptional()
  @IsBoolean()
  allowMissing?: boolean;

  @ApiPropertyOptional({
    description: 'seconds to wait for another runner to release the lock (default 0: answer 409 at once)',
    minimum: 0,
    maximum: 60,
    default: 0,
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(60)
  waitSeconds?: number;
}

export class ReportSummaryDto {
  @ApiProperty({
    description: 'number of notes per kind ("collection.path: what was left or decided")',
    type: 'object',
    additionalProperties: { type: 'integer' },
  })
  counts!: Record<string, number>;

  @ApiProperty({
    description: 'the first notes: {collection, id, path, message}',
    type: 'array',
    items: { type: 'object' },
  })
  notes!: unknown[];

  @ApiProperty({ description: 'whether more notes exist than are listed' })
  truncated!: boolean;
}

export class AppliedMigrationDto {
  @ApiProperty({ description: 'file name of the migration' })
  name!: string;

  @ApiProperty({ description: 'documents changed (or, in a dry run, to change) per collection', ...CHANGES })
  changes!: Record<string, number>;

  @ApiProperty({ description: 'how long it ran, in milliseconds' })
  durationMs!: number;

  @ApiProperty({
    description: 'whether it ran in a transaction (committed together with its changelog entry)',
  })
  transaction!: boolean;

  @ApiProperty({ description: 'what the migration left alone or decided', type: ReportSummaryDto })
  report!: ReportSummaryDto;
}

export class HeldMigrationDto {
  @ApiProperty({ description: 'file name of the migration' })
  name!: string;

  @ApiProperty({ description: 'the oldest application level it is safe for', enum: APP_LEVELS })
  requires!: string;

  @ApiProperty({
    description: 'what the application writes or queries that the migration would change',
    type: [String],
  })
  heldBecause!: string[];
}

export class InterruptedRunDto {
  @ApiPropertyOptional({
    description:
      'the migration the run stopped in (absent: it stopped while waiting for the lock and nothing ran); nothing of it is half-written',
  })
  migration?: string;

  @ApiPropertyOptional({
    description: 'how far that migration got, when it runs online (the next up resumes there)',
    type: MigrationProgressDto,
  })
  progress?: MigrationProgressDto;
}

export class RunResultDto {
  @ApiProperty({
    description: 'the migrations run, in order (for a dry run: the ones that would run)',
    type: [AppliedMigrationDto],
  })
  migrations!: AppliedMigrationDto[];

  @ApiProperty({ description: 'whether this was a dry run' })
  dryRun!: boolean;

  @ApiProperty({ description: 'the application level the run respected (ODTP_APP)', enum: APP_LEVELS })
  app!: string;

  @ApiProperty({
    description: 'pending migrations not run because the application relies on what they change',
    type: [HeldMigrationDto],
  })
  held!: HeldMigrationDto[];

  @ApiPropertyOptional({
    description:
      'set when the run was stopped before it finished (the server shutting down): run up again to resume',
    type: InterruptedRunDto,
  })
  interrupted?: InterruptedRunDto;
}
