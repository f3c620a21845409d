import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { RequireRole } from '@odtp/auth';
import { IntegrityService } from '@odtp/integrity';
import { ErrorBodyDto } from '../common/error-body.dto';
import { PageQueryDto } from './integrity.dto';
import {
  RepairRunPageDto,
  RepairRunRecordDto,
  RepairRunSummaryDto,
  StartRepairDto,
  UndoRepairDto,
  UndoResultDto,
} from './repairs.dto';

@ApiTags('repairs')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorBodyDto, description: 'missing or invalid API key' })
@ApiForbiddenResponse({ type: ErrorBodyDto, description: 'the key is a viewer key' })
@RequireRole('admin')
@Controller('repairs')
export class RepairsController {
  constructor(private readonly integrity: IntegrityService) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Start a repair job from an audit report: a plan (dryRun, the default) or applied changes, journaled for undo. The run id comes back at once; GET /repairs/{id} follows it',
  })
  @ApiAcceptedResponse({ type: RepairRunSummaryDto, description: 'started' })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'invalid body' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'unknown report' })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description: 'an audit or repair is running (here, on another instance or in the CLI)',
  })
  start(@Body() body: StartRepairDto): Promise<RepairRunSummaryDto> {
    return this.integrity.startRepair(body.reportId, { dryRun: body.dryRun, orphans: body.orphans });
  }

  @Get()
  @ApiOperation({
    summary:
      'Repair runs of every instance and the CLI, newest first (running, done, and interrupted or abandoned ones)',
  })
  @ApiOkResponse({ type: RepairRunPageDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'invalid query' })
  list(@Query() q: PageQueryDto): Promise<RepairRunPageDto> {
    return this.integrity.listRepairs(q.page ?? 1, q.pageSize ?? 20);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One repair run: its state and, once done, its actions' })
  @ApiParam({ name: 'id', description: 'repair run id' })
  @ApiOkResponse({ type: RepairRunRecordDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'unknown run' })
  get(@Param('id') id: string): Promise<RepairRunRecordDto> {
    return this.integrity.repairRun(id);
  }

  @Delete(':id')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Cancel a running repair from any instance (at once here, otherwise at its next heartbeat on the instance running it): it stops between changes and ends cancelled; what it changed stays journaled for undo',
  })
  @ApiParam({ name: 'id', description: 'repair run id' })
  @ApiAcceptedResponse({ type: RepairRunSummaryDto, description: 'cancellation requested' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'unknown run' })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'NOT_RUNNING: not running (any more)' })
  cancel(@Param('id') id: string): Promise<RepairRunSummaryDto> {
    return this.integrity.cancelRepair(id);
  }

  @Post(':id/undo')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Restore the documents a repair run changed, from their journaled before-images, where each is still as the run left it; a document changed since is a conflict that refuses the whole undo unless force',
  })
  @ApiParam({ name: 'id', description: 'repair run id' })
  @ApiOkResponse({ type: UndoResultDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'invalid body' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'unknown run, or a run that changed nothing' })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'UNDO_CONFLICT (documents changed since the run, listed in details.conflicts; nothing restored), ALREADY_UNDONE, or an audit or repair is running',
  })
  undo(@Param('id') id: string, @Body() body: UndoRepairDto): Promise<UndoResultDto> {
    return this.integrity.undo(id, { force: body.force ?? false });
  }
}
