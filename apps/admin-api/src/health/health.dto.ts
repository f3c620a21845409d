import { ApiProperty } from '@nestjs/swagger';
import { APP_LEVELS } from '@odtp/config';
import { ENGINE_KINDS, PING_RESULTS } from '@odtp/database';

export const HEALTH_STATUSES = ['ok', 'unavailable'] as const;

export class DatabaseHealthDto {
  @ApiProperty({
    description: 'Which database engine the API talks to',
    enum: ENGINE_KINDS,
    example: 'embedded',
  })
  engine!: string;

  @ApiProperty({
    description: 'Whether the database answered a ping within 2 s',
    enum: PING_RESULTS,
    example: 'ok',
  })
  ping!: 'ok' | 'fail';

  @ApiProperty({ description: 'Round-trip time of the ping in milliseconds', example: 0.42 })
  latencyMs!: number;
}

export class HealthDto {
  @ApiProperty({
    description: '"ok" when the database answers, "unavailable" otherwise',
    enum: HEALTH_STATUSES,
    example: 'ok',
  })
  status!: (typeof HEALTH_STATUSES)[number];

  @ApiProperty({ description: 'Database engine and ping', type: DatabaseHealthDto })
  database!: DatabaseHealthDto;

  @ApiProperty({ description: 'odtp-db version', example: '0.1.0' })
  version!: string;

  @ApiProperty({
    description:
      'the application that runs on the database (ODTP_APP): what migrations, validators, audits, repairs and seeds respect',
    enum: APP_LEVELS,
    example: 'odtp-0.5',
  })
  app!: string;
}
