import { Heavy } from '../common/rate-limit.guard';
import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { RequireRole } from '@odtp/auth';
import { SchemaService } from '@odtp/schema';
import { ErrorBodyDto } from '../common/error-body.dto';
import {
  ApplyResultDto,
  ApplySchemaDto,
  CollectionPlanDto,
  RulesQueryDto,
  SchemaOverviewDto,
} from './schema.dto';

@ApiTags('schema')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorBodyDto, description: 'missing or invalid API key' })
@Controller('schema')
export class SchemaController {
  constructor(private readonly schema: SchemaService) {}

  @Get()
  @ApiOperation({
    summary: 'The reference graph, the derived $jsonSchema of every collection and the derived indexes',
  })
  @ApiOkResponse({ type: SchemaOverviewDto })
  overview(): SchemaOverviewDto {
    return this.schema.overview();
  }

  @Get('plan')
  @Heavy()
  @ApiOperation({
    summary:
      'Compare the database with the validators and indexes derived for the application (ODTP_APP, or `rules`); read-only',
  })
  @ApiOkResponse({ type: [CollectionPlanDto] })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'unknown rules level' })
  plan(@Query() query: RulesQueryDto): Promise<CollectionPlanDto[]> {
    return this.schema.plan(query.rules);
  }

  @Post('apply')
  @HttpCode(200)
  @RequireRole('admin')
  @ApiForbiddenResponse({ type: ErrorBodyDto, description: 'the key is a viewer key' })
  @ApiOperation({
    summary:
      'Apply the validators and indexes derived for the application (ODTP_APP, or `rules`); refused (409) while violations or duplicates exist, or when the rules would reject what the application writes, unless force',
  })
  @ApiOkResponse({ type: ApplyResultDto, description: 'applied, or unchanged' })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'refused: details lists the violations, the duplicates and the rules the application would break ("digitalTwins.userRef: ODTP 0.5 writes a string: the target rules would reject it")',
  })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'invalid body' })
  apply(@Body() body: ApplySchemaDto): Promise<ApplyResultDto> {
    return this.schema.apply(body);
  }
}
