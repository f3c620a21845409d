import { Heavy } from '../common/rate-limit.guard';
import { Body, Controller, Delete, Get, Header, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiExtraModels,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import { RequireRole } from '@odtp/auth';
import { APP_CONFIG } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { IntegrityService, IntegrityWatch } from '@odtp/integrity';
import { ErrorBodyDto } from '../common/error-body.dto';
import {
  AuditListQueryDto,
  AuditReportDto,
  AuditRunDto,
  AuditRunPageDto,
  FindingPageDto,
  FindingsQueryDto,
  StartAuditDto,
} from './integrity.dto';
import { LiveSectionDto, toLiveSectionDto } from './live.dto';

@ApiTags('audits')
@ApiExtraModels(AuditReportDto, AuditRunDto)
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorBodyDto, description: 'missing or invalid API key' })
@Controller('audits')
export class AuditsController {
  constructor(
    private readonly integrity: IntegrityService,
    private readonly watch: IntegrityWatch,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post()
  @HttpCode(202)
  @RequireRole('admin')
  @ApiOperation({
    summary:
      'Start an integrity audit job, stored from its start; GET /audits/{id} (on any instance) follows it and gives its report',
  })
  @ApiAcceptedResponse({ type: AuditRunDto, description: 'started' })
  @ApiBadRequestResponse({
    type: ErrorBodyDto,
    description: 'invalid body (INVALID_REQUEST names the field)',
  })
  @ApiForbiddenResponse({ type: ErrorBodyDto, description: 'the key is a viewer key' })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'AUDIT_RUNNING or REPAIR_RUNNING: an audit or repair runs (here, on another instance or in the CLI); details names its id',
  })
  @ApiServiceUnavailableResponse({
    type: ErrorBodyDto,
    description: 'SHUTTING_DOWN: this instance is stopping',
  })
  start(@Body() body: StartAuditDto): Promise<AuditRunDto> {
    return this.integrity.start(body);
  }

  @Get()
  @ApiOperation({
    summary:
      'Audit runs of every instance, newest first: running ones with progress, done ones with their summary, and those that failed, were cancelled, interrupted or abandoned',
  })
  @ApiOkResponse({ type: AuditRunPageDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'invalid query' })
  list(@Query() query: AuditListQueryDto): Promise<AuditRunPageDto> {
    return this.integrity.list(query.page ?? 1, query.pageSize ?? 20, query.status);
  }

  @Get('latest')
  @ApiOperation({
    summary:
      "The newest stored audit report; with a `live` section (the live watch's open findings) once a watch has run on the database",
  })
  @ApiOkResponse({ type: AuditReportDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'no audit has finished yet' })
  async latest(): Promise<AuditReportDto> {
    const report = await this.integrity.latest();
    const live = await this.watch.summary();
    return live.state ? { ...report, live: toLiveSectionDto(live) } : report;
  }

  @Get('live')
  @ApiOperation({
    summary:
      'The live integrity watch (odtp-db watch, or AUDIT_WATCH=true): its open findings per check, the newest ones, and how far it has read',
  })
  @ApiOkResponse({ type: LiveSectionDto })
  async live(): Promise<LiveSectionDto> {
    return toLiveSectionDto(await this.watch.summary());
  }

  @Get('latest/report')
  @Heavy()
  @Header('content-type', 'text/html; charset=utf-8')
  @ApiOperation({
    summary:
      "The newest report (a scheduled audit's, say) as one self-contained HTML page: the reference graph with its breakages, the trend, the findings with samples",
  })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'the HTML page', content: { 'text/html': { schema: { type: 'string' } } } })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'no audit has finished yet' })
  latestHtml(): Promise<string> {
    return this.integrity.htmlReport('latest', { apiBase: this.config.adminPublicUrl });
  }

  @Get(':id/report')
  @Heavy()
  @Header('content-type', 'text/html; charset=utf-8')
  @ApiOperation({
    summary:
      'A report as one self-contained HTML page (no script, no network): the reference graph coloured by findings, the trend over the last 20 reports, the findings with samples and what repair plan does',
  })
  @ApiParam({ name: 'id', description: 'audit id' })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'the HTML page', content: { 'text/html': { schema: { type: 'string' } } } })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'unknown audit' })
  html(@Param('id') id: string): Promise<string> {
    // sample links are absolute only with ADMIN_PUBLIC_URL (never from the Host header, which a client chooses)
    return this.integrity.htmlReport(id, { apiBase: this.config.adminPublicUrl });
  }

  @Get(':id')
  @ApiOperation({
    summary:
      'An audit, from any instance: its report when it is done, otherwise the run with its progress and state. The same report as an HTML page: GET /audits/{id}/report',
  })
  @ApiParam({ name: 'id', description: 'audit id' })
  @ApiOkResponse({
    description: 'the report (status done) or the run (running, failed, cancelled, interrupted, abandoned)',
    schema: { oneOf: [{ $ref: getSchemaPath(AuditReportDto) }, { $ref: getSchemaPath(AuditRunDto) }] },
  })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'UNKNOWN_AUDIT' })
  get(@Param('id') id: string): Promise<AuditReportDto | AuditRunDto> {
    return this.integrity.auditRun(id);
  }

  @Delete(':id')
  @HttpCode(202)
  @RequireRole('admin')
  @ApiOperation({
    summary:
      'Cancel a running audit from any instance: at once when it runs on this one, otherwise at its next heartbeat (about a second) on the instance running it; it ends cancelled',
  })
  @ApiParam({ name: 'id', description: 'audit id' })
  @ApiAcceptedResponse({ type: AuditRunDto, description: 'cancellation requested (cancelRequestedAt)' })
  @ApiForbiddenResponse({ type: ErrorBodyDto, description: 'the key is a viewer key' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'UNKNOWN_AUDIT' })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description: 'NOT_RUNNING: the audit is not running (any more)',
  })
  cancel(@Param('id') id: string): Promise<AuditRunDto> {
    return this.integrity.cancel(id);
  }

  @Get(':id/findings')
  @Heavy()
  @ApiOperation({
    summary: 'Findings of a report, filtered by check and collection, paged (with their samples)',
  })
  @ApiParam({ name: 'id', description: 'audit id' })
  @ApiOkResponse({ type: FindingPageDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'invalid query' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'unknown audit' })
  findings(@Param('id') id: string, @Query() query: FindingsQueryDto): Promise<FindingPageDto> {
    return this.integrity.findings(
      id,
      { check: query.check, collection: query.collection },
      query.page ?? 1,
      query.pageSize ?? 20,
    );
  }
}
