import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
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
import type { OrphanPolicy } from '@odtp/integrity';
import type { CollectionName } from '@odtp/schema';
import { ErrorBodyDto } from '../common/error-body.dto';
import { RepairRunDto, StartRepairDto, UndoResultDto } from './integrity.dto';

@ApiTags('repairs')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorBodyDto, description: 'missing or invalid API key' })
@ApiForbiddenResponse({ type: ErrorBodyDto, description: 'the key is a viewer key' })
@RequireRole('admin')
@Controller('repairs')
export class RepairsController {
  constructor(private readonly integrity: IntegrityService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Plan (dryRun, the default) or apply the repairs for the violations of a report; applied changes are journaled for undo',
  })
  @ApiOkResponse({ type: RepairRunDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'invalid body' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'unknown report' })
  repair(@Body() body: StartRepairDto): Promise<RepairRunDto> {
    return this.integrity.repair(body.reportId, {
      dryRun: body.dryRun ?? true,
      orphans: body.orphans as Partial<Record<CollectionName, OrphanPolicy>> | undefined,
    });
  }

  @Post(':id/undo')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Restore exactly the documents a repair run changed, from their journaled before-images',
  })
  @ApiParam({ name: 'id', description: 'repair run id' })
  @ApiOkResponse({ type: UndoResultDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'unknown run' })
  undo(@Param('id') id: string): Promise<UndoResultDto> {
    return this.integrity.undo(id);
  }
}
