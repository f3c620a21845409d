import { ApiProperty } from '@nestjs/swagger';
import { APP_LEVELS } from '@odtp/config';

export class DatabaseHealthDto {
  @ApiProperty({
    description: 'Which database engine the API talks to',
    enum: ['uri', 'memory-server', 'embedded'],
    example: 'embedded',
  })
  engine!: string;

  @ApiProperty({
    description: 'Whether the database answered a ping within 2 s',
    enum: ['ok', 'fail'],
    example: 'ok',
  })
  ping!: 'ok' | 'fail';

  @ApiProperty({ description: 'Round-trip time of the ping in milliseconds', example: 0.42 })
  latencyMs!: number;
}

export class HealthDto {
  @ApiProperty({
    description: '"ok" when the database answers, "unavailable" otherwise',
    enum: ['ok', 'unavailable'],
    example: 'ok',
  })
  status!: 'ok' | 'unavailable';

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
