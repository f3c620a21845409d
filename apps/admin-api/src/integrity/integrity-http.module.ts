import { Module } from '@nestjs/common';
import { IntegrityModule } from '@odtp/integrity';
import { AuditsController } from './audits.controller';
import { RepairsController } from './repairs.controller';

@Module({ imports: [IntegrityModule], controllers: [AuditsController, RepairsController] })
export class IntegrityHttpModule {}
