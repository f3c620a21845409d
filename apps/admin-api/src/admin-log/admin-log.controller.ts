import { BadRequestException, Controller, Get, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { RequireRole } from '@odtp/auth';
import { IsInt, IsMongoId, IsOptional, Max, Min } from 'class-validator';
import { Type } from 'class-transformer';
import { ErrorBodyDto } from '../common/error-body.dto';
import { AdminLogService } from './admin-log.service';

export class AdminLogQueryDto {
  @ApiPropertyOptional({ description: 'entries per page, 1 to 200', default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({ description: 'the `next` value of the previous page' })
  @IsOptional()
  @IsMongoId()
  before?: string;
}

export class AdminLogEntryDto {
  @ApiProperty({ description: 'entry id', example: '6650aa000000000000000001' })
  _id!: string;

  @ApiProperty({ description: 'when the call finished', type: String, format: 'date-time' })
  at!: Date;

  @ApiProperty({
    description: 'id of the API key that made the call (null when unauthenticated)',
    nullable: true,
    type: String,
    example: 'ops',
  })
  keyId!: string | null;

  @ApiProperty({ description: 'role of that key', nullable: true, type: String, example: 'admin' })
  role!: string | null;

  @ApiProperty({ description: 'HTTP method', example: 'POST' })
  method!: string;

  @ApiProperty({ description: 'route pattern', example: '/schema/apply' })
  route!: string;

  @ApiProperty({ description: 'path parameters', type: 'object', additionalProperties: { type: 'string' } })
  params!: Record<string, string>;

  @ApiProperty({
    description: 'request options (scalar values only; never document contents)',
    type: 'object',
    additionalProperties: true,
    example: { level: 'strict' },
  })
  body!: Record<string, unknown>;

  @ApiProperty({ description: 'HTTP status of the outcome', example: 200 })
  status!: number;

  @ApiProperty({ description: 'duration in milliseconds', example: 12.5 })
  durationMs!: number;

  @ApiProperty({
    description: "the server's request id (as in its log lines)",
    nullable: true,
    type: String,
  })
  requestId!: string | null;

  @ApiPropertyOptional({
    description: "the caller's x-request-id, cut to 64 characters (chosen by the caller: not an identity)",
    nullable: true,
    type: String,
  })
  callerRequestId?: string | null;
}

export class AdminLogPageDto {
  @ApiProperty({ description: 'entries, newest first', type: [AdminLogEntryDto] })
  items!: AdminLogEntryDto[];

  @ApiProperty({
    description: 'pass as `before` for older entries; null at the end',
    nullable: true,
    type: String,
  })
  next!: string | null;
}

@ApiTags('admin-log')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorBodyDto, description: 'missing or invalid API key' })
@ApiForbiddenResponse({ type: ErrorBodyDto, description: 'the key is a viewer key' })
@Controller('admin-log')
export class AdminLogController {
  constructor(private readonly log: AdminLogService) {}

  @Get()
  @RequireRole('admin')
  @ApiOperation({
    summary: 'The admin audit log: who made which mutating call, when, and how it ended (newest first)',
  })
  @ApiOkResponse({ type: AdminLogPageDto })
  async page(@Query() query: AdminLogQueryDto): Promise<AdminLogPageDto> {
    if (query.before !== undefined && !/^[0-9a-f]{24}$/i.test(query.before))
      throw new BadRequestException('before must be an entry id');
    return (await this.log.page(query.limit ?? 50, query.before)) as unknown as AdminLogPageDto;
  }
}
