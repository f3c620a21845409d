import { Heavy } from '../common/rate-limit.guard';
import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiInternalServerErrorResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { RequireRole } from '@odtp/auth';
import { MigrationsService } from '@odtp/migrations';
import { ErrorBodyDto } from '../common/error-body.dto';
import { MigrationStatusDto, PlanMigrationsDto, RunResultDto, UpMigrationsDto } from './migrations.dto';

@ApiTags('migrations')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorBodyDto, description: 'missing or invalid API key' })
@Controller('migrations')
export class MigrationsController {
  constructor(private readonly migrations: MigrationsService) {}

  @Get()
  @Heavy()
  @ApiOperation({
    summary:
      'Every migration as applied, pending, held (the application, ODTP_APP, relies on what it changes), changed or missing',
  })
  @ApiOkResponse({ type: [MigrationStatusDto] })
  status(): Promise<MigrationStatusDto[]> {
    return this.migrations.status();
  }

  @Post('plan')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'The pending migrations in order and the documents each would change, per collection, and the held ones with why (read-only)',
  })
  @ApiOkResponse({ type: [MigrationStatusDto] })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'invalid body' })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'unknown target migration' })
  plan(@Body() body: PlanMigrationsDto): Promise<MigrationStatusDto[]> {
    return this.migrations.plan(body.to);
  }

  @Post('up')
  @HttpCode(200)
  @RequireRole('admin')
  @ApiOperation({
    summary:
      'Apply the pending migrations (up to `to`) under the migrations lock; 409 naming the holder while another runner holds it',
  })
  @ApiOkResponse({ type: RunResultDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'invalid body' })
  @ApiForbiddenResponse({ type: ErrorBodyDto, description: 'the key is a viewer key' })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'refused, nothing ran: the lock is held (details names the holder), applied migrations changed or are missing, or duplicates block an index',
  })
  @ApiInternalServerErrorResponse({
    type: ErrorBodyDto,
    description: 'a migration failed; the message names it and the document it failed on',
  })
  up(@Body() body: UpMigrationsDto): Promise<RunResultDto> {
    return this.migrations.up({
      to: body.to,
      dryRun: body.dryRun,
      acceptChanged: body.acceptChanged,
      allowMissing: body.allowMissing,
      waitMs: (body.waitSeconds ?? 0) * 1000,
    });
  }
}
