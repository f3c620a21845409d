import { Module } from '@nestjs/common';
import { BrowseModule } from '@odtp/browse';
import { CollectionsController } from './collections.controller';

@Module({ imports: [BrowseModule], controllers: [CollectionsController] })
export class CollectionsHttpModule {}
