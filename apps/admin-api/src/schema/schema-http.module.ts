import { Module } from '@nestjs/common';
import { SchemaModule } from '@odtp/schema';
import { SchemaController } from './schema.controller';

@Module({ imports: [SchemaModule], controllers: [SchemaController] })
export class SchemaHttpModule {}
