import { Heavy } from '../common/rate-limit.guard';
import {
  Body,
  ConflictException,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
} from '@nestjs/common';
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
  ApiProduces,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { RequireRole } from '@odtp/auth';
import { APP_CONFIG } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { IntegrityService } from '@odtp/integrity';
import { ErrorBodyDto } from '../common/error-body.dto';
import {
  AuditJobDto,
  AuditReportDto,
  FindingPageDto,
  FindingsQueryDto,
  PageQueryDto,
  ReportPageDto,
  StartAuditDto,
} from './integrity.dto';

@ApiTags('audits')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorBodyDto, description: 'missing or invalid API key' })
@Controller('audits')
export class AuditsController {
  constructor(
    private readonly integrity: IntegrityService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post()
  @HttpCode(202)
  @RequireRole('admin')
  @ApiOperation({ summary: 'Start an integrity audit job; poll GET /audits/{id} for its state and report' })
  @ApiAcceptedResponse({ type: AuditJobDto, description: 'started' })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'invalid body' })
  @ApiForbiddenResponse({ type: ErrorBodyDto, description: 'the key is a viewer key' })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description: 'an audit is running (here or on another instance): details names its id',
  })
  start(@Body() body: StartAuditDto): Promise<AuditJobDto> {
    return this.integrity.start(body);
  }

  @Get()
  @ApiOperation({ summary: 'Stored audit reports, newest first, without their findings' })
  @ApiOkResponse({ type: ReportPageDto })
  list(@Query() query: PageQueryDto): Promise<ReportPageDto> {
    return this.integrity.list(query.page ?? 1, query.pageSize ?? 20);
  }

  @Get('latest')
  @ApiOperation({ summary: 'The newest stored audit report' })
  @ApiOkResponse({ type: AuditReportDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'no audit has finished yet' })
  latest(): Promise<AuditReportDto> {
    return this.integrity.latest();
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
      'An audit: its report when it is done, otherwise the job with its progress. The same report as an HTML page: GET /audits/{id}/report',
  })
  @ApiParam({ name: 'id', description: 'audit id' })
  @ApiOkResponse({
    description: 'the report (done) or the job (running, failed, cancelled)',
    type: AuditReportDto,
  })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'unknown audit' })
  async get(@Param('id') id: string): Promise<AuditReportDto | AuditJobDto> {
    const job = this.integrity.job(id);
    if (job && job.status !== 'done') return job;
    return this.integrity.report(id);
  }

  @Delete(':id')
  @HttpCode(202)
  @RequireRole('admin')
  @ApiOperation({
    summary: 'Cancel a running audit (on the instance running it); it ends with status cancelled',
  })
  @ApiParam({ name: 'id', description: 'audit id' })
  @ApiAcceptedResponse({ type: AuditJobDto, description: 'cancellation requested' })
  @ApiForbiddenResponse({ type: ErrorBodyDto, description: 'the key is a viewer key' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'unknown audit' })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'the audit is not running (any more)' })
  cancel(@Param('id') id: string): AuditJobDto {
    const job = this.integrity.job(id);
    if (!job) throw new NotFoundException(`no audit "${id.slice(0, 64)}" on this instance`);
    if (!this.integrity.cancel(id)) throw new ConflictException(`audit ${id} is ${job.status}, not running`);
    return job;
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
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new NotFoundException(`no audit report "${id.slice(0, 64)}"`);
    return this.integrity.findings(
      id,
      { check: query.check, collection: query.collection },
      query.page ?? 1,
      query.pageSize ?? 20,
    );
  }
}
