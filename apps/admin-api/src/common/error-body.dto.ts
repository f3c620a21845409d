import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The body of every error response of the admin API. */
export class ErrorBodyDto {
  @ApiProperty({ description: 'HTTP status code', example: 400 })
  statusCode!: number;

  @ApiProperty({ description: 'HTTP status text', example: 'Bad Request' })
  error!: string;

  @ApiProperty({ description: 'What went wrong, in one sentence', example: 'Validation failed' })
  message!: string;

  @ApiPropertyOptional({
    description: 'Specifics, e.g. one entry per invalid field',
    example: ['limit must not be greater than 200'],
    type: 'array',
    items: {},
  })
  details?: unknown[];
}
